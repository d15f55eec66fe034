package pipeline

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/trackid"
)

// ParseInput reads a run-time value of the input called name from text
// (a --input flag): a string input takes the text as it is; integer,
// number and boolean inputs parse it; a list input takes a JSON array
// (["a","b"]) or, failing that, comma-separated strings.
func (p *Pipeline) ParseInput(name, text string) (any, error) {
	in := p.Input(name)
	if in == nil {
		return nil, p.unknownInput(name)
	}
	switch in.Type {
	case TypeInteger:
		n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("input %s: want an integer, found %q", name, text)
		}
		return int(n), nil
	case TypeNumber:
		f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil {
			return nil, fmt.Errorf("input %s: want a number, found %q", name, text)
		}
		return f, nil
	case TypeBoolean:
		b, err := strconv.ParseBool(strings.TrimSpace(text))
		if err != nil {
			return nil, fmt.Errorf("input %s: want true or false, found %q", name, text)
		}
		return b, nil
	case TypeList:
		var list []any
		if err := json.Unmarshal([]byte(text), &list); err == nil && list != nil {
			return list, nil
		}
		if strings.TrimSpace(text) == "" {
			return []any{}, nil
		}
		for _, part := range strings.Split(text, ",") {
			list = append(list, strings.TrimSpace(part))
		}
		return list, nil
	default:
		return text, nil
	}
}

func (p *Pipeline) unknownInput(name string) error {
	names := make([]string, len(p.Inputs))
	for i, in := range p.Inputs {
		names[i] = in.Name
	}
	if len(names) == 0 {
		return fmt.Errorf("unknown input %q: the pipeline declares no inputs", name)
	}
	return fmt.Errorf("unknown input %q%s; the pipeline declares %s", name, suggest(name, names), strings.Join(names, ", "))
}

// Values checks the run's input values against the declarations and
// fills in defaults: an undeclared input, a missing required one or a
// value of the wrong type is an error (all are reported).
func (p *Pipeline) Values(given map[string]any) (map[string]any, error) {
	c := &collector{file: p.File}
	for _, k := range sortedKeys(given) {
		if p.Input(k) == nil {
			c.add(Pos{}, "inputs."+k, "%v", p.unknownInput(k))
		}
	}
	out := make(map[string]any, len(p.Inputs))
	for _, in := range p.Inputs {
		v, ok := given[in.Name]
		switch {
		case ok:
			if err := checkType(in.Type, v); err != nil {
				c.add(in.Pos, "inputs."+in.Name, "%v", err)
				continue
			}
			out[in.Name] = v
		case in.HasDefault:
			out[in.Name] = in.Default
		default:
			msg := "required: give it with --input " + in.Name + "=VALUE"
			if in.Description != "" {
				msg += " (" + in.Description + ")"
			}
			c.add(in.Pos, "inputs."+in.Name, "%s", msg)
		}
	}
	return out, c.err()
}

// Plan compiles the pipeline with the run's input values (see Values)
// into the Pipeline workflow's input. It repeats the checks that depend
// on input values, such as an output index past a `samples` given as an
// input. The error, if any, is an ErrorList.
func (p *Pipeline) Plan(given map[string]any) (contract.PipelinePlan, error) {
	values, err := p.Values(given)
	if err != nil {
		return contract.PipelinePlan{}, err
	}
	c := &collector{file: p.File}
	check(c, p, values)
	if err := c.err(); err != nil {
		return contract.PipelinePlan{}, err
	}
	plan := contract.PipelinePlan{Name: p.Name, Source: p.File, Inputs: values}
	for _, s := range p.Steps {
		prio := s.Priority
		if prio == 0 {
			prio = p.Priority
		}
		plan.Steps = append(plan.Steps, contract.PipelineStep{
			Name:            s.Name,
			Endpoint:        s.Endpoint,
			Params:          s.Params(),
			Map:             s.Map(),
			DependsOn:       append([]string(nil), s.DependsOn...),
			ContinueOnError: s.ContinueOnError,
			Deadline:        s.Deadline,
			Priority:        prio,
		})
	}
	return plan, nil
}

// StepSummary is the one-line Temporal UI summary of a step's
// generation: "<step>: <endpoint>: <first words of the prompt>", with
// "[i]" after the step name for an item of a mapped step (index >= 0).
func StepSummary(step string, index int, endpoint string, params map[string]any) string {
	name := step
	if index >= 0 {
		name += "[" + strconv.Itoa(index) + "]"
	}
	s := name + ": " + endpoint
	prompt, _ := params["prompt"].(string)
	prompt = strings.Join(strings.Fields(prompt), " ")
	if prompt == "" {
		return s
	}
	const max = 60
	if r := []rune(prompt); len(r) > max {
		prompt = strings.TrimSpace(string(r[:max])) + "…"
	}
	return s + ": " + prompt
}

// CheckID reports why id cannot be the ID of a pipeline that runs plan.
// The generation of each step has the track_id
// contract.PipelineStepTrackID(id, step, index), and each must be a
// track_id as package trackid rules, so the ID must leave room for the
// longest step name and, for a mapped step, the largest item index
// (MaxMapItems-1).
func CheckID(id string, plan contract.PipelinePlan) error {
	if err := trackid.Validate(id); err != nil {
		return fmt.Errorf("pipeline ID: %w", err)
	}
	var longest, step string
	for _, s := range plan.Steps {
		index := -1
		if s.Mapped() {
			index = MaxMapItems - 1
		}
		if tid := contract.PipelineStepTrackID(id, s.Name, index); len(tid) > len(longest) {
			longest, step = tid, s.Name
		}
	}
	if len(longest) > trackid.MaxLen {
		suffix := longest[len(id):]
		return fmt.Errorf("pipeline ID is %d bytes; step %q's track_ids add %q and would be %d bytes, past the track_id limit of %d: "+
			"use a pipeline ID of at most %d bytes", len(id), step, suffix, len(longest), trackid.MaxLen, trackid.MaxLen-len(suffix))
	}
	for _, s := range plan.Steps {
		if err := trackid.Validate(contract.PipelineStepTrackID(id, s.Name, -1)); err != nil {
			return fmt.Errorf("step %q: %w", s.Name, err)
		}
	}
	return nil
}

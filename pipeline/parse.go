package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	goccy "github.com/goccy/go-yaml"
	goccyparser "github.com/goccy/go-yaml/parser"
	"go.yaml.in/yaml/v3"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/modelslab"
)

// Limits that keep a pipeline's history well inside Temporal's bounds.
// Bigger fan-outs belong in a batch.
const (
	// MaxSteps is the most steps one pipeline may have.
	MaxSteps = 50
	// MaxMapItems is the most elements a mapped step may run over.
	MaxMapItems = 100
)

// Limits on a pipeline file's size, which keep parsing fast and a plan
// well inside Temporal's payload limit whatever the file holds.
const (
	// MaxFileBytes is the largest pipeline file Parse accepts (1 MiB);
	// the parameters and defaults, with every YAML alias written out,
	// come to at most as much.
	MaxFileBytes = 1 << 20
	// MaxValues is the most values (each list, object and scalar of the
	// parameters, maps and defaults) a file may hold, counting again each
	// one a YAML alias repeats: nested aliases multiply, and a few hundred
	// bytes of them would otherwise expand to billions of values.
	MaxValues = 20_000
)

// Pipeline is a parsed and validated pipeline file.
type Pipeline struct {
	// File is the file name used in messages.
	File        string
	Name        string
	Description string
	// Inputs are the declared inputs, in file order.
	Inputs []*Input
	// Steps are the steps in dependency order: every step comes after
	// the steps it references. Steps on the same Level run in parallel.
	Steps []*Step
	// Priority is the priority at the account limiter of the steps that
	// set none (1 to contract.PriorityMax); 0: interactive
	// (contract.PriorityInteractive).
	Priority int

	namePos Pos
}

// InputType is the declared type of an input.
type InputType string

// The input types.
const (
	TypeString  InputType = "string"
	TypeInteger InputType = "integer"
	TypeNumber  InputType = "number"
	TypeBoolean InputType = "boolean"
	TypeList    InputType = "list"
)

var inputTypes = []InputType{TypeString, TypeInteger, TypeNumber, TypeBoolean, TypeList}

// Input is one declared input.
type Input struct {
	Name        string
	Type        InputType
	Description string
	// Default is the value used when the run gives none; an input
	// without one is required.
	Default    any
	HasDefault bool
	Pos        Pos
}

// Required reports whether a run must give the input.
func (in *Input) Required() bool { return !in.HasDefault }

// Step is one step of a pipeline.
type Step struct {
	Name string
	// Endpoint is the catalogue name, such as "images/text2img".
	Endpoint    string
	Description string
	// ContinueOnError keeps the pipeline going when this step fails;
	// its dependents are skipped.
	ContinueOnError bool
	// Deadline bounds each of the step's generations; 0 means the
	// endpoint's default.
	Deadline time.Duration
	// Priority is the priority of the step's generations at the account
	// limiter (1 to contract.PriorityMax); 0: the pipeline's.
	Priority int
	// DependsOn names the steps this one references, in dependency order.
	DependsOn []string
	// Level is the step's depth in the dependency graph: 0 for steps that
	// reference no other step, else one more than the deepest dependency.
	Level int
	Pos   Pos

	endpoint  modelslab.Endpoint
	endpointV *value
	params    *value
	paramsPos Pos
	paramsBad bool
	mapV      *value
}

// Mapped reports whether the step runs once per element of a list.
func (s *Step) Mapped() bool { return s.mapV != nil }

// Params returns the step's parameter templates.
func (s *Step) Params() map[string]any {
	if s.params == nil {
		return map[string]any{}
	}
	return s.params.plain().(map[string]any)
}

// Map returns the step's map template (a reference string or a list),
// or nil.
func (s *Step) Map() any {
	if s.mapV == nil {
		return nil
	}
	return s.mapV.plain()
}

// Step returns the step called name, or nil.
func (p *Pipeline) Step(name string) *Step {
	for _, s := range p.Steps {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Input returns the input called name, or nil.
func (p *Pipeline) Input(name string) *Input {
	for _, in := range p.Inputs {
		if in.Name == name {
			return in
		}
	}
	return nil
}

// Levels groups the step names by Level: each group runs in parallel
// once the groups before it are done.
func (p *Pipeline) Levels() [][]string {
	var out [][]string
	for _, s := range p.Steps {
		for len(out) <= s.Level {
			out = append(out, nil)
		}
		out[s.Level] = append(out[s.Level], s.Name)
	}
	return out
}

// ParseFile reads and parses the pipeline file at path, reading no more
// than MaxFileBytes and one byte.
func ParseFile(path string) (*Pipeline, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, ErrorList{{File: path, Msg: err.Error()}}
	}
	defer func() { _ = f.Close() }()
	src, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, ErrorList{{File: path, Msg: err.Error()}}
	}
	return Parse(path, src)
}

// Parse parses and validates a pipeline file (YAML, or JSON, which is
// YAML too). filename is used in messages. The error, if any, is an
// ErrorList holding every problem found, each with its line and field.
func Parse(filename string, src []byte) (*Pipeline, error) {
	c := &collector{file: filename}
	if len(src) > MaxFileBytes {
		c.add(Pos{}, "", "the file is over %d bytes (1 MiB), the most a pipeline file may be", MaxFileBytes)
		return nil, c.err()
	}
	if strings.EqualFold(filepath.Ext(filename), ".json") {
		if err := checkJSON(src); err != nil {
			c.list = append(c.list, jsonError(filename, src, err))
			return nil, c.err()
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		c.list = append(c.list, yamlError(filename, src, err))
		return nil, c.err()
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		c.add(Pos{}, "", "the file is empty; a pipeline has at least steps:")
		return nil, c.err()
	}
	p := &Pipeline{File: filename}
	parseTop(c, p, doc.Content[0])
	if c.over {
		// The values were cut short: checking them would only add noise.
		return nil, c.err()
	}
	check(c, p, nil)
	if err := c.err(); err != nil {
		return nil, err
	}
	return p, nil
}

func checkJSON(src []byte) error {
	dec := json.NewDecoder(bytes.NewReader(src))
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	if _, err := dec.Token(); err == nil {
		return errors.New("data after the top-level value")
	}
	return nil
}

// jsonError locates an encoding/json error by its byte offset.
func jsonError(file string, src []byte, err error) *Error {
	var syn *json.SyntaxError
	off := int64(-1)
	if errors.As(err, &syn) {
		off = syn.Offset
	} else if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		off = int64(len(src))
	}
	e := &Error{File: file, Msg: "invalid JSON: " + err.Error()}
	if off >= 0 {
		if off > int64(len(src)) {
			off = int64(len(src))
		}
		before := src[:off]
		e.Line = bytes.Count(before, []byte("\n")) + 1
		e.Col = int(off) - bytes.LastIndexByte(before, '\n')
		if off > 0 && syn != nil {
			// The offset is past the offending byte.
			e.Col--
			if e.Col < 1 {
				e.Col = 1
			}
		}
	}
	return e
}

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// yamlError locates a YAML syntax error. yaml.v3 often names the line
// where the enclosing block starts rather than the offending token, so
// the error is located again with goccy/go-yaml's parser, which gives
// the token's line and column; yaml.v3's own "yaml: line N: ..." is the
// fallback.
func yamlError(file string, src []byte, err error) *Error {
	var syn *goccy.SyntaxError
	if _, perr := goccyparser.ParseBytes(src, 0); errors.As(perr, &syn) && syn.Token != nil && syn.Token.Position != nil {
		return &Error{File: file, Line: syn.Token.Position.Line, Col: syn.Token.Position.Column, Msg: "invalid YAML: " + strings.ReplaceAll(syn.Message, "\t", `\t`)}
	}
	msg := err.Error()
	e := &Error{File: file, Msg: "invalid YAML: " + msg}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		e.Msg = "invalid YAML: " + m[2]
		if m[1] != "" {
			e.Line, _ = strconv.Atoi(m[1])
		}
	}
	return e
}

func pos(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

// mapping iterates a mapping node's keys in order, reporting duplicate
// and non-string keys.
func mapping(c *collector, n *yaml.Node, field string, f func(key string, keyNode, val *yaml.Node)) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			c.add(pos(k), field, "a key must be a plain string")
			continue
		}
		if k.Value == "<<" && k.Tag == "!!merge" {
			c.add(pos(k), join(field, "<<"), "YAML merge keys are not supported")
			continue
		}
		if seen[k.Value] {
			c.add(pos(k), join(field, k.Value), "%q is defined twice", k.Value)
			continue
		}
		seen[k.Value] = true
		f(k.Value, k, deref(v))
	}
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func parseTop(c *collector, p *Pipeline, root *yaml.Node) {
	root = deref(root)
	if root.Kind != yaml.MappingNode {
		c.add(pos(root), "", "a pipeline file is a mapping with name, inputs and steps; found %s", kindName(root))
		return
	}
	var stepsNode *yaml.Node
	mapping(c, root, "", func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			p.Name = scalarString(c, v, key)
			p.namePos = pos(v)
		case "description":
			p.Description = scalarString(c, v, key)
		case "inputs":
			parseInputs(c, p, v)
		case "steps":
			stepsNode = v
		case "priority":
			p.Priority = parsePriority(c, v, key)
		default:
			c.add(pos(k), key, "unknown field %q; a pipeline has name, description, priority, inputs and steps%s", key,
				suggest(key, []string{"name", "description", "priority", "inputs", "steps"}))
		}
	})
	if p.Name == "" {
		base := filepath.Base(c.file)
		p.Name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	if stepsNode == nil {
		c.add(pos(root), "steps", "missing: a pipeline needs at least one step")
		return
	}
	parseSteps(c, p, stepsNode)
}

func scalarString(c *collector, n *yaml.Node, field string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		c.add(pos(n), field, "want a string, found %s", kindName(n))
		return ""
	}
	return n.Value
}

func parseInputs(c *collector, p *Pipeline, n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		c.add(pos(n), "inputs", "want a mapping of input names, found %s", kindName(n))
		return
	}
	mapping(c, n, "inputs", func(name string, k, v *yaml.Node) {
		field := "inputs." + name
		if !validName(name) {
			c.add(pos(k), field, "bad input name %q: %sa name is a letter, then letters, digits, _ or -, at most %d bytes",
				name, nameProblem(name), maxNameBytes)
			return
		}
		in := &Input{Name: name, Pos: pos(k)}
		p.Inputs = append(p.Inputs, in)
		// A default's problems are reported where its value is.
		var typeNode *yaml.Node
		defaultPos := in.Pos
		switch {
		case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		case v.Kind != yaml.MappingNode:
			c.add(pos(v), field, "want a mapping with default, description or type (or nothing, for a required string), found %s", kindName(v))
			return
		default:
			mapping(c, v, field, func(key string, kk, vv *yaml.Node) {
				switch key {
				case "default":
					defaultPos = pos(vv)
					val := toValue(c, vv, field+".default")
					in.Default, in.HasDefault = val.plain(), true
					if vv.Kind == yaml.ScalarNode && vv.Tag == "!!null" {
						in.Default, in.HasDefault = nil, false
					}
				case "description":
					in.Description = scalarString(c, vv, field+".description")
				case "type":
					typeNode = vv
				default:
					c.add(pos(kk), join(field, key), "unknown field %q; an input has default, description and type%s", key,
						suggest(key, []string{"default", "description", "type"}))
				}
			})
		}
		switch {
		case typeNode != nil:
			t := InputType(scalarString(c, typeNode, field+".type"))
			if !validType(t) {
				c.add(pos(typeNode), field+".type", "unknown type %q; one of string, integer, number, boolean, list", t)
				return
			}
			in.Type = t
		case in.HasDefault:
			in.Type = typeOf(in.Default)
			if in.Type == "" {
				c.add(defaultPos, field+".default", "an object cannot be an input's default")
				return
			}
		default:
			in.Type = TypeString
		}
		if in.HasDefault {
			if err := checkType(in.Type, in.Default); err != nil {
				c.add(defaultPos, field+".default", "%v", err)
			}
		}
	})
}

func validType(t InputType) bool {
	for _, x := range inputTypes {
		if x == t {
			return true
		}
	}
	return false
}

func typeOf(v any) InputType {
	switch v.(type) {
	case string:
		return TypeString
	case int, int64, uint64:
		return TypeInteger
	case float64:
		return TypeNumber
	case bool:
		return TypeBoolean
	case []any:
		return TypeList
	}
	return ""
}

// checkType reports whether v fits the input type t.
func checkType(t InputType, v any) error {
	ok := false
	switch t {
	case TypeString:
		_, ok = v.(string)
	case TypeInteger:
		switch n := v.(type) {
		case int, int64, uint64:
			ok = true
		case float64:
			ok = n == float64(int64(n))
		}
	case TypeNumber:
		switch v.(type) {
		case int, int64, uint64, float64:
			ok = true
		}
	case TypeBoolean:
		_, ok = v.(bool)
	case TypeList:
		_, ok = v.([]any)
	}
	if !ok {
		return fmt.Errorf("want %s %s, found %s", article(t), t, describe(v))
	}
	return nil
}

func article(t InputType) string {
	if t == TypeInteger {
		return "an"
	}
	return "a"
}

func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "nothing"
	case string:
		return fmt.Sprintf("the string %q", v)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%v", v)
	}
}

var stepFields = []string{"endpoint", "params", "map", "continue_on_error", "deadline", "priority", "description"}

// parsePriority reads a priority at the account limiter: an integer from
// 1 to contract.PriorityMax. A bad one is reported at its value and read
// as 0 (the default).
func parsePriority(c *collector, n *yaml.Node, field string) int {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		if v, err := strconv.Atoi(n.Value); err == nil && v >= 1 && v <= contract.PriorityMax {
			return v
		}
	}
	c.add(pos(n), field, "want an integer from 1 (lowest; batch items' default) to %d (highest), found %s; steps default to %d",
		contract.PriorityMax, kindName(n), contract.PriorityInteractive)
	return 0
}

func parseSteps(c *collector, p *Pipeline, n *yaml.Node) {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		c.add(pos(n), "steps", "want a mapping of step names to steps, found %s", kindName(n))
		return
	}
	mapping(c, n, "steps", func(name string, k, v *yaml.Node) {
		field := "steps." + name
		if !validName(name) {
			c.add(pos(k), field, "bad step name %q: %sa name is a letter, then letters, digits, _ or -, at most %d bytes "+
				"(it becomes part of track_ids)", name, nameProblem(name), maxNameBytes)
			return
		}
		s := &Step{Name: name, Pos: pos(k), paramsPos: pos(k)}
		p.Steps = append(p.Steps, s)
		if v.Kind != yaml.MappingNode {
			c.add(pos(v), field, "want a mapping with endpoint and params, found %s", kindName(v))
			return
		}
		mapping(c, v, field, func(key string, kk, vv *yaml.Node) {
			f := field + "." + key
			switch key {
			case "endpoint":
				s.endpointV = &value{pos: pos(vv)}
				s.Endpoint = scalarString(c, vv, f)
			case "params":
				s.paramsPos = pos(kk)
				if vv.Kind == yaml.ScalarNode && vv.Tag == "!!null" {
					return
				}
				if vv.Kind != yaml.MappingNode {
					c.add(pos(vv), f, "want a mapping of parameters, found %s", kindName(vv))
					s.paramsBad = true
					return
				}
				s.params = toValue(c, vv, f)
			case "map":
				if vv.Kind != yaml.ScalarNode && vv.Kind != yaml.SequenceNode || vv.Tag == "!!null" {
					c.add(pos(vv), f, "want a list or a reference to one, such as ${steps.NAME.output}; found %s", kindName(vv))
					return
				}
				s.mapV = toValue(c, vv, f)
			case "continue_on_error":
				if vv.Kind != yaml.ScalarNode || vv.Tag != "!!bool" {
					c.add(pos(vv), f, "want true or false, found %s", kindName(vv))
					return
				}
				s.ContinueOnError = vv.Value == "true"
			case "deadline":
				text := scalarString(c, vv, f)
				if text == "" {
					return
				}
				d, err := time.ParseDuration(text)
				if err != nil || d <= 0 {
					c.add(pos(vv), f, "want a positive duration such as 30m or 2h, found %q", text)
					return
				}
				s.Deadline = d
			case "priority":
				s.Priority = parsePriority(c, vv, f)
			case "description":
				s.Description = scalarString(c, vv, f)
			default:
				c.add(pos(kk), f, "unknown field %q; a step has %s%s", key, strings.Join(stepFields, ", "), suggest(key, stepFields))
			}
		})
		if s.endpointV == nil {
			c.add(pos(k), field+".endpoint", "missing: every step names an endpoint (run `starter endpoints` for the list)")
		}
	})
}

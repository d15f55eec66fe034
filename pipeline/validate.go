package pipeline

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/genflow/genflow/modelslab"
)

// reservedParams are set by genflow on every request.
var reservedParams = []string{"key", "track_id", "webhook"}

// indexRef is a ${steps.x.output[N]} to check once output counts are
// known.
type indexRef struct {
	at     Pos
	field  string
	ref    Ref
	target *Step
}

// checker holds what check learns about a pipeline.
type checker struct {
	c      *collector
	p      *Pipeline
	inputs map[string]any // nil before run time
	byName map[string]*Step
	deps   map[*Step][]*Step
	idx    []indexRef
}

// check validates everything the parser cannot: endpoints, required
// parameters, references, output indexes and cycles; it orders p.Steps by
// dependency and sets their levels. inputs are the run's input values,
// or nil when they are not known yet: references to inputs then count as
// present but of unknown value.
func check(c *collector, p *Pipeline, inputs map[string]any) {
	k := &checker{c: c, p: p, inputs: inputs, byName: map[string]*Step{}, deps: map[*Step][]*Step{}}
	if len(p.Steps) > MaxSteps {
		c.add(p.Steps[MaxSteps].Pos, "steps", "%d steps; a pipeline has at most %d (use a batch for big fan-outs)", len(p.Steps), MaxSteps)
	}
	for _, s := range p.Steps {
		k.byName[s.Name] = s
	}
	for _, s := range p.Steps {
		k.checkStep(s)
	}
	if k.checkCycles() {
		return
	}
	k.order()
	k.checkIndexes()
}

func (k *checker) stepNames() []string {
	out := make([]string, len(k.p.Steps))
	for i, s := range k.p.Steps {
		out[i] = s.Name
	}
	return out
}

func (k *checker) inputNames() []string {
	out := make([]string, len(k.p.Inputs))
	for i, in := range k.p.Inputs {
		out[i] = in.Name
	}
	return out
}

func (k *checker) addDep(s, on *Step) {
	for _, d := range k.deps[s] {
		if d == on {
			return
		}
	}
	k.deps[s] = append(k.deps[s], on)
}

func (k *checker) checkStep(s *Step) {
	field := "steps." + s.Name
	if s.endpointV != nil && s.Endpoint != "" {
		ep, err := LookupEndpoint(s.Endpoint)
		if err != nil {
			k.c.add(s.endpointV.pos, field+".endpoint", "%v", err)
		} else {
			s.endpoint, s.Endpoint = ep, ep.Name
		}
	}
	for _, r := range reservedParams {
		if v := s.params.get(r); v != nil {
			k.c.add(v.pos, field+".params."+r, "%s is set by genflow for every generation; remove it", r)
		}
	}
	paramsOK := true
	if s.params != nil {
		s.params.walkStrings(field+".params", func(f string, at *value, str string) {
			if !k.checkString(s, f, at, str, s.Mapped()) {
				paramsOK = false
			}
		})
	}
	k.checkMap(s, field+".map")
	if paramsOK && !s.paramsBad && s.endpoint.Name != "" {
		k.checkRequired(s, field)
	}
}

// checkString checks the references in one string; false means it has
// a problem.
func (k *checker) checkString(s *Step, field string, at *value, str string, itemOK bool) bool {
	t, err := parseTemplate(str)
	if err != nil {
		k.c.add(at.pos, field, "%v", err)
		return false
	}
	_, whole := t.whole()
	ok := true
	for _, r := range t.refs() {
		switch r.Kind {
		case RefInput:
			in := k.p.Input(r.Name)
			switch {
			case in == nil:
				k.c.add(at.pos, field, "reference to unknown input %q%s", r.Name, suggest(r.Name, k.inputNames()))
				ok = false
			case !whole && in.Type == TypeList:
				k.c.add(at.pos, field, "%s is a list, which cannot be part of a longer string; use it as the whole value", r.Raw)
				ok = false
			}
		case RefStep:
			target := k.byName[r.Name]
			if target == nil {
				k.c.add(at.pos, field, "reference to unknown step %q%s", r.Name, suggest(r.Name, k.stepNames()))
				ok = false
				continue
			}
			k.addDep(s, target)
			if !whole && r.Index < 0 {
				k.c.add(at.pos, field, "%s is a list, which cannot be part of a longer string; use it as the whole value, or pick one output with [N]", r.Raw)
				ok = false
			}
			if r.Index >= 0 {
				k.idx = append(k.idx, indexRef{at: at.pos, field: field, ref: r, target: target})
			}
		case RefItem, RefIndex:
			if !itemOK {
				if s.Mapped() {
					k.c.add(at.pos, field, "%s cannot be used in map itself", r.Raw)
				} else {
					k.c.add(at.pos, field, "%s is only defined in a step with map", r.Raw)
				}
				ok = false
			}
		}
	}
	return ok
}

func (k *checker) checkMap(s *Step, field string) {
	m := s.mapV
	if m == nil {
		return
	}
	switch m.kind {
	case yaml.SequenceNode:
		if len(m.list) == 0 {
			k.c.add(m.pos, field, "the list is empty: the step would do nothing")
		}
		if len(m.list) > MaxMapItems {
			k.c.add(m.pos, field, "%d elements; a mapped step runs over at most %d (use a batch for big fan-outs)", len(m.list), MaxMapItems)
		}
		m.walkStrings(field, func(f string, at *value, str string) { k.checkString(s, f, at, str, false) })
		return
	}
	str, isString := m.scalar.(string)
	if !isString {
		k.c.add(m.pos, field, "want a list or a reference to one, such as ${steps.NAME.output}; found %v", m.scalar)
		return
	}
	if !k.checkString(s, field, m, str, false) {
		return
	}
	t, _ := parseTemplate(str)
	r, whole := t.whole()
	if !whole {
		k.c.add(m.pos, field, "want one reference to a list, such as ${steps.NAME.output}, or a list; found %q", str)
		return
	}
	switch r.Kind {
	case RefStep:
		if r.Index >= 0 {
			k.c.add(m.pos, field, "%s is one output, not a list; map over ${steps.%s.output}", r.Raw, r.Name)
		}
	case RefInput:
		in := k.p.Input(r.Name)
		if in != nil && in.Type != TypeList {
			k.c.add(m.pos, field, "input %q is of type %s; map needs a list (declare it with type: list)", r.Name, in.Type)
		}
		if list, ok := k.inputs[r.Name].([]any); ok && len(list) > MaxMapItems {
			k.c.add(m.pos, field, "input %q has %d elements; a mapped step runs over at most %d", r.Name, len(list), MaxMapItems)
		}
	}
}

// checkRequired applies the endpoint's required-parameter check, with
// each reference standing in for a value (or, at run time, with the
// input values themselves).
func (k *checker) checkRequired(s *Step, field string) {
	look := func(r Ref) (any, error) {
		if r.Kind == RefInput && k.inputs != nil {
			if v, ok := k.inputs[r.Name]; ok {
				return v, nil
			}
		}
		if r.IsList() {
			return []any{r.Raw}, nil
		}
		return r.Raw, nil
	}
	params, err := resolve(s.Params(), "", look)
	if err != nil {
		return
	}
	if err := s.endpoint.Validate(params.(map[string]any)); err != nil {
		k.c.add(s.paramsPos, field+".params", "%v", err)
	}
}

// checkCycles reports every dependency cycle; true means there is one.
func (k *checker) checkCycles() bool {
	found := false
	for _, scc := range k.components() {
		if len(scc) == 1 && !k.dependsOn(scc[0], scc[0]) {
			continue
		}
		found = true
		first := scc[0]
		for _, s := range scc {
			if s.Pos.Line < first.Pos.Line {
				first = s
			}
		}
		path := k.cyclePath(first, scc)
		names := make([]string, len(path))
		for i, s := range path {
			names[i] = s.Name
		}
		k.c.add(first.Pos, "steps."+first.Name, "dependency cycle: %s", strings.Join(names, " → "))
	}
	return found
}

func (k *checker) dependsOn(s, on *Step) bool {
	for _, d := range k.deps[s] {
		if d == on {
			return true
		}
	}
	return false
}

// components returns the strongly connected components of the
// dependency graph (Tarjan), each in discovery order.
func (k *checker) components() [][]*Step {
	index := map[*Step]int{}
	low := map[*Step]int{}
	onStack := map[*Step]bool{}
	var stack []*Step
	var out [][]*Step
	next := 0
	var visit func(s *Step)
	visit = func(s *Step) {
		index[s], low[s] = next, next
		next++
		stack = append(stack, s)
		onStack[s] = true
		for _, d := range k.deps[s] {
			if _, seen := index[d]; !seen {
				visit(d)
				low[s] = min(low[s], low[d])
			} else if onStack[d] {
				low[s] = min(low[s], index[d])
			}
		}
		if low[s] == index[s] {
			var scc []*Step
			for {
				top := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[top] = false
				scc = append(scc, top)
				if top == s {
					break
				}
			}
			out = append(out, scc)
		}
	}
	for _, s := range k.p.Steps {
		if _, seen := index[s]; !seen {
			visit(s)
		}
	}
	return out
}

// cyclePath finds a path from start back to start inside scc.
func (k *checker) cyclePath(start *Step, scc []*Step) []*Step {
	in := map[*Step]bool{}
	for _, s := range scc {
		in[s] = true
	}
	seen := map[*Step]bool{}
	var path []*Step
	var walk func(s *Step) bool
	walk = func(s *Step) bool {
		path = append(path, s)
		for _, d := range k.deps[s] {
			if d == start {
				path = append(path, d)
				return true
			}
			if in[d] && !seen[d] {
				seen[d] = true
				if walk(d) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		return false
	}
	walk(start)
	return path
}

// order sorts p.Steps so that each step comes after its dependencies,
// keeping file order otherwise, and sets DependsOn and Level.
func (k *checker) order() {
	placed := map[*Step]int{}
	var ordered []*Step
	for len(ordered) < len(k.p.Steps) {
		before := len(ordered)
		for _, s := range k.p.Steps {
			if _, done := placed[s]; done {
				continue
			}
			ready := true
			for _, d := range k.deps[s] {
				if _, ok := placed[d]; !ok {
					ready = false
					break
				}
			}
			if ready {
				// The first ready step in file order, then look again
				// from the top: file order as far as dependencies allow.
				placed[s] = len(ordered)
				ordered = append(ordered, s)
				break
			}
		}
		if len(ordered) == before {
			return // a cycle, already reported
		}
	}
	for _, s := range ordered {
		deps := append([]*Step(nil), k.deps[s]...)
		// Dependencies in plan order.
		for i := 1; i < len(deps); i++ {
			for j := i; j > 0 && placed[deps[j]] < placed[deps[j-1]]; j-- {
				deps[j], deps[j-1] = deps[j-1], deps[j]
			}
		}
		s.DependsOn = nil
		s.Level = 0
		for _, d := range deps {
			s.DependsOn = append(s.DependsOn, d.Name)
			s.Level = max(s.Level, d.Level+1)
		}
	}
	k.p.Steps = ordered
}

// outputCount is what is known before running of how many outputs a step
// makes.
type outputCount struct {
	n     int
	known bool
	why   string
}

// checkIndexes reports output indexes that cannot exist.
func (k *checker) checkIndexes() {
	counts := map[*Step]outputCount{}
	for _, s := range k.p.Steps {
		counts[s] = k.count(s, counts)
	}
	for _, r := range k.idx {
		cnt := counts[r.target]
		if cnt.known && r.ref.Index >= cnt.n {
			k.c.add(r.at, r.field, "%s cannot exist: step %q makes %d output(s) (%s)", r.ref.Raw, r.target.Name, cnt.n, cnt.why)
		}
	}
}

func (k *checker) count(s *Step, counts map[*Step]outputCount) outputCount {
	per := k.perGeneration(s)
	if !per.known || s.mapV == nil {
		return per
	}
	var items outputCount
	if s.mapV.kind == yaml.SequenceNode {
		items = outputCount{n: len(s.mapV.list), known: true, why: "a list"}
	} else if str, ok := s.mapV.scalar.(string); ok {
		if t, err := parseTemplate(str); err == nil {
			if r, whole := t.whole(); whole {
				switch r.Kind {
				case RefStep:
					if target := k.byName[r.Name]; target != nil {
						items = counts[target]
					}
				case RefInput:
					if list, ok := k.inputs[r.Name].([]any); ok {
						items = outputCount{n: len(list), known: true}
					}
				}
			}
		}
	}
	if !items.known {
		return outputCount{}
	}
	return outputCount{n: items.n * per.n, known: true,
		why: fmt.Sprintf("mapped over %d element(s), %d output(s) each", items.n, per.n)}
}

// perGeneration is how many outputs one generation of s makes, where
// that is known: images make `samples` (default 1); training and
// workflow runs are unknown; every other endpoint makes one.
func (k *checker) perGeneration(s *Step) outputCount {
	ep := s.endpoint
	switch {
	case ep.Name == "":
		return outputCount{}
	case ep.Protocol != modelslab.ProtocolGeneration:
		return outputCount{}
	case ep.Category != modelslab.CategoryImage:
		return outputCount{n: 1, known: true, why: ep.Name + " makes one output"}
	}
	v := s.params.get("samples")
	if v == nil {
		return outputCount{n: 1, known: true, why: "samples is not set, so 1"}
	}
	raw := v.scalar
	if str, ok := raw.(string); ok {
		if t, err := parseTemplate(str); err == nil {
			if r, whole := t.whole(); whole {
				if r.Kind != RefInput || k.inputs == nil {
					return outputCount{}
				}
				raw = k.inputs[r.Name]
			}
		}
	}
	n, ok := asCount(raw)
	if !ok {
		return outputCount{}
	}
	return outputCount{n: n, known: true, why: "samples: " + strconv.Itoa(n)}
}

func asCount(v any) (int, bool) {
	switch v := v.(type) {
	case int:
		return v, true
	case int64:
		return int(v), true
	case float64:
		if v == float64(int(v)) {
			return int(v), true
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return n, true
		}
	}
	return 0, false
}

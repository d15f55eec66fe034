package pipeline

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// RefKind says what a reference names.
type RefKind int

// The kinds of reference.
const (
	// RefInput is ${inputs.NAME}.
	RefInput RefKind = iota + 1
	// RefStep is ${steps.NAME.output} or ${steps.NAME.output[N]}.
	RefStep
	// RefItem is ${item}, the element of a mapped step's list.
	RefItem
	// RefIndex is ${index}, the element's position (from 0).
	RefIndex
)

// Ref is one ${...} reference.
type Ref struct {
	Kind RefKind
	// Name is the input or step named.
	Name string
	// Index is the output index of a step reference, or -1 for the
	// whole output list.
	Index int
	// Raw is the reference as written, with ${ and }.
	Raw string
}

// IsList reports whether the reference stands for a list: a step's
// whole output.
func (r Ref) IsList() bool { return r.Kind == RefStep && r.Index < 0 }

// segment is a piece of a template string: literal text or a reference.
type segment struct {
	text string
	ref  *Ref
}

// template is a parsed string.
type template []segment

// whole returns the reference when the string is exactly one reference,
// so that it keeps the referenced value's type.
func (t template) whole() (Ref, bool) {
	if len(t) == 1 && t[0].ref != nil {
		return *t[0].ref, true
	}
	return Ref{}, false
}

func (t template) refs() []Ref {
	var out []Ref
	for _, s := range t {
		if s.ref != nil {
			out = append(out, *s.ref)
		}
	}
	return out
}

// parseTemplate splits s into text and references. "$${" is a literal
// "${".
func parseTemplate(s string) (template, error) {
	var t template
	var text strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			text.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unterminated reference %q: a reference is ${...}; write $${ for a literal ${", s[i:])
			}
			raw := s[i : i+end+1]
			ref, err := parseRef(raw)
			if err != nil {
				return nil, err
			}
			if text.Len() > 0 {
				t = append(t, segment{text: text.String()})
				text.Reset()
			}
			t = append(t, segment{ref: &ref})
			i += end + 1
		default:
			text.WriteByte(s[i])
			i++
		}
	}
	if text.Len() > 0 || len(t) == 0 {
		t = append(t, segment{text: text.String()})
	}
	return t, nil
}

const refForms = "${inputs.NAME}, ${steps.NAME.output}, ${steps.NAME.output[N]}, ${item} or ${index}"

func parseRef(raw string) (Ref, error) {
	expr := strings.TrimSpace(raw[2 : len(raw)-1])
	bad := func(why string) (Ref, error) {
		return Ref{}, fmt.Errorf("bad reference %s: %s; the forms are %s", raw, why, refForms)
	}
	switch {
	case expr == "item":
		return Ref{Kind: RefItem, Index: -1, Raw: raw}, nil
	case expr == "index":
		return Ref{Kind: RefIndex, Index: -1, Raw: raw}, nil
	case strings.HasPrefix(expr, "inputs."):
		name := strings.TrimPrefix(expr, "inputs.")
		if !validName(name) {
			return bad(fmt.Sprintf("%q is not an input name", name))
		}
		return Ref{Kind: RefInput, Name: name, Index: -1, Raw: raw}, nil
	case strings.HasPrefix(expr, "steps."):
		name, field, ok := strings.Cut(strings.TrimPrefix(expr, "steps."), ".")
		if !ok {
			return bad("a step reference names the step's output")
		}
		if !validName(name) {
			return bad(fmt.Sprintf("%q is not a step name", name))
		}
		if field == "output" {
			return Ref{Kind: RefStep, Name: name, Index: -1, Raw: raw}, nil
		}
		num, ok := strings.CutPrefix(field, "output[")
		if !ok {
			return bad(fmt.Sprintf("a step has no field %q, only output", field))
		}
		num, ok = strings.CutSuffix(num, "]")
		if !ok {
			return bad("missing ] after the output index")
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 || strings.HasPrefix(num, "+") {
			return bad(fmt.Sprintf("output index %q is not a number from 0", num))
		}
		return Ref{Kind: RefStep, Name: name, Index: n, Raw: raw}, nil
	case expr == "":
		return bad("it is empty")
	default:
		return bad("unknown root")
	}
}

// maxNameBytes is the longest input or step name.
const maxNameBytes = 64

// validName reports whether s can name an input or a step: a letter,
// then letters, digits, _ or -, at most maxNameBytes in all.
func validName(s string) bool { return nameProblem(s) == "" }

// nameProblem says what in s breaks the rule of validName ("it is
// empty; ", "holds 'ü' (U+00FC) at byte 1; "), or "" when s is a name.
func nameProblem(s string) string {
	switch {
	case s == "":
		return "it is empty; "
	case len(s) > maxNameBytes:
		return fmt.Sprintf("it is %d bytes; ", len(s))
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '_' || r == '-'):
		case r < utf8.RuneSelf && unicode.IsPrint(r):
			return fmt.Sprintf("holds %q at byte %d; ", r, i+1)
		default:
			return fmt.Sprintf("holds %q (%U) at byte %d; ", r, r, i+1)
		}
	}
	return ""
}

// Scope is what references resolve against while a pipeline runs.
type Scope struct {
	// Inputs are the pipeline's input values.
	Inputs map[string]any
	// Outputs are the outputs of the steps that succeeded.
	Outputs map[string][]string
	// Mapped is true inside a mapped step; Item and Index are then the
	// element and its position.
	Mapped bool
	Item   any
	Index  int
}

// lookup resolves one reference.
func (s Scope) lookup(r Ref) (any, error) {
	switch r.Kind {
	case RefInput:
		v, ok := s.Inputs[r.Name]
		if !ok {
			return nil, fmt.Errorf("%s: no input %q", r.Raw, r.Name)
		}
		return v, nil
	case RefStep:
		out, ok := s.Outputs[r.Name]
		if !ok {
			return nil, fmt.Errorf("%s: step %q has no outputs (it has not succeeded)", r.Raw, r.Name)
		}
		if r.Index < 0 {
			list := make([]any, len(out))
			for i, o := range out {
				list[i] = o
			}
			return list, nil
		}
		if r.Index >= len(out) {
			return nil, fmt.Errorf("%s: step %q made %d output(s), so output[%d] does not exist", r.Raw, r.Name, len(out), r.Index)
		}
		return out[r.Index], nil
	case RefItem, RefIndex:
		if !s.Mapped {
			return nil, fmt.Errorf("%s is only defined in a step with map", r.Raw)
		}
		if r.Kind == RefItem {
			return s.Item, nil
		}
		return s.Index, nil
	}
	return nil, fmt.Errorf("%s: unknown reference", r.Raw)
}

// Resolve replaces the references in a template value (a string, or
// lists and objects holding strings) with their values in s. A string
// that is one whole reference takes the referenced value, keeping its
// type (a list stays a list); references inside longer strings are
// written as text. Errors name the path below the value, such as
// "init_image". Resolve is deterministic and does no I/O, so workflows
// may call it.
func Resolve(tmpl any, s Scope) (any, error) {
	return resolve(tmpl, "", s.lookup)
}

// ResolveParams resolves every parameter of a step.
func ResolveParams(params map[string]any, s Scope) (map[string]any, error) {
	if params == nil {
		return map[string]any{}, nil
	}
	v, err := Resolve(params, s)
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

type lookupFunc func(Ref) (any, error)

func resolve(v any, path string, look lookupFunc) (any, error) {
	switch v := v.(type) {
	case string:
		t, err := parseTemplate(v)
		if err != nil {
			return nil, pathErr(path, err)
		}
		out, err := t.render(look)
		return out, pathErr(path, err)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			r, err := resolve(e, path+"["+strconv.Itoa(i)+"]", look)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for _, k := range sortedKeys(v) {
			p := k
			if path != "" {
				p = path + "." + k
			}
			r, err := resolve(v[k], p, look)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	default:
		return v, nil
	}
}

func pathErr(path string, err error) error {
	if err == nil || path == "" {
		return err
	}
	return fmt.Errorf("%s: %w", path, err)
}

// sortedKeys returns m's keys in order, so that resolution visits
// parameters, and reports the first error, the same way every time.
//
//workflowcheck:ignore
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (t template) render(look lookupFunc) (any, error) {
	if r, ok := t.whole(); ok {
		return look(r)
	}
	var b strings.Builder
	for _, s := range t {
		if s.ref == nil {
			b.WriteString(s.text)
			continue
		}
		v, err := look(*s.ref)
		if err != nil {
			return nil, err
		}
		text, err := asText(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.ref.Raw, err)
		}
		b.WriteString(text)
	}
	return b.String(), nil
}

var errNotScalar = errors.New("a list or an object cannot be part of a longer string; use the reference as the whole value")

// asText writes a scalar value into a string.
func asText(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	default:
		return "", errNotScalar
	}
}

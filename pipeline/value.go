package pipeline

import (
	"fmt"
	"math"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// value is a parameter value as written in the file, with its position,
// so that problems found in it can be located.
type value struct {
	pos    Pos
	kind   yaml.Kind
	scalar any // string, int, float64, bool or nil
	list   []*value
	keys   []string // object keys in file order
	vals   []*value
}

// toValue converts a YAML node, reporting what has no JSON equivalent.
func toValue(c *collector, n *yaml.Node, field string) *value {
	at := n
	n = deref(n)
	v := &value{pos: pos(n), kind: n.Kind}
	if at.Kind == yaml.AliasNode && c.alias == nil {
		c.alias = at
		defer func() { c.alias = nil }()
	}
	if !c.spend(n, field) {
		v.kind = yaml.ScalarNode
		return v
	}
	switch n.Kind {
	case yaml.SequenceNode:
		v.list = make([]*value, len(n.Content))
		for i, e := range n.Content {
			v.list[i] = toValue(c, e, field+"["+strconv.Itoa(i)+"]")
		}
	case yaml.MappingNode:
		mapping(c, n, field, func(key string, _, val *yaml.Node) {
			v.keys = append(v.keys, key)
			v.vals = append(v.vals, toValue(c, val, join(field, key)))
		})
	case yaml.ScalarNode:
		v.scalar = scalar(c, n, field)
	default:
		c.add(v.pos, field, "unsupported YAML node")
	}
	return v
}

// spend counts the value n against MaxValues and MaxFileBytes. Past
// either it reports the problem once, at the outermost alias being
// expanded (else at n), and returns false for this and every later
// value, so that the expansion stops.
func (c *collector) spend(n *yaml.Node, field string) bool {
	if c.over {
		return false
	}
	at := n
	if c.alias != nil {
		at, c.aliased = c.alias, true
	}
	c.values++
	c.bytes += len(n.Value) + 1
	if n.Kind == yaml.MappingNode {
		for i := 0; i < len(n.Content); i += 2 {
			c.bytes += len(n.Content[i].Value) + 1
		}
	}
	var what string
	switch {
	case c.values > MaxValues:
		what = fmt.Sprintf("more than %d values", MaxValues)
	case c.bytes > MaxFileBytes:
		what = "more than 1 MiB"
	default:
		return true
	}
	c.over = true
	why := ""
	if c.aliased {
		why = ", counting again what each YAML alias repeats"
	}
	c.add(pos(at), field, "the parameters and defaults come to %s%s; a pipeline file holds at most %d values and 1 MiB of them",
		what, why, MaxValues)
	return false
}

func scalar(c *collector, n *yaml.Node, field string) any {
	switch n.Tag {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err == nil {
			return b
		}
	case "!!int":
		var i int
		if err := n.Decode(&i); err == nil {
			return i
		}
		var f float64
		if err := n.Decode(&f); err == nil {
			return f
		}
	case "!!float":
		var f float64
		if err := n.Decode(&f); err == nil {
			if math.IsInf(f, 0) || math.IsNaN(f) {
				c.add(pos(n), field, "%s is not a finite number", n.Value)
				return nil
			}
			return f
		}
	}
	// Strings, and what YAML would read as timestamps or binary, stay as
	// written.
	return n.Value
}

// plain returns the value as JSON-like Go data: map[string]any, []any,
// string, int, float64, bool or nil.
func (v *value) plain() any {
	switch v.kind {
	case yaml.SequenceNode:
		out := make([]any, len(v.list))
		for i, e := range v.list {
			out[i] = e.plain()
		}
		return out
	case yaml.MappingNode:
		out := make(map[string]any, len(v.keys))
		for i, k := range v.keys {
			out[k] = v.vals[i].plain()
		}
		return out
	}
	return v.scalar
}

// get returns the object member key, or nil.
func (v *value) get(key string) *value {
	if v == nil {
		return nil
	}
	for i, k := range v.keys {
		if k == key {
			return v.vals[i]
		}
	}
	return nil
}

// walkStrings calls f for every string in v with its field path.
func (v *value) walkStrings(field string, f func(field string, at *value, s string)) {
	switch v.kind {
	case yaml.SequenceNode:
		for i, e := range v.list {
			e.walkStrings(field+"["+strconv.Itoa(i)+"]", f)
		}
	case yaml.MappingNode:
		for i, k := range v.keys {
			v.vals[i].walkStrings(join(field, k), f)
		}
	default:
		if s, ok := v.scalar.(string); ok {
			f(field, v, s)
		}
	}
}

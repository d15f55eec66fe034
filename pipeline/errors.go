package pipeline

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is one problem found in a pipeline file, located by line and
// column (1-based; 0 when unknown) and by the field it concerns, such as
// "steps.animate.params.init_image".
type Error struct {
	File  string
	Line  int
	Col   int
	Field string
	Msg   string
}

// Error formats the problem as FILE:LINE:COL: FIELD: MESSAGE, leaving out
// what is unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found in a pipeline file, in file order. It
// is the error Parse and Pipeline.Plan return; errors.As finds it.
type ErrorList []*Error

// Error joins the problems, one a line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives errors.Is and errors.As each problem.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// collector gathers the errors of one file.
type collector struct {
	file string
	list ErrorList

	// The values converted so far and their size, counted by spend;
	// alias is the outermost alias toValue is expanding.
	values, bytes int
	alias         *yaml.Node
	aliased, over bool
}

func (c *collector) add(p Pos, field, format string, args ...any) {
	c.list = append(c.list, &Error{File: c.file, Line: p.Line, Col: p.Col, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// err returns the errors sorted by position (those without one last), or
// nil when there are none.
func (c *collector) err() error {
	if len(c.list) == 0 {
		return nil
	}
	sort.SliceStable(c.list, func(i, j int) bool {
		a, b := c.list[i], c.list[j]
		if (a.Line == 0) != (b.Line == 0) {
			return b.Line == 0 // unlocated problems last
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return c.list
}

// Pos is a position in a pipeline file.
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
}

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// suggest returns ` (did you mean "x"?)` when one candidate is close to
// name, else "".
func suggest(name string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		// Close, and not so short that anything would be close.
		if d := distance(name, c); d < bestD && 2*d <= len(name) {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

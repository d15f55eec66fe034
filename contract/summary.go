package contract

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// Summary is the one-line summary shown in the Temporal UI's list for a
// generation: the endpoint and the first words of its prompt.
func Summary(endpoint string, params map[string]any) string {
	p, _ := params["prompt"].(string)
	p = strings.Join(strings.Fields(p), " ")
	if p == "" {
		return endpoint
	}
	const max = 60
	if utf8.RuneCountInString(p) > max {
		r := []rune(p)[:max]
		p = strings.TrimSpace(string(r)) + "…"
	}
	return endpoint + ": " + p
}

// Details is the multi-line static details shown on a generation's page
// in the Temporal UI (Temporal markdown): the endpoint, model and owner,
// the whole prompt, and the other parameters, each cut to a readable
// length. It ranges over params and encodes JSON: not for workflow code.
func Details(endpoint string, params map[string]any, owner string) string {
	var b strings.Builder
	b.WriteString("**" + endpoint + "**")
	if m, ok := params["model_id"].(string); ok && m != "" {
		b.WriteString(" · model " + m)
	}
	if owner != "" {
		b.WriteString(" · owner " + owner)
	}
	if p, ok := params["prompt"].(string); ok && strings.TrimSpace(p) != "" {
		b.WriteString("  \nprompt: " + clipRunes(strings.Join(strings.Fields(p), " "), 500))
	}
	var rest []string
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if k == "prompt" || k == "model_id" {
			continue
		}
		v, err := json.Marshal(params[k])
		if err != nil {
			continue
		}
		rest = append(rest, k+"="+clipRunes(string(v), 80))
	}
	if len(rest) > 0 {
		b.WriteString("  \nparameters: " + clipRunes(strings.Join(rest, ", "), 1000))
	}
	return b.String()
}

func clipRunes(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max-1]) + "…"
}

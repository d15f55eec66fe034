package contract

import (
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

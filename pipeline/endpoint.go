package pipeline

import (
	"fmt"
	"strings"

	"github.com/genflow/genflow/modelslab"
)

// Suggest returns ` (did you mean "x"?)` when one of candidates is close
// to name (a typo or two away), else "". It is the suggestion pipeline
// files get for a misspelt field, step or input, for other callers.
func Suggest(name string, candidates []string) string { return suggest(name, candidates) }

// LookupEndpoint is modelslab.Lookup whose error, for a name that is no
// endpoint, suggests the closest one: `unknown endpoint "text2imgg" (did
// you mean "text2img"?); run `starter endpoints` for the list`. It does no
// I/O.
func LookupEndpoint(name string) (modelslab.Endpoint, error) {
	ep, err := modelslab.Lookup(name)
	if err == nil {
		return ep, nil
	}
	name = strings.Trim(strings.TrimSpace(name), "/")
	var names []string
	for _, e := range modelslab.Endpoints() {
		if e.Name == name {
			return ep, err
		}
		short := e.Name[strings.LastIndexByte(e.Name, '/')+1:]
		if short == name {
			return ep, err // ambiguous: modelslab's error lists the choices
		}
		names = append(names, e.Name, short)
	}
	hint := suggest(name, names)
	if hint == "" {
		return ep, err
	}
	return ep, fmt.Errorf("unknown endpoint %q%s; run `starter endpoints` for the list", name, hint)
}

package genflow_test

//go:generate env GENFLOW_UPDATE_README=1 go test -run ^TestREADMEEndpoints$ .

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/genflow/genflow/modelslab"
)

// The README's endpoint list sits between these markers; it is generated
// from the catalogue, never written by hand.
const (
	readmeBegin = "<!-- endpoints:begin (generated from modelslab/catalogue.go by `go generate .`; do not edit) -->\n"
	readmeEnd   = "<!-- endpoints:end -->\n"
)

// endpointsMarkdown renders the catalogue as the README's table.
func endpointsMarkdown() string {
	var b strings.Builder
	b.WriteString("| Endpoint | Short name | Category (deadline) | Required parameters | track_id sent | Source (ModelsLab docs) |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, e := range modelslab.Endpoints() {
		req := strings.ReplaceAll(strings.Join(e.Required, ", "), "|", " or ")
		switch {
		case e.Name == "voice/song_generator":
			req = "lyrics, or prompt and caption with lyrics_generation"
		case req == "":
			req = "(none beyond key)"
		}
		short := e.ShortName()
		if short == "" {
			short = "-"
		}
		track := "string"
		switch {
		case e.Protocol != modelslab.ProtocolGeneration:
			track = "none (not echoed)"
		case e.IntegerTrackID:
			track = "integer"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", e.Name, short, e.Category, req, track,
			strings.ReplaceAll(e.Source, "|", "\\|"))
	}
	return b.String()
}

// TestREADMEEndpoints fails when README.md's endpoint list differs from
// the catalogue. `go generate .` (GENFLOW_UPDATE_README=1) rewrites it.
func TestREADMEEndpoints(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	i := strings.Index(readme, readmeBegin)
	j := strings.Index(readme, readmeEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the endpoint list markers %q ... %q", readmeBegin, readmeEnd)
	}
	want := endpointsMarkdown()
	got := readme[i+len(readmeBegin) : j]
	if got == want {
		return
	}
	if os.Getenv("GENFLOW_UPDATE_README") != "" {
		updated := readme[:i+len(readmeBegin)] + want + readme[j:]
		if err := os.WriteFile("README.md", []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's endpoint list differs from the catalogue: run `go generate .` (or "+
		"GENFLOW_UPDATE_README=1 go test -run TestREADMEEndpoints .)\nwant:\n%s", want)
}

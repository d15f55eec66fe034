package starter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/starter"
)

// errRefused is what the injected dialer fails with.
var errRefused = errors.New("dial tcp: connection refused")

// dialer records the configurations it was asked to dial and fails.
type dialer struct {
	mu    sync.Mutex
	calls []config.Temporal
}

func (d *dialer) dial(cfg config.Temporal) (client.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, cfg)
	return nil, errRefused
}

func (d *dialer) dialed() []config.Temporal {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]config.Temporal(nil), d.calls...)
}

type run struct {
	code           int
	stdout, stderr string
	dialed         []config.Temporal
}

// runMain runs the starter with args against vars and a failing dialer;
// no Temporal server is involved.
func runMain(t *testing.T, vars map[string]string, args ...string) run {
	t.Helper()
	var stdout, stderr bytes.Buffer
	d := &dialer{}
	code := starter.Main(context.Background(), args, starter.Env{
		Stdout: &stdout,
		Stderr: &stderr,
		Lookup: func(name string) (string, bool) { v, ok := vars[name]; return v, ok },
		Dial:   d.dial,
	})
	return run{code: code, stdout: stdout.String(), stderr: stderr.String(), dialed: d.dialed()}
}

func TestEndpointsListsTheCatalogue(t *testing.T) {
	t.Parallel()

	r := runMain(t, nil, "endpoints")
	require.Equal(t, starter.ExitOK, r.code, r.stderr)
	require.Empty(t, r.stderr)
	require.Empty(t, r.dialed, "endpoints needs no Temporal")

	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	require.Equal(t, []string{"ENDPOINT", "CATEGORY", "REQUIRED", "TRACK_ID", "SOURCE"}, strings.Fields(lines[0]))
	eps := modelslab.Endpoints()
	require.Len(t, lines[1:], len(eps))
	for i, ep := range eps {
		line := lines[i+1]
		fields := strings.Fields(line)
		require.GreaterOrEqual(t, len(fields), 5, line)
		require.Equal(t, ep.Name, fields[0])
		require.Equal(t, string(ep.Category), fields[1])
		require.NotEmpty(t, ep.Source, ep.Name)
		require.True(t, strings.HasSuffix(line, ep.Source), "%s: the source category ends the line", line)
		if len(ep.Required) == 0 {
			require.Equal(t, "-", fields[2], ep.Name)
			continue
		}
		for _, f := range ep.Required {
			require.Contains(t, line, strings.ReplaceAll(f, "|", " or "), ep.Name)
		}
	}
	require.Contains(t, r.stdout, "image_editing/removebg_mask")
	require.Regexp(t, `3d/image_to_3d\s+3d\s+image or init_image\s+string\s+3d-api/openapi.json \[D-3d\]\n`, r.stdout)
	require.Regexp(t, `voice/song_generator\s+audio\s+-\s+integer\s+voice-cloning/openapi.json \[D-voice\]\n`, r.stdout)
	require.Regexp(t, `image_editing/fashion\s+image_editing\s+init_image, cloth_image, cloth_type\s+integer\s+image-editing/openapi.json`, r.stdout)

	r = runMain(t, nil, "endpoints", "--json")
	require.Equal(t, starter.ExitOK, r.code, r.stderr)
	var infos []starter.EndpointInfo
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &infos))
	require.Len(t, infos, len(eps))
	for _, info := range infos {
		require.NotEmpty(t, info.Source, info.Name)
		require.Contains(t, []string{"string", "integer", "none"}, info.TrackID, info.Name)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()

	longID := strings.Repeat("x", 201)
	tests := []struct {
		name string
		args []string
		want []string // fragments of stderr
	}{
		{"unknown endpoint", []string{"generate", "txt2img", "--model", "flux", "--prompt", "x"}, []string{`unknown endpoint "txt2img"`, "starter endpoints"}},
		{"ambiguous endpoint", []string{"generate", "inpaint", "-p", "init_image=a", "-p", "mask_image=b"}, []string{`"inpaint" is ambiguous`, "images/inpaint", "image_editing/inpaint"}},
		{"missing model_id", []string{"generate", "text2img", "--prompt", "x"}, []string{"images/text2img", "missing required parameter model_id"}},
		{"missing every required parameter", []string{"generate", "images/text2img"}, []string{"missing required parameters model_id, prompt"}},
		{"empty parameter is missing", []string{"generate", "text2img", "--prompt", "x", "-p", "model_id="}, []string{"missing required parameter model_id"}},
		{"missing alternative", []string{"generate", "3d/image_to_3d"}, []string{"image or init_image"}},
		{"missing lyrics", []string{"generate", "song_generator", "--prompt", "x"}, []string{"lyrics"}},
		{"missing voice parameters", []string{"generate", "text_to_speech", "--prompt", "hello"}, []string{"voice_id, language"}},
		{"bad --param", []string{"generate", "text2img", "--prompt", "x", "--param", "model_id"}, []string{`--param "model_id": want key=value`}},
		{"bad -p", []string{"generate", "text2img", "-p", "=flux"}, []string{"--param", "key=value"}},
		{"bad --params", []string{"generate", "text2img", "--params", "[1,2]"}, []string{"--params: not a JSON object"}},
		{"null --params", []string{"generate", "text2img", "--params", "null", "-p", "model_id=flux", "--prompt", "x"}, []string{"--params: not a JSON object"}},
		{"missing --params file", []string{"generate", "text2img", "--params", "@/nonexistent/genflow-params.json"}, []string{"--params", "genflow-params.json"}},
		{"track-id with a space", []string{"generate", "text2img", "--model", "flux", "--prompt", "x", "--track-id", "my song"}, []string{"--track-id", `holds ' ' (U+0020) at byte 3`}},
		{"track-id with a slash", []string{"generate", "text2img", "--model", "flux", "--prompt", "x", "--track-id", "a/b"}, []string{"--track-id", `holds '/' at byte 2`}},
		{"track-id too long", []string{"generate", "text2img", "--model", "flux", "--prompt", "x", "--track-id", longID}, []string{"--track-id", "201 bytes; at most 200"}},
		{"track-id with a control character", []string{"generate", "text2img", "--model", "flux", "--prompt", "x", "--track-id", "a\x07b"}, []string{"--track-id", "U+0007"}},
		{"unknown flag", []string{"generate", "text2img", "--model", "flux", "--prompt", "x", "--modle", "y"}, []string{"unknown flag: --modle"}},
		{"unknown shorthand flag", []string{"generate", "text2img", "-x"}, []string{"unknown shorthand flag"}},
		{"unknown flag on wait", []string{"wait", "gen-1", "--follow"}, []string{"unknown flag: --follow"}},
		{"bad duration", []string{"generate", "text2img", "--model", "flux", "--prompt", "x", "--deadline", "soon"}, []string{"--deadline", "soon"}},
		{"notify URL without scheme", []string{"generate", "text2img", "--model", "flux", "--prompt", "x", "--notify", "app.example/hook"}, []string{"--notify", "not an http(s) URL"}},
		{"bad boolean", []string{"generate", "text2img", "--wait=maybe"}, []string{"--wait", "maybe"}},
		{"flag without its value", []string{"generate", "text2img", "--model", "flux", "--prompt"}, []string{"flag needs an argument: --prompt"}},
		{"generate without endpoint", []string{"generate"}, []string{"starter generate: missing ENDPOINT (`starter endpoints` lists them)"}},
		{"generate with two endpoints", []string{"generate", "text2img", "img2img"}, []string{`starter generate: one ENDPOINT, not 2 ("text2img" "img2img")`}},
		{"wait without track_id", []string{"wait"}, []string{"starter wait: missing TRACK_ID", "`starter list` shows the runs"}},
		{"batch without file", []string{"batch"}, []string{"starter batch: missing FILE"}},
		{"batch status without id", []string{"batch", "status"}, []string{"starter batch status: missing BATCH_ID"}},
		{"pipeline run without file", []string{"pipeline", "run"}, []string{"starter pipeline run: missing FILE"}},
		{"mistyped endpoint", []string{"generate", "text2imgg", "--model", "flux", "--prompt", "x"}, []string{`unknown endpoint "text2imgg" (did you mean "text2img"?)`, "starter endpoints"}},
		{"mistyped full endpoint", []string{"generate", "images/txt2img", "--model", "flux", "--prompt", "x"}, []string{`(did you mean "images/text2img"?)`}},
		{"endpoints with an argument", []string{"endpoints", "images"}, []string{`unknown command "images"`}},
		{"unknown command", []string{"generat", "text2img"}, []string{`unknown command "generat"`}},
		{"priority too high", []string{"generate", "text2img", "--model", "flux", "--prompt", "x", "--priority", "10"}, []string{"--priority 10: want 1 (lowest) to 9 (highest)"}},
		{"negative priority", []string{"generate", "text2img", "--model", "flux", "--prompt", "x", "--priority", "-1"}, []string{"--priority -1: want 1"}},
		{"priority not a number", []string{"generate", "text2img", "--model", "flux", "--prompt", "x", "--priority", "high"}, []string{"--priority", "high"}},
		{"batch priority too high", []string{"batch", "items.jsonl", "--priority", "12"}, []string{"--priority 12: want 1 (lowest) to 9 (highest)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runMain(t, nil, tt.args...)
			require.Equal(t, starter.ExitUsage, r.code, "stderr: %s", r.stderr)
			require.True(t, strings.HasPrefix(r.stderr, "starter: "), "%q", r.stderr)
			for _, w := range tt.want {
				require.Contains(t, r.stderr, w)
			}
			require.Empty(t, r.stdout)
			require.Empty(t, r.dialed, "a usage error must not reach Temporal")
		})
	}
}

func TestConfigurationErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		vars      map[string]string
		args      []string
		variables []string
	}{
		{
			name:      "generate with a bad address",
			vars:      map[string]string{config.EnvTemporalAddress: "nonsense"},
			args:      []string{"generate", "text2img", "--model", "flux", "--prompt", "x"},
			variables: []string{config.EnvTemporalAddress},
		},
		{
			name:      "wait with a bad address",
			vars:      map[string]string{config.EnvTemporalAddress: "nonsense"},
			args:      []string{"wait", "gen-1"},
			variables: []string{config.EnvTemporalAddress},
		},
		{
			name:      "every bad variable is named",
			vars:      map[string]string{config.EnvTemporalAddress: "nonsense", config.EnvTemporalUIURL: "localhost:8233"},
			args:      []string{"generate", "text2img", "--model", "flux", "--prompt", "x"},
			variables: []string{config.EnvTemporalAddress, config.EnvTemporalUIURL},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runMain(t, tt.vars, tt.args...)
			require.Equal(t, starter.ExitUsage, r.code, "stderr: %s", r.stderr)
			require.Contains(t, r.stderr, "configuration")
			for _, v := range tt.variables {
				require.Contains(t, r.stderr, v)
			}
			require.Empty(t, r.dialed)
		})
	}

	t.Run("endpoints needs no configuration", func(t *testing.T) {
		t.Parallel()
		r := runMain(t, map[string]string{config.EnvTemporalAddress: "nonsense"}, "endpoints")
		require.Equal(t, starter.ExitOK, r.code, r.stderr)
	})
}

func TestDialErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		vars    map[string]string
		args    []string
		address string
	}{
		{
			name:    "generate with the default address",
			args:    []string{"generate", "text2img", "--model", "flux", "--prompt", "a red fox"},
			address: "localhost:7233",
		},
		{
			name: "generate with a configured address",
			vars: map[string]string{config.EnvTemporalAddress: "temporal.internal:7233", config.EnvTemporalNamespace: "genflow"},
			args: []string{"generate", "text2img", "--params", `{"model_id":"flux"}`, "--prompt", "x",
				"--track-id", "my-track-1", "--wait", "--json"},
			address: "temporal.internal:7233",
		},
		{
			name:    "wait",
			vars:    map[string]string{config.EnvTemporalAddress: "127.0.0.1:1"},
			args:    []string{"wait", "gen-1"},
			address: "127.0.0.1:1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runMain(t, tt.vars, tt.args...)
			require.Equal(t, starter.ExitFailed, r.code, "stderr: %s", r.stderr)
			require.Contains(t, r.stderr, "cannot reach Temporal at "+tt.address)
			require.Contains(t, r.stderr, config.EnvTemporalAddress)
			require.Contains(t, r.stderr, errRefused.Error())
			require.Empty(t, r.stdout)
			require.Len(t, r.dialed, 1)
			require.Equal(t, tt.address, r.dialed[0].Address)
			if ns := tt.vars[config.EnvTemporalNamespace]; ns != "" {
				require.Equal(t, ns, r.dialed[0].Namespace)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"root", []string{"--help"}, "generate"},
		{"no arguments", nil, "endpoints"},
		{"generate", []string{"generate", "--help"}, "--track-id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runMain(t, nil, tt.args...)
			require.Equal(t, starter.ExitOK, r.code, r.stderr)
			require.Contains(t, r.stdout, tt.want)
			require.Empty(t, r.dialed)
		})
	}
}

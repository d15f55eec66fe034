package starter

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/config"
)

// files is a ParseParams readFile backed by a map.
func files(m map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		s, ok := m[name]
		if !ok {
			return nil, fmt.Errorf("open %s: %w", name, fs.ErrNotExist)
		}
		return []byte(s), nil
	}
}

func TestParseParams(t *testing.T) {
	t.Parallel()

	read := files(map[string]string{"params.json": `{"model_id":"flux","prompt":"from a file","samples":2}`})
	tests := []struct {
		name  string
		json  string
		pairs []string
		want  map[string]any
	}{
		{"nothing", "", nil, map[string]any{}},
		{"blank JSON", "  \n", nil, map[string]any{}},
		{
			name: "JSON object keeps its types",
			json: `{"model_id":"flux","samples":2,"safety_checker":false,"size":[512,768],"extra":{"a":1},"none":null}`,
			want: map[string]any{
				"model_id": "flux", "samples": float64(2), "safety_checker": false,
				"size": []any{float64(512), float64(768)}, "extra": map[string]any{"a": float64(1)}, "none": nil,
			},
		},
		{"JSON object from a file", "@params.json", nil, map[string]any{"model_id": "flux", "prompt": "from a file", "samples": float64(2)}},
		{"surrounding space around the file name", "  @params.json ", nil, map[string]any{"model_id": "flux", "prompt": "from a file", "samples": float64(2)}},
		{
			name:  "pairs with JSON values keep their type",
			pairs: []string{"width=512", "ratio=1.5", "enhance=true", "negative=null", "seeds=[1,2]", "opts={\"a\":1}", `quoted="42"`},
			want: map[string]any{
				"width": float64(512), "ratio": 1.5, "enhance": true, "negative": nil,
				"seeds": []any{float64(1), float64(2)}, "opts": map[string]any{"a": float64(1)}, "quoted": "42",
			},
		},
		{
			name:  "pairs with other values are strings",
			pairs: []string{"voice_id=madison", "language=american english", "prompt=a=b", "empty=", "leading=  spaced", "url=https://x.test/a?b=c", "brace={"},
			want: map[string]any{
				"voice_id": "madison", "language": "american english", "prompt": "a=b", "empty": "",
				"leading": "  spaced", "url": "https://x.test/a?b=c", "brace": "{",
			},
		},
		{"key is trimmed", "", []string{" width =512"}, map[string]any{"width": float64(512)}},
		{
			name:  "pairs override the JSON object",
			json:  `{"model_id":"flux","samples":1,"prompt":"json"}`,
			pairs: []string{"samples=4", "prompt=pair"},
			want:  map[string]any{"model_id": "flux", "samples": float64(4), "prompt": "pair"},
		},
		{
			name:  "pairs override the file",
			json:  "@params.json",
			pairs: []string{"prompt=pair"},
			want:  map[string]any{"model_id": "flux", "prompt": "pair", "samples": float64(2)},
		},
		{"later pairs override earlier ones", "", []string{"seed=1", "seed=2", "seed=three"}, map[string]any{"seed": "three"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseParams(tt.json, tt.pairs, read)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseParamsErrors(t *testing.T) {
	t.Parallel()

	read := files(map[string]string{"list.json": `[1,2]`, "null.json": "null", "bad.json": "{"})
	tests := []struct {
		name  string
		json  string
		pairs []string
		want  []string
	}{
		{"not JSON", "model_id=flux", nil, []string{"--params", "not a JSON object"}},
		{"JSON array", `[{"a":1}]`, nil, []string{"--params", "not a JSON object"}},
		{"JSON string", `"flux"`, nil, []string{"--params", "not a JSON object"}},
		{"JSON null", "null", []string{"a=1"}, []string{"--params", "not a JSON object"}},
		{"JSON null alone", "null", nil, []string{"--params", "not a JSON object"}},
		{"trailing garbage", `{"a":1} x`, nil, []string{"--params", "not a JSON object"}},
		{"missing file", "@nope.json", nil, []string{"--params", "nope.json"}},
		{"file holds an array", "@list.json", nil, []string{"--params", "not a JSON object"}},
		{"file holds null", "@null.json", nil, []string{"--params", "not a JSON object"}},
		{"file holds broken JSON", "@bad.json", nil, []string{"--params", "not a JSON object"}},
		{"pair without =", "", []string{"model_id"}, []string{"--param", `"model_id"`, "key=value"}},
		{"pair without key", "", []string{"=flux"}, []string{"--param", `"=flux"`, "key=value"}},
		{"pair with a blank key", "", []string{"  =flux"}, []string{"--param", "key=value"}},
		{"bad pair after good ones", `{"a":1}`, []string{"b=2", ""}, []string{"--param", "key=value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseParams(tt.json, tt.pairs, read)
			require.Error(t, err)
			require.Nil(t, got)
			for _, w := range tt.want {
				require.ErrorContains(t, err, w)
			}
		})
	}

	t.Run("file error is wrapped", func(t *testing.T) {
		t.Parallel()
		_, err := ParseParams("@nope.json", nil, read)
		require.ErrorIs(t, err, fs.ErrNotExist)
	})
}

func TestSummary(t *testing.T) {
	t.Parallel()

	sixty := strings.Repeat("abcdefghij", 6)
	foxes := strings.Repeat("狐", 61)
	tests := []struct {
		name     string
		endpoint string
		params   map[string]any
		want     string
	}{
		{"no params", "images/text2img", nil, "images/text2img"},
		{"no prompt", "images/img2img", map[string]any{"init_image": "https://x.test/a.png"}, "images/img2img"},
		{"blank prompt", "images/text2img", map[string]any{"prompt": " \t\n "}, "images/text2img"},
		{"prompt not a string", "images/text2img", map[string]any{"prompt": 42}, "images/text2img"},
		{"short prompt", "images/text2img", map[string]any{"prompt": "a red fox"}, "images/text2img: a red fox"},
		{"whitespace collapses", "images/text2img", map[string]any{"prompt": "  a\tred \n\n fox  "}, "images/text2img: a red fox"},
		{"exactly 60 runes is kept whole", "images/text2img", map[string]any{"prompt": sixty}, "images/text2img: " + sixty},
		{"61 runes is cut at 60 with an ellipsis", "images/text2img", map[string]any{"prompt": sixty + "k"}, "images/text2img: " + sixty + "…"},
		{"runes, not bytes", "voice/music_gen", map[string]any{"prompt": foxes}, "voice/music_gen: " + strings.Repeat("狐", 60) + "…"},
		{
			name:     "no space before the ellipsis",
			endpoint: "images/text2img",
			params:   map[string]any{"prompt": strings.Repeat("a", 59) + " and more words"},
			want:     "images/text2img: " + strings.Repeat("a", 59) + "…",
		},
		{
			name:     "collapse happens before the cut",
			endpoint: "images/text2img",
			params:   map[string]any{"prompt": strings.Repeat("ab   \n  ", 30)},
			want:     "images/text2img: " + strings.TrimSpace(strings.Repeat("ab ", 20)) + "…",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := contract.Summary(tt.endpoint, tt.params)
			require.Equal(t, tt.want, got)
			if p, _ := tt.params["prompt"].(string); strings.Contains(got, ": ") && p != "" {
				require.LessOrEqual(t, len([]rune(strings.TrimPrefix(got, tt.endpoint+": "))), 61)
			}
		})
	}
}

func TestUIURL(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		cfg     config.Temporal
		trackID string
		runID   string
		want    string
	}{
		{
			name:    "with run",
			cfg:     config.Temporal{UIURL: "http://localhost:8233", Namespace: "default"},
			trackID: "gen-1", runID: "run-1",
			want: "http://localhost:8233/namespaces/default/workflows/gen-1/run-1/history",
		},
		{
			name:    "without run",
			cfg:     config.Temporal{UIURL: "http://localhost:8233", Namespace: "default"},
			trackID: "gen-1",
			want:    "http://localhost:8233/namespaces/default/workflows/gen-1",
		},
		{
			name:    "trailing slash on the UI root",
			cfg:     config.Temporal{UIURL: "https://temporal.example.com/ui/", Namespace: "prod"},
			trackID: "gen-1", runID: "r",
			want: "https://temporal.example.com/ui/namespaces/prod/workflows/gen-1/r/history",
		},
		{
			name:    "escaped path segments",
			cfg:     config.Temporal{UIURL: "http://localhost:8233", Namespace: "my ns/x"},
			trackID: "a b/c?d#e%f", runID: "r/1",
			want: "http://localhost:8233/namespaces/my%20ns%2Fx/workflows/a%20b%2Fc%3Fd%23e%25f/r%2F1/history",
		},
		{
			name:    "unicode track_id",
			cfg:     config.Temporal{UIURL: "http://localhost:8233", Namespace: "default"},
			trackID: "renard-été",
			want:    "http://localhost:8233/namespaces/default/workflows/renard-%C3%A9t%C3%A9",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, UIURL(tt.cfg, tt.trackID, tt.runID))
		})
	}
}

func TestDescribeFailure(t *testing.T) {
	t.Parallel()

	fc := temporal.GetDefaultFailureConverter()
	terminated := fc.FailureToError(&failurepb.Failure{
		Message:     "terminated",
		FailureInfo: &failurepb.Failure_TerminatedFailureInfo{TerminatedFailureInfo: &failurepb.TerminatedFailureInfo{}},
	})
	appErr := temporal.NewNonRetryableApplicationError("Processing failed: Invalid input dimensions", "GenerationFailed", nil)
	timeout := temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_START_TO_CLOSE, nil)

	tests := []struct {
		name string
		err  error
		want Failure
	}{
		{"application error", temporal.NewApplicationError("rate limit exceeded", "ModelsLabRateLimited"), Failure{Type: "ModelsLabRateLimited", Message: "rate limit exceeded"}},
		{"wrapped application error", fmt.Errorf("workflow: %w", appErr), Failure{Type: "GenerationFailed", Message: "Processing failed: Invalid input dimensions"}},
		{"application error after a converter round trip", fc.FailureToError(fc.ErrorToFailure(appErr)), Failure{Type: "GenerationFailed", Message: "Processing failed: Invalid input dimensions"}},
		{"application error without type", temporal.NewApplicationError("plain", ""), Failure{Type: "", Message: "plain"}},
		{"canceled", temporal.NewCanceledError(), Failure{Type: "Canceled", Message: "the generation was cancelled"}},
		{"wrapped canceled", fmt.Errorf("wait: %w", temporal.NewCanceledError("details")), Failure{Type: "Canceled", Message: "the generation was cancelled"}},
		{"timeout", timeout, Failure{Type: "Timeout", Message: timeout.Error()}},
		{"terminated", terminated, Failure{Type: "Terminated", Message: "the workflow was terminated"}},
		{"plain error", errors.New("connection refused"), Failure{Type: "Error", Message: "connection refused"}},
		{"context deadline", fmt.Errorf("wait: %w", context.DeadlineExceeded), Failure{Type: "Error", Message: "wait: context deadline exceeded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, DescribeFailure(tt.err))
		})
	}
}

func TestExitError(t *testing.T) {
	t.Parallel()

	cause := errors.New("boom")
	err := error(&ExitError{Code: ExitFailed, Err: cause})
	require.EqualError(t, err, "boom")
	require.ErrorIs(t, err, cause)

	// follow returns an ExitError without a cause once it has printed
	// the failure itself; printing it must not panic.
	require.NotPanics(t, func() { _ = (&ExitError{Code: ExitFailed}).Error() })
	require.Equal(t, "exit code 1", (&ExitError{Code: ExitFailed}).Error())
}

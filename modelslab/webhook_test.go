package modelslab

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseWebhook(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		want    Result
		wantErr string
	}{
		{name: "generation success with numeric id and track_id only in meta",
			body: `{"status":"success","id":155918900,"output":["https://x/0.png"],"meta":{"track_id":"t9"}}`,
			want: Result{Status: StatusSuccess, ID: "155918900", TrackID: "t9", Output: []string{"https://x/0.png"}, Meta: map[string]any{"track_id": "t9"}}},
		{name: "status error is a failure",
			body: `{"status":"error","id":1,"message":"boom"}`,
			want: Result{Status: StatusFailed, ID: "1", Message: "boom"}},
		{name: "processing webhook",
			body: `{"status":"processing","id":1,"eta":12}`,
			want: Result{Status: StatusProcessing, ID: "1", ETA: 12}},
		{name: "queued is processing",
			body: `{"status":"queued","id":"1"}`,
			want: Result{Status: StatusProcessing, ID: "1"}},
		{name: "white space after the object is fine",
			body: "{\"status\":\"processing\",\"id\":1}\r\n\t ",
			want: Result{Status: StatusProcessing, ID: "1"}},
		{name: "status in capitals and padded",
			body: `  {"status":" SUCCESS ","id":1,"output":"https://x/a.png"}  `,
			want: Result{Status: StatusSuccess, ID: "1", Output: []string{"https://x/a.png"}}},
		{name: "output items as objects",
			body: `{"status":"success","id":1,"output":[{"url":"https://x/a.png"},"https://x/b.png",7,null]}`,
			want: Result{Status: StatusSuccess, ID: "1", Output: []string{"https://x/a.png", "https://x/b.png"}}},
		{name: "training ready gives the model id as output",
			body: `{"status":"success","training_status":"model_ready","model_id":"F5jvdzGnYi"}`,
			want: Result{Status: StatusSuccess, ID: "F5jvdzGnYi", Output: []string{"F5jvdzGnYi"}, Stage: "model_ready"}},
		{name: "training failed stage",
			body: `{"status":"success","training_status":"training_failed","logs":"out of memory","training_id":"T1"}`,
			want: Result{Status: StatusFailed, ID: "T1", Message: "out of memory", Stage: "training_failed"}},
		{name: "training logs as a list",
			body: `{"status":"success","training_status":"training_started","logs":["step 1","step 2"],"model_id":"T1"}`,
			want: Result{Status: StatusProcessing, ID: "T1", Message: "step 1; step 2", Stage: "training_started"}},
		{name: "workflow failure event",
			body: `{"event":"workflow.failed","execution_id":"9","status":"running","error":"node 3 crashed"}`,
			want: Result{Status: StatusFailed, ID: "9", Message: "node 3 crashed", Stage: "failed"}},
		{name: "workflow cancelled execution",
			body: `{"event":"workflow.completed","execution":{"id":9,"status":"cancelled","error":"stopped by user"}}`,
			want: Result{Status: StatusFailed, ID: "9", Message: "stopped by user", Stage: "cancelled"}},
		{name: "workflow completed event without status",
			body: `{"event":"workflow.completed","execution_id":9}`,
			want: Result{Status: StatusSuccess, ID: "9", Stage: "completed"}},
		{name: "workflow execution as an empty PHP array",
			body: `{"event":"workflow.completed","execution_id":9,"execution":[]}`,
			want: Result{Status: StatusSuccess, ID: "9", Stage: "completed"}},
		{name: "non-finite numbers are dropped",
			body: `{"status":"success","id":1,"output":["u"],"eta":"Infinity","generationTime":"NaN"}`,
			want: Result{Status: StatusSuccess, ID: "1", Output: []string{"u"}}},

		{name: "empty body", body: ``, wantErr: "body is not a JSON object"},
		{name: "array", body: `[{"status":"success"}]`, wantErr: "body is not a JSON object"},
		{name: "form encoded", body: `status=success&id=1`, wantErr: "body is not a JSON object"},
		{name: "truncated JSON", body: `{"status":"success","id":1,"output":[`, wantErr: "decode reply"},
		{name: "status of the wrong type", body: `{"status":1,"id":1}`, wantErr: "decode reply"},
		{name: "no status", body: `{"id":1,"output":["u"]}`, wantErr: "no known status"},
		{name: "unknown status", body: `{"status":"weird","id":1}`, wantErr: "no known status"},
		{name: "empty object", body: `{}`, wantErr: "no known status"},
		{name: "success without id or output", body: `{"status":"success","output":[]}`, wantErr: "success without id or output"},
		{name: "a second object after the first", body: `{"status":"processing","id":"1"}{"status":"success"}`,
			wantErr: `trailing data after the JSON object: "{\"status\":\"success\"}"`},
		{name: "garbage after the object", body: `{"status":"success","id":1,"output":["u"]} trailing`, wantErr: "trailing data"},
		{name: "a number after the object", body: "{\"status\":\"failed\",\"id\":1}\n2", wantErr: "trailing data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseWebhook([]byte(tt.body))
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ErrNotWebhook)
				require.ErrorContains(t, err, tt.wantErr)
				require.Equal(t, Result{}, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestStatusTerminal(t *testing.T) {
	t.Parallel()
	require.True(t, StatusSuccess.Terminal())
	require.True(t, StatusFailed.Terminal())
	require.False(t, StatusProcessing.Terminal())
	require.False(t, Status("").Terminal())
}

// goldenPayloads returns every reply file of testdata/replies, for seeds.
func goldenPayloads(tb testing.TB) [][]byte {
	tb.Helper()
	files := replyFiles(tb)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([][]byte, 0, len(names))
	for _, n := range names {
		out = append(out, files[n])
	}
	return out
}

func FuzzParseWebhook(f *testing.F) {
	for _, p := range goldenPayloads(f) {
		f.Add(p)
	}
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"status":"success","id":1}`,
		`{"status":"success","output":[[["x"]]],"id":{"a":1}}`,
		`{"event":"workflow.failed","execution":{"id":[1],"output_data":{"urls":["u"]}}}`,
		`{"status":"processing","eta":"1e999","retry_after":"-Inf","meta":{"id":1.5e300,"track_id":true}}`,
		`{"status":"success","training_status":"model_ready","messege":{"a":["b",{"c":null}]}}`,
	} {
		f.Add([]byte(s))
	}
	valid := map[Status]bool{StatusSuccess: true, StatusProcessing: true, StatusFailed: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseWebhook(body)
		if err != nil {
			if !errors.Is(err, ErrNotWebhook) {
				t.Fatalf("error %v does not wrap ErrNotWebhook", err)
			}
			return
		}
		if !valid[r.Status] {
			t.Fatalf("status %q is not success/processing/failed for %q", r.Status, body)
		}
		// The Result is sent to the workflow as a Temporal signal payload:
		// it must always encode.
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("result does not encode: %v (body %q)", err, body)
		}
		if r.ETA < 0 {
			t.Fatalf("negative eta %v", r.ETA)
		}
	})
}

func BenchmarkParseWebhook(b *testing.B) {
	body, err := os.ReadFile(filepath.Join(repliesDir, "webhook_success.json"))
	require.NoError(b, err)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := ParseWebhook(body)
		if err != nil || r.Status != StatusSuccess {
			b.Fatalf("unexpected %v %v", r.Status, err)
		}
	}
}

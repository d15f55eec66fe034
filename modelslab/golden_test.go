package modelslab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/replies/*.golden.json from the code's current output")

const repliesDir = "testdata/replies"

// How a golden reply reaches the package.
const (
	viaSubmit  = "submit"
	viaFetch   = "fetch"
	viaWebhook = "webhook"
)

// goldenCase says how one reply of modelslab-api.md is delivered: as the
// reply to a submit or a fetch (served under httpStatus by an httptest
// server) or as a webhook body.
type goldenCase struct {
	via        string
	endpoint   string
	params     map[string]any
	fetchID    string
	httpStatus int
}

var text2img = map[string]any{"model_id": "midjourney", "prompt": "a lighthouse"}

// goldenCases maps every file in testdata/replies to its delivery. The
// error bodies whose HTTP status the docs give (400, 401, 402, 403, 429)
// are served under it; the others under 200, as the provider does with
// its flux and realtime errors.
var goldenCases = map[string]goldenCase{
	"submit_success":          {via: viaSubmit, endpoint: "images/text2img", params: text2img, httpStatus: 200},
	"submit_processing":       {via: viaSubmit, endpoint: "images/text2img", params: text2img, httpStatus: 200},
	"video_processing_v6":     {via: viaSubmit, endpoint: "video/text2video", params: map[string]any{"model_id": "cogvideox", "prompt": "waves"}, httpStatus: 200},
	"fetch_success":           {via: viaFetch, endpoint: "video/text2video", fetchID: "65919758", httpStatus: 200},
	"fetch_processing_legacy": {via: viaFetch, endpoint: "images/text2img", fetchID: "134701497", httpStatus: 200},
	"fetch_not_found":         {via: viaFetch, endpoint: "images/text2img", fetchID: "999", httpStatus: 200},
	"invalid_api_request":     {via: viaSubmit, endpoint: "images/text2img", params: text2img, httpStatus: 200},

	"error_prompt_required":       {via: viaSubmit, endpoint: "images/text2img", params: text2img, httpStatus: 400},
	"error_invalid_api_key":       {via: viaSubmit, endpoint: "images/text2img", params: text2img, httpStatus: 401},
	"error_api_key_required":      {via: viaSubmit, endpoint: "images/text2img", params: text2img, httpStatus: 401},
	"error_insufficient_credits":  {via: viaSubmit, endpoint: "images/text2img", params: text2img, httpStatus: 402},
	"error_premium_required":      {via: viaSubmit, endpoint: "images/text2img", params: text2img, httpStatus: 403},
	"error_model_not_found":       {via: viaSubmit, endpoint: "images/text2img", params: text2img, httpStatus: 200},
	"error_unable_to_fetch_image": {via: viaSubmit, endpoint: "images/img2img", params: map[string]any{"model_id": "m", "init_image": "https://x/a.png"}, httpStatus: 200},
	"error_width_range":           {via: viaSubmit, endpoint: "images/text2img", params: text2img, httpStatus: 200},
	"error_height_divisible":      {via: viaSubmit, endpoint: "images/text2img", params: text2img, httpStatus: 200},
	"error_samples_range":         {via: viaSubmit, endpoint: "images/text2img", params: text2img, httpStatus: 200},
	"error_guidance_scale_range":  {via: viaSubmit, endpoint: "images/text2img", params: text2img, httpStatus: 200},
	"error_rate_limited_429":      {via: viaSubmit, endpoint: "images/text2img", params: text2img, httpStatus: 429},

	"lora_fine_tune_submit": {via: viaSubmit, endpoint: "lora_fine_tune", params: map[string]any{
		"instance_prompt": "photo of sks man", "class_prompt": "photo of a man",
		"images": []any{"https://x/1.png"}, "training_type": "men", "max_train_steps": 2000,
	}, httpStatus: 200},
	"workflow_run_202": {via: viaSubmit, endpoint: "workflows/run", params: map[string]any{"workflow_id": "uuid"}, httpStatus: 202},

	"webhook_training":     {via: viaWebhook},
	"webhook_workflow_a":   {via: viaWebhook},
	"webhook_workflow_b":   {via: viaWebhook},
	"webhook_success":      {via: viaWebhook},
	"webhook_failed":       {via: viaWebhook},
	"webhook_id_string":    {via: viaWebhook},
	"webhook_meta_id_only": {via: viaWebhook},
}

// goldenOutcome is what a .golden.json file holds.
type goldenOutcome struct {
	Call   string       `json:"call"`
	Result *Result      `json:"result,omitempty"`
	Error  *goldenError `json:"error,omitempty"`
}

type goldenError struct {
	Type       string `json:"type"`
	Message    string `json:"message"`
	HTTPStatus int    `json:"http_status"`
	RetryAfter string `json:"retry_after"`
	Retryable  bool   `json:"retryable"`
	Text       string `json:"text"`
}

// replyFiles lists the reply payloads (not the golden outcomes), by name.
func replyFiles(tb testing.TB) map[string][]byte {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(repliesDir, "*.json"))
	require.NoError(tb, err)
	out := map[string][]byte{}
	for _, p := range paths {
		if strings.HasSuffix(p, ".golden.json") {
			continue
		}
		b, err := os.ReadFile(p)
		require.NoError(tb, err)
		out[strings.TrimSuffix(filepath.Base(p), ".json")] = b
	}
	return out
}

func TestGoldenReplies(t *testing.T) {
	t.Parallel()
	files := replyFiles(t)

	// Every file has a case and every case a file, so none is forgotten.
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
		require.Contains(t, goldenCases, name, "testdata file %s.json has no golden case", name)
	}
	for name := range goldenCases {
		require.Contains(t, files, name, "golden case %s has no testdata file", name)
	}
	sort.Strings(names)

	for _, name := range names {
		body, tc := files[name], goldenCases[name]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.True(t, json.Valid(body), "%s.json is not valid JSON", name)

			got := runGolden(t, tc, body)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			require.NoError(t, enc.Encode(got))
			gotJSON := buf.Bytes()

			goldenPath := filepath.Join(repliesDir, name+".golden.json")
			if *update {
				require.NoError(t, os.WriteFile(goldenPath, gotJSON, 0o644))
				return
			}
			want, err := os.ReadFile(goldenPath)
			require.NoError(t, err, "missing golden file; run go test ./modelslab -run TestGoldenReplies -update")
			require.Equal(t, string(want), string(gotJSON), "outcome of %s.json differs from %s", name, goldenPath)
		})
	}
}

func runGolden(t *testing.T, tc goldenCase, body []byte) goldenOutcome {
	t.Helper()
	if tc.via == viaWebhook {
		r, err := ParseWebhook(body)
		return outcome("ParseWebhook", r, err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(tc.httpStatus)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	c, err := New(Options{BaseURL: srv.URL + "/api/", APIKey: "test-key"})
	require.NoError(t, err)
	ep, err := Lookup(tc.endpoint)
	require.NoError(t, err)

	ctx := context.Background()
	var (
		r    Result
		call string
	)
	switch tc.via {
	case viaSubmit:
		call = "Submit " + ep.Name
		r, err = c.Submit(ctx, SubmitRequest{Endpoint: ep, Params: tc.params,
			WebhookURL: "https://hooks.example/webhooks/modelslab/t1", TrackID: "t1"})
	case viaFetch:
		call = "Fetch " + ep.Name + " " + tc.fetchID
		r, err = c.Fetch(ctx, ep, tc.fetchID, tc.params)
	default:
		t.Fatalf("unknown delivery %q", tc.via)
	}
	o := outcome(call, r, err)
	o.Call += " answered HTTP " + strconv.Itoa(tc.httpStatus)
	return o
}

func outcome(call string, r Result, err error) goldenOutcome {
	o := goldenOutcome{Call: call}
	if err == nil {
		o.Result = &r
		return o
	}
	ge := &goldenError{Type: "(not *modelslab.Error)", Message: err.Error(), Text: err.Error()}
	var pe *Error
	if errors.As(err, &pe) {
		ge.Type = pe.Type
		ge.Message = pe.Message
		ge.HTTPStatus = pe.HTTPStatus
		ge.RetryAfter = pe.RetryAfter.String()
		ge.Retryable = pe.Retryable()
	}
	o.Error = ge
	return o
}

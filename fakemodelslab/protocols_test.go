package fakemodelslab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/modelslab"
)

func loraParams() map[string]any {
	return map[string]any{
		"instance_prompt": "photo of sks man", "class_prompt": "photo of a man",
		"images": []any{"https://x/1.png", "https://x/2.png"}, "training_type": "men", "max_train_steps": "2",
	}
}

func TestTrainingRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		endpoint string
		params   map[string]any
		fail     bool
	}{
		{"lora", "lora_fine_tune", loraParams(), false},
		{"dreambooth", "fine_tune", map[string]any{"instance_prompt": "a", "class_prompt": "b", "base_model_id": "sd-1.5", "images": []any{"x"}}, false},
		{"failed", "lora_fine_tune", loraParams(), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var faults Faults
			if tc.fail {
				faults.Rules = []Rule{{Fault: FaultFail}}
			}
			srv := newFake(t, Options{ProcessingTime: 200 * time.Millisecond, Faults: faults})
			rc := newReceiver(t, nil)
			c := newClient(t, srv, "k")
			ep := endpoint(t, tc.endpoint)
			hookURL := rc.URL + "/webhooks/modelslab/train-1?sig=s"
			sub, err := c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: ep, Params: tc.params,
				WebhookURL: hookURL, TrackID: "train-1"})
			require.NoError(t, err)
			require.Equal(t, modelslab.StatusProcessing, sub.Status)
			require.Len(t, sub.ID, 10)
			require.Equal(t, "deploying_gpu", sub.Stage)

			// The stages advance while training, in order.
			var stages []string
			deadline := time.Now().Add(waitTimeout)
			var got modelslab.Result
			for {
				got, err = c.Fetch(context.Background(), ep, sub.ID, nil)
				require.NoError(t, err)
				if len(stages) == 0 || stages[len(stages)-1] != got.Stage {
					stages = append(stages, got.Stage)
				}
				if got.Status.Terminal() {
					break
				}
				require.True(t, time.Now().Before(deadline))
				time.Sleep(5 * time.Millisecond)
			}
			for i := 1; i < len(stages); i++ {
				require.Greater(t, stageIndex(stages[i]), stageIndex(stages[i-1]), "stages %v", stages)
			}
			require.Equal(t, sub.ID, got.ID)

			h := rc.next(t)
			require.Equal(t, "/webhooks/modelslab/train-1?sig=s", h.RequestURI)
			wh := h.result(t)
			require.Equal(t, sub.ID, wh.ID)
			if tc.fail {
				require.Equal(t, modelslab.StatusFailed, got.Status)
				require.Equal(t, modelslab.StatusFailed, wh.Status)
				require.Equal(t, failureMessage, wh.Message)
				return
			}
			require.Equal(t, modelslab.StatusSuccess, got.Status)
			require.Equal(t, "model_ready", got.Stage)
			require.Equal(t, []string{sub.ID}, got.Output)
			require.Equal(t, modelslab.StatusSuccess, wh.Status)
			require.Equal(t, "model_ready", wh.Stage)
			var m map[string]any
			require.NoError(t, json.Unmarshal(h.Body, &m))
			require.Equal(t, map[string]any{"status": "success", "training_status": "model_ready",
				"logs": "model is ready to use", "model_id": sub.ID}, m)
		})
	}
}

func stageIndex(s string) int {
	for i, st := range trainingStages {
		if st == s {
			return i
		}
	}
	if s == trainingFailedStage {
		return len(trainingStages)
	}
	return -1
}

func TestTrainingStage(t *testing.T) {
	t.Parallel()
	const total = 70 * time.Second
	cases := []struct {
		elapsed time.Duration
		want    string
	}{
		{0, "deploying_gpu"},
		{9 * time.Second, "deploying_gpu"},
		{10 * time.Second, "training_started"},
		{35 * time.Second, "trained_model_compressing"},
		{69 * time.Second, "deploying_model"},
		{2 * total, "deploying_model"}, // model_ready only once done
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, trainingStage(tc.elapsed, total), tc.elapsed)
	}
}

func TestTrainingIDs(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for n := int64(FirstRequestID); n < FirstRequestID+10000; n++ {
		id := trainingID(n)
		require.Len(t, id, 10)
		require.False(t, seen[id], "duplicate %s", id)
		seen[id] = true
	}
	require.Equal(t, trainingID(FirstRequestID), trainingID(FirstRequestID), "deterministic")
}

func TestTrainingStatusNotFound(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{})
	got, err := newClient(t, srv, "k").Fetch(context.Background(), endpoint(t, "lora_fine_tune"), "AAAAAAAAAA", nil)
	require.NoError(t, err)
	require.Equal(t, modelslab.StatusFailed, got.Status)
	require.Equal(t, "Request not found", got.Message)
}

func TestWorkflowRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		fail bool
	}{
		{"completed", false},
		{"failed", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var faults Faults
			if tc.fail {
				faults.Rules = []Rule{{Fault: FaultFail}}
			}
			srv := newFake(t, Options{Faults: faults})
			rc := newReceiver(t, nil)
			c := newClient(t, srv, "k")
			ep := endpoint(t, "workflows/run")
			params := map[string]any{"workflow_id": "7f1c-wf", "prompt": "a cat"}
			sub, err := c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: ep, Params: params,
				WebhookURL: rc.URL + "/webhooks/modelslab/wf-1?sig=s", TrackID: "wf-1"})
			require.NoError(t, err)
			require.Equal(t, modelslab.StatusProcessing, sub.Status)
			require.Equal(t, fmt.Sprint(FirstRequestID), sub.ID)

			got := awaitTerminal(t, c, ep, sub.ID, params)
			h := rc.next(t)
			require.Equal(t, "/webhooks/modelslab/wf-1?sig=s", h.RequestURI)
			wh := h.result(t)
			require.Equal(t, sub.ID, wh.ID)
			var m map[string]any
			require.NoError(t, json.Unmarshal(h.Body, &m))
			require.Equal(t, "7f1c-wf", m["workflow_id"])
			if tc.fail {
				require.Equal(t, modelslab.StatusFailed, got.Status)
				require.Equal(t, failureMessage, got.Message)
				require.Equal(t, modelslab.StatusFailed, wh.Status)
				require.Equal(t, "workflow.failed", m["event"])
				require.Equal(t, "failed", m["status"])
				return
			}
			require.Equal(t, modelslab.StatusSuccess, got.Status)
			require.Len(t, got.Output, 1)
			require.Equal(t, got.Output, wh.Output)
			require.Equal(t, "workflow.completed", m["event"])
			require.Equal(t, "completed", m["status"])
			resp, body := get(t, got.Output[0])
			require.Equal(t, http.StatusOK, resp.StatusCode)
			checkFile(t, "png", body)
		})
	}
}

func TestWorkflowRunReply(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{ProcessingTime: time.Hour})
	req, err := http.NewRequest(http.MethodPost, srv.BaseURL()+"v1/workflows/wf-9/run",
		strings.NewReader(`{"prompt":"x","webhook_url":"http://127.0.0.1:1/h"}`))
	require.NoError(t, err)
	req.Header.Set("key", "k")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	var m map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	require.Equal(t, map[string]any{
		"status": "success", "message": "Workflow execution started.", "execution_id": float64(FirstRequestID),
		"workflow_id": "wf-9", "status_url": srv.BaseURL() + fmt.Sprintf("v1/workflows/wf-9/runs/%d", FirstRequestID),
		"webhook_url": "http://127.0.0.1:1/h",
	}, m)

	status := func(path, key string) (int, map[string]any) {
		req, err := http.NewRequest(http.MethodGet, srv.BaseURL()+path, nil)
		require.NoError(t, err)
		req.Header.Set("key", key)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var m map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
		return resp.StatusCode, m
	}
	code, m := status(fmt.Sprintf("v1/workflows/wf-9/runs/%d", FirstRequestID), "k")
	require.Equal(t, http.StatusOK, code)
	exec := m["execution"].(map[string]any)
	require.Equal(t, "running", exec["status"])
	require.Equal(t, map[string]any{"prompt": "x"}, exec["input_data"])
	require.Nil(t, exec["output_data"])

	for _, tc := range []struct{ path, key string }{
		{fmt.Sprintf("v1/workflows/other/runs/%d", FirstRequestID), "k"},
		{"v1/workflows/wf-9/runs/1", "k"},
		{fmt.Sprintf("v1/workflows/wf-9/runs/%d", FirstRequestID), "someone-else"},
	} {
		code, m := status(tc.path, tc.key)
		require.Equal(t, http.StatusNotFound, code, tc.path)
		require.Equal(t, "Workflow execution not found.", m["message"])
	}

	_, err = newClient(t, srv, "k").Fetch(context.Background(), endpoint(t, "workflows/run"), "1",
		map[string]any{"workflow_id": "wf-9"})
	require.Equal(t, modelslab.ErrTypeNotFound, asError(t, err).Type)
}

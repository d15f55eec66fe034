package fakemodelslab

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/modelslab"
)

func TestWorkflowWebhookConfiguredOnTheWorkflow(t *testing.T) {
	t.Parallel()
	ep := endpoint(t, "workflows/run")
	run := func(t *testing.T, srv *Server, wf, runHook string) modelslab.Result {
		t.Helper()
		params := map[string]any{"workflow_id": wf, "prompt": "a cat"}
		sub, err := newClient(t, srv, "k").Submit(context.Background(), modelslab.SubmitRequest{Endpoint: ep, Params: params, WebhookURL: runHook})
		require.NoError(t, err)
		got := awaitTerminal(t, newClient(t, srv, "k"), ep, sub.ID, params)
		require.Equal(t, modelslab.StatusSuccess, got.Status)
		return sub
	}

	t.Run("the workflow's webhook gets the flat payload, not the run's webhook_url", func(t *testing.T) {
		t.Parallel()
		configured, perRun := newReceiver(t, nil), newReceiver(t, nil)
		srv := newFake(t, Options{Workflows: map[string]Workflow{"wf-hooked": {WebhookURL: configured.URL + "/hooks/wf?sig=s"}}})
		sub := run(t, srv, "wf-hooked", perRun.URL+"/webhooks/modelslab/run-1?sig=s")
		h := configured.next(t)
		require.Equal(t, "/hooks/wf?sig=s", h.RequestURI)
		var m map[string]any
		require.NoError(t, json.Unmarshal(h.Body, &m))
		require.Equal(t, "workflow.completed", m["event"])
		require.Equal(t, "wf-hooked", m["workflow_id"])
		require.Equal(t, "completed", m["status"])
		r, wf, err := modelslab.ParseWorkflowWebhook(h.Body)
		require.NoError(t, err)
		require.Equal(t, "wf-hooked", wf)
		require.Equal(t, sub.ID, r.ID)
		perRun.none(t)
	})
	t.Run("without a webhook on the workflow, the run's webhook_url unless ignored", func(t *testing.T) {
		t.Parallel()
		perRun := newReceiver(t, nil)
		srv := newFake(t, Options{})
		run(t, srv, "wf-plain", perRun.URL+"/webhooks/modelslab/run-2?sig=s")
		require.Equal(t, "/webhooks/modelslab/run-2?sig=s", perRun.next(t).RequestURI)

		ignoring := newReceiver(t, nil)
		srv = newFake(t, Options{IgnoreRunWebhookURL: true})
		run(t, srv, "wf-plain", ignoring.URL+"/webhooks/modelslab/run-3?sig=s")
		ignoring.none(t)
		require.Zero(t, srv.Stats().WebhooksSent)
	})
	t.Run("set up over the control API, shown by the workflow's details", func(t *testing.T) {
		t.Parallel()
		configured := newReceiver(t, nil)
		srv := newFake(t, Options{IgnoreRunWebhookURL: true})
		put := func(body string) *http.Response {
			req, err := http.NewRequest(http.MethodPut, srv.URL+"/_fake/workflows/wf-put", strings.NewReader(body))
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			return resp
		}
		require.Equal(t, http.StatusBadRequest, put(`{"webhook_url":"ftp://x"}`).StatusCode)
		require.Equal(t, http.StatusBadRequest, put(`{"webhook_url":`).StatusCode)
		require.Equal(t, http.StatusOK, put(`{"webhook_url":"`+configured.URL+`/wf"}`).StatusCode)
		wf, ok := srv.Workflow("wf-put")
		require.True(t, ok)
		require.Equal(t, configured.URL+"/wf", wf.WebhookURL)

		details := func() map[string]any {
			req, err := http.NewRequest(http.MethodGet, srv.BaseURL()+"v1/workflows/wf-put", nil)
			require.NoError(t, err)
			req.Header.Set("key", "k")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var m map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
			return m["workflow"].(map[string]any)
		}
		require.Equal(t, configured.URL+"/wf", details()["webhook_url"])

		run(t, srv, "wf-put", "")
		require.Equal(t, "/wf", configured.next(t).RequestURI)

		require.Equal(t, http.StatusOK, put(`{}`).StatusCode)
		require.Nil(t, details()["webhook_url"])
	})
}

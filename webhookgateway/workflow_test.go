package webhookgateway

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/modelslab"
)

// fakeRoutes holds routes by their workflow ID (track_id in the memo);
// a route appears after its first `hidden` lookups, and err fails every
// lookup.
type fakeRoutes struct {
	mu     sync.Mutex
	routes map[string]string
	memo   map[string]*commonpb.Payload
	hidden int
	err    error
	asked  []string
}

var _ RouteReader = (*fakeRoutes)(nil)

func (f *fakeRoutes) DescribeWorkflow(_ context.Context, id, _ string) (*client.WorkflowExecutionDescription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, id)
	if f.err != nil {
		return nil, f.err
	}
	if len(f.asked) <= f.hidden {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	fields := map[string]*commonpb.Payload{}
	if p, ok := f.memo[id]; ok {
		fields[contract.WorkflowRunRouteMemo] = p
	} else if trackID, ok := f.routes[id]; ok {
		p, err := converter.GetDefaultDataConverter().ToPayload(trackID)
		if err != nil {
			return nil, err
		}
		fields[contract.WorkflowRunRouteMemo] = p
	} else {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	return &client.WorkflowExecutionDescription{
		WorkflowExecutionMetadata: client.WorkflowExecutionMetadata{Memo: &commonpb.Memo{Fields: fields}},
	}, nil
}

func (f *fakeRoutes) Asked() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.asked)
}

const (
	hookedWorkflow = "3f2b9c1e-7d4a-4b8e-9c1f-0a2b3c4d5e6f"
	executionID    = "12345"
	routedTrackID  = "gen-routed-1"
)

// flatPayload is the flat payload of the workflows docs for execution id
// of workflow wf.
func flatPayload(wf, id, status string) string {
	return `{"event":"workflow.completed","execution_id":` + id + `,"workflow_id":"` + wf +
		`","status":"` + status + `","output":{"output":["https://cdn.example/w.png"]},"completed_at":"2026-12-01T01:00:00Z"}`
}

// workflowRequest is a POST to the workflow route of wf with query q.
func workflowRequest(wf string, q url.Values, body string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.URL.Path = WorkflowPathPrefix + wf
	req.URL.RawQuery = q.Encode()
	req.RequestURI = req.URL.RequestURI()
	req.Header.Set("Content-Type", "application/json")
	return req
}

func workflowQuery(t testing.TB, wf string, expires time.Time) url.Values {
	t.Helper()
	q := url.Values{"sig": {newTestSigner(t, "", newSecret).SignWorkflow(wf, expires)}}
	if !expires.IsZero() {
		q.Set("exp", strconv.FormatInt(expires.Unix(), 10))
	}
	return q
}

func newRoutes() *fakeRoutes {
	return &fakeRoutes{routes: map[string]string{contract.WorkflowRunRouteID(hookedWorkflow, executionID): routedTrackID}}
}

func TestWorkflowWebhookIsRoutedToItsRun(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		body    string
		expires time.Time
		hidden  int
	}{
		{"flat payload, URL without expiry", flatPayload(hookedWorkflow, executionID, "completed"), time.Time{}, 0},
		{"nested payload", `{"event":"workflow.completed","workflow":{"id":"` + hookedWorkflow + `"},"execution":{"id":` + executionID +
			`,"status":"completed","output_data":{"output":["https://cdn.example/w.png"]}}}`, time.Time{}, 0},
		{"execution id as a string, URL with an expiry", flatPayload(hookedWorkflow, `"`+executionID+`"`, "completed"), testExpiry, 0},
		{"route recorded after the webhook came", flatPayload(hookedWorkflow, executionID, "completed"), time.Time{}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sig := &fakeSignaler{}
			routes := newRoutes()
			routes.hidden = tc.hidden
			h := newTestHandler(t, Options{Signaler: sig, Routes: routes, RouteWait: 5 * time.Second})
			rec := serve(h, workflowRequest(hookedWorkflow, workflowQuery(t, hookedWorkflow, tc.expires), tc.body))
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			requireJSON(t, rec, `{"matched":true}`)
			calls := sig.Calls()
			require.Len(t, calls, 1)
			require.Equal(t, routedTrackID, calls[0].WorkflowID)
			require.Equal(t, contract.WebhookSignal, calls[0].SignalName)
			require.Equal(t, modelslab.StatusSuccess, calls[0].Arg.Update.Status)
			require.Equal(t, executionID, calls[0].Arg.Update.ID, "the run checks it against its provider id")
			require.Equal(t, routedTrackID, calls[0].Arg.Update.TrackID)
			require.Equal(t, []string{"https://cdn.example/w.png"}, calls[0].Arg.Update.Output)
			require.Equal(t, fixedNow, calls[0].Arg.ReceivedAt)
			require.Equal(t, tc.hidden+1, routes.Asked())
		})
	}
}

func TestWorkflowWebhookRefusals(t *testing.T) {
	t.Parallel()
	good := flatPayload(hookedWorkflow, executionID, "completed")
	forged := url.Values{"sig": {newTestSigner(t, "", retiredSecret).SignWorkflow(hookedWorkflow, time.Time{})}}
	runSig := url.Values{"exp": {testExp}, "sig": {newTestSigner(t, "", newSecret).Sign(hookedWorkflow, testExpiry)}}
	expired := workflowQuery(t, hookedWorkflow, fixedNow.Add(-time.Second))
	for _, tc := range []struct {
		name     string
		wf       string
		q        url.Values
		body     string
		want     int
		contains string
	}{
		{"no sig", hookedWorkflow, url.Values{}, good, http.StatusUnauthorized, "invalid signature"},
		{"forged sig", hookedWorkflow, forged, good, http.StatusUnauthorized, "invalid signature"},
		{"a run's sig for the same id", hookedWorkflow, runSig, good, http.StatusUnauthorized, "invalid signature"},
		{"another workflow's sig", "another-workflow", workflowQuery(t, hookedWorkflow, time.Time{}), good, http.StatusUnauthorized, "invalid signature"},
		{"expiry added to an unexpiring sig", hookedWorkflow, url.Values{"exp": {testExp}, "sig": workflowQuery(t, hookedWorkflow, time.Time{})["sig"]},
			good, http.StatusUnauthorized, "invalid signature"},
		{"expired", hookedWorkflow, expired, good, http.StatusUnauthorized, "expired"},
		{"workflow id off the track_id rule", "wf%2F1", workflowQuery(t, "wf%2F1", time.Time{}), good, http.StatusBadRequest, "workflow id"},
		{"not JSON", hookedWorkflow, workflowQuery(t, hookedWorkflow, time.Time{}), "event=workflow.completed", http.StatusBadRequest, "not a JSON object"},
		{"a generation's payload", hookedWorkflow, workflowQuery(t, hookedWorkflow, time.Time{}), `{"status":"success","id":1,"output":["u"]}`,
			http.StatusBadRequest, "not a ModelsLab workflow run webhook"},
		{"no execution id", hookedWorkflow, workflowQuery(t, hookedWorkflow, time.Time{}), `{"event":"workflow.completed","workflow_id":"` + hookedWorkflow + `"}`,
			http.StatusBadRequest, "no execution id"},
		{"execution id with a slash", hookedWorkflow, workflowQuery(t, hookedWorkflow, time.Time{}), `{"event":"workflow.completed","execution_id":"1/2"}`,
			http.StatusBadRequest, "execution id"},
		{"another workflow in the body", hookedWorkflow, workflowQuery(t, hookedWorkflow, time.Time{}), flatPayload("another-workflow", executionID, "completed"),
			http.StatusBadRequest, "workflow_id in the body does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sig := &fakeSignaler{}
			routes := newRoutes()
			h := newTestHandler(t, Options{Signaler: sig, Routes: routes})
			rec := serve(h, workflowRequest(tc.wf, tc.q, tc.body))
			require.Equal(t, tc.want, rec.Code, rec.Body.String())
			require.Contains(t, rec.Body.String(), tc.contains)
			require.Empty(t, sig.Calls(), "nothing reaches a workflow")
			require.Zero(t, routes.Asked(), "nor Temporal")
		})
	}
	t.Run("too large", func(t *testing.T) {
		t.Parallel()
		h := newTestHandler(t, Options{Routes: newRoutes(), MaxBodyBytes: 64})
		rec := serve(h, workflowRequest(hookedWorkflow, workflowQuery(t, hookedWorkflow, time.Time{}), good))
		require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	})
	t.Run("other content type", func(t *testing.T) {
		t.Parallel()
		h := newTestHandler(t, Options{Routes: newRoutes()})
		req := workflowRequest(hookedWorkflow, workflowQuery(t, hookedWorkflow, time.Time{}), good)
		req.Header.Set("Content-Type", "text/plain")
		require.Equal(t, http.StatusUnsupportedMediaType, serve(h, req).Code)
	})
}

func TestWorkflowWebhookWithoutARoute(t *testing.T) {
	t.Parallel()
	payload := func(id string) string { return flatPayload(hookedWorkflow, id, "completed") }
	bad, err := converter.GetDefaultDataConverter().ToPayload("not a/track id?")
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		routes *fakeRoutes
		body   string
		want   int
		json   string
	}{
		{"no run waits for the execution", newRoutes(), payload("999"), http.StatusOK,
			`{"matched":false,"reason":"no genflow run waits for execution 999 of workflow ` + hookedWorkflow + `"}`},
		{"Temporal unavailable", &fakeRoutes{err: serviceerror.NewUnavailable("down")}, payload(executionID), http.StatusServiceUnavailable,
			`{"error":"temporal unavailable, retry later"}`},
		{"Temporal refuses the lookup for good", &fakeRoutes{err: serviceerror.NewInvalidArgument("id too long")}, payload(executionID), http.StatusOK,
			`{"matched":false,"delivered":false,"reason":"temporal refused the route lookup: id too long"}`},
		{"a route without a track_id", &fakeRoutes{memo: map[string]*commonpb.Payload{contract.WorkflowRunRouteID(hookedWorkflow, executionID): bad}},
			payload(executionID), http.StatusOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sig := &fakeSignaler{}
			h := newTestHandler(t, Options{Signaler: sig, Routes: tc.routes, RouteWait: 200 * time.Millisecond})
			start := time.Now()
			rec := serve(h, workflowRequest(hookedWorkflow, workflowQuery(t, hookedWorkflow, time.Time{}), tc.body))
			require.Equal(t, tc.want, rec.Code, rec.Body.String())
			if tc.json != "" {
				requireJSON(t, rec, tc.json)
			}
			if tc.want == http.StatusServiceUnavailable {
				require.Equal(t, "5", rec.Header().Get("Retry-After"))
			}
			require.Empty(t, sig.Calls())
			require.Less(t, time.Since(start), 5*time.Second)
		})
	}
	t.Run("the route's run has ended", func(t *testing.T) {
		t.Parallel()
		sig := &fakeSignaler{err: serviceerror.NewNotFound("workflow execution already completed")}
		h := newTestHandler(t, Options{Signaler: sig, Routes: newRoutes()})
		rec := serve(h, workflowRequest(hookedWorkflow, workflowQuery(t, hookedWorkflow, time.Time{}), payload(executionID)))
		require.Equal(t, http.StatusOK, rec.Code)
		requireJSON(t, rec, `{"matched":false}`)
	})
	t.Run("a signal Temporal cannot take now", func(t *testing.T) {
		t.Parallel()
		sig := &fakeSignaler{err: errors.Join(context.DeadlineExceeded)}
		h := newTestHandler(t, Options{Signaler: sig, Routes: newRoutes()})
		rec := serve(h, workflowRequest(hookedWorkflow, workflowQuery(t, hookedWorkflow, time.Time{}), payload(executionID)))
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	})
}

func TestWorkflowRouteNeedsARouteReader(t *testing.T) {
	t.Parallel()
	// fakeSignaler reads no routes: without Options.Routes the route is
	// not served.
	h := newTestHandler(t, Options{})
	rec := serve(h, workflowRequest(hookedWorkflow, workflowQuery(t, hookedWorkflow, time.Time{}), flatPayload(hookedWorkflow, executionID, "completed")))
	require.Equal(t, http.StatusNotFound, rec.Code)
}

func TestWorkflowWebhookCountsTowardsTheRunCap(t *testing.T) {
	t.Parallel()
	sig := &fakeSignaler{}
	h := newTestHandler(t, Options{Signaler: sig, Routes: newRoutes(), MaxWebhooksPerRun: 2})
	body := flatPayload(hookedWorkflow, executionID, "completed")
	for range 2 {
		require.JSONEq(t, `{"matched":true}`, serve(h, workflowRequest(hookedWorkflow, workflowQuery(t, hookedWorkflow, time.Time{}), body)).Body.String())
	}
	rec := serve(h, workflowRequest(hookedWorkflow, workflowQuery(t, hookedWorkflow, time.Time{}), body))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), `"delivered":false`)
	require.Len(t, sig.Calls(), 2)
}

// FuzzWorkflowWebhook throws arbitrary bodies and workflow ids, signed or
// not, at the workflow route. Invariants: no panic (a 500), only
// documented answers, and a signal only for a signed, well-formed
// payload whose execution has a route, to that route's run.
func FuzzWorkflowWebhook(f *testing.F) {
	f.Add([]byte(flatPayload(hookedWorkflow, executionID, "completed")), hookedWorkflow, true)
	f.Add([]byte(flatPayload(hookedWorkflow, executionID, "failed")), hookedWorkflow, false)
	f.Add([]byte(`{"event":"workflow.completed","workflow":{"id":1},"execution":{"id":12345}}`), hookedWorkflow, true)
	f.Add([]byte(`{"event":"x","execution_id":[1]}`), "wf", true)
	f.Add([]byte(`{}`), "", true)
	signer := newTestSigner(f, "", newSecret)
	f.Fuzz(func(t *testing.T, body []byte, wf string, signIt bool) {
		if strings.ContainsAny(wf, "?#") || !utf8ValidPath(wf) {
			return
		}
		sig := &fakeSignaler{}
		h := newTestHandler(t, Options{Signaler: sig, Routes: newRoutes(), RouteWait: time.Millisecond})
		q := url.Values{"sig": {"forged"}}
		if signIt {
			q = url.Values{"sig": {signer.SignWorkflow(wf, time.Time{})}}
		}
		rec := serve(h, workflowRequest(wf, q, string(body)))
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("answer %d: %s", rec.Code, rec.Body.String())
		}
		for _, c := range sig.Calls() {
			if !signIt || c.WorkflowID != routedTrackID || rec.Code != http.StatusOK {
				t.Fatalf("signal %+v for a request answered %d", c, rec.Code)
			}
		}
	})
}

func utf8ValidPath(s string) bool {
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

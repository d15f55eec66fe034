package activities_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/modelslab"
)

// routeLog records the routes Submit asks for, failing with err.
type routeLog struct {
	mu     sync.Mutex
	err    error
	routes []contract.WorkflowRunRoute
	queues []string
}

func (r *routeLog) RecordWorkflowRun(_ context.Context, taskQueue string, route contract.WorkflowRunRoute) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.routes = append(r.routes, route)
	r.queues = append(r.queues, taskQueue)
	return r.err
}

func TestSubmitRecordsTheRouteOfAWorkflowRun(t *testing.T) {
	t.Parallel()
	workflowRun := func(id string) activities.SubmitInput {
		return activities.SubmitInput{TrackID: id, Endpoint: "workflows/run", Params: map[string]any{"workflow_id": "wf-7", "prompt": "a cat"}}
	}
	t.Run("recorded", func(t *testing.T) {
		t.Parallel()
		s := newStack(t, stackOptions{})
		log := &routeLog{}
		s.acts.Routes = log
		res, err := s.submit(workflowRun("run-route-1"))
		require.NoError(t, err)
		require.Equal(t, modelslab.StatusProcessing, res.Status)
		require.Equal(t, []contract.WorkflowRunRoute{{WorkflowID: "wf-7", ExecutionID: res.ID, TrackID: "run-route-1"}}, log.routes)
		require.NotEmpty(t, log.queues[0], "on the activity's task queue")
	})
	t.Run("a failure to record does not fail the submit", func(t *testing.T) {
		t.Parallel()
		s := newStack(t, stackOptions{})
		log := &routeLog{err: errors.New("temporal unavailable")}
		s.acts.Routes = log
		res, err := s.submit(workflowRun("run-route-2"))
		require.NoError(t, err, "the provider took the run: a retry would run it twice")
		require.NotEmpty(t, res.ID)
		require.Len(t, log.routes, 1)
	})
	t.Run("generations record none", func(t *testing.T) {
		t.Parallel()
		s := newStack(t, stackOptions{})
		log := &routeLog{}
		s.acts.Routes = log
		_, err := s.submit(text2img("run-route-3"))
		require.NoError(t, err)
		require.Empty(t, log.routes)
	})
}

package genflow_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/mocks"

	"github.com/genflow/genflow"
	"github.com/genflow/genflow/contract"
)

// answer is a query's encoded answer v.
func answer[T any](v T) *mocks.Value {
	val := &mocks.Value{}
	val.On("Get", mock.Anything).Run(func(args mock.Arguments) { *args.Get(0).(*T) = v }).Return(nil)
	return val
}

// TestQueuePositionAsksTheLimiter: a queued run's place comes live from
// its account limiter's position query (the run's own state holds the
// place it had when queued); a run that is not queued asks no limiter.
func TestQueuePositionAsksTheLimiter(t *testing.T) {
	t.Parallel()
	const limiter = "genflow-account-0123456789abcdef"
	queued := genflow.State{TrackID: "gen-1", Phase: contract.PhaseQueued, Account: &contract.AccountWait{
		Limiter: limiter, QueuePosition: contract.QueuePosition{Position: 9, Waiting: 12, InUse: 5, Limit: 5}}}
	live := contract.QueuePosition{Position: 3, Waiting: 12, InUse: 5, Limit: 5}
	tests := []struct {
		name    string
		state   genflow.State
		limiter func(*mocks.Client) // nil: the limiter must not be asked
		want    string              // pos.String(); "" means not waiting
	}{
		{name: "queued: the limiter's live place", state: queued, want: "3rd of 12, limit 5",
			limiter: func(c *mocks.Client) {
				c.On("QueryWorkflow", mock.Anything, limiter, "", contract.PositionQuery, "gen-1").Return(answer(live), nil)
			}},
		{name: "queued, the limiter does not answer: the recorded place", state: queued, want: "9th of 12, limit 5",
			limiter: func(c *mocks.Client) {
				c.On("QueryWorkflow", mock.Anything, limiter, "", contract.PositionQuery, "gen-1").Return(nil, errors.New("deadline exceeded"))
			}},
		{name: "queued, the limiter does not know it yet: the recorded place", state: queued, want: "9th of 12, limit 5",
			limiter: func(c *mocks.Client) {
				c.On("QueryWorkflow", mock.Anything, limiter, "", contract.PositionQuery, "gen-1").
					Return(answer(contract.QueuePosition{Waiting: 11, Limit: 5}), nil)
			}},
		{name: "submitted: not waiting", state: genflow.State{TrackID: "gen-1", Phase: contract.PhaseWaitingWebhook,
			Account: &contract.AccountWait{Limiter: limiter}}},
		{name: "no limiter: not waiting", state: genflow.State{TrackID: "gen-1", Phase: contract.PhaseSubmitting}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &mocks.Client{}
			c.On("QueryWorkflow", mock.Anything, "gen-1", "", contract.StateQuery).Return(answer(tt.state), nil)
			c.On("DescribeWorkflow", mock.Anything, "gen-1", "").Return(nil, errors.New("not now")).Maybe()
			if tt.limiter != nil {
				tt.limiter(c)
			}
			run := genflow.NewClient(c, genflow.ClientOptions{}).GetGeneration("gen-1", "")
			ctx := context.Background()

			pos, waiting, err := run.QueuePosition(ctx)
			require.NoError(t, err)
			require.Equal(t, tt.want != "", waiting)
			st, err := run.State(ctx)
			require.NoError(t, err)
			if tt.want == "" {
				require.Zero(t, pos)
				require.Equal(t, tt.state, st)
				c.AssertExpectations(t)
				return
			}
			require.Equal(t, tt.want, pos.String())
			require.Equal(t, tt.want, st.Account.String(), "State carries the same place")
			require.Equal(t, "9th of 12, limit 5", queued.Account.String(), "the state it was given is not changed")
			c.AssertExpectations(t)
		})
	}
}

// TestGenerationPriorityInTheInput: a request's priority reaches the
// workflow's input, and the default given explicitly is the same input as
// none (so starting the run again with it is no conflict).
func TestGenerationPriorityInTheInput(t *testing.T) {
	t.Parallel()
	for asked, want := range map[int]int{0: 0, contract.PriorityInteractive: 0, 1: 1, 9: 9} {
		c := &mocks.Client{}
		run := &mocks.WorkflowRun{}
		run.On("GetRunID").Return("run-1")
		var got contract.GenerationInput
		c.On("ExecuteWorkflow", mock.Anything, mock.Anything, contract.GenerationWorkflow, mock.Anything).
			Run(func(args mock.Arguments) { got = args.Get(3).(contract.GenerationInput) }).Return(run, nil)
		_, err := genflow.NewClient(c, genflow.ClientOptions{}).StartGeneration(context.Background(),
			genflow.GenerationRequest{Endpoint: "text2img", Params: map[string]any{"model_id": "flux", "prompt": "x"}, Priority: asked})
		require.NoError(t, err)
		require.Equal(t, want, got.Priority, "asked %d", asked)
	}
}

package genflow_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow"
	"github.com/genflow/genflow/contract"
)

func fox() map[string]any { return map[string]any{"model_id": "flux", "prompt": "a fox"} }

func TestBatchRequestCheck(t *testing.T) {
	t.Parallel()
	item := genflow.BatchItem{Endpoint: "text2img", Params: fox()}
	tests := []struct {
		name  string
		req   genflow.BatchRequest
		want  string // "" means no error
		badID bool
	}{
		{name: "valid", req: genflow.BatchRequest{ID: "b1", Items: []genflow.BatchItem{item, item}}},
		{name: "valid without an ID", req: genflow.BatchRequest{Items: []genflow.BatchItem{item}}},
		{name: "no items", req: genflow.BatchRequest{ID: "b1"}, want: "batch has no items"},
		{name: "unknown endpoint", req: genflow.BatchRequest{Items: []genflow.BatchItem{item, {Endpoint: "nope", Line: 7}}},
			want: "item 1 (line 7): "},
		{name: "missing parameter", req: genflow.BatchRequest{Items: []genflow.BatchItem{{Endpoint: "text2img", Params: map[string]any{"prompt": "x"}}}},
			want: "item 0: images/text2img: missing required parameter model_id"},
		{name: "bad track_id", req: genflow.BatchRequest{Items: []genflow.BatchItem{{TrackID: "a/b", Endpoint: "text2img", Params: fox()}}},
			want: `item 0: track_id "a/b" holds '/'`},
		{name: "one track_id twice", req: genflow.BatchRequest{Items: []genflow.BatchItem{
			{TrackID: "t", Endpoint: "text2img", Params: fox()}, {TrackID: "t", Endpoint: "text2img", Params: fox()}}},
			want: `item 1: track_id "t" is also item 0's`},
		{name: "item too large", req: genflow.BatchRequest{Items: []genflow.BatchItem{{Endpoint: "text2img",
			Params: map[string]any{"model_id": "flux", "prompt": strings.Repeat("x", contract.MaxBatchPageBytes)}}}},
			want: "item 0 is "},
		{name: "priorities", req: genflow.BatchRequest{Priority: 3, Items: []genflow.BatchItem{item, {Endpoint: "text2img", Params: fox(), Priority: 9}}}},
		{name: "bad batch priority", req: genflow.BatchRequest{Priority: 10, Items: []genflow.BatchItem{item}},
			want: "batch: priority 10: want 1 (lowest, batch default) to 9 (highest)"},
		{name: "bad item priority", req: genflow.BatchRequest{Items: []genflow.BatchItem{item, {Endpoint: "text2img", Params: fox(), Priority: -1, Line: 4}}},
			want: "item 1 (line 4): priority -1: want 1"},
		{name: "bad ID", req: genflow.BatchRequest{ID: "b 1", Items: []genflow.BatchItem{item}},
			want: "batch ID: track_id", badID: true},
		{name: "ID without room for its items' IDs", req: genflow.BatchRequest{ID: strings.Repeat("b", 195), Items: []genflow.BatchItem{item}},
			want: "at most 190 bytes", badID: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.req.Check()
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
			require.Equal(t, tt.badID, errors.Is(err, genflow.ErrInvalidID))
		})
	}
}

func TestStartsRefuseBadRequestsBeforeCallingTemporal(t *testing.T) {
	t.Parallel()
	gf := genflow.NewClient(nil, genflow.ClientOptions{}) // never called
	ctx := context.Background()

	_, err := gf.StartGeneration(ctx, genflow.GenerationRequest{Endpoint: "no-such-endpoint"})
	require.ErrorContains(t, err, "no-such-endpoint")
	_, err = gf.StartGeneration(ctx, genflow.GenerationRequest{Endpoint: "text2img", Params: map[string]any{"prompt": "x"}})
	require.ErrorContains(t, err, "missing required parameter model_id")
	_, err = gf.StartGeneration(ctx, genflow.GenerationRequest{TrackID: "a b", Endpoint: "text2img", Params: fox()})
	require.ErrorIs(t, err, genflow.ErrInvalidID)
	require.ErrorContains(t, err, `track_id "a b" holds ' '`)

	_, err = gf.StartGeneration(ctx, genflow.GenerationRequest{Endpoint: "text2img", Params: fox(), Priority: 10})
	require.EqualError(t, err, "priority 10: want 1 (lowest, batch default) to 9 (highest); 5 is an interactive run's default")

	_, err = gf.StartBatch(ctx, genflow.BatchRequest{ID: "a?b", Items: []genflow.BatchItem{{Endpoint: "text2img", Params: fox()}}})
	require.ErrorIs(t, err, genflow.ErrInvalidID)

	plan := genflow.PipelinePlan{Name: "p", Steps: []genflow.PipelineStep{{Name: "s", Endpoint: "images/text2img", Params: fox()}}}
	_, err = gf.StartPipeline(ctx, strings.Repeat("p", 199), plan)
	require.ErrorIs(t, err, genflow.ErrInvalidID)
	require.ErrorContains(t, err, "pipeline ID is 199 bytes")
	plan.Steps[0].Priority = 12
	_, err = gf.StartPipeline(ctx, "", plan)
	require.ErrorContains(t, err, `step "s": priority 12: want 1`)
}

func TestRunLinks(t *testing.T) {
	t.Parallel()
	require.Equal(t, "http://ui:8233/namespaces/ns/workflows/a%20b/r1/history", genflow.UIURL("http://ui:8233/", "ns", "a b", "r1"))
	require.Equal(t, "http://ui/namespaces/default/workflows/id", genflow.NewClient(nil, genflow.ClientOptions{UIURL: "http://ui"}).GetBatch("id").UIURL)
	require.Empty(t, genflow.NewClient(nil, genflow.ClientOptions{}).GetGeneration("id", "").UIURL, "no UI, no link")
}

func TestDescribeFailure(t *testing.T) {
	t.Parallel()
	details := contract.FailureDetails{TrackID: "t", Endpoint: "images/text2img", ProviderID: "42", Message: "NSFW", Phase: contract.PhaseWaitingWebhook}
	err := temporal.NewNonRetryableApplicationError("NSFW", contract.ErrTypeGenerationFailed, nil, details)
	require.Equal(t, genflow.Failure{Type: contract.ErrTypeGenerationFailed, Message: "NSFW"}, genflow.DescribeFailure(err))
	got, ok := genflow.FailureDetailsOf(err)
	require.True(t, ok)
	require.Equal(t, details, got)

	require.Equal(t, genflow.FailureCanceled, genflow.DescribeFailure(temporal.NewCanceledError()).Type)
	require.Equal(t, genflow.FailureError, genflow.DescribeFailure(errors.New("boom")).Type)
	_, ok = genflow.FailureDetailsOf(errors.New("boom"))
	require.False(t, ok)
}

// parent runs one generation as its child, as a program's workflow would.
func parent(ctx workflow.Context, req genflow.GenerationRequest) (genflow.GenerationResult, error) {
	return genflow.ExecuteGeneration(ctx, req, genflow.ChildOptions{}).Get(ctx)
}

// fakeGeneration stands in for the Generation workflow: it answers with
// what it was started with.
func fakeGeneration(ctx workflow.Context, in genflow.GenerationInput) (genflow.GenerationResult, error) {
	info := workflow.GetInfo(ctx)
	parentID, _ := workflow.GetTypedSearchAttributes(ctx).GetKeyword(contract.SAParentID)
	return genflow.GenerationResult{
		TrackID:  info.WorkflowExecution.ID,
		Endpoint: in.Endpoint,
		Meta:     map[string]any{"parent": info.ParentWorkflowExecution.ID, "parent_sa": parentID},
	}, nil
}

func TestExecuteGeneration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		req      genflow.GenerationRequest
		wantType string // "" means success
	}{
		{name: "runs the child under the track_id", req: genflow.GenerationRequest{TrackID: "parent-1-cover", Endpoint: "text2img", Params: fox()}},
		{name: "no track_id", req: genflow.GenerationRequest{Endpoint: "text2img", Params: fox()}, wantType: contract.ErrTypeInvalidInput},
		{name: "bad endpoint", req: genflow.GenerationRequest{TrackID: "t", Endpoint: "nope"}, wantType: contract.ErrTypeInvalidInput},
		{name: "missing parameter", req: genflow.GenerationRequest{TrackID: "t", Endpoint: "text2img"}, wantType: contract.ErrTypeInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := (&testsuite.WorkflowTestSuite{}).NewTestWorkflowEnvironment()
			env.RegisterWorkflow(parent)
			env.RegisterWorkflowWithOptions(fakeGeneration, workflow.RegisterOptions{Name: contract.GenerationWorkflow})
			env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "parent-1"})
			env.ExecuteWorkflow(parent, tt.req)
			require.True(t, env.IsWorkflowCompleted())
			if tt.wantType != "" {
				err := env.GetWorkflowError()
				require.Error(t, err)
				require.Equal(t, tt.wantType, genflow.DescribeFailure(err).Type)
				return
			}
			require.NoError(t, env.GetWorkflowError())
			var res genflow.GenerationResult
			require.NoError(t, env.GetWorkflowResult(&res))
			require.Equal(t, "parent-1-cover", res.TrackID)
			require.Equal(t, "images/text2img", res.Endpoint, "the endpoint's full name")
			require.Equal(t, "parent-1", res.Meta["parent"])
			require.Equal(t, "parent-1", res.Meta["parent_sa"], "searchable by its parent")
		})
	}
}

package starter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/genflow/genflow/config"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/trackid"
	"github.com/genflow/genflow/workflows"
)

// Started describes a started (or already existing) generation.
type Started struct {
	TrackID string `json:"track_id"`
	RunID   string `json:"run_id"`
	// AlreadyStarted is true when a run with this track_id existed: it
	// was not started again and nothing was submitted twice.
	AlreadyStarted bool   `json:"already_started"`
	UIURL          string `json:"ui_url"`
}

// NewTrackID returns a fresh track_id.
func NewTrackID() string { return "gen-" + uuid.NewString() }

// Start starts a Generation workflow whose ID is trackID (a new one when
// empty). A track_id that was used before, running or finished, is never
// started again: Start reports the existing run instead.
func Start(ctx context.Context, c client.Client, cfg config.Temporal, trackID string, in contract.GenerationInput) (Started, error) {
	ep, err := modelslab.Lookup(in.Endpoint)
	if err != nil {
		return Started{}, err
	}
	if err := ep.Validate(in.Params); err != nil {
		return Started{}, err
	}
	in.Endpoint = ep.Name
	if trackID == "" {
		trackID = NewTrackID()
	}
	if err := trackid.Validate(trackID); err != nil {
		return Started{}, err
	}
	opts := client.StartWorkflowOptions{
		ID:                                       trackID,
		TaskQueue:                                cfg.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            contract.Summary(ep.Name, in.Params),
		StaticDetails:                            contract.Details(ep.Name, in.Params, in.Owner),
		TypedSearchAttributes:                    temporal.NewSearchAttributes(contract.GenerationSearchAttributes(ep.Name, in.Params, in.Owner)...),
	}
	run, err := c.ExecuteWorkflow(ctx, opts, workflows.Generation, in)
	var exists *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &exists):
		return Started{TrackID: trackID, RunID: exists.RunId, AlreadyStarted: true, UIURL: UIURL(cfg, trackID, exists.RunId)}, nil
	case err != nil:
		return Started{}, fmt.Errorf("start generation %s: %w", trackID, err)
	}
	return Started{TrackID: trackID, RunID: run.GetRunID(), UIURL: UIURL(cfg, trackID, run.GetRunID())}, nil
}

// UIURL is the Temporal Web UI page of a run.
func UIURL(cfg config.Temporal, trackID, runID string) string {
	u := fmt.Sprintf("%s/namespaces/%s/workflows/%s", strings.TrimSuffix(cfg.UIURL, "/"),
		url.PathEscape(cfg.Namespace), url.PathEscape(trackID))
	if runID != "" {
		u += "/" + url.PathEscape(runID) + "/history"
	}
	return u
}

// Wait blocks until the generation ends, calling onState (if not nil)
// with its live state about every interval while it runs.
func Wait(ctx context.Context, c client.Client, trackID, runID string, interval time.Duration, onState func(contract.State)) (contract.GenerationResult, error) {
	query := func(ctx context.Context) (contract.State, error) { return QueryState(ctx, c, trackID, runID) }
	return awaitRun[contract.GenerationResult](ctx, c, trackID, runID, interval, querying(ctx, query, onState))
}

// QueryState asks a Generation run for its live state.
func QueryState(ctx context.Context, c client.Client, trackID, runID string) (contract.State, error) {
	return queryRun[contract.State](ctx, c, trackID, runID, contract.StateQuery)
}

// Failure is a generation's error in a form fit for printing and JSON.
type Failure struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// DescribeFailure extracts the error type and the provider's message
// from a workflow error.
func DescribeFailure(err error) Failure {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return Failure{Type: appErr.Type(), Message: appErr.Message()}
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) {
		return Failure{Type: "Canceled", Message: "the generation was cancelled"}
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return Failure{Type: "Timeout", Message: timeout.Error()}
	}
	var terminated *temporal.TerminatedError
	if errors.As(err, &terminated) {
		return Failure{Type: "Terminated", Message: "the workflow was terminated"}
	}
	return Failure{Type: "Error", Message: err.Error()}
}

// ParseParams builds parameters from --params (a JSON object, or @file
// holding one) and --param key=value pairs, which override it. A value
// that parses as JSON (512, true, [1,2], {"a":1}) keeps its type;
// anything else is a string.
func ParseParams(jsonObj string, pairs []string, readFile func(string) ([]byte, error)) (map[string]any, error) {
	params := map[string]any{}
	if s := strings.TrimSpace(jsonObj); s != "" {
		raw := []byte(s)
		if strings.HasPrefix(s, "@") {
			b, err := readFile(s[1:])
			if err != nil {
				return nil, fmt.Errorf("--params: %w", err)
			}
			raw = b
		}
		if err := json.Unmarshal(raw, &params); err != nil {
			return nil, fmt.Errorf("--params: not a JSON object: %w", err)
		}
		// JSON null unmarshals into a nil map, which the pairs below and
		// the caller would then write to.
		if params == nil {
			return nil, errors.New("--params: not a JSON object: null")
		}
	}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("--param %q: want key=value", p)
		}
		var parsed any
		if err := json.Unmarshal([]byte(v), &parsed); err == nil {
			params[k] = parsed
		} else {
			params[k] = v
		}
	}
	return params, nil
}

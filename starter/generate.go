package starter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/genflow/genflow"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/config"
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
func NewTrackID() string { return genflow.NewTrackID() }

// newClient is the genflow client on c under cfg's task queue and UI.
func newClient(c client.Client, cfg config.Temporal) *genflow.Client {
	return genflow.NewClient(c, genflow.ClientOptions{TaskQueue: cfg.TaskQueue, UIURL: cfg.UIURL, Namespace: cfg.Namespace})
}

// Start starts a Generation workflow whose ID is trackID (a new one when
// empty). A track_id that was used before, running or finished, is never
// started again: Start reports the existing run instead. It is
// genflow.Client.StartGeneration.
func Start(ctx context.Context, c client.Client, cfg config.Temporal, trackID string, in contract.GenerationInput) (Started, error) {
	run, err := newClient(c, cfg).StartGeneration(ctx, genflow.GenerationRequest{
		TrackID: trackID, Endpoint: in.Endpoint, Params: in.Params, Deadline: in.Deadline, PollGrace: in.PollGrace,
		Owner: in.Owner, NotifyURL: in.NotifyURL, Store: in.Store, Priority: in.Priority,
	})
	if err != nil {
		return Started{}, err
	}
	return Started{TrackID: run.ID, RunID: run.RunID, AlreadyStarted: run.AlreadyStarted, UIURL: UIURL(cfg, run.ID, run.RunID)}, nil
}

// UIURL is the Temporal Web UI page of a run.
func UIURL(cfg config.Temporal, trackID, runID string) string {
	return genflow.UIURL(cfg.UIURL, cfg.Namespace, trackID, runID)
}

// Wait blocks until the generation ends, calling onState (if not nil)
// with its live state about every interval while it runs.
func Wait(ctx context.Context, c client.Client, trackID, runID string, interval time.Duration, onState func(contract.State)) (contract.GenerationResult, error) {
	return genflow.NewClient(c, genflow.ClientOptions{}).GetGeneration(trackID, runID).Follow(ctx, interval, onState)
}

// QueryState asks a Generation run for its live state.
func QueryState(ctx context.Context, c client.Client, trackID, runID string) (contract.State, error) {
	return genflow.NewClient(c, genflow.ClientOptions{}).GetGeneration(trackID, runID).State(ctx)
}

// Failure is a generation's error in a form fit for printing and JSON.
type Failure = genflow.Failure

// DescribeFailure extracts the error type and the provider's message
// from a workflow error.
func DescribeFailure(err error) Failure { return genflow.DescribeFailure(err) }

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

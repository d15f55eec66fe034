package genflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/converter"

	"github.com/genflow/genflow/contract"
)

// ErrDifferentParameters is what errors.Is finds in the error of a start
// whose ID a run already has, started with other parameters: nothing was
// started, and the existing run is not the one asked for. The error is a
// *DifferentParametersError.
var ErrDifferentParameters = errors.New("the ID is used by a run with other parameters")

// DifferentParametersError says which parameters of a start differ from
// those of the run that already has its ID.
type DifferentParametersError struct {
	// What is "generation", "batch" or "pipeline".
	What string
	// Run is the existing run.
	Run Run
	// Fields name what differs, as the run's input spells it in JSON:
	// "params.prompt", "deadline", "notify_url", "items", ...
	Fields []string
}

func (e *DifferentParametersError) Error() string {
	id := "ID"
	if e.What == "generation" {
		id = "track_id"
	}
	verb := "differ"
	if len(e.Fields) == 1 {
		verb = "differs"
	}
	return fmt.Sprintf("%s %s %s is already used by a run with other parameters (%s %s): nothing was started; "+
		"use another %s, or the same parameters to follow that run", e.What, id, e.Run.ID, strings.Join(e.Fields, ", "), verb, id)
}

// Is makes errors.Is find ErrDifferentParameters.
func (e *DifferentParametersError) Is(target error) bool { return target == ErrDifferentParameters }

// startedInput reads the input of run runID of workflow id (its latest
// run when empty) from the run's first history event, as JSON.
func (c *Client) startedInput(ctx context.Context, id, runID string) (json.RawMessage, error) {
	it := c.c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return nil, fmt.Errorf("%s has no history", id)
	}
	ev, err := it.Next()
	if err != nil {
		return nil, err
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		return nil, fmt.Errorf("%s: no start event", id)
	}
	var raw json.RawMessage
	if err := converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &raw); err != nil {
		return nil, fmt.Errorf("%s: decode its input: %w", id, err)
	}
	return raw, nil
}

// differences compares the input a run was started with (existing, its
// JSON) with the input asked for, and names the fields that differ, one
// level down into objects ("params.prompt"). Fields in ignore (top level)
// are left out.
func differences(existing json.RawMessage, asked any, ignore ...string) ([]string, error) {
	var a, b map[string]any
	if err := json.Unmarshal(existing, &a); err != nil {
		return nil, fmt.Errorf("decode the run's input: %w", err)
	}
	raw, err := json.Marshal(asked)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, err
	}
	var diff []string
	for _, k := range unionKeys(a, b) {
		if slices.Contains(ignore, k) || reflect.DeepEqual(a[k], b[k]) {
			continue
		}
		am, aok := a[k].(map[string]any)
		bm, bok := b[k].(map[string]any)
		if !aok && a[k] == nil {
			am, aok = map[string]any{}, bok
		}
		if !bok && b[k] == nil {
			bm, bok = map[string]any{}, aok
		}
		if !aok || !bok {
			diff = append(diff, k)
			continue
		}
		for _, kk := range unionKeys(am, bm) {
			if !reflect.DeepEqual(am[kk], bm[kk]) {
				diff = append(diff, k+"."+kk)
			}
		}
	}
	return diff, nil
}

// unionKeys are the keys of a and b, sorted.
func unionKeys(a, b map[string]any) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// checkSame returns a *DifferentParametersError when existing run run was
// started with an input other than asked (ignoring the top-level fields
// in ignore), and nil when they match. A run whose input cannot be read
// (its history gone past retention) is taken as it is.
func (c *Client) checkSame(ctx context.Context, what string, run Run, asked any, ignore ...string) error {
	existing, err := c.startedInput(ctx, run.ID, run.RunID)
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return nil
	case err != nil:
		return fmt.Errorf("%s %s exists; read its input to compare: %w", what, run.ID, err)
	}
	diff, err := differences(existing, asked, ignore...)
	if err != nil || len(diff) == 0 {
		return err
	}
	return &DifferentParametersError{What: what, Run: run, Fields: diff}
}

// checkSameItems compares the items held by an existing batch's page
// holders with pages, and returns "items" when they differ (or when a
// holder is missing), nil when they match.
func (c *Client) checkSameItems(ctx context.Context, batchID string, pages []contract.BatchPage) ([]string, error) {
	for _, p := range pages {
		held, err := ReadBatchPage(ctx, c.c, contract.PageWorkflowID(batchID, p.Index))
		if errors.Is(err, ErrPageMissing) {
			return []string{"items"}, nil
		}
		if err != nil {
			return nil, err
		}
		a, err := json.Marshal(held.Items)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(p.Items)
		if err != nil {
			return nil, err
		}
		var av, bv any
		if err := errors.Join(json.Unmarshal(a, &av), json.Unmarshal(b, &bv)); err != nil {
			return nil, err
		}
		if !reflect.DeepEqual(av, bv) {
			return []string{"items"}, nil
		}
	}
	return nil, nil
}

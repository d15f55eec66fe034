package activities_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/modelslab"
)

// callCounter records ProviderCall as "operation/type".
type callCounter struct {
	mu    sync.Mutex
	calls []string
}

func (c *callCounter) ProviderCall(operation, errType string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, operation+"/"+errType)
}

func (c *callCounter) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

func TestProviderCallsAreCountedByErrorType(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{fake: fakemodelslab.Options{
		Keys: []string{apiKey},
		Faults: fakemodelslab.Faults{Rules: []fakemodelslab.Rule{
			{Match: "act-m-flaky", Fault: fakemodelslab.Fault5xx},
			{Match: "act-m-busy", Fault: fakemodelslab.Fault429},
		}},
	}})
	counter := &callCounter{}
	s.acts.Metrics = counter

	res, err := s.submit(text2img("act-m-ok"))
	require.NoError(t, err)
	_, err = s.fetch(activities.FetchInput{Endpoint: "images/text2img", ProviderID: res.ID})
	require.NoError(t, err)
	_, err = s.submit(text2img("act-m-flaky"))
	require.Error(t, err)
	_, err = s.submit(text2img("act-m-busy"))
	require.Error(t, err)
	// An input the activity refuses before calling the provider is not
	// a provider call.
	in := text2img("act-m-bad")
	in.Endpoint = "nope"
	_, err = s.submit(in)
	require.Error(t, err)

	require.Equal(t, []string{
		"submit/", "fetch/",
		"submit/" + modelslab.ErrTypeServer,
		"submit/" + modelslab.ErrTypeRateLimited,
	}, counter.got())
}

func TestErrorType(t *testing.T) {
	t.Parallel()
	for err, want := range map[error]string{
		nil: "",
		&modelslab.Error{Type: modelslab.ErrTypeInvalidKey}:                           modelslab.ErrTypeInvalidKey,
		fmt.Errorf("wrapped: %w", &modelslab.Error{Type: modelslab.ErrTypeTransport}): modelslab.ErrTypeTransport,
		context.Canceled:         "Canceled",
		context.DeadlineExceeded: "Canceled",
		errors.New("boom"):       "Other",
	} {
		require.Equal(t, want, activities.ErrorType(err), "%v", err)
	}
}

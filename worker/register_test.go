package worker_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/worker"
)

// registry records what is registered; any other method panics.
type registry struct {
	sdkworker.Registry
	workflows  []string
	activities []any
}

func (r *registry) RegisterWorkflowWithOptions(_ any, o workflow.RegisterOptions) {
	r.workflows = append(r.workflows, o.Name)
}

func (r *registry) RegisterActivity(a any) { r.activities = append(r.activities, a) }

func validOptions() worker.RegisterOptions {
	return worker.RegisterOptions{
		ModelsLabAPIKey: "key",
		PublicURL:       "https://hooks.example.com",
		WebhookSecrets:  []string{"0123456789abcdef0123"},
	}
}

// lazyClient is a client that has not dialled.
func lazyClient(t *testing.T) client.Client {
	t.Helper()
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func TestRegisterAddsEveryWorkflowAndActivity(t *testing.T) {
	t.Parallel()
	r := &registry{}
	require.NoError(t, worker.Register(r, lazyClient(t), validOptions()))
	require.ElementsMatch(t, []string{contract.GenerationWorkflow, contract.BatchWorkflow, contract.BatchPageWorkflow,
		contract.PipelineWorkflow, contract.AccountLimiterWorkflow, contract.WorkflowRunRouteWorkflow}, r.workflows)
	require.Len(t, r.activities, 2)
	acts, ok := r.activities[0].(*activities.Activities)
	require.True(t, ok)
	require.NotNil(t, acts.Provider)
	require.NotNil(t, acts.Webhooks)
	require.Nil(t, acts.Store, "no store by default")
	require.Nil(t, acts.Notifier, "no notifications by default")
	account, ok := acts.Account.(*activities.TemporalAccount)
	require.True(t, ok, "by default every run takes a slot of the account")
	require.Equal(t, contract.DefaultAccountQueueLimit, account.Limit)
	require.Equal(t, activities.AccountLimiterID("key"), account.LimiterID)
	require.NotContains(t, account.LimiterID, "key", "the limiter's ID is a hash of the key")
	routes, ok := acts.Routes.(*activities.TemporalRoutes)
	require.True(t, ok, "workflow runs record their routes")
	require.NotNil(t, routes.Client, "with the worker's client")
	require.IsType(t, &activities.BatchActivities{}, r.activities[1])

	r = &registry{}
	opts := validOptions()
	opts.AccountQueueLimit = 15
	require.NoError(t, worker.Register(r, lazyClient(t), opts))
	acts, ok = r.activities[0].(*activities.Activities)
	require.True(t, ok)
	account, ok = acts.Account.(*activities.TemporalAccount)
	require.True(t, ok)
	require.Equal(t, 15, account.Limit)

	r = &registry{}
	opts.AccountQueueLimit = worker.NoAccountLimit
	require.NoError(t, worker.Register(r, lazyClient(t), opts))
	acts, ok = r.activities[0].(*activities.Activities)
	require.True(t, ok)
	require.Nil(t, acts.Account, "NoAccountLimit: no account limiter")
}

func TestRegisterNamesTheBadField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		edit   func(*worker.RegisterOptions)
		wantIn string
	}{
		{"no key", func(o *worker.RegisterOptions) { o.ModelsLabAPIKey = " " }, "RegisterOptions.ModelsLabAPIKey: required"},
		{"bad base URL", func(o *worker.RegisterOptions) { o.ModelsLabBaseURL = "::" }, "RegisterOptions.ModelsLabBaseURL"},
		{"http base URL off loopback", func(o *worker.RegisterOptions) { o.ModelsLabBaseURL = "http://modelslab.example/api/" },
			"RegisterOptions.ModelsLabBaseURL"},
		{"no gateway", func(o *worker.RegisterOptions) { o.PublicURL = "" }, "RegisterOptions.PublicURL: required"},
		{"bad gateway URL", func(o *worker.RegisterOptions) { o.PublicURL = "ftp://x" }, "RegisterOptions.PublicURL"},
		{"no secrets", func(o *worker.RegisterOptions) { o.WebhookSecrets = nil }, "RegisterOptions.WebhookSecrets: required"},
		{"short secret", func(o *worker.RegisterOptions) { o.WebhookSecrets = []string{"short"} }, "RegisterOptions.WebhookSecrets"},
		{"bad store", func(o *worker.RegisterOptions) { o.Store.URL = "ftp://bucket" }, "RegisterOptions.Store.URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := validOptions()
			tt.edit(&o)
			r := &registry{}
			err := worker.Register(r, lazyClient(t), o)
			require.ErrorContains(t, err, tt.wantIn)
			require.Empty(t, r.workflows, "nothing registered")
			require.Empty(t, r.activities, "nothing registered")
		})
	}
	require.ErrorContains(t, worker.Register(&registry{}, nil, validOptions()), "client is nil")
}

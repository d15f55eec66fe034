package starter_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/starter"
)

func TestVisibilityQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		f    starter.ListFilter
		want string
	}{
		{"default leaves page holders and workflow run routes out", starter.ListFilter{},
			`WorkflowType != "BatchPage" AND WorkflowType != "WorkflowRunRoute"`},
		{"all", starter.ListFilter{All: true}, ``},
		{"every flag", starter.ListFilter{
			State: "Failed", Endpoint: "text2img", Model: "flux", Owner: "alice", Parent: "launch-42",
			Status: "completed", Type: "generation", Query: `StartTime > "2026-01-01T00:00:00Z"`,
		}, `WorkflowType = "Generation" AND ExecutionStatus = "Completed" AND GenflowState = "failed" AND ` +
			`GenflowEndpoint = "images/text2img" AND GenflowModel = "flux" AND GenflowOwner = "alice" AND ` +
			`GenflowParentID = "launch-42" AND (StartTime > "2026-01-01T00:00:00Z")`},
		{"page holders of a batch", starter.ListFilter{Type: "page", Parent: "b-1"}, `WorkflowType = "BatchPage" AND GenflowParentID = "b-1"`},
		{"status names", starter.ListFilter{Status: "timed_out", All: true}, `ExecutionStatus = "TimedOut"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.f.VisibilityQuery()
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestListUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown status", []string{"list", "--status", "done"}, `--status "done"`},
		{"unknown type", []string{"list", "--type", "job"}, `--type "job"`},
		{"unknown endpoint", []string{"list", "--endpoint", "txt2img"}, `unknown endpoint "txt2img"`},
		{"quote in a value", []string{"list", "--owner", `a" OR "1"="1`}, "quotes"},
		{"limit zero", []string{"list", "--limit", "0"}, "--limit 0"},
		{"list with an argument", []string{"list", "gen-1"}, `unknown command "gen-1"`},
		{"show without id", []string{"show"}, "starter show: missing TRACK_ID"},
		{"result with two ids", []string{"result", "a", "b"}, `starter result: one TRACK_ID, not 2 ("a" "b")`},
		{"cancel without id", []string{"cancel"}, "starter cancel: missing TRACK_ID"},
		{"unknown state", []string{"list", "--state", "bogus"}, `--state "bogus": want one of`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runMain(t, nil, tt.args...)
			require.Equal(t, starter.ExitUsage, r.code, "stderr: %s", r.stderr)
			require.Contains(t, r.stderr, tt.want)
			require.Empty(t, r.dialed, "a usage error must not reach Temporal")
		})
	}
}

func TestInspectionCommandsDial(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"list"}, {"show", "gen-1"}, {"result", "gen-1"}, {"cancel", "gen-1"}} {
		t.Run(args[0], func(t *testing.T) {
			t.Parallel()
			r := runMain(t, map[string]string{config.EnvTemporalAddress: "127.0.0.1:1"}, args...)
			require.Equal(t, starter.ExitFailed, r.code, r.stderr)
			require.Contains(t, r.stderr, "cannot reach Temporal at 127.0.0.1:1")
			require.Len(t, r.dialed, 1)
		})
	}
}

func TestListUIURL(t *testing.T) {
	t.Parallel()
	cfg := config.Temporal{UIURL: "http://localhost:8233/", Namespace: "default"}
	require.Equal(t, "http://localhost:8233/namespaces/default/workflows", starter.ListUIURL(cfg, ""))
	u := starter.ListUIURL(cfg, `GenflowState = "failed"`)
	require.True(t, strings.HasPrefix(u, "http://localhost:8233/namespaces/default/workflows?query="), u)
	require.Contains(t, u, "GenflowState%20%3D%20%22failed%22")
}

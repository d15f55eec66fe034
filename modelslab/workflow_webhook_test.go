package modelslab

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseWorkflowWebhook(t *testing.T) {
	t.Parallel()
	golden := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", "replies", name))
		require.NoError(t, err)
		return string(b)
	}
	tests := []struct {
		name     string
		body     string
		want     Result
		workflow string
		wantErr  error
	}{
		{name: "flat shape of the workflows docs", body: golden("webhook_workflow_b.json"), workflow: "uuid",
			want: Result{Status: StatusSuccess, ID: "12345", Stage: "completed",
				Output: []string{"https://pub-...r2.dev/generations/workflow-12345.png"}}},
		{name: "nested shape of the webhooks docs", body: golden("webhook_workflow_a.json"), workflow: "uuid",
			want: Result{Status: StatusSuccess, ID: "12345", Stage: "completed",
				Output: []string{"https://pub-...r2.dev/generations/workflow-12345.png"}}},
		{name: "failure", body: `{"event":"workflow.failed","execution_id":"77","workflow_id":"wf","status":"failed","error":"node 2"}`,
			workflow: "wf", want: Result{Status: StatusFailed, ID: "77", Stage: "failed", Message: "node 2"}},
		{name: "no workflow id", body: `{"event":"workflow.completed","execution_id":9}`,
			want: Result{Status: StatusSuccess, ID: "9", Stage: "completed"}},
		{name: "workflow of the wrong type is no workflow id", body: `{"event":"workflow.completed","execution_id":9,"workflow":"x"}`,
			want: Result{Status: StatusSuccess, ID: "9", Stage: "completed"}},
		{name: "a generation's payload", body: `{"status":"success","id":1,"output":["u"]}`, wantErr: ErrNotWorkflowRun},
		{name: "no execution id", body: `{"event":"workflow.completed","workflow_id":"wf","status":"completed"}`, wantErr: ErrNotWorkflowRun},
		{name: "blank execution id", body: `{"event":"workflow.completed","execution_id":"  "}`, wantErr: ErrNotWorkflowRun},
		{name: "not JSON", body: `event=workflow.completed`, wantErr: ErrNotWebhook},
		{name: "trailing data", body: `{"event":"workflow.completed","execution_id":9} {}`, wantErr: ErrNotWebhook},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, wf, err := ParseWorkflowWebhook([]byte(tt.body))
			if tt.wantErr != nil {
				require.Error(t, err)
				require.True(t, errors.Is(err, tt.wantErr), "%v", err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.workflow, wf)
			require.Equal(t, tt.want, got)
		})
	}
}

func FuzzParseWorkflowWebhook(f *testing.F) {
	f.Add([]byte(`{"event":"workflow.completed","execution_id":9,"workflow_id":"w"}`))
	f.Add([]byte(`{"event":"workflow.completed","workflow":{"id":"w"},"execution":{"id":1}}`))
	f.Add([]byte(`{"status":"success","id":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, _, err := ParseWorkflowWebhook(body)
		if err == nil && r.ID == "" {
			t.Fatalf("no execution id, no error: %s", body)
		}
	})
}

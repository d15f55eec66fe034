package fakemodelslab

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/modelslab"
)

// TestWrongIDFault: the webhooks of a wrong-id request name another
// request (id, model_id, execution_id), while the submit reply and fetch
// name its own.
func TestWrongIDFault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		endpoint string
		params   map[string]any
	}{
		{"images/text2img", text2img()},
		{"lora_fine_tune", map[string]any{"instance_prompt": "photo of sks man", "class_prompt": "photo of a man",
			"images": []any{"https://x/1.png"}, "training_type": "men", "max_train_steps": 200}},
		{"workflows/run", map[string]any{"workflow_id": "wf-1", "prompt": "hello"}},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t, Options{ProcessingTime: 20 * time.Millisecond, Faults: Faults{
				Rules: []Rule{{Fault: FaultWrongID}, {Fault: FaultReorder}},
			}})
			rc := newReceiver(t, nil)
			c := newClient(t, srv, "k")
			ep := endpoint(t, tt.endpoint)
			sub, err := c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: ep, Params: tt.params,
				WebhookURL: rc.URL + "/hook", TrackID: "wrong-1"})
			require.NoError(t, err)
			require.NotEmpty(t, sub.ID)

			terminal := rc.next(t).result(t)
			require.NotEmpty(t, terminal.ID)
			require.False(t, modelslab.SameID(sub.ID, terminal.ID), "webhook id %s, request id %s", terminal.ID, sub.ID)
			require.True(t, terminal.Status.Terminal())
			stale := rc.next(t).result(t)
			require.Equal(t, terminal.ID, stale.ID)

			got := awaitTerminal(t, c, ep, sub.ID, tt.params)
			require.Equal(t, modelslab.StatusSuccess, got.Status)
			require.True(t, modelslab.SameID(sub.ID, got.ID), "fetch answers under the request's own id")
		})
	}
}

func TestWrongID(t *testing.T) {
	t.Parallel()
	require.Equal(t, int64(1_000_000_007), WrongID(int64(7)))
	require.Equal(t, "1000000007", WrongID("7"))
	require.Equal(t, "F5jvdzGnYix", WrongID("F5jvdzGnYi"))
	require.Nil(t, WrongID(nil))
}

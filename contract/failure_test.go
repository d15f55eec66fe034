package contract_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/contract"
)

// A notification still being retried when the worker is upgraded carries
// the plain string of earlier releases in data.error: it still decodes.
func TestNotificationErrorReadsBothShapes(t *testing.T) {
	t.Parallel()
	var d contract.NotificationData
	require.NoError(t, json.Unmarshal([]byte(`{"error":"Processing failed (type: GenerationFailed, retryable: false)"}`), &d))
	require.Equal(t, &contract.Failure{Type: contract.FailureError,
		Message: "Processing failed (type: GenerationFailed, retryable: false)"}, d.Error)
	require.NoError(t, json.Unmarshal([]byte(`{"error":{"type":"GenerationFailed","message":"Processing failed"}}`), &d))
	require.Equal(t, &contract.Failure{Type: contract.ErrTypeGenerationFailed, Message: "Processing failed"}, d.Error)
}

// Durations name their unit: total_seconds and duration_seconds beside
// the nanoseconds of total and duration, which still decode.
func TestDurationsInSeconds(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(contract.GenerationResult{Timings: contract.Timings{Total: 3030 * time.Millisecond}})
	require.NoError(t, err)
	require.Contains(t, string(b), `"total":3030000000,"total_seconds":3.03}`)
	var res contract.GenerationResult
	require.NoError(t, json.Unmarshal(b, &res))
	require.Equal(t, 3030*time.Millisecond, res.Timings.Total)

	b, err = json.Marshal(contract.BatchResult{BatchID: "b", Duration: 90 * time.Second})
	require.NoError(t, err)
	require.Contains(t, string(b), `"duration":90000000000`)
	require.Contains(t, string(b), `"duration_seconds":90`)
	var br contract.BatchResult
	require.NoError(t, json.Unmarshal(b, &br))
	require.Equal(t, contract.BatchResult{BatchID: "b", Duration: 90 * time.Second}, br)
}

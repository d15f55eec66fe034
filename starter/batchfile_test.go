package starter_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/starter"
)

func TestParseBatchFilePriorities(t *testing.T) {
	t.Parallel()
	items, err := starter.ParseBatchFile("items.jsonl", strings.NewReader(`# interactive-ish items first
{"endpoint":"text2img","params":{"model_id":"flux","prompt":"a"},"priority":9}
{"endpoint":"text2img","params":{"model_id":"flux","prompt":"b"}}
{"endpoint":"text2img","params":{"model_id":"flux","prompt":"c"},"priority":1}
`), starter.BatchDefaults{})
	require.NoError(t, err)
	require.Len(t, items, 3)
	require.Equal(t, 9, items[0].Priority)
	require.Equal(t, 0, items[1].Priority, "no priority: the batch's")
	require.Equal(t, 1, items[2].Priority)
}

func TestParseBatchFileBadPrioritiesByLine(t *testing.T) {
	t.Parallel()
	_, err := starter.ParseBatchFile("items.jsonl", strings.NewReader(`{"endpoint":"text2img","params":{"model_id":"flux","prompt":"a"},"priority":10}

{"endpoint":"text2img","params":{"model_id":"flux","prompt":"b"},"priority":0}
{"endpoint":"text2img","params":{"model_id":"flux","prompt":"c"},"priority":"high"}
{"endpoint":"text2img","params":{"model_id":"flux","prompt":"d"},"priority":2.5}
{"endpoint":"text2img","params":{"model_id":"flux","prompt":"e"},"priority":3}
`), starter.BatchDefaults{})
	require.EqualError(t, err, strings.Join([]string{
		`items.jsonl:1: priority 10: want an integer from 1 (lowest, the batch's default) to 9 (highest)`,
		`items.jsonl:3: priority 0: want an integer from 1 (lowest, the batch's default) to 9 (highest)`,
		`items.jsonl:4: priority "high": want an integer from 1 (lowest, the batch's default) to 9 (highest)`,
		`items.jsonl:5: priority 2.5: want an integer from 1 (lowest, the batch's default) to 9 (highest)`,
	}, "\n"))
}

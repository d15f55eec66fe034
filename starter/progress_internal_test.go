package starter

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/contract"
)

// Issue 16, item 9: not on a terminal, the last progress line is printed
// once, even when the last query and the result disagree on the rate.
func TestBatchProgressLastLineOnce(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p := newBatchProgress(&buf, 20, false, false)
	p.update(contract.BatchState{Total: 20, Succeeded: 3, Running: 5, ItemsPerSecond: 1})
	p.update(contract.BatchState{Total: 20, Succeeded: 18, Failed: 2, ItemsPerSecond: 2.2})
	p.update(finalBatchState(contract.BatchResult{Total: 20, Succeeded: 18, Failed: 2, Duration: 10 * time.Second}))
	p.finish()
	out := buf.String()
	require.Equal(t, 1, strings.Count(out, "20/20"), out)
	require.Equal(t, 2, strings.Count(out, "\n"), out)
}

// A batch that stops early (cancelled, fail-fast) ends with its last
// counts: not on a terminal, its last state is printed at the end, and on
// one the bar is not filled to the total.
func TestBatchProgressEndsWithTheLastCounts(t *testing.T) {
	t.Parallel()
	stopped := contract.BatchState{Total: 20, Succeeded: 5, Canceled: 3, Pending: 12, State: contract.BatchCanceled}

	var buf bytes.Buffer
	p := newBatchProgress(&buf, 20, false, false)
	p.update(contract.BatchState{Total: 20, Succeeded: 1, Running: 4})
	p.update(stopped) // within 5 s of the first: not printed yet
	p.finish()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2, buf.String())
	require.Contains(t, lines[1], "8/20  ok 5  failed 0  canceled 3  running 0")

	buf.Reset()
	p = newBatchProgress(&buf, 20, true, false)
	p.update(contract.BatchState{Total: 20, Succeeded: 1, Running: 4})
	p.update(stopped)
	p.finish()
	out := buf.String()
	last := out[strings.LastIndex(out, "\r")+1:]
	require.Contains(t, last, "ok 5  failed 0  canceled 3  running 0", "%q", out)
	require.Regexp(t, regexp.MustCompile(`\(8/20\b`), last)
	require.NotContains(t, out, "20/20", "the bar is not filled to the total")
}

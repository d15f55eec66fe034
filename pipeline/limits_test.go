package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// aliasBomb is a pipeline whose params hold levels lists of nine aliases
// of the list before: each level multiplies the values by nine.
func aliasBomb(levels int) []byte {
	var b strings.Builder
	b.WriteString("steps:\n  a:\n    endpoint: images/text2img\n    params:\n      model_id: m\n      prompt: p\n")
	b.WriteString("      x0: &a0 [x,x,x,x,x,x,x,x,x]\n")
	for i := 1; i <= levels; i++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d,", i-1), 9), ",")
		fmt.Fprintf(&b, "      x%d: &a%d [%s]\n", i, i, refs)
	}
	return []byte(b.String())
}

func TestParseRefusesAliasBombs(t *testing.T) {
	t.Parallel()
	for _, levels := range []int{5, 8} {
		t.Run(fmt.Sprint(levels, " levels"), func(t *testing.T) {
			t.Parallel()
			src := aliasBomb(levels)
			require.Less(t, len(src), 600, "a few hundred bytes")
			_, err := Parse("bomb.yaml", src)
			var list ErrorList
			require.ErrorAs(t, err, &list)
			require.Len(t, list, 1, "one problem, and nothing checked after the expansion stopped: %v", err)
			require.Equal(t, "steps.a.params", list[0].Field[:len("steps.a.params")])
			require.Contains(t, list[0].Msg, fmt.Sprintf("more than %d values, counting again what each YAML alias repeats", MaxValues))
			require.Positive(t, list[0].Line, "the problem names the alias's line")
			require.Contains(t, string(src[lineOffset(src, list[0].Line):]), "*a", "the line holds an alias")
		})
	}
}

func TestParseRefusesAnAliasRepeatingALongValue(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("p", 100_000)
	src := "steps:\n  a:\n    endpoint: images/text2img\n    params:\n      model_id: m\n      prompt: &p " + long +
		"\n      more: [" + strings.TrimSuffix(strings.Repeat("*p,", 20), ",") + "]\n"
	require.Less(t, len(src), MaxFileBytes)
	_, err := Parse("long.yaml", []byte(src))
	require.ErrorContains(t, err, "long.yaml:7:41: steps.a.params.more[9]: ")
	require.ErrorContains(t, err, "come to more than 1 MiB, counting again what each YAML alias repeats")
}

func TestParseRefusesTooManyValues(t *testing.T) {
	t.Parallel()
	src := "steps:\n  a:\n    endpoint: images/text2img\n    params:\n      model_id: m\n      prompt: p\n      x: [" +
		strings.TrimSuffix(strings.Repeat("1,", MaxValues), ",") + "]\n"
	_, err := Parse("many.yaml", []byte(src))
	require.ErrorContains(t, err, fmt.Sprintf("the parameters and defaults come to more than %d values; a pipeline file holds at most", MaxValues))
	require.NotContains(t, err.Error(), "alias", "no alias to blame")
}

func TestParseAcceptsModestAliases(t *testing.T) {
	t.Parallel()
	p, err := Parse("ok.yaml", aliasBomb(3)) // 9^4 = 6561 scalars
	require.NoError(t, err)
	require.Len(t, p.Step("a").Params()["x3"], 9)
}

func TestParseRefusesFilesOverOneMiB(t *testing.T) {
	t.Parallel()
	big := append([]byte("# "), make([]byte, MaxFileBytes)...)
	for i := 2; i < len(big); i++ {
		big[i] = 'x'
	}
	_, err := Parse("big.yaml", big)
	require.EqualError(t, err, "big.yaml: the file is over 1048576 bytes (1 MiB), the most a pipeline file may be")

	path := filepath.Join(t.TempDir(), "big.yaml")
	require.NoError(t, os.WriteFile(path, big, 0o600))
	_, err = ParseFile(path)
	require.EqualError(t, err, path+": the file is over 1048576 bytes (1 MiB), the most a pipeline file may be")

	_, err = ParseFile("/dev/zero")
	require.EqualError(t, err, "/dev/zero: the file is over 1048576 bytes (1 MiB), the most a pipeline file may be", "read no further than the cap")
}

// lineOffset returns the byte offset of 1-based line n in src.
func lineOffset(src []byte, n int) int {
	off := 0
	for i := 1; i < n; i++ {
		j := strings.IndexByte(string(src[off:]), '\n')
		if j < 0 {
			return len(src)
		}
		off += j + 1
	}
	return off
}

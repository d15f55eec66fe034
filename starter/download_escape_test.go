package starter

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/storage"
)

// TestDownloadStoredNeverWritesOutsideDir: whatever folder (a pipeline
// step's name, a batch item's track_id) or file name a run's result
// holds, result --download writes under DIR only. The track_id rule
// refuses "..", but a result read from Temporal may come from an older
// release, or from anyone who can write to the namespace.
func TestDownloadStoredNeverWritesOutsideDir(t *testing.T) {
	t.Parallel()
	store, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	good := stored(t, store, "p_ok/0-x.png", "png")
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	elsewhere := filepath.Join(parent, "elsewhere")
	require.NoError(t, os.Mkdir(elsewhere, 0o755))
	// A link planted in DIR that points out of it.
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.Symlink(elsewhere, filepath.Join(dir, "link")))

	dotdot := good
	dotdot.Location = strings.TrimSuffix(good.Location, "/0-x.png") + "/.."
	steps := []contract.StepState{{Name: "ok", Stored: []contract.StoredOutput{good}}}
	evil := []string{"..", "../elsewhere", "ok/../../elsewhere", "/abs", ".", "link"}
	for _, name := range evil {
		steps = append(steps, contract.StepState{Name: name, Stored: []contract.StoredOutput{good}})
	}
	steps = append(steps, contract.StepState{Name: "", Stored: []contract.StoredOutput{dotdot}},
		contract.StepState{Name: "dots", Stored: []contract.StoredOutput{dotdot}})
	d := RunDetails{RunInfo: RunInfo{TrackID: "p", Type: contract.PipelineWorkflow},
		Result: &contract.PipelineResult{PipelineState: contract.PipelineState{Steps: steps}}}

	var progress bytes.Buffer
	list, err := downloadStored(context.Background(), nil, d, dir, storage.S3Options{}, &progress)
	require.EqualError(t, err, "8 of 9 output(s) not downloaded", progress.String())
	require.Empty(t, list[0].Error)
	require.Equal(t, filepath.Join(dir, "ok", "0-x.png"), list[0].Path)
	for _, dl := range list[1:] {
		require.NotEmpty(t, dl.Error, "step %q", dl.Step)
		require.Empty(t, dl.Path, "step %q", dl.Step)
	}
	require.Contains(t, list[1].Error, `refused: the folder ".." would lead outside the download folder`)
	require.Contains(t, list[len(list)-1].Error, `refused: the stored copy's file name ".." is not one plain file name`)

	// Nothing outside DIR: not a file, not a .part, not a folder.
	entries, err := os.ReadDir(parent)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.ElementsMatch(t, []string{"out", "elsewhere"}, names)
	left, err := os.ReadDir(elsewhere)
	require.NoError(t, err)
	require.Empty(t, left, "nothing written through the link")
	require.NoError(t, filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		require.NoError(t, err)
		if !e.IsDir() && e.Type()&fs.ModeSymlink == 0 {
			require.Equal(t, filepath.Join(dir, "ok", "0-x.png"), path, "the one file written")
		}
		return nil
	}))
}

func TestLocalPath(t *testing.T) {
	t.Parallel()
	ok := map[[2]string]string{
		{"", "s3://b/t/0-a.png"}:          "0-a.png",
		{"step", "s3://b/t/0-a.png"}:      filepath.Join("step", "0-a.png"),
		{"item-..x", "s3://b/t/0-a.png"}:  filepath.Join("item-..x", "0-a.png"),
		{"...", "s3://b/t/0-a%2Fb"}:       filepath.Join("...", "0-a%2Fb"),
		{"a", "s3://b/t/%2e%2e"}:          filepath.Join("a", "%2e%2e"),
		{"", "file:///x/t/0-a%2520b.png"}: "0-a b.png",
	}
	for in, want := range ok {
		got, err := localPath(in[0], in[1])
		require.NoError(t, err, "%q", in)
		require.Equal(t, want, got, "%q", in)
	}
	for _, in := range [][2]string{
		{"..", "s3://b/t/0-a.png"},
		{"../x", "s3://b/t/0-a.png"},
		{"a/../..", "s3://b/t/0-a.png"},
		{"/etc", "s3://b/t/0-a.png"},
		{".", "s3://b/t/0-a.png"},
		{"", "s3://b/t/.."},
		{"a", "s3://b/t/.."},
	} {
		_, err := localPath(in[0], in[1])
		require.ErrorContains(t, err, "refused", "%q", in)
	}
}

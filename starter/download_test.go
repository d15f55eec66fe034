package starter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/storage"
)

// stored puts data in a local store under key, as the worker does, and
// returns its StoredOutput.
func stored(t *testing.T, b *storage.Local, key, data string) contract.StoredOutput {
	t.Helper()
	s := sha256.Sum256([]byte(data))
	obj, err := b.Put(context.Background(), strings.NewReader(data), storage.Object{
		Key: key, Size: int64(len(data)), SHA256: hex.EncodeToString(s[:]), ContentType: "image/png",
	})
	require.NoError(t, err)
	return contract.StoredOutput{Output: "https://cdn.example/" + key, Location: obj.Location, Size: obj.Size,
		SHA256: obj.SHA256, ContentType: obj.ContentType}
}

func TestDownloadStoredGeneration(t *testing.T) {
	store, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	a := stored(t, store, "gen-1/0-a.png", "first image")
	b := stored(t, store, "gen-1/1-b%20c.png", "second image")
	d := RunDetails{RunInfo: RunInfo{TrackID: "gen-1", Type: contract.GenerationWorkflow},
		Result: &contract.GenerationResult{Stored: []contract.StoredOutput{a, b}}}
	dir := t.TempDir()
	var progress bytes.Buffer

	list, err := downloadStored(context.Background(), nil, d, dir, storage.S3Options{}, &progress)
	require.NoError(t, err)
	require.Len(t, list, 2)
	got, err := os.ReadFile(filepath.Join(dir, "0-a.png"))
	require.NoError(t, err)
	require.Equal(t, "first image", string(got))
	got, err = os.ReadFile(filepath.Join(dir, "1-b c.png"))
	require.NoError(t, err, "escaped names come back unescaped")
	require.Equal(t, "second image", string(got))
	require.Contains(t, progress.String(), "downloaded: "+filepath.Join(dir, "0-a.png")+" (11 B, SHA-256 checked)")

	// Again: nothing fetched twice.
	list, err = downloadStored(context.Background(), nil, d, dir, storage.S3Options{}, &progress)
	require.NoError(t, err)
	require.True(t, list[0].Skipped && list[1].Skipped)

	// A copy whose bytes no longer match its checksum is refused.
	bad := a
	bad.SHA256 = strings.Repeat("0", 64)
	d.Result = &contract.GenerationResult{Stored: []contract.StoredOutput{bad, {Output: "https://cdn.example/x", Error: "over the size limit"}}}
	list, err = downloadStored(context.Background(), nil, d, t.TempDir(), storage.S3Options{}, &progress)
	require.EqualError(t, err, "2 of 2 output(s) not downloaded")
	require.Contains(t, list[0].Error, "SHA-256")
	require.Empty(t, list[0].Path)
	require.Contains(t, progress.String(), "not stored: https://cdn.example/x: over the size limit")
}

func TestDownloadStoredPipelinePutsStepsInFolders(t *testing.T) {
	store, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	res := contract.PipelineResult{PipelineState: contract.PipelineState{Steps: []contract.StepState{
		{Name: "portrait", State: contract.StepSucceeded, Stored: []contract.StoredOutput{stored(t, store, "p_portrait/0-x.png", "png")}},
		{Name: "animate", State: contract.StepSucceeded, Stored: []contract.StoredOutput{stored(t, store, "p_animate/0-x.mp4", "mp4")}},
	}}}
	d := RunDetails{RunInfo: RunInfo{TrackID: "p", Type: contract.PipelineWorkflow}, Result: &res}
	dir := t.TempDir()
	_, err = downloadStored(context.Background(), nil, d, dir, storage.S3Options{}, &bytes.Buffer{})
	require.NoError(t, err)
	for path, want := range map[string]string{"portrait/0-x.png": "png", "animate/0-x.mp4": "mp4"} {
		got, err := os.ReadFile(filepath.Join(dir, path))
		require.NoError(t, err)
		require.Equal(t, want, string(got))
	}
}

func TestDownloadStoredExplainsWhatHasNone(t *testing.T) {
	for _, tc := range []struct {
		d    RunDetails
		want string
	}{
		{RunDetails{RunInfo: RunInfo{TrackID: "g", Type: contract.GenerationWorkflow}, Result: &contract.GenerationResult{}}, "g stored no outputs: start it with --store (or STORE_OUTPUTS=true) on a worker with STORE_URL"},
		{RunDetails{RunInfo: RunInfo{TrackID: "w", Type: "BatchPage"}, Result: &json.RawMessage{}}, "w is a BatchPage: only generations, batches and pipelines have stored outputs"},
	} {
		_, err := downloadStored(context.Background(), nil, tc.d, t.TempDir(), storage.S3Options{}, &bytes.Buffer{})
		require.ErrorContains(t, err, tc.want)
	}
}

func TestLocalName(t *testing.T) {
	require.Equal(t, "0-a.png", localName("s3://b/p/t/0-a.png"))
	require.Equal(t, "0-a b.png", localName("s3://b/t/0-a%20b.png"))
	require.Equal(t, "0-a b.png", localName("file:///x/t/0-a%2520b.png"), "file locations escape the key once more")
	require.Equal(t, "0-a%2Fb", localName("s3://b/t/0-a%2Fb"), "an escaped slash stays escaped")
}

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/internal/s3test"
	"github.com/genflow/genflow/starter"
	"github.com/genflow/genflow/storage"
)

// A generation with both --store and --notify: the outputs are copied to
// S3 (the bucket created by the worker), the result and the signed
// notification carry the copies, and `starter result --download` brings
// back the same bytes the provider served, checked by SHA-256.
func TestStoredOutputsAndNotificationEndToEnd(t *testing.T) {
	// gofakes3 on loopback stands in for MinIO or AWS, or the real server
	// scripts/s3-check.sh names; the worker reaches it over HTTP.
	s3 := s3test.RealOrFake(t)
	bucket := "genflow-e2e-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	s := startStack(t, fakemodelslab.Options{ProcessingTime: 300 * time.Millisecond}, func(w *config.Worker) {
		w.Store = config.Store{URL: "s3://" + bucket + "/e2e", MaxBytes: 1 << 20,
			S3: config.S3{Endpoint: s3.Endpoint, Region: s3.Region, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey}}
	})
	s.starterEnv = map[string]string{
		config.EnvStoreOutputs:    "true", // the default --store
		config.EnvStoreS3Endpoint: s3.Endpoint, config.EnvStoreS3AccessKey: s3.AccessKey, config.EnvStoreS3SecretKey: s3.SecretKey,
	}
	receiver, received := notifyReceiver(t, 0)

	code, out := s.runStarter(t, "generate", "text2img", "--model", "flux", "--prompt", "keep these", "-p", "samples=2",
		"--track-id", "store-1", "--notify", receiver, "--wait", "--json")
	require.Equal(t, starter.ExitOK, code, "%+v", out)
	require.Len(t, out.Result.Output, 2)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := starter.Wait(ctx, s.client, "store-1", "", time.Second, nil)
	require.NoError(t, err)
	require.Len(t, res.Stored, 2)
	for i, st := range res.Stored {
		provided := fetch(t, res.Output[i])
		require.Equal(t, res.Output[i], st.Output)
		require.Empty(t, st.Error)
		require.Equal(t, "s3://"+bucket+"/e2e/"+storage.Key("store-1", i, res.Output[i]), st.Location)
		require.Equal(t, int64(len(provided)), st.Size)
		require.Equal(t, sha(provided), st.SHA256)
		require.Equal(t, "image/png", st.ContentType)
	}

	// The notification is signed, and carries the stored copies.
	notes := received()
	require.Len(t, notes, 1)
	wh, err := standardwebhooks.NewWebhook(s.notifySecret.String())
	require.NoError(t, err)
	require.NoError(t, wh.Verify(notes[0].body, notes[0].header))
	var n contract.Notification
	require.NoError(t, json.Unmarshal(notes[0].body, &n))
	require.Equal(t, contract.NotifyGenerationSucceeded, n.Type)
	require.Equal(t, res.Stored, n.Data.Result.Stored)

	// Download the copies; a second download fetches nothing.
	dir := t.TempDir()
	for pass := range 2 {
		var stdout, stderr bytes.Buffer
		code := starter.Main(ctx, []string{"result", "store-1", "--download", dir, "--json"}, starter.Env{
			Stdout: &stdout, Stderr: &stderr, Lookup: s.lookup,
		})
		require.Equal(t, starter.ExitOK, code, "stdout %s\nstderr %s", stdout.String(), stderr.String())
		var doc struct{ Downloads []starter.Download }
		require.NoError(t, json.Unmarshal(stdout.Bytes(), &doc))
		require.Len(t, doc.Downloads, 2)
		for i, d := range doc.Downloads {
			require.Equal(t, pass == 1, d.Skipped)
			got, err := os.ReadFile(d.Path)
			require.NoError(t, err)
			require.Equal(t, sha(fetch(t, res.Output[i])), sha(got))
			require.Equal(t, dir, filepath.Dir(d.Path))
		}
	}
}

// A worker without STORE_URL still completes a generation that asks to
// store: the result says why nothing was stored.
func TestStoreWithoutStorageEndToEnd(t *testing.T) {
	s := startStack(t, fakemodelslab.Options{ProcessingTime: 100 * time.Millisecond})
	code, out := s.runStarter(t, "generate", "text2img", "--model", "flux", "--prompt", "nowhere to keep",
		"--track-id", "store-none", "--store", "--wait", "--json")
	require.Equal(t, starter.ExitOK, code, "%+v", out)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := starter.Wait(ctx, s.client, "store-none", "", time.Second, nil)
	require.NoError(t, err)
	require.Len(t, res.Stored, 1)
	require.Contains(t, res.Stored[0].Error, "no output storage (STORE_URL)")
}

func fetch(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Outputs whose download breaks half-way, or whose output links have
// expired, are still stored: the copy resumes with a Range request, or
// comes from the proxy link. This worker stores in a local directory,
// the local stack's default.
func TestStoreSurvivesBrokenAndExpiredLinksEndToEnd(t *testing.T) {
	dir := t.TempDir()
	s := startStack(t, fakemodelslab.Options{ProcessingTime: 100 * time.Millisecond, Faults: fakemodelslab.Faults{Rules: []fakemodelslab.Rule{
		{Match: "store-cut", Fault: fakemodelslab.FaultCutFiles}, {Match: "store-old", Fault: fakemodelslab.FaultExpire},
		{Match: "store-pipe_animate", Fault: fakemodelslab.FaultFail},
	}}}, func(w *config.Worker) { w.Store = config.Store{URL: "file://" + dir, MaxBytes: 1 << 20} })

	for _, track := range []string{"store-cut", "store-old"} {
		code, out := s.runStarter(t, "generate", "text2img", "--model", "flux", "--prompt", track, "-p", "samples=2",
			"--track-id", track, "--store", "--wait", "--json")
		require.Equal(t, starter.ExitOK, code, "%+v", out)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err := starter.Wait(ctx, s.client, track, "", time.Second, nil)
		cancel()
		require.NoError(t, err)
		require.Len(t, res.Stored, 2)
		for i, st := range res.Stored {
			require.Empty(t, st.Error, track)
			require.Equal(t, "file://"+filepath.Join(dir, storage.Key(track, i, res.Output[i])), st.Location)
			got, err := os.ReadFile(filepath.Join(dir, storage.Key(track, i, res.Output[i])))
			require.NoError(t, err)
			require.Equal(t, st.SHA256, sha(got))
			// The proxy link (/cdn/) serves the same file whole, whatever
			// the fault; the webhook carried no proxy links.
			whole := fetch(t, strings.Replace(res.Output[i], "/files/", "/cdn/", 1))
			require.Equal(t, sha(whole), st.SHA256, "%s output %d: the stored bytes are the provider's", track, i)
		}
	}
	resp, err := http.Get(mustResult(t, s, "store-old").Output[0])
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "the output link had expired: the copy came from the proxy link")

	// A batch with --store: every item stores, and the results file lists
	// each item's copies.
	prompts := filepath.Join(t.TempDir(), "prompts.txt")
	require.NoError(t, os.WriteFile(prompts, []byte("a fox\na hare\na lynx\n"), 0o600))
	results := filepath.Join(t.TempDir(), "results.jsonl")
	code, _ := s.runStarter(t, "batch", prompts, "--endpoint", "text2img", "--model", "flux", "--id", "store-batch",
		"--store", "--wait", "--json", "--results", results)
	require.Equal(t, starter.ExitOK, code)
	lines, err := os.ReadFile(results)
	require.NoError(t, err)
	items := strings.Split(strings.TrimSpace(string(lines)), "\n")
	require.Len(t, items, 3)
	for _, line := range items {
		var item starter.ItemResult
		require.NoError(t, json.Unmarshal([]byte(line), &item))
		require.Equal(t, "succeeded", item.Status)
		require.Len(t, item.Stored, 1, line)
		require.FileExists(t, filepath.Join(dir, storage.Key(item.TrackID, 0, item.Output[0])))
	}

	// result --download of the batch: each item's copies in a folder of
	// its own.
	into := t.TempDir()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code = starter.Main(ctx, []string{"result", "store-batch", "--download", into}, starter.Env{
		Stdout: &stdout, Stderr: &stderr, Lookup: s.lookup,
	})
	require.Equal(t, starter.ExitOK, code, "stdout %s\nstderr %s", stdout.String(), stderr.String())
	for _, line := range items {
		var item starter.ItemResult
		require.NoError(t, json.Unmarshal([]byte(line), &item))
		got, err := os.ReadFile(filepath.Join(into, item.TrackID, "0-"+path.Base(item.Output[0])))
		require.NoError(t, err)
		require.Equal(t, item.Stored[0].SHA256, sha(got))
	}

	// A pipeline whose second step fails: it fails (exit 1), and
	// result --download still fetches what its first step stored.
	code, _ = s.runStarter(t, "pipeline", "run", "../examples/portrait_to_video.yaml", "--id", "store-pipe", "--store",
		"--wait", "--json")
	require.Equal(t, starter.ExitFailed, code)
	into = t.TempDir()
	stdout.Reset()
	stderr.Reset()
	code = starter.Main(ctx, []string{"result", "store-pipe", "--download", into}, starter.Env{
		Stdout: &stdout, Stderr: &stderr, Lookup: s.lookup,
	})
	require.Equal(t, starter.ExitFailed, code, "the pipeline failed")
	require.Contains(t, stdout.String(), "downloaded: "+filepath.Join(into, "portrait"), "stdout %s\nstderr %s", stdout.String(), stderr.String())
	entries, err := os.ReadDir(filepath.Join(into, "portrait"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
}

func mustResult(t *testing.T, s *stack, track string) contract.GenerationResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := starter.Wait(ctx, s.client, track, "", time.Second, nil)
	require.NoError(t, err)
	return res
}

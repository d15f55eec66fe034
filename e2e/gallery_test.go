package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/starter"
)

// galleryData reads the JSON data of a gallery page.
func galleryData(t *testing.T, page []byte) starter.Gallery {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="gallery-data">(.*?)</script>`).FindSubmatch(page)
	require.NotNil(t, m, "the page holds its data")
	var g starter.Gallery
	require.NoError(t, json.Unmarshal(m[1], &g))
	return g
}

// A batch (a failed item, a late webhook, a hostile prompt, stored
// outputs) and a pipeline (four images, then a 3D model of each) on the
// real stack: `starter gallery` shows each generation with what it was
// asked and how it went, links the stored copies beside the page, and
// serves the page and the copies with --serve.
//
// With GALLERY_E2E_OUT set, the pages and the store are kept there, for
// scripts/gallery-check.sh to open in Chromium (GALLERY_CHECK_E2E=1).
func TestGalleryEndToEnd(t *testing.T) {
	keep := os.Getenv("GALLERY_E2E_OUT")
	store := t.TempDir()
	if keep != "" {
		store = filepath.Join(keep, "store")
		require.NoError(t, os.MkdirAll(store, 0o755))
	}
	s := startStack(t, fakemodelslab.Options{ProcessingTime: 200 * time.Millisecond, QueueLimit: 15,
		Faults: fakemodelslab.Faults{Rules: []fakemodelslab.Rule{
			{Match: "gal-batch-00002", Fault: fakemodelslab.FaultFail},
			{Match: "gal-batch-00003", Fault: fakemodelslab.FaultDrop},
			{Match: "gal-live", Fault: fakemodelslab.FaultDrop},
		}}}, func(w *config.Worker) { w.Store = config.Store{URL: "file://" + store, MaxBytes: 1 << 20} })

	dir := t.TempDir()
	prompts := filepath.Join(dir, "prompts.txt")
	hostile := `<script>window.__pwned=1</script> a fox "><img src=x onerror=alert(1)>`
	require.NoError(t, os.WriteFile(prompts, []byte("a lighthouse at dusk\n"+hostile+"\na harbour at dawn\na misty forest\n"), 0o600))
	code, _ := s.runStarter(t, "batch", prompts, "--endpoint", "text2img", "--model", "flux", "-p", "width=512",
		"--id", "gal-batch", "--store", "--poll-grace", "1s", "--wait", "--json", "--results", filepath.Join(dir, "results.jsonl"))
	require.Equal(t, starter.ExitFailed, code, "one item fails")

	pcode, stdout, stderr := s.runPipelineStarter(t, "run", filepath.Join("..", "examples", "four_views_to_3d.yaml"),
		"--id", "gal-pipe", "--input", "object=a brass pocket watch", "--store", "--wait", "--json")
	require.Equal(t, starter.ExitOK, pcode, "stdout: %s\nstderr: %s", stdout, stderr)

	gallery := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		code := starter.Main(ctx, append([]string{"gallery"}, args...), starter.Env{Stdout: &out, Stderr: &errOut, Lookup: s.lookup})
		return code, out.String(), errOut.String()
	}

	// The batch.
	pages := filepath.Join(dir, "pages")
	if keep != "" {
		pages = filepath.Join(keep, "pages")
	}
	require.NoError(t, os.MkdirAll(pages, 0o755))
	batchHTML := filepath.Join(pages, "batch.html")
	code, out, errOut := gallery("gal-batch", "--out", batchHTML)
	require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", out, errOut)
	require.Contains(t, out, "wrote "+batchHTML)
	require.Contains(t, out, "4 generations, 3 succeeded, 1 failed, 0 running")
	page, err := os.ReadFile(batchHTML)
	require.NoError(t, err)
	require.NotContains(t, string(page), "<script>window.__pwned", "the hostile prompt is never markup")
	require.Equal(t, 2, strings.Count(string(page), "<script"))
	g := galleryData(t, page)
	require.Equal(t, starter.GalleryBatch, g.Kind)
	require.Equal(t, "gal-batch", g.ID)
	require.Equal(t, starter.StatusCompleted, g.Status)
	require.NotNil(t, g.Progress)
	require.Equal(t, starter.GalleryProgress{Total: 4, Succeeded: 3, Failed: 1, PerSecond: g.Progress.PerSecond}, *g.Progress)
	require.Len(t, g.Items, 4)
	for i, it := range g.Items {
		require.Equal(t, i, it.Index)
		require.Equal(t, contract.ItemTrackID("gal-batch", i), it.TrackID)
		require.Equal(t, "images/text2img", it.Endpoint)
		require.Equal(t, "flux", it.Model)
		require.JSONEq(t, `{"width":512}`, it.Params)
		require.Contains(t, it.UIURL, "/workflows/"+it.TrackID)
		require.False(t, it.StartedAt.IsZero())
		if i == 2 {
			require.Equal(t, starter.StatusFailed, it.Status)
			require.Contains(t, it.Error, contract.ErrTypeGenerationFailed)
			require.Empty(t, it.Outputs)
			continue
		}
		require.Equal(t, "succeeded", it.Status, it.TrackID)
		want := "webhook"
		if i == 3 {
			want = "poll" // its webhook was dropped
		}
		require.Equal(t, want, it.LearnedBy, it.TrackID)
		require.Positive(t, it.Seconds)
		require.Len(t, it.Outputs, 1)
		o := it.Outputs[0]
		require.Equal(t, starter.OutputImage, o.Kind)
		require.True(t, o.Stored, "%+v", o)
		require.Positive(t, o.Size)
		// The stored copy is linked relative to the page, and is there.
		rel, err := url.PathUnescape(o.Src)
		require.NoError(t, err)
		_, err = os.Stat(filepath.Join(pages, filepath.FromSlash(rel)))
		require.NoError(t, err, "%s", o.Src)
		require.True(t, strings.HasPrefix(o.Link, "http://127.0.0.1:"), o.Link)
	}
	require.Equal(t, hostile, g.Items[1].Prompt)

	// The pipeline: its steps in order, four images, four 3D models.
	pipeHTML := filepath.Join(pages, "pipe.html")
	code, out, errOut = gallery("gal-pipe", "--out", pipeHTML)
	require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", out, errOut)
	page, err = os.ReadFile(pipeHTML)
	require.NoError(t, err)
	g = galleryData(t, page)
	require.Equal(t, starter.GalleryPipeline, g.Kind)
	require.Equal(t, "succeeded", g.State)
	require.Len(t, g.Steps, 2)
	require.Equal(t, "views", g.Steps[0].Name)
	require.Equal(t, "model", g.Steps[1].Name)
	require.Len(t, g.Steps[0].Items, 1)
	views := g.Steps[0].Items[0]
	require.Equal(t, "gal-pipe_views", views.TrackID)
	require.Contains(t, views.Prompt, "a brass pocket watch")
	require.Len(t, views.Outputs, 4)
	for _, o := range views.Outputs {
		require.Equal(t, starter.OutputImage, o.Kind)
		require.True(t, o.Stored)
	}
	require.True(t, g.Steps[1].Mapped)
	require.Len(t, g.Steps[1].Items, 4)
	for i, it := range g.Steps[1].Items {
		require.Equal(t, i, it.Index)
		require.Equal(t, contract.PipelineStepTrackID("gal-pipe", "model", i), it.TrackID)
		require.Equal(t, "succeeded", it.Status)
		require.Equal(t, "3d/image_to_3d", it.Endpoint)
		require.Contains(t, it.Params, views.Outputs[i].Link, "the resolved parameters: the view it modelled")
		require.Len(t, it.Outputs, 1)
		require.Equal(t, starter.OutputModel, it.Outputs[0].Kind, "%+v", it.Outputs[0])
		require.Positive(t, it.Outputs[0].Size)
	}

	// One generation: the batch's first item.
	code, out, errOut = gallery("gal-batch-00000", "--out", filepath.Join(pages, "generation.html"))
	require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", out, errOut)
	page, err = os.ReadFile(filepath.Join(pages, "generation.html"))
	require.NoError(t, err)
	g = galleryData(t, page)
	require.Equal(t, starter.GalleryGeneration, g.Kind)
	require.Len(t, g.Items, 1)
	require.Equal(t, "a lighthouse at dusk", g.Items[0].Prompt)
	require.Equal(t, "succeeded", g.Items[0].Status)
	require.Len(t, g.Items[0].Outputs, 1)

	// --serve: the page and the stored copies, on loopback, until the
	// context ends.
	base, stop := serveGallery(t, s, "gal-batch")
	body := httpGet(t, base, "text/html; charset=utf-8")
	served := galleryData(t, body)
	require.Zero(t, served.Refresh, "a completed batch's page does not reload itself")
	src := served.Items[0].Outputs[0].Src
	require.True(t, strings.HasPrefix(src, "stored/"), src)
	img := httpGet(t, base+src, "image/png")
	require.Equal(t, served.Items[0].Outputs[0].Size, int64(len(img)))
	require.Equal(t, starter.ExitOK, stop())

	// A running batch: its progress, a running item's phase, the
	// pending ones; with --serve the page reloads itself.
	live := filepath.Join(dir, "live.txt")
	require.NoError(t, os.WriteFile(live, []byte("one\ntwo\nthree\n"), 0o600))
	code, _ = s.runStarter(t, "batch", live, "--endpoint", "text2img", "--model", "flux", "--id", "gal-live",
		"--concurrency", "1", "--poll-grace", "10m", "--json")
	require.Equal(t, starter.ExitOK, code)
	eventually(t, "the live batch's first item waiting for its webhook", func() bool {
		st, err := starter.QueryState(context.Background(), s.client, "gal-live-00000", "")
		return err == nil && st.Phase == contract.PhaseWaitingWebhook
	})
	code, out, errOut = gallery("gal-live", "--out", filepath.Join(pages, "live.html"))
	require.Equal(t, starter.ExitOK, code, "stdout: %s\nstderr: %s", out, errOut)
	page, err = os.ReadFile(filepath.Join(pages, "live.html"))
	require.NoError(t, err)
	g = galleryData(t, page)
	require.Equal(t, starter.StatusRunning, g.Status)
	require.Equal(t, starter.GalleryProgress{Total: 3, Running: 1, Pending: 2}, *g.Progress)
	require.Equal(t, []string{"running", "pending", "pending"}, []string{g.Items[0].Status, g.Items[1].Status, g.Items[2].Status})
	require.Equal(t, string(contract.PhaseWaitingWebhook), g.Items[0].Phase)
	require.Zero(t, g.Refresh, "a page written to a file does not reload itself")
	require.Contains(t, strings.Join(g.Notes, " "), "still running")
	require.Contains(t, string(page), `<progress max="3" value="0">`)
	code, _, _ = gallery("gal-live", "--out", filepath.Join(pages, "live.html"))
	require.Equal(t, starter.ExitOK, code, "written again over the first")
	base, stop = serveGallery(t, s, "gal-live")
	require.Equal(t, 10, galleryData(t, httpGet(t, base, "text/html; charset=utf-8")).Refresh, "a running batch's served page reloads itself")
	require.Equal(t, starter.ExitOK, stop())
	cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
	defer ccancel()
	require.NoError(t, s.client.CancelWorkflow(cctx, "gal-live", ""))

	// Not a generation, batch or pipeline: a usage of the wrong ID.
	code, _, errOut = gallery("gal-batch-page-0000")
	require.Equal(t, starter.ExitFailed, code)
	require.Contains(t, errOut, "a gallery shows a generation, a batch or a pipeline")
}

// serveGallery runs `starter gallery id --serve` and returns its URL and
// a stop that ends it (as Ctrl-C does) and returns its exit code.
func serveGallery(t *testing.T, s *stack, id string) (string, func() int) {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- starter.Main(ctx, []string{"gallery", id, "--serve"}, starter.Env{Stdout: pw, Stderr: io.Discard, Lookup: s.lookup})
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	require.True(t, lines.Scan())
	m := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+/)`).FindStringSubmatch(lines.Text())
	require.NotNil(t, m, lines.Text())
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	return m[1], func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(10 * time.Second):
			t.Fatal("--serve did not stop when its context ended")
			return -1
		}
	}
}

// httpGet fetches u, requires a 200 of the content type, and returns the
// body.
func httpGet(t *testing.T, u, contentType string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", u, body)
	require.Equal(t, contentType, resp.Header.Get("Content-Type"), u)
	if strings.HasPrefix(contentType, "text/html") {
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")
	}
	return body
}

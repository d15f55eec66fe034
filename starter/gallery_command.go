package starter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/storage"
)

type galleryFlags struct {
	out      string
	serve    bool
	port     int
	pageSize int
	refresh  time.Duration
}

func newGalleryCommand(env *Env) *cobra.Command {
	var f galleryFlags
	cmd := &cobra.Command{
		Use:   "gallery ID",
		Short: "Write one HTML page showing every output of a generation, batch or pipeline",
		Long: `gallery writes one self-contained HTML page (ID.html, or --out) that shows
every output of a generation, a batch or a pipeline as what it is: images as
thumbnails (full size on click), video and audio in players, 3D models and
other files as download links. Each generation shows its prompt, model,
parameters, status, how its result was learned (webhook, poll), its timings,
its error if it failed and its Temporal UI link. A batch is a grid with its
counts and filters (succeeded, failed, running), a page at a time; a pipeline
is its steps in order, each with its outputs.

Stored copies (--store) are shown where the page can reach them (a file store
on this machine, linked relative to the page; any store with --serve), the
provider's links otherwise, marked as expiring. The page loads no script,
style sheet or font from anywhere: it works offline, and its Content-Security-
Policy runs its own script only. Nothing a prompt or a provider's reply holds
is ever read as HTML.

With --serve it serves the page on 127.0.0.1 instead (and the stored copies,
from any store), prints the URL and opens nothing; each load makes the page
again, so a running batch's page shows its progress, and reloads itself every
--refresh. Ctrl-C stops it.`,
		Example: `  starter gallery launch-42                 # writes launch-42.html
  starter gallery pipe-7 --out promo.html
  starter gallery launch-42 --serve --port 8377`,
		Args: oneID,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGallery(cmd.Context(), env, args[0], f, cmd.Flags().Changed("out"))
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.out, "out", "o", "", "the HTML file to write (default ID.html; with --serve, none unless given)")
	fl.BoolVar(&f.serve, "serve", false, "serve the page on 127.0.0.1 (made again on each load) until Ctrl-C")
	fl.IntVar(&f.port, "port", 0, "with --serve, the port (default a free one)")
	fl.IntVar(&f.pageSize, "page-size", DefaultGalleryPageSize, "items rendered at a time")
	fl.DurationVar(&f.refresh, "refresh", 10*time.Second, "with --serve, how often a running run's page reloads itself (0: never)")
	return cmd
}

func runGallery(ctx context.Context, env *Env, id string, f galleryFlags, outGiven bool) error {
	if f.pageSize < 1 || f.pageSize > 1000 {
		return usageErr("--page-size %d: want 1 to 1000", f.pageSize)
	}
	if f.port < 0 || f.port > 65535 {
		return usageErr("--port %d: want 0 to 65535", f.port)
	}
	if f.refresh < 0 {
		return usageErr("--refresh %s: want 0 or more", f.refresh)
	}
	cfg, err := env.starterConfig()
	if err != nil {
		return err
	}
	tcfg, c, err := env.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	if f.serve {
		return serveGallery(ctx, env, c, tcfg, cfg, id, f, outGiven)
	}
	out := f.out
	if out == "" {
		out = id + ".html"
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return usageErr("--out: %v", err)
	}
	g, err := collectForCLI(ctx, env, c, tcfg, id, GalleryOptions{Link: fileLinker(filepath.Dir(abs))})
	if err != nil {
		return &ExitError{Code: ExitFailed, Err: err}
	}
	g.PageSize = f.pageSize
	if g.Status == StatusRunning {
		g.Notes = append(g.Notes, fmt.Sprintf("still running: this page shows it at %s; run `starter gallery %s` again, "+
			"or `starter gallery %s --serve`, whose page shows it live", g.GeneratedAt.Format(time.TimeOnly+" MST"), id, id))
	}
	g.Notes = append(g.Notes, storedNotes(g)...)
	n, err := writeGalleryFile(out, g)
	if err != nil {
		return &ExitError{Code: ExitFailed, Err: err}
	}
	fmt.Fprintf(env.Stdout, "wrote %s (%s): %s %s, %s\n", out, storage.FormatSize(n), g.Kind, g.ID, galleryTally(g))
	fmt.Fprintf(env.Stdout, "  open: %s\n", (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String())
	return nil
}

// collectForCLI collects a gallery, telling on Stderr how far it is when
// there are many generations to read.
func collectForCLI(ctx context.Context, env *Env, c client.Client, tcfg config.Temporal, id string, opts GalleryOptions) (Gallery, error) {
	last := time.Now()
	opts.Progress = func(done, total int) {
		if total >= 200 && (time.Since(last) > 2*time.Second || done == total) {
			last = time.Now()
			fmt.Fprintf(env.Stderr, "  read %d of %d generations\n", done, total)
		}
	}
	return CollectGallery(ctx, c, tcfg, id, opts)
}

// writeGalleryFile renders g into path (through a temporary file, so a
// page being read is never half written) and returns its size.
func writeGalleryFile(path string, g Gallery) (int64, error) {
	var buf bytes.Buffer
	if err := RenderGallery(&buf, g); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".gallery-*.html")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return 0, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	return int64(buf.Len()), os.Rename(tmp.Name(), path)
}

// galleryTally says how many generations and outputs a gallery holds.
func galleryTally(g Gallery) string {
	counts, outputs := g.tally()
	s := fmt.Sprintf("%s, %d succeeded, %d failed, %d running", plural(counts.All, "generation"), counts.Succeeded, counts.Failed, counts.Running)
	if counts.Other > 0 {
		s += fmt.Sprintf(", %d not started", counts.Other)
	}
	return s + ", " + plural(outputs, "output")
}

// storedNotes are the page's notes about stored copies it could not link.
func storedNotes(g Gallery) []string {
	unlinked := 0
	each := func(items []GalleryItem) {
		for _, it := range items {
			for _, o := range it.Outputs {
				if !o.Stored && o.Note != "" && !strings.HasPrefix(o.Note, "not stored") {
					unlinked++
				}
			}
		}
	}
	each(g.Items)
	for _, st := range g.Steps {
		each(st.Items)
	}
	if unlinked == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%s not reachable from this page (a store on another machine or in S3): "+
		"the provider's links are shown; `starter gallery %s --serve` shows the copies, `starter result %s --download DIR` fetches them",
		plural(unlinked, "stored copy"), g.ID, g.ID)}
}

// fileLinker links stored copies of a file store on this machine
// relative to dir, where the page is written. Copies in S3, or files
// that are not here, are not linked.
func fileLinker(dir string) StoredLinker {
	return func(s contract.StoredOutput) (string, string) {
		scheme, _, key, err := storage.ParseLocation(s.Location)
		if err != nil {
			return "", "stored copy " + s.Location + " cannot be read: " + err.Error()
		}
		if scheme != "file" {
			return "", "stored copy at " + s.Location + ": shown with --serve"
		}
		local := filepath.FromSlash(key)
		if _, err := os.Stat(local); err != nil {
			return "", "stored copy " + s.Location + " is not on this machine"
		}
		rel, err := filepath.Rel(dir, local)
		if err != nil {
			return "", "stored copy " + s.Location + " cannot be linked from the page"
		}
		return relativeURL(rel), ""
	}
}

// relativeURL is a relative file path as a URL path, each segment
// escaped, so that no name can read as a scheme, a query or a fragment.
func relativeURL(rel string) string {
	segs := strings.Split(filepath.ToSlash(rel), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	p := strings.Join(segs, "/")
	if strings.Contains(segs[0], ":") || strings.Contains(segs[0], "%3A") {
		p = "./" + p
	}
	return p
}

// storedTable is the stored copies a gallery server may serve: only
// locations a gallery listed, by number, so the server never serves a
// path a request names.
type storedTable struct {
	mu    sync.Mutex
	byLoc map[string]int
	list  []contract.StoredOutput
}

// link is the table's StoredLinker: stored/<n>/<name>.
func (t *storedTable) link(s contract.StoredOutput) (string, string) {
	if _, _, _, err := storage.ParseLocation(s.Location); err != nil {
		return "", "stored copy " + s.Location + " cannot be read: " + err.Error()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n, ok := t.byLoc[s.Location]
	if !ok {
		n = len(t.list)
		t.byLoc[s.Location] = n
		t.list = append(t.list, s)
	}
	name := outputName(s.Location)
	if name == "" {
		name = "output"
	}
	return "stored/" + strconv.Itoa(n) + "/" + url.PathEscape(name), ""
}

func (t *storedTable) get(n int) (contract.StoredOutput, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n < 0 || n >= len(t.list) {
		return contract.StoredOutput{}, false
	}
	return t.list[n], true
}

// galleryServer serves a gallery page, made again on each load, and the
// stored copies it links.
type galleryServer struct {
	collect func(ctx context.Context) (Gallery, error)
	stored  *storedTable
	open    func(ctx context.Context, loc string) (io.ReadCloser, error)
	// host is the listener's host:port; requests for any other Host are
	// refused (a DNS rebinding page cannot read the gallery).
	host string
}

func (s *galleryServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.allowedHost(r.Host) {
		http.Error(w, "unknown host", http.StatusMisdirectedRequest)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case r.URL.Path == "/" || r.URL.Path == "/index.html":
		g, err := s.collect(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		var buf bytes.Buffer
		if err := RenderGallery(&buf, g); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", GalleryCSP+"; frame-ancestors 'none'")
		_, _ = w.Write(buf.Bytes())
	case strings.HasPrefix(r.URL.Path, "/stored/"):
		s.serveStored(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *galleryServer) allowedHost(host string) bool {
	_, port, err := net.SplitHostPort(s.host)
	if err != nil {
		return false
	}
	return host == s.host || host == net.JoinHostPort("localhost", port)
}

// serveStored serves /stored/<n>/<name>: the n'th stored copy, as media
// when its type is an image, video, audio or 3D model type, else as a
// download; never as a page of this origin (a sandbox CSP, no sniffing).
func (s *galleryServer) serveStored(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/stored/")
	num, _, _ := strings.Cut(rest, "/")
	n, err := strconv.Atoi(num)
	st, ok := s.stored.get(n)
	if err != nil || !ok {
		http.NotFound(w, r)
		return
	}
	rc, err := s.open(r.Context(), st.Location)
	if err != nil {
		http.Error(w, "stored copy unavailable: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'")
	mt, _, _ := mime.ParseMediaType(st.ContentType)
	top, _, _ := strings.Cut(mt, "/")
	switch top {
	case "image", "video", "audio", "model":
		w.Header().Set("Content-Type", mt)
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
		name := outputName(st.Location)
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	}
	if st.Size > 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(st.Size, 10))
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.Copy(w, rc)
}

// serveGallery serves the gallery of id on 127.0.0.1 until ctx ends.
func serveGallery(ctx context.Context, env *Env, c client.Client, tcfg config.Temporal, cfg config.Starter, id string, f galleryFlags, outGiven bool) error {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(f.port)))
	if err != nil {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("--serve: %w", err)}
	}
	table := &storedTable{byLoc: map[string]int{}}
	s3 := s3Options(cfg.S3)
	srv := &galleryServer{
		stored: table,
		host:   ln.Addr().String(),
		open: func(ctx context.Context, loc string) (io.ReadCloser, error) {
			return storage.OpenLocation(ctx, loc, 0, s3)
		},
	}
	// One collection at a time; a reload within a second reuses the
	// last page rather than reading a large batch again.
	var mu sync.Mutex
	var last Gallery
	var lastAt time.Time
	srv.collect = func(ctx context.Context) (Gallery, error) {
		mu.Lock()
		defer mu.Unlock()
		if !lastAt.IsZero() && time.Since(lastAt) < time.Second {
			return last, nil
		}
		g, err := CollectGallery(ctx, c, tcfg, id, GalleryOptions{Link: table.link})
		if err != nil {
			return g, err
		}
		g.PageSize = f.pageSize
		if g.Status == StatusRunning {
			g.Refresh = int(f.refresh.Seconds())
		}
		last, lastAt = g, time.Now()
		return g, nil
	}
	// The first page, made before the URL is printed: a wrong ID fails
	// here, and with --out the file is written.
	g, err := srv.collect(ctx)
	if err != nil {
		ln.Close()
		return &ExitError{Code: ExitFailed, Err: err}
	}
	if outGiven {
		if _, err := writeGalleryFile(f.out, g); err != nil {
			ln.Close()
			return &ExitError{Code: ExitFailed, Err: err}
		}
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	fmt.Fprintf(env.Stdout, "serving the gallery of %s %s (%s) at http://%s/\n  Ctrl-C stops it\n", g.Kind, g.ID, galleryTally(g), ln.Addr())
	select {
	case err := <-done:
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("--serve: %w", err)}
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return &ExitError{Code: ExitFailed, Err: err}
	}
	fmt.Fprintln(env.Stdout, "stopped serving")
	return nil
}

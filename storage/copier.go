package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/genflow/genflow/internal/egress"
)

// spoolPattern names the spool files (os.CreateTemp's pattern).
const spoolPattern = "genflow-output-*"

// RemoveStaleSpools deletes the spool files in dir (os.TempDir() when
// empty) not written to for olderThan: those of a worker that crashed
// mid-copy. A spool file lives no longer than its StoreOutputs attempt
// (an hour at most, its start-to-close timeout), so an olderThan of an
// hour spares every copy in progress, also those of other workers sharing
// dir. It returns how many it removed.
func RemoveStaleSpools(dir string, olderThan time.Duration) (int, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	names, err := filepath.Glob(filepath.Join(dir, spoolPattern))
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, name := range names {
		fi, err := os.Stat(name)
		if err != nil || !fi.Mode().IsRegular() || time.Since(fi.ModTime()) < olderThan {
			continue
		}
		if os.Remove(name) == nil {
			removed++
		}
	}
	return removed, nil
}

// DefaultMaxBytes is the size limit of one output when none is set:
// larger than any image or clip, small enough that a bad link cannot fill
// the disk.
const DefaultMaxBytes = 2 << 30

// Copier copies outputs from their links into a Backend.
type Copier struct {
	Backend Backend
	// HTTP fetches the links. Nil: the outbound policy's client
	// (internal/egress), which reaches public addresses only and follows
	// at most 5 redirects, each checked. Its requests are bounded by
	// IdleTimeout, not by a total (a large video may take minutes). A
	// client of the caller's own is used as it is: links that are not
	// http or https are refused all the same.
	HTTP *http.Client
	// MaxBytes caps one output. Zero means DefaultMaxBytes.
	MaxBytes int64
	// TempDir holds the spool files. Empty means os.TempDir().
	TempDir string
	// Attempts is how many tries a link gets in one Copy, each resuming
	// where the last broke off. Zero means 4.
	Attempts int
	// RetryDelay is the pause before the second try, doubled after
	// each. Zero means 1 s.
	RetryDelay time.Duration
	// IdleTimeout gives up on a try that received nothing for this long.
	// Zero means 1 min.
	IdleTimeout time.Duration
}

// Copy stores the output at links[0] under key. A link that answers 4xx
// (expired, or never there) gives way to the next one: the provider's
// proxy link of the same output. When key already holds a whole copy of
// one of links, Copy returns it with reused true and stores nothing.
// progress, if not nil, hears the bytes received so far.
//
// A PermanentError says no retry will help: the output is over MaxBytes,
// or every link answered 4xx (ErrGone) or was refused by the outbound
// policy (ErrRefused: not http or https, or an internal address, redirects
// included). Any other error is worth retrying later;
// the next Copy starts over, so nothing half-copied is ever stored.
func (c *Copier) Copy(ctx context.Context, key string, links []string, progress func(int64)) (obj Object, reused bool, err error) {
	links = nonEmpty(links)
	if len(links) == 0 {
		return Object{}, false, &PermanentError{errors.New("no link to copy")}
	}
	have, err := c.Backend.Stat(ctx, key)
	switch {
	case err == nil && slices.Contains(links, have.Source):
		return have, true, nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return Object{}, false, err
	}

	f, err := os.CreateTemp(c.TempDir, spoolPattern)
	if err != nil {
		return Object{}, false, fmt.Errorf("spool file: %w", err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	sp := newSpool(f)

	var failed []string
	anyGone := false
	for _, link := range links {
		if err := sp.reset(); err != nil {
			return Object{}, false, err
		}
		ctype, err := transfer(ctx, c.httpOpener(link), sp, c.maxBytes(), c.retryPolicy(), progress)
		var le *linkError
		switch {
		case errors.As(err, &le):
			failed = append(failed, le.Error())
			anyGone = anyGone || le.refused == nil
			continue
		case err != nil:
			return Object{}, false, err
		}
		obj = Object{Key: key, Size: sp.n, SHA256: sp.sum(), Source: link, ContentType: contentType(ctype, link, f)}
		// A section reader is an io.ReaderAt: minio-go then uploads the
		// parts straight from the spool file, none held in memory.
		obj, err = c.Backend.Put(ctx, io.NewSectionReader(f, 0, sp.n), obj)
		return obj, false, err
	}
	if !anyGone {
		// Each link's error says it was refused already.
		return Object{}, false, &PermanentError{&refusedLinks{strings.Join(failed, "; ")}}
	}
	return Object{}, false, &PermanentError{fmt.Errorf("%w: %s", ErrGone, strings.Join(failed, "; "))}
}

func (c *Copier) maxBytes() int64 {
	if c.MaxBytes > 0 {
		return c.MaxBytes
	}
	return DefaultMaxBytes
}

func (c *Copier) retryPolicy() retryPolicy {
	return newRetryPolicy(c.Attempts, c.RetryDelay, c.IdleTimeout)
}

// ErrRefused says the outbound policy refused a link: its scheme is not
// http or https, or its host is (or redirects to) an internal address.
var ErrRefused = egress.ErrRefused

// ErrGone says every link answered 4xx (expired, or never there).
var ErrGone = errors.New("no link served the output")

// linkError: the link answered 4xx, or the outbound policy refused it,
// so another link may serve.
type linkError struct {
	link   string
	status int
	// refused is the policy's refusal; nil when the link answered.
	refused *egress.RefusedError
}

func (e *linkError) Error() string {
	if e.refused != nil {
		return fmt.Sprintf("%s: %v", Redact(e.link), e.refused)
	}
	return fmt.Sprintf("%s answered %d %s", Redact(e.link), e.status, http.StatusText(e.status))
}

// linkError is permanent for its link, and a refusal is ErrRefused.
func (e *linkError) Unwrap() []error {
	errs := []error{&PermanentError{errors.New(e.Error())}}
	if e.refused != nil {
		errs = append(errs, e.refused)
	}
	return errs
}

// refusedLinks says why every link was refused; it is ErrRefused.
type refusedLinks struct{ msg string }

func (e *refusedLinks) Error() string { return e.msg }
func (e *refusedLinks) Unwrap() error { return ErrRefused }

// defaultHTTP is the client of a Copier without one: the outbound
// policy's, with nothing allowed but public addresses.
var defaultHTTP = sync.OnceValue(func() *http.Client { return egress.Policy{}.Client() })

// httpOpener GETs link, with a Range header when resuming. Only http and
// https links are fetched, whatever the client.
func (c *Copier) httpOpener(link string) opener {
	client := c.HTTP
	if client == nil {
		client = defaultHTTP()
	}
	return func(ctx context.Context, offset int64) (io.ReadCloser, int64, int64, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
		if err != nil {
			return nil, 0, 0, "", &linkError{link: link, status: http.StatusBadRequest}
		}
		var refused *egress.RefusedError
		if err := egress.CheckURL(req.URL); errors.As(err, &refused) {
			return nil, 0, 0, "", &linkError{link: link, refused: refused}
		}
		if offset > 0 {
			req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
		}
		resp, err := client.Do(req)
		if errors.As(err, &refused) {
			return nil, 0, 0, "", &linkError{link: link, refused: refused}
		}
		if err != nil {
			// http.Client quotes the whole URL, signed query and all.
			var ue *url.Error
			if errors.As(err, &ue) {
				ue.URL = Redact(ue.URL)
			}
			return nil, 0, 0, "", err
		}
		ctype := resp.Header.Get("Content-Type")
		switch s := resp.StatusCode; {
		case s == http.StatusOK:
			return resp.Body, 0, resp.ContentLength, ctype, nil
		case s == http.StatusPartialContent && offset > 0:
			start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
			if !ok {
				resp.Body.Close()
				return nil, 0, 0, "", fmt.Errorf("206 with a bad Content-Range %q", resp.Header.Get("Content-Range"))
			}
			return resp.Body, start, total, ctype, nil
		case s == http.StatusRequestedRangeNotSatisfiable && offset > 0:
			// The source changed under us: start over.
			resp.Body.Close()
			return nil, 0, 0, "", fmt.Errorf("range from byte %d not satisfiable", offset)
		default:
			resp.Body.Close()
			if s >= 400 && s < 500 && s != http.StatusRequestTimeout && s != http.StatusTooEarly && s != http.StatusTooManyRequests {
				return nil, 0, 0, "", &linkError{link: link, status: s}
			}
			return nil, 0, 0, "", fmt.Errorf("answered %d %s", s, http.StatusText(s))
		}
	}
}

// parseContentRange reads "bytes start-end/total" (total may be "*").
func parseContentRange(v string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, size, found := strings.Cut(rest, "/")
	first, _, found2 := strings.Cut(rng, "-")
	if !found || !found2 {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	if size == "*" {
		return start, -1, true
	}
	total, err = strconv.ParseInt(size, 10, 64)
	return start, total, err == nil
}

// contentType is the server's type when it says one, else the link's
// extension's, else sniffed from the first bytes of f.
func contentType(header, link string, f *os.File) string {
	if mt, _, err := mime.ParseMediaType(header); err == nil && mt != "application/octet-stream" && mt != "binary/octet-stream" {
		return header
	}
	if u, err := url.Parse(link); err == nil {
		if t := mime.TypeByExtension(path.Ext(u.Path)); t != "" {
			return t
		}
	}
	head := make([]byte, 512)
	n, _ := f.ReadAt(head, 0)
	return http.DetectContentType(head[:n])
}

// Redact drops a link's query, where signed URLs keep their tokens, for
// messages and logs.
func Redact(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return "(bad link)"
	}
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	u.User = nil
	return u.String()
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

package modelslab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is the real ModelsLab API.
const DefaultBaseURL = "https://modelslab.com/api/"

// maxReplyBytes bounds how much of a reply is read; real replies are a few
// kilobytes.
const maxReplyBytes = 8 << 20

// Options configure a Client. The zero value of each field means its
// default, except APIKey, which is required.
type Options struct {
	// BaseURL is the API root, ending in /api/. Default DefaultBaseURL.
	BaseURL string
	// APIKey is the account key, sent in the body (and as a header for
	// the workflows API). Required.
	APIKey string
	// HTTPClient sends the requests. Default: a client with a 60 s
	// timeout; callers should also bound each call with its context.
	HTTPClient *http.Client
	// UserAgent is sent with every request. Default "genflow".
	UserAgent string
	// AllowHTTP accepts a plain http BaseURL on a host other than
	// loopback (a fake provider on a private network, say). Default
	// false: every request carries the API key, so outside loopback
	// (127.0.0.0/8, ::1, localhost) the base URL must be https.
	AllowHTTP bool
	// EndpointPaths moves endpoints, by catalogue name, to other paths
	// (enterprise deployments). Default none.
	EndpointPaths map[string]EndpointPaths
}

// Client calls the ModelsLab API. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	key       string
	http      *http.Client
	userAgent string
	paths     map[string]EndpointPaths
}

// New returns a Client for opts.
func New(opts Options) (*Client, error) {
	if strings.TrimSpace(opts.APIKey) == "" {
		return nil, errors.New("modelslab: APIKey is required")
	}
	raw := opts.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	if !strings.HasSuffix(raw, "/") {
		raw += "/"
	}
	base, err := url.Parse(raw)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("modelslab: BaseURL %q is not an http(s) URL", opts.BaseURL)
	}
	if err := checkBaseURL(opts.BaseURL, base); err != nil {
		return nil, err
	}
	if err := checkEndpointPaths(opts.EndpointPaths); err != nil {
		return nil, err
	}
	if base.Scheme == "http" && !opts.AllowHTTP && !isLoopback(base.Hostname()) {
		return nil, fmt.Errorf("modelslab: BaseURL %q is plain http on a host other than loopback, "+
			"and every request carries the API key: use https, or set AllowHTTP (MODELSLAB_ALLOW_HTTP) "+
			"for a provider on a network you trust", opts.BaseURL)
	}
	// A copy of the caller's client, so that its redirect policy is
	// genflow's without changing the caller's.
	hc := http.Client{Timeout: 60 * time.Second}
	if opts.HTTPClient != nil {
		hc = *opts.HTTPClient
	}
	hc.CheckRedirect = refuseRedirect
	c := &Client{base: base, key: opts.APIKey, http: &hc, userAgent: opts.UserAgent, paths: maps.Clone(opts.EndpointPaths)}
	if c.userAgent == "" {
		c.userAgent = "genflow"
	}
	return c, nil
}

// SubmitRequest is one generation to send.
type SubmitRequest struct {
	Endpoint Endpoint
	// Params are the endpoint's parameters. "key", "webhook" and
	// "track_id" are set by Submit and must not be given.
	Params map[string]any
	// WebhookURL is where the provider should POST the result; empty for
	// none.
	WebhookURL string
	// TrackID is echoed by the provider in webhooks.
	TrackID string
}

// Submit validates and sends a request. A reply of "processing" or
// "success" is a Result; a provider error is an *Error.
//
// After a 2xx reply the provider may have accepted (and charged) the
// request, so a reply Submit cannot follow (not JSON, no status, no
// request id) is never worth a retry: Submit takes the id from wherever
// the reply has one (fetch_result, status_url, request_id), and otherwise
// fails with ErrTypeUnusableReply, which is not retryable and carries the
// reply, redacted. Only transport errors, 5xx and 429 (and status "error"
// replies that say so) are retryable.
func (c *Client) Submit(ctx context.Context, req SubmitRequest) (Result, error) {
	ep := c.route(req.Endpoint)
	if err := ep.Validate(req.Params); err != nil {
		// Validate prefixes the endpoint name, which Error prints already.
		return Result{}, &Error{Type: ErrTypeInvalidRequest, Endpoint: ep.Name, Message: "invalid parameters",
			Err: errors.Unwrap(err)}
	}
	for _, reserved := range []string{"key", "webhook", "webhook_url", "track_id"} {
		if _, ok := req.Params[reserved]; ok {
			return Result{}, &Error{Type: ErrTypeInvalidRequest, Endpoint: ep.Name,
				Message: fmt.Sprintf("parameter %q is set by genflow and must not be given", reserved)}
		}
	}
	body := maps.Clone(req.Params)
	if body == nil {
		body = map[string]any{}
	}
	path, err := expandPath(ep.Path, "", body)
	if err != nil {
		return Result{}, &Error{Type: ErrTypeInvalidRequest, Endpoint: ep.Name, Message: err.Error()}
	}
	switch ep.Protocol {
	case ProtocolWorkflow:
		delete(body, "workflow_id")
		if req.WebhookURL != "" {
			body["webhook_url"] = req.WebhookURL
		}
	case ProtocolTraining:
		body["key"] = c.key
		if req.WebhookURL != "" {
			body["webhook"] = req.WebhookURL
		}
	default:
		body["key"] = c.key
		if req.WebhookURL != "" {
			body["webhook"] = req.WebhookURL
		}
		if req.TrackID != "" {
			body["track_id"] = req.TrackID
			if ep.IntegerTrackID {
				body["track_id"] = NumericTrackID(req.TrackID)
			}
		}
	}
	w, got, err := c.do(ctx, ep, http.MethodPost, path, body)
	if pe := (*Error)(nil); errors.As(err, &pe) && got.status != 0 {
		// do sets got only for a 2xx reply: one it could not read to the
		// end (ErrTypeTransport) or not decode (ErrTypeBadReply).
		why := "cannot be decoded"
		if pe.Type == ErrTypeTransport {
			why = "was cut off (" + pe.Err.Error() + ")"
		}
		return Result{}, c.unusableReply(ep, got, why, req.WebhookURL)
	}
	if err != nil {
		return Result{}, err
	}
	if s := strings.ToLower(w.Status); s == "error" || s == "failed" {
		msg := w.message()
		return Result{}, &Error{Type: classify(http.StatusOK, msg), Endpoint: ep.Name, HTTPStatus: http.StatusOK,
			Message: orDefault(msg, "provider answered status "+s), RetryAfter: seconds(float64(w.RetryAfter))}
	}
	r := w.normalise(ep.Protocol, true)
	noStatus := checkStatus(ep, w) != nil
	if r.ID == "" && (noStatus || r.Status != StatusSuccess) {
		r.ID = w.followableID()
	}
	switch {
	case r.ID == "" && noStatus:
		return Result{}, c.unusableReply(ep, got, "has no status and no request id", req.WebhookURL)
	case r.ID == "" && r.Status != StatusSuccess:
		return Result{}, c.unusableReply(ep, got, "has status "+strconv.Quote(w.Status)+" and no request id to follow", req.WebhookURL)
	}
	// A reply with no status but an id (normalised as processing) is
	// followed like any accepted request: by webhook, else by polling.
	if r.TrackID == "" || (req.TrackID != "" && TrackIDMatches(r.TrackID, req.TrackID)) {
		r.TrackID = req.TrackID
	}
	return r, nil
}

// Fetch asks for the state of request id. params are the submitted
// parameters (the workflows API needs workflow_id from them). A failed
// generation is a Result with StatusFailed, not an error.
func (c *Client) Fetch(ctx context.Context, ep Endpoint, id string, params map[string]any) (Result, error) {
	ep = c.route(ep)
	if id == "" {
		return Result{}, &Error{Type: ErrTypeInvalidRequest, Endpoint: ep.Name, Message: "fetch needs a request id"}
	}
	path, err := expandPath(ep.FetchPath, id, params)
	if err != nil {
		return Result{}, &Error{Type: ErrTypeInvalidRequest, Endpoint: ep.Name, Message: err.Error()}
	}
	method, body := http.MethodPost, map[string]any{"key": c.key}
	if ep.Protocol == ProtocolWorkflow {
		method, body = http.MethodGet, nil
	}
	w, _, err := c.do(ctx, ep, method, path, body)
	if err != nil {
		return Result{}, err
	}
	if strings.EqualFold(w.Status, "error") {
		msg := w.message()
		return Result{}, &Error{Type: classify(http.StatusOK, msg), Endpoint: ep.Name, HTTPStatus: http.StatusOK,
			Message: orDefault(msg, "provider answered status error"), RetryAfter: seconds(float64(w.RetryAfter))}
	}
	if err := checkStatus(ep, w); err != nil {
		return Result{}, err
	}
	r := w.normalise(ep.Protocol, false)
	if r.ID == "" {
		r.ID = id
	}
	return r, nil
}

// checkStatus refuses a generation reply that carries no status at all.
// Every generation reply the provider documents has one; without it the
// reply would read as "processing" and be polled until the deadline.
func checkStatus(ep Endpoint, w *wireReply) error {
	if ep.Protocol == ProtocolGeneration && strings.TrimSpace(w.Status) == "" {
		return &Error{Type: ErrTypeBadReply, Endpoint: ep.Name, HTTPStatus: http.StatusOK,
			Message: "reply has no status"}
	}
	return nil
}

// httpReply is a 2xx reply as it came: its status code and body.
type httpReply struct {
	status int
	raw    []byte
}

// do sends one request. A 2xx reply that is not a JSON object is an
// ErrTypeBadReply error, and one whose body breaks off an ErrTypeTransport
// error, each with the reply (as much as came) in httpReply.
func (c *Client) do(ctx context.Context, ep Endpoint, method, path string, body map[string]any) (*wireReply, httpReply, error) {
	// path is already escaped (ids and workflow ids go through
	// url.PathEscape), so it is parsed rather than set as URL.Path, which
	// would escape it a second time.
	ref, err := url.Parse(path)
	if err != nil {
		return nil, httpReply{}, &Error{Type: ErrTypeInvalidRequest, Endpoint: ep.Name, Message: "build request path", Err: err}
	}
	u := c.base.ResolveReference(ref)
	var rdr io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, httpReply{}, &Error{Type: ErrTypeInvalidRequest, Endpoint: ep.Name, Message: "encode parameters", Err: err}
		}
		rdr = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rdr)
	if err != nil {
		return nil, httpReply{}, &Error{Type: ErrTypeInvalidRequest, Endpoint: ep.Name, Message: "build request", Err: err}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if ep.Protocol == ProtocolWorkflow {
		req.Header.Set("key", c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, httpReply{}, ctx.Err()
		}
		return nil, httpReply{}, &Error{Type: ErrTypeTransport, Endpoint: ep.Name, Message: method + " " + redact(u), Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
	if err != nil {
		if ctx.Err() != nil {
			return nil, httpReply{}, ctx.Err()
		}
		var got httpReply
		if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
			got = httpReply{status: resp.StatusCode, raw: raw}
		}
		return nil, got, &Error{Type: ErrTypeTransport, Endpoint: ep.Name, HTTPStatus: resp.StatusCode, Message: "read reply", Err: err}
	}
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		where := "no Location"
		if loc, err := resp.Location(); err == nil {
			where = "to " + redact(loc)
		}
		return nil, httpReply{}, &Error{Type: ErrTypeRedirect, Endpoint: ep.Name, HTTPStatus: resp.StatusCode,
			Message: method + " " + redact(u) + " answered a redirect (" + where + "), which is not followed: " +
				"the request carries the API key; check the base URL"}
	}
	w, decodeErr := decodeWire(raw)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := http.StatusText(resp.StatusCode)
		var retryAfter time.Duration
		if decodeErr == nil {
			msg = orDefault(w.message(), msg)
			retryAfter = seconds(float64(w.RetryAfter))
		}
		if retryAfter == 0 {
			retryAfter = retryAfterHeader(resp.Header.Get("Retry-After"), time.Now())
		}
		return nil, httpReply{}, &Error{Type: classify(resp.StatusCode, msg), Endpoint: ep.Name, HTTPStatus: resp.StatusCode,
			Message: msg, RetryAfter: retryAfter}
	}
	got := httpReply{status: resp.StatusCode, raw: raw}
	if decodeErr != nil {
		return nil, got, &Error{Type: ErrTypeBadReply, Endpoint: ep.Name, HTTPStatus: resp.StatusCode,
			Message: "reply is not JSON: " + snippet(raw), Err: decodeErr}
	}
	return w, got, nil
}

// refuseRedirect is the client's redirect policy: no redirect is
// followed, to another host or the same one. Every request carries the
// API key (in the body, and in a header for the workflows API) and a
// submit the signed webhook URL; a redirect would send them where the
// operator did not configure, and a JSON API has no need to redirect.
// do turns the 3xx into an ErrTypeRedirect error.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// isLoopback reports whether host (a URL's Hostname) is a loopback
// address or localhost, where plain http exposes nothing on the network.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// retryAfterHeader reads a Retry-After header: delay-seconds or an
// HTTP-date (RFC 9110, section 10.2.3). Zero when absent or unreadable.
func retryAfterHeader(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		return seconds(n)
	}
	if t, err := http.ParseTime(v); err == nil {
		return seconds(t.Sub(now).Seconds())
	}
	return 0
}

// expandPath fills {id} and {workflow_id} in an endpoint path, escaped.
func expandPath(tmpl, id string, params map[string]any) (string, error) {
	p := tmpl
	if strings.Contains(p, "{workflow_id}") {
		wf := scalarString(params["workflow_id"])
		if wf == "" {
			return "", &MissingFieldsError{Fields: []string{"workflow_id"}}
		}
		if err := checkSegment("workflow_id", wf); err != nil {
			return "", err
		}
		p = strings.ReplaceAll(p, "{workflow_id}", url.PathEscape(wf))
	}
	if strings.Contains(p, "{id}") {
		if err := checkSegment("request id", id); err != nil {
			return "", err
		}
	}
	return strings.ReplaceAll(p, "{id}", url.PathEscape(id)), nil
}

// checkSegment refuses values that PathEscape leaves alone but that would
// change the path's meaning once resolved against the base URL.
func checkSegment(name, v string) error {
	if v == "." || v == ".." {
		return fmt.Errorf("%s %q is not a valid path segment", name, v)
	}
	return nil
}

// redact drops the query string, which never carries anything useful to
// a log reader and might one day carry a key.
func redact(u *url.URL) string {
	c := *u
	c.RawQuery, c.Fragment, c.User = "", "", nil
	return c.String()
}

func snippet(b []byte) string { return quoteSnippet(string(b), 120) }

// quoteSnippet is s, trimmed, without sigs (redactSigs), cut after n
// bytes and quoted.
func quoteSnippet(s string, n int) string {
	s = redactSigs(strings.TrimSpace(s))
	if len(s) > n {
		s = s[:n] + "..."
	}
	return strconv.Quote(s)
}

// unusableReply is the error of a 2xx submit reply that cannot be
// followed, why saying what is wrong with it.
func (c *Client) unusableReply(ep Endpoint, got httpReply, why, webhookURL string) *Error {
	return &Error{Type: ErrTypeUnusableReply, Endpoint: ep.Name, HTTPStatus: got.status,
		Message: "the provider may have accepted (and charged) the request, but its reply " + why +
			"; it is not submitted again. Reply: " + c.redactReply(got.raw, webhookURL)}
}

// replySnippetLen bounds the reply an ErrTypeUnusableReply carries.
const replySnippetLen = 600

// redactReply is a reply as an error may show it: without the API key
// and the webhook URL (whose sig lets anyone signal the run), which the
// provider echoes at the top or in meta, and quoted.
func (c *Client) redactReply(raw []byte, webhookURL string) string {
	s := string(bytes.TrimSpace(raw))
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&obj); err == nil && obj != nil && !dec.More() {
		dropEchoes(obj)
		if meta, ok := obj["meta"].(map[string]any); ok {
			dropEchoes(meta)
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if enc.Encode(obj) == nil {
			s = b.String()
		}
	}
	// Whatever is left, anywhere in the reply (a non-JSON one too).
	secrets := []string{c.key}
	if webhookURL != "" {
		secrets = append(secrets, webhookURL, strings.ReplaceAll(webhookURL, "/", `\/`))
		if u, err := url.Parse(webhookURL); err == nil {
			secrets = append(secrets, u.Query().Get("sig"))
		}
	}
	for _, secret := range secrets {
		if len(secret) >= 8 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return quoteSnippet(s, replySnippetLen)
}

// dropEchoes removes the request fields a reply may echo that must not be
// shown: the key and the webhook URL.
func dropEchoes(m map[string]any) {
	for _, k := range []string{"key", "webhook", "webhook_url"} {
		delete(m, k)
	}
}

// maxRetryAfter caps a provider's retry hint: a larger one is nonsense, and
// an unbounded one overflows time.Duration (1e300 seconds became a
// negative duration).
const maxRetryAfter = time.Hour

func seconds(s float64) time.Duration {
	if !(s > 0) { // also NaN
		return 0
	}
	if s >= maxRetryAfter.Seconds() {
		return maxRetryAfter
	}
	return time.Duration(s * float64(time.Second))
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

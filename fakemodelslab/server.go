package fakemodelslab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"mime"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/genflow/genflow/modelslab"
)

// FirstRequestID is the id of the first request a Server accepts; each
// later request, of any protocol, gets the next integer.
const FirstRequestID = 134701497

// maxBodyBytes bounds a request body; base64 init images can be large.
const maxBodyBytes = 32 << 20

// Server is a fake ModelsLab API. It is safe for concurrent use.
type Server struct {
	// URL is the root of a server started by NewServer, for example
	// "http://127.0.0.1:41234", without a trailing slash. Empty for a
	// Server made by New.
	URL string

	opts       Options
	ownsClient bool
	handler    http.Handler

	// httpServer and served are set by NewServer only.
	httpServer *http.Server
	served     chan struct{}

	// ctx is cancelled by Close; it stops processing timers, backoffs and
	// webhook deliveries.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	faults   Faults
	hits     map[hitKey]int
	nextID   int64
	requests map[int64]*request
	training map[string]*request
	inflight map[string]int
	// submitting counts the submit calls being answered, by track_id.
	submitting map[string]int
	stats      Stats
	tracks     map[string]*TrackStats
}

// Stats counts what the fake has seen since it started.
type Stats struct {
	// Accepted counts submits answered processing or immediate success.
	Accepted int `json:"accepted"`
	// Immediate counts accepted submits answered success at once.
	Immediate int `json:"immediate"`
	// Rejected429 counts submits answered with the rate-limit error,
	// whether from the queue limit or Fault429.
	Rejected429 int `json:"rejected_429"`
	// QueueFull counts the submits of Rejected429 that the queue limit
	// refused (not Fault429): what a client that keeps within the
	// account's queue never causes.
	QueueFull int `json:"queue_full"`
	// Rejected5xx counts submits answered HTTP 500 by Fault5xx.
	Rejected5xx int `json:"rejected_5xx"`
	// InvalidKey counts calls with a missing or unknown key.
	InvalidKey int `json:"invalid_key"`
	// InvalidRequest counts malformed bodies and missing fields.
	InvalidRequest int `json:"invalid_request"`
	// InFlight is the number of requests processing now.
	InFlight int `json:"in_flight"`
	// PeakInFlight is the most requests one key has had processing at
	// once: how much of its queue a client used.
	PeakInFlight int `json:"peak_in_flight"`
	// SubmitsInFlight is the number of submit calls being answered now:
	// read and not yet replied to (FaultSlowSubmit holds them), whether
	// accepted or not.
	SubmitsInFlight int `json:"submits_in_flight"`
	// Submitting lists the track_ids of the submit calls in flight,
	// sorted, once per call; calls without a track_id are not listed.
	Submitting []string `json:"submitting,omitempty"`
	// Succeeded counts requests that finished with success.
	Succeeded int `json:"succeeded"`
	// Failed counts requests that finished failed (FaultFail).
	Failed int `json:"failed"`
	// Fetches counts fetch and status calls.
	Fetches int `json:"fetches"`
	// WebhooksSent counts webhook POSTs the receiver answered 2xx; a
	// duplicated or reordered delivery counts each POST.
	WebhooksSent int `json:"webhooks_sent"`
	// WebhooksDropped counts webhooks FaultDrop suppressed.
	WebhooksDropped int `json:"webhooks_dropped"`
	// WebhookErrors counts failed delivery attempts (non-2xx or no
	// connection), retried or not.
	WebhookErrors int `json:"webhook_errors"`
	// WebhooksUndelivered counts webhooks given up after every attempt
	// failed.
	WebhooksUndelivered int `json:"webhooks_undelivered"`
	// Tracks holds per-track_id counts; submits without a track_id are
	// not in it.
	Tracks map[string]TrackStats `json:"tracks,omitempty"`
}

// TrackStats counts what happened to one track_id.
type TrackStats struct {
	// Submissions counts accepted submits.
	Submissions int `json:"submissions"`
	// Rejected counts submits answered 429 or 5xx.
	Rejected int `json:"rejected"`
	// WebhooksSent counts webhook POSTs answered 2xx.
	WebhooksSent int `json:"webhooks_sent"`
	// IDs are the provider ids of the accepted submits, oldest first.
	IDs []string `json:"ids,omitempty"`
	// SubmittedAt are the times the submits were accepted, oldest first.
	SubmittedAt []time.Time `json:"submitted_at,omitempty"`
}

// New returns a Server that serves opts but does not listen; serve its
// Handler and call Close when done. New panics if opts.Faults is invalid
// (see Faults.Validate).
func New(opts Options) *Server {
	if err := opts.Faults.Validate(); err != nil {
		panic("fakemodelslab: invalid Options.Faults: " + err.Error())
	}
	o, owns := opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts:       o,
		ownsClient: owns,
		ctx:        ctx,
		cancel:     cancel,
		faults:     cloneFaults(o.Faults),
		hits:       map[hitKey]int{},
		nextID:     FirstRequestID,
		requests:   map[int64]*request{},
		training:   map[string]*request{},
		inflight:   map[string]int{},
		submitting: map[string]int{},
		tracks:     map[string]*TrackStats{},
	}
	s.handler = s.routes()
	return s
}

// NewServer starts a Server listening on a free port of 127.0.0.1, in the
// manner of httptest.NewServer, and sets its URL. Options.PublicURL
// defaults to that URL. The caller must call Close. NewServer panics if it
// cannot listen or opts.Faults is invalid.
func NewServer(opts Options) *Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		if ln, err = net.Listen("tcp6", "[::1]:0"); err != nil {
			panic("fakemodelslab: failed to listen on a port: " + err.Error())
		}
	}
	u := "http://" + ln.Addr().String()
	if opts.PublicURL == "" {
		opts.PublicURL = u
	}
	s := New(opts)
	s.URL = u
	s.httpServer = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn),
	}
	s.served = make(chan struct{})
	go func() {
		defer close(s.served)
		_ = s.httpServer.Serve(ln)
	}()
	return s
}

// BaseURL returns the API root, URL + "/api/", which is what the modelslab
// client's Options.BaseURL takes.
func (s *Server) BaseURL() string { return s.URL + "/api/" }

// Handler returns the fake's HTTP handler: the API under /api/, output
// files under /files/ (and /cdn/ for proxy_links) and the control API
// under /_fake/.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the listener of a NewServer, cancels every pending result
// and webhook, and waits for their goroutines to end. Submits that arrive
// during or after Close are answered 503. Close is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()

	s.cancel()
	if s.httpServer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.httpServer.Shutdown(ctx); err != nil {
			_ = s.httpServer.Close()
		}
		cancel()
		<-s.served
	}
	s.wg.Wait()
	if s.ownsClient {
		s.opts.HTTPClient.CloseIdleConnections()
	}
}

// SetFaults replaces the fault injection from the next submit on and
// resets the counts of Rule.Times. An invalid f is an error and changes
// nothing.
func (s *Server) SetFaults(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = cloneFaults(f)
	clear(s.hits)
	return nil
}

// Faults returns the fault injection in force.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneFaults(s.faults)
}

// Submissions returns the number of accepted submits (processing or
// immediate success) carrying trackID.
func (s *Server) Submissions(trackID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tracks[trackID]; t != nil {
		return t.Submissions
	}
	return 0
}

// Stats returns a snapshot of the counters, with a copy of the per-track
// counts.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.stats
	out.Tracks = make(map[string]TrackStats, len(s.tracks))
	for k, v := range s.tracks {
		t := *v
		t.IDs = slices.Clone(v.IDs)
		t.SubmittedAt = slices.Clone(v.SubmittedAt)
		out.Tracks[k] = t
	}
	for track, n := range s.submitting {
		for range n {
			out.Submitting = append(out.Submitting, track)
		}
	}
	slices.Sort(out.Submitting)
	return out
}

// submitCall counts a submit call of track as in flight until the
// returned func is called.
func (s *Server) submitCall(track string) (done func()) {
	s.mu.Lock()
	s.stats.SubmitsInFlight++
	if track != "" {
		s.submitting[track]++
	}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.stats.SubmitsInFlight--
		if track != "" {
			if s.submitting[track]--; s.submitting[track] <= 0 {
				delete(s.submitting, track)
			}
		}
	}
}

// holdReply waits out FaultSlowSubmit's hold of req's reply, or until
// Close. The client hanging up does not end it: the provider has the
// request either way.
func (s *Server) holdReply(req *request) {
	if req.faults.has(FaultSlowSubmit) {
		s.sleep(req.submitDelay)
	}
}

func cloneFaults(f Faults) Faults {
	return Faults{Rules: slices.Clone(f.Rules), Rates: maps.Clone(f.Rates), Delay: f.Delay, SubmitDelay: f.SubmitDelay}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	fetches := map[string]bool{}
	handleFetch := func(pattern string, h http.HandlerFunc) {
		if !fetches[pattern] {
			fetches[pattern] = true
			mux.HandleFunc(pattern, h)
		}
	}
	for _, ep := range modelslab.Endpoints() {
		switch ep.Protocol {
		case modelslab.ProtocolWorkflow:
			mux.HandleFunc("POST /api/"+ep.Path, s.handleWorkflowRun(ep))
			handleFetch("GET /api/"+ep.FetchPath, s.handleWorkflowStatus)
		case modelslab.ProtocolTraining:
			mux.HandleFunc("POST /api/"+ep.Path, s.handleSubmit(ep))
			handleFetch("POST /api/"+ep.FetchPath, s.handleTrainingStatus)
		default:
			mux.HandleFunc("POST /api/"+ep.Path, s.handleSubmit(ep))
			handleFetch("POST /api/"+ep.FetchPath, s.handleFetch(ep.FetchPath))
		}
	}
	mux.HandleFunc("POST /api/v6/images/fetch", s.handleFetchByRequestID)
	mux.HandleFunc("GET /files/{name}", s.handleFile)
	mux.HandleFunc("GET /cdn/{name}", s.handleFile)
	mux.HandleFunc("GET /_fake/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /_fake/stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("GET /_fake/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("PUT /_fake/faults", s.handlePutFaults)
	mux.HandleFunc("GET /_fake/workflows/{workflow_id}", func(w http.ResponseWriter, r *http.Request) {
		wf, _ := s.Workflow(r.PathValue("workflow_id"))
		writeJSON(w, http.StatusOK, wf)
	})
	mux.HandleFunc("PUT /_fake/workflows/{workflow_id}", s.handlePutWorkflow)
	mux.HandleFunc("GET /api/v1/workflows/{workflow_id}", s.handleWorkflowSchema)
	return s.logged(mux)
}

func (s *Server) handlePutFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(body, &f)
	}
	if err == nil {
		err = s.SetFaults(f)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody(err.Error()))
		return
	}
	s.opts.Logger.Info("faults set", "faults", string(body))
	writeJSON(w, http.StatusOK, s.Faults())
}

// logged logs each call at debug level.
func (s *Server) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(rec, r)
		s.opts.Logger.Debug("http request", "method", r.Method, "path", r.URL.Path,
			"status", rec.status, "duration", time.Since(start))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// publicURL is the root for links in replies to r.
func (s *Server) publicURL(r *http.Request) string {
	if s.opts.PublicURL != "" {
		return s.opts.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// authError returns the provider's message for a missing or unknown key,
// or "" for a valid one.
func (s *Server) authError(key string) string {
	switch {
	case strings.TrimSpace(key) == "":
		return "API key required"
	case len(s.opts.Keys) > 0 && !slices.Contains(s.opts.Keys, key):
		return "Invalid API key"
	}
	return ""
}

func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.stats)
}

// trackLocked returns the counters of track, creating them; nil for no
// track_id. s.mu must be held.
func (s *Server) trackLocked(track string) *TrackStats {
	if track == "" {
		return nil
	}
	t := s.tracks[track]
	if t == nil {
		t = &TrackStats{}
		s.tracks[track] = t
	}
	return t
}

// submission is a validated submit, before faults and the queue limit.
type submission struct {
	ep         modelslab.Endpoint
	key        string
	params     map[string]any
	workflowID string
	// outputs is the number of output files, ext their extension.
	outputs   int
	ext       string
	publicURL string
}

// rejection is why accept refused a submit.
type rejection int

const (
	accepted rejection = iota
	rejectedClosed
	rejected5xx
	rejected429
)

// accept applies the fault rules and the queue limit to sub and, if it
// passes, records and schedules the request.
func (s *Server) accept(sub submission) (*request, rejection) {
	track := trackOf(sub.ep, sub.params)
	now := time.Now()

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, rejectedClosed
	}
	if f := s.rejectFaultLocked(track); f != "" {
		if t := s.trackLocked(track); t != nil {
			t.Rejected++
		}
		if f == Fault5xx {
			s.stats.Rejected5xx++
			return nil, rejected5xx
		}
		s.stats.Rejected429++
		return nil, rejected429
	}
	counted := sub.ep.Protocol != modelslab.ProtocolWorkflow
	if counted && s.inflight[sub.key] >= s.opts.QueueLimit {
		if t := s.trackLocked(track); t != nil {
			t.Rejected++
		}
		s.stats.Rejected429++
		s.stats.QueueFull++
		return nil, rejected429
	}
	faults := s.shapeFaultsLocked(track)
	if sub.ep.Protocol != modelslab.ProtocolGeneration || faults.has(FaultFail) {
		faults &^= faultBit(FaultImmediate)
	}

	id := s.nextID
	s.nextID++
	req := &request{
		id:          id,
		ep:          sub.ep,
		key:         sub.key,
		track:       track,
		trackRaw:    sub.params["track_id"],
		params:      sub.params,
		workflowID:  sub.workflowID,
		faults:      faults,
		delay:       s.faults.delay(),
		submitDelay: s.faults.submitDelay(),
		submitted:   now,
		processing:  s.opts.ProcessingTime,
		publicURL:   sub.publicURL,
	}
	for i := range sub.outputs {
		req.files = append(req.files, fmt.Sprintf("%d-%d.%s", id, i, sub.ext))
	}
	if sub.ep.Protocol == modelslab.ProtocolWorkflow {
		// The workflow's own webhook wins; a run's webhook_url
		// (undocumented) is taken only without one, unless ignored.
		req.webhook = s.opts.Workflows[sub.workflowID].WebhookURL
		if req.webhook == "" && !s.opts.IgnoreRunWebhookURL {
			req.webhook = scalarString(sub.params["webhook_url"])
		}
	} else {
		req.webhook = scalarString(sub.params["webhook"])
	}
	if sub.ep.Protocol == modelslab.ProtocolTraining {
		req.trainingID = trainingID(id)
		s.training[req.trainingID] = req
	}
	req.meta = req.buildMeta()
	s.requests[id] = req

	s.stats.Accepted++
	if t := s.trackLocked(track); t != nil {
		t.Submissions++
		t.IDs = append(t.IDs, req.idString())
		t.SubmittedAt = append(t.SubmittedAt, now)
	}
	if faults.has(FaultImmediate) {
		req.done, req.doneAt = true, now
		s.stats.Immediate++
		s.stats.Succeeded++
		return req, accepted
	}
	if counted {
		s.inflight[sub.key]++
		s.stats.InFlight++
		s.stats.PeakInFlight = max(s.stats.PeakInFlight, s.inflight[sub.key])
	}
	s.wg.Add(1)
	go s.process(req, counted)
	return req, accepted
}

// rejectFaultLocked returns Fault5xx or Fault429 if a rule or rate pick
// rejects this submit attempt of track, counting the attempt.
func (s *Server) rejectFaultLocked(track string) Fault {
	for i, r := range s.faults.Rules {
		if !r.Fault.rejects() || !r.matches(track) {
			continue
		}
		k := hitKey{rule: i, fault: r.Fault, track: track}
		if r.Times == 0 || s.hits[k] < r.Times {
			s.hits[k]++
			return r.Fault
		}
	}
	for _, f := range s.faults.Picks(track) {
		if !f.rejects() {
			continue
		}
		k := hitKey{rule: -1, fault: f, track: track}
		if s.hits[k] < 1 {
			s.hits[k]++
			return f
		}
	}
	return ""
}

// shapeFaultsLocked returns the non-rejecting faults for an accepted
// submit of track, counting the rules applied.
func (s *Server) shapeFaultsLocked(track string) faultSet {
	var set faultSet
	for i, r := range s.faults.Rules {
		if r.Fault.rejects() || !r.matches(track) {
			continue
		}
		k := hitKey{rule: i, fault: r.Fault, track: track}
		if r.Times == 0 || s.hits[k] < r.Times {
			s.hits[k]++
			set.add(r.Fault)
		}
	}
	for _, f := range s.faults.Picks(track) {
		if !f.rejects() {
			set.add(f)
		}
	}
	return set
}

// writeRejection answers a submit accept refused.
func (s *Server) writeRejection(w http.ResponseWriter, why rejection) {
	switch why {
	case rejectedClosed:
		writeJSON(w, http.StatusServiceUnavailable, errorBody("Service is shutting down. Please try again later."))
	case rejected5xx:
		writeJSON(w, http.StatusInternalServerError, errorBody("Internal Server Error. Please try again later."))
	case rejected429:
		secs := int(math.Ceil(s.opts.RetryAfter.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{
			"status":      "error",
			"message":     fmt.Sprintf("Rate limit exceeded. Maximum %d queued requests allowed.", s.opts.QueueLimit),
			"retry_after": secs,
		})
	}
}

// lookupLocked returns the request with the given id if key submitted
// it. s.mu must be held.
func (s *Server) lookupLocked(id, key string) *request {
	n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
	if err != nil {
		return nil
	}
	req := s.requests[n]
	if req == nil || req.key != key {
		return nil
	}
	return req
}

// The provider's error bodies.
const (
	tipEnterprise     = "Get 20x faster image generation using enterprise plan. Click here : https://modelslab.com/enterprise"
	tipInvalidRequest = "1. Make sure you are passing Content-Type: application/json in header. 2. Make sure you are doing POST request with valid JSON. 3. Make sure your JSON does not have error, use jsonlint to validate json array"
)

func errorBody(msg string) map[string]any {
	return map[string]any{"status": "error", "message": msg}
}

func invalidAPIRequest() map[string]any {
	return map[string]any{"status": "error", "message": "Invalid API Request", "tip": tipInvalidRequest}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"status":"error","message":"encode reply"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// errNotJSON is any body the provider would answer "Invalid API Request".
var errNotJSON = errors.New("body is not a JSON object")

// decodeBody reads a JSON object body, keeping numbers as json.Number so
// they echo back exactly as sent. With allowEmpty an empty body (and no
// Content-Type) is an empty object.
func decodeBody(r *http.Request, allowEmpty bool) (map[string]any, error) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil || len(raw) > maxBodyBytes {
		return nil, errNotJSON
	}
	if allowEmpty && len(bytes.TrimSpace(raw)) == 0 {
		return map[string]any{}, nil
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, errNotJSON
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, errNotJSON
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errNotJSON
	}
	return m, nil
}

// scalarString reads a string or number parameter; anything else is "".
func scalarString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/genflow/genflow/webhookurl"
)

// answer is how the gateway answered one webhook.
type answer struct {
	// code is the HTTP status; 0 when no answer came (connection refused
	// or reset, timeout).
	code int
	// delivered: 200 with matched true and not delivered false, the
	// gateway's word that Temporal took the signal.
	delivered bool
	latency   time.Duration
}

// recorder counts the gateway's answers, per track_id for the delivered
// ones: the count a workflow's WebhooksReceived must reach.
type recorder struct {
	mu        sync.Mutex
	delivered map[string]int
	codes     map[int]int
	// refused counts 200s that said delivered:false (the per-run cap, a
	// permanent refusal by Temporal); unmatched 200 matched:false.
	refused, unmatched int
	latencies          []time.Duration
}

func newRecorder() *recorder {
	return &recorder{delivered: map[string]int{}, codes: map[int]int{}}
}

// gatewayReply is the JSON the gateway answers a webhook with.
type gatewayReply struct {
	Matched   *bool `json:"matched"`
	Delivered *bool `json:"delivered"`
}

// classify reads a gateway reply.
func classify(code int, body []byte) (delivered, unmatched, refused bool) {
	if code != http.StatusOK {
		return false, false, false
	}
	var r gatewayReply
	if json.Unmarshal(body, &r) != nil || r.Matched == nil {
		return false, false, false
	}
	switch {
	case !*r.Matched:
		return false, true, false
	case r.Delivered != nil && !*r.Delivered:
		return false, false, true
	}
	return true, false, false
}

func (r *recorder) add(track string, code int, body []byte, latency time.Duration) answer {
	delivered, unmatched, refused := classify(code, body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.codes[code]++
	if code != 0 {
		r.latencies = append(r.latencies, latency)
	}
	switch {
	case delivered:
		r.delivered[track]++
	case unmatched:
		r.unmatched++
	case refused:
		r.refused++
	}
	return answer{code: code, delivered: delivered, latency: latency}
}

// snapshot is a copy of a recorder's counts.
type snapshot struct {
	delivered          map[string]int
	codes              map[int]int
	refused, unmatched int
	latencies          []time.Duration
}

func (r *recorder) snapshot() snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := snapshot{delivered: map[string]int{}, codes: map[int]int{}, refused: r.refused, unmatched: r.unmatched,
		latencies: slices.Clone(r.latencies)}
	for k, v := range r.delivered {
		s.delivered[k] = v
	}
	for k, v := range r.codes {
		s.codes[k] = v
	}
	return s
}

// merge adds o's counts to s.
func (s *snapshot) merge(o snapshot) {
	for k, v := range o.delivered {
		s.delivered[k] += v
	}
	for k, v := range o.codes {
		s.codes[k] += v
	}
	s.refused += o.refused
	s.unmatched += o.unmatched
	s.latencies = append(s.latencies, o.latencies...)
}

// count5xx is how many answers were 5xx.
func (s snapshot) count5xx() int {
	n := 0
	for code, v := range s.codes {
		if code >= 500 {
			n += v
		}
	}
	return n
}

// text lists the answers: "5059×200 delivered, 12×200 matched:false,
// 256×503, 3 unanswered".
func (s snapshot) text() string {
	var delivered int
	for _, v := range s.delivered {
		delivered += v
	}
	var parts []string
	if delivered > 0 {
		parts = append(parts, fmt.Sprintf("%d×200 delivered", delivered))
	}
	if s.unmatched > 0 {
		parts = append(parts, fmt.Sprintf("%d×200 matched:false", s.unmatched))
	}
	if s.refused > 0 {
		parts = append(parts, fmt.Sprintf("%d×200 delivered:false", s.refused))
	}
	if other := s.codes[200] - delivered - s.unmatched - s.refused; other > 0 {
		parts = append(parts, fmt.Sprintf("%d×200 other", other))
	}
	codes := make([]int, 0, len(s.codes))
	for c := range s.codes {
		if c != 200 && c != 0 {
			codes = append(codes, c)
		}
	}
	slices.Sort(codes)
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", s.codes[c], c))
	}
	if s.codes[0] > 0 {
		parts = append(parts, fmt.Sprintf("%d unanswered", s.codes[0]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// tap is a reverse proxy between the fake's webhooks and the gateway: the
// worker hands out webhook URLs on the tap, which forwards each POST and
// records the gateway's answer. When the gateway cannot be reached it
// answers 502, as a load balancer in front of a gateway that is down
// would; those are counted as unanswered (code 0), not as the gateway's.
type tap struct {
	URL  string
	rec  *recorder
	to   string
	http *http.Client
	srv  *http.Server
	done chan struct{}
}

func newTap(gatewayURL string) (*tap, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t := &tap{URL: "http://" + ln.Addr().String(), rec: newRecorder(), to: gatewayURL, http: newHTTPClient(),
		done: make(chan struct{})}
	t.srv = &http.Server{Handler: t, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(t.done)
		_ = t.srv.Serve(ln)
	}()
	return t, nil
}

func (t *tap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, t.to+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	track := strings.TrimPrefix(r.URL.Path, webhookurl.PathPrefix)
	start := time.Now()
	resp, err := t.http.Do(req)
	if err != nil {
		t.rec.add(track, 0, nil, time.Since(start))
		http.Error(w, "gateway unreachable: "+err.Error(), http.StatusBadGateway)
		return
	}
	reply, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.rec.add(track, 0, nil, time.Since(start))
		http.Error(w, "gateway reply cut: "+err.Error(), http.StatusBadGateway)
		return
	}
	t.rec.add(track, resp.StatusCode, reply, time.Since(start))
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		w.Header().Set("Retry-After", ra)
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(reply)
}

func (t *tap) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.srv.Shutdown(ctx); err != nil {
		_ = t.srv.Close()
	}
	<-t.done
	t.http.CloseIdleConnections()
}

// post sends one webhook to the gateway and records its answer in rec.
func (s *stack) post(ctx context.Context, rec *recorder, url, track string, body []byte, contentType string) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return rec.add(track, 0, nil, 0)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	start := time.Now()
	resp, err := s.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return answer{} // the suite stopped sending: not an answer
		}
		return rec.add(track, 0, nil, time.Since(start))
	}
	reply, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		if ctx.Err() != nil {
			return answer{}
		}
		return rec.add(track, 0, nil, time.Since(start))
	}
	return rec.add(track, resp.StatusCode, reply, time.Since(start))
}

// pace calls fn about rate times a second for d (or until ctx is done)
// from up to senders goroutines. A call that finds every sender busy is
// skipped and counted: the load is open-loop, so a slow gateway shows as
// a lower achieved rate, not as a slower schedule.
func pace(ctx context.Context, rate float64, d time.Duration, senders int, fn func(ctx context.Context, i int)) (sent, skipped int) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan int, senders)
	var wg sync.WaitGroup
	var done atomic.Int64
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				fn(ctx, i)
				done.Add(1)
			}
		}()
	}
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	next := 0
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case now := <-tick.C:
			el := now.Sub(start)
			if el >= d {
				break loop
			}
			due := int(rate * el.Seconds())
			for ; next < due; next++ {
				select {
				case work <- next:
				default:
					skipped++
				}
			}
		}
	}
	close(work)
	wg.Wait()
	return int(done.Load()), skipped
}

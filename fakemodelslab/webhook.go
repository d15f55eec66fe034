package fakemodelslab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/genflow/genflow/modelslab"
)

// webhookUserAgent is sent with every webhook; the provider's own is
// undocumented.
const webhookUserAgent = "fakemodelslab-webhook/1"

// process waits out the processing time of req, finishes it and delivers
// its webhooks. It runs in its own goroutine, counted by s.wg.
func (s *Server) process(req *request, counted bool) {
	defer s.wg.Done()
	if !s.sleep(req.processing) {
		return
	}
	doneAt := s.finish(req, counted)
	if req.webhook == "" {
		return
	}
	log := s.opts.Logger.With("id", req.id, "track_id", req.track)
	if req.faults.has(FaultDrop) {
		s.count(func(st *Stats) { st.WebhooksDropped++ })
		log.Info("webhook dropped by fault")
		return
	}
	if req.faults.has(FaultDelay) {
		log.Info("webhook delayed by fault", "delay", req.delay)
		if !s.sleep(req.delay) {
			return
		}
	}
	var terminal, stale map[string]any
	switch req.ep.Protocol {
	case modelslab.ProtocolTraining:
		terminal, stale = trainingWebhook(req), trainingStaleWebhook(req)
	case modelslab.ProtocolWorkflow:
		terminal, stale = workflowWebhook(req, doneAt), workflowStaleWebhook(req)
	default:
		terminal, stale = generationWebhook(req), generationStaleWebhook(req)
	}
	if req.faults.has(FaultWrongID) {
		for _, m := range []map[string]any{terminal, stale} {
			for _, k := range []string{"id", "model_id", "execution_id"} {
				if v, ok := m[k]; ok {
					m[k] = WrongID(v)
				}
			}
		}
	}
	s.deliver(req, "terminal", terminal)
	if req.faults.has(FaultDuplicate) {
		s.deliver(req, "duplicate", terminal)
	}
	if req.faults.has(FaultReorder) {
		s.deliver(req, "stale", stale)
	}
}

// WrongID is the id FaultWrongID's webhooks carry for a request whose id
// is id: a number 1,000,000,000 higher (as a string when id is one, as
// the provider's webhooks send it), or a string id with "x" appended.
func WrongID(id any) any {
	switch v := id.(type) {
	case int64:
		return v + 1_000_000_000
	case string:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return strconv.FormatInt(n+1_000_000_000, 10)
		}
		return v + "x"
	default:
		return id
	}
}

// finish marks req done and frees its queue slot.
func (s *Server) finish(req *request, counted bool) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	req.done, req.doneAt = true, time.Now()
	if counted {
		s.inflight[req.key]--
		if s.inflight[req.key] <= 0 {
			delete(s.inflight, req.key)
		}
		s.stats.InFlight--
	}
	if req.failed() {
		s.stats.Failed++
	} else {
		s.stats.Succeeded++
	}
	s.opts.Logger.Info("request done", "id", req.id, "track_id", req.track, "failed", req.failed())
	return req.doneAt
}

// deliver POSTs payload to the request's webhook URL, exactly as the
// client gave it, retrying non-2xx answers and connection errors with
// exponential backoff.
func (s *Server) deliver(req *request, kind string, payload map[string]any) {
	body, err := json.Marshal(payload)
	if err != nil {
		s.opts.Logger.Error("encode webhook", "id", req.id, "error", err)
		return
	}
	log := s.opts.Logger.With("id", req.id, "track_id", req.track, "kind", kind)
	backoff := s.opts.WebhookBackoff
	for attempt := 1; ; attempt++ {
		err := s.post(req.webhook, body)
		if err == nil {
			s.mu.Lock()
			s.stats.WebhooksSent++
			if t := s.trackLocked(req.track); t != nil {
				t.WebhooksSent++
			}
			s.mu.Unlock()
			log.Info("webhook delivered", "attempt", attempt)
			return
		}
		if s.ctx.Err() != nil {
			return
		}
		s.count(func(st *Stats) { st.WebhookErrors++ })
		if attempt >= s.opts.WebhookAttempts {
			s.count(func(st *Stats) { st.WebhooksUndelivered++ })
			log.Warn("webhook undelivered", "attempts", attempt, "error", err)
			return
		}
		log.Info("webhook attempt failed", "attempt", attempt, "retry_in", backoff, "error", err)
		if !s.sleep(backoff) {
			return
		}
		backoff *= 2
	}
}

func (s *Server) post(url string, body []byte) error {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", webhookUserAgent)
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("receiver answered HTTP %d", resp.StatusCode)
	}
	return nil
}

// sleep waits d, or until Close; it reports whether d passed.
func (s *Server) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

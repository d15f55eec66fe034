package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/starter"
	"github.com/genflow/genflow/trackid"
	"github.com/genflow/genflow/webhookurl"
)

// abuseCase is one request of the abuse list.
type abuseCase struct {
	name        string
	url         string
	body        []byte
	contentType string
	header      http.Header
	// want is the status wanted; 0 means any 4xx.
	want int
}

// abuse sends the abuse list to the gateway (forged and foreign
// signatures, an expired URL, a 10 MB body, 100,000-deep JSON, a 70 KB
// header, a wrong content type, trailing data, a body for another run,
// slow headers, invalid track_ids), replays a finished run's webhook and
// runs odd but valid track_ids end to end. Every abusive request must be
// a 4xx (or, for slow headers, a closed connection), none may reach a
// run, and the gateway must neither panic nor restart.
func (su *suite) abuse(ctx context.Context, s *stack, r *result) error {
	tag := su.tag
	open := "fk-ab-open-" + tag
	done := "fk-ab-done-" + tag
	odd := "fk-ab-odd-" + tag + `-!$&'()*+,;=:@~[]{}|^"<>` + "`"
	long := "fk-ab-long-" + tag + "-"
	long += strings.Repeat("x", trackid.MaxLen-len(long))
	invalid := []string{
		"fk-ab-bad " + tag, "fk-ab-ünï-" + tag, "fk-ab/" + tag, "fk-ab-%41-" + tag, "..",
		"fk-ab-tab\t" + tag, strings.Repeat("y", trackid.MaxLen+1), strings.Repeat("z", 10<<10),
	}
	if err := s.setFaults(ctx, fakemodelslab.Faults{Rules: []fakemodelslab.Rule{{Match: "fk-ab-open-", Fault: fakemodelslab.FaultDrop}}}); err != nil {
		return err
	}
	for _, id := range invalid {
		_, err := starter.Start(ctx, s.c, s.cfg, id, generationInput(0, 0))
		r.check(err != nil, "the starter accepted the invalid track_id %.40q", id)
	}
	if err := startRuns(ctx, s, []string{open}, time.Hour); err != nil {
		return err
	}
	if err := startRuns(ctx, s, []string{done, odd, long}, 5*time.Second); err != nil {
		return err
	}
	pids, err := awaitWaiting(ctx, s, []string{open})
	if err != nil {
		return err
	}
	for _, id := range []string{done, odd, long} {
		if err := waitFor(ctx, time.Minute, id+" done", func() bool {
			d, err := s.c.DescribeWorkflow(ctx, id, "")
			return err == nil && d.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		}); err != nil {
			return err
		}
	}
	openBefore, err := starter.QueryState(ctx, s.c, open, "")
	if err != nil {
		return err
	}
	doneSignals, err := countSignals(ctx, s, done)
	if err != nil {
		return err
	}
	gwPID := s.gateway.pid()

	openURL, doneURL := s.webhookURL(open), s.webhookURL(done)
	body := webhookBody(open, modelslab.StatusProcessing, pids[0], s.fakeURL)
	forged := withQuery(openURL, "sig", randomSig())
	foreign := pathOf(openURL) + "?" + queryOf(doneURL)
	expired, _ := s.signer.URL(open, time.Now().Add(-time.Minute))
	big := append(append([]byte(`{"status":"processing","id":"1","pad":"`), bytes.Repeat([]byte("x"), 10<<20)...), `"}`...)
	deepArray := append(bytes.Repeat([]byte("["), 100000), bytes.Repeat([]byte("]"), 100000)...)
	deepObject := append(bytes.Repeat([]byte(`{"a":`), 100000), bytes.Repeat([]byte("}"), 100000)...)
	cases := []abuseCase{
		{name: "forged sig", url: forged, body: body, want: http.StatusUnauthorized},
		{name: "another run's sig", url: foreign, body: body, want: http.StatusUnauthorized},
		{name: "no sig", url: pathOf(openURL), body: body, want: http.StatusUnauthorized},
		{name: "expired URL", url: expired, body: body, want: http.StatusUnauthorized},
		{name: "10 MB body", url: openURL, body: big, want: http.StatusRequestEntityTooLarge},
		{name: "100,000-deep JSON array", url: openURL, body: deepArray, want: http.StatusBadRequest},
		{name: "100,000-deep JSON object", url: openURL, body: deepObject, want: http.StatusBadRequest},
		{name: "70 KB header", url: openURL, body: body, header: http.Header{"X-Pad": {strings.Repeat("p", 70<<10)}},
			want: http.StatusRequestHeaderFieldsTooLarge},
		{name: "wrong content type", url: openURL, body: body, contentType: "text/plain", want: http.StatusUnsupportedMediaType},
		{name: "trailing JSON data", url: openURL, body: append(append([]byte{}, body...), `{"status":"success"}`...), want: http.StatusBadRequest},
		{name: "another run's body", url: openURL, body: webhookBody(done, modelslab.StatusSuccess, pids[0], s.fakeURL),
			want: http.StatusBadRequest},
		{name: "not a webhook", url: openURL, body: []byte(`{"hello":"world"}`), want: http.StatusBadRequest},
	}
	for _, id := range invalid {
		u, err := s.signer.URL(id, time.Now().Add(time.Hour))
		if err != nil {
			return err
		}
		cases = append(cases, abuseCase{name: fmt.Sprintf("signed invalid track_id %.24q", id), url: u,
			body: webhookBody(id, modelslab.StatusSuccess, "1", s.fakeURL)})
	}

	slow := make(chan slowResult, 1)
	go func() { slow <- slowHeaders(ctx, s.gatewayURL, pathOf(openURL)) }()

	rec := newRecorder()
	codes := map[int]int{}
	for _, c := range cases {
		a := s.postAbuse(ctx, rec, c)
		codes[a.code]++
		ok := a.code >= 400 && a.code < 500 && (c.want == 0 || a.code == c.want)
		r.check(ok, "%s: answered %d, want %s", c.name, a.code, wantText(c.want))
	}
	// A finished run's webhook, replayed: 200 matched:false, no signal.
	replay := s.post(ctx, rec, doneURL, done, webhookBody(done, modelslab.StatusSuccess, "1", s.fakeURL), "application/json")
	r.check(replay.code == 200 && !replay.delivered, "the replay of a finished run's webhook answered %d delivered=%v, want 200 matched:false",
		replay.code, replay.delivered)
	sl := <-slow
	r.check(sl.err == nil, "slow headers: %v", sl.err)
	r.check(sl.status == 0 || (sl.status >= 400 && sl.status < 500), "slow headers answered %d", sl.status)

	openAfter, err := starter.QueryState(ctx, s.c, open, "")
	if err != nil {
		return err
	}
	r.check(openAfter.WebhooksReceived == openBefore.WebhooksReceived, "the open run recorded %d webhook(s) during the abuse list",
		openAfter.WebhooksReceived-openBefore.WebhooksReceived)
	doneAfter, err := countSignals(ctx, s, done)
	if err != nil {
		return err
	}
	r.check(doneAfter == doneSignals, "the finished run got %d signal(s) from the replay", doneAfter-doneSignals)
	r.check(s.gateway.pid() == gwPID && gwPID != 0, "the gateway process died or restarted (pid %d, then %d)", gwPID, s.gateway.pid())
	r.check(!s.gatewayLogHas("panic"), "the gateway logged a panic (see %s)", s.gateway.logPath)
	r.RSSAfter = s.gateway.rssMiB()

	// Settle the open run with its result, then check every run.
	if err := finishTargets(ctx, s, rec, []string{open}, pids); err != nil {
		return err
	}
	if _, err := waitClosed(ctx, s, "fk-ab-", su.o.bound); err != nil {
		return err
	}
	runs := []string{open, done, odd, long}
	outs := collect(ctx, s, runs)
	all := rec.snapshot()
	all.merge(s.tap.rec.snapshot())
	r.tally(outs, all)
	for _, o := range outs[1:] {
		r.check(o.status != "succeeded" || o.res.LearnedBy == contract.LearnedWebhook, "%.40q learned by %s, not by its webhook", o.id, o.res.LearnedBy)
	}
	st, err := s.fakeStats(ctx)
	if err != nil {
		return err
	}
	r.countDoubles(st, runs)
	r.Count5xx = all.count5xx()
	r.webhookLatencies = rec.snapshot().latencies
	r.P99, r.P99What = percentile(r.webhookLatencies, 0.99), "answer"
	r.fact("%d abusive requests: %s", len(cases), codesText(codes))
	r.fact("slow headers (a byte a second): %s", sl.text())
	r.fact("replay of a finished run's webhook: %d matched:false, no signal", replay.code)
	r.fact("the starter refused all %d invalid track_ids (space, non-ASCII, /, %%, .., tab, 201 bytes, 10 KB); the odd track_id %q and a 200-byte one ran end to end", len(invalid), odd[len("fk-ab-odd-"+tag+"-"):])
	r.check(r.Count5xx == 0, "%d 5xx answers", r.Count5xx)
	r.checkCommon()
	return nil
}

func wantText(code int) string {
	if code == 0 {
		return "a 4xx"
	}
	return fmt.Sprint(code)
}

func codesText(codes map[int]int) string {
	keys := make([]int, 0, len(codes))
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d×%d", codes[k], k))
	}
	return strings.Join(parts, ", ")
}

// postAbuse sends one case.
func (s *stack) postAbuse(ctx context.Context, rec *recorder, c abuseCase) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(c.body))
	if err != nil {
		return rec.add("", 0, nil, 0)
	}
	ct := c.contentType
	if ct == "" {
		ct = "application/json"
	}
	req.Header.Set("Content-Type", ct)
	for k, v := range c.header {
		req.Header[k] = v
	}
	track := ""
	if u, err := url.Parse(c.url); err == nil {
		track = strings.TrimPrefix(u.Path, webhookurl.PathPrefix)
	}
	start := time.Now()
	resp, err := s.http.Do(req)
	if err != nil {
		return rec.add(track, 0, nil, time.Since(start))
	}
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return rec.add(track, resp.StatusCode, reply, time.Since(start))
}

// countSignals counts the signals in a run's history.
func countSignals(ctx context.Context, s *stack, id string) (int, error) {
	it := s.c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return 0, err
		}
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED {
			n++
		}
	}
	return n, nil
}

func pathOf(u string) string {
	p, _, _ := strings.Cut(u, "?")
	return p
}

func queryOf(u string) string {
	_, q, _ := strings.Cut(u, "?")
	return q
}

func withQuery(u, key, value string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := pu.Query()
	q.Set(key, value)
	pu.RawQuery = q.Encode()
	return pu.String()
}

func randomSig() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// slowResult is how the gateway treated a client sending its headers a
// byte a second.
type slowResult struct {
	closedAfter time.Duration
	status      int
	err         error
}

func (s slowResult) text() string {
	if s.status != 0 {
		return fmt.Sprintf("answered %d after %s", s.status, durationText(s.closedAfter))
	}
	return fmt.Sprintf("connection closed after %s with no answer", durationText(s.closedAfter))
}

// slowHeaders sends a request line and then one header byte a second;
// the gateway must cut it off within its header timeout (plus a margin).
func slowHeaders(ctx context.Context, base, path string) slowResult {
	const limit = 40 * time.Second
	host := strings.TrimPrefix(base, "http://")
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", host)
	if err != nil {
		return slowResult{err: err}
	}
	defer conn.Close()
	start := time.Now()
	_ = conn.SetDeadline(start.Add(limit))
	if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-Slow: ", path, host); err != nil {
		return slowResult{err: err}
	}
	read := make(chan slowResult, 1)
	go func() {
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			read <- slowResult{closedAfter: time.Since(start)}
			return
		}
		resp.Body.Close()
		read <- slowResult{closedAfter: time.Since(start), status: resp.StatusCode}
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case res := <-read:
			if res.closedAfter >= limit {
				res.err = fmt.Errorf("the connection was still open after %s", limit)
			}
			return res
		case <-tick.C:
			_, _ = conn.Write([]byte("z"))
		case <-ctx.Done():
			return slowResult{err: ctx.Err()}
		}
	}
}

package fakemodelslab

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/modelslab"
)

func TestWebhookFaults(t *testing.T) {
	t.Parallel()
	const pt = 50 * time.Millisecond
	cases := []struct {
		name  string
		fault Fault
		check func(t *testing.T, srv *Server, rc *receiver, c *modelslab.Client, sub modelslab.Result, submitted time.Time)
	}{
		{"drop", FaultDrop, func(t *testing.T, srv *Server, rc *receiver, c *modelslab.Client, sub modelslab.Result, _ time.Time) {
			st := waitStats(t, srv, func(st Stats) bool { return st.WebhooksDropped == 1 })
			require.Zero(t, st.WebhooksSent)
			rc.none(t)
			got := awaitTerminal(t, c, endpoint(t, "text2img"), sub.ID, nil)
			require.Equal(t, modelslab.StatusSuccess, got.Status, "fetch still works")
		}},
		{"duplicate", FaultDuplicate, func(t *testing.T, srv *Server, rc *receiver, _ *modelslab.Client, sub modelslab.Result, _ time.Time) {
			first, second := rc.next(t), rc.next(t)
			require.Equal(t, first.Body, second.Body)
			require.Equal(t, first.RequestURI, second.RequestURI)
			require.Equal(t, modelslab.StatusSuccess, first.result(t).Status)
			require.Equal(t, sub.ID, second.result(t).ID)
			waitStats(t, srv, func(st Stats) bool { return st.WebhooksSent == 2 })
		}},
		{"delay", FaultDelay, func(t *testing.T, srv *Server, rc *receiver, c *modelslab.Client, sub modelslab.Result, submitted time.Time) {
			// The result is fetchable before the late webhook comes.
			got := awaitTerminal(t, c, endpoint(t, "text2img"), sub.ID, nil)
			require.Equal(t, modelslab.StatusSuccess, got.Status)
			h := rc.next(t)
			require.GreaterOrEqual(t, h.At.Sub(submitted), pt+300*time.Millisecond)
			require.Equal(t, modelslab.StatusSuccess, h.result(t).Status)
		}},
		{"reorder", FaultReorder, func(t *testing.T, srv *Server, rc *receiver, _ *modelslab.Client, sub modelslab.Result, _ time.Time) {
			terminal, stale := rc.next(t).result(t), rc.next(t).result(t)
			require.Equal(t, modelslab.StatusSuccess, terminal.Status)
			require.Equal(t, modelslab.StatusProcessing, stale.Status)
			require.Equal(t, sub.ID, stale.ID)
			require.Equal(t, sub.TrackID, stale.TrackID)
		}},
		{"fail", FaultFail, func(t *testing.T, srv *Server, rc *receiver, c *modelslab.Client, sub modelslab.Result, _ time.Time) {
			h := rc.next(t)
			var m map[string]any
			require.NoError(t, json.Unmarshal(h.Body, &m))
			require.Equal(t, map[string]any{"status": "failed", "id": sub.ID,
				"message": "Processing failed: Invalid input dimensions", "track_id": sub.TrackID}, m)
			wh := h.result(t)
			require.Equal(t, modelslab.StatusFailed, wh.Status)

			got := awaitTerminal(t, c, endpoint(t, "text2img"), sub.ID, nil)
			require.Equal(t, modelslab.StatusFailed, got.Status)
			require.Equal(t, "Processing failed: Invalid input dimensions", got.Message)
			resp, _ := get(t, sub.FutureLinks[0])
			require.Equal(t, http.StatusNotFound, resp.StatusCode, "a failed request has no files")
			require.Equal(t, 1, srv.Stats().Failed)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			track := "f-" + tc.name
			srv := newFake(t, Options{ProcessingTime: pt, Faults: Faults{
				Rules: []Rule{{Match: track, Fault: tc.fault}},
				Delay: 300 * time.Millisecond,
			}})
			rc := newReceiver(t, nil)
			c := newClient(t, srv, "k")
			submitted := time.Now()
			sub, err := c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: endpoint(t, "text2img"),
				Params: text2img(), WebhookURL: rc.URL + "/hook?sig=s", TrackID: track})
			require.NoError(t, err)
			require.Equal(t, modelslab.StatusProcessing, sub.Status)
			tc.check(t, srv, rc, c, sub, submitted)
			require.Equal(t, 1, srv.Submissions(track))
		})
	}
}

func TestImmediateFault(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{Faults: Faults{Rules: []Rule{{Fault: FaultImmediate}}}})
	rc := newReceiver(t, nil)
	c := newClient(t, srv, "k")
	sub, err := c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: endpoint(t, "text2img"),
		Params: text2img(), WebhookURL: rc.URL + "/hook", TrackID: "now"})
	require.NoError(t, err)
	require.Equal(t, modelslab.StatusSuccess, sub.Status)
	require.Len(t, sub.Output, 1)
	resp, body := get(t, sub.Output[0])
	require.Equal(t, http.StatusOK, resp.StatusCode)
	checkFile(t, "png", body)

	got, err := c.Fetch(context.Background(), endpoint(t, "text2img"), sub.ID, nil)
	require.NoError(t, err)
	require.Equal(t, sub.Output, got.Output)

	st := srv.Stats()
	require.Equal(t, 1, st.Immediate)
	require.Equal(t, 1, st.Accepted)
	require.Zero(t, st.InFlight)
	require.Zero(t, st.WebhooksSent)
	require.Equal(t, 1, srv.Submissions("now"))
	rc.none(t)
}

// TestSlowSubmitFault checks that slow-submit accepts the request at once
// (it is recorded, counted in flight and its webhook comes, here before
// the reply) while the reply waits SubmitDelay, and that a client that
// hangs up does not undo the submit.
func TestSlowSubmitFault(t *testing.T) {
	t.Parallel()
	const hold = 600 * time.Millisecond
	srv := newFake(t, Options{ProcessingTime: 50 * time.Millisecond, Faults: Faults{
		Rules: []Rule{{Match: "slow-", Fault: FaultSlowSubmit}}, SubmitDelay: hold,
	}})
	rc := newReceiver(t, nil)
	c := newClient(t, srv, "k")

	type reply struct {
		res modelslab.Result
		err error
		at  time.Time
	}
	start := time.Now()
	done := make(chan reply, 1)
	go func() {
		res, err := c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: endpoint(t, "text2img"),
			Params: text2img(), WebhookURL: rc.URL + "/hook", TrackID: "slow-1"})
		done <- reply{res, err, time.Now()}
	}()
	st := waitStats(t, srv, func(st Stats) bool { return st.SubmitsInFlight == 1 && st.Accepted == 1 })
	require.Equal(t, []string{"slow-1"}, st.Submitting)
	require.Len(t, st.Tracks["slow-1"].SubmittedAt, 1)
	require.WithinDuration(t, start, st.Tracks["slow-1"].SubmittedAt[0], hold/2, "accepted at once")

	h := rc.next(t)
	require.Equal(t, modelslab.StatusSuccess, h.result(t).Status, "the webhook does not wait for the reply")
	r := <-done
	require.NoError(t, r.err)
	require.Equal(t, modelslab.StatusProcessing, r.res.Status)
	require.GreaterOrEqual(t, r.at.Sub(start), hold)
	require.True(t, h.At.Before(r.at), "webhook at %s, reply at %s", h.At, r.at)
	st = srv.Stats()
	require.Zero(t, st.SubmitsInFlight)
	require.Empty(t, st.Submitting)

	// A client that gives up mid-wait: the provider still has the
	// request, so a retry submits a second time.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Submit(ctx, modelslab.SubmitRequest{Endpoint: endpoint(t, "text2img"),
		Params: text2img(), WebhookURL: rc.URL + "/hook", TrackID: "slow-2"})
	require.Error(t, err)
	require.Equal(t, 1, srv.Submissions("slow-2"))
	waitStats(t, srv, func(st Stats) bool { return st.SubmitsInFlight == 0 })

	// Other track_ids are answered at once.
	start = time.Now()
	_, err = c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: endpoint(t, "text2img"),
		Params: text2img(), TrackID: "fast-1"})
	require.NoError(t, err)
	require.Less(t, time.Since(start), hold)
}

func TestSubmitRejectFaults(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		rule      Rule
		attempts  int
		failures  int
		wantType  string
		wantHTTP  int
		wantRetry time.Duration
	}{
		{"5xx twice", Rule{Match: "flaky", Fault: Fault5xx, Times: 2}, 3, 2, modelslab.ErrTypeServer, http.StatusInternalServerError, 0},
		{"5xx always", Rule{Fault: Fault5xx}, 4, 4, modelslab.ErrTypeServer, http.StatusInternalServerError, 0},
		{"429 once", Rule{Match: "flaky", Fault: Fault429, Times: 1}, 2, 1, modelslab.ErrTypeRateLimited, http.StatusTooManyRequests, time.Second},
		{"no match", Rule{Match: "other", Fault: Fault5xx}, 1, 0, "", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t, Options{Faults: Faults{Rules: []Rule{tc.rule}}})
			c := newClient(t, srv, "k")
			for i := range tc.attempts {
				_, err := c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: endpoint(t, "text2img"),
					Params: text2img(), TrackID: "flaky-1"})
				if i >= tc.failures {
					require.NoError(t, err, "attempt %d", i+1)
					continue
				}
				e := asError(t, err)
				require.Equal(t, tc.wantType, e.Type, "attempt %d", i+1)
				require.Equal(t, tc.wantHTTP, e.HTTPStatus)
				require.Equal(t, tc.wantRetry, e.RetryAfter)
				require.True(t, e.Retryable())
			}
			st := srv.Stats()
			require.Equal(t, tc.attempts-tc.failures, srv.Submissions("flaky-1"))
			require.Equal(t, tc.failures, st.Tracks["flaky-1"].Rejected)
			require.Equal(t, tc.failures, st.Rejected5xx+st.Rejected429)
		})
	}
}

func TestFaultRatesMatchPicks(t *testing.T) {
	t.Parallel()
	faults := Faults{Rates: map[Fault]float64{FaultFail: 0.3, Fault429: 0.3}}
	srv := newFake(t, Options{Faults: faults, QueueLimit: 100, ProcessingTime: 20 * time.Millisecond})
	c := newClient(t, srv, "k")
	var failed, limited int
	for i := range 30 {
		track := fmt.Sprintf("rate-%02d", i)
		picks := faults.Picks(track)
		_, err := c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: endpoint(t, "text2img"),
			Params: text2img(), TrackID: track})
		if contains(picks, Fault429) {
			limited++
			require.Equal(t, modelslab.ErrTypeRateLimited, asError(t, err).Type, track)
			// A rate-picked 429 fails the first attempt only.
			_, err = c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: endpoint(t, "text2img"),
				Params: text2img(), TrackID: track})
		}
		require.NoError(t, err, track)
		ids := srv.Stats().Tracks[track].IDs
		require.Len(t, ids, 1)
		got := awaitTerminal(t, c, endpoint(t, "text2img"), ids[0], nil)
		if contains(picks, FaultFail) {
			failed++
			require.Equal(t, modelslab.StatusFailed, got.Status, track)
		} else {
			require.Equal(t, modelslab.StatusSuccess, got.Status, track)
		}
	}
	require.NotZero(t, failed, "some track ids are picked")
	require.NotEqual(t, 30, failed, "not all track ids are picked")
	require.NotZero(t, limited)
}

func contains(fs []Fault, f Fault) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}

func TestPicks(t *testing.T) {
	t.Parallel()
	f := Faults{Rates: map[Fault]float64{FaultDrop: 0.25, FaultDuplicate: 1, FaultFail: 0}}
	picked := 0
	const n = 4000
	for i := range n {
		track := fmt.Sprintf("t-%d", i)
		p := f.Picks(track)
		require.Equal(t, p, f.Picks(track), "deterministic")
		require.Contains(t, p, FaultDuplicate, "rate 1 picks every track")
		require.NotContains(t, p, FaultFail, "rate 0 picks none")
		if contains(p, FaultDrop) {
			picked++
		}
	}
	require.InDelta(t, 0.25, float64(picked)/n, 0.03)
	require.Empty(t, f.Picks(""), "no track_id, no pick")
	require.Empty(t, Faults{}.Picks("x"))
}

func TestSetFaults(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{})
	c := newClient(t, srv, "k")
	submit := func() error {
		_, err := c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: endpoint(t, "text2img"), Params: text2img(), TrackID: "s"})
		return err
	}
	require.NoError(t, submit())
	require.NoError(t, srv.SetFaults(Faults{Rules: []Rule{{Fault: Fault5xx, Times: 1}}}))
	require.Error(t, submit())
	require.NoError(t, submit())
	// Setting faults again resets Times.
	require.NoError(t, srv.SetFaults(srv.Faults()))
	require.Error(t, submit())

	err := srv.SetFaults(Faults{Rules: []Rule{{Fault: "explode"}}})
	require.ErrorContains(t, err, `unknown fault "explode"`)
	require.Len(t, srv.Faults().Rules, 1, "an invalid set changes nothing")
}

func TestFaultsValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		faults  Faults
		wantErr string
	}{
		{"zero", Faults{}, ""},
		{"all known", Faults{Rules: []Rule{{Fault: FaultDrop}, {Fault: Fault429, Times: 2}},
			Rates: map[Fault]float64{FaultFail: 0.5, Fault5xx: 1}, Delay: time.Second}, ""},
		{"unknown rule fault", Faults{Rules: []Rule{{Fault: "boom"}}}, `rule 1: unknown fault "boom"`},
		{"negative times", Faults{Rules: []Rule{{Fault: FaultDrop, Times: -1}}}, "rule 1: times is -1"},
		{"unknown rate fault", Faults{Rates: map[Fault]float64{"boom": 0.1}}, `rate of unknown fault "boom"`},
		{"rate above one", Faults{Rates: map[Fault]float64{FaultDrop: 1.5}}, "rate of drop is 1.5"},
		{"negative delay", Faults{Delay: -time.Second}, "delay is -1s"},
		{"negative submit delay", Faults{SubmitDelay: -time.Second}, "submit_delay is -1s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.faults.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
	require.Panics(t, func() { New(Options{Faults: Faults{Rules: []Rule{{Fault: "boom"}}}}) })
}

func TestFaultsJSON(t *testing.T) {
	t.Parallel()
	in := Faults{Rules: []Rule{{Match: "x", Fault: FaultDrop, Times: 2}}, Rates: map[Fault]float64{FaultFail: 0.1}, Delay: 1500 * time.Millisecond,
		SubmitDelay: 3 * time.Second}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	require.JSONEq(t, `{"rules":[{"match":"x","fault":"drop","times":2}],"rates":{"fail":0.1},"delay":"1.5s","submit_delay":"3s"}`, string(b))
	var out Faults
	require.NoError(t, json.Unmarshal(b, &out))
	require.Equal(t, in, out)

	cases := []struct {
		name    string
		body    string
		want    Faults
		wantErr string
	}{
		{"nanoseconds delay", `{"delay":1000}`, Faults{Delay: time.Microsecond}, ""},
		{"empty", `{}`, Faults{}, ""},
		{"unknown field", `{"rulez":[]}`, Faults{}, `unknown field "rulez"`},
		{"bad delay", `{"delay":"soon"}`, Faults{}, `delay "soon" is not a duration`},
		{"slow submit", `{"rules":[{"fault":"slow-submit"}],"submit_delay":"250ms"}`,
			Faults{Rules: []Rule{{Fault: FaultSlowSubmit}}, SubmitDelay: 250 * time.Millisecond}, ""},
		{"bad submit delay", `{"submit_delay":true}`, Faults{}, `submit_delay true is not a duration`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var f Faults
			err := json.Unmarshal([]byte(tc.body), &f)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, f)
		})
	}
}

func TestParseFaultRates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in      string
		want    map[Fault]float64
		wantErr string
	}{
		{"", nil, ""},
		{"drop=0.1,fail=0.05", map[Fault]float64{FaultDrop: 0.1, FaultFail: 0.05}, ""},
		{" 5xx = 1 , 429=0 ,", map[Fault]float64{Fault5xx: 1, Fault429: 0}, ""},
		{"DROP=0.5", map[Fault]float64{FaultDrop: 0.5}, ""},
		{"drop", nil, `"drop" is not fault=rate`},
		{"boom=0.1", nil, `unknown fault "boom"`},
		{"drop=2", nil, "rate of drop is \"2\""},
		{"drop=x", nil, "rate of drop is \"x\""},
		{"drop=0.1,drop=0.2", nil, "fault drop given twice"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseFaultRates(tc.in)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestFaultPrecedence(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		faults     []Fault
		wantSubmit modelslab.Status
		wantFinal  modelslab.Status
		wantHooks  int
		wantDrop   int
	}{
		{"fail wins over immediate", []Fault{FaultImmediate, FaultFail}, modelslab.StatusProcessing, modelslab.StatusFailed, 1, 0},
		{"immediate sends no webhook", []Fault{FaultImmediate, FaultDuplicate}, modelslab.StatusSuccess, modelslab.StatusSuccess, 0, 0},
		{"drop wins over duplicate", []Fault{FaultDuplicate, FaultDrop}, modelslab.StatusProcessing, modelslab.StatusSuccess, 0, 1},
		{"duplicate and reorder combine", []Fault{FaultDuplicate, FaultReorder}, modelslab.StatusProcessing, modelslab.StatusSuccess, 3, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var rules []Rule
			for _, f := range tc.faults {
				rules = append(rules, Rule{Fault: f})
			}
			srv := newFake(t, Options{Faults: Faults{Rules: rules}})
			rc := newReceiver(t, nil)
			c := newClient(t, srv, "k")
			sub, err := c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: endpoint(t, "text2img"),
				Params: text2img(), WebhookURL: rc.URL + "/h", TrackID: "p"})
			require.NoError(t, err)
			require.Equal(t, tc.wantSubmit, sub.Status)
			got := awaitTerminal(t, c, endpoint(t, "text2img"), sub.ID, nil)
			require.Equal(t, tc.wantFinal, got.Status)
			st := waitStats(t, srv, func(st Stats) bool {
				return st.InFlight == 0 && st.WebhooksSent+st.WebhooksDropped == tc.wantHooks+tc.wantDrop
			})
			require.Equal(t, tc.wantHooks, st.WebhooksSent)
			require.Equal(t, tc.wantDrop, st.WebhooksDropped)
		})
	}
}

// cut-files breaks each file's first download half-way; expire turns
// the output links to 404 while the proxy links serve.
func TestFileFaults(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{Faults: Faults{Rules: []Rule{
		{Match: "cut", Fault: FaultCutFiles, Times: 1}, {Match: "old", Fault: FaultExpire, Times: 1},
		{Fault: FaultImmediate},
	}}})
	c := newClient(t, srv, "k")
	submit := func(track string) modelslab.Result {
		sub, err := c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: endpoint(t, "text2img"),
			Params: text2img(), TrackID: track})
		require.NoError(t, err)
		require.Equal(t, modelslab.StatusSuccess, sub.Status)
		return sub
	}

	sub := submit("cut-1")
	resp, err := http.Get(sub.Output[0])
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.ErrorIs(t, err, io.ErrUnexpectedEOF, "the first download breaks")
	req, _ := http.NewRequest(http.MethodGet, sub.Output[0], nil)
	req.Header.Set("Range", "bytes=10-")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	tail, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusPartialContent, resp.StatusCode, "the next one resumes")
	_, whole := get(t, sub.Output[0])
	checkFile(t, "png", whole)
	require.Equal(t, whole[10:], tail)
	_, proxied := get(t, sub.ProxyLinks[0])
	require.Equal(t, whole, proxied, "one cut per file, whichever link")

	sub = submit("old-1")
	resp, _ = get(t, sub.Output[0])
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, body := get(t, sub.ProxyLinks[0])
	require.Equal(t, http.StatusOK, resp.StatusCode)
	checkFile(t, "png", body)
}

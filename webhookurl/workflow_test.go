package webhookurl

import (
	"errors"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestVerifyWorkflow(t *testing.T) {
	t.Parallel()
	rotating := newSigner(t, Options{Secrets: []string{newSecret, oldSecret}})
	oldOnly := newSigner(t, Options{Secrets: []string{oldSecret}})
	retired := newSigner(t, Options{Secrets: []string{retiredSecret}})
	strict := newSigner(t, Options{Secrets: []string{newSecret}, RefuseUnexpiring: true})
	const wf = "3f2b9c1e-wf"
	forever := rotating.SignWorkflow(wf, time.Time{})
	until := rotating.SignWorkflow(wf, expires)
	tests := []struct {
		name       string
		signer     *Signer
		workflowID string
		exp, sig   string
		at         time.Time
		want       error
	}{
		{"no expiry", rotating, wf, "", forever, now.AddDate(10, 0, 0), nil},
		{"no expiry, old secret while rotating", rotating, wf, "", oldOnly.SignWorkflow(wf, time.Time{}), now, nil},
		{"no expiry, retired secret", rotating, wf, "", retired.SignWorkflow(wf, time.Time{}), now, ErrBadSignature},
		{"no expiry is this kind's form, even when per-run URLs need one", strict, wf, "", forever, now, nil},
		{"with expiry", rotating, wf, exp, until, now, nil},
		{"with expiry, expired", rotating, wf, exp, until, expires, ErrExpired},
		{"expiry removed", rotating, wf, "", until, now, ErrBadSignature},
		{"expiry added", rotating, wf, exp, forever, now, ErrBadSignature},
		{"expiry moved", rotating, wf, strconv.FormatInt(expires.Unix()+1, 10), until, now, ErrBadSignature},
		{"exp not a number", rotating, wf, "soon", until, now, ErrBadSignature},
		{"other workflow", rotating, "3f2b9c1e-wg", "", forever, now, ErrBadSignature},
		{"empty sig", rotating, wf, "", "", now, ErrBadSignature},
		{"truncated sig", rotating, wf, "", forever[:len(forever)-1], now, ErrBadSignature},
		{"changed sig", rotating, wf, "", flipFirst(forever), now, ErrBadSignature},
		// Domain separation: a run's URL for a track_id spelled like the
		// workflow id is no workflow URL, and the other way round.
		{"a run's expiring sig", rotating, wf, exp, rotating.Sign(wf, expires), now, ErrBadSignature},
		{"a run's unexpiring sig", rotating, wf, "", legacySig(newSecret, wf), now, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.signer.VerifyWorkflow(tt.workflowID, tt.exp, tt.sig, tt.at)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
		})
	}
	t.Run("a workflow sig is no run's", func(t *testing.T) {
		t.Parallel()
		require.ErrorIs(t, rotating.Verify(wf, "", forever, now), ErrBadSignature)
		require.ErrorIs(t, rotating.Verify(wf, exp, until, now), ErrBadSignature)
	})
}

func TestWorkflowURL(t *testing.T) {
	t.Parallel()
	s := newSigner(t, Options{PublicURL: "https://example.com/base/?sig=stale#frag", Secrets: []string{newSecret}})
	raw, err := s.WorkflowURL("wf 1", time.Time{})
	require.NoError(t, err)
	require.Equal(t, "https://example.com/base/webhooks/modelslab-workflow/wf%201?sig="+s.SignWorkflow("wf 1", time.Time{}), raw)
	u, err := url.Parse(raw)
	require.NoError(t, err)
	require.Equal(t, "/base"+WorkflowPathPrefix+"wf 1", u.Path)
	require.NoError(t, s.VerifyWorkflow("wf 1", u.Query().Get("exp"), u.Query().Get("sig"), now))

	raw, err = s.WorkflowURL("wf-1", expires)
	require.NoError(t, err)
	require.Equal(t, "https://example.com/base/webhooks/modelslab-workflow/wf-1?exp="+exp+"&sig="+s.SignWorkflow("wf-1", expires), raw)
	u, err = url.Parse(raw)
	require.NoError(t, err)
	require.NoError(t, s.VerifyWorkflow("wf-1", u.Query().Get("exp"), u.Query().Get("sig"), now))

	_, err = s.WorkflowURL("", time.Time{})
	require.ErrorContains(t, err, "workflow id")
	_, err = newSigner(t, Options{Secrets: []string{newSecret}}).WorkflowURL("wf-1", time.Time{})
	require.ErrorContains(t, err, "no public URL")
	// The run URLs are unchanged by the second prefix.
	run, err := s.URL("id-1", expires)
	require.NoError(t, err)
	require.Equal(t, "https://example.com/base/webhooks/modelslab/id-1?exp="+exp+"&sig="+s.Sign("id-1", expires), run)
}

func FuzzVerifyWorkflow(f *testing.F) {
	s := newSigner(f, Options{Secrets: []string{newSecret}})
	f.Add("wf-1", "", s.SignWorkflow("wf-1", time.Time{}))
	f.Add("wf-1", exp, s.SignWorkflow("wf-1", expires))
	f.Add("wf-1", "", legacySig(newSecret, "wf-1"))
	f.Fuzz(func(t *testing.T, workflowID, exp, sig string) {
		err := s.VerifyWorkflow(workflowID, exp, sig, now)
		if err != nil && !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrExpired) {
			t.Fatalf("unexpected error %v", err)
		}
		if (err == nil || errors.Is(err, ErrExpired)) && sig != s.signWorkflow(workflowID, exp) {
			t.Fatalf("accepted sig %q for %q exp %q", sig, workflowID, exp)
		}
	})
}

package activities_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/genflow/genflow/activities"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/webhookurl"
)

const (
	apiKey  = "test-key"
	secret  = "0123456789abcdef0123"
	timeout = 10 * time.Second
)

// hook is one webhook POST the receiver got.
type hook struct {
	path  string
	query url.Values
	body  []byte
}

// receiver stands in for the gateway: the fake delivers webhooks to it.
type receiver struct {
	*httptest.Server
	hooks chan hook
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{hooks: make(chan hook, 16)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.hooks <- hook{path: r.URL.Path, query: r.URL.Query(), body: body}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) next(t *testing.T) hook {
	t.Helper()
	select {
	case h := <-rc.hooks:
		return h
	case <-time.After(timeout):
		t.Fatal("no webhook arrived")
		return hook{}
	}
}

// stack is the activities wired to a fake ModelsLab over HTTP with the
// real client and signer, run in Temporal's activity test environment.
type stack struct {
	fake     *fakemodelslab.Server
	receiver *receiver
	signer   *webhookurl.Signer
	acts     *activities.Activities
	env      *testsuite.TestActivityEnvironment
}

type stackOptions struct {
	fake fakemodelslab.Options
	// key is the client's API key; default apiKey.
	key string
	// baseURL overrides the fake's as the client's base URL.
	baseURL string
	// noPublicURL builds a signer that cannot make URLs.
	noPublicURL bool
}

func newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	rc := newReceiver(t) // registered first, so closed after the fake
	if o.fake.ProcessingTime == 0 {
		o.fake.ProcessingTime = 50 * time.Millisecond
	}
	if o.fake.WebhookBackoff == 0 {
		o.fake.WebhookBackoff = 10 * time.Millisecond
	}
	fake := fakemodelslab.NewServer(o.fake)
	t.Cleanup(fake.Close)

	if o.key == "" {
		o.key = apiKey
	}
	if o.baseURL == "" {
		o.baseURL = fake.BaseURL()
	}
	client, err := modelslab.New(modelslab.Options{BaseURL: o.baseURL, APIKey: o.key, HTTPClient: &http.Client{Timeout: timeout}})
	require.NoError(t, err)
	publicURL := rc.URL
	if o.noPublicURL {
		publicURL = ""
	}
	signer, err := webhookurl.NewSigner(webhookurl.Options{PublicURL: publicURL, Secrets: []string{secret}})
	require.NoError(t, err)

	acts := &activities.Activities{Provider: client, Webhooks: signer}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	return &stack{fake: fake, receiver: rc, signer: signer, acts: acts, env: env}
}

func (s *stack) submit(in activities.SubmitInput) (modelslab.Result, error) {
	v, err := s.env.ExecuteActivity(s.acts.Submit, in)
	if err != nil {
		return modelslab.Result{}, err
	}
	var res modelslab.Result
	if err := v.Get(&res); err != nil {
		return modelslab.Result{}, err
	}
	return res, nil
}

func (s *stack) fetch(in activities.FetchInput) (modelslab.Result, error) {
	v, err := s.env.ExecuteActivity(s.acts.Fetch, in)
	if err != nil {
		return modelslab.Result{}, err
	}
	var res modelslab.Result
	if err := v.Get(&res); err != nil {
		return modelslab.Result{}, err
	}
	return res, nil
}

func text2img(trackID string) activities.SubmitInput {
	return activities.SubmitInput{
		TrackID:  trackID,
		Endpoint: "images/text2img",
		Params:   map[string]any{"model_id": "flux", "prompt": "a red fox in snow"},
	}
}

// appError returns the application error err carries.
func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "not an application error: %T %v", err, err)
	return appErr
}

func TestSubmitSendsASignedWebhookURL(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		trackID string
		in      func(trackID string) activities.SubmitInput
		outputs int
	}{
		{"text2img", "act-ok-1", text2img, 1},
		{"short endpoint name and samples", "act-ok-2", func(id string) activities.SubmitInput {
			in := text2img(id)
			in.Endpoint = "text2img"
			in.Params["samples"] = 2
			return in
		}, 2},
		{"track_id that needs escaping", "act-été+1 x", text2img, 1},
		{"audio", "act-music-1", func(id string) activities.SubmitInput {
			return activities.SubmitInput{TrackID: id, Endpoint: "voice/music_gen", Params: map[string]any{"prompt": "lofi beat"}}
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, stackOptions{})

			res, err := s.submit(tt.in(tt.trackID))
			require.NoError(t, err)
			require.Equal(t, modelslab.StatusProcessing, res.Status)
			require.NotEmpty(t, res.ID)
			require.Equal(t, tt.trackID, res.TrackID)
			require.Empty(t, res.Output)
			require.Equal(t, 1, s.fake.Submissions(tt.trackID))

			// The fake got the signed URL for this track_id: its webhook
			// arrives there and passes the gateway's check.
			h := s.receiver.next(t)
			require.Equal(t, webhookurl.PathPrefix+tt.trackID, h.path)
			exp, sig, now := h.query.Get("exp"), h.query.Get("sig"), time.Now()
			require.NoError(t, s.signer.Verify(tt.trackID, exp, sig, now), "exp %q sig %q", exp, sig)
			require.Error(t, s.signer.Verify(tt.trackID+"x", exp, sig, now))
			other, err := webhookurl.NewSigner(webhookurl.Options{Secrets: []string{"another-secret-of-20"}})
			require.NoError(t, err)
			require.Error(t, other.Verify(tt.trackID, exp, sig, now))

			update, err := modelslab.ParseWebhook(h.body)
			require.NoError(t, err, "%s", h.body)
			require.Equal(t, modelslab.StatusSuccess, update.Status)
			require.Equal(t, res.ID, update.ID)
			// Voice types track_id integer: the number of the track_id.
			require.True(t, modelslab.TrackIDMatches(update.TrackID, tt.trackID), "track_id %q", update.TrackID)
			require.Len(t, update.Output, tt.outputs)

			// Fetch after completion answers the same outcome.
			in := tt.in(tt.trackID)
			got, err := s.fetch(activities.FetchInput{Endpoint: in.Endpoint, ProviderID: res.ID, Params: in.Params})
			require.NoError(t, err)
			require.Equal(t, modelslab.StatusSuccess, got.Status)
			require.Equal(t, res.ID, got.ID)
			require.Equal(t, update.Output, got.Output)
			for _, o := range got.Output {
				require.True(t, strings.HasPrefix(o, s.fake.URL+"/"), o)
			}
			require.Equal(t, 1, s.fake.Submissions(tt.trackID), "fetch submitted again")
		})
	}
}

func TestFetch(t *testing.T) {
	t.Parallel()

	t.Run("still processing", func(t *testing.T) {
		t.Parallel()
		s := newStack(t, stackOptions{fake: fakemodelslab.Options{ProcessingTime: time.Hour}})
		res, err := s.submit(text2img("act-slow-1"))
		require.NoError(t, err)
		got, err := s.fetch(activities.FetchInput{Endpoint: "images/text2img", ProviderID: res.ID})
		require.NoError(t, err)
		require.Equal(t, modelslab.StatusProcessing, got.Status)
		require.Equal(t, res.ID, got.ID)
		require.Empty(t, got.Output)
	})

	t.Run("failed generation is a result, not an error", func(t *testing.T) {
		t.Parallel()
		s := newStack(t, stackOptions{fake: fakemodelslab.Options{Faults: fakemodelslab.Faults{Rules: []fakemodelslab.Rule{
			{Match: "act-fail-", Fault: fakemodelslab.FaultFail},
		}}}})
		res, err := s.submit(text2img("act-fail-1"))
		require.NoError(t, err)
		h := s.receiver.next(t) // the request is done once its webhook is sent
		update, err := modelslab.ParseWebhook(h.body)
		require.NoError(t, err)
		require.Equal(t, modelslab.StatusFailed, update.Status)

		got, err := s.fetch(activities.FetchInput{Endpoint: "images/text2img", ProviderID: res.ID})
		require.NoError(t, err)
		require.Equal(t, modelslab.StatusFailed, got.Status)
		require.NotEmpty(t, got.Message)
	})

	t.Run("unknown id", func(t *testing.T) {
		t.Parallel()
		s := newStack(t, stackOptions{})
		got, err := s.fetch(activities.FetchInput{Endpoint: "images/text2img", ProviderID: "999999"})
		require.NoError(t, err)
		require.Equal(t, modelslab.StatusFailed, got.Status)
	})
}

func TestImmediateSuccess(t *testing.T) {
	t.Parallel()

	s := newStack(t, stackOptions{fake: fakemodelslab.Options{
		// Without the fault, the result would take an hour.
		ProcessingTime: time.Hour,
		Faults:         fakemodelslab.Faults{Rules: []fakemodelslab.Rule{{Match: "act-now-", Fault: fakemodelslab.FaultImmediate}}},
	}})
	res, err := s.submit(text2img("act-now-1"))
	require.NoError(t, err)
	require.Equal(t, modelslab.StatusSuccess, res.Status)
	require.NotEmpty(t, res.ID)
	require.Equal(t, "act-now-1", res.TrackID)
	require.Len(t, res.Output, 1)
	require.True(t, strings.HasPrefix(res.Output[0], s.fake.URL+"/"), res.Output[0])
	require.Equal(t, 1, s.fake.Submissions("act-now-1"))
	require.Equal(t, 1, s.fake.Stats().Immediate)
}

func TestNonRetryableErrors(t *testing.T) {
	t.Parallel()

	rightKey := fakemodelslab.Options{Keys: []string{"the-right-key"}}
	tests := []struct {
		name    string
		opts    stackOptions
		run     func(s *stack) error
		errType string
		message string
		// submitted is whether the request reached the fake's queue.
		submitted bool
	}{
		{
			name:    "invalid key on submit",
			opts:    stackOptions{fake: rightKey},
			run:     func(s *stack) error { _, err := s.submit(text2img("act-key-1")); return err },
			errType: modelslab.ErrTypeInvalidKey, message: "Invalid API key",
		},
		{
			name:    "invalid key under HTTP 401",
			opts:    stackOptions{fake: fakemodelslab.Options{Keys: []string{"the-right-key"}, AuthErrorStatus: http.StatusUnauthorized}},
			run:     func(s *stack) error { _, err := s.submit(text2img("act-key-2")); return err },
			errType: modelslab.ErrTypeInvalidKey, message: "Invalid API key",
		},
		{
			name: "invalid key on fetch",
			opts: stackOptions{fake: rightKey},
			run: func(s *stack) error {
				_, err := s.fetch(activities.FetchInput{Endpoint: "images/text2img", ProviderID: "1"})
				return err
			},
			errType: modelslab.ErrTypeInvalidKey, message: "Invalid API key",
		},
		{
			name: "unknown endpoint on submit",
			run: func(s *stack) error {
				in := text2img("act-ep-1")
				in.Endpoint = "images/txt2img"
				_, err := s.submit(in)
				return err
			},
			errType: modelslab.ErrTypeInvalidRequest, message: `unknown endpoint "images/txt2img"`,
		},
		{
			name: "unknown endpoint on fetch",
			run: func(s *stack) error {
				_, err := s.fetch(activities.FetchInput{Endpoint: "nope", ProviderID: "1"})
				return err
			},
			errType: modelslab.ErrTypeInvalidRequest, message: `unknown endpoint "nope"`,
		},
		{
			name: "missing required parameter",
			run: func(s *stack) error {
				in := text2img("act-param-1")
				delete(in.Params, "model_id")
				_, err := s.submit(in)
				return err
			},
			errType: modelslab.ErrTypeInvalidRequest, message: "invalid parameters",
		},
		{
			name: "reserved parameter",
			run: func(s *stack) error {
				in := text2img("act-param-2")
				in.Params["webhook"] = "https://evil.example/hook"
				_, err := s.submit(in)
				return err
			},
			errType: modelslab.ErrTypeInvalidRequest, message: `"webhook"`,
		},
		{
			name: "provider validation error",
			run: func(s *stack) error {
				in := text2img("act-param-3")
				in.Params["samples"] = 99
				_, err := s.submit(in)
				return err
			},
			errType: modelslab.ErrTypeInvalidRequest,
		},
		{
			name:    "signer without a public URL",
			opts:    stackOptions{noPublicURL: true},
			run:     func(s *stack) error { _, err := s.submit(text2img("act-url-1")); return err },
			errType: modelslab.ErrTypeInvalidRequest, message: "build webhook URL",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, tt.opts)
			appErr := appError(t, tt.run(s))
			require.Equal(t, tt.errType, appErr.Type())
			require.True(t, appErr.NonRetryable(), "%v", appErr)
			require.Contains(t, appErr.Message(), tt.message)
			require.Zero(t, s.fake.Stats().Accepted, "the request reached the fake's queue")
		})
	}
}

func TestRetryableErrors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name       string
		opts       stackOptions
		run        func(s *stack) error
		errType    string
		httpStatus int
		retryDelay time.Duration
	}{
		{
			name: "429 by fault",
			opts: stackOptions{fake: fakemodelslab.Options{
				RetryAfter: 7 * time.Second,
				Faults:     fakemodelslab.Faults{Rules: []fakemodelslab.Rule{{Match: "act-busy-", Fault: fakemodelslab.Fault429}}},
			}},
			run:     func(s *stack) error { _, err := s.submit(text2img("act-busy-1")); return err },
			errType: modelslab.ErrTypeRateLimited, httpStatus: http.StatusTooManyRequests, retryDelay: 7 * time.Second,
		},
		{
			name: "429 rounds retry_after up to whole seconds",
			opts: stackOptions{fake: fakemodelslab.Options{
				RetryAfter: 1500 * time.Millisecond,
				Faults:     fakemodelslab.Faults{Rules: []fakemodelslab.Rule{{Fault: fakemodelslab.Fault429}}},
			}},
			run:     func(s *stack) error { _, err := s.submit(text2img("act-busy-2")); return err },
			errType: modelslab.ErrTypeRateLimited, httpStatus: http.StatusTooManyRequests, retryDelay: 2 * time.Second,
		},
		{
			name: "429 with the queue full",
			opts: stackOptions{fake: fakemodelslab.Options{QueueLimit: 1, RetryAfter: 3 * time.Second, ProcessingTime: time.Hour}},
			run: func(s *stack) error {
				if _, err := s.submit(text2img("act-queue-1")); err != nil {
					return err
				}
				_, err := s.submit(text2img("act-queue-2"))
				return err
			},
			errType: modelslab.ErrTypeRateLimited, httpStatus: http.StatusTooManyRequests, retryDelay: 3 * time.Second,
		},
		{
			name: "5xx",
			opts: stackOptions{fake: fakemodelslab.Options{
				Faults: fakemodelslab.Faults{Rules: []fakemodelslab.Rule{{Match: "act-flaky-", Fault: fakemodelslab.Fault5xx}}},
			}},
			run:     func(s *stack) error { _, err := s.submit(text2img("act-flaky-1")); return err },
			errType: modelslab.ErrTypeServer, httpStatus: http.StatusInternalServerError,
		},
		{
			name:    "provider unreachable",
			opts:    stackOptions{baseURL: closedURL(t) + "/api/"},
			run:     func(s *stack) error { _, err := s.submit(text2img("act-down-1")); return err },
			errType: modelslab.ErrTypeTransport,
		},
		{
			name: "provider unreachable on fetch",
			opts: stackOptions{baseURL: closedURL(t) + "/api/"},
			run: func(s *stack) error {
				_, err := s.fetch(activities.FetchInput{Endpoint: "images/text2img", ProviderID: "1"})
				return err
			},
			errType: modelslab.ErrTypeTransport,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, tt.opts)
			appErr := appError(t, tt.run(s))
			require.Equal(t, tt.errType, appErr.Type(), "%v", appErr)
			require.False(t, appErr.NonRetryable(), "%v", appErr)
			require.Equal(t, tt.retryDelay, appErr.NextRetryDelay())
			var status int
			require.NoError(t, appErr.Details(&status))
			require.Equal(t, tt.httpStatus, status)
		})
	}
}

// closedURL returns the URL of a server that no longer listens.
func closedURL(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

package fakemodelslab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/gif"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/webhookurl"
)

// checkFile asserts that body is a real file of the extension's type.
func checkFile(t *testing.T, ext string, body []byte) {
	t.Helper()
	switch ext {
	case "png":
		img, err := png.Decode(bytes.NewReader(body))
		require.NoError(t, err)
		require.Equal(t, 4, img.Bounds().Dx())
	case "gif":
		g, err := gif.DecodeAll(bytes.NewReader(body))
		require.NoError(t, err)
		require.Len(t, g.Image, 2)
	case "wav":
		require.Greater(t, len(body), 44)
		require.Equal(t, "RIFF", string(body[:4]))
		require.Equal(t, "WAVE", string(body[8:12]))
		require.Equal(t, "fmt ", string(body[12:16]))
		require.Equal(t, "data", string(body[36:40]))
	case "mp4":
		require.Equal(t, "ftyp", string(body[4:8]))
		require.Equal(t, "video/mp4", http.DetectContentType(body))
	case "glb":
		require.Equal(t, "glTF", string(body[:4]))
		require.Contains(t, string(body), `"version":"2.0"`)
	case "obj":
		require.Contains(t, string(body), "\nv 0 0 0\n")
	default:
		t.Fatalf("no check for .%s", ext)
	}
}

func TestGenerationRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		endpoint string
		params   map[string]any
		outputs  int
		ext      string
		mime     string
	}{
		{"text2img one sample", "images/text2img", text2img(), 1, "png", "image/png"},
		{"text2img samples as string", "images/text2img",
			map[string]any{"model_id": "flux", "prompt": "p", "samples": "3", "safety_checker": "no"}, 3, "png", "image/png"},
		{"controlnet", "controlnet", map[string]any{"init_image": "https://x/a.png", "samples": 2}, 2, "png", "image/png"},
		{"text2video", "video/text2video", map[string]any{"model_id": "cogvideox", "prompt": "p", "num_frames": "25"}, 1, "mp4", "video/mp4"},
		{"text2video gif", "video/text2video", map[string]any{"model_id": "cogvideox", "prompt": "p", "output_type": "gif"}, 1, "gif", "image/gif"},
		{"text_to_speech", "voice/text_to_speech",
			map[string]any{"prompt": "hello", "voice_id": "madison", "language": "american english"}, 1, "wav", "audio/wav"},
		{"song_generator", "voice/song_generator",
			map[string]any{"lyrics_generation": true, "prompt": "p", "caption": "c"}, 1, "wav", "audio/wav"},
		{"text_to_3d", "3d/text_to_3d", map[string]any{"prompt": "a chair"}, 1, "glb", "model/gltf-binary"},
		{"text_to_3d obj", "3d/text_to_3d", map[string]any{"prompt": "a chair", "output_format": "obj"}, 1, "obj", "model/obj"},
		{"removebg", "image_editing/removebg_mask", map[string]any{"image": "https://x/a.png"}, 1, "png", "image/png"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t, Options{})
			rc := newReceiver(t, nil)
			c := newClient(t, srv, "k")
			ep := endpoint(t, tc.endpoint)
			track := "track-" + strings.ReplaceAll(tc.name, " ", "-")
			webhook := rc.URL + "/webhooks/modelslab/" + track + "?sig=abc"

			sub, err := c.Submit(context.Background(), modelslab.SubmitRequest{
				Endpoint: ep, Params: tc.params, WebhookURL: webhook, TrackID: track})
			require.NoError(t, err)
			require.Equal(t, modelslab.StatusProcessing, sub.Status)
			require.Equal(t, fmt.Sprint(FirstRequestID), sub.ID)
			require.Equal(t, track, sub.TrackID)
			require.InDelta(t, 0.05, sub.ETA, 0.001)
			require.Equal(t, srv.BaseURL()+strings.ReplaceAll(ep.FetchPath, "{id}", sub.ID), sub.FetchURL)
			require.Len(t, sub.FutureLinks, tc.outputs)
			// The fake echoes the webhook URL in meta, as the provider
			// does; the client drops it (its sig opens the run).
			require.NotContains(t, sub.Meta, "webhook")
			require.Equal(t, sub.ID, sub.Meta["id"])

			h := rc.next(t)
			require.Equal(t, "/webhooks/modelslab/"+track+"?sig=abc", h.RequestURI)
			require.Equal(t, "application/json", h.ContentType)
			wh := h.result(t)
			require.Equal(t, modelslab.StatusSuccess, wh.Status)
			require.Equal(t, sub.ID, wh.ID)
			require.True(t, modelslab.TrackIDMatches(wh.TrackID, track), "webhook track_id %q", wh.TrackID)
			require.Equal(t, sub.FutureLinks, wh.Output)

			got := awaitTerminal(t, c, ep, sub.ID, tc.params)
			require.Equal(t, modelslab.StatusSuccess, got.Status)
			require.Equal(t, wh.Output, got.Output)
			require.Len(t, got.ProxyLinks, tc.outputs)
			require.Positive(t, got.GenerationTime)
			require.True(t, modelslab.TrackIDMatches(got.TrackID, track), "fetched track_id %q", got.TrackID)

			for _, u := range append(got.Output, got.ProxyLinks...) {
				require.True(t, strings.HasSuffix(u, "."+tc.ext), u)
				resp, body := get(t, u)
				require.Equal(t, http.StatusOK, resp.StatusCode, u)
				require.Equal(t, tc.mime, resp.Header.Get("Content-Type"))
				checkFile(t, tc.ext, body)
			}
			require.Equal(t, 1, srv.Submissions(track))
			// The receiver records a webhook before the fake sees its answer.
			st := waitStats(t, srv, func(st Stats) bool { return st.WebhooksSent == 1 })
			require.Equal(t, 1, st.Accepted)
			require.Equal(t, 1, st.Succeeded)
			require.Zero(t, st.InFlight)
		})
	}
}

// TestEveryCatalogueEndpoint submits to every endpoint of the catalogue
// with only its required fields and follows it to success.
func TestEveryCatalogueEndpoint(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{ProcessingTime: 20 * time.Millisecond, QueueLimit: 100})
	c := newClient(t, srv, "k")
	for _, ep := range modelslab.Endpoints() {
		t.Run(ep.Name, func(t *testing.T) {
			t.Parallel()
			params := map[string]any{}
			for _, f := range ep.Required {
				params[strings.Split(f, "|")[0]] = "x"
			}
			if ep.Name == "voice/song_generator" {
				params["lyrics"] = "[verse]\nla la la"
			}
			if ep.Name == "image_editing/img_mixer" {
				params["init_image"] = []any{"x", "y"}
			}
			sub, err := c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: ep, Params: params, TrackID: "all-" + ep.Name})
			require.NoError(t, err)
			require.Equal(t, modelslab.StatusProcessing, sub.Status)
			require.NotEmpty(t, sub.ID)
			got := awaitTerminal(t, c, ep, sub.ID, params)
			require.Equal(t, modelslab.StatusSuccess, got.Status)
			require.NotEmpty(t, got.Output)
		})
	}
}

// TestWebhookToSignedURL delivers to a URL built by the gateway's signer,
// query and all, and the gateway's check accepts what arrives.
func TestWebhookToSignedURL(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{})
	rc := newReceiver(t, nil)
	signer, err := webhookurl.NewSigner(webhookurl.Options{PublicURL: rc.URL, Secrets: []string{"0123456789abcdef-secret"}})
	require.NoError(t, err)
	track := "gen-01J9:x=y&z~"
	expires := time.Now().Add(time.Hour)
	hookURL, err := signer.URL(track, expires)
	require.NoError(t, err)

	c := newClient(t, srv, "k")
	_, err = c.Submit(context.Background(), modelslab.SubmitRequest{
		Endpoint: endpoint(t, "text2img"), Params: text2img(), WebhookURL: hookURL, TrackID: track})
	require.NoError(t, err)

	h := rc.next(t)
	want := strings.TrimPrefix(hookURL, rc.URL)
	require.Equal(t, want, h.RequestURI)
	u, err := url.ParseRequestURI(h.RequestURI)
	require.NoError(t, err)
	require.NoError(t, signer.Verify(track, u.Query().Get("exp"), u.Query().Get("sig"), time.Now()))
	require.Equal(t, track, h.result(t).TrackID)
}

func TestFetchByRequestID(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{})
	c := newClient(t, srv, "k")
	sub, err := c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: endpoint(t, "text2img"), Params: text2img()})
	require.NoError(t, err)

	for _, id := range []string{sub.ID, `"` + sub.ID + `"`} {
		code, body := postJSON(t, srv.BaseURL()+"v6/images/fetch", "application/json", `{"key":"k","request_id":`+id+`}`)
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, []any{"processing", "success"}, body["status"])
	}
	awaitTerminal(t, c, endpoint(t, "text2img"), sub.ID, nil)
	code, body := postJSON(t, srv.BaseURL()+"v6/images/fetch", "application/json", `{"key":"k","request_id":`+sub.ID+`}`)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "success", body["status"])
	require.Equal(t, json.Number(sub.ID), body["id"])

	_, body = postJSON(t, srv.BaseURL()+"v6/images/fetch", "application/json", `{"key":"k"}`)
	require.Equal(t, "error", body["status"])
	require.Equal(t, "request_id is required", body["message"])
}

func TestFetchWhileProcessing(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{ProcessingTime: time.Hour})
	c := newClient(t, srv, "k")
	sub, err := c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: endpoint(t, "text2img"), Params: text2img()})
	require.NoError(t, err)

	code, body := postJSON(t, srv.BaseURL()+"v6/images/fetch/"+sub.ID, "application/json", `{"key":"k"}`)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, map[string]any{"status": "processing", "messege": "try again later.", "output": "",
		"tip": tipEnterprise}, body)

	got, err := c.Fetch(context.Background(), endpoint(t, "text2img"), sub.ID, nil)
	require.NoError(t, err)
	require.Equal(t, modelslab.StatusProcessing, got.Status)
	require.Equal(t, sub.ID, got.ID)

	// Like the provider's future_links, the files are not there yet.
	require.Len(t, sub.FutureLinks, 1)
	resp, _ := get(t, sub.FutureLinks[0])
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestFetchNotFound(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{ProcessingTime: time.Hour})
	c := newClient(t, srv, "k")
	img := endpoint(t, "text2img")
	sub, err := c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: img, Params: text2img()})
	require.NoError(t, err)

	cases := []struct {
		name string
		key  string
		ep   modelslab.Endpoint
		id   string
	}{
		{"unknown id", "k", img, "999"},
		{"not a number", "k", img, "abc"},
		{"another key's request", "other", img, sub.ID},
		{"wrong fetch path", "k", endpoint(t, "video/text2video"), sub.ID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := newClient(t, srv, tc.key).Fetch(context.Background(), tc.ep, tc.id, nil)
			require.NoError(t, err)
			require.Equal(t, modelslab.StatusFailed, got.Status)
			require.Equal(t, "Request not found", got.Message)
		})
	}

	_, body := postJSON(t, srv.BaseURL()+"v6/images/fetch/999", "application/json", `{"key":"k"}`)
	require.Equal(t, map[string]any{"status": "failed", "id": "", "message": "Request not found", "output": "",
		"tip": tipEnterprise}, body)
}

func TestSubmitReplyShape(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{ProcessingTime: 1500 * time.Millisecond})
	submitURL := srv.BaseURL() + "v6/images/text2img"
	cases := []struct {
		name      string
		body      string
		wantTrack any
	}{
		{"string track_id", `{"key":"k","model_id":"m","prompt":"p","track_id":"abc","webhook":"http://127.0.0.1:1/x?sig=1"}`, "abc"},
		{"numeric track_id", `{"key":"k","model_id":"m","prompt":"p","track_id":42}`, json.Number("42")},
		{"no track_id", `{"key":"k","model_id":"m","prompt":"p"}`, nil},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := postJSON(t, submitURL, "application/json", tc.body)
			require.Equal(t, http.StatusOK, code)
			id := int64(FirstRequestID + i)
			require.Equal(t, "processing", body["status"])
			require.Equal(t, json.Number(fmt.Sprint(id)), body["id"])
			require.Equal(t, json.Number("1.5"), body["eta"])
			require.Equal(t, srv.URL+fmt.Sprintf("/api/v6/images/fetch/%d", id), body["fetch_result"])
			require.Equal(t, []any{}, body["output"])
			require.Len(t, body["future_links"], 1)
			// The message field's spelling alternates by id, as the provider's does.
			if id%2 == 0 {
				require.Contains(t, body, "messege")
				require.NotContains(t, body, "message")
			} else {
				require.Contains(t, body, "message")
				require.NotContains(t, body, "messege")
			}
			meta := body["meta"].(map[string]any)
			require.Equal(t, tc.wantTrack, meta["track_id"])
			require.Contains(t, meta, "webhook")
			require.Equal(t, fmt.Sprint(id), meta["id"])
			require.Equal(t, "p", meta["prompt"])
			require.NotContains(t, meta, "key")
		})
	}
}

func TestNumericTrackIDEchoedInWebhook(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{})
	rc := newReceiver(t, nil)
	code, _ := postJSON(t, srv.BaseURL()+"v6/voice/text_to_speech", "application/json",
		`{"key":"k","prompt":"hi","voice_id":"v","language":"english","track_id":7,"webhook":"`+rc.URL+`/h"}`)
	require.Equal(t, http.StatusOK, code)
	h := rc.next(t)
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(h.Body))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&m))
	require.Equal(t, json.Number("7"), m["track_id"])
	require.Equal(t, "success", m["status"])
	require.IsType(t, "", m["id"])
	require.Equal(t, "7", h.result(t).TrackID)
	require.Equal(t, 1, srv.Submissions("7"))
}

func TestRequestErrors(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{Keys: []string{"good"}})
	invalid := map[string]any{"status": "error", "message": "Invalid API Request", "tip": tipInvalidRequest}
	cases := []struct {
		name        string
		path        string
		contentType string
		body        string
		want        map[string]any
	}{
		{"malformed JSON", "v6/images/text2img", "application/json", `{"key":"good",`, invalid},
		{"JSON array", "v6/images/text2img", "application/json", `[1,2]`, invalid},
		{"trailing data", "v6/images/text2img", "application/json", `{"key":"good"} {}`, invalid},
		{"form content type", "v6/images/text2img", "application/x-www-form-urlencoded", `key=good&prompt=p`, invalid},
		{"no content type", "v6/images/text2img", "", `{"key":"good","model_id":"m","prompt":"p"}`, invalid},
		{"fetch malformed", "v6/images/fetch/1", "application/json", `nope`, invalid},
		{"missing prompt", "v6/images/text2img", "application/json", `{"key":"good","model_id":"m"}`,
			map[string]any{"status": "error", "message": "prompt is required"}},
		{"empty prompt", "v6/images/text2img", "application/json", `{"key":"good","model_id":"m","prompt":"  "}`,
			map[string]any{"status": "error", "message": "prompt is required"}},
		{"first missing field named", "v6/images/inpaint", "application/json", `{"key":"good","model_id":"m"}`,
			map[string]any{"status": "error", "message": "init_image is required"}},
		{"either field", "v6/3d/image_to_3d", "application/json", `{"key":"good"}`,
			map[string]any{"status": "error", "message": "image or init_image is required"}},
		{"song without lyrics", "v6/voice/song_generator", "application/json", `{"key":"good","lyrics_generation":"no"}`,
			map[string]any{"status": "error", "message": "lyrics is required"}},
		{"samples out of range", "v6/images/text2img", "application/json", `{"key":"good","model_id":"m","prompt":"p","samples":"9"}`,
			map[string]any{"status": "error", "message": "samples must be between 1 and 4"}},
		{"missing key", "v6/images/text2img", "application/json", `{"model_id":"m","prompt":"p"}`,
			map[string]any{"status": "error", "message": "API key required"}},
		{"unknown key", "v6/images/text2img", "application/json", `{"key":"bad","model_id":"m","prompt":"p"}`,
			map[string]any{"status": "error", "message": "Invalid API key"}},
		{"unknown key on fetch", "v6/images/fetch/1", "application/json", `{"key":"bad"}`,
			map[string]any{"status": "error", "message": "Invalid API key"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, body := postJSON(t, srv.BaseURL()+tc.path, tc.contentType, tc.body)
			require.Equal(t, http.StatusOK, code)
			require.Equal(t, tc.want, body)
		})
	}
	t.Run("nothing accepted", func(t *testing.T) {
		t.Parallel()
		require.Zero(t, srv.Stats().Accepted)
	})
}

func TestLooseTypesAccepted(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{})
	code, body := postJSON(t, srv.BaseURL()+"v6/images/text2img", "application/json; charset=utf-8",
		`{"key":"k","model_id":"m","prompt":"p","width":"512","height":512,"samples":"2","num_inference_steps":"31",
		  "guidance_scale":"7.5","seed":null,"safety_checker":"no","enhance_prompt":"yes","temp":true,"track_id":"t"}`)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "processing", body["status"])
	meta := body["meta"].(map[string]any)
	require.Equal(t, "512", meta["width"])
	require.Equal(t, json.Number("512"), meta["height"])
	require.Equal(t, "no", meta["safety_checker"])
	require.Len(t, body["future_links"], 2)
}

func TestInvalidKey(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		status     int
		wantStatus int
	}{
		{"default under 200", 0, http.StatusOK},
		{"configured 401", http.StatusUnauthorized, http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newFake(t, Options{Keys: []string{"good"}, AuthErrorStatus: tc.status})
			bad := newClient(t, srv, "bad")

			_, err := bad.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: endpoint(t, "text2img"), Params: text2img()})
			e := asError(t, err)
			require.Equal(t, modelslab.ErrTypeInvalidKey, e.Type)
			require.Equal(t, tc.wantStatus, e.HTTPStatus)
			require.Equal(t, "Invalid API key", e.Message)
			require.False(t, e.Retryable())

			_, err = bad.Fetch(context.Background(), endpoint(t, "text2img"), "1", nil)
			require.Equal(t, modelslab.ErrTypeInvalidKey, asError(t, err).Type)

			wf := endpoint(t, "workflows/run")
			_, err = bad.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: wf, Params: map[string]any{"workflow_id": "w"}})
			require.Equal(t, modelslab.ErrTypeInvalidKey, asError(t, err).Type)

			_, err = newClient(t, srv, "good").Submit(context.Background(),
				modelslab.SubmitRequest{Endpoint: endpoint(t, "text2img"), Params: text2img()})
			require.NoError(t, err)
			require.Equal(t, 3, srv.Stats().InvalidKey)
		})
	}
}

func TestQueueLimit(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{QueueLimit: 2, ProcessingTime: time.Hour})
	c := newClient(t, srv, "k")
	submit := func(c *modelslab.Client, track string) error {
		_, err := c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: endpoint(t, "text2img"), Params: text2img(), TrackID: track})
		return err
	}
	require.NoError(t, submit(c, "q-1"))
	require.NoError(t, submit(c, "q-2"))

	e := asError(t, submit(c, "q-3"))
	require.Equal(t, modelslab.ErrTypeRateLimited, e.Type)
	require.Equal(t, http.StatusTooManyRequests, e.HTTPStatus)
	require.Equal(t, "Rate limit exceeded. Maximum 2 queued requests allowed.", e.Message)
	require.Equal(t, time.Second, e.RetryAfter)
	require.True(t, e.Retryable())

	// The raw body is the provider's.
	code, body := postJSON(t, srv.BaseURL()+"v6/images/text2img", "application/json", `{"key":"k","model_id":"m","prompt":"p"}`)
	require.Equal(t, http.StatusTooManyRequests, code)
	require.Equal(t, map[string]any{"status": "error", "message": "Rate limit exceeded. Maximum 2 queued requests allowed.",
		"retry_after": json.Number("1")}, body)

	// Training counts against the same queue; workflow runs and other keys do not.
	_, err := c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: endpoint(t, "lora_fine_tune"), Params: loraParams()})
	require.Equal(t, modelslab.ErrTypeRateLimited, asError(t, err).Type)
	_, err = c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: endpoint(t, "workflows/run"), Params: map[string]any{"workflow_id": "w"}})
	require.NoError(t, err)
	require.NoError(t, submit(newClient(t, srv, "other"), "q-other"))

	st := srv.Stats()
	require.Equal(t, 3, st.Rejected429)
	require.Equal(t, 3, st.InFlight)
	require.Equal(t, 4, st.Accepted)
	require.Zero(t, srv.Submissions("q-3"))
	require.Equal(t, 1, st.Tracks["q-3"].Rejected)
}

func TestQueueFreesWhenDone(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{QueueLimit: 1})
	c := newClient(t, srv, "k")
	req := modelslab.SubmitRequest{Endpoint: endpoint(t, "text2img"), Params: text2img()}
	_, err := c.Submit(context.Background(), req)
	require.NoError(t, err)
	_, err = c.Submit(context.Background(), req)
	require.Equal(t, modelslab.ErrTypeRateLimited, asError(t, err).Type)

	waitStats(t, srv, func(st Stats) bool { return st.InFlight == 0 })
	_, err = c.Submit(context.Background(), req)
	require.NoError(t, err)
}

func TestUnknownRoute(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{})
	resp, _ := get(t, srv.BaseURL()+"v6/images/text2img")
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	resp, _ = get(t, srv.URL+"/api/v9/nothing")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

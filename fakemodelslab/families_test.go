package fakemodelslab

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/modelslab"
)

// TestFamiliesOutputTypes follows one request of each family added from
// the docs to success and downloads its output: each serves a file of
// the type its endpoint makes.
func TestFamiliesOutputTypes(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{ProcessingTime: 20 * time.Millisecond, QueueLimit: 100})
	c := newClient(t, srv, "k")
	cases := []struct {
		endpoint string
		params   map[string]any
		mime     string
	}{
		{"realtime/text2img", map[string]any{"prompt": "p"}, "image/png"},
		{"realtime/inpaint", map[string]any{"prompt": "p", "init_image": "u", "mask_image": "m"}, "image/png"},
		{"video/video2video", map[string]any{"init_image": "u", "init_video": "v"}, "video/mp4"},
		{"video/watermark_remover", map[string]any{"init_video": "v"}, "video/mp4"},
		{"voice/sfx", map[string]any{"prompt": "rain"}, "audio/wav"},
		{"voice/voice_cover", map[string]any{"init_audio": "a", "model_id": "m"}, "audio/wav"},
		{"voice/lyrics_generator", map[string]any{"prompt": "a song"}, "text/plain; charset=utf-8"},
		{"voice/speech_to_text", map[string]any{"init_audio": "a", "language": "en"}, "text/plain; charset=utf-8"},
		{"voice/create_dubbing", map[string]any{"init_video": "v", "output_lang": "fr"}, "video/mp4"},
		{"faceswap/multiple_face_swap", map[string]any{"init_image": "a", "target_image": "b"}, "image/png"},
		{"faceswap/single_video_swap", map[string]any{"init_image": "a", "init_video": "v"}, "video/mp4"},
		{"interior/make", map[string]any{"init_image": "a", "prompt": "p"}, "image/png"},
		{"interior/object_removal", map[string]any{"init_image": "a"}, "image/png"},
	}
	for _, tc := range cases {
		t.Run(tc.endpoint, func(t *testing.T) {
			t.Parallel()
			ep := endpoint(t, tc.endpoint)
			sub, err := c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: ep, Params: tc.params, TrackID: "fam-" + ep.Name})
			require.NoError(t, err)
			require.Equal(t, srv.BaseURL()+strings.ReplaceAll(ep.FetchPath, "{id}", sub.ID), sub.FetchURL)
			got := awaitTerminal(t, c, ep, sub.ID, tc.params)
			require.Equal(t, modelslab.StatusSuccess, got.Status)
			require.Len(t, got.Output, 1)
			resp, err := http.Get(got.Output[0])
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, tc.mime, resp.Header.Get("Content-Type"))
			require.NotEmpty(t, body)
		})
	}
}

// TestIntegerTrackIDRefusesStrings holds the fake to the docs' types: a
// string track_id is refused where the docs type it integer, and taken
// where they type it string.
func TestIntegerTrackIDRefusesStrings(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{QueueLimit: 100})
	tests := []struct {
		name    string
		path    string
		body    map[string]any
		wantErr bool
	}{
		{"voice string", "v6/voice/music_gen", map[string]any{"prompt": "p", "track_id": "run-1"}, true},
		{"voice number", "v6/voice/music_gen", map[string]any{"prompt": "p", "track_id": 42}, false},
		{"voice digit string", "v6/voice/music_gen", map[string]any{"prompt": "p", "track_id": "42"}, false},
		{"controlnet string", "v5/controlnet", map[string]any{"track_id": "run-1"}, true},
		{"image editing string", "v6/image_editing/caption", map[string]any{"init_image": "u", "track_id": "run-1"}, true},
		{"faceswap string", "v6/faceswap/multiple_face_swap", map[string]any{"init_image": "a", "target_image": "b", "track_id": "run-1"}, true},
		{"interior string", "v6/interior/make", map[string]any{"init_image": "a", "prompt": "p", "track_id": "run-1"}, true},
		{"images string", "v6/images/text2img", map[string]any{"model_id": "m", "prompt": "p", "track_id": "run-1"}, false},
		{"realtime string", "v6/realtime/text2img", map[string]any{"prompt": "p", "track_id": "run-1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.body["key"] = "k"
			b, err := json.Marshal(tt.body)
			require.NoError(t, err)
			code, reply := postJSON(t, srv.BaseURL()+tt.path, "application/json", string(b))
			require.Equal(t, http.StatusOK, code)
			if tt.wantErr {
				require.Equal(t, "error", reply["status"])
				require.Equal(t, "The track id must be an integer.", reply["message"])
				return
			}
			require.Equal(t, "processing", reply["status"], "%v", reply)
		})
	}
}

// TestNumericTrackIDCountsAsTheRun: genflow sends NumericTrackID where
// the docs type track_id integer; the fake counts the submit under the
// run's own track_id (the webhook URL's last segment).
func TestNumericTrackIDCountsAsTheRun(t *testing.T) {
	t.Parallel()
	srv := newFake(t, Options{})
	rc := newReceiver(t, nil)
	c := newClient(t, srv, "k")
	ep := endpoint(t, "voice/sfx")
	_, err := c.Submit(context.Background(), modelslab.SubmitRequest{Endpoint: ep, Params: map[string]any{"prompt": "p"},
		WebhookURL: rc.URL + "/webhooks/modelslab/run-7?sig=s", TrackID: "run-7"})
	require.NoError(t, err)
	require.Equal(t, 1, srv.Submissions("run-7"))
	wh := rc.next(t).result(t)
	require.True(t, modelslab.TrackIDMatches(wh.TrackID, "run-7"))
}

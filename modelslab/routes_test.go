package modelslab

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBaseURLNeedsTheAPISegment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base    string
		wantErr bool
	}{
		{base: "https://modelslab.com/api/"},
		{base: "https://modelslab.com/api"},
		{base: "http://127.0.0.1:8090/api/"},
		{base: "https://proxy.example/modelslab/api/"},
		{base: "https://modelslab.com/", wantErr: true},
		{base: "https://modelslab.com", wantErr: true},
		{base: "https://modelslab.com/api/v6/", wantErr: false},
		{base: "http://127.0.0.1:8090", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			t.Parallel()
			_, err := New(Options{BaseURL: tt.base, APIKey: "k"})
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, "MODELSLAB_BASE_URL")
			require.ErrorContains(t, err, "no /api/ segment")
		})
	}
}

func TestEndpointPathsReachEnterprise(t *testing.T) {
	t.Parallel()
	p := newProvider(t, answer(http.StatusOK, `{"status":"processing","id":77,"eta":1}`))
	c, err := New(Options{BaseURL: p.srv.URL + "/api/", APIKey: testKey, HTTPClient: p.srv.Client(),
		EndpointPaths: map[string]EndpointPaths{"video/text2video_ultra": {
			Path: "v1/enterprise/ultra_video/text2video", FetchPath: "v1/enterprise/ultra_video/fetch/{id}"}}})
	require.NoError(t, err)
	ep := mustLookup(t, "video/text2video_ultra")
	params := map[string]any{"model_id": "wan2.2", "prompt": "waves"}
	_, err = c.Submit(context.Background(), SubmitRequest{Endpoint: ep, Params: params, TrackID: "e-1"})
	require.NoError(t, err)
	_, err = c.Fetch(context.Background(), ep, "77", params)
	require.NoError(t, err)
	seen := p.requests()
	require.Len(t, seen, 2)
	require.Equal(t, "/api/v1/enterprise/ultra_video/text2video", seen[0].Path)
	require.Equal(t, "/api/v1/enterprise/ultra_video/fetch/77", seen[1].Path)

	// Other endpoints keep their public paths.
	_, err = c.Submit(context.Background(), SubmitRequest{Endpoint: mustLookup(t, "images/text2img"),
		Params: map[string]any{"model_id": "m", "prompt": "p"}})
	require.NoError(t, err)
	require.Equal(t, "/api/v6/images/text2img", p.requests()[2].Path)
}

func TestEndpointPathsAreChecked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		paths   map[string]EndpointPaths
		wantErr string
	}{
		{"unknown endpoint", map[string]EndpointPaths{"video/nope": {Path: "v1/x"}}, "not a catalogue name"},
		{"short name", map[string]EndpointPaths{"text2img": {Path: "v1/x"}}, "not a catalogue name"},
		{"absolute path", map[string]EndpointPaths{"images/text2img": {Path: "/v1/x"}}, "relative"},
		{"URL", map[string]EndpointPaths{"images/text2img": {Path: "https://evil.example/x"}}, "relative"},
		{"fetch without id", map[string]EndpointPaths{"images/text2img": {FetchPath: "v1/enterprise/fetch"}}, "no {id}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(Options{APIKey: "k", EndpointPaths: tt.paths})
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

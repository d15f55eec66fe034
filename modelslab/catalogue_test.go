package modelslab

import (
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLookup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		query    string
		wantName string
		wantPath string
		wantErr  string
	}{
		{name: "full name", query: "images/text2img", wantName: "images/text2img", wantPath: "v6/images/text2img"},
		{name: "short name", query: "text2img", wantName: "images/text2img", wantPath: "v6/images/text2img"},
		{name: "spaces and slashes trimmed", query: " /video/text2video/ ", wantName: "video/text2video", wantPath: "v6/video/text2video"},
		{name: "v5 controlnet", query: "controlnet", wantName: "controlnet", wantPath: "v5/controlnet"},
		{name: "full name of an ambiguous short name", query: "image_editing/inpaint", wantName: "image_editing/inpaint", wantPath: "v6/image_editing/inpaint"},
		{name: "training", query: "lora_fine_tune", wantName: "lora_fine_tune", wantPath: "v3/lora_fine_tune"},
		{name: "workflow run", query: "workflows/run", wantName: "workflows/run", wantPath: "v1/workflows/{workflow_id}/run"},
		{name: "short workflow run", query: "run", wantName: "workflows/run", wantPath: "v1/workflows/{workflow_id}/run"},
		{name: "ambiguous inpaint", query: "inpaint", wantErr: `endpoint "inpaint" is ambiguous: one of images/inpaint, image_editing/inpaint`},
		{name: "unknown", query: "images/text2video", wantErr: `unknown endpoint "images/text2video"`},
		{name: "empty", query: "", wantErr: `unknown endpoint ""`},
		{name: "version prefix is not a name", query: "v6/images/text2img", wantErr: "unknown endpoint"},
		{name: "audio path of the webhook skill is a doc error", query: "audio/text_to_speech", wantErr: "unknown endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ep, err := Lookup(tt.query)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantName, ep.Name)
			require.Equal(t, tt.wantPath, ep.Path)
		})
	}
}

func TestCatalogueEntries(t *testing.T) {
	t.Parallel()
	eps := Endpoints()
	require.NotEmpty(t, eps)
	require.True(t, sort.SliceIsSorted(eps, func(i, j int) bool { return eps[i].Name < eps[j].Name }))

	categories := map[Category]bool{CategoryImage: true, CategoryVideo: true, CategoryAudio: true, Category3D: true,
		CategoryImageEditing: true, CategoryTraining: true, CategoryWorkflow: true}
	versions := map[Protocol][]string{
		ProtocolGeneration: {"v5/", "v6/"},
		ProtocolTraining:   {"v3/"},
		ProtocolWorkflow:   {"v1/workflows/"},
	}
	seen := map[string]bool{}
	for _, ep := range eps {
		t.Run(ep.Name, func(t *testing.T) {
			require.NotEmpty(t, ep.Name)
			require.False(t, seen[ep.Name], "duplicate name")
			seen[ep.Name] = true
			require.NotEmpty(t, ep.Path)
			require.NotEmpty(t, ep.FetchPath)
			require.True(t, categories[ep.Category], "category %q", ep.Category)
			require.Contains(t, versions, ep.Protocol)
			require.Contains(t, ep.FetchPath, "{id}")
			require.False(t, strings.HasPrefix(ep.Path, "/"), "paths are relative to the base URL")
			require.False(t, strings.HasPrefix(ep.FetchPath, "/"))

			okVersion := false
			for _, v := range versions[ep.Protocol] {
				okVersion = okVersion || strings.HasPrefix(ep.Path, v)
			}
			require.True(t, okVersion, "path %q does not match protocol %s", ep.Path, ep.Protocol)
			if ep.Protocol == ProtocolGeneration {
				require.True(t, strings.HasSuffix(ep.Path, ep.Name), "name is the path below the version")
				require.True(t, strings.HasPrefix(ep.FetchPath, "v6/"), "generation results are fetched on v6")
				require.True(t, strings.HasSuffix(ep.FetchPath, "/fetch/{id}"))
			}
			looked, err := Lookup(ep.Name)
			require.NoError(t, err)
			require.Equal(t, ep.Path, looked.Path)
			for _, r := range ep.Required {
				require.NotContains(t, []string{"key", "webhook", "track_id"}, r, "reserved fields are set by Submit")
			}
		})
	}
	for _, name := range []string{
		"images/text2img", "images/img2img", "images/inpaint", "controlnet",
		"video/text2video", "video/img2video", "video/text2video_ultra", "video/img2video_ultra",
		"voice/text_to_speech", "voice/voice_to_voice", "voice/music_gen", "voice/song_generator",
		"3d/text_to_3d", "3d/image_to_3d", "lora_fine_tune", "fine_tune", "workflows/run",
	} {
		require.True(t, seen[name], "webhook-capable endpoint %s is missing", name)
	}
}

func TestCatalogueFetchPathsMatchCategory(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		wantFetch string
	}{
		{name: "images/text2img", wantFetch: "v6/images/fetch/{id}"},
		{name: "controlnet", wantFetch: "v6/images/fetch/{id}"},
		{name: "video/img2video_ultra", wantFetch: "v6/video/fetch/{id}"},
		{name: "voice/song_generator", wantFetch: "v6/voice/fetch/{id}"},
		{name: "3d/text_to_3d", wantFetch: "v6/3d/fetch/{id}"},
		{name: "image_editing/outpaint", wantFetch: "v6/image_editing/fetch/{id}"},
		{name: "fine_tune", wantFetch: "v3/fine_tune_status/{id}"},
		{name: "workflows/run", wantFetch: "v1/workflows/{workflow_id}/runs/{id}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.wantFetch, mustLookup(t, tt.name).FetchPath)
		})
	}
}

func TestCatalogueIsNotMutableFromOutside(t *testing.T) {
	t.Parallel()
	ep := mustLookup(t, "images/text2img")
	ep.Required[0] = "changed"
	for _, e := range Endpoints() {
		if e.Name == "images/text2img" {
			e.Required[1] = "changed too"
		}
	}
	require.Equal(t, []string{"model_id", "prompt"}, mustLookup(t, "images/text2img").Required)
}

func TestSongGeneratorRule(t *testing.T) {
	t.Parallel()
	ep := mustLookup(t, "voice/song_generator")
	tests := []struct {
		name    string
		params  map[string]any
		wantErr string
	}{
		{name: "lyrics given", params: map[string]any{"lyrics": "[00:01.00]la la"}},
		{name: "lyrics generated from prompt and caption", params: map[string]any{"lyrics_generation": true, "prompt": "pop", "caption": "a summer song"}},
		{name: "loose boolean yes", params: map[string]any{"lyrics_generation": "yes", "prompt": "pop", "caption": "c"}},
		{name: "loose boolean string true", params: map[string]any{"lyrics_generation": "TRUE", "prompt": "pop", "caption": "c"}},
		{name: "loose boolean number", params: map[string]any{"lyrics_generation": float64(1), "prompt": "pop", "caption": "c"}},
		{name: "generation on but no caption", params: map[string]any{"lyrics_generation": true, "prompt": "pop"},
			wantErr: "voice/song_generator: missing required parameter caption"},
		{name: "generation on, nothing given", params: map[string]any{"lyrics_generation": "yes"},
			wantErr: "missing required parameters prompt, caption"},
		{name: "generation on ignores lyrics", params: map[string]any{"lyrics_generation": true, "lyrics": "x"},
			wantErr: "missing required parameters prompt, caption"},
		{name: "generation off needs lyrics", params: map[string]any{"lyrics_generation": false, "prompt": "pop", "caption": "c"},
			wantErr: "missing required parameter lyrics"},
		{name: "generation no needs lyrics", params: map[string]any{"lyrics_generation": "no", "prompt": "pop"},
			wantErr: "missing required parameter lyrics"},
		{name: "nothing at all", params: nil, wantErr: "missing required parameter lyrics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := ep.Validate(tt.params)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			var mf *MissingFieldsError
			require.ErrorAs(t, err, &mf)
		})
	}
}

func TestImageTo3DAcceptsEitherImageField(t *testing.T) {
	t.Parallel()
	ep := mustLookup(t, "3d/image_to_3d")
	tests := []struct {
		name    string
		params  map[string]any
		wantErr bool
	}{
		{name: "image", params: map[string]any{"image": "https://x/a.png"}},
		{name: "init_image", params: map[string]any{"init_image": "https://x/a.png"}},
		{name: "both", params: map[string]any{"image": "https://x/a.png", "init_image": "https://x/b.png"}},
		{name: "neither", params: map[string]any{"prompt": "x"}, wantErr: true},
		{name: "empty image, no init_image", params: map[string]any{"image": ""}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := ep.Validate(tt.params)
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, "3d/image_to_3d: missing required parameter image or init_image")
		})
	}
}

func TestValidatePresence(t *testing.T) {
	t.Parallel()
	ep := mustLookup(t, "lora_fine_tune")
	base := func() map[string]any {
		return map[string]any{"instance_prompt": "a", "class_prompt": "b", "images": []string{"https://x/1.png"},
			"training_type": "men", "max_train_steps": 0}
	}
	tests := []struct {
		name    string
		edit    func(map[string]any)
		wantErr string
	}{
		{name: "complete", edit: func(map[string]any) {}},
		{name: "zero steps is present", edit: func(p map[string]any) { p["max_train_steps"] = 0 }},
		{name: "images as []any", edit: func(p map[string]any) { p["images"] = []any{"u"} }},
		{name: "empty []string images", edit: func(p map[string]any) { p["images"] = []string{} }, wantErr: "images"},
		{name: "missing two", edit: func(p map[string]any) { delete(p, "class_prompt"); delete(p, "max_train_steps") },
			wantErr: "missing required parameters class_prompt, max_train_steps"},
		{name: "null training_type is allowed", edit: func(p map[string]any) { p["training_type"] = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := base()
			tt.edit(p)
			err := ep.Validate(p)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

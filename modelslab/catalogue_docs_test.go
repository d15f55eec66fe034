package modelslab

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// documented is every catalogue entry as ModelsLab documents it: submit
// and fetch paths, genflow's deadline category, protocol, the required
// parameters and the type of track_id, with the documentation each row
// follows (modelslab-api.md, "Catalogue check against the docs", and the
// docs-v2 files named). The catalogue must hold exactly these rows.
var documented = []struct {
	name, path, fetch string
	category          Category
	protocol          Protocol
	required          []string
	intTrackID        bool
	source            string
}{
	// image-generation/community-models/openapi.json [D-community]
	{"images/text2img", "v6/images/text2img", "v6/images/fetch/{id}", CategoryImage, ProtocolGeneration, []string{"model_id", "prompt"}, false, srcCommunity},
	{"images/img2img", "v6/images/img2img", "v6/images/fetch/{id}", CategoryImage, ProtocolGeneration, []string{"model_id", "init_image"}, false, srcCommunity},
	{"images/inpaint", "v6/images/inpaint", "v6/images/fetch/{id}", CategoryImage, ProtocolGeneration, []string{"model_id", "init_image", "mask_image"}, false, srcCommunity},
	// image-generation/controlnet/openapi.json [D-cn]: only key is required.
	{"controlnet", "v5/controlnet", "v6/images/fetch/{id}", CategoryImage, ProtocolGeneration, nil, true, srcControlNet},
	// image-generation/realtime-stable-diffusion/openapi.json [D-rt]
	{"realtime/text2img", "v6/realtime/text2img", "v6/realtime/fetch/{id}", CategoryImage, ProtocolGeneration, []string{"prompt"}, false, srcRealtime},
	{"realtime/img2img", "v6/realtime/img2img", "v6/realtime/fetch/{id}", CategoryImage, ProtocolGeneration, []string{"prompt", "init_image"}, false, srcRealtime},
	{"realtime/inpaint", "v6/realtime/inpaint", "v6/realtime/fetch/{id}", CategoryImage, ProtocolGeneration, []string{"prompt", "init_image", "mask_image"}, false, srcRealtime},
	// video-api/openapi.json [D-video]
	{"video/text2video", "v6/video/text2video", "v6/video/fetch/{id}", CategoryVideo, ProtocolGeneration, []string{"model_id", "prompt"}, false, srcVideo},
	{"video/img2video", "v6/video/img2video", "v6/video/fetch/{id}", CategoryVideo, ProtocolGeneration, []string{"model_id", "init_image"}, false, srcVideo},
	{"video/text2video_ultra", "v6/video/text2video_ultra", "v6/video/fetch/{id}", CategoryVideo, ProtocolGeneration, []string{"model_id", "prompt"}, false, srcVideo},
	{"video/img2video_ultra", "v6/video/img2video_ultra", "v6/video/fetch/{id}", CategoryVideo, ProtocolGeneration, []string{"model_id", "init_image", "prompt"}, false, srcVideo},
	{"video/video2video", "v6/video/video2video", "v6/video/fetch/{id}", CategoryVideo, ProtocolGeneration, []string{"init_image", "init_video"}, false, srcVideo},
	{"video/watermark_remover", "v6/video/watermark_remover", "v6/video/fetch/{id}", CategoryVideo, ProtocolGeneration, []string{"init_video"}, false, srcVideo},
	// voice-cloning/openapi.json [D-voice]: track_id is an integer.
	{"voice/text_to_speech", "v6/voice/text_to_speech", "v6/voice/fetch/{id}", CategoryAudio, ProtocolGeneration, []string{"prompt", "voice_id", "language"}, true, srcVoice},
	{"voice/voice_to_voice", "v6/voice/voice_to_voice", "v6/voice/fetch/{id}", CategoryAudio, ProtocolGeneration, []string{"init_audio", "target_audio"}, true, srcVoice},
	{"voice/music_gen", "v6/voice/music_gen", "v6/voice/fetch/{id}", CategoryAudio, ProtocolGeneration, []string{"prompt"}, true, srcVoice},
	{"voice/song_generator", "v6/voice/song_generator", "v6/voice/fetch/{id}", CategoryAudio, ProtocolGeneration, nil, true, srcVoice},
	{"voice/text_to_audio", "v6/voice/text_to_audio", "v6/voice/fetch/{id}", CategoryAudio, ProtocolGeneration, []string{"prompt", "init_audio"}, true, srcVoice},
	{"voice/voice_cover", "v6/voice/voice_cover", "v6/voice/fetch/{id}", CategoryAudio, ProtocolGeneration, []string{"init_audio", "model_id"}, true, srcVoice},
	{"voice/sfx", "v6/voice/sfx", "v6/voice/fetch/{id}", CategoryAudio, ProtocolGeneration, []string{"prompt"}, true, srcVoice},
	{"voice/lyrics_generator", "v6/voice/lyrics_generator", "v6/voice/fetch/{id}", CategoryAudio, ProtocolGeneration, []string{"prompt"}, true, srcVoice},
	{"voice/speech_to_text", "v6/voice/speech_to_text", "v6/voice/fetch/{id}", CategoryAudio, ProtocolGeneration, []string{"init_audio", "language"}, true, srcVoice},
	{"voice/vocal_isolator", "v6/voice/vocal_isolator", "v6/voice/fetch/{id}", CategoryAudio, ProtocolGeneration, []string{"init_audio"}, true, srcVoice},
	{"voice/voice_design", "v6/voice/voice_design", "v6/voice/fetch/{id}", CategoryAudio, ProtocolGeneration, []string{"prompt", "voice_description"}, true, srcVoice},
	{"voice/create_dubbing", "v6/voice/create_dubbing", "v6/voice/fetch/{id}", CategoryAudio, ProtocolGeneration, []string{"init_video", "output_lang"}, true, srcVoice},
	// 3d-api/openapi.json [D-3d]
	{"3d/text_to_3d", "v6/3d/text_to_3d", "v6/3d/fetch/{id}", Category3D, ProtocolGeneration, []string{"prompt"}, false, src3D},
	{"3d/image_to_3d", "v6/3d/image_to_3d", "v6/3d/fetch/{id}", Category3D, ProtocolGeneration, []string{"image|init_image"}, false, src3D},
	// image-editing/openapi.json and pages [D-edit]
	{"image_editing/removebg_mask", "v6/image_editing/removebg_mask", "v6/image_editing/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"image|init_image"}, true, srcEdit},
	{"image_editing/super_resolution", "v6/image_editing/super_resolution", "v6/image_editing/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"init_image"}, true, srcEdit},
	{"image_editing/caption", "v6/image_editing/caption", "v6/image_editing/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"init_image"}, true, srcEdit},
	{"image_editing/face_gen", "v6/image_editing/face_gen", "v6/image_editing/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"face_image", "prompt"}, true, srcEdit},
	{"image_editing/fashion", "v6/image_editing/fashion", "v6/image_editing/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"init_image", "cloth_image", "cloth_type"}, true, srcEdit},
	{"image_editing/qwen_edit", "v6/image_editing/qwen_edit", "v6/image_editing/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"init_image", "prompt"}, true, srcEdit},
	{"image_editing/flux_headshot", "v6/image_editing/flux_headshot", "v6/image_editing/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"prompt", "face_image"}, true, srcEdit},
	{"image_editing/head_shot", "v6/image_editing/head_shot", "v6/image_editing/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"face_image", "prompt"}, true, srcEdit},
	{"image_editing/img_mixer", "v6/image_editing/img_mixer", "v6/image_editing/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"prompt", "init_image"}, true, srcEdit},
	{"image_editing/inpaint", "v6/image_editing/inpaint", "v6/image_editing/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"prompt", "init_image", "mask_image"}, true, srcEdit},
	{"image_editing/mask_creator", "v6/image_editing/mask_creator", "v6/image_editing/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"specific_object"}, true, srcEdit},
	{"image_editing/object_removal", "v6/image_editing/object_removal", "v6/image_editing/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"init_image", "mask_image"}, true, srcEdit},
	{"image_editing/outpaint", "v6/image_editing/outpaint", "v6/image_editing/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"image|init_image"}, true, srcEdit},
	// faceswap-api/openapi.json [D-fs]
	{"faceswap/single_face_swap", "v6/faceswap/single_face_swap", "v6/faceswap/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"init_image", "target_image", "reference_image"}, true, srcFaceswap},
	{"faceswap/multiple_face_swap", "v6/faceswap/multiple_face_swap", "v6/faceswap/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"init_image", "target_image"}, true, srcFaceswap},
	{"faceswap/single_video_swap", "v6/faceswap/single_video_swap", "v6/faceswap/fetch/{id}", CategoryVideo, ProtocolGeneration, []string{"init_image", "init_video"}, true, srcFaceswap},
	{"faceswap/specific_video_swap", "v6/faceswap/specific_video_swap", "v6/faceswap/fetch/{id}", CategoryVideo, ProtocolGeneration, []string{"init_image", "init_video", "reference_image"}, true, srcFaceswap},
	// interior-api/openapi.json [D-int]
	{"interior/make", "v6/interior/make", "v6/interior/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"init_image", "prompt"}, true, srcInterior},
	{"interior/floor_planning", "v6/interior/floor_planning", "v6/interior/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"init_image", "prompt"}, true, srcInterior},
	{"interior/room_decorator", "v6/interior/room_decorator", "v6/interior/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"init_image", "prompt"}, true, srcInterior},
	{"interior/scenario_changer", "v6/interior/scenario_changer", "v6/interior/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"init_image", "prompt"}, true, srcInterior},
	{"interior/sketch_rendering", "v6/interior/sketch_rendering", "v6/interior/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"init_image", "prompt"}, true, srcInterior},
	{"interior/exterior_restorer", "v6/interior/exterior_restorer", "v6/interior/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"init_image", "prompt"}, true, srcInterior},
	{"interior/object_removal", "v6/interior/object_removal", "v6/interior/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"init_image"}, true, srcInterior},
	{"interior/interior_mixer", "v6/interior/interior_mixer", "v6/interior/fetch/{id}", CategoryImageEditing, ProtocolGeneration, []string{"init_image"}, true, srcInterior},
	// image-generation/train-model/openapi.json [D-train]; fine_tune only
	// in the legacy docs [APIFOX], which also require base_model_id.
	{"lora_fine_tune", "v3/lora_fine_tune", "v3/fine_tune_status/{id}", CategoryTraining, ProtocolTraining, []string{"instance_prompt", "class_prompt", "images", "max_train_steps"}, false, srcTrain},
	{"fine_tune", "v3/fine_tune", "v3/fine_tune_status/{id}", CategoryTraining, ProtocolTraining, []string{"instance_prompt", "class_prompt", "base_model_id", "images"}, false, srcLegacy},
	// workflows-api/*.mdx [D-wf]
	{"workflows/run", "v1/workflows/{workflow_id}/run", "v1/workflows/{workflow_id}/runs/{id}", CategoryWorkflow, ProtocolWorkflow, []string{"workflow_id"}, false, srcWorkflows},
}

func TestCatalogueMatchesDocs(t *testing.T) {
	t.Parallel()
	byName := map[string]Endpoint{}
	for _, e := range Endpoints() {
		byName[e.Name] = e
	}
	rows := map[string]bool{}
	for _, row := range documented {
		rows[row.name] = true
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			e, ok := byName[row.name]
			require.True(t, ok, "documented endpoint missing from the catalogue (%s)", row.source)
			require.Equal(t, row.path, e.Path, "path (%s)", row.source)
			require.Equal(t, row.fetch, e.FetchPath, "fetch path (%s)", row.source)
			require.Equal(t, row.category, e.Category, "deadline category")
			require.Equal(t, row.protocol, e.Protocol, "protocol")
			require.Equal(t, row.required, e.Required, "required parameters (%s)", row.source)
			require.Equal(t, row.intTrackID, e.IntegerTrackID, "track_id typed integer (%s)", row.source)
			require.Equal(t, row.source, e.Source)
		})
	}
	for name := range byName {
		require.True(t, rows[name], "catalogue entry %s has no documented row", name)
	}
}

func TestDocumentedParameterRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		endpoint string
		params   map[string]any
		wantErr  string
	}{
		{name: "fashion takes the cloth", endpoint: "image_editing/fashion",
			params: map[string]any{"init_image": "u", "cloth_image": "c", "cloth_type": "upper_body"}},
		{name: "fashion without cloth", endpoint: "image_editing/fashion",
			params: map[string]any{"init_image": "u", "prompt": "p"}, wantErr: "missing required parameters cloth_image, cloth_type"},
		{name: "flux_headshot has no init_image", endpoint: "image_editing/flux_headshot",
			params: map[string]any{"init_image": "u"}, wantErr: "missing required parameters prompt, face_image"},
		{name: "img_mixer array", endpoint: "image_editing/img_mixer",
			params: map[string]any{"prompt": "p", "init_image": []any{"a", "b"}}},
		{name: "img_mixer single URL", endpoint: "image_editing/img_mixer",
			params: map[string]any{"prompt": "p", "init_image": "a"}, wantErr: "init_image must be an array"},
		{name: "mask_creator needs the object", endpoint: "image_editing/mask_creator",
			params: map[string]any{"init_image": "u"}, wantErr: "missing required parameter specific_object"},
		{name: "controlnet needs only key", endpoint: "controlnet", params: map[string]any{}},
		{name: "fine_tune base model", endpoint: "fine_tune",
			params:  map[string]any{"instance_prompt": "a", "class_prompt": "b", "images": []any{"u"}},
			wantErr: "missing required parameter base_model_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := mustLookup(t, tt.endpoint).Validate(tt.params)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestShortNamesStayUnambiguous(t *testing.T) {
	t.Parallel()
	for short, want := range map[string]string{
		"text2img": "images/text2img", "img2img": "images/img2img", "object_removal": "image_editing/object_removal",
		"single_face_swap": "faceswap/single_face_swap", "make": "interior/make", "sfx": "voice/sfx",
	} {
		require.Equal(t, want, mustLookup(t, short).Name, short)
	}
}

func TestNumericTrackID(t *testing.T) {
	t.Parallel()
	a, b := NumericTrackID("run-1"), NumericTrackID("run-2")
	require.NotEqual(t, a, b)
	require.Equal(t, a, NumericTrackID("run-1"))
	require.Positive(t, a)
	require.LessOrEqual(t, a, int64(1<<53-1))
	require.True(t, TrackIDMatches("run-1", "run-1"))
	require.True(t, TrackIDMatches(strconv.FormatInt(a, 10), "run-1"))
	require.False(t, TrackIDMatches(strconv.FormatInt(b, 10), "run-1"))
}

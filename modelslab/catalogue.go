package modelslab

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Category groups endpoints that share a fetch path and a sensible default
// deadline.
type Category string

// The endpoint categories.
const (
	CategoryImage        Category = "image"
	CategoryVideo        Category = "video"
	CategoryAudio        Category = "audio"
	Category3D           Category = "3d"
	CategoryImageEditing Category = "image_editing"
	CategoryTraining     Category = "training"
	CategoryWorkflow     Category = "workflow"
)

// Protocol says how an endpoint's request, reply and webhook are shaped.
type Protocol string

// The protocols the provider speaks.
const (
	// ProtocolGeneration is the common v5/v6 shape: key in the body,
	// status success/processing/error, fetch by id.
	ProtocolGeneration Protocol = "generation"
	// ProtocolTraining is the v3 training shape: training_id, stages in
	// training_status or messege, status by fine_tune_status.
	ProtocolTraining Protocol = "training"
	// ProtocolWorkflow is the v1 workflows API: key in a header,
	// execution_id, status by GET.
	ProtocolWorkflow Protocol = "workflow"
)

// Endpoint is one entry of the catalogue.
type Endpoint struct {
	// Name is the catalogue name, the path below the API version, for
	// example "images/text2img".
	Name string
	// Category selects the default deadline.
	Category Category
	// Protocol says how requests and replies are shaped.
	Protocol Protocol
	// Path is the submit path relative to the base URL. "{workflow_id}"
	// is replaced from the parameters.
	Path string
	// FetchPath is the status path relative to the base URL; "{id}" is
	// the provider's request id, "{workflow_id}" comes from the parameters.
	FetchPath string
	// Required lists parameters that must be present and non-empty. An
	// entry "a|b" is satisfied by either a or b.
	Required []string
	// Source names the documentation the entry follows: the ModelsLab
	// docs' category and file (docs-v2), as cited in modelslab-api.md.
	Source string
	// IntegerTrackID reports that the docs type this endpoint's track_id
	// as an integer; Submit then sends NumericTrackID of the run's
	// track_id instead of the string (see NumericTrackID).
	IntegerTrackID bool
	// check, if set, validates parameters beyond Required.
	check func(params map[string]any) error
	// noShort keeps the endpoint out of Lookup by last path element: a
	// family added later must not make an existing short name (text2img)
	// ambiguous.
	noShort bool
}

func gen(cat Category, path, fetch string, required ...string) Endpoint {
	return Endpoint{
		Name:      strings.TrimPrefix(strings.TrimPrefix(path, "v6/"), "v5/"),
		Category:  cat,
		Protocol:  ProtocolGeneration,
		Path:      path,
		FetchPath: fetch,
		Required:  required,
	}
}

// The documentation each family follows (ModelsLab/docs-v2, published
// at docs.modelslab.com), with modelslab-api.md's source tags.
const (
	srcCommunity  = "image-generation/community-models/openapi.json [D-community]"
	srcControlNet = "image-generation/controlnet/openapi.json [D-cn]"
	srcRealtime   = "image-generation/realtime-stable-diffusion/openapi.json [D-rt]"
	srcVideo      = "video-api/openapi.json [D-video]"
	srcVoice      = "voice-cloning/openapi.json [D-voice]"
	src3D         = "3d-api/openapi.json [D-3d]"
	srcEdit       = "image-editing/openapi.json [D-edit]"
	srcFaceswap   = "faceswap-api/openapi.json [D-fs]"
	srcInterior   = "interior-api/openapi.json [D-int]"
	srcTrain      = "image-generation/train-model/openapi.json [D-train]"
	srcLegacy     = "legacy stablediffusionapi.com docs, fine_tune [APIFOX]"
	srcWorkflows  = "workflows-api/*.mdx [D-wf]"
)

// family sets the source and the documented track_id type on entries.
func family(source string, integerTrackID bool, eps ...Endpoint) []Endpoint {
	for i := range eps {
		eps[i].Source = source
		eps[i].IntegerTrackID = integerTrackID
	}
	return eps
}

// noShortName keeps e out of Lookup by its last path element.
func noShortName(e Endpoint) Endpoint {
	e.noShort = true
	return e
}

// catalogue lists every endpoint ModelsLab documents as webhook-capable.
// Required fields are those of the provider's docs (the Source of each
// entry); where the docs disagree (3d/image_to_3d names both image and
// init_image) either is accepted. catalogue_test.go holds each entry to
// its documented facts.
var catalogue = slices.Concat(
	family(srcCommunity, false,
		gen(CategoryImage, "v6/images/text2img", "v6/images/fetch/{id}", "model_id", "prompt"),
		gen(CategoryImage, "v6/images/img2img", "v6/images/fetch/{id}", "model_id", "init_image"),
		gen(CategoryImage, "v6/images/inpaint", "v6/images/fetch/{id}", "model_id", "init_image", "mask_image"),
	),
	// The controlnet OpenAPI requires only key; the model, images and
	// their combination are checked by the provider.
	family(srcControlNet, true,
		gen(CategoryImage, "v5/controlnet", "v6/images/fetch/{id}"),
	),
	family(srcRealtime, false,
		noShortName(gen(CategoryImage, "v6/realtime/text2img", "v6/realtime/fetch/{id}", "prompt")),
		noShortName(gen(CategoryImage, "v6/realtime/img2img", "v6/realtime/fetch/{id}", "prompt", "init_image")),
		noShortName(gen(CategoryImage, "v6/realtime/inpaint", "v6/realtime/fetch/{id}", "prompt", "init_image", "mask_image")),
	),

	family(srcVideo, false,
		gen(CategoryVideo, "v6/video/text2video", "v6/video/fetch/{id}", "model_id", "prompt"),
		gen(CategoryVideo, "v6/video/img2video", "v6/video/fetch/{id}", "model_id", "init_image"),
		gen(CategoryVideo, "v6/video/text2video_ultra", "v6/video/fetch/{id}", "model_id", "prompt"),
		gen(CategoryVideo, "v6/video/img2video_ultra", "v6/video/fetch/{id}", "model_id", "init_image", "prompt"),
		gen(CategoryVideo, "v6/video/video2video", "v6/video/fetch/{id}", "init_image", "init_video"),
		gen(CategoryVideo, "v6/video/watermark_remover", "v6/video/fetch/{id}", "init_video"),
	),

	family(srcVoice, true,
		gen(CategoryAudio, "v6/voice/text_to_speech", "v6/voice/fetch/{id}", "prompt", "voice_id", "language"),
		gen(CategoryAudio, "v6/voice/voice_to_voice", "v6/voice/fetch/{id}", "init_audio", "target_audio"),
		gen(CategoryAudio, "v6/voice/music_gen", "v6/voice/fetch/{id}", "prompt"),
		withCheck(gen(CategoryAudio, "v6/voice/song_generator", "v6/voice/fetch/{id}"), checkSongGenerator),
		gen(CategoryAudio, "v6/voice/text_to_audio", "v6/voice/fetch/{id}", "prompt", "init_audio"),
		gen(CategoryAudio, "v6/voice/voice_cover", "v6/voice/fetch/{id}", "init_audio", "model_id"),
		gen(CategoryAudio, "v6/voice/sfx", "v6/voice/fetch/{id}", "prompt"),
		gen(CategoryAudio, "v6/voice/lyrics_generator", "v6/voice/fetch/{id}", "prompt"),
		gen(CategoryAudio, "v6/voice/speech_to_text", "v6/voice/fetch/{id}", "init_audio", "language"),
		gen(CategoryAudio, "v6/voice/vocal_isolator", "v6/voice/fetch/{id}", "init_audio"),
		gen(CategoryAudio, "v6/voice/voice_design", "v6/voice/fetch/{id}", "prompt", "voice_description"),
		gen(CategoryAudio, "v6/voice/create_dubbing", "v6/voice/fetch/{id}", "init_video", "output_lang"),
	),

	family(src3D, false,
		gen(Category3D, "v6/3d/text_to_3d", "v6/3d/fetch/{id}", "prompt"),
		gen(Category3D, "v6/3d/image_to_3d", "v6/3d/fetch/{id}", "image|init_image"),
	),

	family(srcEdit, true,
		gen(CategoryImageEditing, "v6/image_editing/removebg_mask", "v6/image_editing/fetch/{id}", "image|init_image"),
		gen(CategoryImageEditing, "v6/image_editing/super_resolution", "v6/image_editing/fetch/{id}", "init_image"),
		gen(CategoryImageEditing, "v6/image_editing/caption", "v6/image_editing/fetch/{id}", "init_image"),
		gen(CategoryImageEditing, "v6/image_editing/face_gen", "v6/image_editing/fetch/{id}", "face_image", "prompt"),
		gen(CategoryImageEditing, "v6/image_editing/fashion", "v6/image_editing/fetch/{id}", "init_image", "cloth_image", "cloth_type"),
		gen(CategoryImageEditing, "v6/image_editing/qwen_edit", "v6/image_editing/fetch/{id}", "init_image", "prompt"),
		gen(CategoryImageEditing, "v6/image_editing/flux_headshot", "v6/image_editing/fetch/{id}", "prompt", "face_image"),
		gen(CategoryImageEditing, "v6/image_editing/head_shot", "v6/image_editing/fetch/{id}", "face_image", "prompt"),
		withCheck(gen(CategoryImageEditing, "v6/image_editing/img_mixer", "v6/image_editing/fetch/{id}", "prompt", "init_image"), checkImgMixer),
		gen(CategoryImageEditing, "v6/image_editing/inpaint", "v6/image_editing/fetch/{id}", "prompt", "init_image", "mask_image"),
		gen(CategoryImageEditing, "v6/image_editing/mask_creator", "v6/image_editing/fetch/{id}", "specific_object"),
		gen(CategoryImageEditing, "v6/image_editing/object_removal", "v6/image_editing/fetch/{id}", "init_image", "mask_image"),
		gen(CategoryImageEditing, "v6/image_editing/outpaint", "v6/image_editing/fetch/{id}", "image|init_image"),
	),

	// Face swaps of images are image edits; of videos, videos: the
	// category sets the deadline.
	family(srcFaceswap, true,
		gen(CategoryImageEditing, "v6/faceswap/single_face_swap", "v6/faceswap/fetch/{id}", "init_image", "target_image", "reference_image"),
		gen(CategoryImageEditing, "v6/faceswap/multiple_face_swap", "v6/faceswap/fetch/{id}", "init_image", "target_image"),
		gen(CategoryVideo, "v6/faceswap/single_video_swap", "v6/faceswap/fetch/{id}", "init_image", "init_video"),
		gen(CategoryVideo, "v6/faceswap/specific_video_swap", "v6/faceswap/fetch/{id}", "init_image", "init_video", "reference_image"),
	),

	// object_removal and interior_mixer are documented in pages the
	// OpenAPI file lacks; only their init_image is certain.
	family(srcInterior, true,
		gen(CategoryImageEditing, "v6/interior/make", "v6/interior/fetch/{id}", "init_image", "prompt"),
		gen(CategoryImageEditing, "v6/interior/floor_planning", "v6/interior/fetch/{id}", "init_image", "prompt"),
		gen(CategoryImageEditing, "v6/interior/room_decorator", "v6/interior/fetch/{id}", "init_image", "prompt"),
		gen(CategoryImageEditing, "v6/interior/scenario_changer", "v6/interior/fetch/{id}", "init_image", "prompt"),
		gen(CategoryImageEditing, "v6/interior/sketch_rendering", "v6/interior/fetch/{id}", "init_image", "prompt"),
		gen(CategoryImageEditing, "v6/interior/exterior_restorer", "v6/interior/fetch/{id}", "init_image", "prompt"),
		noShortName(gen(CategoryImageEditing, "v6/interior/object_removal", "v6/interior/fetch/{id}", "init_image")),
		gen(CategoryImageEditing, "v6/interior/interior_mixer", "v6/interior/fetch/{id}", "init_image"),
	),

	[]Endpoint{
		{
			Name: "lora_fine_tune", Category: CategoryTraining, Protocol: ProtocolTraining,
			Path: "v3/lora_fine_tune", FetchPath: "v3/fine_tune_status/{id}", Source: srcTrain,
			// training_type is documented as required but may be null, so
			// its presence cannot be checked here; the provider checks it.
			Required: []string{"instance_prompt", "class_prompt", "images", "max_train_steps"},
		},
		{
			Name: "fine_tune", Category: CategoryTraining, Protocol: ProtocolTraining,
			Path: "v3/fine_tune", FetchPath: "v3/fine_tune_status/{id}", Source: srcLegacy,
			Required: []string{"instance_prompt", "class_prompt", "base_model_id", "images"},
		},
		{
			Name: "workflows/run", Category: CategoryWorkflow, Protocol: ProtocolWorkflow,
			Path: "v1/workflows/{workflow_id}/run", FetchPath: "v1/workflows/{workflow_id}/runs/{id}", Source: srcWorkflows,
			Required: []string{"workflow_id"},
		},
	},
)

func withCheck(e Endpoint, check func(map[string]any) error) Endpoint {
	e.check = check
	return e
}

// checkSongGenerator applies the documented rule: with
// lyrics_generation=true the provider writes the lyrics from prompt and
// caption; otherwise lyrics are required.
func checkSongGenerator(params map[string]any) error {
	if truthy(params["lyrics_generation"]) {
		return requireAll(params, "prompt", "caption")
	}
	return requireAll(params, "lyrics")
}

// checkImgMixer applies the documented type of img_mixer's init_image:
// an array of images to mix, not one URL.
func checkImgMixer(params map[string]any) error {
	switch params["init_image"].(type) {
	case []any, []string:
		return nil
	}
	return errors.New("init_image must be an array of image URLs")
}

// Endpoints returns the catalogue, sorted by name. The entries are copies:
// changing them does not change the catalogue.
func Endpoints() []Endpoint {
	out := make([]Endpoint, len(catalogue))
	for i, e := range catalogue {
		out[i] = e.clone()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// clone copies e's Required so that a caller appending to or editing it
// cannot alter the package's catalogue.
func (e Endpoint) clone() Endpoint {
	e.Required = slices.Clone(e.Required)
	return e
}

// Lookup finds an endpoint by its catalogue name ("images/text2img") or by
// its last path element when that is unambiguous ("text2img").
func Lookup(name string) (Endpoint, error) {
	name = strings.Trim(strings.TrimSpace(name), "/")
	var short []Endpoint
	for _, e := range catalogue {
		if e.Name == name {
			return e.clone(), nil
		}
		if !e.noShort && e.shortName() == name {
			short = append(short, e)
		}
	}
	switch len(short) {
	case 1:
		return short[0].clone(), nil
	case 0:
		return Endpoint{}, fmt.Errorf("unknown endpoint %q (run `starter endpoints` for the list)", name)
	default:
		names := make([]string, len(short))
		for i, e := range short {
			names[i] = e.Name
		}
		return Endpoint{}, fmt.Errorf("endpoint %q is ambiguous: one of %s", name, strings.Join(names, ", "))
	}
}

// ShortName is the name Lookup also finds e by, its last path element,
// or "" when that name is not e's alone (image_editing/inpaint) or is
// kept for an older family (realtime/text2img leaves text2img to
// images/text2img).
func (e Endpoint) ShortName() string {
	short := e.shortName()
	if e.noShort || short == e.Name {
		return ""
	}
	n := 0
	for _, o := range catalogue {
		if !o.noShort && o.shortName() == short {
			n++
		}
	}
	if n != 1 {
		return ""
	}
	return short
}

func (e Endpoint) shortName() string {
	if i := strings.LastIndexByte(e.Name, '/'); i >= 0 {
		return e.Name[i+1:]
	}
	return e.Name
}

// Validate checks params against the endpoint's required fields before any
// request is sent. The error names every missing field.
func (e Endpoint) Validate(params map[string]any) error {
	if err := requireAll(params, e.Required...); err != nil {
		return fmt.Errorf("%s: %w", e.Name, err)
	}
	if e.check != nil {
		if err := e.check(params); err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
	}
	return nil
}

// MissingFieldsError lists required parameters that are absent or empty.
type MissingFieldsError struct {
	Fields []string
}

func (e *MissingFieldsError) Error() string {
	if len(e.Fields) == 1 {
		return "missing required parameter " + e.Fields[0]
	}
	return "missing required parameters " + strings.Join(e.Fields, ", ")
}

func requireAll(params map[string]any, fields ...string) error {
	var missing []string
	for _, f := range fields {
		ok := false
		for _, alt := range strings.Split(f, "|") {
			if present(params[alt]) {
				ok = true
				break
			}
		}
		if !ok {
			missing = append(missing, strings.ReplaceAll(f, "|", " or "))
		}
	}
	if len(missing) > 0 {
		return &MissingFieldsError{Fields: missing}
	}
	return nil
}

func present(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return strings.TrimSpace(v) != ""
	case []any:
		return len(v) > 0
	case []string:
		return len(v) > 0
	default:
		return true
	}
}

// truthy reads the provider's loose booleans: true, "true", "yes", "1".
func truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "yes", "1":
			return true
		}
	case float64:
		return v != 0
	case int:
		return v != 0
	case int64:
		return v != 0
	case json.Number:
		f, err := v.Float64()
		return err == nil && f != 0
	}
	return false
}

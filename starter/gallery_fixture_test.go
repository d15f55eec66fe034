package starter

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestGalleryFixtures writes the galleries scripts/gallery-check.sh opens
// in headless Chromium into $GALLERY_FIXTURES (a running batch, a
// pipeline, the injection cases, a 10,000-item batch and one
// generation), with their stored copies beside them; the provider's links
// point at https://cdn.modelslab.test/, which the check serves from
// provider/. Without the variable it writes small ones into a temporary
// directory, so the fixtures keep building.
func TestGalleryFixtures(t *testing.T) {
	dir := os.Getenv("GALLERY_FIXTURES")
	big := 10000
	if dir == "" {
		dir, big = t.TempDir(), 300
	}
	fx := &fixtures{t: t, dir: dir, at: time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "outputs"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "provider"), 0o755))

	fx.write("batch.html", fx.batch())
	fx.write("pipeline.html", fx.pipeline())
	inj := hostileGallery()
	inj.Items = append(inj.Items, fx.hostileOutputs()...)
	fx.write("injection.html", inj)
	fx.write("big.html", fx.bigBatch(big))
	fx.write("generation.html", fx.generation())
	// The provider's files the check serves for cdn.modelslab.test.
	fx.file("provider/thumb.png", pictureBytes(7, 256))
	fx.file("provider/clip.wav", toneWAV(330, 1.2))
}

type fixtures struct {
	t   *testing.T
	dir string
	at  time.Time
}

func (fx *fixtures) write(name string, g Gallery) {
	fx.t.Helper()
	_, err := writeGalleryFile(filepath.Join(fx.dir, name), g)
	require.NoError(fx.t, err)
}

func (fx *fixtures) file(name string, b []byte) int64 {
	fx.t.Helper()
	require.NoError(fx.t, os.MkdirAll(filepath.Dir(filepath.Join(fx.dir, name)), 0o755))
	require.NoError(fx.t, os.WriteFile(filepath.Join(fx.dir, name), b, 0o644))
	return int64(len(b))
}

var fixturePrompts = []string{
	"a lighthouse on a cliff at dusk, oil painting", "a harbour at dawn, fishing boats", "a red fox in fresh snow, golden hour",
	"a misty pine forest, morning light", "a desert road under a violet sky", "a paper boat on a rain puddle, macro",
	"an old tram in Lisbon, film grain", "a glass greenhouse full of orchids", "a snowy mountain hut, starry night",
	"a koi pond in autumn, top view", "a cyberpunk alley in the rain, neon signs", "a field of sunflowers, summer storm coming",
}

// stored writes a stored copy of a picture and returns its output entry
// as the page links it.
func (fx *fixtures) stored(trackID string, n int, seed int, done time.Time) GalleryOutput {
	name := fmt.Sprintf("%d-%d.png", n, 100000+seed)
	rel := "outputs/" + trackID + "/" + name
	size := fx.file(rel, pictureBytes(seed, 256))
	return GalleryOutput{Kind: OutputImage, Src: relativeURL(rel), Link: "https://cdn.modelslab.test/files/" + name, Name: name,
		Stored: true, Size: size, ContentType: "image/png", SHA256: fmt.Sprintf("%064x", seed)}
}

func (fx *fixtures) item(batch string, i int) GalleryItem {
	start := fx.at.Add(time.Duration(i) * 700 * time.Millisecond)
	it := GalleryItem{Index: i, TrackID: fmt.Sprintf("%s-%05d", batch, i), Endpoint: "images/text2img", Model: "flux",
		Prompt: fixturePrompts[i%len(fixturePrompts)], Params: "{\n  \"height\": 512,\n  \"samples\": 1,\n  \"width\": 512\n}",
		UIURL: "http://localhost:8233/namespaces/default/workflows/" + fmt.Sprintf("%s-%05d", batch, i), StartedAt: start}
	return it
}

func (fx *fixtures) succeed(it *GalleryItem, by string, secs float64) {
	it.Status, it.LearnedBy, it.Seconds = gallerySucceeded, by, secs
	it.SubmittedAt = it.StartedAt.Add(40 * time.Millisecond)
	it.CompletedAt = it.StartedAt.Add(time.Duration(secs * float64(time.Second)))
	it.ProviderID = fmt.Sprint(134700000 + it.Index)
	it.GenerationTime = secs - 0.4
	if by == "webhook" {
		it.Webhooks = 1
	} else {
		it.Polls = 2
	}
}

// batch is a running 24-item batch: stored copies, provider links,
// failures, running and pending items.
func (fx *fixtures) batch() Gallery {
	const id = "launch-42"
	g := Gallery{Kind: GalleryBatch, ID: id, Title: "batch of 24: images/text2img: a lighthouse on a cliff at dusk, oil painting",
		Status: StatusRunning, State: "running", UIURL: "http://localhost:8233/namespaces/default/workflows/" + id,
		StartedAt: fx.at, GeneratedAt: fx.at.Add(20 * time.Second),
		Notes: []string{"still running: this page shows it at 09:30:20 UTC; run `starter gallery launch-42` again, " +
			"or `starter gallery launch-42 --serve`, whose page shows it live"}}
	for i := range 24 {
		it := fx.item(id, i)
		errs := map[int]string{5: "GenerationFailed: NSFW content detected, try another prompt",
			11: "GenerationFailed: the model is overloaded, retry later", 16: "ModelsLabInvalidInput: width must be a multiple of 8",
			19: "GenerationTimeout: no result before the deadline (30m0s)"}
		switch {
		case errs[i] != "":
			it.Status, it.CompletedAt, it.Seconds, it.Error = StatusFailed, it.StartedAt.Add(2*time.Second), 2, errs[i]
		case i >= 21:
			it.Status = galleryPending
		case i >= 17:
			it.Status, it.Phase = StatusRunning, []string{"waiting_webhook", "submitting", "polling"}[i%3]
		default:
			by := "webhook"
			if i%4 == 3 {
				by = "poll"
			}
			fx.succeed(&it, by, 2.8+float64(i%5)*0.9)
			if i%6 == 2 {
				// Not stored: the provider's link, marked as expiring.
				it.Outputs = []GalleryOutput{{Kind: OutputImage, Src: "https://cdn.modelslab.test/files/thumb.png",
					Link: "https://cdn.modelslab.test/files/thumb.png", Name: "thumb.png", Expires: it.CompletedAt.Add(ProviderLinkLifetime)}}
			} else {
				it.Outputs = []GalleryOutput{fx.stored(it.TrackID, 0, i, it.CompletedAt)}
			}
		}
		g.Items = append(g.Items, it)
	}
	g.Progress = &GalleryProgress{Total: 24, Succeeded: 14, Failed: 4, Running: 3, Pending: 3, PerSecond: 0.9}
	return g
}

// pipeline is a pipeline whose steps made an image, a video, speech, 3D
// models (one failed) and one step that was skipped.
func (fx *fixtures) pipeline() Gallery {
	const id = "promo-7"
	at := fx.at
	gen := func(step string, index int, endpoint, model, prompt string, secs float64) GalleryItem {
		tid := id + "_" + step
		if index >= 0 {
			tid += fmt.Sprintf("_%d", index)
		}
		it := GalleryItem{Index: max(index, 0), TrackID: tid, Endpoint: endpoint, Model: model, Prompt: prompt,
			UIURL: "http://localhost:8233/namespaces/default/workflows/" + tid, StartedAt: at}
		fx.succeed(&it, "webhook", secs)
		at = at.Add(time.Duration(secs * float64(time.Second)))
		return it
	}
	portrait := gen("portrait", -1, "images/text2img", "flux", "portrait of an old lighthouse keeper with a white beard, oil painting", 3.4)
	portrait.Params = "{\n  \"height\": 768,\n  \"width\": 512\n}"
	portrait.Outputs = []GalleryOutput{fx.stored(portrait.TrackID, 0, 3, portrait.CompletedAt)}

	animate := gen("animate", -1, "video/img2video", "svd", "", 41.2)
	animate.Params = "{\n  \"init_image\": \"" + portrait.Outputs[0].Link + "\",\n  \"num_frames\": 25\n}"
	animate.Outputs = []GalleryOutput{{Kind: OutputVideo, Src: "https://cdn.modelslab.test/files/clip.mp4",
		Link: "https://cdn.modelslab.test/files/clip.mp4", Name: "clip.mp4", Expires: animate.CompletedAt.Add(ProviderLinkLifetime)}}

	voice := gen("voice", -1, "voice/text_to_speech", "", "Every night for forty years, he kept the light burning.", 6.1)
	voice.Params = "{\n  \"language\": \"american english\",\n  \"voice_id\": \"madison\"\n}"
	wav := "outputs/" + voice.TrackID + "/0-speech.wav"
	voice.Outputs = []GalleryOutput{{Kind: OutputAudio, Src: wav, Link: "https://cdn.modelslab.test/files/speech.wav", Name: "0-speech.wav",
		Stored: true, Size: fx.file(wav, toneWAV(220, 1.5)), ContentType: "audio/wav"}}

	var models []GalleryItem
	for i := range 3 {
		m := gen("model", i, "3d/image_to_3d", "", "", 95+float64(i)*7)
		m.Params = "{\n  \"image\": \"" + portrait.Outputs[0].Link + "\",\n  \"output_format\": \"glb\"\n}"
		if i == 2 {
			m.Status, m.LearnedBy, m.Outputs, m.Webhooks = StatusFailed, "", nil, 1
			m.Error = "GenerationFailed: could not find a single object in the image"
		} else {
			glb := fmt.Sprintf("outputs/%s/0-model-%d.glb", m.TrackID, i)
			m.Outputs = []GalleryOutput{{Kind: OutputModel, Src: glb, Link: fmt.Sprintf("https://cdn.modelslab.test/files/model-%d.glb", i),
				Name: fmt.Sprintf("0-model-%d.glb", i), Stored: true, Size: fx.file(glb, bytes.Repeat([]byte("glTF"), 9000+i*1500)),
				ContentType: "model/gltf-binary"}}
		}
		models = append(models, m)
	}
	return Gallery{Kind: GalleryPipeline, ID: id, Title: "pipeline portrait-to-promo", Status: StatusCompleted, State: "partial",
		UIURL: "http://localhost:8233/namespaces/default/workflows/" + id, StartedAt: fx.at, ClosedAt: at, GeneratedAt: at.Add(time.Minute),
		Steps: []GalleryStep{
			{Name: "portrait", Endpoint: "images/text2img", State: "succeeded", Items: []GalleryItem{portrait}},
			{Name: "animate", Endpoint: "video/img2video", State: "succeeded", DependsOn: []string{"portrait"}, Items: []GalleryItem{animate}},
			{Name: "voice", Endpoint: "voice/text_to_speech", State: "succeeded", Items: []GalleryItem{voice}},
			{Name: "model", Endpoint: "3d/image_to_3d", State: "failed", Mapped: true, DependsOn: []string{"portrait"},
				Error: "model_2: could not find a single object in the image", Items: models},
			{Name: "turntable", Endpoint: "video/img2video", State: "skipped", DependsOn: []string{"model"}},
		}}
}

// hostileOutputs are items whose links and names are hostile: a
// javascript: link, a data: link, names that close attributes.
func (fx *fixtures) hostileOutputs() []GalleryItem {
	var items []GalleryItem
	for i, link := range []string{"javascript:window.__pwned=1", "data:text/html,<script>window.__pwned=1</script>",
		"JaVaScRiPt:window.__pwned=1", " javascript:window.__pwned=1"} {
		items = append(items, GalleryItem{Index: 100 + i, TrackID: fmt.Sprintf("inject-link-%d", i), Status: gallerySucceeded,
			Prompt:  `"><img src=x onerror=window.__pwned=1>`,
			Outputs: galleryOutputs([]string{link}, nil, fx.at, nil)})
	}
	return items
}

// bigBatch is a completed batch of n items, each with one provider
// image and realistic parameters: the size and first-paint case.
func (fx *fixtures) bigBatch(n int) Gallery {
	const id = "big-10k"
	g := Gallery{Kind: GalleryBatch, ID: id, Title: fmt.Sprintf("batch of %d: images/text2img: a lighthouse on a cliff at dusk", n),
		Status: StatusCompleted, State: "completed", UIURL: "http://localhost:8233/namespaces/default/workflows/" + id,
		StartedAt: fx.at, ClosedAt: fx.at.Add(time.Duration(n) * 50 * time.Millisecond), GeneratedAt: fx.at.Add(time.Hour)}
	failed := 0
	for i := range n {
		it := fx.item(id, i)
		it.Prompt = fmt.Sprintf("%s, variation %d, seed %d", fixturePrompts[i%len(fixturePrompts)], i, 1000+i)
		if i%50 == 7 {
			it.Status, it.Error, it.Seconds = StatusFailed, "GenerationFailed: NSFW content detected, try another prompt", 2.1
			it.CompletedAt = it.StartedAt.Add(2100 * time.Millisecond)
			failed++
		} else {
			fx.succeed(&it, "webhook", 3.1)
			link := fmt.Sprintf("https://cdn.modelslab.test/files/%d-0.png", 134700000+i)
			it.Outputs = []GalleryOutput{{Kind: OutputImage, Src: link, Link: link, Name: fmt.Sprintf("%d-0.png", 134700000+i),
				Expires: it.CompletedAt.Add(ProviderLinkLifetime)}}
		}
		g.Items = append(g.Items, it)
	}
	g.Progress = &GalleryProgress{Total: n, Succeeded: n - failed, Failed: failed, PerSecond: 20.6}
	return g
}

func (fx *fixtures) generation() Gallery {
	it := fx.item("demo", 0)
	it.TrackID, it.Prompt = "demo-20261201-093000", "a red fox in fresh snow, golden hour"
	fx.succeed(&it, "webhook", 3.03)
	it.Outputs = []GalleryOutput{fx.stored(it.TrackID, 0, 2, it.CompletedAt), fx.stored(it.TrackID, 1, 9, it.CompletedAt)}
	return Gallery{Kind: GalleryGeneration, ID: it.TrackID, Title: "images/text2img: " + it.Prompt, Status: StatusCompleted,
		State: "succeeded", StartedAt: it.StartedAt, ClosedAt: it.CompletedAt, GeneratedAt: it.CompletedAt.Add(time.Second),
		UIURL: it.UIURL, Items: []GalleryItem{it}}
}

// pictureBytes draws a small landscape, its colours picked by seed.
func pictureBytes(seed, size int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	hue := float64(seed*47%360) / 360
	sky1, sky2 := hsl(hue, 0.6, 0.78), hsl(math.Mod(hue+0.08, 1), 0.7, 0.45)
	hill := hsl(math.Mod(hue+0.45, 1), 0.45, 0.32)
	sun := hsl(math.Mod(hue+0.12, 1), 0.9, 0.7)
	sx, sy, r := float64(size)*(0.25+float64(seed%5)*0.12), float64(size)*0.38, float64(size)*0.11
	for y := range size {
		t := float64(y) / float64(size)
		row := mix(sky1, sky2, t)
		for x := range size {
			c := row
			if dx, dy := float64(x)-sx, float64(y)-sy; dx*dx+dy*dy < r*r {
				c = sun
			}
			h := float64(size)*0.68 + math.Sin(float64(x)/float64(size)*math.Pi*2*(1+float64(seed%3))+float64(seed))*float64(size)*0.07
			if float64(y) > h {
				c = mix(hill, color.RGBA{20, 24, 30, 255}, (float64(y)-h)/float64(size))
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func mix(a, b color.RGBA, t float64) color.RGBA {
	t = math.Max(0, math.Min(1, t))
	l := func(x, y uint8) uint8 { return uint8(float64(x)*(1-t) + float64(y)*t) }
	return color.RGBA{l(a.R, b.R), l(a.G, b.G), l(a.B, b.B), 255}
}

func hsl(h, s, l float64) color.RGBA {
	f := func(n float64) uint8 {
		k := math.Mod(n+h*12, 12)
		a := s * math.Min(l, 1-l)
		return uint8(255 * (l - a*math.Max(-1, math.Min(math.Min(k-3, 9-k), 1))))
	}
	return color.RGBA{f(0), f(8), f(4), 255}
}

// toneWAV is a mono 16-bit WAV of a fading tone.
func toneWAV(freq, seconds float64) []byte {
	const rate = 16000
	n := int(rate * seconds)
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	w(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	w(uint32(16))
	w(uint16(1))
	w(uint16(1))
	w(uint32(rate))
	w(uint32(rate * 2))
	w(uint16(2))
	w(uint16(16))
	b.WriteString("data")
	w(uint32(2 * n))
	for i := range n {
		t := float64(i) / rate
		w(int16(math.Sin(2*math.Pi*freq*t) * 9000 * (1 - t/seconds)))
	}
	return b.Bytes()
}

// TestGalleryFixtureSizes keeps the 10,000-item page within what opens
// quickly: its data grows linearly, about a kilobyte per item.
func TestGalleryFixtureSizes(t *testing.T) {
	t.Parallel()
	fx := &fixtures{t: t, dir: t.TempDir(), at: time.Now()}
	var small, large bytes.Buffer
	require.NoError(t, RenderGallery(&small, fx.bigBatch(100)))
	require.NoError(t, RenderGallery(&large, fx.bigBatch(1000)))
	perItem := float64(large.Len()-small.Len()) / 900
	require.Less(t, perItem, 1100.0, "bytes per item")
	require.Equal(t, 2, strings.Count(large.String(), "<script"))
}

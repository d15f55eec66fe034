package starter

import (
	"crypto/sha256"
	_ "embed" // the gallery's template, style and script
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/storage"
)

// A gallery is one self-contained HTML page that shows every output of a
// generation, a batch or a pipeline as what it is: images as thumbnails,
// video and audio in players, 3D models and other files as download
// links. The page's data is one JSON document in a
// <script type="application/json"> block, which the page's own inline
// script renders with DOM APIs (textContent, setAttribute), a page of
// items at a time: nothing a prompt, a parameter or a provider's reply
// carries is ever parsed as HTML. A Content-Security-Policy allows the
// page's own script and style only, by their SHA-256, and loads no
// script, style sheet or font from anywhere: the page works offline.

// Gallery kinds: what the page shows.
const (
	GalleryGeneration = "generation"
	GalleryBatch      = "batch"
	GalleryPipeline   = "pipeline"
)

// Output kinds: how the page shows an output.
const (
	OutputImage = "image"
	OutputVideo = "video"
	OutputAudio = "audio"
	OutputModel = "model" // a 3D model: a download link
	OutputFile  = "file"  // anything else: a download link
)

// Item statuses beyond the Temporal ones (StatusRunning, ...): an item of
// a batch that has not started yet (pending while the batch runs, not
// started once it ended), and a pipeline step that never ran.
const (
	galleryPending    = "pending"
	galleryNotStarted = "not_started"
	gallerySkipped    = "skipped"
	gallerySucceeded  = "succeeded"
	galleryUnknown    = "unknown"
)

// ProviderLinkLifetime is how long the provider's output links are
// served: a gallery marks them as expiring this long after the run
// completed. Stored copies (--store) do not expire.
const ProviderLinkLifetime = 24 * time.Hour

// DefaultGalleryPageSize is how many items the page renders at a time.
const DefaultGalleryPageSize = 60

// Gallery is what a gallery page shows: the page's JSON data.
type Gallery struct {
	// Kind is GalleryGeneration, GalleryBatch or GalleryPipeline.
	Kind string `json:"kind"`
	ID   string `json:"id"`
	// Title is a pipeline's name or a run's summary.
	Title string `json:"title,omitempty"`
	// Status is the run's Temporal status (running, completed, failed,
	// ...); State its genflow state (a batch's running or completed, a
	// pipeline's partial, ...).
	Status string `json:"status"`
	State  string `json:"state,omitempty"`
	// UIURL is the run's page in the Temporal UI.
	UIURL string `json:"ui_url,omitempty"`
	// Error is a failed or cancelled run's error.
	Error     string    `json:"error,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"`
	ClosedAt  time.Time `json:"closed_at,omitzero"`
	// GeneratedAt is when the page was made.
	GeneratedAt time.Time `json:"generated_at"`
	// Progress is a batch's counts, from its live state or its result.
	Progress *GalleryProgress `json:"progress,omitempty"`
	// Items are a generation's one item or a batch's items, in order.
	Items []GalleryItem `json:"items,omitempty"`
	// Steps are a pipeline's steps, in plan order.
	Steps []GalleryStep `json:"steps,omitempty"`
	// PageSize is how many items the page renders at a time; zero means
	// DefaultGalleryPageSize.
	PageSize int `json:"page_size"`
	// Refresh, when positive, makes a running run's page reload itself
	// every Refresh seconds (the page served by --serve, which makes it
	// again on each load).
	Refresh int `json:"refresh,omitempty"`
	// Notes are lines shown under the header (how to refresh, why a
	// stored copy is not linked, ...).
	Notes []string `json:"notes,omitempty"`
}

// GalleryProgress is a batch's counts.
type GalleryProgress struct {
	Total     int     `json:"total"`
	Succeeded int     `json:"succeeded"`
	Failed    int     `json:"failed"`
	Canceled  int     `json:"canceled"`
	Running   int     `json:"running"`
	Pending   int     `json:"pending"`
	PerSecond float64 `json:"per_second,omitempty"`
}

// Done is the number of finished items.
func (p GalleryProgress) Done() int { return p.Succeeded + p.Failed + p.Canceled }

// GalleryStep is one step of a pipeline.
type GalleryStep struct {
	Name      string        `json:"name"`
	Endpoint  string        `json:"endpoint"`
	State     string        `json:"state"`
	DependsOn []string      `json:"depends_on,omitempty"`
	Mapped    bool          `json:"mapped,omitempty"`
	Error     string        `json:"error,omitempty"`
	StartedAt time.Time     `json:"started_at,omitzero"`
	EndedAt   time.Time     `json:"completed_at,omitzero"`
	Items     []GalleryItem `json:"items,omitempty"`
}

// GalleryItem is one generation: what was asked, how it went, what it
// made.
type GalleryItem struct {
	// Index is the item's place in its batch or mapped step, from 0.
	Index    int    `json:"index"`
	TrackID  string `json:"track_id"`
	Endpoint string `json:"endpoint,omitempty"`
	Model    string `json:"model,omitempty"`
	Prompt   string `json:"prompt,omitempty"`
	// Params are the other parameters, as JSON text.
	Params string `json:"params,omitempty"`
	// Status is succeeded, failed, canceled, terminated, timed_out,
	// running, pending, not_started, skipped or unknown.
	Status string `json:"status"`
	// Phase is a running generation's phase (waiting_webhook, polling).
	Phase      string `json:"phase,omitempty"`
	LearnedBy  string `json:"learned_by,omitempty"`
	ProviderID string `json:"provider_id,omitempty"`
	// Error is a failed item's error: its type and the provider's
	// message.
	Error       string    `json:"error,omitempty"`
	StartedAt   time.Time `json:"started_at,omitzero"`
	SubmittedAt time.Time `json:"submitted_at,omitzero"`
	CompletedAt time.Time `json:"completed_at,omitzero"`
	// Seconds is the total time, submit to result; GenerationTime the
	// provider's own figure.
	Seconds        float64         `json:"seconds,omitempty"`
	GenerationTime float64         `json:"generation_time,omitempty"`
	Webhooks       int             `json:"webhooks,omitempty"`
	Polls          int             `json:"polls,omitempty"`
	UIURL          string          `json:"ui_url,omitempty"`
	Outputs        []GalleryOutput `json:"outputs,omitempty"`
}

// GalleryOutput is one output, ready for the page.
type GalleryOutput struct {
	// Kind is OutputImage, OutputVideo, OutputAudio, OutputModel or
	// OutputFile.
	Kind string `json:"kind"`
	// Src is what the page loads or links: an http(s) URL, or the
	// relative path of a stored copy. Empty when neither is safe to
	// link: the page then shows Link as text.
	Src string `json:"src,omitempty"`
	// Link is the provider's link as it came, shown as text.
	Link string `json:"link"`
	Name string `json:"name,omitempty"`
	// Stored says Src is the stored copy; otherwise it is the
	// provider's link, which expires at Expires.
	Stored      bool      `json:"stored,omitempty"`
	Expires     time.Time `json:"expires,omitzero"`
	Size        int64     `json:"size,omitempty"`
	ContentType string    `json:"content_type,omitempty"`
	SHA256      string    `json:"sha256,omitempty"`
	// Note says why the stored copy is not linked, or why the output was
	// not stored.
	Note string `json:"note,omitempty"`
}

// StoredLinker maps a stored copy's location to what a page may link:
// a relative path (a file beside the page, or a path the gallery server
// serves), or "" with the reason it cannot be linked.
type StoredLinker func(s contract.StoredOutput) (src, note string)

// galleryOutputs turns a generation's outputs into page entries: the
// stored copy where link gives one, the provider's link otherwise
// (expiring ProviderLinkLifetime after completed), and only http(s)
// links or the linker's relative paths as Src.
func galleryOutputs(output []string, stored []contract.StoredOutput, completed time.Time, link StoredLinker) []GalleryOutput {
	var out []GalleryOutput
	for i, raw := range output {
		o := GalleryOutput{Link: raw, Name: outputName(raw)}
		var st *contract.StoredOutput
		if i < len(stored) && stored[i].Output == raw {
			st = &stored[i]
		} else {
			for j := range stored {
				if stored[j].Output == raw {
					st = &stored[j]
					break
				}
			}
		}
		if st != nil {
			o.Size, o.ContentType, o.SHA256 = st.Size, st.ContentType, st.SHA256
			switch {
			case st.Location == "":
				o.Note = "not stored: " + st.Error
			case link != nil:
				src, note := link(*st)
				if src != "" && safeRelative(src) {
					o.Src, o.Stored = src, true
					if n := outputName(st.Location); n != "" {
						o.Name = n
					}
				}
				o.Note = note
			}
		}
		if !o.Stored {
			if u, ok := safeLink(raw); ok {
				o.Src = u
				if !completed.IsZero() {
					o.Expires = completed.Add(ProviderLinkLifetime)
				}
			}
		}
		o.Kind = outputKind(o.ContentType, raw)
		out = append(out, o)
	}
	return out
}

// safeLink returns raw as a URL a page may load or link: http or https
// with a host, nothing else (no javascript:, data:, file: or relative
// link), normalised by net/url.
func safeLink(raw string) (string, bool) {
	if raw == "" || strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return "", false
	}
	return u.String(), true
}

// safeRelative reports whether p is a relative path a page may link: no
// scheme, no host, no white space, no backslash.
func safeRelative(p string) bool {
	if p == "" || strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '\\' }) ||
		strings.HasPrefix(p, "//") {
		return false
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == ""
}

// outputName is the last segment of a link or location, unescaped.
func outputName(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	p := u.Path
	if u.Opaque != "" {
		p = u.Opaque
	}
	base := path.Base(p)
	if base == "." || base == "/" {
		return ""
	}
	if s, err := url.PathUnescape(base); err == nil {
		return s
	}
	return base
}

// extensionKinds maps file extensions to output kinds.
var extensionKinds = map[string]string{
	".png": OutputImage, ".jpg": OutputImage, ".jpeg": OutputImage, ".gif": OutputImage, ".webp": OutputImage,
	".avif": OutputImage, ".bmp": OutputImage, ".svg": OutputImage,
	".mp4": OutputVideo, ".webm": OutputVideo, ".mov": OutputVideo, ".m4v": OutputVideo, ".ogv": OutputVideo,
	".mp3": OutputAudio, ".wav": OutputAudio, ".ogg": OutputAudio, ".oga": OutputAudio, ".m4a": OutputAudio,
	".aac": OutputAudio, ".flac": OutputAudio, ".opus": OutputAudio, ".weba": OutputAudio,
	".glb": OutputModel, ".gltf": OutputModel, ".obj": OutputModel, ".fbx": OutputModel, ".stl": OutputModel,
	".ply": OutputModel, ".usdz": OutputModel, ".3mf": OutputModel,
}

// outputKind says how to show an output: by its media type when a stored
// copy recorded one, else by its link's extension.
func outputKind(contentType, link string) string {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		switch top, _, _ := strings.Cut(mt, "/"); top {
		case "image", "video", "audio":
			return top
		case "model":
			return OutputModel
		}
	}
	u, err := url.Parse(link)
	if err != nil {
		return OutputFile
	}
	if k, ok := extensionKinds[strings.ToLower(path.Ext(u.Path))]; ok {
		return k
	}
	return OutputFile
}

// galleryParams splits a generation's parameters into its model, its
// prompt and the rest as JSON text.
func galleryParams(params map[string]any) (model, prompt, rest string) {
	other := map[string]any{}
	for k, v := range params {
		switch k {
		case "model_id":
			if s, ok := v.(string); ok {
				model = s
				continue
			}
		case "prompt":
			if s, ok := v.(string); ok {
				prompt = s
				continue
			}
		}
		other[k] = v
	}
	if len(other) > 0 {
		if b, err := json.MarshalIndent(other, "", "  "); err == nil {
			rest = string(b)
		}
	}
	return model, prompt, rest
}

// galleryGroup is the filter an item's status falls under: succeeded,
// failed (failed, canceled, terminated, timed out), running (running and
// pending) or other (not started, skipped).
func galleryGroup(status string) string {
	switch status {
	case gallerySucceeded:
		return "succeeded"
	case StatusFailed, StatusCanceled, StatusTerminated, StatusTimedOut, galleryUnknown:
		return "failed"
	case StatusRunning, galleryPending:
		return "running"
	}
	return "other"
}

//go:embed gallery.html
var galleryHTML string

//go:embed gallery.css
var galleryCSS string

//go:embed gallery.js
var galleryJS string

var galleryTemplate = template.Must(template.New("gallery").Funcs(template.FuncMap{
	"size": storage.FormatSize,
	"time": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 MST")
	},
}).Parse(galleryHTML))

// cspHash is a CSP source for an inline block: 'sha256-<base64>'.
func cspHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
}

// GalleryCSP is the gallery page's Content-Security-Policy: nothing but
// its own inline script and style (by hash), images and media from
// http(s) and beside the page, no connections, forms, frames or base.
var GalleryCSP = "default-src 'none'; script-src " + cspHash(galleryJS) + "; style-src " + cspHash(galleryCSS) +
	"; img-src http: https: 'self'; media-src http: https: 'self'; base-uri 'none'; form-action 'none'"

// galleryCounts are the filter counts of a set of items.
type galleryCounts struct{ All, Succeeded, Failed, Running, Other int }

func (c *galleryCounts) add(items []GalleryItem) {
	for _, it := range items {
		c.All++
		switch galleryGroup(it.Status) {
		case "succeeded":
			c.Succeeded++
		case "failed":
			c.Failed++
		case "running":
			c.Running++
		default:
			c.Other++
		}
	}
}

// tally counts the gallery's generations by state (its own items and its
// steps') and their outputs.
func (g Gallery) tally() (galleryCounts, int) {
	var counts galleryCounts
	outputs := 0
	count := func(items []GalleryItem) {
		counts.add(items)
		for _, it := range items {
			outputs += len(it.Outputs)
		}
	}
	count(g.Items)
	for _, st := range g.Steps {
		count(st.Items)
	}
	return counts, outputs
}

// RenderGallery writes g as one self-contained HTML page.
func RenderGallery(w io.Writer, g Gallery) error {
	if g.PageSize <= 0 {
		g.PageSize = DefaultGalleryPageSize
	}
	counts, outputs := g.tally()
	if u, ok := safeLink(g.UIURL); ok {
		g.UIURL = u
	} else {
		g.UIURL = ""
	}
	data, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("gallery data: %w", err)
	}
	return galleryTemplate.Execute(w, map[string]any{
		"G":       g,
		"CSP":     GalleryCSP,
		"Style":   template.CSS(galleryCSS),
		"Script":  template.JS(galleryJS),
		"Data":    template.JS(jsonForScript(data)),
		"Counts":  counts,
		"Outputs": outputs,
	})
}

// jsonForScript makes JSON safe inside a <script type="application/json">
// block: json.Marshal already writes <, > and & as \u escapes, so no
// "</script" or "<!--" can appear; U+2028 and U+2029 are escaped too.
func jsonForScript(b []byte) string {
	s := string(b)
	s = strings.ReplaceAll(s, "\u2028", `\u2028`)
	return strings.ReplaceAll(s, "\u2029", `\u2029`)
}

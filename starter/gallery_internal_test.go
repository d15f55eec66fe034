package starter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/contract"
)

// hostile are strings a prompt, a parameter, a provider's reply or an ID
// might carry to run script in a page that shows them.
var hostile = []string{
	`<script>window.__pwned=1;alert(1)</script>`,
	`"><img src=x onerror="window.__pwned=1;alert(1)">`,
	`'><svg onload=alert(1)>`,
	`</script><script>alert(1)</script>`,
	`<!--<script>alert(1)//-->`,
	"javascript:alert(1)",
	"\u2028alert(1)\u2029",
	`{{.}} ${alert(1)} \u003cscript\u003e`,
}

func TestSafeLink(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"https://cdn.modelslab.com/a/b.png", "https://cdn.modelslab.com/a/b.png", true},
		{"http://127.0.0.1:8090/files/1-0.png?x=1#f", "http://127.0.0.1:8090/files/1-0.png?x=1#f", true},
		{"HTTPS://CDN.example/x.png", "https://CDN.example/x.png", true},
		{`https://x.test/"><img/onerror=alert(1)>`, "https://x.test/%22%3E%3Cimg/onerror=alert%281%29%3E", true},
		{`https://x.test/"><img onerror=alert(1)>`, "", false},
		{"javascript:alert(1)", "", false},
		{"JaVaScRiPt:alert(1)", "", false},
		{" javascript:alert(1)", "", false},
		{"java\tscript:alert(1)", "", false},
		{"data:text/html,<script>alert(1)</script>", "", false},
		{"data:image/png;base64,AAAA", "", false},
		{"file:///etc/passwd", "", false},
		{"//evil.test/x.png", "", false},
		{"/files/x.png", "", false},
		{"https://", "", false},
		{"https:x.png", "", false},
		{"", "", false},
	} {
		got, ok := safeLink(tc.in)
		require.Equal(t, tc.ok, ok, tc.in)
		if ok {
			require.Equal(t, tc.want, got, tc.in)
		}
	}
}

func TestSafeRelative(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		"outputs/a/0-x.png": true, "../outputs/a%3Fb/0-x.png": true, "stored/3/x.png": true, "./a%3Ab.png": true,
		"javascript:alert(1)": false, "//evil/x": false, "https://x/y": false, "a b.png": false, `a\b.png`: false, "": false,
	} {
		require.Equal(t, want, safeRelative(in), in)
	}
}

func TestRelativeURL(t *testing.T) {
	t.Parallel()
	require.Equal(t, "outputs/job-1/0-a%3Fb%23c.png", relativeURL(filepath.FromSlash("outputs/job-1/0-a?b#c.png")))
	require.Equal(t, "../x/0-%22%3E%3Cimg.png", relativeURL(filepath.FromSlash(`../x/0-"><img.png`)))
	// A first segment that reads as a scheme is made relative.
	p := relativeURL("javascript:alert(1)")
	require.True(t, safeRelative(p), p)
	require.True(t, strings.HasPrefix(p, "./"), p)
}

func TestOutputKind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ ct, link, want string }{
		{"image/png", "https://x/a.bin", OutputImage},
		{"video/mp4", "https://x/a", OutputVideo},
		{"audio/wav", "https://x/a", OutputAudio},
		{"audio/mpeg; charset=x", "https://x/a", OutputAudio},
		{"model/gltf-binary", "https://x/a", OutputModel},
		{"text/plain; charset=utf-8", "https://x/a.txt", OutputFile},
		{"", "https://x/a.PNG", OutputImage},
		{"", "https://x/a.jpeg?sig=1", OutputImage},
		{"", "https://x/a.webm", OutputVideo},
		{"", "https://x/a.mp3", OutputAudio},
		{"", "https://x/a.glb", OutputModel},
		{"", "https://x/a.obj", OutputModel},
		{"", "https://x/a.zip", OutputFile},
		{"", "https://x/", OutputFile},
		{"application/octet-stream", "https://x/a.mp4", OutputVideo},
	} {
		require.Equal(t, tc.want, outputKind(tc.ct, tc.link), "%s %s", tc.ct, tc.link)
	}
}

func TestGalleryOutputs(t *testing.T) {
	t.Parallel()
	done := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	stored := []contract.StoredOutput{
		{Output: "https://cdn.test/a.png", Location: "file:///store/job/0-a.png", Size: 10, ContentType: "image/png", SHA256: "ab"},
		{Output: "https://cdn.test/b.mp4", Location: "s3://bucket/job/1-b.mp4", Size: 20, ContentType: "video/mp4"},
		{Output: "javascript:alert(1)", Error: "refused: not http(s)"},
	}
	link := func(s contract.StoredOutput) (string, string) {
		if strings.HasPrefix(s.Location, "file://") {
			return "store/job/0-a.png", ""
		}
		return "", "stored copy at " + s.Location + ": shown with --serve"
	}
	out := galleryOutputs([]string{"https://cdn.test/a.png", "https://cdn.test/b.mp4", "javascript:alert(1)", "https://cdn.test/c.glb"},
		stored, done, link)
	require.Len(t, out, 4)

	require.Equal(t, GalleryOutput{Kind: OutputImage, Src: "store/job/0-a.png", Link: "https://cdn.test/a.png", Name: "0-a.png",
		Stored: true, Size: 10, ContentType: "image/png", SHA256: "ab"}, out[0])

	require.Equal(t, OutputVideo, out[1].Kind)
	require.False(t, out[1].Stored)
	require.Equal(t, "https://cdn.test/b.mp4", out[1].Src, "the provider's link when the copy cannot be linked")
	require.Equal(t, done.Add(ProviderLinkLifetime), out[1].Expires)
	require.Contains(t, out[1].Note, "s3://bucket/job/1-b.mp4")

	require.Empty(t, out[2].Src, "a javascript: link is never linked")
	require.Equal(t, "javascript:alert(1)", out[2].Link)
	require.Equal(t, "not stored: refused: not http(s)", out[2].Note)

	require.Equal(t, OutputModel, out[3].Kind)
	require.Equal(t, "c.glb", out[3].Name)

	// A linker that returns something not relative is ignored.
	evil := func(contract.StoredOutput) (string, string) { return "javascript:alert(1)", "" }
	out = galleryOutputs([]string{"https://cdn.test/a.png"}, stored[:1], done, evil)
	require.False(t, out[0].Stored)
	require.Equal(t, "https://cdn.test/a.png", out[0].Src)
}

func TestGalleryParams(t *testing.T) {
	t.Parallel()
	model, prompt, rest := galleryParams(map[string]any{"model_id": "flux", "prompt": "a fox", "width": 512, "seed": 7})
	require.Equal(t, "flux", model)
	require.Equal(t, "a fox", prompt)
	require.JSONEq(t, `{"width":512,"seed":7}`, rest)
	model, prompt, rest = galleryParams(map[string]any{"prompt": 3})
	require.Empty(t, model)
	require.Empty(t, prompt)
	require.JSONEq(t, `{"prompt":3}`, rest)
}

// renderedParts splits a rendered page into its markup outside the two
// script blocks, the JSON data and the inline script.
func renderedParts(t *testing.T, page string) (markup, data, script, style string) {
	t.Helper()
	re := regexp.MustCompile(`(?s)<script type="application/json" id="gallery-data">(.*?)</script>\s*<script>(.*?)</script>`)
	m := re.FindStringSubmatch(page)
	require.NotNil(t, m, "the page has its data and its script")
	st := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(page)
	require.NotNil(t, st)
	return strings.Replace(page, m[0], "", 1), m[1], m[2], st[1]
}

func TestRenderGalleryEscapesEverything(t *testing.T) {
	t.Parallel()
	g := hostileGallery()
	var buf bytes.Buffer
	require.NoError(t, RenderGallery(&buf, g))
	page := buf.String()
	markup, data, script, style := renderedParts(t, page)

	// Two script elements (the data and the page's own), no other tag
	// that could run anything: the hostile strings only ever appear
	// escaped in the markup.
	require.Equal(t, 2, strings.Count(strings.ToLower(page), "<script"), "script elements")
	require.Equal(t, 1, strings.Count(strings.ToLower(page), "<img"), "img elements: the lightbox's only")
	require.False(t, strings.Contains(strings.ToLower(markup), "<svg"), "an svg element")
	for _, h := range hostile {
		if strings.ContainsAny(h, "<>") {
			require.False(t, strings.Contains(markup, h), "%s is in the markup", h)
		}
	}
	require.True(t, strings.Contains(markup, "&lt;script&gt;window.__pwned=1;alert(1)&lt;/script&gt;"), "the title, escaped as text")
	require.False(t, strings.ContainsAny(data, "<>\u2028\u2029"), "the JSON has no raw <, >, U+2028 or U+2029")

	// The data reads back as it went in.
	var back Gallery
	require.NoError(t, json.Unmarshal([]byte(data), &back))
	require.Equal(t, g.Items[0].Prompt, back.Items[0].Prompt)
	require.Equal(t, g.Items[1].Error, back.Items[1].Error)

	// The CSP runs only the page's own script and style, by hash.
	hash := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
	}
	require.True(t, strings.Contains(page, `<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; script-src &#39;sha256-`))
	require.Contains(t, GalleryCSP, "script-src "+hash(script)+";")
	require.Contains(t, GalleryCSP, "style-src "+hash(style))
	require.NotContains(t, GalleryCSP, "unsafe-inline")
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function("} {
		require.False(t, strings.Contains(script, sink), "the page's script uses %s", sink)
	}
	require.False(t, strings.Contains(page, `<link `), "no external style sheet")
	require.False(t, regexp.MustCompile(`<script[^>]+src=`).MatchString(page), "no external script")
}

// hostileGallery is a batch whose every field a user or the provider
// controls is hostile.
func hostileGallery() Gallery {
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	g := Gallery{Kind: GalleryBatch, ID: "inject-1", Title: hostile[0], Status: StatusCompleted, State: hostile[1],
		Error: hostile[3], UIURL: "javascript:alert(1)", GeneratedAt: at, Notes: []string{hostile[2]},
		Progress: &GalleryProgress{Total: len(hostile), Succeeded: len(hostile) / 2, Failed: len(hostile) - len(hostile)/2}}
	for i, h := range hostile {
		it := GalleryItem{Index: i, TrackID: "inject-1-" + h, Endpoint: h, Model: h, Prompt: h,
			Params: `{"negative_prompt": ` + strings.TrimSpace(string(mustJSON(h))) + `}`,
			Status: gallerySucceeded, LearnedBy: h, ProviderID: h, UIURL: h, StartedAt: at, CompletedAt: at.Add(time.Second), Seconds: 1}
		if i%2 == 1 {
			it.Status, it.Error = StatusFailed, "GenerationFailed: "+h
		} else {
			link := "https://cdn.modelslab.test/files/" + h + ".png"
			src, _ := safeLink(link)
			it.Outputs = []GalleryOutput{
				{Kind: OutputImage, Src: src, Link: link, Name: h + ".png", Expires: at.Add(ProviderLinkLifetime)},
				{Kind: OutputFile, Link: h, Name: h, Note: "not stored: " + h},
				{Kind: OutputModel, Src: "outputs/" + relativeURL(h+".glb"), Link: link, Name: h + ".glb", Stored: true, Size: 2048},
			}
		}
		g.Items = append(g.Items, it)
	}
	return g
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestRenderGalleryCountsAndPipeline(t *testing.T) {
	t.Parallel()
	g := Gallery{Kind: GalleryPipeline, ID: "pipe-1", Status: StatusCompleted, State: "partial", Steps: []GalleryStep{
		{Name: "portrait", Endpoint: "images/text2img", State: "succeeded", Items: []GalleryItem{{TrackID: "pipe-1_portrait", Status: gallerySucceeded,
			Outputs: []GalleryOutput{{Kind: OutputImage, Src: "https://x.test/a.png", Link: "https://x.test/a.png"}}}}},
		{Name: "model", Endpoint: "3d/image_to_3d", State: "failed", Mapped: true, Items: []GalleryItem{
			{TrackID: "pipe-1_model_0", Status: StatusFailed, Error: "GenerationFailed: no"},
			{Index: 1, TrackID: "pipe-1_model_1", Status: StatusCanceled}}},
		{Name: "voice", Endpoint: "voice/text_to_speech", State: "skipped"},
	}}
	var buf bytes.Buffer
	require.NoError(t, RenderGallery(&buf, g))
	page := buf.String()
	for _, want := range []string{`data-filter="all" aria-pressed="true">all <b>3</b>`,
		`data-filter="succeeded" aria-pressed="false">succeeded <b>1</b>`, `data-filter="failed" aria-pressed="false">failed <b>2</b>`,
		"3 generation(s), 1 output(s)"} {
		require.True(t, strings.Contains(page, want), want)
	}
	_, data, _, _ := renderedParts(t, page)
	var back Gallery
	require.NoError(t, json.Unmarshal([]byte(data), &back))
	require.Equal(t, []string{"portrait", "model", "voice"}, []string{back.Steps[0].Name, back.Steps[1].Name, back.Steps[2].Name})
	require.Equal(t, DefaultGalleryPageSize, back.PageSize)
}

func TestGalleryServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return "file://" + filepath.ToSlash(p)
	}
	table := &storedTable{byLoc: map[string]int{}}
	png := write("0-a.png", "PNG")
	html := write("1-page.html", "<script>alert(1)</script>")
	collect := func(context.Context) (Gallery, error) {
		out := galleryOutputs([]string{"https://cdn.test/a.png", "https://cdn.test/page.html"}, []contract.StoredOutput{
			{Output: "https://cdn.test/a.png", Location: png, Size: 3, ContentType: "image/png"},
			{Output: "https://cdn.test/page.html", Location: html, Size: 25, ContentType: "text/html"},
		}, time.Now(), table.link)
		return Gallery{Kind: GalleryGeneration, ID: "g-1", Status: StatusCompleted,
			Items: []GalleryItem{{TrackID: "g-1", Status: gallerySucceeded, Outputs: out}}}, nil
	}
	srv := &galleryServer{collect: collect, stored: table, open: func(_ context.Context, loc string) (io.ReadCloser, error) {
		return os.Open(strings.TrimPrefix(loc, "file://"))
	}}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	srv.host = strings.TrimPrefix(ts.URL, "http://")

	get := func(path string) (*http.Response, string) {
		resp, err := http.Get(ts.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(b)
	}
	resp, page := get("/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")
	require.True(t, strings.Contains(page, `stored/0/0-a.png`))
	require.True(t, strings.Contains(page, `stored/1/1-page.html`))

	resp, body := get("/stored/0/0-a.png")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "PNG", body)
	require.Equal(t, "image/png", resp.Header.Get("Content-Type"))
	require.Equal(t, "sandbox; default-src 'none'", resp.Header.Get("Content-Security-Policy"))

	// A stored page is a download, never a page of the gallery's origin.
	resp, _ = get("/stored/1/1-page.html")
	require.Equal(t, "application/octet-stream", resp.Header.Get("Content-Type"))
	require.Contains(t, resp.Header.Get("Content-Disposition"), "attachment")
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))

	for _, p := range []string{"/stored/2/x", "/stored/-1/x", "/stored/../../etc/passwd", "/etc/passwd", "/stored/"} {
		resp, _ = get(p)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, p)
	}

	// Another Host (a DNS rebinding page) is refused.
	req, err := http.NewRequest(http.MethodGet, ts.URL+"/", nil)
	require.NoError(t, err)
	req.Host = "evil.test"
	r2, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	r2.Body.Close()
	require.Equal(t, http.StatusMisdirectedRequest, r2.StatusCode)

	r3, err := http.Post(ts.URL+"/", "text/plain", nil)
	require.NoError(t, err)
	r3.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, r3.StatusCode)
}

func TestFileLinker(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store := filepath.Join(dir, "store", "job-1")
	require.NoError(t, os.MkdirAll(store, 0o755))
	p := filepath.Join(store, "0-a?b.png")
	require.NoError(t, os.WriteFile(p, []byte("x"), 0o600))
	link := fileLinker(filepath.Join(dir, "pages"))
	loc := func(p string) string { return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String() }
	src, note := link(contract.StoredOutput{Location: loc(p)})
	require.Empty(t, note)
	require.Equal(t, "../store/job-1/0-a%3Fb.png", src)
	src, note = link(contract.StoredOutput{Location: loc(filepath.Join(store, "gone.png"))})
	require.Empty(t, src)
	require.Contains(t, note, "not on this machine")
	src, note = link(contract.StoredOutput{Location: "s3://bucket/job-1/0-a.png"})
	require.Empty(t, src)
	require.Contains(t, note, "--serve")
}

package fakemodelslab

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/png"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// contentTypes maps the output extensions to their media types.
var contentTypes = map[string]string{
	"png": "image/png",
	"gif": "image/gif",
	"mp4": "video/mp4",
	"wav": "audio/wav",
	"glb": "model/gltf-binary",
	"obj": "model/obj",
	"stl": "model/stl",
	"ply": "text/plain; charset=utf-8",
	// txt is the text of lyrics_generator and speech_to_text.
	"txt": "text/plain; charset=utf-8",
}

// handleFile serves GET /files/<id>-<n>.<ext> (and the same under /cdn/).
// Like the provider's future_links, a file is 404 until its request is
// done, and for ever if it failed.
func (s *Server) handleFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	id, n, ext, ok := parseFileName(name)
	if !ok {
		http.NotFound(w, r)
		return
	}
	proxy := strings.HasPrefix(r.URL.Path, "/cdn/")
	s.mu.Lock()
	req := s.requests[id]
	var servable, cut bool
	if req != nil {
		servable = req.done && !req.failed() && n < len(req.files) && req.files[n] == name &&
			(proxy || !req.faults.has(FaultExpire))
		if servable && req.faults.has(FaultCutFiles) && !req.cut[name] {
			if req.cut == nil {
				req.cut = map[string]bool{}
			}
			req.cut[name], cut = true, true
		}
	}
	s.mu.Unlock()
	if !servable {
		http.NotFound(w, r)
		return
	}
	data, err := fileContent(ext, id*10+int64(n))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if cut {
		cutAfterHalf(w, contentTypes[ext], data)
		return
	}
	w.Header().Set("Content-Type", contentTypes[ext])
	w.Header().Set("Cache-Control", "public, max-age=86400")
	http.ServeContent(w, r, name, req.submitted, bytes.NewReader(data))
}

// cutAfterHalf sends half of data under its full Content-Length and
// closes the connection: a download broken mid-way.
func cutAfterHalf(w http.ResponseWriter, contentType string, data []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Accept-Ranges", "bytes")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data[:len(data)/2])
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
	}
}

// parseFileName splits "<id>-<n>.<ext>".
func parseFileName(name string) (id int64, n int, ext string, ok bool) {
	base, ext, found := strings.Cut(name, ".")
	if !found || contentTypes[ext] == "" {
		return 0, 0, "", false
	}
	idStr, nStr, found := strings.Cut(base, "-")
	if !found {
		return 0, 0, "", false
	}
	id, err1 := strconv.ParseInt(idStr, 10, 64)
	n, err2 := strconv.Atoi(nStr)
	if err1 != nil || err2 != nil || n < 0 {
		return 0, 0, "", false
	}
	return id, n, ext, true
}

// fileContent makes a small, valid file of the given type whose content
// depends on seed, so different outputs differ.
func fileContent(ext string, seed int64) ([]byte, error) {
	switch ext {
	case "png":
		return tinyPNG(seed)
	case "gif":
		return tinyGIF(seed)
	case "mp4":
		return tinyMP4(), nil
	case "wav":
		return tinyWAV(seed), nil
	case "glb":
		return tinyGLB(), nil
	case "obj":
		return []byte(fmt.Sprintf("# fakemodelslab output %d\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", seed)), nil
	case "stl":
		return []byte("solid fake\n facet normal 0 0 1\n  outer loop\n   vertex 0 0 0\n   vertex 1 0 0\n   vertex 0 1 0\n  endloop\n endfacet\nendsolid fake\n"), nil
	case "txt":
		return []byte(fmt.Sprintf("[verse]\nfakemodelslab text output %d\n", seed)), nil
	case "ply":
		return []byte("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n"), nil
	}
	return nil, fmt.Errorf("no content for .%s", ext)
}

// seedColor picks a colour from seed.
func seedColor(seed int64) color.RGBA {
	v := uint64(seed) * 0x9E3779B97F4A7C15
	return color.RGBA{R: uint8(v >> 56), G: uint8(v >> 48), B: uint8(v >> 40), A: 255}
}

// tinyPNG is a 4x4 image with a diagonal in the seed's colour.
func tinyPNG(seed int64) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	c := seedColor(seed)
	for y := range 4 {
		for x := range 4 {
			if x == y {
				img.Set(x, y, color.White)
			} else {
				img.Set(x, y, c)
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// tinyGIF is a two-frame 4x4 animation.
func tinyGIF(seed int64) ([]byte, error) {
	anim := &gif.GIF{}
	for i := range 2 {
		img := image.NewPaletted(image.Rect(0, 0, 4, 4), palette.Plan9)
		for p := range img.Pix {
			img.Pix[p] = uint8((seed + int64(i*17+p)) % 256)
		}
		anim.Image = append(anim.Image, img)
		anim.Delay = append(anim.Delay, 10)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, anim); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// tinyWAV is 0.1 s of a 440 Hz tone, 8 kHz mono 16-bit PCM.
func tinyWAV(seed int64) []byte {
	const (
		rate    = 8000
		samples = 800
	)
	freq := 440.0 + float64(seed%8)*55
	var b bytes.Buffer
	le := binary.LittleEndian
	dataLen := uint32(samples * 2)
	b.WriteString("RIFF")
	_ = binary.Write(&b, le, 36+dataLen)
	b.WriteString("WAVE")
	b.WriteString("fmt ")
	_ = binary.Write(&b, le, uint32(16))   // fmt chunk size
	_ = binary.Write(&b, le, uint16(1))    // PCM
	_ = binary.Write(&b, le, uint16(1))    // mono
	_ = binary.Write(&b, le, uint32(rate)) // sample rate
	_ = binary.Write(&b, le, uint32(rate*2))
	_ = binary.Write(&b, le, uint16(2))  // block align
	_ = binary.Write(&b, le, uint16(16)) // bits per sample
	b.WriteString("data")
	_ = binary.Write(&b, le, dataLen)
	for i := range samples {
		v := int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/rate))
		_ = binary.Write(&b, le, v)
	}
	return b.Bytes()
}

// tinyMP4 is an ISO base media file with an ftyp box and an empty mdat:
// it identifies as MP4 but holds no frames.
func tinyMP4() []byte {
	var b bytes.Buffer
	be := binary.BigEndian
	_ = binary.Write(&b, be, uint32(24))
	b.WriteString("ftypisom")
	_ = binary.Write(&b, be, uint32(0x200))
	b.WriteString("isommp41")
	_ = binary.Write(&b, be, uint32(8))
	b.WriteString("free")
	_ = binary.Write(&b, be, uint32(8))
	b.WriteString("mdat")
	return b.Bytes()
}

// tinyGLB is a valid binary glTF 2.0 file holding only the asset header.
func tinyGLB() []byte {
	js := []byte(`{"asset":{"version":"2.0","generator":"fakemodelslab"}}`)
	for len(js)%4 != 0 {
		js = append(js, ' ')
	}
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("glTF")
	_ = binary.Write(&b, le, uint32(2))
	_ = binary.Write(&b, le, uint32(12+8+len(js)))
	_ = binary.Write(&b, le, uint32(len(js)))
	b.WriteString("JSON")
	b.Write(js)
	return b.Bytes()
}

package starter

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"

	"github.com/genflow/genflow/config"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/storage"
)

// Download is one stored copy fetched by result --download.
type Download struct {
	// Step is the pipeline step the output belongs to; empty for a
	// generation.
	Step     string `json:"step,omitempty"`
	Output   string `json:"output"`
	Location string `json:"location,omitempty"`
	// Path is the local file, written only once its size and SHA-256
	// matched the stored copy's.
	Path string `json:"path,omitempty"`
	Size int64  `json:"size,omitempty"`
	// Skipped: Path already held this copy.
	Skipped bool   `json:"skipped,omitempty"`
	Error   string `json:"error,omitempty"`
}

// storedOf lists the stored copies of a closed run's result, with the
// pipeline step of each: a generation's, or every step's of a pipeline.
func storedOf(d RunDetails) ([]Download, error) {
	var out []Download
	add := func(step string, stored []contract.StoredOutput) {
		for _, s := range stored {
			out = append(out, Download{Step: step, Output: s.Output, Location: s.Location, Size: s.Size, Error: s.Error})
		}
	}
	switch r := d.Result.(type) {
	case *contract.GenerationResult:
		add("", r.Stored)
	case *json.RawMessage:
		if d.Type != contract.PipelineWorkflow {
			return nil, fmt.Errorf("%s is a %s: only generations and pipelines have stored outputs", d.TrackID, d.Type)
		}
		var res contract.PipelineResult
		if err := json.Unmarshal(*r, &res); err != nil {
			return nil, fmt.Errorf("%s: reading the pipeline's result: %w", d.TrackID, err)
		}
		for _, st := range res.Steps {
			add(st.Name, st.Stored)
		}
	case *contract.BatchResult:
		return nil, fmt.Errorf("%s is a batch: download each item's copies with `starter result TRACK_ID --download DIR` (`starter batch results %s` lists the track_ids)", d.TrackID, d.TrackID)
	default:
		return nil, fmt.Errorf("%s is a %s: it has no stored outputs", d.TrackID, d.Type)
	}
	return out, nil
}

// storedByLocation keeps the size and checksum of each copy, which the
// Download entries leave out.
func storedByLocation(d RunDetails) map[string]contract.StoredOutput {
	m := map[string]contract.StoredOutput{}
	add := func(stored []contract.StoredOutput) {
		for _, s := range stored {
			if s.Location != "" {
				m[s.Location] = s
			}
		}
	}
	switch r := d.Result.(type) {
	case *contract.GenerationResult:
		add(r.Stored)
	case *json.RawMessage:
		var res contract.PipelineResult
		if json.Unmarshal(*r, &res) == nil {
			for _, st := range res.Steps {
				add(st.Stored)
			}
		}
	}
	return m
}

// localName is the file name of a stored copy: the last segment of its
// key ("<n>-<name>", escaped by storage.Key), unescaped when that stays
// one plain segment.
func localName(location string) string {
	base := path.Base(location)
	if _, _, key, err := storage.ParseLocation(location); err == nil {
		base = path.Base(key)
	}
	if name, err := url.PathUnescape(base); err == nil && name == filepath.Base(name) && name != "." && name != ".." {
		return name
	}
	return base
}

// downloadStored fetches every stored copy of the run d into dir (a
// pipeline's under dir/<step>/), each checked against its size and
// SHA-256. It goes on after a failed copy and reports every one.
func downloadStored(ctx context.Context, d RunDetails, dir string, s3 storage.S3Options, progress io.Writer) ([]Download, error) {
	list, err := storedOf(d)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%s stored no outputs: start it with --store (or %s=true) on a worker with %s", d.TrackID, config.EnvStoreOutputs, config.EnvStoreURL)
	}
	meta := storedByLocation(d)
	failed := 0
	for i := range list {
		dl := &list[i]
		if dl.Location == "" {
			failed++
			fmt.Fprintf(progress, "  not stored: %s: %s\n", dl.Output, dl.Error)
			continue
		}
		target := filepath.Join(dir, dl.Step)
		if err := os.MkdirAll(target, 0o755); err != nil {
			return list, err
		}
		dl.Path = filepath.Join(target, localName(dl.Location))
		s := meta[dl.Location]
		want := storage.Object{Location: s.Location, Size: s.Size, SHA256: s.SHA256, ContentType: s.ContentType}
		loc := dl.Location
		skipped, err := storage.Download(ctx, func(ctx context.Context, offset int64) (io.ReadCloser, error) {
			return storage.OpenLocation(ctx, loc, offset, s3)
		}, want, dl.Path, storage.DownloadOptions{})
		if err != nil {
			failed++
			dl.Error, dl.Path = err.Error(), ""
			fmt.Fprintf(progress, "  failed: %s: %v\n", dl.Location, err)
			continue
		}
		dl.Skipped = skipped
		verb := "downloaded"
		if skipped {
			verb = "already there"
		}
		fmt.Fprintf(progress, "  %s: %s (%s, SHA-256 checked)\n", verb, dl.Path, humanBytes(dl.Size))
	}
	if failed > 0 {
		return list, fmt.Errorf("%d of %d output(s) not downloaded", failed, len(list))
	}
	return list, nil
}

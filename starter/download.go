package starter

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"go.temporal.io/sdk/client"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/storage"
)

// Download is one stored copy fetched by result --download.
type Download struct {
	// Step is the folder of the output: its pipeline step, or its batch
	// item's track_id; empty for a generation.
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

// storedCopy is one entry of a run's stored outputs, with the folder it
// is downloaded into: the pipeline step or batch item it belongs to.
type storedCopy struct {
	folder string
	contract.StoredOutput
}

// storedOf lists the stored copies of a closed run: a generation's, every
// step's of a pipeline, or every item's of a batch (read from the items'
// own runs through c).
func storedOf(ctx context.Context, c client.Client, d RunDetails) ([]storedCopy, error) {
	var out []storedCopy
	add := func(folder string, stored []contract.StoredOutput) {
		for _, s := range stored {
			out = append(out, storedCopy{folder: folder, StoredOutput: s})
		}
	}
	switch r := d.Result.(type) {
	case *contract.GenerationResult:
		add("", r.Stored)
	case *contract.PipelineResult:
		for _, st := range r.Steps {
			add(st.Name, st.Stored)
		}
	case *contract.BatchResult:
		err := eachBatchItem(ctx, c, d.TrackID, func(it ItemResult) error {
			add(it.TrackID, it.Stored)
			return nil
		})
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%s is a %s: only generations, batches and pipelines have stored outputs", d.TrackID, d.Type)
	}
	return out, nil
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

// localPath is where a stored copy goes, relative to the download
// folder: its folder (pipeline step or batch item, "" for a generation)
// and its file name. Step names and track_ids never lead elsewhere (the
// track_id rule refuses "." and ".."), but a result read from Temporal
// may come from an older release or anyone who can write to the
// namespace, so a folder or a name that would leave the download folder
// is refused here too (and os.Root keeps the writes inside it).
func localPath(folder, location string) (string, error) {
	name := localName(location)
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("refused: the stored copy's file name %q is not one plain file name", name)
	}
	if folder != "" && (!filepath.IsLocal(folder) || filepath.Clean(folder) == ".") {
		return "", fmt.Errorf("refused: the folder %q would lead outside the download folder", folder)
	}
	rel := filepath.Join(folder, name)
	if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("refused: %q would lead outside the download folder", rel)
	}
	return rel, nil
}

// downloadStored fetches every stored copy of the run d into dir (a
// pipeline step's into dir/<step>/, a batch item's into dir/<track_id>/),
// each checked against its size and SHA-256. It goes on after a failed
// copy and reports every one. c reads a batch's items. Nothing is written
// outside dir: a folder or file name that would lead out of it is
// refused, and every file is opened through an os.Root of dir, which
// also refuses a symbolic link pointing out of it.
func downloadStored(ctx context.Context, c client.Client, d RunDetails, dir string, s3 storage.S3Options, progress io.Writer) ([]Download, error) {
	copies, err := storedOf(ctx, c, d)
	if err != nil {
		return nil, err
	}
	if len(copies) == 0 {
		return nil, fmt.Errorf("%s stored no outputs: start it with --store (or %s=true) on a worker with %s", d.TrackID, config.EnvStoreOutputs, config.EnvStoreURL)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	list := make([]Download, len(copies))
	failed := 0
	for i, s := range copies {
		dl := &list[i]
		*dl = Download{Step: s.folder, Output: s.Output, Location: s.Location, Size: s.Size, Error: s.Error}
		if s.Location == "" {
			failed++
			fmt.Fprintf(progress, "  not stored: %s: %s\n", s.Output, s.Error)
			continue
		}
		rel, err := localPath(s.folder, s.Location)
		if err == nil && s.folder != "" {
			err = root.MkdirAll(filepath.Clean(s.folder), 0o755)
		}
		if err != nil {
			failed++
			dl.Error = err.Error()
			fmt.Fprintf(progress, "  failed: %s: %v\n", s.Location, err)
			continue
		}
		dl.Path = filepath.Join(dir, rel)
		want := storage.Object{Location: s.Location, Size: s.Size, SHA256: s.SHA256, ContentType: s.ContentType}
		loc := s.Location
		skipped, err := storage.Download(ctx, func(ctx context.Context, offset int64) (io.ReadCloser, error) {
			return storage.OpenLocation(ctx, loc, offset, s3)
		}, want, rel, storage.DownloadOptions{Root: root})
		if err != nil {
			failed++
			dl.Error, dl.Path = err.Error(), ""
			fmt.Fprintf(progress, "  failed: %s: %v\n", s.Location, err)
			continue
		}
		dl.Skipped = skipped
		verb := "downloaded"
		if skipped {
			verb = "already there"
		}
		fmt.Fprintf(progress, "  %s: %s (%s, SHA-256 checked)\n", verb, dl.Path, storage.FormatSize(s.Size))
	}
	if failed > 0 {
		return list, fmt.Errorf("%d of %d output(s) not downloaded", failed, len(list))
	}
	return list, nil
}

package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/storage"
)

// Error types of the StoreOutputs activity.
const (
	// ErrTypeStoreNotConfigured: the worker has no STORE_URL.
	ErrTypeStoreNotConfigured = "StoreNotConfigured"
	// ErrTypeStoreFailed: storage or a link failed in a way a later try
	// may get past; retried.
	ErrTypeStoreFailed = "StoreFailed"
)

// StoreInput names a generation's outputs: Output[i], with ProxyLinks[i]
// as its fallback link.
type StoreInput struct {
	TrackID    string   `json:"track_id"`
	Output     []string `json:"output"`
	ProxyLinks []string `json:"proxy_links,omitempty"`
	// Endpoint, ProviderID and Params name the provider's request, so
	// that links found expired can be asked for again (a fetch returns
	// the current output and proxy links; a webhook carries no proxy
	// links). Empty ProviderID: no second chance.
	Endpoint   string         `json:"endpoint,omitempty"`
	ProviderID string         `json:"provider_id,omitempty"`
	Params     map[string]any `json:"params,omitempty"`
}

// MaxStoredOutputs is how many outputs of one result StoreOutputs
// copies at most; it lists the rest as not stored. A provider's reply (or
// a forged webhook) cannot make one run fetch without end.
const MaxStoredOutputs = 100

// StoreProgress is the heartbeat detail of StoreOutputs: the output being
// copied and its bytes so far, shown in the Temporal UI's pending
// activity.
type StoreProgress struct {
	Output int   `json:"output"`
	Of     int   `json:"of"`
	Bytes  int64 `json:"bytes"`
}

// StoreOutputs copies each output to storage, one after the other, and
// says where each copy is. An output that cannot be stored whatever the
// retry (over the size limit, every link answering 4xx or refused by the
// outbound policy) gets its Error and the others go on; any other
// failure fails the attempt, and the retry finds the copies made so far
// and reuses them. Outputs past the first MaxStoredOutputs are not
// fetched: their Error says so.
func (a *Activities) StoreOutputs(ctx context.Context, in StoreInput) ([]contract.StoredOutput, error) {
	if a.Store == nil {
		return nil, temporal.NewNonRetryableApplicationError(
			"the worker has no output storage (STORE_URL)", ErrTypeStoreNotConfigured, nil)
	}
	log := activity.GetLogger(ctx)
	out := make([]contract.StoredOutput, len(in.Output))
	if n := len(in.Output); n > MaxStoredOutputs {
		reason := fmt.Sprintf("not stored: the result lists %d outputs; at most %d are stored", n, MaxStoredOutputs)
		log.Warn("outputs over the limit not stored", "track_id", in.TrackID, "outputs", n, "limit", MaxStoredOutputs)
		for i := MaxStoredOutputs; i < n; i++ {
			a.countOutput(outputNotStored, 0)
			out[i] = contract.StoredOutput{Output: in.Output[i], Error: reason}
		}
	}
	var fresh *modelslab.Result // the provider's current links, once asked
	for i, link := range in.Output[:min(len(in.Output), MaxStoredOutputs)] {
		links := linksOf(in.Output, in.ProxyLinks, i)
		progress := func(n int64) {
			activity.RecordHeartbeat(ctx, StoreProgress{Output: i + 1, Of: len(in.Output), Bytes: n})
		}
		activity.RecordHeartbeat(ctx, StoreProgress{Output: i + 1, Of: len(in.Output)})
		key := storage.Key(in.TrackID, i, link)
		obj, reused, err := a.Store.Copy(ctx, key, links, progress)
		if errors.Is(err, storage.ErrGone) && in.ProviderID != "" && a.Provider != nil {
			if fresh == nil {
				r, ferr := a.refetch(ctx, in)
				if ferr != nil {
					return nil, ferr
				}
				fresh = &r
			}
			if more := linksOf(fresh.Output, fresh.ProxyLinks, i); len(more) > 0 {
				log.Info("output links expired; trying the provider's current ones", "track_id", in.TrackID, "output", i)
				// The known links already failed (and no copy of them was
				// stored): only the current ones are worth asking.
				obj, reused, err = a.Store.Copy(ctx, key, more, progress)
			}
		}
		switch {
		case storage.IsPermanent(err):
			a.countOutput(outputNotStored, 0)
			log.Warn("output not stored", "track_id", in.TrackID, "output", i, "error", err)
			out[i] = contract.StoredOutput{Output: link, Error: err.Error()}
			continue
		case err != nil:
			a.countStoreFailure()
			return nil, temporal.NewApplicationErrorWithCause(
				fmt.Sprintf("store output %d of %d (%s): %v", i+1, len(in.Output), storage.Redact(link), err), ErrTypeStoreFailed, err)
		}
		if reused {
			a.countOutput(outputReused, obj.Size)
		} else {
			a.countOutput(outputStored, obj.Size)
		}
		log.Info("output stored", "track_id", in.TrackID, "location", obj.Location, "bytes", obj.Size, "reused", reused)
		out[i] = contract.StoredOutput{
			Output: link, Location: obj.Location, Size: obj.Size, ContentType: obj.ContentType,
			SHA256: obj.SHA256, Reused: reused,
		}
	}
	return out, nil
}

// linksOf is output i's link and its proxy twin, those that exist.
func linksOf(output, proxy []string, i int) []string {
	var links []string
	if i < len(output) {
		links = append(links, output[i])
	}
	if i < len(proxy) {
		links = append(links, proxy[i])
	}
	return links
}

// refetch asks the provider for the request's current state, for its
// links: the Fetch activity's call, made from here. A failed fetch fails
// the attempt (retried).
func (a *Activities) refetch(ctx context.Context, in StoreInput) (modelslab.Result, error) {
	return a.Fetch(ctx, FetchInput{Endpoint: in.Endpoint, ProviderID: in.ProviderID, Params: in.Params})
}

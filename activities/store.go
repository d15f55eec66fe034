package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/genflow/genflow/contract"
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
}

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
// retry (over the size limit, every link answering 4xx) gets its Error
// and the others go on; any other failure fails the attempt, and the
// retry finds the copies made so far and reuses them.
func (a *Activities) StoreOutputs(ctx context.Context, in StoreInput) ([]contract.StoredOutput, error) {
	if a.Store == nil {
		return nil, temporal.NewNonRetryableApplicationError(
			"the worker has no output storage (STORE_URL)", ErrTypeStoreNotConfigured, nil)
	}
	log := activity.GetLogger(ctx)
	out := make([]contract.StoredOutput, len(in.Output))
	for i, link := range in.Output {
		links := []string{link}
		if i < len(in.ProxyLinks) {
			links = append(links, in.ProxyLinks[i])
		}
		progress := func(n int64) {
			activity.RecordHeartbeat(ctx, StoreProgress{Output: i + 1, Of: len(in.Output), Bytes: n})
		}
		activity.RecordHeartbeat(ctx, StoreProgress{Output: i + 1, Of: len(in.Output)})
		obj, reused, err := a.Store.Copy(ctx, storage.Key(in.TrackID, i, link), links, progress)
		switch {
		case storage.IsPermanent(err):
			log.Warn("output not stored", "track_id", in.TrackID, "output", i, "error", err)
			out[i] = contract.StoredOutput{Output: link, Error: err.Error()}
			continue
		case err != nil:
			return nil, temporal.NewApplicationErrorWithCause(
				fmt.Sprintf("store output %d of %d: %v", i+1, len(in.Output), err), ErrTypeStoreFailed, err)
		}
		log.Info("output stored", "track_id", in.TrackID, "location", obj.Location, "bytes", obj.Size, "reused", reused)
		out[i] = contract.StoredOutput{
			Output: link, Location: obj.Location, Size: obj.Size, ContentType: obj.ContentType,
			SHA256: obj.SHA256, Reused: reused,
		}
	}
	return out, nil
}

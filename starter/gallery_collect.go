package starter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/genflow/genflow"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/config"
)

// GalleryOptions shape what CollectGallery reads and how it links stored
// copies.
type GalleryOptions struct {
	// Link maps stored copies to relative links; nil links none (the
	// provider's links are shown).
	Link StoredLinker
	// Concurrency is how many generations are read at a time. Zero
	// means 16.
	Concurrency int
	// Progress, when not nil, is called as generations are read (done
	// of total).
	Progress func(done, total int)
}

// CollectGallery reads what the gallery of run id shows: a generation,
// every item of a batch (from its page holders and the items' own runs)
// or every step of a pipeline with its generations. Each generation is
// read from its history (its input's parameters, its result or error);
// a running one is asked for its phase.
func CollectGallery(ctx context.Context, c client.Client, cfg config.Temporal, id string, opts GalleryOptions) (Gallery, error) {
	d, err := Describe(ctx, c, cfg, id, "")
	if err != nil {
		return Gallery{}, err
	}
	g := Gallery{ID: d.TrackID, Title: d.Summary, Status: d.Status, State: d.State, UIURL: d.UIURL,
		StartedAt: d.Started, GeneratedAt: time.Now().UTC()}
	if d.Closed != nil {
		g.ClosedAt = *d.Closed
	}
	if d.Error != nil {
		g.Error = d.Error.Type + ": " + d.Error.Message
	}
	r := galleryReader{c: c, cfg: cfg, opts: opts}
	switch d.Type {
	case contract.GenerationWorkflow:
		g.Kind = GalleryGeneration
		g.Items = []GalleryItem{r.generation(ctx, d.TrackID, 0, nil, StatusRunning)}
	case contract.BatchWorkflow:
		g.Kind = GalleryBatch
		switch st := d.LiveState.(type) {
		case *contract.BatchState:
			g.State = st.State
			g.Progress = &GalleryProgress{Total: st.Total, Succeeded: st.Succeeded, Failed: st.Failed, Canceled: st.Canceled,
				Running: st.Running, Pending: st.Pending, PerSecond: st.ItemsPerSecond}
		}
		if res, ok := d.Result.(*contract.BatchResult); ok {
			g.Progress = &GalleryProgress{Total: res.Total, Succeeded: res.Succeeded, Failed: res.Failed, Canceled: res.Canceled,
				Pending: res.Total - res.Succeeded - res.Failed - res.Canceled}
			if res.Duration > 0 {
				g.Progress.PerSecond = float64(g.Progress.Done()) / res.Duration.Seconds()
			}
		}
		if g.Items, err = r.batch(ctx, d.TrackID, d.Status == StatusRunning); err != nil {
			return g, err
		}
	case contract.PipelineWorkflow:
		g.Kind = GalleryPipeline
		var st contract.PipelineState
		switch v := d.LiveState.(type) {
		case *json.RawMessage:
			if v != nil {
				if err := json.Unmarshal(*v, &st); err != nil {
					return g, fmt.Errorf("pipeline %s: read its state: %w", id, err)
				}
			}
		}
		if res, ok := d.Result.(*contract.PipelineResult); ok {
			st = res.PipelineState
		}
		if st.PipelineID == "" && d.QueryError != "" {
			return g, fmt.Errorf("pipeline %s: %s", id, d.QueryError)
		}
		if st.Name != "" {
			g.Title = "pipeline " + st.Name
		}
		g.State = string(st.Status)
		if st.Error != "" && g.Error == "" {
			g.Error = st.Error
		}
		g.Steps = r.pipeline(ctx, st)
	default:
		return g, fmt.Errorf("%s is a %s run: a gallery shows a generation, a batch or a pipeline", id, d.Type)
	}
	return g, nil
}

// galleryReader reads generations for a gallery.
type galleryReader struct {
	c    client.Client
	cfg  config.Temporal
	opts GalleryOptions
}

// want is one generation to read: its track_id, its place, the
// parameters known without reading it (a batch page's), and the status
// it has when it does not exist (yet).
type want struct {
	trackID string
	index   int
	params  map[string]any
	absent  string
	// endpoint is the generation's endpoint when it does not exist.
	endpoint string
}

// all reads every wanted generation, opts.Concurrency at a time, in
// order.
func (r galleryReader) all(ctx context.Context, wants []want) []GalleryItem {
	out := make([]GalleryItem, len(wants))
	n := r.opts.Concurrency
	if n <= 0 {
		n = 16
	}
	var mu sync.Mutex
	done := 0
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, w := range wants {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i] = r.generation(ctx, w.trackID, w.index, w.params, w.absent)
			if out[i].Endpoint == "" {
				out[i].Endpoint = w.endpoint
			}
			if r.opts.Progress != nil {
				mu.Lock()
				done++
				r.opts.Progress(done, len(wants))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out
}

// batch reads every item of batch id: its page holders' items, then
// each item's generation.
func (r galleryReader) batch(ctx context.Context, id string, running bool) ([]GalleryItem, error) {
	absent := galleryNotStarted
	if running {
		absent = galleryPending
	}
	var wants []want
	for n := 0; ; n++ {
		page, err := genflow.ReadBatchPage(ctx, r.c, contract.PageWorkflowID(id, n))
		if err != nil {
			if n > 0 && errors.Is(err, genflow.ErrPageMissing) {
				break
			}
			return nil, fmt.Errorf("batch %s: read its items: %w", id, err)
		}
		for i, it := range page.Items {
			tid := it.TrackID
			if tid == "" {
				tid = contract.ItemTrackID(id, page.First+i)
			}
			wants = append(wants, want{trackID: tid, index: page.First + i, params: it.Params, absent: absent, endpoint: it.Endpoint})
		}
	}
	return r.all(ctx, wants), nil
}

// pipeline reads every step's generations, in plan order.
func (r galleryReader) pipeline(ctx context.Context, st contract.PipelineState) []GalleryStep {
	var wants []want
	var owner []int // step of each want
	steps := make([]GalleryStep, len(st.Steps))
	for i, s := range st.Steps {
		steps[i] = GalleryStep{Name: s.Name, Endpoint: s.Endpoint, State: string(s.State), DependsOn: s.DependsOn,
			Mapped: s.Mapped, Error: s.Error, StartedAt: s.StartedAt, EndedAt: s.CompletedAt}
		absent := string(s.State)
		if s.State == contract.StepRunning {
			absent = galleryPending
		}
		if !s.Mapped {
			if s.TrackID != "" && s.State != contract.StepPending && s.State != contract.StepSkipped {
				wants = append(wants, want{trackID: s.TrackID, absent: absent, endpoint: s.Endpoint})
				owner = append(owner, i)
			}
			continue
		}
		for _, it := range s.Items {
			a := string(it.State)
			if it.State == contract.StepRunning {
				a = galleryPending
			}
			wants = append(wants, want{trackID: it.TrackID, index: it.Index, absent: a, endpoint: s.Endpoint})
			owner = append(owner, i)
		}
	}
	for j, item := range r.all(ctx, wants) {
		steps[owner[j]].Items = append(steps[owner[j]].Items, item)
	}
	return steps
}

// generation reads one generation from its history: its input, its
// result or error, and, while it runs, its phase. params are its
// parameters when its history cannot be read; absent is its status when
// it does not exist.
func (r galleryReader) generation(ctx context.Context, trackID string, index int, params map[string]any, absent string) GalleryItem {
	item := GalleryItem{Index: index, TrackID: trackID}
	// Only an absolute http(s) link: without a UI URL configured there
	// is none.
	if u, ok := safeLink(UIURL(r.cfg, trackID, "")); ok {
		item.UIURL = u
	}
	setParams := func(p map[string]any) { item.Model, item.Prompt, item.Params = galleryParams(p) }
	setParams(params)
	it := r.c.GetWorkflowHistory(ctx, trackID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	dc := converter.GetDefaultDataConverter()
	closed := false
	var started, ended time.Time
	for n := 0; it.HasNext(); n++ {
		ev, err := it.Next()
		if err != nil {
			var nf *serviceerror.NotFound
			if n == 0 && errors.As(err, &nf) {
				item.Status = absent
				return item
			}
			item.Status, item.Error = galleryUnknown, "cannot read the run: "+err.Error()
			return item
		}
		if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
			started = ev.GetEventTime().AsTime()
			var in contract.GenerationInput
			if err := dc.FromPayloads(a.GetInput(), &in); err == nil {
				item.Endpoint = in.Endpoint
				setParams(in.Params)
			}
			continue
		}
		ended = ev.GetEventTime().AsTime()
		switch {
		case ev.GetWorkflowExecutionCompletedEventAttributes() != nil:
			closed = true
			var res contract.GenerationResult
			if err := dc.FromPayloads(ev.GetWorkflowExecutionCompletedEventAttributes().GetResult(), &res); err != nil {
				item.Status, item.Error = galleryUnknown, "cannot read the result: "+err.Error()
				break
			}
			item.Status = gallerySucceeded
			item.LearnedBy, item.ProviderID = string(res.LearnedBy), res.ProviderID
			item.Webhooks, item.Polls, item.GenerationTime = res.WebhooksReceived, res.Polls, res.GenerationTime
			item.SubmittedAt, item.CompletedAt = res.Timings.SubmittedAt, res.Timings.CompletedAt
			if !res.Timings.StartedAt.IsZero() {
				started = res.Timings.StartedAt
			}
			item.Seconds = res.Timings.Total.Seconds()
			if res.Endpoint != "" {
				item.Endpoint = res.Endpoint
			}
			completed := res.Timings.CompletedAt
			if completed.IsZero() {
				completed = ended
			}
			item.Outputs = galleryOutputs(res.Output, res.Stored, completed, r.opts.Link)
		case ev.GetWorkflowExecutionFailedEventAttributes() != nil:
			closed = true
			err := temporal.GetDefaultFailureConverter().FailureToError(ev.GetWorkflowExecutionFailedEventAttributes().GetFailure())
			f := DescribeFailure(err)
			item.Status, item.Error = StatusFailed, f.Type+": "+f.Message
			if fd, ok := genflow.FailureDetailsOf(err); ok {
				item.ProviderID = fd.ProviderID
				item.Phase = string(fd.Phase)
			}
		case ev.GetWorkflowExecutionCanceledEventAttributes() != nil:
			closed = true
			item.Status, item.Error = StatusCanceled, "Canceled: the generation was cancelled"
		case ev.GetWorkflowExecutionTerminatedEventAttributes() != nil:
			closed = true
			reason := ev.GetWorkflowExecutionTerminatedEventAttributes().GetReason()
			item.Status, item.Error = StatusTerminated, "Terminated: "+orDash(reason)
		case ev.GetWorkflowExecutionTimedOutEventAttributes() != nil:
			closed = true
			item.Status, item.Error = StatusTimedOut, "TimedOut: the workflow's timeout passed"
		case ev.GetWorkflowExecutionContinuedAsNewEventAttributes() != nil:
			closed = true
			item.Status = galleryUnknown
		}
	}
	item.StartedAt = started
	if !closed {
		item.Status = StatusRunning
		if st, err := queryRun[contract.State](ctx, r.c, trackID, "", contract.StateQuery); err == nil {
			item.Phase = string(st.Phase)
			item.ProviderID = st.ProviderID
			item.Webhooks, item.Polls = st.WebhooksReceived, st.Polls
		}
		return item
	}
	if item.CompletedAt.IsZero() && item.Status != gallerySucceeded {
		item.CompletedAt = ended
	}
	if item.Seconds == 0 && !started.IsZero() && !item.CompletedAt.IsZero() {
		item.Seconds = item.CompletedAt.Sub(started).Seconds()
	}
	return item
}

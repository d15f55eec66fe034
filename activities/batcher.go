package activities

import (
	"context"
	"errors"
	"sync"
	"time"
)

// batcher gathers the calls that arrive while its previous send is in
// flight and sends them together: one send at a time per batcher, each
// with every call waiting then (at most max). A lone call is sent at
// once, so batching adds no wait when there is nothing to batch; under
// load a call waits at most for the send in flight and its own.
//
// The account limiter's acquires and releases go through batchers: the
// limiter is one workflow, and one Update (or signal) and one workflow
// task per batch, instead of per run, is what lets it keep up with a
// worker's generations (docs/architecture.md, "The account limiter").
type batcher[Req, Rep any] struct {
	// send sends one batch and returns one reply per request, in order,
	// or an error for all of them. Its context is detached from the
	// callers' (a caller that gives up does not cancel the others').
	send func(context.Context, []Req) ([]Rep, error)
	max  int

	mu      sync.Mutex
	pending []batchCall[Req, Rep]
	sending bool
}

type batchCall[Req, Rep any] struct {
	req  Req
	done chan batchResult[Rep]
	// then is a posted call's callback (post).
	then func(Rep, error)
}

type batchResult[Rep any] struct {
	rep Rep
	err error
}

func newBatcher[Req, Rep any](max int, send func(context.Context, []Req) ([]Rep, error)) *batcher[Req, Rep] {
	return &batcher[Req, Rep]{send: send, max: max}
}

// do sends req in the next batch and returns its reply. A caller whose
// ctx ends stops waiting; its request may still have been sent.
func (b *batcher[Req, Rep]) do(ctx context.Context, req Req) (Rep, error) {
	c := b.enqueue(ctx, req, nil)
	select {
	case r := <-c.done:
		return r.rep, r.err
	case <-ctx.Done():
		var zero Rep
		return zero, ctx.Err()
	}
}

// post sends req in the next batch without waiting for it; its reply is
// given to done (from the loop's goroutine), if done is not nil.
func (b *batcher[Req, Rep]) post(ctx context.Context, req Req, done func(Rep, error)) {
	b.enqueue(ctx, req, done)
}

// enqueue adds a call to the next batch, starting the loop if it is not
// running.
func (b *batcher[Req, Rep]) enqueue(ctx context.Context, req Req, then func(Rep, error)) batchCall[Req, Rep] {
	c := batchCall[Req, Rep]{req: req, done: make(chan batchResult[Rep], 1), then: then}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = append(b.pending, c)
	if !b.sending {
		b.sending = true
		go b.loop(context.WithoutCancel(ctx))
	}
	return c
}

// idle waits until no call waits or is being sent, or ctx ends.
func (b *batcher[Req, Rep]) idle(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		b.mu.Lock()
		busy := b.sending || len(b.pending) > 0
		b.mu.Unlock()
		if !busy {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// loop sends batches until none waits.
func (b *batcher[Req, Rep]) loop(ctx context.Context) {
	for {
		b.mu.Lock()
		n := min(len(b.pending), b.max)
		if n == 0 {
			b.sending = false
			b.mu.Unlock()
			return
		}
		calls := b.pending[:n:n]
		b.pending = append([]batchCall[Req, Rep](nil), b.pending[n:]...)
		b.mu.Unlock()

		reqs := make([]Req, n)
		for i, c := range calls {
			reqs[i] = c.req
		}
		reps, err := b.send(ctx, reqs)
		for i, c := range calls {
			var r batchResult[Rep]
			switch {
			case err != nil:
				r.err = err
			case i < len(reps):
				r.rep = reps[i]
			default:
				r.err = errShortBatchReply
			}
			c.done <- r
			if c.then != nil {
				c.then(r.rep, r.err)
			}
		}
	}
}

var errShortBatchReply = errors.New("the batch's reply has fewer answers than requests")

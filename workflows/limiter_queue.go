package workflows

import (
	"slices"
	"sort"
	"time"

	"github.com/genflow/genflow/contract"
)

// accountQueue is the account limiter's state and rules, apart from the
// workflow that drives it (pure functions of its fields and the times it
// is given, so tests drive it directly).
//
// Order of admission: the highest priority first; within a priority,
// fairness keys round-robin (the key served longest ago, a key never
// served first, ties by arrival); within a key, arrival order.
type accountQueue struct {
	limit int
	c     contract.LimiterCarry
}

func newAccountQueue(in contract.LimiterInput) (*accountQueue, error) {
	q := &accountQueue{limit: in.Limit}
	c, err := in.CarriedState()
	if err != nil {
		return nil, err
	}
	if c != nil {
		q.c = *c
	}
	if q.limit <= 0 {
		q.limit = contract.DefaultAccountQueueLimit
	}
	if q.c.Served == nil {
		q.c.Served = map[string]int64{}
	}
	return q, nil
}

// encodeCarry and decodeCarry are contract's (LimiterInput.CarryGzip).
func encodeCarry(c contract.LimiterCarry) ([]byte, error) { return contract.EncodeLimiterCarry(c) }

func decodeCarry(gz []byte) (contract.LimiterCarry, error) { return contract.DecodeLimiterCarry(gz) }

// effective is the limit in force at now: the configured one, or the
// estimate a 429 left until its retry_after has passed.
func (q *accountQueue) effective(now time.Time) int {
	if now.Before(q.c.ThrottledUntil) && q.c.ThrottledLimit < q.limit {
		return max(1, q.c.ThrottledLimit)
	}
	return q.limit
}

func indexOf(es []contract.LimiterEntry, holder string) int {
	return slices.IndexFunc(es, func(e contract.LimiterEntry) bool { return e.Holder == holder })
}

// holds says whether the run holds a slot.
func (q *accountQueue) holds(holder, runID string) bool {
	i := indexOf(q.c.Holders, holder)
	return i >= 0 && q.c.Holders[i].RunID == runID
}

// enqueue adds a request as a waiter, unless its run already holds a
// slot or waits. It returns whether the run holds a slot.
func (q *accountQueue) enqueue(r contract.AcquireRequest, now time.Time) (holding bool) {
	if r.Limit > 0 {
		q.limit = r.Limit
	}
	if q.holds(r.Holder, r.RunID) {
		return true
	}
	if i := indexOf(q.c.Waiters, r.Holder); i >= 0 && q.c.Waiters[i].RunID == r.RunID {
		return false
	}
	q.c.Seq++
	q.c.Waiters = append(q.c.Waiters, contract.LimiterEntry{
		Holder: r.Holder, RunID: r.RunID, Priority: r.Priority, Key: r.Key, Since: now, Seq: q.c.Seq,
	})
	return false
}

// pick is the index of the waiter to admit next, or -1.
func (q *accountQueue) pick() int {
	best := -1
	for i, w := range q.c.Waiters {
		if best < 0 {
			best = i
			continue
		}
		b := q.c.Waiters[best]
		switch {
		case w.Priority != b.Priority:
			if w.Priority > b.Priority {
				best = i
			}
		case q.c.Served[w.Key] != q.c.Served[b.Key]:
			if q.c.Served[w.Key] < q.c.Served[b.Key] {
				best = i
			}
		case w.Seq < b.Seq:
			best = i
		}
	}
	return best
}

// admit moves the next waiters to the holders while slots are free and
// returns them, in order.
func (q *accountQueue) admit(now time.Time) []contract.LimiterEntry {
	var out []contract.LimiterEntry
	for len(q.c.Holders) < q.effective(now) {
		i := q.pick()
		if i < 0 {
			break
		}
		w := q.c.Waiters[i]
		q.c.Waiters = slices.Delete(q.c.Waiters, i, i+1)
		q.c.Seq++
		q.c.Served[w.Key] = q.c.Seq
		q.c.Admitted++
		// A holder's Since is when it was granted; the wait is reported
		// before it is overwritten.
		out = append(out, w)
		w.Since = now
		q.c.Holders = append(q.c.Holders, w)
	}
	return out
}

// release takes a run out of the holders or the waiters and reports
// which it was in.
func (q *accountQueue) release(r contract.ReleaseRequest) (held, waited bool) {
	match := func(e contract.LimiterEntry) bool {
		return e.Holder == r.Holder && (r.RunID == "" || e.RunID == r.RunID)
	}
	if i := slices.IndexFunc(q.c.Holders, match); i >= 0 {
		q.c.Holders = slices.Delete(q.c.Holders, i, i+1)
		return true, false
	}
	if i := slices.IndexFunc(q.c.Waiters, match); i >= 0 {
		q.c.Waiters = slices.Delete(q.c.Waiters, i, i+1)
		return false, true
	}
	return false, false
}

// throttle lowers the estimate after a 429 to holder's Submit: the
// provider's queue was full with the slots genflow holds besides the
// asking run's own, so the account takes no more than those (at least
// one) until retry_after has passed. A later 429 lowers it further and
// extends the time.
func (q *accountQueue) throttle(holder string, retryAfter time.Duration, now time.Time) {
	est := len(q.c.Holders)
	if indexOf(q.c.Holders, holder) >= 0 {
		est--
	}
	est = max(1, est)
	if now.Before(q.c.ThrottledUntil) {
		est = min(est, q.c.ThrottledLimit)
	}
	q.c.ThrottledLimit = est
	q.c.ThrottledUntil = later(q.c.ThrottledUntil, now.Add(retryAfter))
	q.c.Throttles++
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// position says where holder stands. For a waiter it counts the waiters
// admitted before it if nothing else changes: every waiter of a higher
// priority, and of its own priority, per other key, as many as the
// round-robin serves before it (its place in its key's line, plus one
// for keys whose turn comes first).
func (q *accountQueue) position(holder string, now time.Time) contract.QueuePosition {
	p := contract.QueuePosition{Waiting: len(q.c.Waiters), InUse: len(q.c.Holders), Limit: q.effective(now)}
	if indexOf(q.c.Holders, holder) >= 0 {
		p.Holding = true
		return p
	}
	wi := indexOf(q.c.Waiters, holder)
	if wi < 0 {
		return p
	}
	w := q.c.Waiters[wi]
	type line struct {
		n, head int64 // waiters of the key at w's priority; its first arrival
		before  int   // waiters of the key before w (w's own key)
	}
	lines := map[string]*line{}
	var keys []string
	ahead := 0
	for _, o := range q.c.Waiters {
		if o.Priority > w.Priority {
			ahead++
			continue
		}
		if o.Priority < w.Priority {
			continue
		}
		l, ok := lines[o.Key]
		if !ok {
			l = &line{head: o.Seq}
			lines[o.Key] = l
			keys = append(keys, o.Key)
		}
		l.n++
		if o.Key == w.Key && o.Seq < w.Seq {
			l.before++
		}
	}
	// A key's turn: served longest ago first, then by first arrival.
	sort.SliceStable(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if q.c.Served[a] != q.c.Served[b] {
			return q.c.Served[a] < q.c.Served[b]
		}
		return lines[a].head < lines[b].head
	})
	own := lines[w.Key]
	first := true
	for _, k := range keys {
		if k == w.Key {
			first = false
			continue
		}
		turns := int64(own.before)
		if first {
			turns++
		}
		ahead += int(min(lines[k].n, turns))
	}
	p.Position = ahead + own.before + 1
	return p
}

// prune forgets the round-robin turns of keys with no run waiting or
// holding, so the carried state stays as small as the queue.
func (q *accountQueue) prune() {
	served := map[string]int64{}
	for _, es := range [][]contract.LimiterEntry{q.c.Holders, q.c.Waiters} {
		for _, e := range es {
			if v, ok := q.c.Served[e.Key]; ok {
				served[e.Key] = v
			}
		}
	}
	q.c.Served = served
}

// state is the LimiterStateQuery answer.
func (q *accountQueue) state(now time.Time) contract.LimiterState {
	s := contract.LimiterState{
		Limit: q.limit, Effective: q.effective(now), Throttles: q.c.Throttles,
		InUse: len(q.c.Holders), Waiting: len(q.c.Waiters), Admitted: q.c.Admitted, Reclaimed: q.c.Reclaimed,
		Runs: q.c.Runs + 1, Holders: []string{},
	}
	if now.Before(q.c.ThrottledUntil) {
		s.ThrottledUntil = q.c.ThrottledUntil
	}
	for _, h := range q.c.Holders {
		s.Holders = append(s.Holders, h.Holder)
	}
	return s
}

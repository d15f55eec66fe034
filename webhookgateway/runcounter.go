package webhookgateway

import "sync"

// runCounterSize bounds the track_ids runCounter remembers: two
// generations of up to this many each (about 100 bytes an entry).
const runCounterSize = 50_000

// runCounter counts webhooks per track_id in bounded memory. It keeps two
// generations of counts: new counts go to cur, and when cur is full it
// becomes prev and a fresh cur starts. A track_id seen in prev carries
// its count over on its next webhook, so a run that keeps receiving
// webhooks keeps its count; one quiet for two generations is forgotten
// (and starts again from zero, which only ever lets more through).
type runCounter struct {
	max       int
	mu        sync.Mutex
	cur, prev map[string]int
}

func newRunCounter(max int) *runCounter {
	return &runCounter{max: max, cur: make(map[string]int)}
}

// get returns the count of id.
func (r *runCounter) get(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n, ok := r.cur[id]; ok {
		return n
	}
	return r.prev[id]
}

// add counts one more webhook for id.
func (r *runCounter) add(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.cur[id]
	if !ok {
		n = r.prev[id]
		if len(r.cur) >= r.max {
			r.prev, r.cur = r.cur, make(map[string]int, r.max)
		}
	}
	r.cur[id] = n + 1
}

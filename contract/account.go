package contract

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// The account limiter: one AccountLimiter workflow per ModelsLab API key
// admits every run (single generations, batch items, pipeline steps)
// before its Submit and counts it until the provider's terminal state, so
// that genflow never queues more requests at the provider than the
// account takes (docs/architecture.md, "The account limiter").
const (
	// AccountLimiterWorkflow is the registered name of the limiter
	// workflow. Its ID is AccountLimiterID of the key, never the key.
	AccountLimiterWorkflow = "AccountLimiter"
	// AcquireUpdate asks the limiter for a slot (an AcquireRequest); the
	// AcquireReply says whether it was granted at once or queued.
	AcquireUpdate = "acquire"
	// AcquireBatchUpdate is AcquireUpdate and ReleaseSignal for several
	// runs at once (an AcquireBatch; the AcquireBatchReply answers each
	// acquire in order): a worker gathers the requests of its runs that
	// arrive while its previous batch is in flight, so the limiter's cost
	// is one Update and one workflow task per batch, not per run.
	AcquireBatchUpdate = "acquire-batch"
	// ReleaseSignal gives a slot back, or leaves the queue (a
	// ReleaseRequest).
	ReleaseSignal = "release"
	// ThrottleSignal reports a 429 the provider answered a Submit with
	// (a ThrottleRequest): another user of the key fills the account.
	ThrottleSignal = "throttle"
	// SlotGrantSignal tells a queued Generation that it holds a slot (a
	// SlotGrant).
	SlotGrantSignal = "account-slot"
	// LimiterStateQuery returns the limiter's LimiterState.
	LimiterStateQuery = "state"
	// PositionQuery takes a workflow ID and returns its QueuePosition.
	PositionQuery = "position"
)

// PhaseQueued is the phase of a generation waiting for a slot of its
// account: it has not been submitted yet.
const PhaseQueued Phase = "queued"

// Priorities of GenerationInput.Priority: higher goes first; zero means
// PriorityInteractive (a single generation, a pipeline step), and a
// batch's items get PriorityBatch unless they set their own.
const (
	PriorityBatch       = 1
	PriorityInteractive = 5
	// PriorityMax is the highest priority a run may ask for.
	PriorityMax = 9
)

// DefaultAccountQueueLimit is the default of ACCOUNT_QUEUE_LIMIT and the
// limit an acquire request without one asks for: the queue of ModelsLab's
// pay-as-you-go accounts.
const DefaultAccountQueueLimit = 5

// AcquireRequest asks for a slot for one Generation run.
type AcquireRequest struct {
	// Holder and RunID are the Generation's workflow and run IDs; the
	// grant is signalled to that run.
	Holder string `json:"holder"`
	RunID  string `json:"run_id"`
	// Priority: higher first (PriorityBatch, PriorityInteractive, ...).
	Priority int `json:"priority"`
	// Key is the fairness key: runs of one key (a batch's items, a
	// pipeline's steps: the parent's ID) share slots round-robin with
	// other keys of the same priority.
	Key string `json:"key"`
	// Limit is the asking worker's ACCOUNT_QUEUE_LIMIT; the limiter
	// takes the latest one it is sent, so a new value takes effect
	// without restarting running work.
	Limit int `json:"limit"`
}

// AcquireReply is the limiter's answer to an AcquireRequest.
type AcquireReply struct {
	// Limiter is the limiter's workflow ID, where the run's release goes.
	// Empty when the worker runs without a limiter.
	Limiter string `json:"limiter,omitempty"`
	// Granted: the run holds a slot now. Otherwise it waits for a
	// SlotGrantSignal.
	Granted bool `json:"granted"`
	QueuePosition
}

// QueuePosition says where a run stands in its account's queue.
type QueuePosition struct {
	// Position is 1 for the next run to be admitted; 0 when the run is
	// not waiting (it holds a slot, or the limiter does not know it).
	Position int `json:"position,omitempty"`
	// Waiting counts every run waiting for the account.
	Waiting int `json:"waiting"`
	// InUse counts the slots held.
	InUse int `json:"in_use"`
	// Limit is the limit in force: the configured one, or lower while
	// the provider's 429 says another user fills the account.
	Limit int `json:"limit"`
	// Holding: the run holds a slot.
	Holding bool `json:"holding,omitempty"`
}

// String is "3rd of 12, limit 5".
func (p QueuePosition) String() string {
	if p.Holding {
		return fmt.Sprintf("holding a slot, %d of %d in use", p.InUse, p.Limit)
	}
	if p.Position == 0 {
		return fmt.Sprintf("%d waiting, limit %d", p.Waiting, p.Limit)
	}
	return fmt.Sprintf("%s of %d, limit %d", Ordinal(p.Position), p.Waiting, p.Limit)
}

// Ordinal is 1st, 2nd, 3rd, 4th, 11th, 21st, ...
func Ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s", n, suffix)
}

// AcquireBatch is the AcquireBatchUpdate's argument. The releases are
// taken first, so the slots they free go to this batch's acquires as much
// as to the runs already waiting.
type AcquireBatch struct {
	Releases []ReleaseRequest `json:"releases,omitempty"`
	Requests []AcquireRequest `json:"requests,omitempty"`
}

// AcquireBatchReply answers an AcquireBatch, one reply per request in
// the same order.
type AcquireBatchReply struct {
	Replies []AcquireReply `json:"replies"`
}

// MaxLimiterBatch bounds the requests and releases of one AcquireBatch
// (about 200 bytes each: far below Temporal's 2 MB payload limit).
const MaxLimiterBatch = 500

// ReleaseRequest gives the slot of Holder back, or takes it out of the
// queue when it waits.
type ReleaseRequest struct {
	Holder string `json:"holder"`
	RunID  string `json:"run_id"`
}

// ThrottleRequest reports a 429 to a Submit of Holder (which may or may
// not hold a slot): the provider refuses more requests until RetryAfter
// has passed.
type ThrottleRequest struct {
	Holder     string        `json:"holder"`
	RetryAfter time.Duration `json:"retry_after"`
	At         time.Time     `json:"at"`
}

// SlotGrant is the SlotGrantSignal payload.
type SlotGrant struct {
	Limiter string `json:"limiter"`
	// Waited is how long the run waited in the queue.
	Waited time.Duration `json:"waited"`
}

// AccountWait is a generation's place at its account (State.Account).
type AccountWait struct {
	// Limiter is the account's limiter workflow ID.
	Limiter string `json:"limiter"`
	// QueuedAt is when the run was queued; GrantedAt when it got its
	// slot (zero while it waits); ReleasedAt when it gave it back.
	QueuedAt   time.Time `json:"queued_at,omitempty"`
	GrantedAt  time.Time `json:"granted_at,omitempty"`
	ReleasedAt time.Time `json:"released_at,omitempty"`
	// QueuePosition is the place when the run was queued; the genflow
	// client refreshes it from the limiter's PositionQuery while it
	// waits.
	QueuePosition
}

// LimiterState is the LimiterStateQuery answer.
type LimiterState struct {
	// Limit is the configured limit; Effective the one in force (lower
	// until ThrottledUntil after a 429).
	Limit          int       `json:"limit"`
	Effective      int       `json:"effective"`
	ThrottledUntil time.Time `json:"throttled_until,omitempty"`
	Throttles      int       `json:"throttles"`
	InUse          int       `json:"in_use"`
	Waiting        int       `json:"waiting"`
	// Holders are the runs holding a slot, oldest first.
	Holders []string `json:"holders"`
	// Admitted and Reclaimed count since the limiter started (carried
	// across continue-as-new); Reclaimed are slots of holders that
	// closed without a release.
	Admitted  int64 `json:"admitted"`
	Reclaimed int64 `json:"reclaimed"`
	// Runs counts the limiter's runs (continue-as-new).
	Runs int `json:"runs"`
}

// LimiterInput starts (or continues) an AccountLimiter run.
type LimiterInput struct {
	// Limit is the configured ACCOUNT_QUEUE_LIMIT; acquire requests
	// carry their worker's, and the latest wins.
	Limit int `json:"limit"`
	// ContinueAfter is how many acquire requests a run takes before it
	// continues as new. Zero: 1,000 (Temporal allows 2,000 updates per
	// run).
	ContinueAfter int `json:"continue_after,omitempty"`
	// Carry is the state a continued run takes over; nil at the first
	// start. Runs with acquire-batch send it as CarryGzip instead.
	Carry *LimiterCarry `json:"carry,omitempty"`
	// CarryGzip is Carry as gzip-compressed JSON: 10,000 waiters are
	// about 1.7 MB of JSON, near Temporal's 2 MB payload limit, and a
	// tenth of that compressed.
	CarryGzip []byte `json:"carry_gzip,omitempty"`
}

// LimiterCarry is the limiter's state across continue-as-new.
type LimiterCarry struct {
	Holders        []LimiterEntry   `json:"holders,omitempty"`
	Waiters        []LimiterEntry   `json:"waiters,omitempty"`
	Served         map[string]int64 `json:"served,omitempty"`
	Seq            int64            `json:"seq"`
	ThrottledUntil time.Time        `json:"throttled_until,omitzero"`
	ThrottledLimit int              `json:"throttled_limit,omitempty"`
	Throttles      int              `json:"throttles,omitempty"`
	Admitted       int64            `json:"admitted,omitempty"`
	Reclaimed      int64            `json:"reclaimed,omitempty"`
	Runs           int              `json:"runs,omitempty"`
}

// LimiterEntry is one run holding or waiting for a slot.
type LimiterEntry struct {
	Holder   string    `json:"h"`
	RunID    string    `json:"r"`
	Priority int       `json:"p,omitempty"`
	Key      string    `json:"k,omitempty"`
	Since    time.Time `json:"t"`
	// Seq orders arrivals.
	Seq int64 `json:"s"`
}

// maxLimiterCarryBytes bounds a decoded carry (a corrupt input must not
// take the worker's memory).
const maxLimiterCarryBytes = 64 << 20

// EncodeLimiterCarry is c as gzip-compressed JSON (LimiterInput.
// CarryGzip). Deterministic: the same state gives the same bytes.
func EncodeLimiterCarry(c LimiterCarry) ([]byte, error) {
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	if _, err := z.Write(raw); err != nil {
		return nil, err
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// DecodeLimiterCarry reads what EncodeLimiterCarry wrote.
func DecodeLimiterCarry(gz []byte) (LimiterCarry, error) {
	var c LimiterCarry
	z, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return c, fmt.Errorf("limiter carry: %w", err)
	}
	raw, err := io.ReadAll(io.LimitReader(z, maxLimiterCarryBytes+1))
	if err != nil {
		return c, fmt.Errorf("limiter carry: %w", err)
	}
	if len(raw) > maxLimiterCarryBytes {
		return c, fmt.Errorf("limiter carry: over %d bytes", maxLimiterCarryBytes)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("limiter carry: %w", err)
	}
	return c, nil
}

// CarriedState is the state a LimiterInput carries, compressed or not;
// nil at a first start.
func (in LimiterInput) CarriedState() (*LimiterCarry, error) {
	switch {
	case in.CarryGzip != nil:
		c, err := DecodeLimiterCarry(in.CarryGzip)
		if err != nil {
			return nil, err
		}
		return &c, nil
	default:
		return in.Carry, nil
	}
}

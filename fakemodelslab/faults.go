package fakemodelslab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Fault is a misbehaviour the fake can inject into a request.
type Fault string

// The faults. Drop, Duplicate, Delay and Reorder change how the webhook is
// delivered; Fail and Immediate change the outcome; Fault5xx and Fault429
// reject the submit itself; CutFiles and Expire change how the output
// files are served; SlowSubmit holds the reply to an accepted submit.
const (
	// FaultDrop sends no webhook; fetch still answers. ModelsLab documents
	// generation webhooks as best-effort.
	FaultDrop Fault = "drop"
	// FaultDuplicate sends the terminal webhook twice.
	FaultDuplicate Fault = "duplicate"
	// FaultDelay sends the webhook Faults.Delay after the request is done.
	FaultDelay Fault = "delay"
	// FaultReorder sends the terminal webhook, then a stale "processing"
	// webhook after it.
	FaultReorder Fault = "reorder"
	// FaultFail makes the request fail: the webhook has status "failed"
	// and fetch answers failed with the same message.
	FaultFail Fault = "fail"
	// FaultImmediate answers the submit with success and outputs at once,
	// with no webhook. It applies to the generation protocol only.
	FaultImmediate Fault = "immediate"
	// Fault5xx answers the submit with HTTP 500 and a JSON error body.
	Fault5xx Fault = "5xx"
	// Fault429 answers the submit with the provider's 429 rate-limit body.
	Fault429 Fault = "429"
	// FaultCutFiles breaks the first download of each output file: half
	// its bytes under the full Content-Length, then the connection is
	// closed. Later downloads (with or without Range) are whole.
	FaultCutFiles Fault = "cut-files"
	// FaultExpire makes the output links answer 404, as expired
	// temporary links do; the proxy_links (under /cdn/) still serve.
	FaultExpire Fault = "expire"
	// FaultSlowSubmit accepts the submit at once (the request is
	// recorded and starts processing, its webhook follows as usual) but
	// holds the reply for Faults.SubmitDelay: the provider has the
	// request while the client still waits, the window in which a client
	// that dies and retries submits twice. The reply is held even if the
	// client hangs up.
	FaultSlowSubmit Fault = "slow-submit"
	// FaultWrongID sends the request's webhooks under the id of another
	// request (WrongID: id, model_id, execution_id), as a payload meant
	// for another request or a forged one with a leaked webhook URL
	// would; the request itself and fetch are unchanged.
	FaultWrongID Fault = "wrong-id"
)

// allFaults lists the known faults in a stable order.
var allFaults = []Fault{FaultDrop, FaultDuplicate, FaultDelay, FaultReorder, FaultFail, FaultImmediate, Fault5xx, Fault429,
	FaultCutFiles, FaultExpire, FaultSlowSubmit, FaultWrongID}

// DefaultFaultDelay is the webhook delay of FaultDelay when Faults.Delay is
// zero.
const DefaultFaultDelay = 5 * time.Second

// DefaultSubmitDelay is how long FaultSlowSubmit holds a reply when
// Faults.SubmitDelay is zero.
const DefaultSubmitDelay = 5 * time.Second

// failureMessage is the message of FaultFail, the one the provider's docs
// show in their failure webhook.
const failureMessage = "Processing failed: Invalid input dimensions"

// Valid reports whether f is one of the Fault constants.
func (f Fault) Valid() bool { return slices.Contains(allFaults, f) }

// rejects reports whether f rejects the submit instead of shaping the
// accepted request.
func (f Fault) rejects() bool { return f == Fault5xx || f == Fault429 }

// Rule injects a fault into the submits whose track_id contains Match.
type Rule struct {
	// Match selects submits whose track_id contains it. Empty matches
	// every submit, including those without a track_id (training and
	// workflow runs).
	Match string `json:"match,omitempty"`
	// Fault is what to inject.
	Fault Fault `json:"fault"`
	// Times is how many submit attempts of each matching track_id the
	// rule applies to; 0 means all. For Fault5xx and Fault429 it is how
	// many attempts fail before one succeeds.
	Times int `json:"times,omitempty"`
}

func (r Rule) matches(trackID string) bool {
	return r.Match == "" || strings.Contains(trackID, r.Match)
}

// Faults configures fault injection. The zero value injects nothing.
//
// A submit gets the faults of every rule that applies to it plus those
// Rates picks for its track_id. When several apply, Fault5xx and Fault429
// win over the rest; FaultFail wins over FaultImmediate, which wins over
// the webhook faults; FaultDrop wins over the other webhook faults, and
// Delay, Duplicate and Reorder combine (a delayed pair, say).
// FaultSlowSubmit combines with any accepted outcome.
type Faults struct {
	// Rules apply in order.
	Rules []Rule
	// Rates picks each fault for this fraction (0 to 1) of track_ids. The
	// pick is a deterministic function of the track_id (see Picks), so a
	// test knows in advance which requests are hit. Picked Fault5xx and
	// Fault429 fail only the first submit attempt of a track_id; requests
	// without a track_id are never picked.
	Rates map[Fault]float64
	// Delay is how late FaultDelay sends the webhook. Default
	// DefaultFaultDelay (5 s).
	Delay time.Duration
	// SubmitDelay is how long FaultSlowSubmit holds the reply to an
	// accepted submit. Default DefaultSubmitDelay (5 s).
	SubmitDelay time.Duration
}

// Picks returns the faults Rates selects for trackID, in a stable order.
// A fault is picked when a hash of the track_id and the fault's name
// (FNV-1a, 64 bit), read as a fraction of 2^64, is below its rate.
func (f Faults) Picks(trackID string) []Fault {
	if trackID == "" {
		return nil
	}
	var out []Fault
	for _, fault := range allFaults {
		rate := f.Rates[fault]
		if rate > 0 && pickFraction(trackID, fault) < rate {
			out = append(out, fault)
		}
	}
	return out
}

// pickFraction maps (trackID, fault) uniformly onto [0, 1).
func pickFraction(trackID string, fault Fault) float64 {
	h := fnv.New64a()
	h.Write([]byte(trackID))
	h.Write([]byte{0})
	h.Write([]byte(fault))
	return float64(h.Sum64()>>11) / (1 << 53)
}

// Validate reports the first problem with f: an unknown fault name, a
// rate outside [0, 1], a negative Times or Delay.
func (f Faults) Validate() error {
	var errs []error
	for i, r := range f.Rules {
		if !r.Fault.Valid() {
			errs = append(errs, fmt.Errorf("rule %d: unknown fault %q (want one of %s)", i+1, r.Fault, faultNames()))
		}
		if r.Times < 0 {
			errs = append(errs, fmt.Errorf("rule %d: times is %d; want 0 (always) or more", i+1, r.Times))
		}
	}
	for _, fault := range sortedKeys(f.Rates) {
		if !fault.Valid() {
			errs = append(errs, fmt.Errorf("rate of unknown fault %q (want one of %s)", fault, faultNames()))
		}
		if r := f.Rates[fault]; r < 0 || r > 1 {
			errs = append(errs, fmt.Errorf("rate of %s is %v; want 0 to 1", fault, r))
		}
	}
	if f.Delay < 0 {
		errs = append(errs, fmt.Errorf("delay is %s; want 0 or more", f.Delay))
	}
	if f.SubmitDelay < 0 {
		errs = append(errs, fmt.Errorf("submit_delay is %s; want 0 or more", f.SubmitDelay))
	}
	return errors.Join(errs...)
}

func (f Faults) delay() time.Duration {
	if f.Delay > 0 {
		return f.Delay
	}
	return DefaultFaultDelay
}

func (f Faults) submitDelay() time.Duration {
	if f.SubmitDelay > 0 {
		return f.SubmitDelay
	}
	return DefaultSubmitDelay
}

func faultNames() string {
	names := make([]string, len(allFaults))
	for i, f := range allFaults {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

func sortedKeys(m map[Fault]float64) []Fault {
	keys := make([]Fault, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// faultsWire is the JSON form of Faults, with Delay as a duration string.
type faultsWire struct {
	Rules []Rule            `json:"rules,omitempty"`
	Rates map[Fault]float64 `json:"rates,omitempty"`
	Delay json.RawMessage   `json:"delay,omitempty"`
	// SubmitDelay is Faults.SubmitDelay, in the same forms as Delay.
	SubmitDelay json.RawMessage `json:"submit_delay,omitempty"`
}

// MarshalJSON encodes f as {"rules":[...],"rates":{...},"delay":"5s",
// "submit_delay":"3s"}.
func (f Faults) MarshalJSON() ([]byte, error) {
	w := faultsWire{Rules: f.Rules, Rates: f.Rates}
	if f.Delay != 0 {
		w.Delay = json.RawMessage(strconv.Quote(f.Delay.String()))
	}
	if f.SubmitDelay != 0 {
		w.SubmitDelay = json.RawMessage(strconv.Quote(f.SubmitDelay.String()))
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes the form MarshalJSON writes. Delay and
// SubmitDelay may be a duration string ("250ms") or a number of
// nanoseconds. Unknown fields are
// an error, so a typo in a control request does not pass silently.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var w faultsWire
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return fmt.Errorf("decode faults: %w", err)
	}
	out := Faults{Rules: w.Rules, Rates: w.Rates}
	var err error
	if out.Delay, err = decodeDuration("delay", w.Delay); err != nil {
		return err
	}
	if out.SubmitDelay, err = decodeDuration("submit_delay", w.SubmitDelay); err != nil {
		return err
	}
	*f = out
	return nil
}

// decodeDuration reads a duration string ("250ms") or a number of
// nanoseconds; absent or null is zero.
func decodeDuration(name string, raw json.RawMessage) (time.Duration, error) {
	d := bytes.TrimSpace(raw)
	if len(d) == 0 || bytes.Equal(d, []byte("null")) {
		return 0, nil
	}
	if d[0] == '"' {
		var s string
		if err := json.Unmarshal(d, &s); err != nil {
			return 0, fmt.Errorf("decode faults: %s: %w", name, err)
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("decode faults: %s %q is not a duration such as 5s", name, s)
		}
		return v, nil
	}
	n, err := strconv.ParseInt(string(d), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("decode faults: %s %s is not a duration string or nanoseconds", name, d)
	}
	return time.Duration(n), nil
}

// ParseFaultRates parses "drop=0.1,fail=0.05" into Faults.Rates. An empty
// string is no rates.
func ParseFaultRates(s string) (map[Fault]float64, error) {
	out := map[Fault]float64{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not fault=rate", part)
		}
		fault := Fault(strings.ToLower(strings.TrimSpace(name)))
		if !fault.Valid() {
			return nil, fmt.Errorf("unknown fault %q (want one of %s)", name, faultNames())
		}
		rate, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil || rate < 0 || rate > 1 {
			return nil, fmt.Errorf("rate of %s is %q; want a number from 0 to 1", fault, val)
		}
		if _, dup := out[fault]; dup {
			return nil, fmt.Errorf("fault %s given twice", fault)
		}
		out[fault] = rate
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// faultSet is the set of faults applied to one accepted request.
type faultSet uint16

func (s faultSet) has(f Fault) bool { return s&faultBit(f) != 0 }

func (s *faultSet) add(f Fault) { *s |= faultBit(f) }

func (s faultSet) list() []string {
	var out []string
	for _, f := range allFaults {
		if s.has(f) {
			out = append(out, string(f))
		}
	}
	return out
}

func faultBit(f Fault) faultSet {
	if i := slices.Index(allFaults, f); i >= 0 {
		return 1 << i
	}
	return 0
}

// hitKey counts how often a rule (or, with rule -1, a rate pick) applied
// to a track_id, for Rule.Times.
type hitKey struct {
	rule  int
	fault Fault
	track string
}

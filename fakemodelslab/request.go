package fakemodelslab

import (
	"encoding/json"
	"errors"
	"maps"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/genflow/genflow/modelslab"
)

// request is one accepted submit. Fields above the line are set before the
// request is published and never change; done and doneAt are guarded by
// Server.mu.
type request struct {
	id       int64
	ep       modelslab.Endpoint
	key      string
	track    string
	trackRaw any // track_id as sent: string, json.Number or nil
	webhook  string
	// params are the body as sent, without key.
	params     map[string]any
	meta       map[string]any
	workflowID string
	trainingID string
	faults     faultSet
	delay      time.Duration
	// submitDelay is how long FaultSlowSubmit holds the reply.
	submitDelay time.Duration
	submitted   time.Time
	processing  time.Duration
	publicURL   string
	// files are the output file names under /files/.
	files []string
	// cut are the files whose first download FaultCutFiles broke.
	cut map[string]bool

	done   bool
	doneAt time.Time
}

func (r *request) idString() string { return strconv.FormatInt(r.id, 10) }

func (r *request) failed() bool { return r.faults.has(FaultFail) }

// msgKey alternates the provider's two spellings of the message field,
// deterministically by id.
func (r *request) msgKey() string {
	if r.id%2 == 0 {
		return "messege"
	}
	return "message"
}

func (r *request) outputs() []string {
	out := make([]string, len(r.files))
	for i, f := range r.files {
		out[i] = r.publicURL + "/files/" + f
	}
	return out
}

func (r *request) proxyLinks() []string {
	out := make([]string, len(r.files))
	for i, f := range r.files {
		out[i] = r.publicURL + "/cdn/" + f
	}
	return out
}

// eta is the processing time in seconds, as the provider reports it.
func (r *request) eta() float64 { return roundSeconds(r.processing) }

func (r *request) generationTime() float64 { return roundSeconds(r.processing) }

func roundSeconds(d time.Duration) float64 { return math.Round(d.Seconds()*100) / 100 }

func (r *request) fetchURL() string {
	return r.publicURL + "/api/" + strings.ReplaceAll(r.ep.FetchPath, "{id}", r.idString())
}

// buildMeta echoes the parameters as the provider's meta does, with
// webhook and track_id always present (null when not sent) and the id as
// a string.
func (r *request) buildMeta() map[string]any {
	m := maps.Clone(r.params)
	if m == nil {
		m = map[string]any{}
	}
	for _, k := range []string{"webhook", "track_id"} {
		if _, ok := m[k]; !ok {
			m[k] = nil
		}
	}
	m["id"] = r.idString()
	return m
}

// trainingID derives a 10-character id like the provider's "F5jvdzGnYi"
// from the request id. Multiplying by a constant coprime to 62^10 is a
// bijection modulo 62^10, so distinct ids never collide.
func trainingID(n int64) string {
	const (
		alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
		modulus  = 839299365868340224 // 62^10
		mult     = 0x5DEECE66D
	)
	hi, lo := bits.Mul64(uint64(n), mult)
	v := bits.Rem64(hi, lo, modulus)
	var b [10]byte
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = alphabet[v%62]
		v /= 62
	}
	return string(b[:])
}

// validationMessage returns the provider-style message for the first
// missing required field, or "" when params are complete.
func validationMessage(ep modelslab.Endpoint, params map[string]any) string {
	err := ep.Validate(plainNumbers(params))
	if err == nil {
		return ""
	}
	var mf *modelslab.MissingFieldsError
	if errors.As(err, &mf) && len(mf.Fields) > 0 {
		return mf.Fields[0] + " is required"
	}
	return err.Error()
}

// plainNumbers returns params with json.Number values as float64, the
// form the catalogue's checks read.
func plainNumbers(params map[string]any) map[string]any {
	out := make(map[string]any, len(params))
	for k, v := range params {
		if n, ok := v.(json.Number); ok {
			if f, err := n.Float64(); err == nil {
				out[k] = f
				continue
			}
		}
		out[k] = v
	}
	return out
}

package modelslab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/genflow/genflow/contract"
)

// Status is the normalised state of a request (contract.ProviderStatus:
// the workflows carry it).
type Status = contract.ProviderStatus

// The normalised states. The provider's "error" and the workflow API's
// "cancelled" become StatusFailed; "pending", "running", "queued" and the
// training stages before model_ready become StatusProcessing; "completed"
// and "model_ready" become StatusSuccess.
const (
	StatusSuccess    = contract.ProviderSuccess
	StatusProcessing = contract.ProviderProcessing
	StatusFailed     = contract.ProviderFailed
)

// Result is one normalised reply or webhook from the provider: a submit
// reply, a fetch reply or a webhook payload, whatever its wire shape
// (contract.ProviderUpdate: the workflows carry it).
type Result = contract.ProviderUpdate

// The tolerant decoders.
var (
	_ json.Unmarshaler = (*flexString)(nil)
	_ json.Unmarshaler = (*flexFloat)(nil)
	_ json.Unmarshaler = (*flexStrings)(nil)
	_ json.Unmarshaler = (*flexMessage)(nil)
	_ json.Unmarshaler = (*flexObject)(nil)
	_ json.Unmarshaler = (*wireExecution)(nil)
)

// wireReply is the union of every reply and webhook shape seen.
type wireReply struct {
	Status         string      `json:"status"`
	ID             flexString  `json:"id"`
	TrackID        flexString  `json:"track_id"`
	Output         flexStrings `json:"output"`
	OutputURL      flexStrings `json:"output_url"`
	ProxyLinks     flexStrings `json:"proxy_links"`
	FutureLinks    flexStrings `json:"future_links"`
	Links          flexStrings `json:"links"`
	ETA            flexFloat   `json:"eta"`
	FetchResult    string      `json:"fetch_result"`
	StatusURL      flexString  `json:"status_url"`
	RequestID      flexString  `json:"request_id"`
	Message        flexMessage `json:"message"`
	Messege        flexMessage `json:"messege"`
	Error          flexMessage `json:"error"`
	GenerationTime flexFloat   `json:"generationTime"`
	Meta           flexObject  `json:"meta"`
	RetryAfter     flexFloat   `json:"retry_after"`

	// Training.
	TrainingID     flexString  `json:"training_id"`
	TrainingStatus string      `json:"training_status"`
	ModelID        flexString  `json:"model_id"`
	Logs           flexMessage `json:"logs"`

	// Workflow runs.
	Event       string         `json:"event"`
	ExecutionID flexString     `json:"execution_id"`
	WorkflowID  flexString     `json:"workflow_id"`
	Execution   *wireExecution `json:"execution"`
}

// wireExecution is the execution object of workflow runs. A value that is
// not an object (null, or the [] a PHP backend sends for an empty map)
// leaves it empty rather than failing the reply.
type wireExecution struct {
	ID         flexString  `json:"id"`
	Status     string      `json:"status"`
	OutputData flexStrings `json:"output_data"`
	Output     flexStrings `json:"output"`
	Error      flexMessage `json:"error"`
}

func (e *wireExecution) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		*e = wireExecution{}
		return nil
	}
	type plain wireExecution
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*e = wireExecution(p)
	return nil
}

func decodeWire(body []byte) (*wireReply, error) {
	var w wireReply
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("decode reply: %w", err)
	}
	return &w, nil
}

// message is the reply's message, without sigs (redactSigs): it goes
// into results and errors, and so into histories.
func (w *wireReply) message() string {
	for _, m := range []flexMessage{w.Message, w.Messege, w.Error} {
		if m != "" {
			return redactSigs(string(m))
		}
	}
	if w.Execution != nil && w.Execution.Error != "" {
		return redactSigs(string(w.Execution.Error))
	}
	return redactSigs(string(w.Logs))
}

// normalise turns a decoded wire reply into a Result for the given
// protocol. isSubmit matters for training, whose submit reply says
// "success" when the job was merely accepted.
func (w *wireReply) normalise(p Protocol, isSubmit bool) Result {
	r := Result{
		ID:             string(w.ID),
		TrackID:        string(w.TrackID),
		Output:         firstNonEmpty(w.Output, w.OutputURL, w.Links),
		ProxyLinks:     w.ProxyLinks,
		FutureLinks:    w.FutureLinks,
		ETA:            float64(w.ETA),
		FetchURL:       redactSigs(w.FetchResult),
		Message:        w.message(),
		GenerationTime: float64(w.GenerationTime),
		Meta:           w.Meta,
	}
	if r.ETA < 0 {
		r.ETA = 0
	}
	if r.Meta != nil {
		// meta echoes the request parameters: the key and the signed
		// webhook URL must not travel on into workflow histories,
		// results, notifications and logs.
		r.Meta = scrubMeta(r.Meta)
		if len(r.Meta) == 0 {
			r.Meta = nil
		}
	}
	if r.TrackID == "" {
		r.TrackID = scalarString(w.Meta["track_id"])
	}
	if r.ID == "" {
		// Replies carry the id as an integer at the top and as a string
		// in meta.id; a payload with only the latter is still followable.
		r.ID = scalarString(w.Meta["id"])
	}
	switch {
	case p == ProtocolWorkflow || w.Event != "" || w.Execution != nil || w.ExecutionID != "":
		normaliseWorkflow(&r, w)
	case p == ProtocolTraining || w.TrainingID != "" || w.TrainingStatus != "":
		normaliseTraining(&r, w, isSubmit)
	default:
		r.Status = generationStatus(w.Status)
	}
	return r
}

// followableID is the request id of a reply that has none where it
// belongs (id, meta.id, training_id, execution_id), from the places a
// provider reply may still name it: the fetch_result URL (…/fetch/{id}),
// the workflow API's status_url (…/runs/{id}), request_id at the top or
// in meta. Empty when there is none.
func (w *wireReply) followableID() string {
	if id := idAfter(w.FetchResult, "fetch"); id != "" {
		return id
	}
	if id := idAfter(string(w.StatusURL), "runs"); id != "" {
		return id
	}
	if w.RequestID != "" {
		return string(w.RequestID)
	}
	return scalarString(w.Meta["request_id"])
}

// idAfter is the last segment of the path of URL raw when the segment
// before it is parent, such as 134701497 of
// https://modelslab.com/api/v6/images/fetch/134701497.
func idAfter(raw, parent string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return ""
	}
	segs := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	if len(segs) < 2 || segs[len(segs)-2] != parent {
		return ""
	}
	id, err := url.PathUnescape(segs[len(segs)-1])
	if err != nil || strings.TrimSpace(id) == "" || checkSegment("request id", id) != nil {
		return ""
	}
	return id
}

func generationStatus(s string) Status {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "success", "completed", "succeeded":
		return StatusSuccess
	case "error", "failed", "failure", "cancelled", "canceled":
		return StatusFailed
	default:
		// "processing", "queued", "pending", "running" and anything new:
		// not terminal, so the workflow keeps waiting or polling.
		return StatusProcessing
	}
}

// Training stages, in the order the provider reports them.
const (
	trainingReady = "model_ready"
)

func normaliseTraining(r *Result, w *wireReply, isSubmit bool) {
	switch {
	case w.TrainingID != "":
		r.ID = string(w.TrainingID)
	case r.ID == "" && w.ModelID != "":
		// The training webhook carries no training_id: its model_id is
		// the training_id the submit reply gave (F5jvdzGnYi in both of
		// the provider's examples).
		r.ID = string(w.ModelID)
	}
	stage := w.TrainingStatus
	if stage == "" {
		// Legacy replies carry the stage in messege/message.
		stage = strings.TrimSpace(string(w.Messege))
		if stage == "" {
			stage = strings.TrimSpace(string(w.Message))
		}
	}
	r.Stage = stage
	switch {
	case generationStatus(w.Status) == StatusFailed || strings.Contains(stage, "failed"):
		r.Status = StatusFailed
	case stage == trainingReady:
		r.Status = StatusSuccess
		if w.ModelID != "" && len(r.Output) == 0 {
			r.Output = []string{string(w.ModelID)}
		}
	case isSubmit || stage != "" || w.Status == "success" || w.Status == "processing":
		// A submit "success" only means the job was accepted.
		r.Status = StatusProcessing
	default:
		r.Status = generationStatus(w.Status)
	}
}

func normaliseWorkflow(r *Result, w *wireReply) {
	if w.ExecutionID != "" {
		r.ID = string(w.ExecutionID)
	}
	status := w.Status
	if w.Execution != nil {
		if w.Execution.ID != "" {
			r.ID = string(w.Execution.ID)
		}
		if w.Execution.Status != "" {
			status = w.Execution.Status
		}
		if out := firstNonEmpty(w.Execution.OutputData, w.Execution.Output); len(out) > 0 {
			r.Output = out
		}
	}
	switch {
	case strings.HasSuffix(w.Event, ".failed") || strings.HasSuffix(w.Event, ".cancelled"):
		status = "failed"
	case w.Event == "workflow.completed" && status == "":
		status = "completed"
	}
	// The run endpoint answers {"status":"success","message":"Workflow
	// execution started."}: accepted, not finished. "success" is the
	// call's status, not a run status, so the stage is the run's first.
	if w.Event == "" && w.Execution == nil && status == "success" {
		status = "pending"
	}
	r.Stage = status
	r.Status = generationStatus(status)
}

func firstNonEmpty(lists ...flexStrings) []string {
	for _, l := range lists {
		if len(l) > 0 {
			return l
		}
	}
	return nil
}

// flexString decodes a JSON string, number or null into a string. The
// provider sends ids as integers in replies and as strings in meta.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*f = flexString(n.String())
	default:
		// Objects, arrays and booleans are not ids; keep nothing rather
		// than fail the whole reply.
		*f = ""
	}
	return nil
}

// flexFloat decodes a number, a numeric string, "" or null.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(strings.TrimSpace(s))
	}
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		*f = 0
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		// A non-numeric eta is not worth failing a reply for. NaN and
		// ±Inf (ParseFloat accepts "NaN" and "Inf" in strings) would
		// make the Result unencodable as JSON and overflow durations.
		*f = 0
		return nil
	}
	*f = flexFloat(v)
	return nil
}

// flexObject decodes a JSON object into a map whose numbers are
// json.Number. Anything else (null, a string, or the [] a PHP backend
// sends for an empty map) decodes to nil instead of failing the reply.
type flexObject map[string]any

func (f *flexObject) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		*f = nil
		return nil
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return err
	}
	*f = m
	return nil
}

// flexStrings decodes the provider's many output shapes: an array of
// URLs, "" (nothing yet), a single URL string, null, or an object holding
// an "output" list (workflow runs).
type flexStrings []string

func (f *flexStrings) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case 'n':
		*f = nil
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s = strings.TrimSpace(s); s != "" {
			*f = flexStrings{s}
		} else {
			*f = nil
		}
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return err
		}
		out := make(flexStrings, 0, len(items))
		for _, it := range items {
			var inner flexStrings
			if err := inner.UnmarshalJSON(it); err == nil {
				out = append(out, inner...)
			}
		}
		*f = out
	case '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(b, &obj); err != nil {
			return err
		}
		for _, k := range []string{"output", "url", "urls", "images", "output_url"} {
			if raw, ok := obj[k]; ok {
				var inner flexStrings
				if err := inner.UnmarshalJSON(raw); err == nil && len(inner) > 0 {
					*f = inner
					return nil
				}
			}
		}
		*f = nil
	default:
		*f = nil
	}
	return nil
}

// flexMessage decodes a message that is usually a string but may be a
// validation object such as {"prompt":["The prompt field is required."]}.
type flexMessage string

func (f *flexMessage) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		*f = ""
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexMessage(strings.TrimSpace(s))
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = flexMessage(flattenMessage(v))
	return nil
}

func flattenMessage(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		parts := make([]string, 0, len(v))
		for _, it := range v {
			if s := flattenMessage(it); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, "; ")
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			if s := flattenMessage(v[k]); s != "" {
				parts = append(parts, k+": "+s)
			}
		}
		return strings.Join(parts, "; ")
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// scalarString renders an id-like value (a string or a number) as a
// string; booleans, null, objects and arrays are not ids and give "".
func scalarString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(v)
	default:
		return ""
	}
}

// echoedSecrets are the request fields a reply may echo (at the top or in
// meta) that must not go further: the API key and the webhook URL, whose
// sig lets anyone who holds it complete the run.
var echoedSecrets = []string{"key", "webhook", "webhook_url"}

// scrubMeta is meta without echoedSecrets, at any depth, and with every
// string redacted by redactSigs. It changes m in place and returns it.
func scrubMeta(m map[string]any) map[string]any {
	for k, v := range m {
		if slices.Contains(echoedSecrets, strings.ToLower(k)) {
			delete(m, k)
			continue
		}
		m[k] = scrubValue(v)
	}
	return m
}

func scrubValue(v any) any {
	switch v := v.(type) {
	case string:
		return redactSigs(v)
	case map[string]any:
		return scrubMeta(v)
	case []any:
		for i := range v {
			v[i] = scrubValue(v[i])
		}
		return v
	default:
		return v
	}
}

// sigParam matches the value of a sig parameter: sig=VALUE, or
// sig%3DVALUE in a URL that is itself a parameter's value (VALUE then in
// the base64url alphabet of the webhook URL's sig).
var sigParam = regexp.MustCompile(`(?i)(sig=)[^&\s"'<>\\#]*|(sig%3D)[A-Za-z0-9_-]*`)

// redactSigs replaces the value of every sig parameter in s with
// "[redacted]". The webhook URL (…/webhooks/modelslab/{track_id}?exp=…&
// sig=…) is a bearer credential for its run: wherever the provider
// echoes it (meta, a message), its sig goes no further than the client.
// Other signed URLs lose their sig too; result URLs (output, proxy_links,
// future_links) are not passed through it.
func redactSigs(s string) string {
	if !strings.Contains(strings.ToLower(s), "sig") {
		return s
	}
	return sigParam.ReplaceAllString(s, "${1}${2}[redacted]")
}

// SameID reports whether a and b name the same provider request: equal
// strings (after trimming space), or decimal numbers of equal value. The
// provider sends a request's id as a JSON number in replies and as a
// string in meta and webhooks, so 134701497, "134701497" and
// 1.34701497e8 are one id; "abc123-def456" equals only itself.
func SameID(a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == b {
		return true
	}
	x, okA := decimal(a)
	y, okB := decimal(b)
	return okA && okB && x.Cmp(y) == 0
}

// decimal parses s as a decimal number (digits, an optional sign,
// fraction and exponent), exactly. Ids are short: a long string or a
// large exponent (1e99999999 would take big.Rat minutes) is no number.
func decimal(s string) (*big.Rat, bool) {
	if s == "" || len(s) > 64 || strings.Trim(s, "0123456789+-.eE") != "" {
		return nil, false
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 && len(strings.TrimLeft(s[i+1:], "+-")) > 2 {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

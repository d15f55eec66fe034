package modelslab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrNotWebhook is returned by ParseWebhook for a body that is valid JSON
// but not a webhook payload of any known shape.
var ErrNotWebhook = errors.New("not a ModelsLab webhook payload")

// ParseWebhook decodes a webhook body of any shape the provider sends
// (generation, training, workflow run) into a Result. It never panics; a
// body that is not a JSON object with a recognisable state is an error
// wrapping ErrNotWebhook, as is one with anything after the object.
func ParseWebhook(body []byte) (Result, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Result{}, fmt.Errorf("%w: body is not a JSON object", ErrNotWebhook)
	}
	w, err := decodeWebhook(trimmed)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrNotWebhook, err)
	}
	var p Protocol
	switch {
	case w.Event != "" || w.Execution != nil || w.ExecutionID != "":
		p = ProtocolWorkflow
	case w.TrainingStatus != "" || w.TrainingID != "":
		p = ProtocolTraining
	case knownStatus(w.Status):
		p = ProtocolGeneration
	default:
		return Result{}, fmt.Errorf("%w: no known status, event or training_status", ErrNotWebhook)
	}
	r := w.normalise(p, false)
	if p == ProtocolGeneration && w.Status == "success" && len(r.Output) == 0 && r.ID == "" {
		return Result{}, fmt.Errorf("%w: success without id or output", ErrNotWebhook)
	}
	return r, nil
}

// ErrNotWorkflowRun is returned by ParseWorkflowWebhook for a webhook
// that is not a workflow run's, or names no execution.
var ErrNotWorkflowRun = errors.New("not a ModelsLab workflow run webhook")

// ParseWorkflowWebhook decodes the body of a webhook configured on a
// ModelsLab workflow: either documented shape, the flat one
// ({"event","execution_id","workflow_id","status","output"}) or the
// nested one ({"event","workflow":{"id"},"execution":{"id","status",
// "output_data"}}). The Result's ID is the execution id, which it must
// have; workflowID is the payload's workflow id, empty when it names
// none. Anything else is an error wrapping ErrNotWebhook or
// ErrNotWorkflowRun.
func ParseWorkflowWebhook(body []byte) (r Result, workflowID string, err error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Result{}, "", fmt.Errorf("%w: body is not a JSON object", ErrNotWebhook)
	}
	w, err := decodeWebhook(trimmed)
	if err != nil {
		return Result{}, "", fmt.Errorf("%w: %v", ErrNotWebhook, err)
	}
	if w.Event == "" && w.Execution == nil && w.ExecutionID == "" {
		return Result{}, "", fmt.Errorf("%w: no event, execution or execution_id", ErrNotWorkflowRun)
	}
	r = w.normalise(ProtocolWorkflow, false)
	if strings.TrimSpace(r.ID) == "" {
		return Result{}, "", fmt.Errorf("%w: no execution id", ErrNotWorkflowRun)
	}
	r.ID = strings.TrimSpace(r.ID)
	workflowID = strings.TrimSpace(string(w.WorkflowID))
	if workflowID == "" {
		// The nested shape names the workflow in an object of its own,
		// which only this route reads.
		var nested struct {
			Workflow *struct {
				ID flexString `json:"id"`
			} `json:"workflow"`
		}
		if json.Unmarshal(trimmed, &nested) == nil && nested.Workflow != nil {
			workflowID = strings.TrimSpace(string(nested.Workflow.ID))
		}
	}
	return r, workflowID, nil
}

// decodeWebhook decodes body as decodeWire does, and refuses anything but
// white space after the JSON object: a body such as
// {"status":"processing"}{"status":"success"} is no payload the provider
// sends, and whichever half a parser took would be a guess.
func decodeWebhook(body []byte) (*wireReply, error) {
	var w wireReply
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("decode reply: %w", err)
	}
	if rest := bytes.TrimSpace(body[dec.InputOffset():]); len(rest) > 0 {
		return nil, fmt.Errorf("trailing data after the JSON object: %s", snippet(rest))
	}
	return &w, nil
}

func knownStatus(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "success", "processing", "error", "failed", "queued", "pending", "running", "completed", "cancelled":
		return true
	}
	return false
}

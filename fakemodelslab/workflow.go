package fakemodelslab

import (
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/genflow/genflow/modelslab"
)

// handleWorkflowRun serves POST v1/workflows/{workflow_id}/run. The key
// comes in the "key" header; the body holds the inputs and webhook_url.
func (s *Server) handleWorkflowRun(ep modelslab.Endpoint) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("key")
		if msg := s.authError(key); msg != "" {
			s.count(func(st *Stats) { st.InvalidKey++ })
			writeJSON(w, s.opts.AuthErrorStatus, errorBody(msg))
			return
		}
		params, err := decodeBody(r, true)
		if err != nil {
			s.count(func(st *Stats) { st.InvalidRequest++ })
			writeJSON(w, http.StatusUnprocessableEntity, errorBody("The request body must be a JSON object."))
			return
		}
		defer s.submitCall("")()
		wf := r.PathValue("workflow_id")
		check := maps.Clone(params)
		check["workflow_id"] = wf
		if msg := validationMessage(ep, check); msg != "" {
			s.count(func(st *Stats) { st.InvalidRequest++ })
			writeJSON(w, http.StatusUnprocessableEntity, errorBody(msg))
			return
		}
		n, ext, _ := outputSpec(ep, params)
		req, why := s.accept(submission{ep: ep, key: key, params: params, workflowID: wf,
			outputs: n, ext: ext, publicURL: s.publicURL(r)})
		if why != accepted {
			s.opts.Logger.Info("workflow run rejected", "workflow_id", wf, "reason", why.String())
			s.writeRejection(w, why)
			return
		}
		s.opts.Logger.Info("workflow run accepted", "workflow_id", wf, "execution_id", req.id,
			"webhook", req.webhook != "", "faults", req.faults.list())
		s.holdReply(req)
		writeJSON(w, http.StatusAccepted, map[string]any{
			"status":       "success",
			"message":      "Workflow execution started.",
			"execution_id": req.id,
			"workflow_id":  wf,
			"status_url":   req.statusURL(),
			"webhook_url":  nilIfEmpty(req.webhook),
		})
	}
}

// handleWorkflowStatus serves GET v1/workflows/{workflow_id}/runs/{id}.
func (s *Server) handleWorkflowStatus(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("key")
	if msg := s.authError(key); msg != "" {
		s.count(func(st *Stats) { st.InvalidKey++ })
		writeJSON(w, s.opts.AuthErrorStatus, errorBody(msg))
		return
	}
	s.mu.Lock()
	s.stats.Fetches++
	req := s.lookupLocked(r.PathValue("id"), key)
	if req != nil && (req.ep.Protocol != modelslab.ProtocolWorkflow || req.workflowID != r.PathValue("workflow_id")) {
		req = nil
	}
	var done bool
	var doneAt time.Time
	if req != nil {
		done, doneAt = req.done, req.doneAt
	}
	s.mu.Unlock()

	if req == nil {
		writeJSON(w, http.StatusNotFound, errorBody("Workflow execution not found."))
		return
	}
	exec := map[string]any{
		"id":           req.id,
		"workflow_id":  req.workflowID,
		"status":       "running",
		"started_at":   req.submitted.UTC().Format(time.RFC3339),
		"input_data":   req.workflowInputs(),
		"output_data":  nil,
		"completed_at": nil,
	}
	if done {
		exec["completed_at"] = doneAt.UTC().Format(time.RFC3339)
		exec["execution_time"] = roundSeconds(doneAt.Sub(req.submitted))
		if req.failed() {
			exec["status"] = "failed"
			exec["error"] = failureMessage
		} else {
			exec["status"] = "completed"
			exec["output_data"] = map[string]any{"output": req.outputs()}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"execution": exec})
}

func (r *request) statusURL() string {
	return r.publicURL + "/api/v1/workflows/" + url.PathEscape(r.workflowID) + "/runs/" + r.idString()
}

func (r *request) workflowInputs() map[string]any {
	m := maps.Clone(r.params)
	delete(m, "webhook_url")
	return m
}

// workflowWebhook is the flat run payload of the workflows docs, sent when
// a run completes or fails.
func workflowWebhook(req *request, doneAt time.Time) map[string]any {
	m := map[string]any{
		"event":        "workflow.completed",
		"execution_id": req.id,
		"workflow_id":  req.workflowID,
		"status":       "completed",
		"output":       map[string]any{"output": req.outputs()},
		"completed_at": doneAt.UTC().Format(time.RFC3339),
	}
	if req.failed() {
		m["event"] = "workflow.failed"
		m["status"] = "failed"
		m["error"] = failureMessage
		delete(m, "output")
	}
	return m
}

// workflowStaleWebhook is the "still running" payload FaultReorder sends
// after the terminal one.
func workflowStaleWebhook(req *request) map[string]any {
	return map[string]any{
		"event":        "workflow.started",
		"execution_id": req.id,
		"workflow_id":  req.workflowID,
		"status":       "running",
		"started_at":   req.submitted.UTC().Format(time.RFC3339),
	}
}

func nilIfEmpty(s string) any {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return s
}

// SetWorkflow sets up workflow id as its owner would in ModelsLab's
// workflow editor: runs accepted from now on send their webhook to
// wf.WebhookURL when it is set. A zero wf removes the setup.
func (s *Server) SetWorkflow(id string, wf Workflow) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if wf == (Workflow{}) {
		delete(s.opts.Workflows, id)
		return
	}
	s.opts.Workflows[id] = wf
}

// Workflow returns the setup of workflow id, and whether it has one.
func (s *Server) Workflow(id string) (Workflow, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wf, ok := s.opts.Workflows[id]
	return wf, ok
}

// handlePutWorkflow serves PUT /_fake/workflows/{workflow_id}: the body
// is a Workflow ({"webhook_url": "https://..."}; {} removes the setup).
func (s *Server) handlePutWorkflow(w http.ResponseWriter, r *http.Request) {
	var wf Workflow
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err == nil {
		err = json.Unmarshal(body, &wf)
	}
	if err == nil && wf.WebhookURL != "" {
		if u, perr := url.Parse(wf.WebhookURL); perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			err = errors.New("webhook_url must be an http(s) URL")
		}
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody(err.Error()))
		return
	}
	id := r.PathValue("workflow_id")
	s.SetWorkflow(id, wf)
	s.opts.Logger.Info("workflow set up", "workflow_id", id, "webhook", wf.WebhookURL != "")
	writeJSON(w, http.StatusOK, wf)
}

// handleWorkflowSchema serves GET v1/workflows/{workflow_id}, the
// workflow's details as the workflows docs show them, with its
// configured webhook_url (null without one).
func (s *Server) handleWorkflowSchema(w http.ResponseWriter, r *http.Request) {
	if msg := s.authError(r.Header.Get("key")); msg != "" {
		s.count(func(st *Stats) { st.InvalidKey++ })
		writeJSON(w, s.opts.AuthErrorStatus, errorBody(msg))
		return
	}
	id := r.PathValue("workflow_id")
	wf, _ := s.Workflow(id)
	name := wf.Name
	if name == "" {
		name = "Workflow " + id
	}
	root := s.publicURL(r) + "/api/v1/workflows/" + url.PathEscape(id)
	writeJSON(w, http.StatusOK, map[string]any{
		"status": "success",
		"workflow": map[string]any{
			"id": id, "name": name, "description": "A workflow of the fake provider.",
			"rate_limit": 10, "webhook_url": nilIfEmpty(wf.WebhookURL),
		},
		"parameters": []any{
			map[string]any{"key": "prompt", "type": "string", "required": false, "node_id": "node-1", "node_name": "Text to Image"},
		},
		"endpoints": map[string]any{"run": root + "/run", "status": root + "/runs/{id}"},
	})
}

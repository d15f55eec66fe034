package fakemodelslab

import (
	"net/http"
	"strings"
	"time"
)

// trainingStages are the provider's training_status values in order; the
// last is reached when ProcessingTime has passed.
var trainingStages = [...]string{
	"deploying_gpu",
	"training_started",
	"training_success",
	"trained_model_compressing",
	"trained_model_uploading",
	"trained_model_uploaded",
	"deploying_model",
	"model_ready",
}

// trainingFailedStage is the stage a FaultFail training ends in; the
// provider's failure stage name is undocumented.
const trainingFailedStage = "training_failed"

// trainingStage is the stage of a training request elapsed into its
// processing time; model_ready is reserved for the done request.
func trainingStage(elapsed, total time.Duration) string {
	last := len(trainingStages) - 2
	i := int(float64(elapsed) / float64(total) * float64(len(trainingStages)-1))
	return trainingStages[max(0, min(i, last))]
}

// handleTrainingStatus serves POST v3/fine_tune_status/{id} with {key}.
func (s *Server) handleTrainingStatus(w http.ResponseWriter, r *http.Request) {
	params, err := decodeBody(r, false)
	if err != nil {
		s.count(func(st *Stats) { st.InvalidRequest++ })
		writeJSON(w, http.StatusOK, invalidAPIRequest())
		return
	}
	key := scalarString(params["key"])
	if msg := s.authError(key); msg != "" {
		s.count(func(st *Stats) { st.InvalidKey++ })
		writeJSON(w, s.opts.AuthErrorStatus, errorBody(msg))
		return
	}
	id := strings.TrimSpace(r.PathValue("id"))
	s.mu.Lock()
	s.stats.Fetches++
	req := s.training[id]
	if req != nil && req.key != key {
		req = nil
	}
	var done bool
	if req != nil {
		done = req.done
	}
	s.mu.Unlock()

	switch {
	case req == nil:
		writeJSON(w, http.StatusOK, map[string]any{
			"status": "failed", "message": "Request not found", "training_status": "", "model_id": "",
		})
	case !done:
		stage := trainingStage(time.Since(req.submitted), req.processing)
		writeJSON(w, http.StatusOK, map[string]any{
			"status": "success", "training_status": stage, "model_id": req.trainingID,
			"logs": "training in progress: " + stage,
		})
	default:
		writeJSON(w, http.StatusOK, trainingWebhook(req))
	}
}

// trainingWebhook is the terminal training payload, also the done status
// reply.
func trainingWebhook(req *request) map[string]any {
	m := map[string]any{
		"status":          "success",
		"training_status": trainingStages[len(trainingStages)-1],
		"logs":            "model is ready to use",
		"model_id":        req.trainingID,
	}
	if req.failed() {
		m["status"] = "failed"
		m["training_status"] = trainingFailedStage
		m["logs"] = failureMessage
		m["message"] = failureMessage
	}
	if req.trackRaw != nil {
		m["track_id"] = req.trackRaw
	}
	return m
}

// trainingStaleWebhook is the early-stage payload FaultReorder sends
// after the terminal one.
func trainingStaleWebhook(req *request) map[string]any {
	m := map[string]any{
		"status":          "success",
		"training_status": trainingStages[1],
		"logs":            "it will take upto 25 minutes",
		"model_id":        req.trainingID,
	}
	if req.trackRaw != nil {
		m["track_id"] = req.trackRaw
	}
	return m
}

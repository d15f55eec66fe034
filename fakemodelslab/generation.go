package fakemodelslab

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/genflow/genflow/modelslab"
)

// handleSubmit serves the submit path of a generation or training
// endpoint. Validation errors are answered under HTTP 200, as the provider
// does for most of its error bodies.
func (s *Server) handleSubmit(ep modelslab.Endpoint) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		params, err := decodeBody(r, false)
		if err != nil {
			s.count(func(st *Stats) { st.InvalidRequest++ })
			writeJSON(w, http.StatusOK, invalidAPIRequest())
			return
		}
		defer s.submitCall(trackOf(ep, params))()
		key := scalarString(params["key"])
		delete(params, "key")
		if msg := s.authError(key); msg != "" {
			s.count(func(st *Stats) { st.InvalidKey++ })
			writeJSON(w, s.opts.AuthErrorStatus, errorBody(msg))
			return
		}
		n, ext, msg := outputSpec(ep, params)
		if msg == "" {
			msg = validationMessage(ep, params)
		}
		if msg == "" {
			msg = trackIDError(ep, params)
		}
		if msg != "" {
			s.count(func(st *Stats) { st.InvalidRequest++ })
			writeJSON(w, http.StatusOK, errorBody(msg))
			return
		}
		req, why := s.accept(submission{ep: ep, key: key, params: params, outputs: n, ext: ext, publicURL: s.publicURL(r)})
		if why != accepted {
			s.opts.Logger.Info("submit rejected", "endpoint", ep.Name, "track_id", scalarString(params["track_id"]), "reason", why.String())
			s.writeRejection(w, why)
			return
		}
		s.opts.Logger.Info("submit accepted", "endpoint", ep.Name, "id", req.id, "track_id", req.track,
			"webhook", req.webhook != "", "faults", req.faults.list())
		s.holdReply(req)
		switch {
		case ep.Protocol == modelslab.ProtocolTraining:
			writeJSON(w, http.StatusOK, map[string]any{
				"status":      "success",
				"messege":     trainingStages[0],
				"data":        "it will take upto 30 minutes.",
				"training_id": req.trainingID,
			})
		case req.faults.has(FaultImmediate):
			writeJSON(w, http.StatusOK, generationSuccess(req))
		default:
			writeJSON(w, http.StatusOK, generationProcessing(req))
		}
	}
}

func (r rejection) String() string {
	switch r {
	case rejectedClosed:
		return "closed"
	case rejected5xx:
		return "fault 5xx"
	case rejected429:
		return "rate limited"
	}
	return "accepted"
}

// handleFetch serves a fetch path with the id in the path and {key} in
// the body.
func (s *Server) handleFetch(fetchPath string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		params, err := decodeBody(r, false)
		if err != nil {
			s.count(func(st *Stats) { st.InvalidRequest++ })
			writeJSON(w, http.StatusOK, invalidAPIRequest())
			return
		}
		s.fetchGeneration(w, fetchPath, scalarString(params["key"]), r.PathValue("id"))
	}
}

// handleFetchByRequestID serves POST v6/images/fetch with {key,
// request_id} in the body.
func (s *Server) handleFetchByRequestID(w http.ResponseWriter, r *http.Request) {
	params, err := decodeBody(r, false)
	if err != nil {
		s.count(func(st *Stats) { st.InvalidRequest++ })
		writeJSON(w, http.StatusOK, invalidAPIRequest())
		return
	}
	id := scalarString(params["request_id"])
	if strings.TrimSpace(id) == "" {
		s.count(func(st *Stats) { st.InvalidRequest++ })
		writeJSON(w, http.StatusOK, errorBody("request_id is required"))
		return
	}
	s.fetchGeneration(w, "v6/images/fetch/{id}", scalarString(params["key"]), id)
}

// fetchGeneration answers a fetch of id. A request is found only at its
// own endpoint's fetch path and only for the key that submitted it, so a
// client that fetches at the wrong path learns it at once.
func (s *Server) fetchGeneration(w http.ResponseWriter, fetchPath, key, id string) {
	if msg := s.authError(key); msg != "" {
		s.count(func(st *Stats) { st.InvalidKey++ })
		writeJSON(w, s.opts.AuthErrorStatus, errorBody(msg))
		return
	}
	s.mu.Lock()
	s.stats.Fetches++
	req := s.lookupLocked(id, key)
	if req != nil && (req.ep.Protocol != modelslab.ProtocolGeneration || req.ep.FetchPath != fetchPath) {
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
			"status": "failed", "id": "", "message": "Request not found", "output": "", "tip": tipEnterprise,
		})
	case !done:
		writeJSON(w, http.StatusOK, map[string]any{
			"status": "processing", "messege": "try again later.", "output": "", "tip": tipEnterprise,
		})
	case req.failed():
		writeJSON(w, http.StatusOK, map[string]any{
			"status": "failed", "id": req.id, "message": failureMessage, "output": []string{}, "meta": req.meta,
			"tip": tipEnterprise,
		})
	default:
		writeJSON(w, http.StatusOK, generationSuccess(req))
	}
}

func generationProcessing(req *request) map[string]any {
	return map[string]any{
		"status":         "processing",
		"tip":            tipEnterprise,
		"tip_1":          "Your request is processing in background, you can get the result using fetch API: " + req.fetchURL(),
		"eta":            req.eta(),
		req.msgKey():     "Try to fetch request after seconds estimated",
		"webhook_status": "",
		"fetch_result":   req.fetchURL(),
		"id":             req.id,
		"output":         []string{},
		"meta":           req.meta,
		"future_links":   req.outputs(),
	}
}

func generationSuccess(req *request) map[string]any {
	return map[string]any{
		"status":         "success",
		"id":             req.id,
		"output":         req.outputs(),
		"proxy_links":    req.proxyLinks(),
		"generationTime": req.generationTime(),
		"meta":           req.meta,
	}
}

// generationWebhook is the terminal webhook: success with outputs, or the
// documented failure payload.
func generationWebhook(req *request) map[string]any {
	if req.failed() {
		return map[string]any{
			"status": "failed", "id": req.idString(), "message": failureMessage, "track_id": req.trackRaw,
		}
	}
	return map[string]any{
		"status":         "success",
		"id":             req.idString(),
		"output":         req.outputs(),
		"generationTime": req.generationTime(),
		"track_id":       req.trackRaw,
		"meta":           req.meta,
	}
}

// generationStaleWebhook is the out-of-date "processing" webhook that
// FaultReorder sends after the terminal one.
func generationStaleWebhook(req *request) map[string]any {
	return map[string]any{
		"status":     "processing",
		"id":         req.idString(),
		"eta":        req.eta(),
		req.msgKey(): "Request processing",
		"output":     []string{},
		"track_id":   req.trackRaw,
		"meta":       req.meta,
	}
}

// outputSpec returns how many output files a request makes and their
// extension, or the provider's message for an out-of-range samples.
func outputSpec(ep modelslab.Endpoint, params map[string]any) (n int, ext, msg string) {
	switch ep.Protocol {
	case modelslab.ProtocolTraining:
		return 0, "", ""
	case modelslab.ProtocolWorkflow:
		return 1, "png", ""
	}
	switch ep.Name {
	case "voice/lyrics_generator", "voice/speech_to_text":
		return 1, "txt", ""
	case "voice/create_dubbing":
		return 1, "mp4", ""
	}
	switch ep.Category {
	case modelslab.CategoryImage:
		n = 1
		if v, ok := params["samples"]; ok && v != nil && scalarString(v) != "" {
			f, err := strconv.ParseFloat(strings.TrimSpace(scalarString(v)), 64)
			if err != nil || f != float64(int(f)) || f < 1 || f > 4 {
				return 0, "", "samples must be between 1 and 4"
			}
			n = int(f)
		}
		return n, "png", ""
	case modelslab.CategoryVideo:
		if strings.EqualFold(scalarString(params["output_type"]), "gif") {
			return 1, "gif", ""
		}
		return 1, "mp4", ""
	case modelslab.CategoryAudio:
		return 1, "wav", ""
	case modelslab.Category3D:
		switch f := strings.ToLower(scalarString(params["output_format"])); f {
		case "obj", "stl", "ply", "glb":
			return 1, f, ""
		}
		return 1, "glb", ""
	default:
		return 1, "png", ""
	}
}

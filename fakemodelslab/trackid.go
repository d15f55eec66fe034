package fakemodelslab

import (
	"encoding/json"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/genflow/genflow/modelslab"
)

// trackIDError returns the provider's validation message when params
// carry a track_id of a type the endpoint's docs do not take, or "".
// The docs type track_id as an integer on the endpoints marked
// Endpoint.IntegerTrackID (voice, controlnet, image editing, face swap,
// interior); whether the real provider refuses a string there is not
// known, so the fake refuses it: a client that sends one is caught by
// the tests, not by production. A digit string passes, as a PHP
// "integer" rule lets it.
func trackIDError(ep modelslab.Endpoint, params map[string]any) string {
	v, ok := params["track_id"]
	if !ok || v == nil || !ep.IntegerTrackID {
		return ""
	}
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
	}
	if _, err := strconv.ParseInt(s, 10, 64); err != nil {
		return "The track id must be an integer."
	}
	return ""
}

// trackOf is the track_id the fake counts and matches fault rules by. An
// integer track_id that is modelslab.NumericTrackID of the webhook URL's
// last path segment (genflow's URL scheme) counts as that segment, so
// that rules and Submissions name runs the same on every endpoint.
func trackOf(ep modelslab.Endpoint, params map[string]any) string {
	track := scalarString(params["track_id"])
	if !ep.IntegerTrackID || track == "" {
		return track
	}
	u, err := url.Parse(scalarString(params["webhook"]))
	if err != nil || u.Path == "" {
		return track
	}
	if seg := path.Base(u.Path); strconv.FormatInt(modelslab.NumericTrackID(seg), 10) == track {
		return seg
	}
	return track
}

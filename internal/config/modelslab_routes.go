package config

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/genflow/genflow/modelslab"
)

// EnvModelsLabEndpointPaths moves catalogue endpoints to other paths, for
// enterprise deployments: a JSON object from endpoint name to
// {"path": ..., "fetch_path": ...}, relative to MODELSLAB_BASE_URL.
const EnvModelsLabEndpointPaths = "MODELSLAB_ENDPOINT_PATHS"

// modelsLabRoutes checks the worker's provider routing: a base URL with
// the /api/ segment (every catalogue path is relative to the API root)
// and the endpoint path overrides, with messages naming the variables.
func (r *reader) modelsLabRoutes(c *Worker) {
	if u, err := url.Parse(c.ModelsLabBaseURL); err == nil && u.Host != "" && !strings.Contains(u.Path+"/", "/api/") {
		r.fail(EnvModelsLabBaseURL, "%q has no /api/ segment: endpoint paths such as v6/images/text2img are relative "+
			"to the API root; use %s (or the fake's http://host:port/api/)", c.ModelsLabBaseURL, modelslab.DefaultBaseURL)
	}
	raw := strings.TrimSpace(r.str(EnvModelsLabEndpointPaths, ""))
	if raw == "" {
		return
	}
	var paths map[string]modelslab.EndpointPaths
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&paths); err != nil {
		r.fail(EnvModelsLabEndpointPaths, "not a JSON object of endpoint name to {\"path\",\"fetch_path\"}: %v", err)
		return
	}
	if _, err := modelslab.New(modelslab.Options{APIKey: "check", EndpointPaths: paths}); err != nil {
		r.fail(EnvModelsLabEndpointPaths, "%s", strings.TrimPrefix(err.Error(), "modelslab: "))
		return
	}
	c.ModelsLabEndpointPaths = paths
}

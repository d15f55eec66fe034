package modelslab

import (
	"fmt"
	"net/url"
	"strings"
)

// EndpointPaths moves one catalogue endpoint to other paths, relative to
// the base URL. Enterprise deployments need it: their endpoints live
// under v1/enterprise/<category>/..., and their category names are not
// the public API's (ultra_video, image_to_video_ultra, text_to_speech;
// the docs' enterprise-api pages), so swapping the base URL alone cannot
// reach them.
type EndpointPaths struct {
	// Path is the submit path, for example
	// "v1/enterprise/ultra_video/text2video". Empty keeps the
	// catalogue's.
	Path string `json:"path"`
	// FetchPath is the status path, with "{id}" for the provider's
	// request id, for example "v1/enterprise/ultra_video/fetch/{id}".
	// Empty keeps the catalogue's.
	FetchPath string `json:"fetch_path"`
}

// checkBaseURL refuses a base URL without the /api/ segment: every
// catalogue path (v6/images/text2img) is relative to the API root, so
// https://modelslab.com/ would send requests to
// https://modelslab.com/v6/images/text2img, which is not the API.
func checkBaseURL(raw string, base *url.URL) error {
	if strings.Contains(base.Path, "/api/") {
		return nil
	}
	return fmt.Errorf("modelslab: BaseURL (MODELSLAB_BASE_URL) %q has no /api/ segment: endpoint paths such as "+
		"v6/images/text2img are relative to the API root, so it would call %s; use the root ending in /api/ "+
		"(default %s, the fake's http://host:port/api/)", raw, base.JoinPath("v6/images/text2img").String(), DefaultBaseURL)
}

// checkEndpointPaths validates Options.EndpointPaths: known endpoint
// names, relative paths, a fetch path naming {id}.
func checkEndpointPaths(paths map[string]EndpointPaths) error {
	for name, p := range paths {
		ep, err := Lookup(name)
		if err != nil || ep.Name != name {
			return fmt.Errorf("modelslab: EndpointPaths: %q is not a catalogue name (run `starter endpoints`)", name)
		}
		for _, v := range []string{p.Path, p.FetchPath} {
			if strings.HasPrefix(v, "/") || strings.Contains(v, "://") || strings.Contains(v, "..") {
				return fmt.Errorf("modelslab: EndpointPaths[%q]: %q must be relative to the base URL", name, v)
			}
		}
		if p.FetchPath != "" && !strings.Contains(p.FetchPath, "{id}") {
			return fmt.Errorf("modelslab: EndpointPaths[%q]: fetch_path %q has no {id}", name, p.FetchPath)
		}
	}
	return nil
}

// route returns ep with the paths Options.EndpointPaths sets for it.
func (c *Client) route(ep Endpoint) Endpoint {
	p, ok := c.paths[ep.Name]
	if !ok {
		return ep
	}
	if p.Path != "" {
		ep.Path = p.Path
	}
	if p.FetchPath != "" {
		ep.FetchPath = p.FetchPath
	}
	return ep
}

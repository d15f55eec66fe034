// Package modelslab is a client for ModelsLab's asynchronous generation API.
//
// It holds the endpoint catalogue (every webhook-capable endpoint with its
// path, fetch path and required fields), the submit and fetch calls, the
// tolerant decoding of the provider's replies and webhooks into one
// normalised [Result], and typed errors classified as retryable or not.
//
// The decoding follows the provider as it really answers, not as its
// OpenAPI files say: an id may be a number or a string, output may be ""
// instead of [], the message field may be spelled "messege", error bodies
// arrive under HTTP 200, and a 429 carries retry_after in its body. The
// replies quoted in the project's API notes are kept as golden files in
// testdata/.
//
// Nothing here assumes the fake provider: the base URL and key come from
// [Options], and the default base URL is the real API.
package modelslab

// Package fakemodelslab is a fake ModelsLab API: a real HTTP server, in
// the manner of net/http/httptest, that tests, the local stack and compose
// run in place of the provider.
//
// [NewServer] starts one on a free local port; point the modelslab client
// at [Server.BaseURL]. [New] and [Server.Handler] serve it from a listener
// of your own, as cmd/fakemodelslab does.
//
// # What it serves
//
// Every endpoint of the modelslab catalogue ([modelslab.Endpoints]), with
// the replies the project's API notes record:
//
//   - Generation endpoints (POST /api/v6/..., /api/v5/controlnet) answer
//     "processing" with an integer id, eta, fetch_result, future_links and
//     meta echoing the parameters (track_id exactly as sent, string or
//     number). After Options.ProcessingTime the request is done: its fetch
//     path (POST with {key}, or POST /api/v6/images/fetch with {key,
//     request_id}) answers "success" with output and proxy_links, and if
//     the request carried "webhook" the success payload is POSTed to that
//     URL exactly as given, unsigned. The message field alternates between
//     the provider's two spellings, "message" and "messege", by id. Where
//     the docs type track_id as an integer (modelslab.Endpoint.IntegerTrackID:
//     voice, controlnet, image editing, face swap, interior) a track_id
//     that is not an integer is refused with "The track id must be an
//     integer.".
//   - Training (v3/lora_fine_tune, v3/fine_tune) answers the training_id;
//     v3/fine_tune_status/{id} walks the training_status stages to
//     model_ready; the webhook carries training_status and model_id.
//   - Workflow runs (POST v1/workflows/{workflow_id}/run, key in a
//     header) answer 202 with execution_id; GET .../runs/{id} answers
//     {"execution":{...}}; the webhook is the flat workflow.completed (or
//     workflow.failed) payload of the workflows docs. As on the real API
//     it goes to the webhook configured on the workflow (Options.Workflows,
//     SetWorkflow, or PUT /_fake/workflows/{workflow_id} with
//     {"webhook_url": ...}, standing for ModelsLab's workflow editor;
//     GET v1/workflows/{workflow_id} shows it); without one, to the run's
//     undocumented webhook_url body field, unless
//     Options.IgnoreRunWebhookURL.
//   - Output files are small real files under /files/<id>-<n>.<ext> (and
//     /cdn/ for proxy_links): PNG for images, image edits, face swaps and
//     interiors, MP4 or GIF for video (and MP4 for voice/create_dubbing),
//     WAV for audio, plain text for voice/lyrics_generator and
//     voice/speech_to_text, GLB, OBJ, STL or PLY for 3D. They are 404 until the
//     request is done, like the provider's future_links.
//
// Request ids are consecutive integers from [FirstRequestID], so runs are
// reproducible.
//
// # Errors
//
// Error bodies have the provider's shape {"status":"error","message":...}.
// A body that is not a JSON object, or lacks Content-Type
// application/json, gets "Invalid API Request" under HTTP 200. A missing
// required field gets "<field> is required", also under HTTP 200 (the
// provider's own OpenAPI files document validation errors under 200 as
// well as 400; 200 is the harder case for a client). A missing or unknown
// key gets "API key required" or "Invalid API key" under
// Options.AuthErrorStatus. Numbers sent as strings and booleans sent as
// "yes"/"no" are accepted, as the provider's examples send them. An
// unknown or foreign id fetches as {"status":"failed","message":"Request
// not found"}.
//
// Each key may have Options.QueueLimit generation and training requests
// processing; the next submit gets HTTP 429 with the provider's body and
// retry_after (and a Retry-After header).
//
// # Faults
//
// [Faults] injects the misbehaviour the provider documents or that a
// robust client must survive: dropped, duplicated, delayed and reordered
// webhooks, failed generations, immediate success, 5xx or 429 on
// submit, output downloads that break half-way (cut-files), output
// links that have expired while their proxy links still serve (expire),
// a submit accepted at once whose reply is held (slow-submit, for
// SubmitDelay): the window in which a client that dies submits twice,
// and webhooks that name another request's id (wrong-id).
// Rules select requests by track_id; Rates select a fixed fraction
// of track_ids by hash, which [Faults.Picks] computes in advance.
//
// # Control API
//
// For the binary: GET /_fake/healthz, GET /_fake/stats ([Stats] as JSON:
// the counters, the submit calls in flight and their track_ids, and per
// track_id the accepted submits with their times, which is how the fault
// suite counts double submissions),
// GET and PUT /_fake/faults ([Faults] as JSON, for example
// {"rules":[{"match":"lost-","fault":"drop"}],"rates":{"duplicate":0.1},"delay":"2s"}).
//
// Close cancels pending results and webhooks and waits for their
// goroutines, so tests that check for leaked goroutines pass.
package fakemodelslab

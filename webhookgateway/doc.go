// Package webhookgateway receives ModelsLab webhooks over HTTP and turns
// each one into a Temporal signal for the Generation workflow it belongs
// to.
//
// ModelsLab does not sign webhooks, so every request gets its own URL,
// built by a [Signer]:
//
//	{PUBLIC_URL}/webhooks/modelslab/{track_id}?sig={HMAC-SHA256(secret, track_id), base64url}
//
// The workflow ID is the track_id, so the path alone names the workflow;
// the path carries it because training and workflow-run payloads do not
// echo it. Secrets are a list, newest first: URLs are signed with the
// newest and any of them verifies, so a secret can be rotated while
// requests signed with the old one are still in flight.
//
// The handler built by [NewHandler] checks, in order:
//
//   - sig, in constant time, before anything else: 401 when missing,
//     forged or made for another track_id;
//   - the track_id itself (non-empty, at most [MaxTrackIDBytes] bytes,
//     printable UTF-8): 400;
//   - Content-Type application/json (parameters such as charset allowed):
//     415;
//   - the body size against Options.MaxBodyBytes: 413;
//   - the body, with [modelslab.ParseWebhook]: 400 for anything that is
//     not a webhook, and 400 when a track_id in the body differs from the
//     path.
//
// Only then does it signal the workflow ([contract.WebhookSignal] with a
// [contract.Webhook]) and answer after Temporal has accepted the signal:
// 200 {"matched":true}; 200 {"matched":false} when no open workflow has
// that ID (it finished, or never existed), since a retry cannot help;
// 503 with Retry-After when Temporal cannot be reached, so the provider
// may deliver it later. Duplicates are not filtered here: Temporal does
// not deduplicate signals, and the workflow does.
//
// A ModelsLab workflow takes one webhook URL, set on the workflow rather
// than sent per run, and its payload names the execution, not the
// track_id. Its URL is the workflow's ([webhookurl.Signer.WorkflowURL]):
//
//	{PUBLIC_URL}/webhooks/modelslab-workflow/{workflow_id}?sig=...
//
// The handler checks that sig (401), the workflow id and the payload (400,
// also for a payload naming another workflow or no execution), then reads
// the route the run's Submit recorded for the execution
// (contract.WorkflowRunRouteID, by a strongly consistent
// DescribeWorkflow through Options.Routes), waiting up to
// Options.RouteWait for one not recorded yet, and delivers the webhook to
// that run as above. No route: 200 {"matched":false}, and the run polls.
//
// GET /healthz answers 200 while the process runs. GET /readyz (200 only
// while Temporal answers its health check) and GET /metrics are served by
// NewAdminHandler, on a listener of their own (GATEWAY_ADMIN_ADDR,
// loopback by default), never beside the webhooks: the webhook listener
// faces the internet. Every other route is a JSON 404 or 405. A panic is logged with its stack and answered 500; it
// is a bug, never an answer by design, and it does not stop the process.
//
// The gateway is stateless: run as many as needed behind a load balancer.
// A reverse proxy that serves it under a path prefix (a PUBLIC_URL such as
// https://example.com/genflow) must strip the prefix before forwarding.
package webhookgateway

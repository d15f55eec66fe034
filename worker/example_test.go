package worker_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/genflow/genflow"
	"github.com/genflow/genflow/internal/localstack"
	"github.com/genflow/genflow/worker"
)

// The example runs against a local stack (a Temporal dev server, the
// fake ModelsLab, the gateway), started at its first use.
var examples = &localstack.Examples{Processing: 200 * time.Millisecond}

func TestMain(m *testing.M) { os.Exit(examples.Main(m, "worker")) }

func localStack() *localstack.Stack { return examples.Stack() }

// temporalClient is the program's Temporal client (client.Dial).
func temporalClient() client.Client { return localStack().Client }

// gatewayURL and webhookSecret are the public URL of the webhook gateway
// (cmd/gateway) and the secret it shares with the worker.
func gatewayURL() string    { return localStack().Register.PublicURL }
func webhookSecret() string { return localStack().Register.WebhookSecrets[0] }

// modelsLabKey and modelsLabURL point the worker at the fake ModelsLab:
// use your key, and leave ModelsLabBaseURL empty for the real API.
func modelsLabKey() string { return localStack().Register.ModelsLabAPIKey }
func modelsLabURL() string { return localStack().Register.ModelsLabBaseURL }

func ExampleRegister() {
	c := temporalClient()

	// A worker of the program's own, which may run its own workflows too.
	w := sdkworker.New(c, "my-app", sdkworker.Options{})
	err := worker.Register(w, c, worker.RegisterOptions{
		ModelsLabAPIKey:  modelsLabKey(),
		ModelsLabBaseURL: modelsLabURL(),
		PublicURL:        gatewayURL(),
		WebhookSecrets:   []string{webhookSecret()},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Start(); err != nil {
		log.Fatal(err)
	}
	defer w.Stop()

	// Generations started on the worker's task queue run there.
	ctx := context.Background()
	gf := genflow.NewClient(c, genflow.ClientOptions{TaskQueue: "my-app"})
	run, err := gf.StartGeneration(ctx, genflow.GenerationRequest{
		TrackID:  "example-register",
		Endpoint: "text2img",
		Params:   map[string]any{"model_id": "flux", "prompt": "a heron at dawn", "samples": 2},
	})
	if err != nil {
		log.Fatal(err)
	}
	res, err := run.Wait(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(res.Output), "outputs")
	// Output: 2 outputs
}

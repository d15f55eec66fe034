package genflow_test

import (
	"context"
	"fmt"
	"log"
	"path"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/genflow/genflow"
	"github.com/genflow/genflow/pipeline"
	"github.com/genflow/genflow/worker"
)

func ExampleClient_StartGeneration() {
	ctx := context.Background()
	c := temporalClient() // your client.Dial(...), where genflow's worker runs
	gf := genflow.NewClient(c, genflow.ClientOptions{})

	req := genflow.GenerationRequest{
		TrackID:  "example-fox",
		Endpoint: "text2img",
		Params:   map[string]any{"model_id": "flux", "prompt": "a red fox in the snow"},
	}
	run, err := gf.StartGeneration(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	res, err := run.Wait(ctx)
	if err != nil {
		f := genflow.DescribeFailure(err)
		log.Fatalf("%s: %s", f.Type, f.Message)
	}
	fmt.Println(res.TrackID, "learned by", res.LearnedBy, "outputs:", len(res.Output))

	// The same track_id again starts nothing: the run is the one above.
	again, err := gf.StartGeneration(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("already started:", again.AlreadyStarted, again.RunID == run.RunID)
	// Output:
	// example-fox learned by webhook outputs: 1
	// already started: true true
}

func ExampleClient_StartBatch() {
	ctx := context.Background()
	gf := genflow.NewClient(temporalClient(), genflow.ClientOptions{})

	var items []genflow.BatchItem
	for _, animal := range []string{"a fox", "a hare", "an owl"} {
		items = append(items, genflow.BatchItem{
			Endpoint: "text2img",
			Params:   map[string]any{"model_id": "flux", "prompt": animal},
		})
	}
	run, err := gf.StartBatch(ctx, genflow.BatchRequest{ID: "example-animals", Items: items, Concurrency: 2})
	if err != nil {
		log.Fatal(err)
	}
	res, err := run.Wait(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d of %d succeeded\n", res.Succeeded, res.Total)
	// Output: 3 of 3 succeeded
}

func ExampleClient_StartPipeline() {
	ctx := context.Background()
	gf := genflow.NewClient(temporalClient(), genflow.ClientOptions{})

	p, err := pipeline.Parse("sketch.yaml", []byte(`
name: sketch-then-paint
inputs:
  subject: {default: a lighthouse}
steps:
  sketch:
    endpoint: text2img
    params: {model_id: flux, prompt: "pencil sketch of ${inputs.subject}"}
  paint:
    endpoint: img2img
    params: {model_id: flux, prompt: oil painting, init_image: "${steps.sketch.output[0]}"}
`))
	if err != nil {
		log.Fatal(err)
	}
	plan, err := p.Plan(map[string]any{"subject": "an old mill"})
	if err != nil {
		log.Fatal(err)
	}
	run, err := gf.StartPipeline(ctx, "example-sketch", plan)
	if err != nil {
		log.Fatal(err)
	}
	res, err := run.Wait(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, path.Ext(res.Outputs["paint"][0]))
	// Output: succeeded .png
}

// illustrate is a workflow of a program's own: it runs a generation as
// its child and returns the first output's URL.
func illustrate(ctx workflow.Context, subject string) (string, error) {
	res, err := genflow.ExecuteGeneration(ctx, genflow.GenerationRequest{
		// Deterministic: the track_id derives from the workflow's ID.
		TrackID:  workflow.GetInfo(ctx).WorkflowExecution.ID + "-image",
		Endpoint: "text2img",
		Params:   map[string]any{"model_id": "flux", "prompt": subject},
	}, genflow.ChildOptions{}).Get(ctx)
	if err != nil {
		return "", err
	}
	return res.Output[0], nil
}

func ExampleExecuteGeneration() {
	ctx := context.Background()
	c := temporalClient()

	// One worker runs the program's workflow and genflow's.
	w := sdkworker.New(c, "my-app", sdkworker.Options{})
	w.RegisterWorkflow(illustrate)
	if err := worker.Register(w, c, registerOptions()); err != nil {
		log.Fatal(err)
	}
	if err := w.Start(); err != nil {
		log.Fatal(err)
	}
	defer w.Stop()

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "example-illustrate", TaskQueue: "my-app"},
		illustrate, "a lighthouse at dusk")
	if err != nil {
		log.Fatal(err)
	}
	var url string
	if err := run.Get(ctx, &url); err != nil {
		log.Fatal(err)
	}
	fmt.Println(path.Ext(url))
	// Output: .png
}

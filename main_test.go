package genflow_test

import (
	"os"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/genflow/genflow"
	"github.com/genflow/genflow/internal/localstack"
	"github.com/genflow/genflow/worker"
)

// The examples run against a local stack (a Temporal dev server, the fake
// ModelsLab, the gateway) and a genflow worker on DefaultTaskQueue, all
// started at the first example's call of temporalClient.
var (
	examples   = &localstack.Examples{Processing: 200 * time.Millisecond}
	workerOnce sync.Once
	workerErr  error
)

func TestMain(m *testing.M) { os.Exit(examples.Main(m, "genflow")) }

// temporalClient returns a client of the local stack, whose genflow
// worker polls genflow.DefaultTaskQueue: what a program gets from
// client.Dial where genflow's worker runs.
func temporalClient() client.Client {
	stack := examples.Stack()
	workerOnce.Do(func() {
		w := sdkworker.New(stack.Client, genflow.DefaultTaskQueue, sdkworker.Options{})
		if workerErr = worker.Register(w, stack.Client, stack.Register); workerErr == nil {
			workerErr = w.Start()
		}
	})
	if workerErr != nil {
		panic("genflow worker: " + workerErr.Error())
	}
	return stack.Client
}

// registerOptions are what worker.Register needs to reach the local
// stack's fake ModelsLab and gateway.
func registerOptions() worker.RegisterOptions {
	temporalClient()
	return examples.Stack().Register
}

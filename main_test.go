package genflow_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/genflow/genflow"
	"github.com/genflow/genflow/internal/localstack"
	"github.com/genflow/genflow/internal/testenv"
	"github.com/genflow/genflow/worker"
)

// The examples run against a local stack (a Temporal dev server, the fake
// ModelsLab, the gateway) and a genflow worker on DefaultTaskQueue, all
// started at the first example's call of temporalClient.
var (
	stackOnce sync.Once
	stack     *localstack.Stack
	stackErr  error
)

func TestMain(m *testing.M) {
	flag.Parse()
	if _, err := testenv.FindTemporalCLI(); errors.Is(err, testenv.ErrNoTemporalCLI) {
		// Examples cannot be skipped one by one: leave them out.
		fmt.Fprintln(os.Stderr, "genflow: examples not run:", err)
		_ = flag.Set("test.run", "^Test")
	}
	code := m.Run()
	if stack != nil {
		_ = stack.Close()
	}
	os.Exit(code)
}

// temporalClient returns a client of the local stack, whose genflow
// worker polls genflow.DefaultTaskQueue: what a program gets from
// client.Dial where genflow's worker runs.
func temporalClient() client.Client {
	stackOnce.Do(func() {
		if stack, stackErr = localstack.Start(200 * time.Millisecond); stackErr != nil {
			return
		}
		w := sdkworker.New(stack.Client, genflow.DefaultTaskQueue, sdkworker.Options{})
		if stackErr = worker.Register(w, stack.Client, stack.Register); stackErr == nil {
			stackErr = w.Start()
		}
	})
	if stackErr != nil {
		panic("local stack: " + stackErr.Error())
	}
	return stack.Client
}

// registerOptions are what worker.Register needs to reach the local
// stack's fake ModelsLab and gateway.
func registerOptions() worker.RegisterOptions {
	temporalClient()
	return stack.Register
}

// Command benchbatch measures a batch on a running local stack
// (scripts/stack.sh up): it switches the fake ModelsLab to answer every
// submit at once, runs an N-item batch through the starter's code, and
// reports wall time, items per second, the longest history of any run
// (the batch's runs and every child) and the worker's peak memory (VmHWM
// of the process in -worker-pid). scripts/bench-batch.sh drives it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/genflow/genflow/config"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/starter"
)

type report struct {
	Items          int     `json:"items"`
	Concurrency    int     `json:"concurrency"`
	PageSize       int     `json:"page_size"`
	WallSeconds    float64 `json:"wall_seconds"`
	ItemsPerSecond float64 `json:"items_per_second"`
	Succeeded      int     `json:"succeeded"`
	Failed         int     `json:"failed"`
	BatchRuns      int     `json:"batch_runs"`
	LongestBatch   int64   `json:"longest_batch_run_history"`
	LongestChild   int64   `json:"longest_child_history"`
	WorkerPeakMiB  float64 `json:"worker_peak_rss_mib"`
	WorkerStartMiB float64 `json:"worker_rss_before_mib"`
}

func main() {
	n := flag.Int("n", 1000, "items")
	conc := flag.Int("concurrency", contract.DefaultBatchConcurrency, "children in flight")
	pageSize := flag.Int("page-size", contract.DefaultBatchPageSize, "items per page and run")
	fakeURL := flag.String("fake-url", "http://127.0.0.1:8090", "the fake ModelsLab's root URL")
	workerPID := flag.Int("worker-pid", 0, "pid of the worker process, for its peak memory")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *n, *conc, *pageSize, *fakeURL, *workerPID); err != nil {
		fmt.Fprintln(os.Stderr, "benchbatch:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, n, conc, pageSize int, fakeURL string, workerPID int) error {
	cfg, err := config.LoadStarter(os.LookupEnv)
	if err != nil {
		return err
	}
	c, err := client.Dial(client.Options{HostPort: cfg.Temporal.Address, Namespace: cfg.Temporal.Namespace})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := setFaults(ctx, fakeURL, `{"rates":{"immediate":1}}`); err != nil {
		return fmt.Errorf("switch the fake to immediate answers: %w", err)
	}
	defer setFaults(context.Background(), fakeURL, `{}`)

	items := make([]contract.BatchItem, n)
	for i := range items {
		items[i] = contract.BatchItem{Endpoint: "images/text2img", Line: i + 1,
			Params: map[string]any{"model_id": "flux", "prompt": fmt.Sprintf("benchmark item %d: a lighthouse at dusk", i)}}
	}
	r := report{Items: n, Concurrency: conc, PageSize: pageSize}
	r.WorkerStartMiB = vmKiB(workerPID, "VmRSS") / 1024
	id := fmt.Sprintf("bench-%d-%d", n, time.Now().Unix())
	start := time.Now()
	if _, err := starter.StartBatch(ctx, c, cfg.Temporal, starter.BatchSpec{ID: id, Items: items, Concurrency: conc, PageSize: pageSize}); err != nil {
		return err
	}
	last := time.Now()
	res, err := starter.WaitBatch(ctx, c, id, time.Second, func(st contract.BatchState) {
		if time.Since(last) > 10*time.Second {
			last = time.Now()
			fmt.Fprintf(os.Stderr, "  %d/%d done, %.1f items/s\n", st.Done(), st.Total, st.ItemsPerSecond)
		}
	})
	if err != nil {
		return err
	}
	wall := time.Since(start)
	r.WallSeconds = wall.Seconds()
	r.ItemsPerSecond = float64(n) / wall.Seconds()
	r.Succeeded, r.Failed, r.BatchRuns = res.Succeeded, res.Failed, res.Runs
	r.WorkerPeakMiB = vmKiB(workerPID, "VmHWM") / 1024
	if r.LongestBatch, r.LongestChild, err = longestHistories(ctx, c, cfg.Temporal.Namespace, id); err != nil {
		return err
	}
	out, _ := json.MarshalIndent(r, "", "  ")
	fmt.Println(string(out))
	return nil
}

func setFaults(ctx context.Context, fakeURL, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, strings.TrimSuffix(fakeURL, "/")+"/_fake/faults", bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("PUT /_fake/faults: %s", resp.Status)
	}
	return nil
}

// longestHistories lists every run of the batch and every workflow whose
// ID starts with the batch ID (its children and page holders) and returns
// the longest history among batch runs and among the rest.
func longestHistories(ctx context.Context, c client.Client, ns, batchID string) (batchMax, childMax int64, err error) {
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: ns, PageSize: 1000, NextPageToken: token,
			Query: fmt.Sprintf("WorkflowId STARTS_WITH %q", batchID),
		})
		if err != nil {
			return 0, 0, fmt.Errorf("list workflows: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			if e.GetExecution().GetWorkflowId() == batchID {
				batchMax = max(batchMax, e.GetHistoryLength())
			} else {
				childMax = max(childMax, e.GetHistoryLength())
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			return batchMax, childMax, nil
		}
	}
}

// vmKiB reads a Vm* line of /proc/PID/status, in KiB.
func vmKiB(pid int, field string) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			v, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return v
		}
	}
	return 0
}

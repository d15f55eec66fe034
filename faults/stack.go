package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/internal/testenv"
	"github.com/genflow/genflow/webhookurl"
)

const (
	taskQueue     = "genflow-faults"
	apiKey        = "faults-key"
	webhookSecret = "faults-webhook-secret-0123456789abcdef"
)

// buildBinaries builds genflow's binaries (./cmd/...) into dir, from the
// module that holds the working directory.
func buildBinaries(ctx context.Context, dir string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(os.PathSeparator), "./cmd/...")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/...: %w\n%s", err, out)
	}
	return nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the fault suite inside the genflow module")
	}
	return filepath.Dir(mod), nil
}

// proc is one child process that can be killed and started again with the
// same command line; its output goes to a log file, appended across
// restarts.
type proc struct {
	name    string
	path    string
	args    []string
	env     []string
	logPath string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	starts int
}

// baseEnv is what every child inherits: no TEMPORAL_*, MODELSLAB_* or
// other settings of the caller's shell, only what a process needs to run.
func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		select {
		case <-p.done:
		default:
			return fmt.Errorf("%s is already running (pid %d)", p.name, p.cmd.Process.Pid)
		}
	}
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "=== faults: start %d of %s at %s\n", p.starts+1, p.name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = append(baseEnv(), p.env...)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group, so a Ctrl-C in the terminal reaches only
	// the suite, which stops its children itself; and killed with the
	// suite if the suite dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done
	p.starts++
	return nil
}

// pid is the running process's pid, or 0.
func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	select {
	case <-p.done:
		return 0
	default:
		return p.cmd.Process.Pid
	}
}

// signal sends sig and waits up to wait for the process to exit, then
// kills it.
func (p *proc) signal(sig syscall.Signal, wait time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	default:
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s: %w", p.name, err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(wait):
	}
	_ = cmd.Process.Kill()
	<-done
	if sig == syscall.SIGKILL {
		return nil
	}
	return fmt.Errorf("%s did not exit within %s of %s; killed", p.name, wait, sig)
}

// kill SIGKILLs the process and waits for it to be gone.
func (p *proc) kill() error { return p.signal(syscall.SIGKILL, 10*time.Second) }

// stop asks the process to shut down (SIGTERM) and kills it after 15 s.
func (p *proc) stop() error { return p.signal(syscall.SIGTERM, 15*time.Second) }

// rssMiB is the process's resident set (VmRSS), or 0 when it does not run.
func (p *proc) rssMiB() float64 {
	pid := p.pid()
	if pid == 0 {
		return 0
	}
	return testenv.ProcField(fmt.Sprintf("/proc/%d/status", pid), "VmRSS") / 1024
}

// cpuSeconds is the CPU time (user and system) the process has used, or
// 0 when it does not run.
func (p *proc) cpuSeconds() float64 {
	pid := p.pid()
	if pid == 0 {
		return 0
	}
	return statCPU(fmt.Sprintf("/proc/%d/stat", pid))
}

// statCPU reads utime and stime of a /proc/<pid>/stat file, in seconds
// (at the usual 100 clock ticks a second).
func statCPU(path string) float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: fields count
	// from after its closing parenthesis (field 3 is the state).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

// cpu is the CPU seconds of each part of the stack and of the suite.
func (s *stack) cpu() map[string]float64 {
	return map[string]float64{"temporal": s.temporal.cpuSeconds(), "gateway": s.gateway.cpuSeconds(),
		"worker": s.wkr.cpuSeconds(), "fake": s.fake.cpuSeconds(), "suite": statCPU("/proc/self/stat")}
}

// cpuText says how much CPU each part used between two cpu() readings.
func cpuText(before, after map[string]float64) string {
	var parts []string
	for _, k := range []string{"temporal", "gateway", "worker", "fake", "suite"} {
		parts = append(parts, fmt.Sprintf("%s %.1f", k, after[k]-before[k]))
	}
	return "CPU seconds: " + strings.Join(parts, ", ")
}

// loadAverage is the 1-minute load average: other work on the machine.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// stableAddr returns a free loopback host:port below the kernel's
// ephemeral range. testenv.LoopbackAddr picks from that range, which is
// fine for a process that binds once; but a process the suite kills
// binds its port again on restart, and meanwhile any outgoing connection
// may have taken it as its local port ("address already in use"). Ports
// below the range are never handed out that way.
func stableAddr() (string, error) {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil {
				low = v
			}
		}
	}
	const first = 20000
	if low-first < 1000 {
		return testenv.LoopbackAddr()
	}
	for range 200 {
		addr := fmt.Sprintf("127.0.0.1:%d", first+mrand.IntN(low-first))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		return addr, ln.Close()
	}
	return testenv.LoopbackAddr()
}

// stackOptions shape one scenario's stack.
type stackOptions struct {
	// fake are FAKE_* settings of the fake ModelsLab, beside the
	// suite's own (listen address, key, queue limit, retry-after 1 s).
	fake map[string]string
	// gateway and worker are further variables of those processes.
	gateway, worker map[string]string
	// dynamicConfig are further KEY=VALUE settings of the dev server.
	dynamicConfig []string
}

// stack is genflow on loopback, each part its own process: the Temporal
// dev server with its SQLite file, the fake ModelsLab, the gateway and
// the worker; plus a tap in this process between the fake's webhooks and
// the gateway that records every answer.
type stack struct {
	dir                          string
	temporal, fake, gateway, wkr *proc

	temporalAddr  string
	fakeURL       string
	gatewayURL    string
	gatewayAdmin  string // the admin listener's root URL (/readyz, /metrics)
	workerMetrics string
	tap           *tap

	c      client.Client
	cfg    config.Temporal
	signer *webhookurl.Signer
	http   *http.Client
	logf   func(string, ...any)

	// The production topology (-prod, prod.go): gateway and wkr are the
	// first of gateways and workers; proxy is Caddy in front of the
	// gateways; clientEnv the TEMPORAL_* variables every client gets.
	gateways, workers                []*proc
	proxy                            *proc
	gatewayAdmins, workerMetricsURLs []string
	clientEnv                        map[string]string
	initTook                         time.Duration
	// cpuCarry is the CPU seconds of the processes restart stopped.
	cpuCarry map[*proc]float64
	// mtlsRefusals say how the frontend refused clients without a
	// certificate.
	mtlsRefusals []string
}

// startStack starts every part in dir with the binaries in bins and waits
// until each is ready.
func startStack(ctx context.Context, bins, dir string, o stackOptions, logf func(string, ...any)) (_ *stack, err error) {
	s := &stack{dir: dir, logf: logf, http: newHTTPClient()}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	cli, err := testenv.FindTemporalCLI()
	if err != nil {
		return nil, err
	}
	ports := make([]string, 7)
	for i := range ports {
		for ports[i] == "" || slices.Contains(ports[:i], ports[i]) {
			if ports[i], err = stableAddr(); err != nil {
				return nil, err
			}
		}
	}
	port := func(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }
	s.temporalAddr = ports[0]
	args := []string{"server", "start-dev", "--headless", "--ip", "127.0.0.1",
		"--port", port(ports[0]), "--http-port", port(ports[1]), "--metrics-port", port(ports[2]),
		"--db-filename", filepath.Join(dir, "temporal.db"), "--log-level", "warn",
		// As scripts/stack.sh: SQLite in WAL mode, eager activities,
		// one task-queue partition.
		"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
		"--dynamic-config-value", "system.enableActivityEagerExecution=true",
		"--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
		"--dynamic-config-value", "matching.numTaskqueueWritePartitions=1"}
	for _, sa := range contract.SearchAttributeNames {
		args = append(args, "--search-attribute", sa)
	}
	for _, dc := range o.dynamicConfig {
		args = append(args, "--dynamic-config-value", dc)
	}
	s.temporal = &proc{name: "temporal", path: cli, args: args, logPath: filepath.Join(dir, "temporal.log")}
	if err := s.temporal.start(); err != nil {
		return nil, err
	}
	logger := slog.New(slog.DiscardHandler)
	if s.c, err = dialTemporal(ctx, s.temporalAddr, logger); err != nil {
		return nil, err
	}
	s.cfg = config.Temporal{Address: s.temporalAddr, Namespace: "default", TaskQueue: taskQueue,
		UIURL: "http://localhost:8233", Compression: config.CompressionNone}
	if err := s.waitTemporal(ctx, time.Minute); err != nil {
		return nil, err
	}

	fakeEnv := map[string]string{
		fakemodelslab.EnvListenAddr: ports[3], fakemodelslab.EnvKeys: apiKey,
		fakemodelslab.EnvQueueLimit: "100000", fakemodelslab.EnvRetryAfter: "1s",
		fakemodelslab.EnvLogFormat: "json",
	}
	for k, v := range o.fake {
		fakeEnv[k] = v
	}
	s.fakeURL = "http://" + ports[3]
	s.fake = &proc{name: "fakemodelslab", path: filepath.Join(bins, "fakemodelslab"), env: envList(fakeEnv),
		logPath: filepath.Join(dir, "fakemodelslab.log")}
	if err := s.fake.start(); err != nil {
		return nil, err
	}

	s.gatewayURL = "http://" + ports[4]
	if s.signer, err = webhookurl.NewSigner(webhookurl.Options{PublicURL: s.gatewayURL, Secrets: []string{webhookSecret}}); err != nil {
		return nil, err
	}
	if s.tap, err = newTap(s.gatewayURL); err != nil {
		return nil, err
	}
	common := map[string]string{
		config.EnvTemporalAddress: s.temporalAddr, config.EnvTaskQueue: taskQueue,
		config.EnvTemporalGRPCZip: config.CompressionNone, config.EnvWebhookSecrets: webhookSecret,
		config.EnvLogFormat: "json",
	}
	// Readiness is on the gateway's admin listener, apart from webhooks.
	s.gatewayAdmin = "http://" + ports[6]
	gwEnv := merge(common, map[string]string{config.EnvGatewayListen: ports[4], config.EnvGatewayAdmin: ports[6]}, o.gateway)
	s.gateway = &proc{name: "gateway", path: filepath.Join(bins, "gateway"), env: envList(gwEnv),
		logPath: filepath.Join(dir, "gateway.log")}
	if err := s.gateway.start(); err != nil {
		return nil, err
	}

	s.workerMetrics = "http://" + ports[5] + "/metrics"
	wEnv := merge(common, map[string]string{
		config.EnvModelsLabKey: apiKey, config.EnvModelsLabBaseURL: s.fakeURL + "/api/",
		// The worker hands out webhook URLs on the tap, which forwards
		// to the gateway and records its answers.
		config.EnvGatewayPublicURL: s.tap.URL, config.EnvWorkerMetrics: ports[5],
		// The fake's account takes 100,000 queued requests: the
		// account limiter is in the path, at its largest limit, and no
		// run waits for it (the scenarios hold hundreds of runs open at
		// the provider at once).
		config.EnvAccountQueueLimit: strconv.Itoa(config.MaxAccountQueueLimit),
	}, o.worker)
	s.wkr = &proc{name: "worker", path: filepath.Join(bins, "worker"), env: envList(wEnv),
		logPath: filepath.Join(dir, "worker.log")}
	if err := s.wkr.start(); err != nil {
		return nil, err
	}
	if err := s.waitHTTP(ctx, s.fake, s.fakeURL+"/_fake/healthz", 30*time.Second); err != nil {
		return nil, err
	}
	if err := s.waitHTTP(ctx, s.gateway, s.gatewayAdmin+"/readyz", 30*time.Second); err != nil {
		return nil, err
	}
	if err := s.waitHTTP(ctx, s.wkr, s.workerMetrics, 30*time.Second); err != nil {
		return nil, err
	}
	return s, nil
}

func merge(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

func newHTTPClient() *http.Client {
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		Proxy: nil, MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute,
		DisableCompression: true,
	}}
}

// dialTemporal connects to the dev server once it listens. The client
// reconnects by itself when the server is restarted.
func dialTemporal(ctx context.Context, addr string, logger *slog.Logger) (client.Client, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		opts := config.Temporal{Address: addr, Namespace: "default", Compression: config.CompressionNone}.
			ClientOptions(tlog.NewStructuredLogger(logger), nil)
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("Temporal dev server at %s: %w", addr, err)
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// waitTemporal waits until the dev server answers its health check.
func (s *stack) waitTemporal(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := s.c.CheckHealth(hctx, &client.CheckHealthRequest{})
		cancel()
		if err == nil {
			return nil
		}
		if s.temporal.pid() == 0 {
			return fmt.Errorf("the Temporal dev server exited; see %s", s.temporal.logPath)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Temporal not healthy after %s: %w", limit, err)
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// waitHTTP waits until url answers 200 while p runs.
func (s *stack) waitHTTP(ctx context.Context, p *proc, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		resp, err := s.http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if p.pid() == 0 {
			return fmt.Errorf("%s exited; see %s", p.name, p.logPath)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready at %s after %s; see %s", p.name, url, limit, p.logPath)
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// restartWorker starts the worker again and waits until it serves.
func (s *stack) restartWorker(ctx context.Context) error {
	if err := s.wkr.start(); err != nil {
		return err
	}
	return s.waitHTTP(ctx, s.wkr, s.workerMetrics, 30*time.Second)
}

// restartGateway starts the gateway again and waits until it serves
// (healthz: it may start while Temporal is down).
func (s *stack) restartGateway(ctx context.Context) error {
	if err := s.gateway.start(); err != nil {
		return err
	}
	return s.waitHTTP(ctx, s.gateway, s.gatewayURL+"/healthz", 30*time.Second)
}

// restartTemporal starts the dev server again on its database file and
// waits until it is healthy.
func (s *stack) restartTemporal(ctx context.Context) error {
	if err := s.temporal.start(); err != nil {
		return err
	}
	return s.waitTemporal(ctx, 2*time.Minute)
}

// fakeStats reads the fake's counters.
func (s *stack) fakeStats(ctx context.Context) (fakemodelslab.Stats, error) {
	var st fakemodelslab.Stats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.fakeURL+"/_fake/stats", nil)
	if err != nil {
		return st, err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return st, fmt.Errorf("fake stats: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("fake stats: %s", resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// setFaults replaces the fake's fault injection.
func (s *stack) setFaults(ctx context.Context, f fakemodelslab.Faults) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.fakeURL+"/_fake/faults", bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("set faults: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("set faults: %s: %s", resp.Status, body)
	}
	return nil
}

// gatewayLogHas reports whether the gateway's log holds s (across its
// restarts).
func (s *stack) gatewayLogHas(sub string) bool {
	b, err := os.ReadFile(s.gateway.logPath)
	return err == nil && bytes.Contains(b, []byte(sub))
}

// close stops everything, the workers first.
func (s *stack) close() {
	workers, gateways := s.workers, s.gateways
	if len(workers) == 0 {
		workers = []*proc{s.wkr}
	}
	if len(gateways) == 0 {
		gateways = []*proc{s.gateway}
	}
	for _, p := range slices.Concat(workers, gateways, []*proc{s.proxy, s.fake, s.temporal}) {
		if p != nil {
			if err := p.stop(); err != nil {
				s.logf("  %v", err)
			}
		}
	}
	if s.tap != nil {
		s.tap.close()
	}
	if s.c != nil {
		s.c.Close()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

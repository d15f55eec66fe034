package starter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/genflow/genflow"
	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/internal/config"
	"github.com/genflow/genflow/internal/version"
	"github.com/genflow/genflow/modelslab"
	"github.com/genflow/genflow/pipeline"
	"github.com/genflow/genflow/storage"
	"github.com/genflow/genflow/trackid"
)

// Exit codes.
const (
	ExitOK     = 0
	ExitFailed = 1 // the generation failed or could not be started
	ExitUsage  = 2 // bad flags or configuration
	// ExitConflict: the track_id (batch or pipeline ID) is used by a run
	// started with other parameters; nothing was started.
	ExitConflict = 4
	// ExitInterrupted: waiting was interrupted (Ctrl-C, SIGTERM); the
	// run goes on. 128 + SIGINT, as shells report it.
	ExitInterrupted = 130
)

// ExitError carries the process exit code out of a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit code %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

func usageErr(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// startError is the exit error of a start that failed: ExitConflict when
// the ID is used by a run with other parameters, else ExitFailed.
func startError(err error) error {
	if errors.Is(err, genflow.ErrDifferentParameters) {
		return &ExitError{Code: ExitConflict, Err: err}
	}
	return &ExitError{Code: ExitFailed, Err: err}
}

// Env is what the commands need from their surroundings.
type Env struct {
	Stdout, Stderr io.Writer
	// Lookup reads configuration variables; os.LookupEnv in the binary.
	Lookup config.Lookup
	// Dial connects to Temporal; nil means client.Dial with cfg.
	Dial func(cfg config.Temporal) (client.Client, error)
	// IsTerminal says whether Stdout is a terminal: a live status line
	// and colour; otherwise one line per change and no colour.
	IsTerminal bool

	// connFlags are --address, --namespace and --profile, which win over
	// their variables as the temporal CLI's do.
	connFlags struct{ address, namespace, profile string }
}

// lookup is Lookup with the connection flags over it.
func (env *Env) lookup(name string) (string, bool) {
	for _, f := range []struct{ name, v string }{
		{config.EnvTemporalAddress, env.connFlags.address},
		{config.EnvTemporalNamespace, env.connFlags.namespace},
		{config.EnvTemporalProfile, env.connFlags.profile},
	} {
		if name == f.name && f.v != "" {
			return f.v, true
		}
	}
	if env.Lookup == nil {
		return "", false
	}
	return env.Lookup(name)
}

// NewCommand returns the starter's root command.
func NewCommand(env Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "starter",
		Short: "Start and follow ModelsLab generations run as durable Temporal workflows",
		Long: `starter starts ModelsLab generations as Temporal workflows (one per track_id),
waits for them and prints their results and Temporal UI links.

Temporal is reached as the temporal CLI reaches it: TEMPORAL_ADDRESS,
TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE and
TEMPORAL_CONFIG_FILE (or --address, --namespace and --profile); then
TEMPORAL_TASK_QUEUE and TEMPORAL_UI_URL (see the README).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.Get().String(),
	}
	root.SetVersionTemplate("starter {{.Version}}\n")
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&env.connFlags.address, "address", "", "Temporal frontend host:port (default $TEMPORAL_ADDRESS, else the profile's, else localhost:7233)")
	pf.StringVarP(&env.connFlags.namespace, "namespace", "n", "", "Temporal namespace (default $TEMPORAL_NAMESPACE, else the profile's, else default)")
	pf.StringVar(&env.connFlags.profile, "profile", "", "profile of the Temporal config file ($TEMPORAL_CONFIG_FILE or the temporal CLI's) (default $TEMPORAL_PROFILE, else default)")
	// A flag that does not parse (an unknown flag, a bad value, a missing
	// argument) is a usage error; subcommands inherit this.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &ExitError{Code: ExitUsage, Err: err}
	})
	root.AddCommand(newGenerateCommand(&env), newEndpointsCommand(&env), newWaitCommand(&env))
	root.AddCommand(newPipelineCommand(&env))
	root.AddCommand(newBatchCommand(&env))
	root.AddCommand(newListCommand(&env), newShowCommand(&env), newResultCommand(&env), newCancelCommand(&env))
	root.AddCommand(newWorkflowWebhookURLCommand(&env))
	root.AddCommand(newGalleryCommand(&env))
	addCompletions(root, &env)
	return root
}

// Main runs the starter with args and returns the process exit code.
func Main(ctx context.Context, args []string, env Env) int {
	cmd := NewCommand(env)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil && ee.Err.Error() != "" {
			fmt.Fprintln(env.Stderr, "starter:", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintln(env.Stderr, "starter:", err)
	if strings.Contains(err.Error(), "unknown flag") || strings.Contains(err.Error(), "accepts") ||
		strings.Contains(err.Error(), "unknown command") || strings.Contains(err.Error(), "requires") {
		return ExitUsage
	}
	return ExitFailed
}

// oneID takes exactly one argument, the ID of a run, and refuses one
// that breaks the track_id rule (package trackid): no run can have it,
// and Temporal's gRPC headers could not carry it.
func oneID(cmd *cobra.Command, args []string) error {
	if err := oneArg(cmd, args); err != nil {
		return err
	}
	if err := trackid.Validate(args[0]); err != nil {
		return usageErr("%v: no run can have this ID", err)
	}
	return nil
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

func (env *Env) connect() (config.Temporal, client.Client, error) {
	cfg, err := config.LoadStarter(env.lookup)
	if err != nil {
		return config.Temporal{}, nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("configuration:\n%w", err)}
	}
	dial := env.Dial
	if dial == nil {
		dial = func(t config.Temporal) (client.Client, error) {
			return client.Dial(t.ClientOptions(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), nil))
		}
	}
	c, err := dial(cfg.Temporal)
	if err != nil {
		return cfg.Temporal, nil, &ExitError{Code: ExitFailed,
			Err: fmt.Errorf("cannot reach Temporal at %s (set %s or --address): %w", cfg.Temporal.Describe(), config.EnvTemporalAddress, err)}
	}
	return cfg.Temporal, c, nil
}

type generateFlags struct {
	prompt   string
	model    string
	params   string
	pairs    []string
	trackID  string
	owner    string
	outcome  outcomeFlags
	deadline time.Duration
	grace    time.Duration
	wait     bool
	json     bool
	priority int
}

// generateOutput is the --json document of generate and wait.
type generateOutput struct {
	Started
	Endpoint string `json:"endpoint,omitempty"`
	// Status is started, succeeded, failed, canceled or terminated;
	// running when waiting was interrupted.
	Status string                     `json:"status"`
	Result *contract.GenerationResult `json:"result,omitempty"`
	Error  *Failure                   `json:"error,omitempty"`
}

func newGenerateCommand(env *Env) *cobra.Command {
	var f generateFlags
	cmd := &cobra.Command{
		Use:   "generate ENDPOINT",
		Short: "Start one generation (a Generation workflow whose ID is its track_id)",
		Example: `  starter generate text2img --model flux --prompt "a red fox in snow" --wait
  starter generate text2img --params '{"model_id":"flux","prompt":"fox","samples":2}' --json
  starter generate voice/text_to_speech --prompt "Hello" --param voice_id=madison --param language="american english" --wait
  starter generate music_gen --prompt "lofi beat" --track-id my-song-1 --wait
  starter generate text2img --model flux --prompt "hero shot" --priority 9 --wait`,
		Args: oneArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGenerate(cmd.Context(), env, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.prompt, "prompt", "", "the prompt (sets the prompt parameter)")
	fl.StringVar(&f.model, "model", "", "the model (sets the model_id parameter)")
	fl.StringVar(&f.params, "params", "", "parameters as a JSON object, or @FILE holding one")
	fl.StringArrayVarP(&f.pairs, "param", "p", nil, "a parameter as key=value (repeatable; JSON values keep their type)")
	fl.StringVar(&f.trackID, "track-id", "", "the track_id (= workflow ID); a new one when empty. Reusing one never submits twice")
	fl.StringVar(&f.owner, "owner", "", "who asked, a free label")
	f.outcome.add(cmd, "the outcome", "the outputs")
	fl.DurationVar(&f.deadline, "deadline", 0, "deadline for the whole generation (default: by category, e.g. 30m for images)")
	fl.DurationVar(&f.grace, "poll-grace", 0, "wait past the provider's eta before polling (default 30s)")
	fl.BoolVar(&f.wait, "wait", false, "wait for the result, showing a live status line")
	fl.BoolVar(&f.json, "json", false, "print one JSON document for scripts")
	fl.IntVar(&f.priority, "priority", 0, "priority, 1 to 9, higher first, among the runs waiting for the account's queue (ACCOUNT_QUEUE_LIMIT) (default 5; batch items default to 1)")
	return cmd
}

func runGenerate(ctx context.Context, env *Env, endpoint string, f generateFlags) error {
	params, err := ParseParams(f.params, f.pairs, os.ReadFile)
	if err != nil {
		return usageErr("%v", err)
	}
	if f.prompt != "" {
		params["prompt"] = f.prompt
	}
	if f.model != "" {
		params["model_id"] = f.model
	}
	ep, err := pipeline.LookupEndpoint(endpoint)
	if err != nil {
		return usageErr("%v", err)
	}
	if err := ep.Validate(params); err != nil {
		return usageErr("%v", err)
	}
	if f.trackID != "" {
		if err := trackid.Validate(f.trackID); err != nil {
			return usageErr("--track-id: %v", err)
		}
	}
	if f.priority != 0 && (f.priority < 1 || f.priority > contract.PriorityMax) {
		return usageErr("--priority %d: want 1 (lowest) to %d (highest)", f.priority, contract.PriorityMax)
	}
	notifyURL, store, err := f.outcome.resolve(env)
	if err != nil {
		return err
	}
	tcfg, c, err := env.connect()
	if err != nil {
		return err
	}
	defer c.Close()

	in := contract.GenerationInput{Endpoint: ep.Name, Params: params, Deadline: f.deadline, PollGrace: f.grace, Owner: f.owner,
		NotifyURL: notifyURL, Store: store, Priority: f.priority}
	st, err := Start(ctx, c, tcfg, f.trackID, in)
	if err != nil {
		return startError(err)
	}
	out := generateOutput{Started: st, Endpoint: ep.Name, Status: "started"}
	if !f.json {
		if st.AlreadyStarted {
			note := ""
			if f.wait {
				note = "; following the existing run"
			}
			fmt.Fprintf(env.Stdout, "track_id %s already exists: not submitted again%s\n", st.TrackID, note)
		} else {
			fmt.Fprintf(env.Stdout, "started %s  %s\n", st.TrackID, contract.Summary(ep.Name, params))
		}
		fmt.Fprintf(env.Stdout, "  Temporal UI: %s\n", st.UIURL)
	}
	if !f.wait {
		if f.json {
			return writeJSON(env.Stdout, out)
		}
		return nil
	}
	return follow(ctx, env, c, out, f.json)
}

// follow waits for a run and prints its outcome.
func follow(ctx context.Context, env *Env, c client.Client, out generateOutput, asJSON bool) error {
	line := newStatusLine(env.Stdout, env.IsTerminal && !asJSON, asJSON)
	res, err := Wait(ctx, c, out.TrackID, out.RunID, 500*time.Millisecond, line.update)
	line.done()
	if ctx.Err() != nil {
		out.Status = StatusRunning
		return interrupted(env, "generation", out.TrackID, asJSON, out)
	}
	if err != nil {
		fail := DescribeFailure(err)
		out.Status, out.Error = failedStatus(fail), &fail
		if asJSON {
			_ = writeJSON(env.Stdout, out)
		} else {
			fmt.Fprintf(env.Stdout, "%s %s %s: %s: %s\n", line.mark(false), out.TrackID, out.Status, fail.Type, fail.Message)
		}
		return &ExitError{Code: ExitFailed}
	}
	out.Status, out.Result = "succeeded", &res
	if asJSON {
		return writeJSON(env.Stdout, out)
	}
	fmt.Fprintf(env.Stdout, "%s %s succeeded by %s in %s (%d webhook(s), %d poll(s))\n", line.mark(true), res.TrackID,
		res.LearnedBy, res.Timings.Total.Round(10*time.Millisecond), res.WebhooksReceived, res.Polls)
	printOutputs(env.Stdout, res)
	return nil
}

// printOutputs lists a generation's output links and, when it stored
// them, where each copy is or why it is not.
func printOutputs(w io.Writer, res contract.GenerationResult) {
	for _, o := range res.Output {
		fmt.Fprintf(w, "  output: %s\n", o)
	}
	printStored(w, "  ", res.Stored)
}

// printStored lists where each output's copy is, or why it is not.
func printStored(w io.Writer, indent string, stored []contract.StoredOutput) {
	for _, s := range stored {
		if s.Location == "" {
			fmt.Fprintf(w, "%snot stored: %s: %s\n", indent, s.Output, s.Error)
			continue
		}
		note := ""
		if s.Reused {
			note = ", already stored"
		}
		fmt.Fprintf(w, "%sstored: %s (%s, %s%s)\n", indent, s.Location, storage.FormatSize(s.Size), orDash(s.ContentType), note)
	}
}

// outcomeFlags are --notify and --store, which generate, batch and
// pipeline run share; $NOTIFY_URL and $STORE_OUTPUTS are their defaults.
type outcomeFlags struct {
	notify string
	store  bool
	flags  *pflag.FlagSet
}

// add registers the flags on cmd; what and outputs name what is notified
// and stored ("the batch's outcome", "every item's outputs").
func (f *outcomeFlags) add(cmd *cobra.Command, what, outputs string) {
	f.flags = cmd.Flags()
	f.flags.StringVar(&f.notify, "notify", "", "POST "+what+", signed (Standard Webhooks), to this http(s) URL (default $"+config.EnvNotifyURL+")")
	f.flags.BoolVar(&f.store, "store", false, "copy "+outputs+" to the worker's storage (STORE_URL) once done; the results list the copies (default $"+config.EnvStoreOutputs+")")
}

// resolve returns the notify URL and whether to store: the flags when
// given, else the configuration's defaults.
func (f *outcomeFlags) resolve(env *Env) (notifyURL string, store bool, err error) {
	cfg, err := env.starterConfig()
	if err != nil {
		return "", false, err
	}
	notifyURL, store = cfg.NotifyURL, cfg.StoreOutputs
	if f.notify != "" {
		u, err := url.Parse(f.notify)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", false, usageErr("--notify: %q is not an http(s) URL", f.notify)
		}
		notifyURL = f.notify
	}
	if f.flags.Changed("store") {
		store = f.store
	}
	return notifyURL, store, nil
}

// starterConfig reads the starter's configuration; an error is a usage
// error naming every bad variable.
func (env *Env) starterConfig() (config.Starter, error) {
	cfg, err := config.LoadStarter(env.lookup)
	if err != nil {
		return cfg, &ExitError{Code: ExitUsage, Err: fmt.Errorf("configuration:\n%w", err)}
	}
	return cfg, nil
}

// EndpointInfo is one endpoint in `starter endpoints --json`.
type EndpointInfo struct {
	// Name is the catalogue name, such as "images/text2img"; Short its
	// last part, which generate takes when it is unambiguous.
	Name     string `json:"name"`
	Short    string `json:"short"`
	Category string `json:"category"`
	// Required are the parameters that must be set; an entry "a|b" is
	// satisfied by either.
	Required []string `json:"required"`
	// Source names the ModelsLab docs the entry follows.
	Source string `json:"source"`
	// TrackID is the type the docs give track_id: "string", "integer"
	// (genflow sends modelslab.NumericTrackID), or "none" (training and
	// workflow runs do not take one).
	TrackID string `json:"track_id"`
}

// trackIDType is EndpointInfo.TrackID for e.
func trackIDType(e modelslab.Endpoint) string {
	switch {
	case e.Protocol != modelslab.ProtocolGeneration:
		return "none"
	case e.IntegerTrackID:
		return "integer"
	}
	return "string"
}

func newEndpointsCommand(env *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "endpoints",
		Short: "List the ModelsLab endpoints genflow knows, with their required parameters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if asJSON {
				out := []EndpointInfo{}
				for _, e := range modelslab.Endpoints() {
					req := e.Required
					if req == nil {
						req = []string{}
					}
					out = append(out, EndpointInfo{Name: e.Name, Short: e.Name[strings.LastIndexByte(e.Name, '/')+1:],
						Category: string(e.Category), Required: req, Source: e.Source, TrackID: trackIDType(e)})
				}
				return writeJSON(env.Stdout, out)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ENDPOINT\tCATEGORY\tREQUIRED\tTRACK_ID\tSOURCE")
			for _, e := range modelslab.Endpoints() {
				req := strings.ReplaceAll(strings.Join(e.Required, ", "), "|", " or ")
				if req == "" {
					req = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Name, e.Category, req, trackIDType(e), e.Source)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array for scripts")
	return cmd
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

package fakemodelslab

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Environment variables read by ParseConfig, for the fakemodelslab binary.
const (
	EnvListenAddr      = "FAKE_LISTEN_ADDR"
	EnvPublicURL       = "FAKE_PUBLIC_URL"
	EnvProcessingTime  = "FAKE_PROCESSING_TIME"
	EnvQueueLimit      = "FAKE_QUEUE_LIMIT"
	EnvRetryAfter      = "FAKE_RETRY_AFTER"
	EnvKeys            = "FAKE_KEYS"
	EnvFaultRates      = "FAKE_FAULT_RATES"
	EnvFaultDelay      = "FAKE_FAULT_DELAY"
	EnvSubmitDelay     = "FAKE_SUBMIT_DELAY"
	EnvAuthErrorStatus = "FAKE_AUTH_ERROR_STATUS"
	EnvWebhookAttempts = "FAKE_WEBHOOK_ATTEMPTS"
	EnvLogLevel        = "LOG_LEVEL"
	EnvLogFormat       = "LOG_FORMAT"
)

// DefaultListenAddr is where the binary listens by default.
const DefaultListenAddr = "127.0.0.1:8090"

// Config is the fakemodelslab binary's configuration.
type Config struct {
	// ListenAddr is host:port to listen on. Default DefaultListenAddr.
	ListenAddr string
	// Options configure the Server; Logger is left for the binary to set.
	Options Options
	// LogLevel is the minimum level logged. Default info.
	LogLevel slog.Level
	// LogJSON selects JSON log lines instead of text. Default text.
	LogJSON bool
}

// Logger builds the process logger the configuration asks for.
func (c Config) Logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// setting is one configuration value, settable by flag or variable.
type setting struct {
	flag, env, help string
}

var settings = []setting{
	{"listen", EnvListenAddr, "host:port to listen on (default " + DefaultListenAddr + ")"},
	{"public-url", EnvPublicURL, "root URL of fetch and output links (default http://<listen addr>; the request's Host when listening on all interfaces)"},
	{"processing-time", EnvProcessingTime, "time from submit to result, e.g. 2s (default 2s)"},
	{"queue-limit", EnvQueueLimit, "requests one key may have processing (default 5)"},
	{"retry-after", EnvRetryAfter, "retry_after of a 429, e.g. 30s (default 30s)"},
	{"keys", EnvKeys, "comma-separated valid API keys (default: any non-empty key)"},
	{"fault-rates", EnvFaultRates, "fault rates by track_id, e.g. drop=0.1,fail=0.05 (faults: " + faultNames() + ")"},
	{"fault-delay", EnvFaultDelay, "webhook delay of the delay fault (default 5s)"},
	{"submit-delay", EnvSubmitDelay, "how long the slow-submit fault holds a submit's reply (default 5s)"},
	{"auth-error-status", EnvAuthErrorStatus, "HTTP status of the invalid-key error (default 200)"},
	{"webhook-attempts", EnvWebhookAttempts, "tries per webhook delivery (default 3)"},
	{"log-level", EnvLogLevel, "debug, info, warn or error (default info)"},
	{"log-format", EnvLogFormat, "text or json (default text)"},
}

// ParseConfig reads the binary's configuration from command-line flags
// and, for flags not given, environment variables through env (os.LookupEnv
// in the binary). Errors name the flag or variable at fault. With -h it
// writes the usage to out and returns flag.ErrHelp.
func ParseConfig(args []string, env func(string) (string, bool), out io.Writer) (Config, error) {
	fs := flag.NewFlagSet("fakemodelslab", flag.ContinueOnError)
	fs.SetOutput(out)
	values := map[string]*string{}
	for _, s := range settings {
		values[s.flag] = fs.String(s.flag, "", s.help+" [$"+s.env+"]")
	}
	fs.Usage = func() {
		fmt.Fprintln(out, "Usage: fakemodelslab [flags]\n\nServes a fake ModelsLab API. Each flag falls back to the variable in brackets.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	r := &configReader{}
	get := func(flagName string) (string, string) {
		for _, s := range settings {
			if s.flag != flagName {
				continue
			}
			if given[flagName] {
				return strings.TrimSpace(*values[flagName]), "-" + flagName
			}
			v, _ := env(s.env)
			return strings.TrimSpace(v), s.env
		}
		panic("fakemodelslab: unknown setting " + flagName)
	}

	var c Config
	c.ListenAddr = r.hostPort(get("listen"))
	pub, pubName := get("public-url")
	c.Options.PublicURL = r.publicURL(c.ListenAddr, pub, pubName)
	c.Options.ProcessingTime = r.duration(get("processing-time"))
	c.Options.QueueLimit = r.positiveInt(get("queue-limit"))
	c.Options.RetryAfter = r.duration(get("retry-after"))
	if v, _ := get("keys"); v != "" {
		for _, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				c.Options.Keys = append(c.Options.Keys, k)
			}
		}
	}
	if v, name := get("fault-rates"); v != "" {
		rates, err := ParseFaultRates(v)
		if err != nil {
			r.fail(name, "%v", err)
		}
		c.Options.Faults.Rates = rates
	}
	c.Options.Faults.Delay = r.duration(get("fault-delay"))
	c.Options.Faults.SubmitDelay = r.duration(get("submit-delay"))
	if v, name := get("auth-error-status"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 200 || n > 599 {
			r.fail(name, "%q is not an HTTP status from 200 to 599", v)
		}
		c.Options.AuthErrorStatus = n
	}
	c.Options.WebhookAttempts = r.positiveInt(get("webhook-attempts"))
	if v, name := get("log-level"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			r.fail(name, "%q is not one of debug, info, warn, error", v)
		}
	}
	if v, name := get("log-format"); v != "" {
		switch strings.ToLower(v) {
		case "json":
			c.LogJSON = true
		case "text":
		default:
			r.fail(name, "%q is not text or json", v)
		}
	}
	return c, r.err()
}

type configReader struct{ errs []error }

func (r *configReader) fail(name, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
}

func (r *configReader) err() error { return errors.Join(r.errs...) }

func (r *configReader) hostPort(v, name string) string {
	if v == "" {
		return DefaultListenAddr
	}
	if _, _, err := net.SplitHostPort(v); err != nil {
		r.fail(name, "%q is not host:port", v)
	}
	return v
}

// publicURL defaults to http://<listen addr>, or to "" (the request's
// Host) when the listen host is unspecified, as in a container.
func (r *configReader) publicURL(listen, v, name string) string {
	if v == "" {
		host, _, err := net.SplitHostPort(listen)
		if err != nil {
			return ""
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			return ""
		}
		return "http://" + listen
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.fail(name, "%q is not an http(s) URL", v)
	}
	return strings.TrimSuffix(v, "/")
}

// duration reads "250ms", "2s" or a bare number of seconds; "" is the
// default (zero).
func (r *configReader) duration(v, name string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n > 0 {
		return time.Duration(n * float64(time.Second))
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.fail(name, "%q is not a positive duration such as 2s", v)
		return 0
	}
	return d
}

func (r *configReader) positiveInt(v, name string) int {
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		r.fail(name, "%q is not a positive integer", v)
		return 0
	}
	return n
}

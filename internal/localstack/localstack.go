// Package localstack runs, on loopback, what a program that uses genflow
// talks to, for the examples of the public packages: a Temporal dev
// server (with genflow's search attributes), the fake ModelsLab and the
// webhook gateway. It runs no worker: the examples build their own with
// worker.Register.
package localstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/genflow/genflow/contract"
	"github.com/genflow/genflow/fakemodelslab"
	"github.com/genflow/genflow/internal/testenv"
	"github.com/genflow/genflow/webhookgateway"
	"github.com/genflow/genflow/webhookurl"
	"github.com/genflow/genflow/worker"
)

// webhookSecret signs the webhook URLs of the stack.
const webhookSecret = "localstack-webhook-secret-0123456789"

// Stack is a running dev server, fake ModelsLab and gateway.
type Stack struct {
	// Client is a client of the dev server, in namespace "default".
	Client client.Client
	// Register are the options that make worker.Register reach the fake
	// ModelsLab and the gateway.
	Register worker.RegisterOptions

	dev    *testsuite.DevServer
	fake   *fakemodelslab.Server
	stop   context.CancelFunc
	served chan error
}

// Start starts a stack. It returns an error wrapping
// testenv.ErrNoTemporalCLI when there is no Temporal CLI to run the dev
// server. The fake answers after processing, a webhook following.
func Start(processing time.Duration) (*Stack, error) {
	cli, err := testenv.FindTemporalCLI()
	if err != nil {
		return nil, err
	}
	addr, err := testenv.LoopbackAddr()
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	s := &Stack{stop: cancel}
	s.dev, err = testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:     cli,
		ClientOptions:    &client.Options{HostPort: addr, Namespace: "default", Logger: tlog.NewStructuredLogger(logger)},
		LogLevel:         "error",
		SearchAttributes: contract.SearchAttributes(),
		// Not the process's own: an example's os.Stdout is a pipe that
		// must close when the example ends, and the server outlives it.
		Stdout: io.Discard,
		Stderr: io.Discard,
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("start the Temporal dev server: %w", err)
	}
	s.Client = s.dev.Client()
	s.fake = fakemodelslab.NewServer(fakemodelslab.Options{ProcessingTime: processing, Logger: logger})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	gatewayURL := "http://" + ln.Addr().String()
	signer, err := webhookurl.NewSigner(webhookurl.Options{Secrets: []string{webhookSecret}})
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	h, err := webhookgateway.NewHandler(webhookgateway.Options{Signer: signer, Signaler: s.Client, Health: s.Client, Logger: logger})
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	s.served = make(chan error, 1)
	go func() { s.served <- webhookgateway.Serve(ctx, ln, h, logger) }()

	s.Register = worker.RegisterOptions{
		ModelsLabAPIKey:  "localstack-key",
		ModelsLabBaseURL: s.fake.BaseURL(),
		PublicURL:        gatewayURL,
		WebhookSecrets:   []string{webhookSecret},
		// The fake serves its outputs on loopback, which the outbound
		// policy refuses unless allowed.
		OutboundAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
	}
	return s, nil
}

// Close stops the stack and returns the gateway's and the dev server's
// errors.
func (s *Stack) Close() error {
	s.stop()
	var errs []error
	if s.served != nil {
		errs = append(errs, <-s.served)
	}
	if s.fake != nil {
		s.fake.Close()
	}
	if s.dev != nil {
		errs = append(errs, s.dev.Stop())
	}
	return errors.Join(errs...)
}

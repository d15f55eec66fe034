// Command starter starts ModelsLab generations as Temporal workflows and
// follows them. Run `starter --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/genflow/genflow/starter"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := starter.Main(ctx, os.Args[1:], starter.Env{
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		Lookup:     os.LookupEnv,
		IsTerminal: starter.IsTerminal(os.Stdout),
	})
	stop()
	os.Exit(code)
}

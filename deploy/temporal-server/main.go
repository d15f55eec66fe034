// Command temporal-server is the Temporal server of docker-compose.yml
// (temporalio/server 1.29.1), built from the Go module proxy for
// scripts/prod-check.sh, which runs the production topology on loopback
// without Docker. It embeds go.temporal.io/server at the version compose
// pins and does what the image's two programs do:
//
//	temporal-server start -config DIR [-env production]
//	    the server (every service), from DIR/ENV.yaml: the same config
//	    keys as the image's config_template.yaml renders (PostgreSQL
//	    persistence and visibility, TLS, the dynamic config file)
//	temporal-server sql-tool ARGS...
//	    temporal-sql-tool of the admin-tools image (create, setup-schema,
//	    update-schema --schema-name postgresql/v12/temporal, ...), with the
//	    schema files embedded in the server module
//
// It lives in a Go module of its own so that genflow's go.mod does not
// take the server's dependencies.
package main

import (
	"flag"
	"fmt"
	"os"
	_ "time/tzdata" // as the image's binary: tzdata embedded

	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/headers"
	"go.temporal.io/server/common/log"
	_ "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql" // the postgres12 plugin
	"go.temporal.io/server/temporal"
	sqltool "go.temporal.io/server/tools/sql"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "sql-tool":
		if err := sqltool.RunTool(append([]string{"temporal-sql-tool"}, os.Args[2:]...)); err != nil {
			fmt.Fprintln(os.Stderr, "temporal-sql-tool:", err)
			os.Exit(1)
		}
	case "start":
		if err := start(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "temporal-server:", err)
			os.Exit(1)
		}
	case "version":
		fmt.Println(headers.ServerVersion)
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: temporal-server start -config DIR [-env production] | sql-tool ARGS... | version")
	os.Exit(2)
}

func start(args []string) error {
	fs := flag.NewFlagSet("start", flag.ExitOnError)
	dir := fs.String("config", "config", "directory holding ENV.yaml")
	env := fs.String("env", "production", "config file name without .yaml")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.LoadConfig(*env, *dir, "")
	if err != nil {
		return fmt.Errorf("load config: %w", err)
	}
	logger := log.NewZapLogger(log.BuildZapLogger(cfg.Log))
	var dc dynamicconfig.Client = dynamicconfig.NewNoopClient()
	if cfg.DynamicConfigClient != nil {
		dc, err = dynamicconfig.NewFileBasedClient(cfg.DynamicConfigClient, logger, temporal.InterruptCh())
		if err != nil {
			return fmt.Errorf("dynamic config: %w", err)
		}
	}
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return fmt.Errorf("authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, logger)
	if err != nil {
		return fmt.Errorf("claim mapper: %w", err)
	}
	s, err := temporal.NewServer(
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithConfig(cfg),
		temporal.WithDynamicConfigClient(dc),
		temporal.WithLogger(logger),
		temporal.InterruptOn(temporal.InterruptCh()),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
	)
	if err != nil {
		return fmt.Errorf("create server: %w", err)
	}
	// Start blocks until SIGINT or SIGTERM, then stops every service.
	return s.Start()
}

// Package deploy holds genflow's deployment assets and the tests that
// check them without a Docker engine.
//
// The assets: build.sh (the build the Dockerfile runs), temporal/ (the
// schema and namespace setup scripts the admin-tools containers run),
// dynamicconfig/ (the Temporal server's dynamic config), caddy/ (the proxy
// in front of the gateways), compose.gateway-tls.yml (a compose override
// serving HTTPS from the gateway), compose.temporal-cloud.yml (one
// running against Temporal Cloud or another Temporal, with the local one
// off) and temporal-client/ (its default directory of client
// certificates, empty as shipped). The Dockerfile,
// docker-compose.yml and .env.example sit at the repository root, where
// docker build and docker compose look for them.
//
// The tests load docker-compose.yml with compose-go, the library docker
// compose itself uses, feed each service's resolved environment to the
// real configuration loaders, run build.sh and inspect the binaries it
// makes, and, when a Temporal CLI is at hand, run the setup script, the
// worker, the gateway and the healthchecks against a Temporal dev server.
// docs/deploy.md is the operator's guide.
package deploy

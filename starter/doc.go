// Package starter is the genflow command line: it starts generations as
// Temporal workflows, waits for them and prints their results and their
// Temporal UI links. cmd/starter is a thin main around NewCommand; the
// end-to-end tests drive the same code.
package starter

package localstack

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/genflow/genflow/internal/testenv"
)

// Examples is a Stack shared by one package's examples: started at its
// first use, closed when the package's tests end.
type Examples struct {
	// Processing is the fake's processing time (Start's argument).
	Processing time.Duration

	once  sync.Once
	stack *Stack
	err   error
}

// Stack returns the started stack; an example cannot fail otherwise, so
// a stack that does not start is a panic.
func (e *Examples) Stack() *Stack {
	e.once.Do(func() { e.stack, e.err = Start(e.Processing) })
	if e.err != nil {
		panic("local stack: " + e.err.Error())
	}
	return e.stack
}

// Main is a TestMain for package pkg: it runs the tests and examples, and
// closes the stack. Without a Temporal CLI the examples are left out
// (they cannot be skipped one by one) and it says so on stderr.
func (e *Examples) Main(m *testing.M, pkg string) int {
	flag.Parse()
	if _, err := testenv.FindTemporalCLI(); errors.Is(err, testenv.ErrNoTemporalCLI) {
		fmt.Fprintln(os.Stderr, pkg+": examples not run:", err)
		_ = flag.Set("test.run", "^Test")
	}
	code := m.Run()
	if e.stack != nil {
		_ = e.stack.Close()
	}
	return code
}

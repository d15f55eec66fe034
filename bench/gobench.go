package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// goBenchPackages hold the hot pure code: webhook parsing, the sig check
// and URL building, and the gateway handler around them.
var goBenchPackages = []string{"./modelslab/", "./webhookgateway/", "./webhookurl/"}

// goBenchArgs is the `go test` command run for scenario 5.
func goBenchArgs() []string {
	return append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "1"}, goBenchPackages...)
}

type goBench struct {
	Name        string
	NsPerOp     float64
	BytesPerOp  int64
	AllocsPerOp int64
}

// runGoBenchmarks runs the packages' testing.B benchmarks with `go test`
// and parses their lines.
func runGoBenchmarks() ([]goBench, error) {
	cmd := exec.Command("go", goBenchArgs()...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(goBenchArgs(), " "), err, out.String())
	}
	return parseGoBench(out.String())
}

// parseGoBench reads `go test -bench -benchmem` output lines such as
// "BenchmarkX-2   1000   1234 ns/op   56 B/op   7 allocs/op".
func parseGoBench(s string) ([]goBench, error) {
	var res []goBench
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		b := goBench{Name: f[0]}
		if i := strings.LastIndexByte(b.Name, '-'); i > 0 {
			b.Name = b.Name[:i]
		}
		for k := 2; k+1 < len(f); k += 2 {
			v := f[k]
			switch f[k+1] {
			case "ns/op":
				b.NsPerOp, _ = strconv.ParseFloat(v, 64)
			case "B/op":
				b.BytesPerOp, _ = strconv.ParseInt(v, 10, 64)
			case "allocs/op":
				b.AllocsPerOp, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		res = append(res, b)
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("no benchmark lines in the output of go test:\n%s", s)
	}
	return res, nil
}

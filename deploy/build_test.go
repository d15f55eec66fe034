package deploy_test

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"go/version"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// binaries are what deploy/build.sh makes and the images ship.
var binaries = []string{"worker", "gateway", "starter", "fakemodelslab", "healthcheck"}

var build struct {
	once sync.Once
	dir  string
	out  []byte
	err  error
}

// builtBinaries runs deploy/build.sh, the Dockerfile's build step, once
// for the whole package, and returns the directory it built into.
func builtBinaries(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skips building the images' binaries (about 2 minutes on 2 cores with a cold build cache)")
	}
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "genflow-deploy-")
		if build.err != nil {
			return
		}
		cmd := exec.Command("sh", filepath.Join(repoRoot, "deploy", "build.sh"), build.dir)
		// As in the golang image: no GOFLAGS; the script sets everything.
		cmd.Env = append(os.Environ(), "GOFLAGS=", "GOOS=linux", "GOARCH="+runtime.GOARCH)
		build.out, build.err = cmd.CombinedOutput()
	})
	require.NoError(t, build.err, "deploy/build.sh:\n%s", build.out)
	return build.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// dockerfile is the Dockerfile's instructions, continuation lines joined
// and comments dropped.
func dockerfile(t *testing.T) []string {
	t.Helper()
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(readFile(t, "Dockerfile")))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if s, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		if s := strings.Join(strings.Fields(cur.String()), " "); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	require.NoError(t, sc.Err())
	return out
}

var fromLine = regexp.MustCompile(`^FROM (?:--platform=\S+ )?(\S+) AS (\S+)$`)

// dockerfileStages lists the Dockerfile's stage names, in order.
func dockerfileStages(t *testing.T) []string {
	t.Helper()
	var stages []string
	for _, ins := range dockerfile(t) {
		if m := fromLine.FindStringSubmatch(ins); m != nil {
			stages = append(stages, m[2])
		}
	}
	return stages
}

// stage returns the instructions of one stage, FROM first.
func stage(t *testing.T, name string) []string {
	t.Helper()
	var out []string
	in := false
	for _, ins := range dockerfile(t) {
		if strings.HasPrefix(ins, "FROM ") {
			m := fromLine.FindStringSubmatch(ins)
			in = m != nil && m[2] == name
		}
		if in {
			out = append(out, ins)
		}
	}
	require.NotEmpty(t, out, "no stage %s", name)
	return out
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	instructions := dockerfile(t)
	require.Equal(t, []string{"build", "runtime", "fakemodelslab", "starter", "gateway", "worker"}, dockerfileStages(t),
		"the worker stage stays last: it is what a plain `docker build .` builds")

	t.Run("build runs deploy/build.sh and nothing else", func(t *testing.T) {
		var runs []string
		for _, ins := range stage(t, "build") {
			if strings.HasPrefix(ins, "RUN ") {
				runs = append(runs, ins)
			}
		}
		require.Len(t, runs, 2)
		require.Contains(t, runs[0], "go mod download")
		require.True(t, strings.HasSuffix(runs[1], "GOOS=$TARGETOS GOARCH=$TARGETARCH sh deploy/build.sh /out"), runs[1])
		for _, ins := range instructions {
			require.NotContains(t, ins, "go build", "flags live in deploy/build.sh, which CI runs too")
		}
		script := readFile(t, "deploy/build.sh")
		for _, b := range binaries {
			require.Contains(t, script, "./cmd/"+b)
		}
	})

	t.Run("go version follows go.mod", func(t *testing.T) {
		gomod := readFile(t, "go.mod")
		m := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(gomod)
		require.NotNil(t, m, "go.mod has a go directive")
		modGo := m[1]
		var goVersion string
		for _, ins := range instructions {
			if v, ok := strings.CutPrefix(ins, "ARG GO_VERSION="); ok {
				goVersion = v
			}
		}
		require.NotEmpty(t, goVersion)
		require.Contains(t, stage(t, "build")[0], "golang:${GO_VERSION} AS build")
		require.Equal(t, version.Lang("go"+modGo), version.Lang("go"+goVersion), "same language version as go.mod")
		require.GreaterOrEqual(t, version.Compare("go"+goVersion, "go"+modGo), 0)
		if m := regexp.MustCompile(`(?m)^toolchain (\S+)$`).FindStringSubmatch(gomod); m != nil {
			require.GreaterOrEqual(t, version.Compare("go"+goVersion, m[1]), 0, "at least go.mod's toolchain")
		}
	})

	t.Run("runtime is distroless, static, nonroot", func(t *testing.T) {
		rt := stage(t, "runtime")
		require.Equal(t, "FROM gcr.io/distroless/static-debian12:nonroot AS runtime", rt[0])
		require.Contains(t, rt, "USER 65532:65532")
		require.Contains(t, rt, "COPY --from=build /out/healthcheck /usr/local/bin/healthcheck")
		for _, b := range []string{"fakemodelslab", "starter", "gateway", "worker"} {
			st := stage(t, b)
			require.Equal(t, "FROM runtime AS "+b, st[0])
			require.Contains(t, st, "COPY --from=build /out/"+b+" /usr/local/bin/"+b)
			require.Contains(t, st, `ENTRYPOINT ["`+b+`"]`)
			for _, ins := range st {
				require.False(t, strings.HasPrefix(ins, "USER "), "%s: stays nonroot", b)
			}
		}
	})
}

func TestBuildIsStatic(t *testing.T) {
	t.Parallel()
	dir := builtBinaries(t)
	for _, b := range binaries {
		t.Run(b, func(t *testing.T) {
			p := filepath.Join(dir, b)
			f, err := elf.Open(p)
			require.NoError(t, err)
			defer f.Close()
			for _, prog := range f.Progs {
				require.NotEqual(t, elf.PT_INTERP, prog.Type, "a dynamic loader is requested")
				require.NotEqual(t, elf.PT_DYNAMIC, prog.Type, "dynamically linked")
			}
			libs, err := f.ImportedLibraries()
			require.NoError(t, err)
			require.Empty(t, libs)
			require.Nil(t, f.Section(".symtab"), "not stripped (-s)")
			require.Nil(t, f.Section(".debug_info"), "DWARF kept (-w)")

			bi, err := buildinfo.ReadFile(p)
			require.NoError(t, err)
			require.Equal(t, "github.com/genflow/genflow/cmd/"+b, bi.Path)
			settings := map[string]string{}
			for _, s := range bi.Settings {
				settings[s.Key] = s.Value
			}
			require.Equal(t, "0", settings["CGO_ENABLED"])
			require.Equal(t, "true", settings["-trimpath"]) // which keeps -ldflags out of the build info
			require.NotContains(t, settings, "vcs.revision", "reproducible: no VCS stamp")

			id, err := exec.Command("go", "tool", "buildid", p).Output()
			require.NoError(t, err)
			require.Empty(t, strings.TrimSpace(string(id)), "reproducible: no build ID (-buildid=)")

			data, err := os.ReadFile(p)
			require.NoError(t, err)
			require.False(t, bytes.Contains(data, []byte(repoRoot+"/")), "-trimpath: no build directory in the binary")
		})
	}
}

// TestBuiltBinariesRun starts each binary as the image's entrypoint would,
// on an empty environment: the ones with required settings stop at once
// and name them.
func TestBuiltBinariesRun(t *testing.T) {
	t.Parallel()
	dir := builtBinaries(t)
	tests := []struct {
		bin      string
		args     []string
		wantCode int
		wantOut  []string
	}{
		{"worker", nil, 2, []string{"MODELSLAB_API_KEY", "WEBHOOK_SECRETS"}},
		{"gateway", nil, 2, []string{"WEBHOOK_SECRETS"}},
		{"healthcheck", nil, 1, []string{"Usage: healthcheck"}},
		{"healthcheck", []string{"gateway"}, 1, []string{"cannot check", "WEBHOOK_SECRETS"}},
		{"fakemodelslab", []string{"-h"}, 0, []string{"FAKE_LISTEN_ADDR", "FAKE_FAULT_RATES"}},
		{"starter", []string{"--help"}, 0, []string{"generate"}},
	}
	for _, tt := range tests {
		t.Run(tt.bin+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(filepath.Join(dir, tt.bin), tt.args...)
			cmd.Env = []string{}
			out, err := cmd.CombinedOutput()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tt.wantCode, code, "%s", out)
			for _, s := range tt.wantOut {
				require.Contains(t, string(out), s)
			}
		})
	}
}

// TestDockerignoreKeepsTheBuildInputs checks that .dockerignore leaves in
// the build context everything deploy/build.sh compiles.
func TestDockerignoreKeepsTheBuildInputs(t *testing.T) {
	t.Parallel()
	var patterns []string
	for _, line := range strings.Split(readFile(t, ".dockerignore"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		require.False(t, strings.HasPrefix(line, "!"), "negations are not modelled here: %s", line)
		patterns = append(patterns, strings.TrimSuffix(path.Clean(line), "/"))
	}
	ignored := func(rel string) bool {
		parts := strings.Split(rel, "/")
		for _, p := range patterns {
			rest, any := strings.CutPrefix(p, "**/")
			for i := range parts {
				if i > 0 && !any {
					break
				}
				for j := i + 1; j <= len(parts); j++ {
					if ok, _ := path.Match(rest, strings.Join(parts[i:j], "/")); ok {
						return true
					}
				}
			}
		}
		return false
	}
	require.True(t, ignored(".git/config"))
	require.True(t, ignored("webhookgateway/testdata/webhooks/training.json"))
	require.True(t, ignored("config/config_test.go"))
	require.True(t, ignored(".env"))
	require.True(t, ignored("deploy/temporal-client/client.key"), "Temporal client keys stay out of the build context")

	needed := []string{"go.mod", "go.sum", "deploy/build.sh"}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{end}}{{end}}",
		"./cmd/worker", "./cmd/gateway", "./cmd/starter", "./cmd/fakemodelslab", "./cmd/healthcheck")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "GOOS=linux", "CGO_ENABLED=0")
	out, err := cmd.Output()
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		rel, err := filepath.Rel(repoRoot, fields[0])
		require.NoError(t, err)
		for _, f := range fields[1:] {
			needed = append(needed, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	require.Greater(t, len(needed), 10)
	for _, f := range needed {
		require.False(t, ignored(f), ".dockerignore drops %s, which the build needs", f)
	}
	require.False(t, slices.Contains(patterns, "deploy"), "deploy/build.sh is a build input")
}

// Package version tells which build of genflow is running, from the
// build information the Go toolchain embeds in every binary: the module
// version (a tag when built with `go install ...@vX`, "(devel)" from a
// checkout), the VCS revision and whether the tree had local changes.
package version

import (
	"runtime/debug"
	"strings"
)

// Info is one binary's build.
type Info struct {
	// Version is the main module's version: a tag such as v1.4.0, or
	// "(devel)" for a build from a checkout.
	Version string
	// Revision is the VCS commit, empty when unknown (go run, tests).
	Revision string
	// Modified is whether the checkout had uncommitted changes.
	Modified bool
	// GoVersion is the Go release that built it.
	GoVersion string
}

// Get reads the running binary's build information.
func Get() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "unknown"}
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) Info {
	i := Info{Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if i.Version == "" {
		i.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Revision = s.Value
		case "vcs.modified":
			i.Modified = s.Value == "true"
		}
	}
	return i
}

// String is the version as --version prints it and logs show it:
// "v1.4.0", or "(devel) 0bec80c5b1a2" with "+dirty" for local changes.
func (i Info) String() string {
	var b strings.Builder
	b.WriteString(i.Version)
	if i.Revision != "" {
		b.WriteString(" ")
		b.WriteString(i.Revision[:min(12, len(i.Revision))])
		if i.Modified {
			b.WriteString("+dirty")
		}
	}
	if i.GoVersion != "" {
		b.WriteString(" (" + i.GoVersion + ")")
	}
	return b.String()
}

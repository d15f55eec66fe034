package version

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFromBuildInfo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"release", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0bec80c5b1a2c3d4e5f6"}, {Key: "vcs.modified", Value: "false"}}},
			"v1.4.0 0bec80c5b1a2 (go1.26.8)"},
		{"checkout with changes", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0bec80c5b1a2c3d4e5f6"}, {Key: "vcs.modified", Value: "true"}}},
			"(devel) 0bec80c5b1a2+dirty (go1.26.8)"},
		{"go run", debug.BuildInfo{GoVersion: "go1.26.8"}, "(devel) (go1.26.8)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, fromBuildInfo(&tt.bi).String())
		})
	}
	require.NotEmpty(t, Get().Version)
}

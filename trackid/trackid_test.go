package trackid

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, id string
		wantErr  string
	}{
		{name: "plain", id: "video_001"},
		{name: "punctuation", id: "batch-7.item:3=x,y;z~!@$&'()*+[]"},
		{name: "uuid", id: "5f0c2a7e-3b1d-4c8e-9a6f-0d2b7e1c4a93"},
		{name: "inner space", id: "my run 1", wantErr: "' ' (U+0020) at byte 3"},
		{name: "slash", id: "a/b", wantErr: `'/' at byte 2`},
		{name: "query", id: "a?sig=x", wantErr: `'?' at byte 2`},
		{name: "hash", id: "a#b", wantErr: `'#'`},
		{name: "percent", id: "a%2F", wantErr: `'%'`},
		{name: "backslash", id: `a\b`, wantErr: `'\\'`},
		{name: "dot", id: ".", wantErr: "relative path"},
		{name: "dot dot", id: "..", wantErr: "relative path"},
		{name: "dots inside", id: "a..b"},
		{name: "longest", id: strings.Repeat("x", MaxLen)},
		{name: "empty", id: "", wantErr: "empty"},
		{name: "too long", id: strings.Repeat("x", MaxLen+1), wantErr: "201 bytes; at most 200"},
		{name: "non-ASCII letter", id: "ünï-1", wantErr: `'ü' (U+00FC) at byte 1`},
		{name: "emoji", id: "run-😀", wantErr: "U+1F600"},
		{name: "control", id: "run\n1", wantErr: "U+000A"},
		{name: "DEL", id: "run\x7f", wantErr: "U+007F"},
		{name: "invalid UTF-8", id: "run\xff", wantErr: "byte 0xff"},
		{name: "leading space", id: " run", wantErr: "U+0020"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Validate(tt.id)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"video_001", "ünï-1", "", " x", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if Validate(id) != nil {
			return
		}
		// What passes is ASCII a gRPC header can carry and a URL path
		// segment holds as is.
		for i := 0; i < len(id); i++ {
			if id[i] <= 0x20 || id[i] > 0x7e || strings.IndexByte(reserved, id[i]) >= 0 {
				t.Fatalf("accepted %q with byte %#x", id, id[i])
			}
		}
		if len(id) > MaxLen || (&url.URL{Path: id}).EscapedPath() == "" {
			t.Fatalf("accepted %q", id)
		}
	})
}

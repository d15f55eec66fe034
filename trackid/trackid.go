// Package trackid holds genflow's one rule for track_ids. A track_id is a
// generation's workflow ID and the last segment of its webhook URL, so it
// must be something Temporal can carry and a URL can hold: the Go SDK
// sends workflow IDs in gRPC headers, which take printable ASCII only. A
// track_id that broke that rule used to start a workflow whose every task
// failed. Everything that lets a track_id in (the starter, batch and
// pipeline files, the gateway) checks it with Validate, so no run can be
// started that genflow cannot serve.
package trackid

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLen is the longest track_id in bytes. Temporal allows longer
// workflow IDs (1,000 by default, 255 in the compose set-up); this keeps
// URLs, logs and IDs manageable, and leaves room for the suffixes a batch
// or pipeline adds to its own ID under compose's 255.
const MaxLen = 200

// reserved are the printable ASCII characters a track_id may not hold:
// they mean something in a URL path (a track_id is one path segment of
// its webhook URL) or in a shell.
const reserved = `/?#%\`

// Validate reports why id cannot be a track_id, or nil: it must be 1 to
// MaxLen bytes of printable ASCII other than the space and / ? # % \,
// and not "." or "..".
func Validate(id string) error {
	switch {
	case id == "":
		return errors.New("track_id is empty")
	case len(id) > MaxLen:
		return fmt.Errorf("track_id is %d bytes; at most %d allowed", len(id), MaxLen)
	case id == "." || id == "..":
		return fmt.Errorf("track_id %q is a relative path; URLs would resolve it away", id)
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if b <= ' ' || b > '~' {
			return fmt.Errorf("track_id %q holds %s at byte %d; only printable ASCII without spaces is allowed, "+
				"as Temporal carries workflow IDs in gRPC headers", id, describe(id, i), i+1)
		}
		if strings.IndexByte(reserved, b) >= 0 {
			return fmt.Errorf("track_id %q holds %q at byte %d; none of / ? # %% \\ is allowed", id, b, i+1)
		}
	}
	return nil
}

// describe names the character that starts at byte i of s.
func describe(s string, i int) string {
	r, size := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && size <= 1 {
		return fmt.Sprintf("the byte %#x (not UTF-8)", s[i])
	}
	return fmt.Sprintf("%q (%U)", r, r)
}

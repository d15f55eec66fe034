package modelslab

import (
	"hash/fnv"
	"strconv"
)

// maxNumericTrackID bounds NumericTrackID to 2^53-1, the largest integer
// every JSON reader (JavaScript and PHP floats included) keeps exact.
const maxNumericTrackID = 1<<53 - 1

// NumericTrackID is the track_id genflow sends, in place of trackID, to
// an endpoint whose docs type track_id as an integer
// (Endpoint.IntegerTrackID: voice, controlnet, image editing, face swap,
// interior). It is FNV-1a 64 of trackID cut to 53 bits, never 0: the
// provider echoes a number exactly, and the webhook URL's path still
// carries trackID itself, which is what routes the webhook. Two
// track_ids sharing a number would only make the echo ambiguous, never
// the routing.
func NumericTrackID(trackID string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(trackID))
	n := int64(h.Sum64() & maxNumericTrackID)
	if n == 0 {
		n = 1
	}
	return n
}

// TrackIDMatches reports whether echoed, a track_id as a provider reply
// or webhook carries it, names the run trackID: the string itself, or
// its NumericTrackID.
func TrackIDMatches(echoed, trackID string) bool {
	return echoed == trackID || echoed == strconv.FormatInt(NumericTrackID(trackID), 10)
}

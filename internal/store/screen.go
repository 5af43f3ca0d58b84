package store

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Screen is the screen video of a recording (issue 18): uploaded in byte
// ranges by the agent's screen client while the call is recorded, stored
// beside the recording's media (mediastore.Screen) and deleted with it.
type Screen struct {
	RecordingID string
	Agent       string    // who recorded it (agent id of the uploading user)
	StartedAt   time.Time // first bytes received
	EndedAt     time.Time // last bytes received (the upload's end once complete)
	Width       int       // capture resolution as the client reported it (0 = unknown)
	Height      int
	Codec       string // vp8, vp9 (from the Content-Type's codecs parameter)
	Total       int64  // the video's size once a chunk gave it, else -1
	Held        Ranges // the byte ranges received and stored
	Complete    bool   // Held covers [0, Total)
	Encrypted   bool   // stored encrypted at rest (the recording is)
	UpdatedAt   time.Time
}

// Size is the number of bytes held.
func (s *Screen) Size() int64 { return s.Held.Len() }

// Range is a byte range [Start, End] (inclusive, as in HTTP).
type Range struct{ Start, End int64 }

// Ranges is a sorted list of disjoint, non-adjacent byte ranges.
type Ranges []Range

// Add returns rs with [start, end] merged in.
func (rs Ranges) Add(start, end int64) Ranges {
	out := append(slices.Clone(rs), Range{start, end})
	slices.SortFunc(out, func(a, b Range) int {
		switch {
		case a.Start < b.Start:
			return -1
		case a.Start > b.Start:
			return 1
		}
		return 0
	})
	merged := out[:0]
	for _, r := range out {
		if n := len(merged); n > 0 && r.Start <= merged[n-1].End+1 {
			merged[n-1].End = max(merged[n-1].End, r.End)
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// Len is the number of bytes the ranges cover.
func (rs Ranges) Len() int64 {
	var n int64
	for _, r := range rs {
		n += r.End - r.Start + 1
	}
	return n
}

// Prefix is the length of the contiguous range held from byte 0.
func (rs Ranges) Prefix() int64 {
	if len(rs) == 0 || rs[0].Start != 0 {
		return 0
	}
	return rs[0].End + 1
}

// Covers reports whether rs holds every byte of [0, total).
func (rs Ranges) Covers(total int64) bool { return total > 0 && rs.Prefix() >= total }

// String is the stored form: "0-99,200-299" ("" = none).
func (rs Ranges) String() string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = strconv.FormatInt(r.Start, 10) + "-" + strconv.FormatInt(r.End, 10)
	}
	return strings.Join(parts, ",")
}

// ParseRanges reads the stored form back.
func ParseRanges(s string) (Ranges, error) {
	var rs Ranges
	if s == "" {
		return rs, nil
	}
	for _, p := range strings.Split(s, ",") {
		a, b, ok := strings.Cut(p, "-")
		start, err1 := strconv.ParseInt(a, 10, 64)
		end, err2 := strconv.ParseInt(b, 10, 64)
		if !ok || err1 != nil || err2 != nil || start < 0 || end < start {
			return nil, fmt.Errorf("byte ranges %q: %w", s, ErrInvalid)
		}
		rs = rs.Add(start, end)
	}
	return rs, nil
}

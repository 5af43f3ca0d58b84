package store

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"
)

func TestParseSort(t *testing.T) {
	tests := []struct {
		in   string
		want Sort
		ok   bool
	}{
		{"", SortStartedDesc, true},
		{"-started_at", SortStartedDesc, true},
		{"started_at", SortStartedAsc, true},
		{"-duration", SortDurationDesc, true},
		{"duration", SortDurationAsc, true},
		{"Started_at", "", false},
		{"+started_at", "", false},
		{"-duration ", "", false},
		{"newest", "", false},
	}
	for _, tt := range tests {
		got, err := ParseSort(tt.in)
		if tt.ok && (err != nil || got != tt.want) {
			t.Errorf("ParseSort(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if !tt.ok && !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseSort(%q) = %q, %v; want ErrInvalid", tt.in, got, err)
		}
	}
}

func TestSortProperties(t *testing.T) {
	tests := []struct {
		s          Sort
		byDuration bool
		desc       bool
	}{
		{"", false, true},
		{SortStartedDesc, false, true},
		{SortStartedAsc, false, false},
		{SortDurationDesc, true, true},
		{SortDurationAsc, true, false},
	}
	for _, tt := range tests {
		if tt.s.ByDuration() != tt.byDuration || tt.s.Desc() != tt.desc || !tt.s.Valid() {
			t.Errorf("%q: ByDuration %v Desc %v Valid %v; want %v %v true", tt.s, tt.s.ByDuration(), tt.s.Desc(), tt.s.Valid(), tt.byDuration, tt.desc)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	started := time.Date(2026, 11, 3, 9, 30, 15, 123_456_789, time.FixedZone("CET", 3600))
	r := Recording{ID: "01JBZ|with|bars", StartedAt: started, DurationMS: 95250}
	tests := []struct {
		sort Sort
		rec  Recording
		want Cursor
	}{
		{"", r, Cursor{Sort: SortStartedDesc, StartedAt: started.UTC(), ID: r.ID}},
		{SortStartedAsc, r, Cursor{Sort: SortStartedAsc, StartedAt: started.UTC(), ID: r.ID}},
		{SortStartedDesc, Recording{ID: "no-start"}, Cursor{Sort: SortStartedDesc, ID: "no-start"}},
		{SortDurationDesc, r, Cursor{Sort: SortDurationDesc, DurationMS: 95250, ID: r.ID}},
		{SortDurationAsc, Recording{ID: "x", DurationMS: -1}, Cursor{Sort: SortDurationAsc, DurationMS: -1, ID: "x"}},
	}
	for _, tt := range tests {
		c := CursorAfter(tt.sort, tt.rec)
		enc := c.String()
		got, err := ParseCursor(enc)
		if err != nil {
			t.Fatalf("ParseCursor(%q) of %+v: %v", enc, c, err)
		}
		if got.Sort != tt.want.Sort || !got.StartedAt.Equal(tt.want.StartedAt) || got.DurationMS != tt.want.DurationMS || got.ID != tt.want.ID {
			t.Errorf("round trip of %+v = %+v, want %+v", c, got, tt.want)
		}
		if got.StartedAt.Location() != time.UTC {
			t.Errorf("cursor time in %v, want UTC", got.StartedAt.Location())
		}
	}
}

func TestParseCursorRejects(t *testing.T) {
	raw := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, s := range []string{
		"",
		"not base64!",
		raw("garbage"),
		raw("c2|-started_at||x"),          // unknown version
		raw("c1|newest||x"),               // unknown sort
		raw("c1|||x"),                     // no sort
		raw("c1|-started_at||"),           // no id
		raw("c1|-started_at|yesterday|x"), // bad time
		raw("c1|-started_at|0001-01-01T00:00:00Z|x"),      // zero time spelled out
		raw("c1|-started_at|2026-11-03T10:30:15+01:00|x"), // not UTC: not canonical
		raw("c1|-duration|5.0|x"),                         // bad duration
		raw("c1|-duration|+5|x"),                          // not canonical
		raw("c1|-duration|05|x"),                          // not canonical
		raw("c1|-duration||x"),                            // no duration
		raw("c1|-duration|99999999999999999999|x"),        // overflow
		raw("c1|-duration|5"),                             // too few fields
		// Padded, or another alphabet.
		base64.URLEncoding.EncodeToString([]byte("c1|-duration|5|x")),
		base64.StdEncoding.EncodeToString([]byte("c1|-duration|5|x?>")),
	} {
		if c, err := ParseCursor(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseCursor(%q) = %+v, %v; want ErrInvalid", s, c, err)
		}
	}
}

// FuzzCursor: ParseCursor never panics, accepts only canonical encodings
// (decode then encode gives the input back), and every cursor made by
// CursorAfter parses to itself.
func FuzzCursor(f *testing.F) {
	f.Add("", int64(0), "01JBZ", int64(0))
	f.Add("-duration", int64(95250), "noleg-CALL-7001", int64(1_700_000_000_123_456_789))
	f.Add("started_at", int64(-1), "a|b", int64(-1))
	f.Add("duration", int64(1<<62), "x", int64(1))
	for _, c := range []Cursor{{Sort: SortStartedAsc, ID: "z"}, {Sort: SortDurationDesc, DurationMS: 7, ID: "y"}} {
		f.Add(c.String(), int64(0), "", int64(0))
	}
	f.Fuzz(func(t *testing.T, s string, duration int64, id string, unixNano int64) {
		if c, err := ParseCursor(s); err == nil {
			if c.String() != s {
				t.Fatalf("ParseCursor(%q) accepted a non-canonical form of %q", s, c.String())
			}
			if c.ID == "" || !c.Sort.Valid() || c.Sort == "" {
				t.Fatalf("ParseCursor(%q) = %+v: empty id or sort", s, c)
			}
		} else if !errors.Is(err, ErrInvalid) {
			t.Fatalf("ParseCursor(%q) = %v, want ErrInvalid", s, err)
		}
		if id == "" {
			return
		}
		var started time.Time
		if unixNano != 0 {
			started = time.Unix(0, unixNano)
		}
		for _, sort := range []Sort{SortStartedDesc, SortStartedAsc, SortDurationDesc, SortDurationAsc} {
			want := CursorAfter(sort, Recording{ID: id, StartedAt: started, DurationMS: duration})
			got, err := ParseCursor(want.String())
			if err != nil {
				t.Fatalf("ParseCursor(%+v.String()): %v", want, err)
			}
			if got.Sort != want.Sort || got.ID != want.ID || got.DurationMS != want.DurationMS || !got.StartedAt.Equal(want.StartedAt) {
				t.Fatalf("round trip of %+v = %+v", want, got)
			}
		}
	})
}

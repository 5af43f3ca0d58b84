package store_test

import (
	"testing"

	"github.com/openrec/openrec/internal/store"
)

func TestParseRanges(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		bad      bool
	}{{"", "", false}, {"0-9", "0-9", false}, {"10-19,0-9", "0-19", false}, {"0-9,20-29,5-21", "0-29", false},
		{"5-1", "", true}, {"a-b", "", true}, {"-1-3", "", true}, {"7", "", true}} {
		rs, err := store.ParseRanges(tt.in)
		if (err != nil) != tt.bad || (!tt.bad && rs.String() != tt.want) {
			t.Errorf("ParseRanges(%q) = %q, %v", tt.in, rs.String(), err)
		}
	}
}

func FuzzParseRanges(f *testing.F) {
	for _, s := range []string{"", "0-9", "0-9,20-29", "9-0", "1-2-3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := store.ParseRanges(s)
		if err != nil {
			return
		}
		back, err := store.ParseRanges(rs.String())
		if err != nil || back.String() != rs.String() {
			t.Fatalf("%q → %q → %q, %v", s, rs.String(), back.String(), err)
		}
		for i := 1; i < len(rs); i++ {
			if rs[i].Start <= rs[i-1].End+1 {
				t.Fatalf("%q: ranges not merged: %v", s, rs)
			}
		}
	})
}

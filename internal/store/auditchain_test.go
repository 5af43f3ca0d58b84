package store

import (
	"strings"
	"testing"
)

// The chain hash against values computed apart (Python's hashlib over the
// same length-prefixed encoding), and the walk over a chain with each
// kind of damage.
func TestAuditChain(t *testing.T) {
	fields := []string{"2026-12-07T09:00:00.000000000Z", "sue", "admin", "", "playback", "R1", "d", "127.0.0.1:1"}
	h1 := AuditChainHash("", fields...)
	if h1 != "99475e357ee1e7179a3818991a832a27dfbb4c5f2f7792fc8a2a74ed7861b4f4" {
		t.Fatalf("hash of the first entry = %s", h1)
	}
	if h2 := AuditChainHash(h1, "x", "y"); h2 != "25c94b149db09005f355e70a1c032ceb5c073b4410c0d27033d94fe331b18994" {
		t.Fatalf("hash of the second entry = %s", h2)
	}
	// "ab"+"c" and "a"+"bc" must differ (length prefixes).
	if AuditChainHash("", "ab", "c") == AuditChainHash("", "a", "bc") {
		t.Fatal("field boundaries do not change the hash")
	}
	type entry struct {
		id   int64
		at   string
		hash string
	}
	chain := func(n int) []entry {
		var out []entry
		prev := ""
		for i := range n {
			at := "t" + string(rune('0'+i))
			h := AuditChainHash(prev, at, "u", "r", "", "a", "", "", "")
			out = append(out, entry{int64(i + 1), at, h})
			prev = h
		}
		return out
	}
	walk := func(es []entry) AuditCheck {
		var w AuditChainWalk
		for _, e := range es {
			w.Add(e.id, e.at, "u", "r", "", "a", "", "", "", e.hash)
		}
		return w.Check
	}
	good := chain(5)
	if c := walk(good); c.Broken != 0 || c.Entries != 5 || c.HeadID != 5 || c.Head != good[4].hash {
		t.Fatalf("intact chain: %+v", c)
	}
	changed := append([]entry(nil), good...)
	changed[2].at = "tampered"
	removed := append(append([]entry(nil), good[:1]...), good[2:]...)
	unhashedInside := append([]entry(nil), good...)
	unhashedInside[3].hash = ""
	preChain := append([]entry{{0, "old", ""}}, good...)
	for _, c := range []struct {
		name      string
		es        []entry
		broken    int
		unchained int
		want      string
	}{
		{"changed", changed, 1, 0, "entry 3"},
		{"removed", removed, 1, 0, "entry 3"},
		{"no hash inside the chain", unhashedInside, 2, 0, "no hash inside the chain"},
		{"entries before the chain", preChain, 0, 1, ""},
	} {
		got := walk(c.es)
		if got.Broken != c.broken || got.Unchained != c.unchained || c.want != "" && !strings.Contains(strings.Join(got.Problems, "\n"), c.want) {
			t.Errorf("%s: %+v", c.name, got)
		}
	}
}

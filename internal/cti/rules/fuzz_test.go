package rules

import "testing"

// FuzzMask checks that parsing never panics, that a parsed mask's String()
// parses back to the same mask, and that matching never panics.
func FuzzMask(f *testing.F) {
	for _, s := range []string{
		"200?", "20??", "2*", "*2", "2*5", "2005>", ">2005", "2501=2525", "20??=30??", "20??>",
		"2000-2099", "2001,2002,7*", "agent.b*", "SIP_7??", "*", " 20?? > 30?? , ** ", "*>", "20?>>",
		"2999-2000", "20?0-2099", "Mary O'N*", "a,,b", "ÄRZTE?", "-", "1-2-3", "*-1",
	} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(2))
	}
	f.Fuzz(func(t *testing.T, s string, k uint8) {
		kind := maskKind(k % 3)
		m, err := parseMask(s, kind)
		if err != nil {
			return
		}
		canon := m.String()
		m2, err := parseMask(canon, kind)
		if err != nil {
			t.Fatalf("parseMask(%q) ok, its String %q does not parse: %v", s, canon, err)
		}
		if again := m2.String(); again != canon {
			t.Fatalf("parseMask(%q).String() = %q, re-parsed %q", s, canon, again)
		}
		if len(m2.terms) != len(m.terms) {
			t.Fatalf("%q: %d terms, re-parsed %d", s, len(m.terms), len(m2.terms))
		}
		for i := range m.terms {
			if m.terms[i] != m2.terms[i] {
				t.Fatalf("%q term %d: %+v, re-parsed %+v", s, i, m.terms[i], m2.terms[i])
			}
		}
		c := newCall(&Facts{From: s, To: []string{canon}, Parties: []string{s + "1"}})
		m.matchCall(&c)
		m.matchValue(s)
	})
}

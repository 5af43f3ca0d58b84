package rules

import (
	"errors"
	"strings"
	"testing"
)

// call is a short way to write Facts in tables: from, to, extra parties.
func callOf(from string, to []string, parties ...string) Facts {
	return Facts{From: from, To: to, Parties: parties}
}

func TestMaskMatch(t *testing.T) {
	to := func(v ...string) []string { return v }
	tests := []struct {
		mask string
		f    Facts
		want bool
	}{
		// Ranges by wildcards (seed ch. 5).
		{"200?", callOf("2000", nil), true},
		{"200?", callOf("2009", nil), true},
		{"200?", callOf("2010", nil), false},
		{"200?", callOf("200", nil), false},
		{"200?", callOf("20000", nil), false},
		{"20??", callOf("2000", nil), true},
		{"20??", callOf("2099", nil), true},
		{"20??", callOf("2100", nil), false},
		{"20??", callOf("209", nil), false},
		{"2*", callOf("2", nil), true},
		{"2*", callOf("25551234", nil), true},
		{"2*", callOf("32", nil), false},
		{"*2", callOf("2", nil), true},
		{"*2", callOf("5552", nil), true},
		{"*2", callOf("21", nil), false},
		{"2*5", callOf("25", nil), true},
		{"2*5", callOf("2345", nil), true},
		{"2*5", callOf("2346", nil), false},
		{"2*5*", callOf("2a5b", nil), true},
		{"*", Facts{}, true},
		// No direction: any party of the call, To and Parties included.
		{"2005", callOf("3000", to("2005")), true},
		{"2005", callOf("3000", to("3001"), "2005"), true},
		{"2005", callOf("3000", to("3001")), false},
		// Incoming / outgoing.
		{"2005>", callOf("2005", to("3000")), true},
		{"2005>", callOf("3000", to("2005")), false},
		{"2005>", callOf("", to("2005")), false},
		{">2005", callOf("3000", to("2005")), true},
		{">2005", callOf("3000", to("4000", "2005")), true},
		{">2005", callOf("2005", to("3000")), false},
		{">2005", callOf("3000", nil, "2005"), false},
		{"*>2005", callOf("", to("2005")), true},
		{"2005>*", callOf("2005", nil), true},
		{"20??>", callOf("2050", to("5551234")), true},
		{"20??>", callOf("2100", to("5551234")), false},
		{"20??>", callOf("5551234", to("2050")), false},
		{"20??>30??", callOf("2001", to("3001")), true},
		{"20??>30??", callOf("3001", to("2001")), false},
		{"20?? > 30??", callOf("2001", to("3001")), true},
		// Between, either direction, two different parties.
		{"2501=2525", callOf("2501", to("2525")), true},
		{"2501=2525", callOf("2525", to("2501")), true},
		{"2501=2525", callOf("2501", to("2526")), false},
		{"2501=2525", callOf("3000", to("2501"), "2525"), true},
		{"2501=2525", callOf("2501", nil), false},
		{"25??=25??", callOf("2501", to("2501")), false}, // the same party twice is one party
		{"25??=25??", callOf("2501", to("2502")), true},
		{"20??=30??", callOf("2001", to("3001")), true},
		{"20??=30??", callOf("3001", to("2001")), true},
		{"20??=30??", callOf("2001", to("2002")), false},
		// Numeric ranges: inclusive, same length only.
		{"2000-2099", callOf("2000", nil), true},
		{"2000-2099", callOf("2099", nil), true},
		{"2000-2099", callOf("2050", nil), true},
		{"2000-2099", callOf("2100", nil), false},
		{"2000-2099", callOf("1999", nil), false},
		{"2000-2099", callOf("200", nil), false},
		{"2000-2099", callOf("20000", nil), false},
		{"2000-2099", callOf("20a0", nil), false},
		{"2000-2099>", callOf("2050", to("9")), true},
		{">2000-2099", callOf("2050", to("9")), false},
		// Lists.
		{"2001,2002,7*", callOf("2002", nil), true},
		{"2001,2002,7*", callOf("7123", nil), true},
		{"2001,2002,7*", callOf("2003", nil), false},
		{" 2001 , 2002 ", callOf("2002", nil), true},
		// Alphanumeric DNs, case-insensitive.
		{"agent.b*", callOf("Agent.Bob", nil), true},
		{"agent.b*", callOf("agent.c", nil), false},
		{"SIP_7??", callOf("sip_701", nil), true},
		{"SIP_7??", callOf("SIP_7001", nil), false},
		{"+4420*", callOf("+442071234567", nil), true},
		{"ann@acme", callOf("ANN@ACME", nil), true},
		{"trunk-1", callOf("TRUNK-1", nil), true},
		{"*-1", callOf("trunk-1", nil), true},
		{"#21", callOf("#21", nil), true},
		{"ÄRZTE?", callOf("ärzte1", nil), true},
	}
	for _, tt := range tests {
		m, err := parseMask(tt.mask, numberMask)
		if err != nil {
			t.Errorf("parseMask(%q): %v", tt.mask, err)
			continue
		}
		c := newCall(&tt.f)
		if got, why := m.matchCall(&c); got != tt.want {
			t.Errorf("%q on from=%q to=%q parties=%q: got %v (%s), want %v", tt.mask, tt.f.From, tt.f.To, tt.f.Parties, got, why, tt.want)
		}
	}
}

func TestMaskParseErrors(t *testing.T) {
	tests := []struct {
		mask string
		kind maskKind
		want string // substring of the error
	}{
		{"", numberMask, "empty mask"},
		{"   ", numberMask, "empty mask"},
		{"20?>>", numberMask, `more than one ">" or "="`},
		{"a>b=c", numberMask, `more than one ">" or "="`},
		{"2501==2525", numberMask, `more than one ">" or "="`},
		{">", numberMask, `">" needs a pattern`},
		{" > ", numberMask, `">" needs a pattern`},
		{"=2525", numberMask, `"=" (calls between) needs a pattern on both sides`},
		{"2501=", numberMask, `"=" (calls between) needs a pattern on both sides`},
		{"2000-299", numberMask, `range "2000-299": both ends must have the same number of digits`},
		{"2999-2000", numberMask, `range "2999-2000": start is above end`},
		{"20?0-2099", numberMask, `range "20?0-2099": ranges take digits only`},
		{"20 01", numberMask, `character ' ' in "20 01" is not allowed`},
		{"20!1", numberMask, `character '!' in "20!1" is not allowed`},
		{"2001,,2002", numberMask, `term 2 "": empty term`},
		{"2001,", numberMask, `term 2 "": empty term`},
		{"2001,20?>>", numberMask, `term 2 "20?>>": more than one`},
		{"O'Neil", numberMask, `character '\''`},
		{"10??>", agentMask, `agent masks are lists of patterns`},
		{"a=b", personMask, `person masks are lists of patterns`},
		{"Mary\tO", personMask, `character '\t'`},
	}
	for _, tt := range tests {
		_, err := parseMask(tt.mask, tt.kind)
		if err == nil {
			t.Errorf("parseMask(%q, %s): no error, want %q", tt.mask, tt.kind, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseMask(%q, %s) = %q, want it to contain %q", tt.mask, tt.kind, err, tt.want)
		}
		if !errors.Is(err, ErrBadMask) || !errors.Is(err, ErrInvalid) {
			t.Errorf("parseMask(%q): %v does not wrap ErrBadMask and ErrInvalid", tt.mask, err)
		}
	}
}

func TestMaskString(t *testing.T) {
	tests := []struct {
		in   string
		kind maskKind
		want string
	}{
		{"2001", numberMask, "2001"},
		{" 2001 , 20?? > 30?? , ** ", numberMask, "2001,20??>30??,*"},
		{"2005 >", numberMask, "2005>"},
		{"> 2005", numberMask, ">2005"},
		{"2501 = 2525", numberMask, "2501=2525"},
		{"2000-2099", numberMask, "2000-2099"},
		{"*>", numberMask, "*>"},
		{" Mary O'Neil , ann ", personMask, "Mary O'Neil,ann"},
	}
	for _, tt := range tests {
		m, err := parseMask(tt.in, tt.kind)
		if err != nil {
			t.Errorf("parseMask(%q): %v", tt.in, err)
			continue
		}
		if got := m.String(); got != tt.want {
			t.Errorf("parseMask(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAgentAndPersonMasks(t *testing.T) {
	tests := []struct {
		mask  string
		kind  maskKind
		value string
		want  bool
	}{
		{"10??", agentMask, "1001", true},
		{"10??", agentMask, "2001", false},
		{"1000-1099", agentMask, "1050", true},
		{"agent.b*,ann", agentMask, "ANN", true},
		{"*", agentMask, "x", true},
		{"Mary O'N*", personMask, "mary o'neil", true},
		{"Mary O'N*", personMask, "Mary Smith", false},
		{"Jos? Garc?a", personMask, "José García", true},
		{"E9*", personMask, "e901", true},
	}
	for _, tt := range tests {
		m, err := parseMask(tt.mask, tt.kind)
		if err != nil {
			t.Errorf("parseMask(%q): %v", tt.mask, err)
			continue
		}
		if got := m.matchValue(tt.value); got != tt.want {
			t.Errorf("%s mask %q on %q: got %v, want %v", tt.kind, tt.mask, tt.value, got, tt.want)
		}
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		p, s string
		fold bool
		want bool
	}{
		{"", "", false, true},
		{"", "a", false, false},
		{"*", "", false, true},
		{"?", "", false, false},
		{"?", "é", false, true},
		{"a*b*c", "aXbYc", false, true},
		{"a*b*c", "aXbY", false, false},
		{"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, false},
		{"VIP*", "vip-gold", false, false},
		{"VIP*", "vip-gold", true, true},
		{"V?P", "VIP", false, true},
		{"a,b c", "a,b c", false, true}, // userdata values: every other character is literal
	}
	for _, tt := range tests {
		if got := glob(tt.p, tt.s, tt.fold); got != tt.want {
			t.Errorf("glob(%q, %q, %v) = %v, want %v", tt.p, tt.s, tt.fold, got, tt.want)
		}
	}
}

package dnfilter

import (
	"errors"
	"strings"
	"testing"
)

func TestMonitored(t *testing.T) {
	tests := []struct {
		name             string
		include, exclude string
		yes, no          []string
	}{
		{
			name: "empty include and exclude monitors all",
			yes:  []string{"5001", "agent_1", "0", "A-1"},
		},
		{
			name:    "empty include with exclude monitors all but excluded",
			exclude: "3500,7000-7999",
			yes:     []string{"3499", "3501", "6999", "8000", "agent"},
			no:      []string{"3500", "7000", "7500", "7999"},
		},
		{
			name:    "range and single DN",
			include: "3000-3999,5001",
			yes:     []string{"3000", "3456", "3999", "5001"},
			no:      []string{"2999", "4000", "5002", "03500", "350", "30000", "3abc"},
		},
		{
			name:    "exclude wins over include",
			include: "3000-3999",
			exclude: "3500-3599,3000",
			yes:     []string{"3001", "3499", "3600"},
			no:      []string{"3000", "3500", "3550", "3599"},
		},
		{
			name:    "exclude wins over an identical include",
			include: "5001",
			exclude: "5001",
			no:      []string{"5001"},
		},
		{
			name:    "leading zeros are significant with equal-length ends",
			include: "0100-0199",
			yes:     []string{"0100", "0150", "0199"},
			no:      []string{"100", "150", "00150", "0200"},
		},
		{
			name:    "ends of different length compare numerically within the length window",
			include: "1-99999",
			yes:     []string{"1", "7", "007", "500", "99999"},
			no:      []string{"0", "100000", "000001"},
		},
		{
			name:    "single-digit-length range",
			include: "5-5",
			yes:     []string{"5"},
			no:      []string{"4", "6", "05"},
		},
		{
			name:    "ranges longer than int64",
			include: "100000000000000000000-199999999999999999999",
			yes:     []string{"150000000000000000000"},
			no:      []string{"200000000000000000000", "15"},
		},
		{
			name:    "regular expression, unanchored unless anchored",
			include: "/^agent[0-9]+$/,/VIP/",
			yes:     []string{"agent1", "agent42", "xVIPx"},
			no:      []string{"agent", "agent1x", "Agent1", "5001"},
		},
		{
			name:    "regular expression containing commas and escaped slash",
			include: `/^a{1,3}$/,/^x\/,y$/,5001`,
			yes:     []string{"a", "aaa", "x/,y", "5001"},
			no:      []string{"aaaa", "x"},
		},
		{
			name:    "regexp with a slash not followed by comma",
			include: "/a/b/",
			yes:     []string{"a/b"},
			no:      []string{"ab"},
		},
		{
			name:    "alphanumeric DNs with table 1 symbols",
			include: "agent_7@site.1,A-1,3000-,(01)[2]#~!;:&+$%'",
			yes:     []string{"agent_7@site.1", "A-1", "3000-", "(01)[2]#~!;:&+$%'"},
			no:      []string{"agent_7@site.2", "a-1", "3000", "2999"},
		},
		{
			name:    "dash with more than one separator is a literal DN",
			include: "1-2-3",
			yes:     []string{"1-2-3"},
			no:      []string{"2"},
		},
		{
			name:    "literal DNs are case sensitive",
			include: "Agent",
			yes:     []string{"Agent"},
			no:      []string{"agent", "AGENT"},
		},
		{
			name:    "outer white space of a list is ignored",
			include: " 3000-3999\n",
			exclude: "\t3500 ",
			yes:     []string{"3000"},
			no:      []string{"3500", "4000"},
		},
		{
			name:    "exclude by regexp",
			exclude: "/^9/",
			yes:     []string{"5001", "19"},
			no:      []string{"9", "900"},
		},
		{
			name:    "HA split between two cores",
			include: "1000-1900,2000-2700,3200-3500",
			yes:     []string{"1000", "1900", "2500", "3200", "3500"},
			no:      []string{"1901", "1999", "2701", "3199", "3501"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.include, tc.exclude)
			if err != nil {
				t.Fatalf("Parse(%q, %q): %v", tc.include, tc.exclude, err)
			}
			for _, dn := range tc.yes {
				if !f.Monitored(dn) {
					t.Errorf("Monitored(%q) = false, want true (%s)", dn, f)
				}
			}
			for _, dn := range tc.no {
				if f.Monitored(dn) {
					t.Errorf("Monitored(%q) = true, want false (%s)", dn, f)
				}
			}
			// The canonical form parses to an equivalent filter.
			g, err := Parse(f.Include(), f.Exclude())
			if err != nil {
				t.Fatalf("re-Parse(%q, %q): %v", f.Include(), f.Exclude(), err)
			}
			for _, dn := range append(append([]string{}, tc.yes...), tc.no...) {
				if f.Monitored(dn) != g.Monitored(dn) {
					t.Errorf("canonical filter disagrees on %q", dn)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		include, exclude string
		want             error
		mention          string // must appear in the message
	}{
		{include: "3000-3999, 5001", want: ErrInvalidChar, mention: `" 5001"`},
		{include: "3000 - 3999", want: ErrInvalidChar, mention: `"3000 - 3999"`},
		{include: "50*1", want: ErrInvalidChar, mention: `'*'`},
		{include: "agent/1", want: ErrInvalidChar, mention: `"agent/1"`},
		{include: "dn\"x", want: ErrInvalidChar, mention: `'"'`},
		{include: "čau", want: ErrInvalidChar, mention: `"čau"`},
		{include: "a\xffb", want: ErrInvalidChar, mention: "UTF-8"},
		{exclude: "ok,bad?", want: ErrInvalidChar, mention: "exclude item \"bad?\""},
		{include: "3999-3000", want: ErrBadRange, mention: `"3999-3000"`},
		{include: "100-99", want: ErrBadRange, mention: `"100-99"`},
		{include: "5001,,5002", want: ErrEmptyItem},
		{include: ",5001", want: ErrEmptyItem},
		{include: "5001,", want: ErrEmptyItem},
		{include: "/abc", want: ErrBadRegexp, mention: "unterminated"},
		{include: "/abc/x", want: ErrBadRegexp, mention: "unterminated"},
		{include: "//", want: ErrBadRegexp, mention: "empty"},
		{exclude: "/a(/", want: ErrBadRegexp, mention: `exclude item "/a(/"`},
		{include: "/a/,", want: ErrEmptyItem},
	}
	for _, tc := range tests {
		t.Run(tc.include+"|"+tc.exclude, func(t *testing.T) {
			f, err := Parse(tc.include, tc.exclude)
			if err == nil {
				t.Fatalf("Parse(%q, %q) = %s, want error", tc.include, tc.exclude, f)
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v does not wrap %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
		})
	}
}

func TestString(t *testing.T) {
	tests := []struct{ include, exclude, want string }{
		{"", "", "all DNs"},
		{"3000-3999,/^a/", "", "include=3000-3999,/^a/"},
		{"", "7001", "include=* exclude=7001"},
		{"3000-3999", "3500", "include=3000-3999 exclude=3500"},
	}
	for _, tc := range tests {
		if got := MustParse(tc.include, tc.exclude).String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
	var nilFilter *Filter
	if nilFilter.String() != "all DNs" || !nilFilter.Monitored("x") || !nilFilter.MonitorsAll() || nilFilter.Excluded("x") {
		t.Error("nil filter must monitor everything")
	}
}

func TestMonitorsAllAndExcluded(t *testing.T) {
	f := MustParse("", "3500")
	if !f.MonitorsAll() || !f.Excluded("3500") || f.Excluded("3501") {
		t.Errorf("%s: MonitorsAll/Excluded wrong", f)
	}
	g := MustParse("3000-3999", "")
	if g.MonitorsAll() || g.Excluded("3500") {
		t.Errorf("%s: MonitorsAll/Excluded wrong", g)
	}
}

func TestValidDN(t *testing.T) {
	for _, dn := range []string{"5001", "agent_1", "A-Z.a,z:0;9!~()[]#@&+$%'"} {
		if err := ValidDN(dn); err != nil {
			t.Errorf("ValidDN(%q) = %v", dn, err)
		}
	}
	for _, dn := range []string{"", " ", "a b", "a/b", "a*b", "a?b", "a\\b", "a=b", "a<b", "a|b", "é", "a\tb", "a{b}", "a^b", "a\"b"} {
		if err := ValidDN(dn); err == nil {
			t.Errorf("ValidDN(%q) = nil, want error", dn)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "3000-3999,5001", "/^agent[0-9]+$/", "/a{1,3}/,x", "0100-0199", "1-99999", "A-1,(x)", "/a\\/,b/", "3999-3000", ",", "//"} {
		f.Add(s, "3500", "3500")
		f.Add(s, "", "agent7")
	}
	f.Fuzz(func(t *testing.T, include, exclude, dn string) {
		flt, err := Parse(include, exclude)
		if err != nil {
			if !errors.Is(err, ErrEmptyItem) && !errors.Is(err, ErrInvalidChar) && !errors.Is(err, ErrBadRange) && !errors.Is(err, ErrBadRegexp) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		got := flt.Monitored(dn)
		if flt.Excluded(dn) && got {
			t.Fatalf("%s: excluded DN %q monitored", flt, dn)
		}
		g, err := Parse(flt.Include(), flt.Exclude())
		if err != nil {
			t.Fatalf("canonical form %q / %q does not parse: %v", flt.Include(), flt.Exclude(), err)
		}
		if g.Monitored(dn) != got || g.String() != flt.String() {
			t.Fatalf("canonical filter %s differs from %s on %q", g, flt, dn)
		}
		if strings.TrimSpace(include) == "" && strings.TrimSpace(exclude) == "" && !got {
			t.Fatalf("empty filter rejects %q", dn)
		}
	})
}

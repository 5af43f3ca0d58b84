// Package dnfilter implements DN activity detection: which directory numbers
// the recorder monitors (registers on the CTI link and accepts MSR sessions
// for), from an include and an exclude list as configured per tenant
// ("Include DN range" / "Exclude DN range", seed 002 "Configuring DN
// Activity Detection").
//
// # Syntax
//
// Each list is a comma-separated sequence of items with no spaces:
//
//	3000-3999          numeric range (both ends digits only)
//	5001               a single DN, numeric or alphanumeric
//	agent_7@site.1     alphanumeric DN (characters of seed 002 table 1)
//	/^agent[0-9]+$/    regular expression (RE2) between slashes
//
// Literal DNs may use the characters of seed 002 table 1: letters A-Z a-z,
// digits 0-9 and the symbols @ & + $ % ' . , : ; ! ~ ( ) [ ] # - _. The
// comma separates items, so it cannot appear in a literal item (a regular
// expression can match it). Any other character, space included, is
// rejected with an error naming the item. An item made of two runs of
// digits joined by one '-' is a range; anything else with a '-' (for example
// "A-1", "3000-", "1-2-3") is a literal DN, since '-' is a valid DN
// character.
//
// A regular expression starts with '/' and ends at the first '/' that is
// not escaped by a backslash and is followed by a comma or the end of the
// list, so it may contain commas ("/^a{1,3}$/"); write "\/" for a slash
// followed by a comma inside it. It is matched unanchored (use ^ and $).
// Regular expressions and ranges are not subject to the character set.
//
// # Numeric ranges
//
// A range matches only DNs made of digits. Leading zeros are significant,
// as in a dial plan: when both ends have the same number of digits
// ("3000-3999", "0100-0199") a DN must have exactly that many digits and
// lie between them ("03500" is not in 3000-3999, "150" is not in
// 0100-0199). When the ends differ in length ("1-99999") a DN must have
// between the shorter and the longer end's number of digits and lie
// between them numerically. Ranges are compared digit by digit, so ends of
// any length work without overflow.
//
// # Semantics
//
// Exclude wins over include (also over third-party recording requests:
// callers must not record an excluded DN whatever asks for it). An empty
// include list means "every DN": with an empty exclude list everything is
// monitored, with a non-empty one everything but the excluded DNs.
package dnfilter

import (
	"fmt"
	"regexp"
	"strings"
)

// Filter decides whether a DN is monitored. It is immutable and safe for
// concurrent use. A nil *Filter monitors every DN.
type Filter struct {
	include list
	exclude list
}

// list is one parsed include or exclude list.
type list struct {
	items   []string // canonical items, in input order
	exact   map[string]struct{}
	ranges  []numRange
	regexps []*regexp.Regexp
}

type numRange struct{ lo, hi string }

// Parse parses an include and an exclude list (see the package comment).
// Surrounding white space of each whole list is ignored; white space
// inside is an error.
func Parse(include, exclude string) (*Filter, error) {
	in, err := parseList("include", include)
	if err != nil {
		return nil, err
	}
	ex, err := parseList("exclude", exclude)
	if err != nil {
		return nil, err
	}
	return &Filter{include: in, exclude: ex}, nil
}

// MustParse is Parse that panics on error, for tests and constants.
func MustParse(include, exclude string) *Filter {
	f, err := Parse(include, exclude)
	if err != nil {
		panic(err)
	}
	return f
}

// Monitored reports whether dn is monitored: not matched by the exclude
// list, and matched by the include list or the include list is empty.
func (f *Filter) Monitored(dn string) bool {
	if f == nil {
		return true
	}
	if f.exclude.match(dn) {
		return false
	}
	return len(f.include.items) == 0 || f.include.match(dn)
}

// Excluded reports whether dn is matched by the exclude list. Excluded DNs
// are never recorded, even on a third-party request.
func (f *Filter) Excluded(dn string) bool {
	return f != nil && f.exclude.match(dn)
}

// MonitorsAll reports whether the include list is empty, so every DN not
// excluded is monitored (the caller registers every DN it knows of).
func (f *Filter) MonitorsAll() bool {
	return f == nil || len(f.include.items) == 0
}

// Include returns the include list in canonical form; Parse(f.Include(),
// f.Exclude()) yields an equivalent filter.
func (f *Filter) Include() string {
	if f == nil {
		return ""
	}
	return strings.Join(f.include.items, ",")
}

// Exclude returns the exclude list in canonical form.
func (f *Filter) Exclude() string {
	if f == nil {
		return ""
	}
	return strings.Join(f.exclude.items, ",")
}

// String describes the filter for logs, e.g.
// "include=3000-3999,/^agent/ exclude=3500", "include=* exclude=7001" or
// "all DNs".
func (f *Filter) String() string {
	in, ex := f.Include(), f.Exclude()
	switch {
	case in == "" && ex == "":
		return "all DNs"
	case in == "":
		in = "*"
	}
	if ex == "" {
		return "include=" + in
	}
	return "include=" + in + " exclude=" + ex
}

func (l *list) match(dn string) bool {
	if _, ok := l.exact[dn]; ok {
		return true
	}
	if len(l.ranges) > 0 && allDigits(dn) {
		for _, r := range l.ranges {
			if r.contains(dn) {
				return true
			}
		}
	}
	for _, re := range l.regexps {
		if re.MatchString(dn) {
			return true
		}
	}
	return false
}

func parseList(kind, s string) (list, error) {
	var l list
	s = strings.TrimSpace(s)
	if s == "" {
		return l, nil
	}
	for pos := 0; ; {
		var item string
		var next int // index after the separating comma, or -1 at the end
		if s[pos] == '/' {
			end := regexpEnd(s, pos)
			if end < 0 {
				return l, fmt.Errorf("dnfilter: %s item %q: unterminated regular expression (end it with '/'): %w", kind, s[pos:], ErrBadRegexp)
			}
			item = s[pos : end+1]
			next = end + 1
		} else {
			i := strings.IndexByte(s[pos:], ',')
			if i < 0 {
				item, next = s[pos:], len(s)
			} else {
				item, next = s[pos:pos+i], pos+i
			}
		}
		if err := l.add(kind, item); err != nil {
			return l, err
		}
		if next >= len(s) {
			return l, nil
		}
		// s[next] is the comma.
		pos = next + 1
		if pos == len(s) {
			return l, fmt.Errorf("dnfilter: %s list %q: trailing comma: %w", kind, s, ErrEmptyItem)
		}
	}
}

// regexpEnd returns the index of the slash closing the regular expression
// that starts at s[start] == '/', or -1.
func regexpEnd(s string, start int) int {
	for j := start + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '/':
			if j+1 == len(s) || s[j+1] == ',' {
				return j
			}
		}
	}
	return -1
}

func (l *list) add(kind, item string) error {
	switch {
	case item == "":
		return fmt.Errorf("dnfilter: %s list: empty item (two commas in a row or a leading comma): %w", kind, ErrEmptyItem)
	case item[0] == '/':
		expr := item[1 : len(item)-1]
		if expr == "" {
			return fmt.Errorf("dnfilter: %s item %q: empty regular expression: %w", kind, item, ErrBadRegexp)
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return fmt.Errorf("dnfilter: %s item %q: %w: %v", kind, item, ErrBadRegexp, err)
		}
		l.regexps = append(l.regexps, re)
	default:
		if lo, hi, ok := splitRange(item); ok {
			if cmpNum(lo, hi) > 0 {
				return fmt.Errorf("dnfilter: %s item %q: lower end %s is above upper end %s: %w", kind, item, lo, hi, ErrBadRange)
			}
			l.ranges = append(l.ranges, numRange{lo: lo, hi: hi})
			break
		}
		if err := ValidDN(item); err != nil {
			return fmt.Errorf("dnfilter: %s item %q: %w", kind, item, err)
		}
		if l.exact == nil {
			l.exact = make(map[string]struct{})
		}
		l.exact[item] = struct{}{}
	}
	l.items = append(l.items, item)
	return nil
}

// splitRange reports whether item is "digits-digits".
func splitRange(item string) (lo, hi string, ok bool) {
	lo, hi, ok = strings.Cut(item, "-")
	if !ok || !allDigits(lo) || !allDigits(hi) {
		return "", "", false
	}
	return lo, hi, true
}

func (r numRange) contains(dn string) bool {
	if len(r.lo) == len(r.hi) {
		return len(dn) == len(r.lo) && r.lo <= dn && dn <= r.hi
	}
	minLen, maxLen := min(len(r.lo), len(r.hi)), max(len(r.lo), len(r.hi))
	return len(dn) >= minLen && len(dn) <= maxLen && cmpNum(dn, r.lo) >= 0 && cmpNum(dn, r.hi) <= 0
}

// cmpNum compares two non-empty digit strings numerically.
func cmpNum(a, b string) int {
	a, b = stripZeros(a), stripZeros(b)
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

func stripZeros(s string) string {
	t := strings.TrimLeft(s, "0")
	if t == "" {
		return "0"
	}
	return t
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

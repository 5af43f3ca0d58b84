package rules

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// maskKind selects the grammar of a mask.
type maskKind uint8

const (
	// numberMask is the full grammar of a rule's mask and a group's dns
	// scope: terms with directions (">"), "calls between" ("=") and "*".
	numberMask maskKind = iota
	// agentMask is a list of patterns matched against agent IDs (login
	// codes) and user names: no directions.
	agentMask
	// personMask is like agentMask, and its patterns may also hold spaces
	// and apostrophes (full names such as "Mary O'Neil").
	personMask
)

func (k maskKind) String() string {
	switch k {
	case agentMask:
		return "agent"
	case personMask:
		return "person"
	}
	return "number"
}

// patternSymbols are the characters besides letters and digits allowed in
// a pattern.
const patternSymbols = "+#._@-?*"

// side is one pattern or numeric range of a term.
type side struct {
	text    string // the pattern as written (trimmed); for a range "lo-hi"
	lo, hi  string // range bounds: all digits, same length, lo <= hi
	isRange bool
	any     bool // a pattern made only of '*': matches everything
}

func (s side) String() string { return s.text }

// match reports whether v matches the side: a range matches a number of
// the bounds' length between them (inclusive); a pattern matches with '?'
// and '*' wildcards, letters in any case.
func (s side) match(v string) bool {
	if s.isRange {
		return len(v) == len(s.lo) && allDigits(v) && s.lo <= v && v <= s.hi
	}
	return s.any || glob(s.text, v, true)
}

// termKind is the form of a term of a number mask.
type termKind uint8

const (
	termAll     termKind = iota // "*": every call
	termParty                   // "X": some party of the call matches X
	termFrom                    // "X>": the caller matches X
	termTo                      // ">Y": some called party matches Y
	termFromTo                  // "X>Y": both
	termBetween                 // "X=Y": two different parties match X and Y
)

// term is one comma-separated part of a mask.
type term struct {
	kind termKind
	a, b side // a: the party / caller side, b: the called / other side
}

func (t term) String() string {
	switch t.kind {
	case termAll:
		return "*"
	case termParty:
		return t.a.text
	case termFrom:
		return t.a.text + ">"
	case termTo:
		return ">" + t.b.text
	case termFromTo:
		return t.a.text + ">" + t.b.text
	default:
		return t.a.text + "=" + t.b.text
	}
}

// mask is a parsed mask: it matches when any of its terms matches.
type mask struct {
	kind  maskKind
	terms []term
}

// String returns the canonical text of the mask: terms joined by "," with
// the spaces around terms and sides removed. It parses back to the same
// mask.
func (m *mask) String() string {
	parts := make([]string, len(m.terms))
	for i, t := range m.terms {
		parts[i] = t.String()
	}
	return strings.Join(parts, ",")
}

// matchesAll reports whether the mask matches every call.
func (m *mask) matchesAll() bool {
	for _, t := range m.terms {
		if t.kind == termAll {
			return true
		}
	}
	return false
}

// parseMask parses s by the grammar of kind. Errors wrap ErrBadMask and
// ErrInvalid and do not repeat s itself (the caller names the field).
func parseMask(s string, kind maskKind) (*mask, error) {
	if strings.TrimSpace(s) == "" {
		return nil, badMask("empty mask")
	}
	raw := strings.Split(s, ",")
	m := &mask{kind: kind, terms: make([]term, 0, len(raw))}
	for i, r := range raw {
		t, err := parseTerm(strings.TrimSpace(r), kind)
		if err != nil {
			if len(raw) > 1 {
				return nil, badMask(fmt.Sprintf("term %d %q: %s", i+1, strings.TrimSpace(r), err))
			}
			return nil, err
		}
		m.terms = append(m.terms, t)
	}
	return m, nil
}

func parseTerm(s string, kind maskKind) (term, error) {
	if s == "" {
		return term{}, badMask("empty term (two commas in a row, or a comma at an end)")
	}
	gt, eq := strings.Count(s, ">"), strings.Count(s, "=")
	if kind != numberMask && gt+eq > 0 {
		return term{}, badMask(fmt.Sprintf("%s masks are lists of patterns: %q and %q are not allowed", kind, ">", "="))
	}
	switch {
	case gt+eq > 1:
		return term{}, badMask(`more than one ">" or "=" in a term`)
	case eq == 1:
		l, r, _ := strings.Cut(s, "=")
		l, r = strings.TrimSpace(l), strings.TrimSpace(r)
		if l == "" || r == "" {
			return term{}, badMask(`"=" (calls between) needs a pattern on both sides`)
		}
		a, err := parseSide(l, kind)
		if err != nil {
			return term{}, err
		}
		b, err := parseSide(r, kind)
		if err != nil {
			return term{}, err
		}
		return term{kind: termBetween, a: a, b: b}, nil
	case gt == 1:
		l, r, _ := strings.Cut(s, ">")
		l, r = strings.TrimSpace(l), strings.TrimSpace(r)
		var t term
		switch {
		case l == "" && r == "":
			return term{}, badMask(`">" needs a pattern before it (calls from) or after it (calls to)`)
		case l == "":
			t.kind = termTo
		case r == "":
			t.kind = termFrom
		default:
			t.kind = termFromTo
		}
		var err error
		if l != "" {
			if t.a, err = parseSide(l, kind); err != nil {
				return term{}, err
			}
		}
		if r != "" {
			if t.b, err = parseSide(r, kind); err != nil {
				return term{}, err
			}
		}
		return t, nil
	}
	a, err := parseSide(s, kind)
	if err != nil {
		return term{}, err
	}
	if a.any {
		return term{kind: termAll}, nil
	}
	return term{kind: termParty, a: a}, nil
}

// parseSide parses a pattern or a numeric range (s is trimmed, non-empty).
func parseSide(s string, kind maskKind) (side, error) {
	for _, r := range s {
		if !patternRune(r, kind) {
			allowed := "letters, digits and + # . _ @ - ? *"
			if kind == personMask {
				allowed += ", space, '"
			}
			return side{}, badMask(fmt.Sprintf("character %q in %q is not allowed (allowed: %s)", r, s, allowed))
		}
	}
	if lo, hi, ok := strings.Cut(s, "-"); ok && !strings.Contains(hi, "-") && lo != "" && hi != "" {
		switch {
		case allDigits(lo) && allDigits(hi):
			if len(lo) != len(hi) {
				return side{}, badMask(fmt.Sprintf("range %q: both ends must have the same number of digits", s))
			}
			if lo > hi {
				return side{}, badMask(fmt.Sprintf("range %q: start is above end", s))
			}
			return side{text: s, lo: lo, hi: hi, isRange: true}, nil
		case digitsOrWild(lo) && digitsOrWild(hi) && hasDigit(lo) && hasDigit(hi):
			return side{}, badMask(fmt.Sprintf("range %q: ranges take digits only (use either a range or wildcards)", s))
		}
	}
	return side{text: s, any: strings.Trim(s, "*") == ""}, nil
}

func patternRune(r rune, kind maskKind) bool {
	switch {
	case r < 0x80 && ('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'):
		return true
	case strings.ContainsRune(patternSymbols, r):
		return true
	case r >= 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
		return true
	case kind == personMask:
		return r == ' ' || r == '\'' || r >= 0x80 && unicode.IsMark(r)
	}
	return false
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

func digitsOrWild(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '?' && s[i] != '*' {
			return false
		}
	}
	return true
}

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

func badMask(msg string) error { return &invalidError{msg: msg, kind: ErrBadMask} }

// quoteList formats values for a reason: "3001, 4001", or "none".
func quoteList(vs []string) string {
	if len(vs) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, v := range vs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(v))
	}
	return b.String()
}

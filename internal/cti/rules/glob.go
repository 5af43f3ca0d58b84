package rules

import (
	"unicode"
	"unicode/utf8"
)

// glob reports whether s matches pattern p, where '?' matches exactly one
// character (rune), '*' any run of characters (also none) and every other
// character itself; with fold, letters match without regard to case.
// It runs in O(len(p)*len(s)) at worst and allocates nothing.
func glob(p, s string, fold bool) bool {
	px, sx := 0, 0
	// Where to restart after a mismatch: the last '*' seen and the position
	// in s it should swallow up to next. nextSx == 0 means no '*' yet.
	nextPx, nextSx := 0, 0
	for px < len(p) || sx < len(s) {
		if px < len(p) {
			c, pn := utf8.DecodeRuneInString(p[px:])
			switch c {
			case '*':
				nextPx = px
				if sx < len(s) {
					_, sn := utf8.DecodeRuneInString(s[sx:])
					nextSx = sx + sn
				} else {
					nextSx = len(s) + 1
				}
				px += pn
				continue
			case '?':
				if sx < len(s) {
					_, sn := utf8.DecodeRuneInString(s[sx:])
					px += pn
					sx += sn
					continue
				}
			default:
				if sx < len(s) {
					r, sn := utf8.DecodeRuneInString(s[sx:])
					if r == c || fold && equalFold(r, c) {
						px += pn
						sx += sn
						continue
					}
				}
			}
		}
		if 0 < nextSx && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}

// equalFold reports whether a and b are the same letter in another case.
func equalFold(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	return unicode.ToLower(a) == unicode.ToLower(b) || unicode.ToUpper(a) == unicode.ToUpper(b)
}

package dnfilter

import (
	"fmt"
	"unicode/utf8"
)

// Symbols lists the non-alphanumeric characters allowed in extensions, DNs
// and terminals (seed 002 table 1, "Valid Alphanumeric Characters").
const Symbols = "@&+$%'.,:;!~()[]#-_"

// ValidDNChar reports whether r is allowed in a DN by seed 002 table 1:
// A-Z, a-z, 0-9 and Symbols.
func ValidDNChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case r >= utf8.RuneSelf:
		return false
	}
	for i := 0; i < len(Symbols); i++ {
		if rune(Symbols[i]) == r {
			return true
		}
	}
	return false
}

// ValidDN checks that dn is non-empty and made only of the characters of
// seed 002 table 1. The error names the first offending character and its
// byte offset and wraps ErrInvalidChar (or ErrEmptyItem for "").
func ValidDN(dn string) error {
	if dn == "" {
		return fmt.Errorf("empty DN: %w", ErrEmptyItem)
	}
	for off, r := range dn {
		if r == utf8.RuneError {
			return fmt.Errorf("invalid UTF-8 at offset %d (allowed: A-Z a-z 0-9 %s): %w", off, Symbols, ErrInvalidChar)
		}
		if !ValidDNChar(r) {
			return fmt.Errorf("character %q at offset %d (allowed: A-Z a-z 0-9 %s): %w", r, off, Symbols, ErrInvalidChar)
		}
	}
	return nil
}

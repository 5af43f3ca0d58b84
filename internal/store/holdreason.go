package store

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxHoldReason is the longest reason of a legal hold, in characters.
const MaxHoldReason = 500

// ErrHoldReason: a legal hold's reason is empty, too long, or not one line
// of plain text.
var ErrHoldReason = errors.New("a legal hold needs a reason of 1 to 500 characters, one line without control or bidirectional-override characters")

// CheckHoldReason reports whether reason (already trimmed) can be a legal
// hold's reason. Reasons are shown in terminals (openrec recordings
// holds), the web UI and the audit log: no forged lines, escape sequences
// or reordered text.
func CheckHoldReason(reason string) error {
	if reason == "" || utf8.RuneCountInString(reason) > MaxHoldReason ||
		strings.ContainsFunc(reason, func(c rune) bool { return unicode.IsControl(c) || unicode.Is(unicode.Bidi_Control, c) }) {
		return ErrHoldReason
	}
	return nil
}

package dnfilter

import "errors"

// Sentinel errors returned (wrapped, with the offending item named) by Parse
// and ValidDN.
var (
	// ErrEmptyItem: an item between two commas (or at either end) is empty.
	ErrEmptyItem = errors.New("empty item")
	// ErrInvalidChar: a DN contains a character outside seed 002 table 1.
	ErrInvalidChar = errors.New("character not allowed in a DN")
	// ErrBadRange: a numeric range whose lower end is above its upper end.
	ErrBadRange = errors.New("invalid range")
	// ErrBadRegexp: a regular expression that is empty, unterminated or
	// does not compile.
	ErrBadRegexp = errors.New("invalid regular expression")
)

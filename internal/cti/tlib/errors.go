package tlib

import "errors"

// Sentinel errors. Errors returned by this package wrap one of them.
var (
	// ErrFrame: bytes that are not a valid frame, or a message that cannot
	// be framed (too large, nested too deep, unknown value kind).
	ErrFrame = errors.New("tlib: bad frame")
	// ErrTrace: text that is not a valid trace (ParseTrace).
	ErrTrace = errors.New("tlib: bad trace")
)

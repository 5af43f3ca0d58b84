package siprec

import "errors"

// Sentinel errors. Functions wrap them with %w and context; test with errors.Is.
var (
	// ErrNoSDP: the body holds no SDP part (delayed offer, metadata-only
	// UPDATE, or an empty body). SplitBody still returns the Body it found.
	ErrNoSDP = errors.New("siprec: no SDP in body")
	// ErrMalformedBody: the body cannot be split at all (multipart without
	// any delimiter line, for example). A SIP server answers 400.
	ErrMalformedBody = errors.New("siprec: malformed body")
	// ErrInvalidMetadata: the rs-metadata document is not well-formed XML
	// (or empty). ParseMetadata still returns what it could salvage.
	ErrInvalidMetadata = errors.New("siprec: invalid recording metadata")
)

package load

import "errors"

// Sentinel errors; every error Run and the parsers return wraps one of
// these (or the context's error).
var (
	// ErrInvalidConfig reports a Config field out of range (including a
	// non-loopback target without AllowRemote).
	ErrInvalidConfig = errors.New("load: invalid config")
	// ErrParse reports /proc or metrics text that cannot be parsed.
	ErrParse = errors.New("load: parse error")
	// ErrMetricNotFound reports a metrics exposition without the wanted
	// sample.
	ErrMetricNotFound = errors.New("load: metric not found")
	// ErrScrape reports a metrics endpoint that could not be read.
	ErrScrape = errors.New("load: metrics scrape failed")
	// ErrAPI reports a failed request to the recorder's REST API (sign-in
	// or recordings search).
	ErrAPI = errors.New("load: recorder API request failed")
)

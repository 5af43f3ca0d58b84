package loader

import "errors"

// Sentinel errors, wrapped with the file or URL they concern.
var (
	// ErrConfig reports an invalid Config (both File and URL, a URL that is
	// not http(s), a nil cache).
	ErrConfig = errors.New("configuration data source: invalid config")
	// ErrRunning is returned by a second concurrent call to Run.
	ErrRunning = errors.New("configuration data source: already running")
	// ErrStatus reports an HTTP answer other than 200 (or 304 to a long
	// poll) from the configuration service.
	ErrStatus = errors.New("unexpected HTTP status")
	// ErrEmpty refuses an empty configuration in place of a non-empty one
	// (a truncated file, a service answering an empty document): the
	// cache is never emptied by a reload.
	ErrEmpty = errors.New("empty configuration refused")
	// ErrTooLarge reports a configuration document over MaxBody bytes.
	ErrTooLarge = errors.New("configuration document too large")
)

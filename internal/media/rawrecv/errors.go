package rawrecv

import "errors"

// Sentinel errors; Open wraps one of them.
var (
	// ErrConfig reports an unusable port range.
	ErrConfig = errors.New("rawrecv: invalid config")
	// ErrBind reports a port pair that could not be bound.
	ErrBind = errors.New("rawrecv: bind failed")
)

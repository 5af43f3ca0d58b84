package conversation

import (
	"errors"
	"fmt"
)

// Sentinel errors.
var (
	// ErrCharset: an unknown attached-data source charset.
	ErrCharset = errors.New("conversation: unknown charset")
	// ErrNoCall: no call with that CallUUID.
	ErrNoCall = errors.New("conversation: no such call")
	// ErrNoParty: the DN is not an established monitored party of the call.
	ErrNoParty = errors.New("conversation: no such party")
	// ErrState: the operation does not fit the recording state.
	ErrState = errors.New("conversation: invalid recording state")
	// ErrRefused: a recording rule forbids the operation (do not record),
	// or the automatic PCI pause does (no resume in a payment phase).
	ErrRefused = errors.New("conversation: refused")
	// ErrConfig: an invalid configuration value.
	ErrConfig = errors.New("conversation: invalid configuration")
)

func errorf(sentinel error, format string, a ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, a...))
}

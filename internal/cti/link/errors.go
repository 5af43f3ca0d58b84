package link

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the client returns wraps one of these, an
// *Error, or the caller's context error.
var (
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("cti: invalid config")
	// ErrClosed is returned by Run and Request after Close.
	ErrClosed = errors.New("cti: client closed")
	// ErrRunning is returned by a second call to Run.
	ErrRunning = errors.New("cti: client already running")
	// ErrUnknownServer reports a server name that is not configured.
	ErrUnknownServer = errors.New("cti: unknown server")
	// ErrNotConnected reports a request to a server whose link is not
	// established (not connected, or RequestRegisterClient not answered yet).
	ErrNotConnected = errors.New("cti: link not connected")
	// ErrLinkDown fails requests whose link dropped before the answer came.
	ErrLinkDown = errors.New("cti: link down")
	// ErrConnect reports a failed TCP connect to a SIP Server address.
	ErrConnect = errors.New("cti: connect failed")
	// ErrProtocol reports an answer of an unexpected type.
	ErrProtocol = errors.New("cti: protocol error")
	// ErrQueueOverflow is the cause recorded when a link is reset because
	// its bounded event queue was full.
	ErrQueueOverflow = errors.New("cti: event queue overflow")
	// ErrGaveUp is returned by Run when reconnection is off and every link
	// has ended.
	ErrGaveUp = errors.New("cti: all links ended and reconnect is off")

	errEOF = errors.New("connection closed by server")
)

// Error is an EventError answer to a request (AttributeErrorCode,
// AttributeErrorMessage).
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("cti: EventError %d", e.Code)
	}
	return fmt.Sprintf("cti: EventError %d: %s", e.Code, e.Message)
}

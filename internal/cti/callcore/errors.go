package callcore

import "errors"

// Errors of recording control (Control). Errors of the conversation
// engine (conversation.ErrNoCall, ErrNoParty, ErrState, ErrRefused) are
// wrapped, so errors.Is finds them too.
var (
	// ErrNoTarget: no live call matches the target (DN, CallUUID, ConnID).
	ErrNoTarget = errors.New("callcore: no such live call")
	// ErrAmbiguous: the target names more than one live call (a DN on two
	// calls and no call given) or more than one party (no DN given on a
	// call with several monitored live parties).
	ErrAmbiguous = errors.New("callcore: ambiguous target")
	// ErrBadOp: an operation other than start, pause, resume, stop, keep,
	// discard.
	ErrBadOp = errors.New("callcore: unknown recording operation")
)

// Errors of the life cycle.
var (
	// ErrClosed: Core was closed, or its Run returned; the action was not
	// queued.
	ErrClosed = errors.New("callcore: closed")
	// ErrRunning: Run was called a second time.
	ErrRunning = errors.New("callcore: already running")
)

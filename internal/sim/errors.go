package sim

import "errors"

// Sentinel errors. Every error returned by this package wraps one of them.
var (
	// ErrConfig reports an unusable Config or Scenario.
	ErrConfig = errors.New("sim: invalid configuration")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("sim: simulator closed")
	// ErrUnknownDN reports a DN that is not configured on the switch.
	ErrUnknownDN = errors.New("sim: unknown DN")
	// ErrUnknownCall reports a ConnID or scenario call handle that is not known.
	ErrUnknownCall = errors.New("sim: unknown call")
	// ErrState reports an action the call's state does not allow (answer a
	// call that is not ringing, retrieve a call not held, ...).
	ErrState = errors.New("sim: invalid call state")
	// ErrRecording reports a recording request that cannot be served (no
	// recorder destination, already recording, not recording).
	ErrRecording = errors.New("sim: recording request refused")
	// ErrRecorderLost reports sessions torn down because their recorder
	// went down (the Resource Manager's pings found it dead).
	ErrRecorderLost = errors.New("sim: recorder lost")
	// ErrScenario reports a scenario step that failed.
	ErrScenario = errors.New("sim: scenario step failed")
)

// Error codes of EventError (AttributeErrorCode). openrec's numbering: the
// public T-Server error codes are not published with their numbers here.
const (
	ErrCodeNotRegistered  = 40 // request before RequestRegisterClient
	ErrCodeMissingAttr    = 41 // a required attribute is missing or malformed
	ErrCodeUnknownDN      = 42 // DN not configured on the switch
	ErrCodeUnknownConnID  = 43 // no such call
	ErrCodeInvalidState   = 44 // the call's state does not allow the request
	ErrCodeUnsupported    = 45 // request type not supported by the simulator
	ErrCodeRecording      = 46 // recording request refused
	ErrCodeBadFrame       = 47 // undecodable frame (connection closed)
	ErrCodeUnknownService = 48 // PrivateMsgID not one of the recording services
)

package dial

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers match them with errors.Is; every returned error
// wraps one of these (or a StatusError, or the context's error).
var (
	// ErrInvalidSpec reports a Spec (or Options) field out of range.
	ErrInvalidSpec = errors.New("dial: invalid spec")
	// ErrClosed is returned by Call and Options after Close.
	ErrClosed = errors.New("dial: dialer closed")
	// ErrBadAnswer reports a 2xx whose SDP answer cannot be used (no body,
	// unparsable, fewer m-lines than offered, no address).
	ErrBadAnswer = errors.New("dial: unusable SDP answer")
	// ErrNoCodec reports an answer that accepted none of the offered codecs.
	ErrNoCodec = errors.New("dial: answer chose no offered codec")
	// ErrNoPorts reports that no local RTP port could be bound.
	ErrNoPorts = errors.New("dial: no free local RTP port")
	// ErrTransport reports a SIP transaction that ended without a final
	// response (timeout, connection refused, transport error).
	ErrTransport = errors.New("dial: SIP transaction failed")
	// ErrNotEstablished reports a Reinvite for a stream whose session is
	// not established (rejected, failed, or already ended).
	ErrNotEstablished = errors.New("dial: session not established")
	// ErrWAV reports a WAV source that cannot be used (rate, channels, empty).
	ErrWAV = errors.New("dial: unusable WAV source")
)

// StatusError is the final non-2xx response to an INVITE. It is returned
// as a value; errors.As matches it with a target of either *StatusError or
// **StatusError.
type StatusError struct {
	Code   int
	Reason string
}

func (e StatusError) Error() string {
	return fmt.Sprintf("SIP %d %s", e.Code, e.Reason)
}

// As lets errors.As fill a **StatusError target as well as a *StatusError.
func (e StatusError) As(target any) bool {
	if p, ok := target.(**StatusError); ok {
		c := e
		*p = &c
		return true
	}
	return false
}

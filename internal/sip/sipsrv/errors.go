package sipsrv

import (
	"errors"
	"fmt"
)

// StatusError is an error with the SIP final response it maps to. Handlers
// return it; the server answers with Code and Reason (the reason phrase says
// what was wrong, so the peer's logs explain the refusal).
type StatusError struct {
	Code       int
	Reason     string
	RetryAfter int // seconds, for 503
	Err        error
}

func (e *StatusError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("sip %d %s: %v", e.Code, e.Reason, e.Err)
	}
	return fmt.Sprintf("sip %d %s", e.Code, e.Reason)
}

func (e *StatusError) Unwrap() error { return e.Err }

// Errorf builds a StatusError.
func Errorf(code int, reason string, err error) *StatusError {
	return &StatusError{Code: code, Reason: reason, Err: err}
}

// ErrUnknownDialog is returned by Hangup for a Call-ID it does not know.
var ErrUnknownDialog = errors.New("sipsrv: unknown dialog")

// statusOf maps any error to a status code and reason phrase.
func statusOf(err error) (int, string, int) {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code, se.Reason, se.RetryAfter
	}
	return 500, "Server Internal Error", 0
}

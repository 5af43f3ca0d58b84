package rules

import "errors"

// Sentinel errors. Every error of Compile and LoadFile about the content of
// the rules wraps ErrInvalid; a bad mask also wraps ErrBadMask.
var (
	// ErrInvalid: the rules configuration is not valid (bad field value,
	// unknown key, duplicate or missing name, bad mask).
	ErrInvalid = errors.New("invalid recording rules")
	// ErrBadMask: a number, agent or person mask does not follow the mask
	// grammar (see the package documentation).
	ErrBadMask = errors.New("bad mask")
)

// invalidError is an error whose text is msg and which matches ErrInvalid,
// the optional kind (ErrBadMask) and the optional cause with errors.Is/As,
// without repeating their texts in the message.
type invalidError struct {
	msg   string
	kind  error
	cause error
}

func (e *invalidError) Error() string { return e.msg }

func (e *invalidError) Unwrap() []error {
	errs := []error{ErrInvalid}
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// wrapInvalid prefixes err with place; the result still matches everything
// err matched and always matches ErrInvalid.
func wrapInvalid(place string, err error) error {
	var ie *invalidError
	if errors.As(err, &ie) {
		return &invalidError{msg: place + ": " + ie.msg, kind: ie.kind, cause: ie.cause}
	}
	return &invalidError{msg: place + ": " + err.Error(), cause: err}
}

package sdpoa

import "errors"

var (
	// ErrMalformed is returned by ParseOffer when the body is not an SDP
	// session description it can use. The wrapping error's text is a short,
	// printable ASCII reason without offer content, safe to put in a SIP 400
	// reason phrase.
	ErrMalformed = errors.New("malformed SDP")

	// ErrMismatch is returned by BuildAnswer when the answer parameters do
	// not fit the offer: a different number of m-lines, or a payload type
	// the offer did not contain.
	ErrMismatch = errors.New("answer does not match offer")

	// ErrInvalidParams is returned by BuildAnswer when AnswerParams cannot be
	// written as SDP: no usable address, an out-of-range port, an unknown
	// direction, or a username or codec name that would break a line.
	ErrInvalidParams = errors.New("invalid answer parameters")
)

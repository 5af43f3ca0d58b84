package sipsrv

import (
	"fmt"

	"github.com/openrec/openrec/internal/sip/sdpoa"
)

// SRTPPolicy says which media protection an offer must use (Config.SRTP).
type SRTPPolicy string

// SRTP policies.
const (
	// SRTPOptional records SDES-SRTP (RTP/SAVP(F) with a usable a=crypto)
	// and plain RTP offers. The default.
	SRTPOptional SRTPPolicy = "optional"
	// SRTPRequired refuses plain RTP offers with 488.
	SRTPRequired SRTPPolicy = "required"
	// SRTPOff refuses SRTP offers with 488 (the client falls back to RTP
	// or records elsewhere).
	SRTPOff SRTPPolicy = "off"
)

// ParseSRTPPolicy reads a policy name; "" is SRTPOptional.
func ParseSRTPPolicy(s string) (SRTPPolicy, error) {
	switch p := SRTPPolicy(s); p {
	case "":
		return SRTPOptional, nil
	case SRTPOptional, SRTPRequired, SRTPOff:
		return p, nil
	}
	return "", fmt.Errorf("srtp: %q is not optional, required or off", s)
}

// checkSRTP refuses, with 488 and a short fixed reason, an offer whose
// audio openrec cannot decrypt or that the policy forbids. Answering 200
// to an SRTP stream without its key would store undecryptable noise as a
// recording. Only recordable audio m-lines count; a=crypto on an RTP/AVP
// m-line means nothing (RFC 4568 §3.1.4) and is ignored.
func checkSRTP(s *sdpoa.Session, p SRTPPolicy) error {
	for _, m := range s.Media {
		if !m.Recordable() {
			continue
		}
		switch {
		case m.DTLS():
			return Errorf(488, "Not Acceptable Here: DTLS-SRTP not supported", nil)
		case m.Secure() && p == SRTPOff:
			return Errorf(488, "Not Acceptable Here: SRTP disabled", nil)
		case m.Secure():
			if _, ok := m.SelectCrypto(); !ok {
				return Errorf(488, "Not Acceptable Here: no usable SRTP crypto", fmt.Errorf("m-line %d (%s): none of %d a=crypto lines usable", m.Index, m.Proto, len(m.Crypto)))
			}
		case p == SRTPRequired:
			return Errorf(488, "Not Acceptable Here: SRTP required", nil)
		}
	}
	return nil
}

package dial

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/srtp/v3"

	"github.com/openrec/openrec/internal/media/rtpin"
)

// SRTP suites a Spec may ask for (RFC 4568 §6.2, RFC 7714 §12).
const (
	SRTPAES128CMSHA1_80 = rtpin.SuiteAES128CMSHA1_80
	SRTPAES128CMSHA1_32 = rtpin.SuiteAES128CMSHA1_32
	SRTPAEADAES128GCM   = rtpin.SuiteAEADAES128GCM
	SRTPAEADAES256GCM   = rtpin.SuiteAEADAES256GCM
)

// srtpTag is the a=crypto tag of our offers (one line per m-line).
const srtpTag = 1

// srtpMaxOverhead bounds what SRTP adds to a packet: the longest tag
// (16 bytes, AES-GCM) plus an MKI (we send none).
const srtpMaxOverhead = 16

// streamKey is the SDES key a stream offers and sends with.
type streamKey struct {
	keys rtpin.SRTP
	// wire is the key the packets are really protected with: keys, or
	// another one for Spec.SRTPWrongKey.
	wire rtpin.SRTP
}

// newStreamKey makes a fresh random key for suite.
func newStreamKey(suite string, wrong bool) (*streamKey, error) {
	if _, err := rtpin.Profile(suite); err != nil {
		return nil, fmt.Errorf("%w: SRTP suite %q", ErrInvalidSpec, suite)
	}
	kl, sl := 16, 14
	switch suite {
	case SRTPAEADAES128GCM:
		sl = 12
	case SRTPAEADAES256GCM:
		kl, sl = 32, 12
	}
	gen := func() rtpin.SRTP {
		b := make([]byte, kl+sl)
		_, _ = rand.Read(b) // never fails (crypto/rand)
		return rtpin.SRTP{Suite: suite, MasterKey: b[:kl], MasterSalt: b[kl:]}
	}
	k := &streamKey{keys: gen()}
	k.wire = k.keys
	if wrong {
		k.wire = gen()
	}
	return k, nil
}

// crypto is the value of the a=crypto line offering k.
func (k *streamKey) crypto() string {
	return strconv.Itoa(srtpTag) + " " + k.keys.Suite + " inline:" +
		base64.StdEncoding.EncodeToString(append(append([]byte(nil), k.keys.MasterKey...), k.keys.MasterSalt...))
}

// context returns a sending context for k (owned by the pacing goroutine).
func (k *streamKey) context() (*srtp.Context, error) {
	return rtpin.NewSRTPContext(&k.wire)
}

// answerCrypto reports whether an answer's a=crypto values accept our
// offered line: one with our tag and suite (RFC 4568 §5.1.2).
func answerCrypto(values []string, suite string) bool {
	for _, v := range values {
		f := strings.Fields(v)
		if len(f) >= 3 && f[0] == strconv.Itoa(srtpTag) && f[1] == suite && strings.HasPrefix(strings.ToLower(f[2]), "inline:") {
			return true
		}
	}
	return false
}

// useKey switches the stream's sending context to k (nil: plain RTP).
func (s *stream) useKey(k *streamKey) {
	s.key, s.enc = k, nil
	if k == nil {
		return
	}
	ctx, err := k.context()
	if err != nil { // keys made by newStreamKey: cannot happen
		s.log.Error("srtp: key refused", "error", err)
		return
	}
	s.enc = ctx
}

// protectRTP returns b as SRTP when the stream encrypts (in s.encBuf),
// else b.
func (s *stream) protectRTP(b []byte) []byte {
	if s.enc == nil {
		return b
	}
	out, err := s.enc.EncryptRTP(s.encBuf[:0], b, &s.encHdr)
	if err != nil {
		s.log.Warn("srtp: encrypt", "error", err)
		return nil
	}
	return out
}

// protectRTCP returns the compound packet b as SRTCP when the stream
// encrypts, else b.
func (s *stream) protectRTCP(b []byte) []byte {
	if s.enc == nil {
		return b
	}
	out, err := s.enc.EncryptRTCP(nil, b, nil)
	if err != nil {
		s.log.Warn("srtcp: encrypt", "error", err)
		return nil
	}
	return out
}

// checkAnswerSRTP verifies that an answer to our SRTP offer accepted our
// crypto line on every stream it lets us send on.
func checkAnswerSRTP(p *plan, answers []answerStream) error {
	if p.SRTP == "" {
		return nil
	}
	for i, a := range answers {
		if a.send && !answerCrypto(a.crypto, p.SRTP) {
			return fmt.Errorf("%w: m-line %d does not accept our a=crypto", ErrBadAnswer, i)
		}
	}
	return nil
}

// CheckSRTPSuite returns an ErrInvalidSpec error unless suite is "" (plain
// RTP) or a suite Spec.SRTP accepts.
func CheckSRTPSuite(suite string) error {
	if suite == "" {
		return nil
	}
	if _, err := rtpin.Profile(suite); err != nil {
		return fmt.Errorf("%w: SRTP suite %q", ErrInvalidSpec, suite)
	}
	return nil
}

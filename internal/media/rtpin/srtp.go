package rtpin

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// SRTP suite names (RFC 4568 §6.2, RFC 7714 §12) a Receiver decrypts.
const (
	SuiteAES128CMSHA1_80 = "AES_CM_128_HMAC_SHA1_80"
	SuiteAES128CMSHA1_32 = "AES_CM_128_HMAC_SHA1_32"
	SuiteAEADAES128GCM   = "AEAD_AES_128_GCM"
	SuiteAEADAES256GCM   = "AEAD_AES_256_GCM"
)

// SRTP is the keying of an SRTP leg: the sender's suite, master key, master
// salt and MKI (SDES, RFC 4568). The Receiver decrypts SRTP and SRTCP with
// it before any other check but the previous-occupant one.
type SRTP struct {
	Suite      string
	MasterKey  []byte
	MasterSalt []byte
	MKI        []byte // nil: the packets carry no MKI
}

func (k *SRTP) equal(o *SRTP) bool {
	if k == nil || o == nil {
		return k == o
	}
	return k.Suite == o.Suite && bytes.Equal(k.MasterKey, o.MasterKey) &&
		bytes.Equal(k.MasterSalt, o.MasterSalt) && bytes.Equal(k.MKI, o.MKI)
}

// Profile returns the pion protection profile of a suite name.
func Profile(suite string) (srtp.ProtectionProfile, error) {
	switch suite {
	case SuiteAES128CMSHA1_80:
		return srtp.ProtectionProfileAes128CmHmacSha1_80, nil
	case SuiteAES128CMSHA1_32:
		return srtp.ProtectionProfileAes128CmHmacSha1_32, nil
	case SuiteAEADAES128GCM:
		return srtp.ProtectionProfileAeadAes128Gcm, nil
	case SuiteAEADAES256GCM:
		return srtp.ProtectionProfileAeadAes256Gcm, nil
	}
	return 0, fmt.Errorf("%w: SRTP suite %q not supported", ErrConfig, suite)
}

// replayWindow is the SRTP/SRTCP replay window (RFC 3711 §3.3.2): a
// replayed packet is dropped (counted as Invalid), never recorded twice.
const replayWindow = 128

// NewSRTPContext returns a pion context for k (one per goroutine: a
// context is not safe for concurrent use). Senders use it too.
func NewSRTPContext(k *SRTP) (*srtp.Context, error) {
	p, err := Profile(k.Suite)
	if err != nil {
		return nil, err
	}
	opts := []srtp.ContextOption{srtp.SRTPReplayProtection(replayWindow), srtp.SRTCPReplayProtection(replayWindow)}
	if len(k.MKI) > 0 {
		opts = append(opts, srtp.MasterKeyIndicator(k.MKI))
	}
	c, err := srtp.CreateContext(k.MasterKey, k.MasterSalt, p, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: SRTP key: %w", ErrConfig, err)
	}
	return c, nil
}

// SetSRTP replaces the leg's SRTP keys (a re-INVITE with a new a=crypto).
// The same keys again change nothing (the rollover state is kept). Packets
// still protected with the previous key are accepted for a short while
// (rekeyGrace packets with the new key), so the switch loses no audio.
// nil turns decryption off. The keys are checked first: an error leaves
// the receiver as it was.
func (r *Receiver) SetSRTP(k *SRTP) error {
	if k != nil {
		if _, err := NewSRTPContext(k); err != nil {
			return err
		}
		k = cloneSRTP(k)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.keys.Load().equal(k) {
		return nil
	}
	r.keys.Store(k)
	return nil
}

func cloneSRTP(k *SRTP) *SRTP {
	return &SRTP{Suite: k.Suite, MasterKey: bytes.Clone(k.MasterKey), MasterSalt: bytes.Clone(k.MasterSalt), MKI: bytes.Clone(k.MKI)}
}

// rekeyGrace is how many packets must authenticate with a new key before
// the previous key is forgotten.
const rekeyGrace = 200

// srtpLoop is one read goroutine's SRTP state.
type srtpLoop struct {
	keys      *SRTP         // what ctx was made from
	ctx, prev *srtp.Context // prev: the context before the last SetSRTP
	sinceKey  int           // packets authenticated with ctx since the switch
	hdr       rtp.Header    // reused by DecryptRTP
	// buf receives the decrypted packet: decrypting in place would lose
	// the ciphertext for the fallback to prev (AES-GCM clears its output
	// when authentication fails).
	buf [slotSize]byte
}

// sync makes the loop's contexts follow r.keys (called per packet: one
// atomic load when nothing changed). It reports whether decryption is on.
func (r *Receiver) srtpSync(s *srtpLoop) bool {
	k := r.keys.Load()
	if k == s.keys {
		return k != nil
	}
	if k == nil {
		*s = srtpLoop{}
		return false
	}
	ctx, err := NewSRTPContext(k) // checked by SetSRTP/Listen: cannot fail
	if err != nil {
		r.log.Error("srtp: key refused", "port", r.port, "err", err)
		return false
	}
	s.prev, s.ctx, s.keys, s.sinceKey = s.ctx, ctx, k, 0
	return true
}

// decryptRTP authenticates and decrypts the SRTP packet b in place and
// returns the RTP packet. ok is false when the packet is dropped (counted
// here: a previous occupant's packet as StaleSSRC, a replay as Invalid,
// anything else that fails, such as a wrong key, as AuthFailures).
func (r *Receiver) decryptRTP(s *srtpLoop, b []byte, src netip.AddrPort) (out []byte, ok bool) {
	if len(b) < rtpHeaderLen || b[0]>>6 != rtpVersion {
		r.invalid.Add(1) // not RTP at all (junk, STUN): no key could help
		return nil, false
	}
	if r.isStale(src.Addr(), src.Port(), true, binary.BigEndian.Uint32(b[8:12])) {
		r.stale.Add(1)
		return nil, false
	}
	out, err := s.ctx.DecryptRTP(s.buf[:0], b, &s.hdr)
	if err != nil && s.prev != nil && !isReplay(err) {
		out, err = s.prev.DecryptRTP(s.buf[:0], b, &s.hdr)
		if err == nil {
			return out, true
		}
	}
	if err != nil {
		r.countSRTPError(err)
		return nil, false
	}
	if s.prev != nil {
		if s.sinceKey++; s.sinceKey >= rekeyGrace {
			s.prev = nil
		}
	}
	return out, true
}

// decryptRTCP authenticates and decrypts one SRTCP compound packet.
func (r *Receiver) decryptRTCP(s *srtpLoop, b []byte) ([]byte, bool) {
	if len(b) < 8 || b[0]>>6 != rtpVersion {
		r.invalid.Add(1)
		return nil, false
	}
	out, err := s.ctx.DecryptRTCP(nil, b, nil)
	if err != nil && s.prev != nil && !isReplay(err) {
		out, err = s.prev.DecryptRTCP(nil, b, nil)
	}
	if err != nil {
		r.countSRTPError(err)
		return nil, false
	}
	return out, true
}

// isReplay reports whether err is pion's replay refusal (its error type
// is not exported); any other error means the packet is not protected with
// the context's key: a wrong tag or MKI, an AEAD that fails to open, or a
// packet too short for the suite's tag (plain RTP on an SRTP leg).
func isReplay(err error) bool {
	return strings.Contains(err.Error(), "duplicated packet")
}

func (r *Receiver) countSRTPError(err error) {
	if !isReplay(err) {
		if r.authFail.Add(1) == 1 {
			r.log.Warn("srtp: authentication failed (wrong key?)", "port", r.port)
		}
		return
	}
	r.log.Debug("srtp: packet dropped", "port", r.port, "err", err)
	r.invalid.Add(1)
}

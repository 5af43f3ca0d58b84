package follow

import (
	"bytes"

	"github.com/pion/srtp/v3"

	"github.com/openrec/openrec/internal/media/rtpin"
	"github.com/openrec/openrec/internal/sip/sdpoa"
)

// srtpState decrypts one channel: SDES (RFC 4568) puts the key a party
// encrypts its own media with in its SDP, so whoever sees the signalling
// in clear can decrypt (DTLS-SRTP keys never appear on the wire).
type srtpState struct {
	key []byte
	ctx *srtp.Context // nil: no usable key
}

// sendKey returns the crypto line party p sends with: the one whose tag
// the other side's SDP answers (RFC 4568 §7.1.2), else p's first usable
// line.
func sendKey(p, other *sdpoa.Media) (sdpoa.Crypto, bool) {
	var first sdpoa.Crypto
	found := false
	tags := map[int]bool{}
	if other != nil {
		for _, v := range other.Crypto {
			if c, err := sdpoa.ParseCrypto(v); err == nil {
				tags[c.Tag] = true
			}
		}
	}
	for _, v := range p.Crypto {
		c, err := sdpoa.ParseCrypto(v)
		if err != nil {
			continue
		}
		if tags[c.Tag] {
			return c, true
		}
		if !found {
			first, found = c, true
		}
	}
	return first, found
}

// setSRTP (re)keys channel ch from its sender's SDP; the same key again
// keeps the context (its rollover state).
func (f *Follower) setSRTP(c *call, ch int) {
	snd := c.parties[ch].m
	if !snd.Secure() {
		c.srtp[ch] = nil
		return
	}
	k, ok := sendKey(snd, c.parties[1-ch].m)
	if !ok {
		c.srtp[ch] = &srtpState{} // SRTP without a usable SDES key (DTLS-SRTP): dropped and counted, never recorded as noise
		return
	}
	if s := c.srtp[ch]; s != nil && bytes.Equal(s.key, k.Key) {
		return
	}
	ctx, err := rtpin.NewSRTPContext(&rtpin.SRTP{Suite: k.Suite, MasterKey: k.MasterKey(), MasterSalt: k.MasterSalt(), MKI: k.MKI})
	if err != nil {
		c.srtp[ch] = &srtpState{}
		return
	}
	c.srtp[ch] = &srtpState{key: bytes.Clone(k.Key), ctx: ctx}
}

package recorder

import (
	"crypto/rand"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/openrec/openrec/internal/media/rtpin"
	"github.com/openrec/openrec/internal/sip/sdpoa"
	"github.com/openrec/openrec/internal/sip/sipsrv"
)

// SDES-SRTP (RFC 4568) on the recorder's side: the offerer's a=crypto key
// goes to the stream's rtpin.Receiver, which decrypts; the answer carries
// openrec's own fresh key with the same tag and suite. A stream whose
// packets all fail authentication (the sender uses another key) is a
// failed recording, never silence stored as a success: an event and a
// warning when it is noticed, a counter, and the recording's status.

// streamSRTP is the SRTP state of one stream (guarded by call.mu).
type streamSRTP struct {
	offered *sdpoa.Crypto // the sender's key line in force; nil: plain RTP
	answer  *sdpoa.Crypto // our a=crypto in answers
	alerted bool          // the auth-failure event was raised
}

// callSRTP is the SRTP outcome of a call's closed streams (call.mu).
type callSRTP struct {
	authFailures uint64 // packets of closed streams that failed authentication
	failed       []int  // channels of closed streams that had only auth failures
	partly       []int  // channels of closed streams that decrypted some packets and failed others
	partlyPkts   uint64 // the failed packets of those streams
}

// randReader is the source of answer keys (tests may replace it).
var randReader io.Reader = rand.Reader

// srtpFor returns the receiver keys for an offered m-line: nil for plain
// RTP, a 488 when the m-line is SRTP without a usable key (sipsrv refuses
// those first; this guards other callers).
func srtpFor(m sdpoa.Media) (*sdpoa.Crypto, *rtpin.SRTP, error) {
	if !m.Secure() {
		return nil, nil, nil
	}
	c, ok := m.SelectCrypto()
	if !ok || m.DTLS() {
		return nil, nil, &sipsrv.StatusError{Code: 488, Reason: "Not Acceptable Here: no usable SRTP crypto"}
	}
	return &c, receiverKeys(c), nil
}

func receiverKeys(c sdpoa.Crypto) *rtpin.SRTP {
	return &rtpin.SRTP{Suite: c.Suite, MasterKey: c.MasterKey(), MasterSalt: c.MasterSalt(), MKI: c.MKI}
}

// setSRTP records the stream's offered key and makes our answer key (a
// new one when the offered tag, suite or key changed).
func (s *stream) setSRTP(offered *sdpoa.Crypto) error {
	if offered == nil {
		s.srtp.offered, s.srtp.answer = nil, nil
		return nil
	}
	if s.srtp.offered != nil && s.srtp.answer != nil && sameCrypto(*s.srtp.offered, *offered) {
		return nil
	}
	a, err := sdpoa.AnswerCrypto(*offered, randReader)
	if err != nil {
		return err
	}
	s.srtp.offered, s.srtp.answer = offered, &a
	return nil
}

// noteSRTP records that a stream is received as SRTP (an event with the
// suite: the recording shows its media was encrypted in transit).
func noteSRTP(c *call, s *stream, now time.Time) {
	if o := s.srtp.offered; o != nil {
		c.event("srtp", s.channel, now, fmt.Sprintf("%s tag %d", o.Suite, o.Tag))
	}
}

func sameCrypto(a, b sdpoa.Crypto) bool {
	return a.Tag == b.Tag && a.Suite == b.Suite && string(a.Key) == string(b.Key) && string(a.MKI) == string(b.MKI)
}

// withSRTP adds the stream's answer key to an answer.
func withSRTP(a sdpoa.AnswerMedia, s *stream) sdpoa.AnswerMedia {
	a.Crypto = s.srtp.answer
	return a
}

// rekeySRTP applies a re-INVITE's a=crypto to an open stream (call.mu
// held): a new key goes to the receiver, which still accepts packets in
// flight under the old one. A plain RTP/AVP m-line turns decryption off
// (the srtp policy decided in sipsrv whether that is allowed); an SRTP
// m-line without a usable key is refused by sipsrv before it gets here,
// and here it only keeps the stream as it was.
func (r *Recorder) rekeySRTP(c *call, s *stream, m sdpoa.Media, now time.Time, why string) {
	if s.rx == nil {
		return
	}
	if !m.Secure() {
		if s.srtp.offered != nil && s.rx.SetSRTP(nil) == nil {
			_ = s.setSRTP(nil)
			c.event("srtp-off", s.channel, now, why)
			c.log.Warn("srtp: the sender switched to plain RTP", "channel", s.channel, "by", why)
		}
		return
	}
	off, keys, err := srtpFor(m)
	if err != nil || off == nil {
		return
	}
	if s.srtp.offered != nil && sameCrypto(*s.srtp.offered, *off) {
		return
	}
	if err := s.rx.SetSRTP(keys); err != nil {
		c.log.Warn("srtp: new key refused, keeping the old one", "channel", s.channel, "error", err)
		return
	}
	if err := s.setSRTP(off); err != nil {
		c.log.Error("srtp: answer key", "error", err)
		return
	}
	s.srtp.alerted = false
	c.event("srtp-rekey", s.channel, now, fmt.Sprintf("%s tag %d (%s)", off.Suite, off.Tag, why))
	c.log.Info("srtp: new key", "channel", s.channel, "suite", off.Suite, "by", why)
}

// checkSRTP raises the failed-recording alert for streams that receive
// only packets failing authentication (call.mu held; every tick).
func (r *Recorder) checkSRTP(c *call, now time.Time) {
	for _, l := range c.legs {
		for _, s := range l.streams {
			if s.rx == nil || s.srtp.offered == nil || s.srtp.alerted {
				continue
			}
			st := s.rx.Stats()
			if st.Packets > 0 || st.AuthFailures == 0 {
				continue
			}
			s.srtp.alerted = true
			r.stats.srtpFailedStreams.Add(1)
			c.event("srtp-auth-failed", s.channel, now, fmt.Sprintf("%d packets failed SRTP authentication, none decrypted (wrong key?)", st.AuthFailures))
			c.log.Warn("failed recording: SRTP authentication fails on every packet (wrong key?)",
				"channel", s.channel, "sip_call_id", l.callID, "auth_failures", st.AuthFailures, "suite", s.srtp.offered.Suite)
		}
	}
}

// srtpClosed keeps a closing stream's SRTP outcome (call.mu held).
func (r *Recorder) srtpClosed(c *call, s *stream, st rtpin.Stats) {
	if st.AuthFailures == 0 {
		return
	}
	c.srtp.authFailures += st.AuthFailures
	r.stats.srtpAuthFailures.Add(st.AuthFailures)
	if st.Packets == 0 {
		c.srtp.failed = append(c.srtp.failed, s.channel)
		if !s.srtp.alerted {
			s.srtp.alerted = true
			r.stats.srtpFailedStreams.Add(1)
			c.event("srtp-auth-failed", s.channel, r.cfg.Now(), fmt.Sprintf("%d packets failed SRTP authentication, none decrypted (wrong key?)", st.AuthFailures))
		}
		return
	}
	// Some packets decrypted, others did not: a key changed without a
	// re-INVITE, or packets were sprayed at the port. Their audio is not
	// in the recording; the record says so (the status stays, as for
	// packets from a foreign source, since anyone can send such packets).
	if !slices.Contains(c.srtp.partly, s.channel) {
		c.srtp.partly = append(c.srtp.partly, s.channel)
	}
	c.srtp.partlyPkts += st.AuthFailures
	c.event("srtp-auth-failed", s.channel, r.cfg.Now(), fmt.Sprintf("%d packets failed SRTP authentication, %d decrypted", st.AuthFailures, st.Packets))
}

// srtpNote is the status-reason note of SRTP packets that failed
// authentication on streams that decrypted others, "" if none did.
func (c *call) srtpNote() string {
	if c.srtp.partlyPkts == 0 {
		return ""
	}
	return fmt.Sprintf("%d SRTP packets failed authentication on channel %v", c.srtp.partlyPkts, c.srtp.partly)
}

// srtpStatus is the status reason of a recording whose SRTP failed, "" if
// it did not.
func (c *call) srtpStatus() string {
	if len(c.srtp.failed) == 0 {
		return ""
	}
	return fmt.Sprintf("SRTP authentication failed on channel %v: %d packets with a wrong key, none decrypted", c.srtp.failed, c.srtp.authFailures)
}

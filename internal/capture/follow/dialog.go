package follow

import (
	"net/netip"
	"time"

	"github.com/openrec/openrec/internal/capture/decode"
	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/sip/sdpoa"
	"github.com/openrec/openrec/internal/sip/siprec"
)

// maxAddrs bounds the media addresses (SDP and latched) kept per call.
const maxAddrs = 32

// call is one followed dialog (one Call-ID; forks share it and the one
// that answers is kept).
type call struct {
	id        string
	callerTag string
	calleeTag string // the answering fork's tag once confirmed
	confirmed bool
	info      CallInfo

	parties [2]party // 0 caller, 1 callee
	early   map[string]*sdpoa.Media
	held    [2]bool

	rec       Recording
	srtp      [2]*srtpState // decryption of each channel (SDES keys in the SDP), nil: plain RTP
	addrs     []netip.AddrPort
	last      time.Time // last SIP or RTP of the call
	endAt     time.Time // finish at (after BYE, CANCEL, a failure), zero while running
	endReason string
	packets   [2]uint64
}

// party is one side's latest audio m-line (where it receives, what it
// sends and whether it sends).
type party struct {
	m *sdpoa.Media
}

func (p party) sends() bool {
	return p.m != nil && p.m.Port != 0 && !p.m.Hold && (p.m.Direction == sdpoa.SendRecv || p.m.Direction == sdpoa.SendOnly)
}

func (p party) receives() bool {
	return p.m != nil && p.m.Port != 0 && !p.m.Hold && (p.m.Direction == sdpoa.SendRecv || p.m.Direction == sdpoa.RecvOnly)
}

// sip applies one SIP message.
func (f *Follower) sip(m *message, d *decode.Datagram) {
	f.stats.SIPMessages++
	c := f.calls[m.callID]
	if c == nil {
		if !m.request || m.method != "INVITE" || m.toTag != "" {
			return // not a dialog we saw start
		}
		if len(f.calls) >= f.cfg.MaxCalls {
			f.stats.Dropped++
			return
		}
		c = &call{id: m.callID, callerTag: m.fromTag, early: map[string]*sdpoa.Media{}, last: d.Time,
			info: CallInfo{SIPCallID: m.callID, CallUUID: m.callUUID, CallerDN: m.fromUser, CalleeDN: m.toUser, Caller: d.Src}}
		f.calls[m.callID] = c
		f.stats.Calls++
	}
	c.last = d.Time
	if c.info.CallUUID == "" {
		c.info.CallUUID = m.callUUID
	}
	// Who sent it: a request from the party owning its From tag, a
	// response from the other one.
	byCaller := (m.fromTag == c.callerTag) == m.request
	calleeTag := m.toTag
	if m.fromTag != c.callerTag {
		calleeTag = m.fromTag
	}
	if c.confirmed && calleeTag != "" && calleeTag != c.calleeTag {
		return // a fork that lost (or its 2xx, which the caller ends with BYE)
	}
	sdp := sdpOf(m)
	switch {
	case m.request && m.method == "BYE":
		f.ending(c, d.Time, "bye")
	case m.request && m.method == "CANCEL":
		if !c.confirmed {
			f.ending(c, d.Time, "cancelled")
		}
	case !m.request && m.method == "INVITE" && m.status >= 200:
		if m.status < 300 {
			if !c.confirmed && !byCaller {
				c.confirmed, c.calleeTag = true, calleeTag
				if sdp == nil {
					sdp = c.early[calleeTag]
				}
			}
		} else if !c.confirmed {
			f.ending(c, d.Time, "rejected: "+statusText(m.status))
		}
	case !m.request && m.method == "INVITE" && m.status > 100 && sdp != nil && !c.confirmed && !byCaller:
		c.early[calleeTag] = sdp
		if len(c.early) > 16 {
			clear(c.early) // a storm of forks: keep the latest
			c.early[calleeTag] = sdp
		}
	}
	if sdp == nil || !c.endAt.IsZero() {
		return
	}
	// A failed offer/answer (4xx to a re-INVITE) carries no SDP; an SDP
	// in a 2xx/18x answer or an offer/answer request applies.
	if !m.request && m.status >= 300 {
		return
	}
	p := 1
	if byCaller {
		p = 0
	}
	f.setMedia(c, p, sdp, d.Time)
}

// sdpOf returns the first recordable audio m-line of a message body.
func sdpOf(m *message) *sdpoa.Media {
	if len(m.body) == 0 {
		return nil
	}
	b, err := siprec.SplitBody(m.contentTyp, m.body)
	if err != nil || len(b.SDP) == 0 {
		return nil
	}
	s, err := sdpoa.ParseOffer(b.SDP)
	if err != nil {
		return nil
	}
	for i := range s.Media {
		if s.Media[i].Recordable() {
			return &s.Media[i]
		}
	}
	return nil
}

// ending schedules the end of c after the linger.
func (f *Follower) ending(c *call, at time.Time, reason string) {
	if !c.endAt.IsZero() {
		return
	}
	c.endAt, c.endReason = at.Add(f.cfg.Linger), reason
	if f.next.IsZero() || c.endAt.Before(f.next) {
		f.next = c.endAt
	}
}

// setMedia applies party p's new audio m-line: its receive address is
// routed to c, and once both sides are known the recording opens (or its
// codecs and hold state follow the change).
func (f *Follower) setMedia(c *call, p int, m *sdpoa.Media, at time.Time) {
	c.parties[p].m = m
	if a := netip.AddrPortFrom(m.Addr.Unmap(), uint16(m.Port)); m.Addr.IsValid() && !m.Addr.IsUnspecified() && m.Port > 0 && len(c.addrs) < maxAddrs {
		f.register(c, p, a)
	}
	if c.parties[0].m == nil || c.parties[1].m == nil {
		return
	}
	if c.rec == nil {
		c.info.Start = at
		rec, err := f.sink.Open(c.info)
		if err != nil {
			f.stats.OpenFailures++
			f.log.Warn("capture: recording not opened", "sip_call_id", c.id, "error", err)
			return
		}
		f.stats.Recordings++
		c.rec = rec
		f.log.Debug("capture: recording opened", "sip_call_id", c.id, "caller", c.info.CallerDN, "callee", c.info.CalleeDN)
	}
	for ch := 0; ch < 2; ch++ {
		// Channel ch is sent by party ch with the payload types of the
		// receiver's SDP (RFC 3264 §5.1); the sender's fill the rest.
		snd, rcv := c.parties[ch].m, c.parties[1-ch].m
		codecs := append(append([]media.Codec(nil), snd.Codecs...), rcv.Codecs...)
		te, cn := rcv.TelephoneEvent, rcv.ComfortNoise
		if te == nil {
			te = snd.TelephoneEvent
		}
		if cn == nil {
			cn = snd.ComfortNoise
		}
		c.rec.SetCodecs(ch, codecs, te, cn)
		f.setSRTP(c, ch)
		held := !c.parties[ch].sends() || !c.parties[1-ch].receives()
		if held != c.held[ch] {
			c.held[ch] = held
			c.rec.SetHeld(ch, held, at)
		}
	}
}

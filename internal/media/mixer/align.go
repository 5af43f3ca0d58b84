package mixer

import (
	"time"

	"github.com/openrec/openrec/internal/media"
)

// HandleSenderReport records an RTCP sender report (RFC 3550 §6.4.1) and
// aligns the channels on the sender's wall clock: see the package
// documentation. The latest report is kept; one for an SSRC whose packets
// have not arrived yet applies when they do.
func (t *Track) HandleSenderReport(sr *media.SenderReport) {
	if sr == nil {
		return
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.sr = srState{
		have:   true,
		ssrc:   sr.SSRC,
		wallNS: ntpNS(sr.NTPTime),
		rtp:    sr.RTPTime,
	}
	t.mu.Unlock()
	t.m.realign()
}

// ntpNS converts a 64-bit NTP timestamp to nanoseconds since the NTP epoch
// without any clamping: a sender's clock need not be near ours (some send
// uptime), only consistent across its streams.
func ntpNS(ntp uint64) int64 {
	return int64(ntp>>32)*int64(time.Second) + int64(((ntp&0xFFFFFFFF)*uint64(time.Second))>>32)
}

// senderWallOfAnchor returns the sender wall clock (ns since Start, by the
// sender's clock) of the anchor timestamp, if the track has a sender report
// for its current SSRC. t.mu must be held.
func (t *Track) senderWallOfAnchor() (int64, bool) {
	if !t.anchored || !t.sr.have || t.sr.ssrc != t.ssrc {
		return 0, false
	}
	srTS := t.refTS + int64(int32(t.sr.rtp-uint32(t.refTS)))
	return t.sr.wallNS + (t.anchorTS-srTS)*int64(time.Second)/t.clock, true
}

// senderOffset returns timeline ns - sender wall ns for this track's
// arrival anchor. t.mu must be held.
func (t *Track) senderOffset() (int64, bool) {
	wall, ok := t.senderWallOfAnchor()
	if !ok {
		return 0, false
	}
	return t.m.posToNS(t.anchorPos) - wall, true
}

// alignToSender re-anchors the track on the common sender clock (timeline
// ns = sender ns + rel) when that moves it by more than 10 ms. With move,
// samples already placed move along (see shift). t.mu must be held.
func (t *Track) alignToSender(rel int64, move bool) {
	wall, ok := t.senderWallOfAnchor()
	if !ok {
		return
	}
	want := t.m.nsToPos(wall + rel)
	delta := want - t.anchorPos
	if delta >= -t.m.alignThreshold() && delta <= t.m.alignThreshold() {
		return
	}
	if delta < -t.size || delta > t.size {
		// Not one sender clock (or a broken one): keep arrival alignment.
		if !t.warnedSR {
			t.warnedSR = true
			t.m.log.Warn("mixer: RTCP sender clock disagrees with arrival by more than MaxAhead; ignoring it",
				"channel", t.ch, "ms", t.m.posToMS(max(delta, -delta)))
		}
		return
	}
	t.m.log.Debug("mixer: re-anchored on sender clock", "channel", t.ch, "samples", delta)
	if move {
		t.shift(delta)
	} else {
		t.anchorPos = want
	}
}

// shift moves the anchor and the placed samples that are not final by
// delta. Moving forward leaves silence behind what is final; moving
// backward drops what would land before final. t.mu must be held.
func (t *Track) shift(delta int64) {
	t.anchorPos += delta
	from, to := t.final, t.maxEnd
	if to <= from {
		return
	}
	end := t.written + t.size
	bps := int64(t.m.bps)
	move := func(p int64) {
		d := p + delta
		if d < t.final || d >= end {
			return
		}
		si, di := (p%t.size)*bps, (d%t.size)*bps
		copy(t.ring[di:di+bps], t.ring[si:si+bps])
	}
	if delta > 0 {
		for p := to - 1; p >= from; p-- {
			move(p)
		}
		t.fillSilence(from, min(delta, to-from))
	} else {
		for p := from; p < to; p++ {
			move(p)
		}
		vac := max(from, to+delta)
		t.fillSilence(vac, to-vac)
	}
	t.maxEnd = min(max(to+delta, t.final), end)
}

package dial

import (
	"context"
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/codec"
	"github.com/openrec/openrec/internal/media/g711"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// RTP framing: 20 ms of 8 kHz G.711 per packet (RFC 3551 §4.5.14).
const (
	packetInterval   = 20 * time.Millisecond
	samplesPerPacket = 160
	rtpHeaderLen     = 12
	maxPacketLen     = rtpHeaderLen + samplesPerPacket
	srInterval       = 5 * time.Second

	// RFC 4733 events: 100 ms each (5 packets), the end packet sent 3 times.
	dtmfTicks       = 5
	dtmfEndRepeats  = 3
	dtmfVolume      = 10
	dtmfFirstTick   = int(time.Second / packetInterval)
	dtmfTickSpacing = int(time.Second / packetInterval)
)

// slot is one pre-marshalled packet waiting for its send time.
type slot struct {
	buf     [maxPacketLen]byte
	n       int
	payload int       // payload octets (RTCP SR octet count)
	at      time.Time // send time (deadline + jitter)
	follow  int       // slot sent right after this one (reordering), -1: none
}

// stream sends one party's RTP. All its state is owned by the session
// goroutine that paces it; nothing here is shared.
type stream struct {
	party int // 0: recorded DN, 1: other party
	log   *slog.Logger
	pair  rtpPair
	dst   netip.AddrPort
	rtcp  netip.AddrPort
	src   Source
	send  bool // false: the answer rejected or muted this stream

	codec  string
	pt     uint8
	g722   *codec.G722Encoder // when codec is G722
	dtmfPT int                // -1: no DTMF on this stream
	dtmf   []byte

	ssrc uint32
	seq  uint16
	ts0  uint32

	pcm     [samplesPerPacket]int16
	slots   []slot
	free    []int
	pending []int
	held    int // slot withheld by Reorder until the next send, -1: none

	rng     *rand.Rand
	loss    float64
	reorder float64
	jitter  time.Duration

	ssrcChangeTick int // tick at which the SSRC changes (Spec.SSRCChangeAt), 0: never

	mute  func() bool // Spec.Mute
	muted bool        // the previous tick was muted: mark the next packet
	quiet bool        // silenced while a re-INVITE with new media is under way

	wantSR bool
	nextSR time.Time
	hdr    rtp.Header

	sent, dropped  int // cumulative over the stream's sources (Result)
	srSent, octets int // this SSRC's counts (RTCP sender reports)
	writeErr       bool

	// SRTP (srtp.go): the key offered, the sending context (nil: plain
	// RTP) and its reused buffers.
	key    *streamKey
	enc    *srtp.Context
	encBuf [maxPacketLen + srtpMaxOverhead]byte
	encHdr rtp.Header
}

func newStream(party int, src Source, codec string, pair rtpPair, p *plan, log *slog.Logger) *stream {
	s := &stream{
		party:   party,
		log:     log,
		pair:    pair,
		src:     src,
		codec:   codec,
		dtmfPT:  -1,
		held:    -1,
		rng:     rand.New(rand.NewPCG(uint64(p.Seed), uint64(party)+1)),
		loss:    p.Loss,
		reorder: p.Reorder,
		jitter:  p.Jitter,
		wantSR:  p.RTCP,
		mute:    partyMute(p, party),
		ssrcChangeTick: func() int {
			if party != 0 || p.SSRCChangeAt <= 0 {
				return 0
			}
			return int(p.SSRCChangeAt / packetInterval)
		}(),
		seq: uint16(rand.Uint32()),
		ts0: rand.Uint32(),
	}
	for s.ssrc == 0 {
		s.ssrc = rand.Uint32()
	}
	if p.SRTP != "" {
		k, err := newStreamKey(p.SRTP, p.SRTPWrongKey) // suite checked by newPlan
		if err != nil {
			log.Error("srtp: key", "error", err)
		}
		s.useKey(k)
	}
	n := dtmfEndRepeats*(int(p.Jitter/packetInterval)+3) + 2
	s.slots = make([]slot, n)
	s.free = make([]int, n)
	s.pending = make([]int, 0, n)
	for i := range s.free {
		s.free[i] = n - 1 - i
	}
	return s
}

// configure applies the SDP answer for this stream.
func (s *stream) configure(a answerStream, dtmf []byte) {
	s.send = a.send
	s.dst, s.rtcp = a.rtp, a.rtcp
	s.codec, s.pt = a.codec, a.pt
	if s.codec == "G722" && s.g722 == nil {
		s.g722 = codec.NewG722Encoder()
	}
	if s.party == 0 && len(dtmf) > 0 {
		if a.dtmfPT >= 0 {
			s.dtmfPT, s.dtmf = a.dtmfPT, dtmf
		} else {
			s.log.Warn("answer did not accept telephone-event; not sending DTMF")
		}
	}
	if s.pair.rtcp == nil {
		s.wantSR = false
	}
}

func (s *stream) alloc() int {
	if len(s.free) == 0 { // only if jitter/reorder outran the estimate
		s.slots = append(s.slots, slot{})
		return len(s.slots) - 1
	}
	i := s.free[len(s.free)-1]
	s.free = s.free[:len(s.free)-1]
	return i
}

func (s *stream) release(i int) { s.free = append(s.free, i) }

// generate builds the packets of tick k (deadline t) and queues them.
func (s *stream) generate(k int, t time.Time) {
	s.src.Read(s.pcm[:])
	if !s.send {
		return
	}
	if s.quiet || (s.mute != nil && s.mute()) {
		s.muted = true
		return
	}
	marker := k == 0 || s.muted
	s.muted = false
	if s.ssrcChangeTick > 0 && k == s.ssrcChangeTick {
		// Unsignalled restart: new SSRC, sequence and timestamp base.
		old := s.ssrc
		for s.ssrc == old || s.ssrc == 0 {
			s.ssrc = s.rng.Uint32()
		}
		s.seq = uint16(s.rng.Uint32())
		s.ts0 = s.rng.Uint32() - uint32(k*samplesPerPacket)
		marker = true
	}
	if ev, j, ok := s.dtmfAt(k); ok {
		start := k - j
		repeats := 1
		if j == dtmfTicks-1 {
			repeats = dtmfEndRepeats
		}
		for range repeats {
			i := s.alloc()
			sl := &s.slots[i]
			s.hdr = rtp.Header{Version: 2, Marker: j == 0, PayloadType: uint8(s.dtmfPT),
				SequenceNumber: s.seq, Timestamp: s.ts0 + uint32(start*samplesPerPacket), SSRC: s.ssrc}
			s.seq++
			n, _ := s.hdr.MarshalTo(sl.buf[:])
			// RFC 4733 §2.3: event, E|R|volume, duration.
			sl.buf[n] = ev
			sl.buf[n+1] = dtmfVolume
			if j == dtmfTicks-1 {
				sl.buf[n+1] |= 0x80
			}
			binary.BigEndian.PutUint16(sl.buf[n+2:], uint16((j+1)*samplesPerPacket))
			sl.n, sl.payload = n+4, 4
			s.queue(i, t)
		}
		return
	}
	i := s.alloc()
	sl := &s.slots[i]
	s.hdr = rtp.Header{Version: 2, Marker: marker, PayloadType: s.pt,
		SequenceNumber: s.seq, Timestamp: s.ts0 + uint32(k*samplesPerPacket), SSRC: s.ssrc}
	s.seq++
	n, _ := s.hdr.MarshalTo(sl.buf[:])
	switch {
	case s.g722 != nil:
		s.g722.Encode(s.pcm[:], sl.buf[n:n+samplesPerPacket])
	case s.codec == media.PCMA:
		g711.EncodeALawTo(sl.buf[n:], s.pcm[:])
	default:
		g711.EncodeULawTo(sl.buf[n:], s.pcm[:])
	}
	sl.n, sl.payload = n+samplesPerPacket, samplesPerPacket
	s.queue(i, t)
}

// dtmfAt reports whether tick k falls in a DTMF event, which, and the
// packet index j within the event.
func (s *stream) dtmfAt(k int) (ev byte, j int, ok bool) {
	if s.dtmfPT < 0 || k < dtmfFirstTick {
		return 0, 0, false
	}
	d := (k - dtmfFirstTick) / dtmfTickSpacing
	j = (k - dtmfFirstTick) % dtmfTickSpacing
	if d >= len(s.dtmf) || j >= dtmfTicks {
		return 0, 0, false
	}
	return s.dtmf[d], j, true
}

// queue applies the impairments to a built packet: drop it (Loss), hold it
// back behind its successor (Reorder), or schedule it at t + jitter.
func (s *stream) queue(i int, t time.Time) {
	lost, swap, jit := s.rng.Float64(), s.rng.Float64(), s.rng.Float64()
	sl := &s.slots[i]
	sl.follow = -1
	if lost < s.loss {
		s.dropped++
		s.release(i)
		return
	}
	sl.at = t
	if s.jitter > 0 {
		sl.at = t.Add(time.Duration(jit * float64(s.jitter)))
	}
	if s.held < 0 && swap < s.reorder {
		s.held = i
		return
	}
	if s.held >= 0 {
		sl.follow, s.held = s.held, -1
	}
	s.pending = append(s.pending, i)
}

// flushHeld moves a packet still held for reordering to the queue.
func (s *stream) flushHeld(t time.Time) {
	if s.held >= 0 {
		s.slots[s.held].at = t
		s.pending = append(s.pending, s.held)
		s.held = -1
	}
}

// sendDue sends every queued packet whose time has come, earliest first.
func (s *stream) sendDue(now time.Time, start time.Time, wall func() time.Time) {
	for {
		best := -1
		for pi, i := range s.pending {
			if s.slots[i].at.After(now) {
				continue
			}
			if best < 0 || s.slots[i].at.Before(s.slots[s.pending[best]].at) {
				best = pi
			}
		}
		if best < 0 {
			return
		}
		i := s.pending[best]
		s.pending = append(s.pending[:best], s.pending[best+1:]...)
		for i >= 0 {
			s.write(i)
			if s.wantSR && s.nextSR.IsZero() {
				s.sendSR(now, start, wall)
			}
			next := s.slots[i].follow
			s.release(i)
			i = next
		}
	}
}

func (s *stream) write(i int) {
	sl := &s.slots[i]
	b := s.protectRTP(sl.buf[:sl.n])
	if b == nil {
		return
	}
	if _, err := s.pair.rtp.WriteToUDPAddrPort(b, s.dst); err != nil {
		if !s.writeErr {
			s.log.Warn("RTP send failed", "dst", s.dst, "error", err)
			s.writeErr = true
		}
		return
	}
	s.sent++
	s.srSent++
	s.octets += sl.payload
}

// sendSR sends an RTCP sender report (RFC 3550 §6.4.1) with an SDES CNAME
// (a compound packet, §6.1). The RTP time is the sampling instant of now
// on this stream's media clock.
func (s *stream) sendSR(now, start time.Time, wall func() time.Time) {
	s.nextSR = now.Add(srInterval)
	elapsed := now.Sub(start)
	sr := &rtcp.SenderReport{
		SSRC:        s.ssrc,
		NTPTime:     media.TimeToNTP(wall()),
		RTPTime:     s.ts0 + uint32(elapsed*SampleRate/time.Second),
		PacketCount: uint32(s.srSent),
		OctetCount:  uint32(s.octets),
	}
	sdes := rtcp.NewCNAMESourceDescription(s.ssrc, "openrec-dial")
	b, err := rtcp.Marshal([]rtcp.Packet{sr, sdes})
	if b = s.protectRTCP(b); err != nil || b == nil {
		return
	}
	if _, err := s.pair.rtcp.WriteToUDPAddrPort(b, s.rtcp); err != nil {
		s.log.Warn("RTCP send failed", "dst", s.rtcp, "error", err)
	}
}

// earliest returns the earliest pending send time (ok false when none).
func (s *stream) earliest() (t time.Time, ok bool) {
	for _, i := range s.pending {
		if !ok || s.slots[i].at.Before(t) {
			t, ok = s.slots[i].at, true
		}
	}
	return t, ok
}

// pace runs the streams of one session for ticks packets each, against
// absolute deadlines start + k·20 ms (no drift; a late wake-up catches up
// by sending the missed packets at once). It returns early when ctx is done
// or stop is closed. A mediaSwitch arriving on ctl (a re-INVITE's outcome)
// is applied between packets; ctl may be nil.
func pace(ctx context.Context, stop <-chan struct{}, streams []*stream, ticks int, wall func() time.Time,
	ctl <-chan mediaSwitch, dtmf []byte) {
	start := time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	k := 0
	for {
		now := time.Now()
		for ; k < ticks; k++ {
			t := start.Add(time.Duration(k) * packetInterval)
			if t.After(now) {
				break
			}
			for _, s := range streams {
				s.generate(k, t)
			}
		}
		if k == ticks {
			for _, s := range streams {
				s.flushHeld(now)
			}
		}
		var next time.Time
		if k < ticks {
			next = start.Add(time.Duration(k) * packetInterval)
		}
		for _, s := range streams {
			s.sendDue(now, start, wall)
			if s.wantSR && !s.nextSR.IsZero() && !now.Before(s.nextSR) && k < ticks {
				s.sendSR(now, start, wall)
			}
			if t, ok := s.earliest(); ok && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
		if next.IsZero() {
			return
		}
		timer.Reset(time.Until(next))
		select {
		case <-timer.C:
		case <-ctx.Done():
			return
		case <-stop:
			return
		case sw := <-ctl:
			now := time.Now()
			for _, c := range sw.changes {
				switch {
				case sw.quiet && c.touched:
					c.stream.silence()
				case !sw.quiet:
					c.stream.apply(c, now, start, wall, streams, dtmf)
				}
			}
		}
	}
}

// partyMute is the mute function of party's streams: Spec.Mute, or
// Spec.MuteParty for this party.
func partyMute(p *plan, party int) func() bool {
	if p.MuteParty == nil {
		return p.Mute
	}
	return func() bool { return (p.Mute != nil && p.Mute()) || p.MuteParty(party) }
}

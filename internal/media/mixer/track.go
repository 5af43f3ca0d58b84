package mixer

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/g711"
	"github.com/openrec/openrec/internal/media/resample"
)

const (
	// slotCount is the number of sequence numbers remembered per track for
	// duplicate detection and concealment (20 s of 20 ms packets, more
	// than any MaxAhead).
	slotCount = 1024
	slotMask  = slotCount - 1

	// maxDropout and maxMisorder bound a sequence number step that still
	// belongs to the same stream (RFC 3550 appendix A.1); anything else is
	// a restart of the sender and re-anchors the track.
	maxDropout  = 3000
	maxMisorder = 1000

	// maxRawBuffer bounds the raw payload bytes buffered between flushes.
	maxRawBuffer = 1 << 20
)

// seqSlot remembers one placed sequence number.
type seqSlot struct {
	seq       int64 // extended sequence number + 1; 0 = empty
	ts        int64 // extended RTP timestamp
	n         int64 // samples written (audio) or concealed
	audio     bool  // audio samples of this packet are in the ring
	concealed bool  // the packet is missing and was concealed
}

// srState is the last RTCP sender report of a track.
type srState struct {
	have   bool
	ssrc   uint32
	wallNS int64 // sender wall clock, ns since the NTP epoch
	rtp    uint32
}

// Track is one channel of a Mixer. It implements media.PacketHandler.
// All methods are safe for concurrent use.
type Track struct {
	m  *Mixer
	ch int

	mu     sync.Mutex
	closed bool
	pts    [128]ptEntry

	// ring holds storage samples for positions [written, written+size).
	ring    []byte
	size    int64
	written int64
	// final: samples before it no longer change (packets for them are
	// late). It is written, or ahead of it by the DTMF masker's lookahead:
	// the masker has seen those samples, so nothing may be placed there.
	final  int64
	maxEnd int64 // end of the highest placed sample

	// stream state
	anchored  bool
	ssrc      uint32
	prevSSRC  uint32 // the SSRC before the last change ...
	changeNS  int64  // ... and the arrival time of the change
	anchorPos int64
	anchorTS  int64
	maxSeq    int64 // highest extended sequence number
	refTS     int64 // extended timestamp of the packet with maxSeq
	baseSeq   int64
	received  uint64 // unique packets of the current stream
	lostPrev  uint64 // lost packets of earlier streams
	slots     [slotCount]seqSlot
	codec     string
	sr        srState
	warnedSR  bool
	// refine: the stream is young and nothing has been placed by
	// position but audio, so an early packet may still move its arrival
	// anchor back (see refineAnchor).
	refine    bool
	anchorArr int64 // arrival (ns since Start) of the stream's first packet
	refined   int64 // how far (samples) refineAnchor has moved the anchor back

	dtmf struct {
		active, ended bool
		ts            int64
		event         uint8
		idx           int
		durMS         int64
		pos           int64 // the event's start on the timeline
		arr           int64 // arrival (ns since Start) of its first packet
	}
	cn struct {
		active bool
		idx    int
		pos    int64
	}

	stats TrackStats
	mask  masking // DTMF masking, when the mixer masks

	clock    int64            // RTP clock of the current stream's audio (8000 until a packet says otherwise)
	decoders [128]Decoder     // per payload type of kind kindCodec
	codecs   [128]media.Codec // what each decoder decodes
	dec      []int16          // decoding buffer
	decErrs  uint64

	pcm []int16 // decoding buffer of the tap

	// A 16 kHz timeline: G.711 decoded (g711pcm) and doubled (up, wide);
	// the tap's audio halved to 8 kHz (tapHalf, tapPCM).
	g711pcm []int16
	wideBuf []int16
	up      resample.Doubler
	tapHalf resample.Halver
	tapPCM  []int16

	raw       []byte // raw records since the last flush
	rawSpare  []byte
	rawW      io.Writer // owned by Flush
	rawFailed bool
	rawDrops  uint64
}

func newTrack(m *Mixer, ch int) *Track {
	t := &Track{m: m, ch: ch, size: m.ahead, clock: 8000}
	t.ring = make([]byte, int(t.size)*m.bps)
	t.fillSilence(0, t.size)
	for pt := range t.pts {
		t.pts[pt] = staticPT(uint8(pt))
	}
	return t
}

// String describes the track for logs.
func (t *Track) String() string { return fmt.Sprintf("mixer track %d", t.ch) }

// SetCodecs installs the payload type map negotiated in SDP. It may be
// called again after a re-INVITE; the storage format never changes.
// Payload types not in the map keep their RFC 3551 static meaning.
func (t *Track) SetCodecs(codecs []media.Codec, telephoneEvent, comfortNoise *media.Codec) {
	var pts [128]ptEntry
	for pt := range pts {
		pts[pt] = staticPT(uint8(pt))
	}
	var decs [128]Decoder
	var decCodecs [128]media.Codec
	for _, c := range codecs {
		if c.PT >= 128 {
			continue
		}
		pts[c.PT] = entryFor(c, kindOfName(c.Name))
		if pts[c.PT].kind != kindUnknown || t.m.cfg.Decoders == nil {
			continue
		}
		t.mu.Lock()
		old, oldCodec := t.decoders[c.PT], t.codecs[c.PT]
		t.mu.Unlock()
		if old != nil && oldCodec == c {
			decs[c.PT], decCodecs[c.PT] = old, c // a re-INVITE with the same codec keeps its state
		} else if d, err := t.m.cfg.Decoders(c); err == nil {
			decs[c.PT], decCodecs[c.PT] = d, c
		} else {
			t.m.log.Info("mixer: codec not decodable here; kept raw", "channel", t.ch, "codec", c.Name, "err", err)
			continue
		}
		pts[c.PT].kind = kindCodec
	}
	if telephoneEvent != nil && telephoneEvent.PT < 128 {
		pts[telephoneEvent.PT] = entryFor(*telephoneEvent, kindEvent)
	}
	if comfortNoise != nil && comfortNoise.PT < 128 {
		pts[comfortNoise.PT] = entryFor(*comfortNoise, kindCN)
	}
	t.mu.Lock()
	t.pts = pts
	t.decoders, t.codecs = decs, decCodecs
	t.mu.Unlock()
}

// SetHeld starts (held) or ends a hold span of this channel at time at:
// Flush writes silence for it and a "hold" Segment records it.
func (t *Track) SetHeld(held bool, at time.Time) { t.m.setHeld(t.ch, held, at) }

// Stats returns the track's counters.
func (t *Track) Stats() TrackStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.LostPackets = t.lostPrev + t.lostNow()
	s.SSRC = t.ssrc
	s.Codec = t.codec
	s.DecodeErrors = t.decErrs
	return s
}

func (t *Track) lostNow() uint64 {
	if !t.anchored {
		return 0
	}
	expected := t.maxSeq - t.baseSeq + 1
	if expected <= int64(t.received) {
		return 0
	}
	return uint64(expected) - t.received
}

// HandleRTP places one packet. It copies what it keeps and never blocks on
// I/O.
func (t *Track) HandleRTP(p *media.Packet) {
	if p == nil {
		return
	}
	m := t.m
	arrNS := m.relNS(p.Arrival)
	paused := m.pausedAt(arrNS, -1)

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.stats.Packets++
	e := t.pts[p.PayloadType&0x7F]

	first := false
	if t.anchored && p.SSRC != t.ssrc && p.SSRC == t.prevSSRC && arrNS < t.changeNS+t.m.posToNS(m.window) {
		// A straggler of the stream just replaced: late, not a change back.
		t.stats.Late++
		return
	}
	if !t.anchored || p.SSRC != t.ssrc {
		t.startStream(p, arrNS, t.anchored)
		first = true
	} else if d := int64(int16(p.Seq - uint16(t.maxSeq))); d > maxDropout || d < -maxMisorder {
		t.startStream(p, arrNS, false)
		first = true
	}
	ext := t.maxSeq + int64(int16(p.Seq-uint16(t.maxSeq)))
	extTS := t.refTS + int64(int32(p.Timestamp-uint32(t.refTS)))

	slot := &t.slots[ext&slotMask]
	var concealed int64
	if slot.seq == ext+1 {
		if !slot.concealed {
			if e.kind != kindEvent { // repeated RFC 4733 end packets are normal
				t.stats.Duplicates++
			}
			return
		}
		concealed = slot.n
	}
	newer := first || ext > t.maxSeq
	if ext > t.maxSeq {
		t.maxSeq, t.refTS = ext, extTS
	} else if !first {
		t.stats.Reordered++
	}
	t.received++
	*slot = seqSlot{seq: ext + 1, ts: extTS}

	if (e.kind == kindPCMU || e.kind == kindPCMA || e.kind == kindCodec) && int64(e.clock) != t.clock {
		// The stream's clock changed with its codec: its timestamps mean
		// something else from here on, so it is anchored anew.
		t.clock = int64(e.clock)
		t.anchorAtArrival(arrNS, extTS)
		t.sr.have = false
	}
	switch e.kind {
	case kindPCMU, kindPCMA:
		s := samples{g711: p.Payload, kind: e.kind}
		if t.m.wide() {
			s = samples{pcm: t.doubleG711(p.Payload, e.kind), kind: e.kind}
		}
		t.audio(s, e, slot, ext, extTS, arrNS, newer, paused, concealed)
	case kindCodec:
		pcm, err := t.decoders[p.PayloadType&0x7F].Decode(p.Payload, t.dec)
		if err != nil {
			t.decErrs++
			return
		}
		t.dec = pcm[:0]
		if len(pcm) == 0 {
			return // DTX: nothing to place
		}
		t.audio(samples{pcm: pcm, kind: kindCodec}, e, slot, ext, extTS, arrNS, newer, paused, concealed)
	case kindEvent:
		if !paused {
			t.telephoneEvent(p.Payload, e, extTS, arrNS)
		}
	case kindCN:
		if newer {
			t.comfortNoise(extTS)
		}
	default:
		t.undecodable(p, e, extTS, arrNS, newer, paused)
	}
}

// startStream starts a new stream (first packet, new SSRC when changed,
// or a sequence restart) anchored at the packet's arrival.
func (t *Track) startStream(p *media.Packet, arrNS int64, ssrcChanged bool) {
	m := t.m
	if t.anchored {
		t.lostPrev += t.lostNow()
		if t.cn.active {
			t.cn.active = false
			if d := max(t.m.nsToPos(arrNS), t.final) - t.cn.pos; d > 0 {
				m.setEventDuration(t.cn.idx, t.m.posToMS(d))
			}
		}
		if ssrcChanged {
			t.prevSSRC, t.changeNS = t.ssrc, arrNS
			pos := max(t.m.nsToPos(arrNS), t.final)
			m.addEvent(Event{Type: EventSSRCChange, Channel: t.ch, AtMS: t.m.posToMS(pos),
				Detail: fmt.Sprintf("%08x->%08x", t.ssrc, p.SSRC)})
			m.log.Info("mixer: SSRC changed", "channel", t.ch,
				"old", fmt.Sprintf("%08x", t.ssrc), "new", fmt.Sprintf("%08x", p.SSRC))
		} else {
			m.log.Info("mixer: RTP sequence restart", "channel", t.ch, "ssrc", fmt.Sprintf("%08x", p.SSRC))
		}
	}
	t.ssrc = p.SSRC
	t.up.Reset()
	clear(t.slots[:])
	t.maxSeq = int64(p.Seq)
	t.baseSeq = t.maxSeq
	t.refTS = int64(p.Timestamp)
	t.received = 0
	t.anchored = true
	t.dtmf.active = false
	t.anchorAtArrival(arrNS, t.refTS)
	t.refine, t.anchorArr, t.refined = true, arrNS, 0
	if !t.sr.have || t.sr.ssrc != t.ssrc {
		t.sr.have = false
		return
	}
	// A sender report for this SSRC came before its first packet.
	if rel, ok := m.offset(); ok {
		t.alignToSender(rel, false)
	} else {
		m.realignPending.Store(true)
	}
}

// refineWindow is how long after its first packet a stream's arrival
// anchor may still move back; refineThreshold is how much earlier than
// the anchor implies a packet must arrive to move it.
func (m *Mixer) refineWindow() int64    { return m.rate }             // 1 s of timeline
func (m *Mixer) refineThreshold() int64 { return m.alignThreshold() } // 10 ms
func (m *Mixer) refineMax() int64       { return m.rate / 4 }         // 250 ms in all

// alignThreshold is the smallest RTCP re-anchoring applied (10 ms).
func (m *Mixer) alignThreshold() int64 { return m.rate / 100 }

// refineAnchor moves the arrival anchor of a young stream back when a
// later packet arrives earlier than the anchor implies: the first packet
// was delayed more than this one (a busy receiver, jitter), and arrival
// alignment should follow the least-delayed packet, not the first. Only
// packets that arrived after the first count (those handed over with it
// carry its arrival time), and the anchor moves back 250 ms at most. Audio
// placed so far moves along (shift). Only while no sender report aligns
// the track and nothing but audio has been placed by position (refine).
// It returns pos for the anchor in force. t.mu must be held.
func (t *Track) refineAnchor(pos, extTS, arrNS int64) int64 {
	if t.sr.have || pos-t.anchorPos >= t.m.refineWindow() {
		t.refine = t.refine && !t.sr.have && pos-t.anchorPos < t.m.refineWindow()
		return pos
	}
	if arrNS <= t.anchorArr {
		// Handed over with the first packet (one read, one timestamp):
		// says nothing about its delay.
		return pos
	}
	arr := max(t.m.nsToPos(arrNS), t.final)
	if arr >= pos-t.m.refineThreshold() {
		return pos
	}
	// Never move audio already placed behind what is final (it would be
	// dropped), and 250 ms at most in all.
	delta := max(arr-pos, -(t.m.refineMax() - t.refined), t.final-t.anchorPos)
	if delta >= 0 {
		return pos
	}
	t.refined -= delta
	t.m.log.Debug("mixer: arrival anchor moved back to an earlier packet", "channel", t.ch, "ms", t.m.posToMS(-delta))
	t.shift(delta)
	return pos + delta
}

// anchorAtArrival anchors the stream so that timestamp extTS is at the
// position of arrival time arrNS (never before what is final).
func (t *Track) anchorAtArrival(arrNS, extTS int64) {
	t.anchorPos = max(t.m.nsToPos(arrNS), t.final)
	t.anchorTS = extTS
}

// pos returns the timeline position of extended timestamp extTS (in the
// stream's RTP clock; the timeline counts samples at the mixer's rate).
func (t *Track) pos(extTS int64) int64 {
	if t.clock == t.m.rate {
		return t.anchorPos + extTS - t.anchorTS
	}
	return t.anchorPos + floorDiv((extTS-t.anchorTS)*t.m.rate, t.clock)
}

// audio places the samples of one packet.
func (t *Track) audio(s samples, e ptEntry, slot *seqSlot, ext, extTS, arrNS int64, newer, paused bool, concealed int64) {
	n := s.n()
	if n == 0 {
		return
	}
	if newer {
		t.noteCodec(e.name, extTS)
		t.endComfortNoise(extTS)
	}
	pos := t.pos(extTS)
	if newer && t.refine {
		pos = t.refineAnchor(pos, extTS, arrNS)
	}
	if pos+n > t.written+t.size || (newer && pos < t.final-t.m.window) {
		// Timestamp jump: re-anchor at arrival. The old sender report
		// describes the old timestamps, so it is forgotten.
		t.m.log.Debug("mixer: timestamp jump, re-anchoring", "channel", t.ch, "samples", pos-t.written)
		t.anchorAtArrival(arrNS, extTS)
		t.sr.have = false
		t.refine = false // anchored on a late packet: its arrival says nothing about delay
		pos = t.anchorPos
		if pos+n > t.written+t.size {
			t.stats.Late++ // Flush is behind by more than MaxAhead
			return
		}
	}
	if pos+n <= t.final {
		t.stats.Late++
		return
	}
	if concealed > 0 {
		// The part of the concealment this packet replaces (the rest may
		// already be written).
		t.stats.ConcealedSamples -= uint64(min(concealed, pos+n-max(pos, t.final)))
	}
	if paused {
		return
	}
	t.put(pos, s)
	if tap := t.m.cfg.Tap; tap != nil && !t.m.masked() && tap.Listening() {
		t.tap(tap, pos, s)
	}
	slot.audio, slot.n = true, n
	t.maxEnd = max(t.maxEnd, pos+n)
	if newer && (e.kind == kindPCMU || e.kind == kindPCMA) && t.clock == 8000 {
		t.conceal(ext, pos, n) // G.711 only: repeats stored samples
	}
}

// tap decodes one placed payload to PCM16 and hands it to the tap (only
// called while somebody listens). Held audio is silence in the file, so it
// is not tapped either.
func (t *Track) tap(tap Tap, pos int64, s samples) {
	if t.m.heldAt(t.ch, pos) {
		return
	}
	if s.pcm != nil {
		pcm := s.pcm
		if t.m.wide() {
			t.tapPCM = t.tapHalf.Halve(pcm, t.tapPCM[:0])
			pcm = t.tapPCM
		}
		tap.Publish(t.ch, t.m.cfg.Start.Add(time.Duration(t.m.posToNS(pos))), pcm)
		return
	}
	payload, kind := s.g711, s.kind
	if cap(t.pcm) < len(payload) {
		t.pcm = make([]int16, len(payload))
	}
	pcm := t.pcm[:len(payload)]
	if kind == kindPCMU {
		for i, b := range payload {
			pcm[i] = g711.DecodeULaw(b)
		}
	} else {
		for i, b := range payload {
			pcm[i] = g711.DecodeALaw(b)
		}
	}
	tap.Publish(t.ch, t.m.cfg.Start.Add(time.Duration(t.m.posToNS(pos))), pcm)
}

// doubleG711 decodes a G.711 payload of law kind and doubles it to 16 kHz
// (the result is reused by the next call). t.mu must be held.
func (t *Track) doubleG711(payload []byte, kind payloadKind) []int16 {
	pcm := t.g711pcm[:0]
	if kind == kindPCMU {
		for _, b := range payload {
			pcm = append(pcm, g711.DecodeULaw(b))
		}
	} else {
		for _, b := range payload {
			pcm = append(pcm, g711.DecodeALaw(b))
		}
	}
	t.g711pcm = pcm
	t.wideBuf = t.up.Double(pcm, t.wideBuf[:0])
	return t.wideBuf
}

// conceal repeats the previous packet at half amplitude when exactly one
// packet (ext-1) of the same length is missing before the one just placed
// at pos.
func (t *Track) conceal(ext, pos, n int64) {
	s1 := &t.slots[(ext-1)&slotMask]
	if s1.seq == ext { // ext-1 is there
		return
	}
	s2 := &t.slots[(ext-2)&slotMask]
	if s2.seq != ext-1 || !s2.audio || s2.concealed || s2.n != n {
		return
	}
	prev := t.pos(s2.ts)
	gap := pos - n
	if prev+n != gap || prev < t.final {
		return
	}
	bps := int64(t.m.bps)
	for i := range n {
		src := ((prev + i) % t.size) * bps
		dst := ((gap + i) % t.size) * bps
		attenuate(t.ring[dst:dst+bps], t.ring[src:src+bps], t.m.cfg.Format)
	}
	*s1 = seqSlot{seq: ext, ts: s2.ts + n*t.clock/t.m.rate, n: n, concealed: true}
	t.stats.ConcealedSamples += uint64(n)
}

// put decodes payload into the ring at pos, skipping what is before
// final. The caller has checked pos+len(payload) <= written+size.
func (t *Track) put(pos int64, s samples) {
	if pos < t.final {
		s = s.skip(t.final - pos)
		pos = t.final
	}
	bps := int64(t.m.bps)
	i := pos % t.size
	n := s.n()
	n1 := min(n, t.size-i)
	s.slice(0, n1).into(t.ring[i*bps:(i+n1)*bps], t.m.cfg.Format)
	if n1 < n {
		s.slice(n1, n).into(t.ring[:(n-n1)*bps], t.m.cfg.Format)
	}
}

// fillSilence sets ring samples [pos, pos+n) to silence (n <= size).
func (t *Track) fillSilence(pos, n int64) {
	bps := int64(t.m.bps)
	for n > 0 {
		i := pos % t.size
		run := min(n, t.size-i)
		copy(t.ring[i*bps:(i+run)*bps], t.m.silBlock)
		pos, n = pos+run, n-run
	}
}

// noteCodec records a "codec-change" event when the audio codec changes.
func (t *Track) noteCodec(name string, extTS int64) {
	if name == t.codec {
		return
	}
	if t.codec != "" {
		t.refine = false
		t.m.addEvent(Event{Type: EventCodecChange, Channel: t.ch, AtMS: t.m.posToMS(t.pos(extTS)),
			Detail: t.codec + "->" + name})
	}
	t.codec = name
}

// eventSlack is how far an RFC 4733 event's mask may reach past the time
// its packets have been arriving: the first packet's own duration plus
// jitter (100 ms).
func (m *Mixer) eventSlack() int64 { return m.rate / 10 }

// telephoneEvent records one "dtmf" event per RFC 4733 tone.
//
// With masking, the span masked is what the event's packets have covered
// as they arrived (duration, but no more than the time since its first
// packet plus eventSlack): one packet claiming a long duration must not
// blank the audio that follows. An in-band tone is masked by detection
// anyway.
func (t *Track) telephoneEvent(payload []byte, e ptEntry, extTS, arrNS int64) {
	ev, ok := parseTelephoneEvent(payload)
	if !ok {
		return
	}
	digit, ok := ev.digit()
	if !ok {
		return
	}
	durMS := int64(ev.Duration) * 1000 / int64(e.clock)
	durPos := int64(ev.Duration) * t.m.rate / int64(e.clock)
	d := &t.dtmf
	if d.active && d.ts == extTS && d.event == ev.Event {
		if d.ended {
			return // repeated end packet
		}
		if durMS > d.durMS {
			d.durMS = durMS
			t.m.setEventDuration(d.idx, durMS)
			if t.m.masked() {
				t.queueEventMask(d.pos, d.pos+min(durPos, t.m.nsToPos(arrNS-d.arr)+t.m.eventSlack()), false)
			}
		}
		d.ended = ev.End
		return
	}
	pos := t.pos(extTS)
	if t.m.pausedAt(-1, pos) {
		return
	}
	t.refine = false // the event's position is kept: the anchor stays
	d.active, d.ended, d.ts, d.event, d.durMS, d.pos, d.arr = true, ev.End, extTS, ev.Event, durMS, pos, arrNS
	switch t.m.cfg.DTMF {
	case DTMFKeep:
		d.idx = t.m.addEvent(Event{Type: EventDTMF, Channel: t.ch, AtMS: t.m.posToMS(pos), DurationMS: durMS, Detail: digit})
	case DTMFMask: // time and channel, never the digit
		d.idx = t.m.addEvent(Event{Type: EventDTMF, Channel: t.ch, AtMS: t.m.posToMS(pos), DurationMS: durMS})
	default:
		d.idx = -1
	}
	if t.m.masked() {
		// Until the next packet says how long the tone lasts, mask at
		// least a packet's worth past what is known.
		t.queueEventMask(pos, pos+max(min(durPos, t.m.eventSlack()), t.m.rate/20), true)
	}
}

// comfortNoise opens a comfort noise span: the ring is already silent, so
// nothing is written, and the span ends at the next audio packet.
func (t *Track) comfortNoise(extTS int64) {
	if t.cn.active {
		return
	}
	pos := t.pos(extTS)
	t.refine = false
	t.cn.active, t.cn.pos = true, pos
	t.cn.idx = t.m.addEvent(Event{Type: EventComfortNoise, Channel: t.ch, AtMS: t.m.posToMS(pos)})
}

func (t *Track) endComfortNoise(extTS int64) {
	if !t.cn.active {
		return
	}
	t.cn.active = false
	if d := t.pos(extTS) - t.cn.pos; d > 0 {
		t.m.setEventDuration(t.cn.idx, t.m.posToMS(d))
	}
}

// undecodable buffers a payload the mixer cannot decode for the raw
// sidecar; the channel stays silent.
func (t *Track) undecodable(p *media.Packet, e ptEntry, extTS, arrNS int64, newer, paused bool) {
	if newer {
		t.noteCodec(e.name, extTS)
		t.endComfortNoise(extTS)
	}
	if !t.m.needsTranscode.Load() {
		t.m.needsTranscode.Store(true)
	}
	if t.m.cfg.Raw == nil || t.rawFailed || paused {
		return
	}
	if len(t.raw)+rawHeaderLen+len(p.Payload) > maxRawBuffer || len(p.Payload) > 0xFFFF {
		t.rawDrops++
		return
	}
	ms := max(arrNS, 0) / int64(time.Millisecond)
	t.raw = appendRawRecord(t.raw, uint32(ms), p.Seq, p.Timestamp, p.PayloadType, p.Payload)
}

// drain copies frames [from, from+k) of this channel into the interleaved
// buf, resets the ring behind them to silence and advances written.
func (t *Track) drain(buf []byte, from, k int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	bps := int64(t.m.bps)
	stride := int64(len(t.m.tracks)) * bps
	off := int64(t.ch) * bps
	inRing := min(k, t.size)
	for f := int64(0); f < inRing; {
		i := (from + f) % t.size
		run := min(inRing-f, t.size-i)
		src := t.ring[i*bps : (i+run)*bps]
		switch {
		case stride == bps:
			copy(buf[f*bps:], src)
		case bps == 1:
			dst := buf[f*stride+off:]
			for j, b := range src {
				dst[int64(j)*stride] = b
			}
		default:
			dst := buf[f*stride+off:]
			for j := int64(0); j < run; j++ {
				dst[j*stride] = src[2*j]
				dst[j*stride+1] = src[2*j+1]
			}
		}
		copy(src, t.m.silBlock)
		f += run
	}
	for f := inRing; f < k; f++ {
		o := f*stride + off
		copy(buf[o:o+bps], t.m.sil[:bps])
	}
	t.written = from + k
	t.final = max(t.final, t.written)
	t.maxEnd = max(t.maxEnd, t.written)
}

// flushRaw appends the buffered raw records to the sidecar. Only Flush and
// Close call it (flushMu held), so rawW needs no lock.
func (t *Track) flushRaw() error {
	t.mu.Lock()
	data := t.raw
	t.raw = t.rawSpare[:0]
	drops := t.rawDrops
	t.rawDrops = 0
	t.mu.Unlock()
	if drops > 0 {
		t.m.log.Warn("mixer: raw payloads dropped (buffer full)", "channel", t.ch, "packets", drops)
	}
	defer func() {
		t.mu.Lock()
		t.rawSpare = data[:0]
		t.mu.Unlock()
	}()
	if len(data) == 0 {
		return nil
	}
	var err error
	if t.rawW == nil {
		t.rawW, err = t.m.cfg.Raw(t.ch)
		if err == nil && t.rawW == nil {
			err = fmt.Errorf("nil writer")
		}
	}
	if err == nil {
		_, err = t.rawW.Write(data)
	}
	if err != nil {
		t.mu.Lock()
		t.rawFailed = true
		t.mu.Unlock()
		t.m.log.Error("mixer: raw sidecar failed, dropping undecodable payloads", "channel", t.ch, "err", err)
		return fmt.Errorf("%w: channel %d: %w", ErrRaw, t.ch, err)
	}
	return nil
}

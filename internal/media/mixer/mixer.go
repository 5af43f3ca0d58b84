package mixer

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openrec/openrec/internal/media"
)

// FrameWriter receives interleaved frames. *wav.Writer satisfies it.
type FrameWriter interface {
	Write(p []byte) (int, error)
	Sync() error
}

// Config configures a Mixer.
type Config struct {
	Channels int
	Format   Format
	// SampleRate of the timeline and the file: 8000 (0) or 16000
	// (wideband; needs FormatPCM16). At 16 kHz, G.711 and the other
	// narrowband payloads are upsampled (Decoders must render 16 kHz).
	SampleRate    int
	Start         time.Time     // timeline origin = recording start
	ReorderWindow time.Duration // default 200 ms: packets are held this long (by arrival) before their samples are final
	MaxAhead      time.Duration // default 4 s: per-track ring size; packets placed beyond it re-anchor the track
	Logger        *slog.Logger  // nil discards
	// Raw opens the sidecar for payloads the mixer cannot decode, on first
	// use, from Flush. nil drops such payloads. The mixer never closes it.
	Raw func(channel int) (io.Writer, error)
	// Tap, if set, receives the decoded audio of every track as it is
	// placed (live listening), or as it is written when DTMF is masked.
	// Optional.
	Tap Tap
	// Decoders makes the decoder of a negotiated codec that is not G.711
	// (G.722, Opus ...); nil, or an error, leaves that codec undecodable
	// (raw sidecar, NeedsTranscode). Called from SetCodecs.
	Decoders func(media.Codec) (Decoder, error)
	// DTMF says whether key tones are masked (see DTMFMode). Masking
	// delays writing (and the tap) by the masker's lookahead, ~55 ms.
	DTMF DTMFMode
}

// Decoder turns one RTP payload into mono PCM at Config.SampleRate, appended to dst[:0]
// (internal/media/codec implements it). An error means the packet is
// treated as lost.
type Decoder interface {
	Decode(payload []byte, dst []int16) ([]int16, error)
}

// Tap receives the audio of a mixer's tracks as packets are placed, in
// arrival order per channel, decoded to 16-bit linear PCM at 8 kHz (a
// 16 kHz timeline is halved through a low-pass filter); audio that the
// file gets as silence (paused, held) is not tapped, nor concealment.
// Listening is asked once per G.711 packet and must be cheap (an atomic
// load): the samples are decoded only when it returns true. Publish is
// called from the receiving goroutine with the track's lock held: it must
// not block, and must copy pcm, which the track reuses. at is the timeline
// time of the first sample (Start + position).
type Tap interface {
	Listening() bool
	Publish(channel int, at time.Time, pcm []int16)
}

// Defaults and limits of Config.
const (
	DefaultReorderWindow = 200 * time.Millisecond
	DefaultMaxAhead      = 4 * time.Second
	MaxChannels          = 256
	// NarrowRate and WideRate are the two timeline rates.
	NarrowRate = 8000
	WideRate   = 16000
)

// Event is something that happened on a channel, in timeline milliseconds.
type Event struct {
	Type       string // "dtmf", "ssrc-change", "codec-change", "comfort-noise"
	Channel    int
	AtMS       int64
	DurationMS int64
	Detail     string // digit for dtmf, "old->new" for changes
}

// Segment is a span of the timeline in milliseconds.
type Segment struct {
	Type    string // "pause" | "hold"
	Channel int    // -1 = all
	StartMS int64
	EndMS   int64 // -1 while open
}

// Event and segment types.
const (
	EventDTMF         = "dtmf"
	EventSSRCChange   = "ssrc-change"
	EventCodecChange  = "codec-change"
	EventComfortNoise = "comfort-noise"
	SegmentPause      = "pause"
	SegmentHold       = "hold"
)

// TrackStats are the counters of one channel. LostPackets is
// expected - received by sequence number, summed over the SSRCs the track
// has seen; Late packets count as received.
type TrackStats struct {
	Packets, Late, Duplicates, Reordered, LostPackets, ConcealedSamples uint64
	// DecodeErrors counts packets a Decoder refused (treated as lost).
	DecodeErrors uint64
	SSRC         uint32
	Codec        string
}

// segment is a Segment with its bounds in nanoseconds and samples since
// Start.
type segment struct {
	Segment
	startNS, endNS   int64 // endNS = MaxInt64 while open
	startPos, endPos int64 // endPos = MaxInt64 while open
}

// Mixer is the timeline of one recording. See the package documentation.
type Mixer struct {
	cfg Config
	w   FrameWriter
	log *slog.Logger
	// rate is the timeline's sample rate; wide() says it is 16 kHz.
	rate int64
	bps  int
	sil  [2]byte
	// silBlock is MaxAhead of silence, copied over ring runs.
	silBlock []byte
	window   int64 // samples
	ahead    int64 // samples
	tracks   []*Track

	// flushMu serialises Flush and Close and guards the fields below it.
	flushMu  sync.Mutex
	buf      []byte
	closed   bool
	closeErr error

	frames         atomic.Int64
	needsTranscode atomic.Bool

	// alignMu serialises realignment; it is taken before any track lock.
	alignMu        sync.Mutex
	realignPending atomic.Bool

	// offMu (leaf) guards the common sender clock offset: timeline ns =
	// sender wall clock ns (relative to Start) + offRel.
	offMu   sync.Mutex
	haveOff bool
	offRel  int64

	// metaMu (leaf) guards events and segments.
	metaMu    sync.Mutex
	events    []Event
	segs      []segment
	pauseOpen int   // index into segs, -1
	holdOpen  []int // per channel, index into segs, -1
	metaDone  bool  // Close closed the open segments
	anyPause  atomic.Bool
}

// New returns a mixer writing to w. It starts no goroutines.
func New(cfg Config, w FrameWriter) (*Mixer, error) {
	if w == nil {
		return nil, fmt.Errorf("%w: nil FrameWriter", ErrConfig)
	}
	if cfg.Channels < 1 || cfg.Channels > MaxChannels {
		return nil, fmt.Errorf("%w: %d channels (1-%d)", ErrConfig, cfg.Channels, MaxChannels)
	}
	if !cfg.Format.valid() {
		return nil, fmt.Errorf("%w: format %s", ErrConfig, cfg.Format)
	}
	if cfg.SampleRate == 0 {
		cfg.SampleRate = NarrowRate
	}
	if cfg.SampleRate != NarrowRate && cfg.SampleRate != WideRate {
		return nil, fmt.Errorf("%w: sample rate %d (%d or %d)", ErrConfig, cfg.SampleRate, NarrowRate, WideRate)
	}
	if cfg.SampleRate == WideRate && cfg.Format != FormatPCM16 {
		return nil, fmt.Errorf("%w: %d Hz needs format pcm16, not %s", ErrConfig, cfg.SampleRate, cfg.Format)
	}
	if cfg.Start.IsZero() {
		return nil, fmt.Errorf("%w: zero Start", ErrConfig)
	}
	if cfg.ReorderWindow == 0 {
		cfg.ReorderWindow = DefaultReorderWindow
	}
	if cfg.MaxAhead == 0 {
		cfg.MaxAhead = DefaultMaxAhead
	}
	if cfg.ReorderWindow < 0 || cfg.MaxAhead <= cfg.ReorderWindow || cfg.MaxAhead > time.Minute {
		return nil, fmt.Errorf("%w: reorder window %v, max ahead %v (need 0 < window < max ahead <= 1m)",
			ErrConfig, cfg.ReorderWindow, cfg.MaxAhead)
	}
	if cfg.DTMF > DTMFMaskDropEvents {
		return nil, fmt.Errorf("%w: %s", ErrConfig, cfg.DTMF)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Mixer{
		cfg:       cfg,
		w:         w,
		log:       cfg.Logger,
		rate:      int64(cfg.SampleRate),
		bps:       cfg.Format.bytesPerSample(),
		sil:       cfg.Format.silence(),
		pauseOpen: -1,
		holdOpen:  make([]int, cfg.Channels),
		events:    make([]Event, 0, 16),
	}
	m.window, m.ahead = m.durToPos(cfg.ReorderWindow), m.durToPos(cfg.MaxAhead)
	for i := range m.holdOpen {
		m.holdOpen[i] = -1
	}
	m.silBlock = silenceBlock(m.sil, m.bps, int(m.ahead))
	m.tracks = make([]*Track, cfg.Channels)
	for ch := range m.tracks {
		m.tracks[ch] = newTrack(m, ch)
		if m.masked() {
			m.tracks[ch].newMasking()
		}
	}
	return m, nil
}

// silBlocks caches the read-only silence blocks mixers copy from, by
// format and length: one per process instead of one per call (32 KB per
// call for 4 s of G.711).
var silBlocks sync.Map // silKey → []byte

type silKey struct {
	sil     [2]byte
	bps, ns int
}

// silenceBlock returns n samples of silence sil (bps bytes each), shared
// by every mixer: callers only read it.
func silenceBlock(sil [2]byte, bps, n int) []byte {
	k := silKey{sil, bps, n}
	if b, ok := silBlocks.Load(k); ok {
		return b.([]byte)
	}
	b := make([]byte, n*bps)
	for i := range b {
		b[i] = sil[i%bps]
	}
	got, _ := silBlocks.LoadOrStore(k, b)
	return got.([]byte)
}

// String describes the mixer for logs.
func (m *Mixer) String() string {
	return fmt.Sprintf("mixer(%d ch %s %d Hz, window %v)", m.cfg.Channels, m.cfg.Format, m.rate, m.cfg.ReorderWindow)
}

// Track returns the track of channel ch, or nil when ch is out of range.
func (m *Mixer) Track(ch int) *Track {
	if ch < 0 || ch >= len(m.tracks) {
		return nil
	}
	return m.tracks[ch]
}

// SampleRate returns the timeline's (and the file's) sample rate.
func (m *Mixer) SampleRate() int { return int(m.rate) }

// wide reports a 16 kHz timeline.
func (m *Mixer) wide() bool { return m.rate == WideRate }

// Frames returns the number of frames written so far.
func (m *Mixer) Frames() int64 { return m.frames.Load() }

// NeedsTranscode reports whether any channel received audio in a codec the
// mixer cannot decode (whether or not a Raw sidecar kept it).
func (m *Mixer) NeedsTranscode() bool { return m.needsTranscode.Load() }

// Stats returns the counters of channel ch (zero when out of range).
func (m *Mixer) Stats(ch int) TrackStats {
	t := m.Track(ch)
	if t == nil {
		return TrackStats{}
	}
	return t.Stats()
}

// Events returns a copy of the events, ordered by AtMS (stable).
func (m *Mixer) Events() []Event {
	m.metaMu.Lock()
	out := slices.Clone(m.events)
	m.metaMu.Unlock()
	slices.SortStableFunc(out, func(a, b Event) int {
		switch {
		case a.AtMS < b.AtMS:
			return -1
		case a.AtMS > b.AtMS:
			return 1
		}
		return 0
	})
	return out
}

// Segments returns a copy of the segments in the order they were opened.
func (m *Mixer) Segments() []Segment {
	m.metaMu.Lock()
	defer m.metaMu.Unlock()
	out := make([]Segment, len(m.segs))
	for i, s := range m.segs {
		out[i] = s.Segment
	}
	return out
}

// SetPaused starts (paused) or ends a compliance pause at time at. RTP
// arriving while paused is discarded and Flush writes silence for the span
// on every channel. Repeating the current state does nothing.
func (m *Mixer) SetPaused(paused bool, at time.Time) {
	m.metaMu.Lock()
	defer m.metaMu.Unlock()
	m.pauseOpen = m.toggleSegment(m.pauseOpen, paused, SegmentPause, -1, at)
	if paused {
		m.anyPause.Store(true)
	}
}

// setHeld is Track.SetHeld.
func (m *Mixer) setHeld(ch int, held bool, at time.Time) {
	m.metaMu.Lock()
	defer m.metaMu.Unlock()
	m.holdOpen[ch] = m.toggleSegment(m.holdOpen[ch], held, SegmentHold, ch, at)
}

// toggleSegment opens (on) or closes the segment at index open and returns
// the new open index. metaMu must be held.
func (m *Mixer) toggleSegment(open int, on bool, typ string, ch int, at time.Time) int {
	if m.metaDone {
		return open
	}
	ns := m.relNS(at)
	if on {
		if open >= 0 {
			return open
		}
		m.segs = append(m.segs, segment{
			Segment: Segment{Type: typ, Channel: ch, StartMS: nsToMS(max(ns, 0)), EndMS: -1},
			startNS: ns, endNS: math.MaxInt64,
			startPos: m.nsToPos(ns), endPos: math.MaxInt64,
		})
		return len(m.segs) - 1
	}
	if open < 0 {
		return open
	}
	s := &m.segs[open]
	ns = max(ns, s.startNS)
	s.endNS, s.endPos, s.EndMS = ns, m.nsToPos(ns), nsToMS(max(ns, 0))
	return -1
}

// heldAt reports whether timeline position pos of channel ch falls in a
// hold (Flush writes silence there).
func (m *Mixer) heldAt(ch int, pos int64) bool {
	m.metaMu.Lock()
	defer m.metaMu.Unlock()
	for i := range m.segs {
		s := &m.segs[i]
		if s.Type == SegmentHold && s.Channel == ch && pos >= s.startPos && pos < s.endPos {
			return true
		}
	}
	return false
}

// pausedAt reports whether arrival time ns (since Start) or timeline
// position pos (if pos >= 0) falls in a pause.
func (m *Mixer) pausedAt(ns, pos int64) bool {
	if !m.anyPause.Load() {
		return false
	}
	m.metaMu.Lock()
	defer m.metaMu.Unlock()
	for i := range m.segs {
		s := &m.segs[i]
		if s.Type != SegmentPause {
			continue
		}
		if (ns >= s.startNS && ns < s.endNS) || (pos >= 0 && pos >= s.startPos && pos < s.endPos) {
			return true
		}
	}
	return false
}

// addEvent appends e and returns its index.
func (m *Mixer) addEvent(e Event) int {
	m.metaMu.Lock()
	defer m.metaMu.Unlock()
	m.events = append(m.events, e)
	return len(m.events) - 1
}

// setEventDuration sets the duration of event i.
func (m *Mixer) setEventDuration(i int, ms int64) {
	m.metaMu.Lock()
	defer m.metaMu.Unlock()
	if i >= 0 && i < len(m.events) {
		m.events[i].DurationMS = ms
	}
}

// Flush writes the frames [Frames(), position of now-ReorderWindow) in one
// Write followed by one Sync, and appends raw payloads to their sidecars.
// It writes nothing when there is nothing to write, and nothing after
// Close. Errors wrap ErrWrite or ErrRaw; frames are counted as written even
// when Write fails, so the timeline never runs backwards.
func (m *Mixer) Flush(now time.Time) error {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	if m.closed {
		return nil
	}
	if m.realignPending.Load() {
		m.realign()
	}
	return m.flushTo(m.nsToPos(m.relNS(now))-m.window, false)
}

// Close writes everything received (no reorder window) up to at least the
// position of now, closes open pause and hold segments at the end of the
// file, and stops accepting packets. It is idempotent: later calls return
// the first call's result. It does not close the FrameWriter or the raw
// sidecars.
func (m *Mixer) Close(now time.Time) error {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	if m.closed {
		return m.closeErr
	}
	m.closed = true
	if m.realignPending.Load() {
		m.realign()
	}
	target := max(m.nsToPos(m.relNS(now)), m.frames.Load())
	for _, t := range m.tracks {
		t.mu.Lock()
		t.closed = true
		target = max(target, t.maxEnd)
		t.mu.Unlock()
	}
	m.closeErr = m.flushTo(target, true)
	endNS := m.posToNS(m.frames.Load())
	m.metaMu.Lock()
	for i := range m.segs {
		s := &m.segs[i]
		if s.EndMS < 0 {
			end := max(endNS, s.startNS)
			s.endNS, s.endPos, s.EndMS = end, m.nsToPos(end), nsToMS(end)
		}
	}
	m.pauseOpen = -1
	for i := range m.holdOpen {
		m.holdOpen[i] = -1
	}
	m.metaDone = true
	m.metaMu.Unlock()
	return m.closeErr
}

// flushTo writes frames up to target; samples before it are final. When
// DTMF is masked, the masker sees them first and writing lags by its
// lookahead, except at the end (last). flushMu must be held.
func (m *Mixer) flushTo(target int64, last bool) error {
	if m.masked() {
		for _, t := range m.tracks {
			t.detect(target)
			if last {
				t.mask.m.Close()
			}
		}
		if !last {
			target -= m.lookahead()
		}
	}
	from := m.frames.Load()
	var err error
	if target > from {
		k := target - from
		need := int(k) * len(m.tracks) * m.bps
		if cap(m.buf) < need {
			m.buf = make([]byte, need)
		}
		buf := m.buf[:need]
		for _, t := range m.tracks {
			t.drain(buf, from, k)
		}
		m.silenceSegments(buf, from, target)
		if m.masked() {
			m.applyMasks(buf, from, target)
		}
		n, werr := m.w.Write(buf)
		if werr == nil && n != len(buf) {
			werr = io.ErrShortWrite
		}
		if werr != nil {
			err = fmt.Errorf("%w: %d frames at frame %d: %w", ErrWrite, k, from, werr)
		} else if serr := m.w.Sync(); serr != nil {
			err = fmt.Errorf("%w: sync: %w", ErrWrite, serr)
		}
		m.frames.Store(target)
	}
	return errors.Join(err, m.flushRaw())
}

// silenceSegments overwrites paused and held spans of buf (frames
// [from, to)) with silence.
func (m *Mixer) silenceSegments(buf []byte, from, to int64) {
	m.metaMu.Lock()
	defer m.metaMu.Unlock()
	chans := len(m.tracks)
	for i := range m.segs {
		s := &m.segs[i]
		a, b := max(s.startPos, from), min(s.endPos, to)
		if a >= b {
			continue
		}
		for f := a - from; f < b-from; f++ {
			frame := buf[int(f)*chans*m.bps : int(f+1)*chans*m.bps]
			if s.Channel < 0 {
				for j := 0; j < len(frame); j += m.bps {
					copy(frame[j:j+m.bps], m.sil[:m.bps])
				}
			} else if s.Channel < chans {
				copy(frame[s.Channel*m.bps:(s.Channel+1)*m.bps], m.sil[:m.bps])
			}
		}
	}
}

// flushRaw appends buffered raw payload records to their sidecars.
func (m *Mixer) flushRaw() error {
	var errs []error
	for _, t := range m.tracks {
		if err := t.flushRaw(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// realign establishes the common sender clock offset if possible and
// re-anchors every track with a sender report on it.
func (m *Mixer) realign() {
	m.alignMu.Lock()
	defer m.alignMu.Unlock()
	m.realignPending.Store(false)
	if _, ok := m.offset(); !ok {
		for _, t := range m.tracks {
			t.mu.Lock()
			rel, ok := t.senderOffset()
			t.mu.Unlock()
			if ok {
				m.setOffset(rel)
				m.log.Debug("mixer: sender clock offset", "channel", t.ch, "offset", time.Duration(rel))
				break
			}
		}
	}
	rel, ok := m.offset()
	if !ok {
		return
	}
	for _, t := range m.tracks {
		t.mu.Lock()
		t.alignToSender(rel, true)
		t.mu.Unlock()
	}
}

func (m *Mixer) offset() (int64, bool) {
	m.offMu.Lock()
	defer m.offMu.Unlock()
	return m.offRel, m.haveOff
}

// setOffset sets the offset unless it is already set.
func (m *Mixer) setOffset(rel int64) {
	m.offMu.Lock()
	defer m.offMu.Unlock()
	if !m.haveOff {
		m.haveOff, m.offRel = true, rel
	}
}

// relNS returns t - Start in nanoseconds, clamped to ±2^50 ns (about 13
// days) so that sample arithmetic cannot overflow.
func (m *Mixer) relNS(t time.Time) int64 {
	return clampNS(int64(t.Sub(m.cfg.Start)))
}

// ensure the Track satisfies the receiver's interface.
var _ media.PacketHandler = (*Track)(nil)

const nsLimit = 1 << 50

func clampNS(ns int64) int64 { return min(max(ns, -nsLimit), nsLimit) }

// nsToPos converts nanoseconds since Start to a sample position (floor).
func (m *Mixer) nsToPos(ns int64) int64 {
	ns = clampNS(ns)
	return floorDiv(ns*m.rate, int64(time.Second))
}

// posToNS converts a sample position to nanoseconds since Start.
func (m *Mixer) posToNS(pos int64) int64 { return pos * int64(time.Second) / m.rate }

// posToMS converts a sample position to milliseconds (0 for negative).
func (m *Mixer) posToMS(pos int64) int64 { return max(pos, 0) * 1000 / m.rate }

func nsToMS(ns int64) int64 { return floorDiv(ns, int64(time.Millisecond)) }

func (m *Mixer) durToPos(d time.Duration) int64 { return m.nsToPos(int64(d)) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

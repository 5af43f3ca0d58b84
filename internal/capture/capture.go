// Package capture records calls passively (Enhanced Passive Recording):
// it reads frames from a pcap/pcapng file or a live interface (AF_PACKET,
// TPACKET_V3 ring), decodes them (capture/decode), follows SIP dialogs and
// routes their RTP (capture/follow), and records each call through the
// recorder's passive entry point (recorder.OpenPassive): the same mixer,
// WAV files, store rows and life cycle as active recording.
//
// Time: replaying a file, the capture's clock is the packets' timestamps
// (a one-hour pcap is processed in seconds and its recordings carry the
// times of the call); live, it is the wall clock.
package capture

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/openrec/openrec/internal/capture/decode"
	"github.com/openrec/openrec/internal/capture/follow"
	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/recorder"
)

// Source is where frames come from: a capture file or an interface.
type Source interface {
	// ReadPacketData returns the next frame. io.EOF ends a file;
	// ErrTimeout (live) means nothing arrived within the poll interval.
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	LinkType() layers.LinkType
}

// ErrTimeout is returned by a live Source's ReadPacketData when no frame
// arrived within its poll interval.
var ErrTimeout = errors.New("capture: read timeout")

// Recorder is what capture needs of the recorder.
type Recorder interface {
	OpenPassive(spec recorder.PassiveSpec) (*recorder.Passive, error)
	Tick(now time.Time)
}

// Clock is the capture's time: the packets' timestamps while a file is
// replayed (never going backwards). The recorder's Now must read it.
type Clock struct{ ns, pinned atomic.Int64 }

// Now returns the capture time (the zero time before the first packet).
func (c *Clock) Now() time.Time {
	if p := c.pinned.Load(); p != 0 {
		return time.Unix(0, p)
	}
	ns := c.ns.Load()
	if ns == 0 {
		return time.Unix(0, 0)
	}
	return time.Unix(0, ns)
}

// Advance moves the clock to t unless it is already later, and returns
// the clock's time.
func (c *Clock) Advance(t time.Time) time.Time { return c.advance(t) }

func (c *Clock) advance(t time.Time) time.Time {
	ns := t.UnixNano()
	if ns > c.ns.Load() {
		c.ns.Store(ns)
	}
	return c.Now()
}

// Identity is what the CTI side says about an observed call (Enhanced
// Passive Recording): the CTI call it is, and which of its DNs is the
// monitored (recorded) one.
type Identity struct {
	CallUUID   string
	RecordedDN string
	// RecordID names the recording towards the CTI side: pause/resume
	// requests (PCI) reach it through it.
	RecordID string
}

// Config configures Run.
type Config struct {
	Recorder Recorder
	// Clock is the capture's time; the recorder's Now must read it. It
	// follows the packets' timestamps (a file) or, with Live, the wall
	// clock. A call is finalised with the clock pinned at its end (BYE,
	// last packet) so its duration is the call's.
	Clock         *Clock
	Live          bool
	Follow        follow.Config
	DedupWindow   time.Duration // see decode.Config
	FlushInterval time.Duration // recorder Tick period in capture time (default 1 s)
	// Filter, if set, keeps only the frames it accepts (after decoding, so
	// it sees inside VLAN tags and tunnels).
	Filter func(d *decode.Datagram) bool
	Logger *slog.Logger
	// Loss, if set, reports the drops of a live ring (for Stats).
	Loss func() (packets, drops uint64)
	// Identify, if set, is asked when an observed call is answered; an
	// error means the call is not recorded (a do-not-record decision).
	Identify func(c follow.CallInfo) (Identity, error)
}

// Stats are the counters of one run.
// Datagram is a decoded datagram (for filters).
type Datagram = decode.Datagram

type Stats struct {
	Decode   decode.Stats
	Follow   follow.Stats
	Filtered uint64 // datagrams the filter refused
	// Ring counters of a live interface (AF_PACKET): packets the kernel
	// delivered and dropped.
	RingPackets, RingDrops uint64
}

// Engine is one capture pipeline: decoder → follower → recorder. Stats
// may be read while it runs.
type Engine struct {
	cfg   Config
	dec   *decode.Decoder
	fol   *follow.Follower
	stats atomic.Pointer[Stats]

	filtered uint64
	lastTick time.Time
	readers  []atomic.Pointer[decode.Stats] // decoders of a fanout capture (fanout.go)

	filteredFanout atomic.Uint64
}

// New builds an Engine for frames of link type lt.
func New(cfg Config, lt layers.LinkType) *Engine {
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = &Clock{}
	}
	cfg.Follow.Logger = cfg.Logger
	e := &Engine{cfg: cfg}
	e.fol = follow.New(cfg.Follow, follow.SinkFunc(e.open))
	e.dec = decode.New(decode.Config{LinkType: lt, DedupWindow: cfg.DedupWindow}, e.datagram)
	e.stats.Store(&Stats{})
	return e
}

func (e *Engine) datagram(d *decode.Datagram) {
	if e.cfg.Filter != nil && !e.cfg.Filter(d) {
		e.filtered++
		return
	}
	e.fol.Handle(d)
}

// passive adapts a recorder.Passive to follow.Recording: replaying a
// file, a call is closed at its own end time (the clock is pinned there
// while it is finalised) so its duration is the call's, not the capture's.
// Its tracks tell the correlator of the first RTP (Notification of
// Recording).
type passive struct {
	*recorder.Passive
	clock  *Clock
	tracks [2]audioTrack
}

type audioTrack struct {
	media.PacketHandler
	p *recorder.Passive
}

func (t *audioTrack) HandleRTP(pkt *media.Packet) {
	t.p.AudioStarted(pkt.Arrival)
	t.PacketHandler.HandleRTP(pkt)
}

func (p *passive) Track(ch int) media.PacketHandler { return &p.tracks[ch&1] }

func (p *passive) Close(reason string, at time.Time) {
	if !at.IsZero() && at.Before(p.clock.Now()) {
		p.clock.pinned.Store(at.UnixNano())
		defer p.clock.pinned.Store(0)
	}
	p.Passive.Close(reason)
}

func (e *Engine) open(c follow.CallInfo) (follow.Recording, error) {
	var id Identity
	if e.cfg.Identify != nil {
		var err error
		if id, err = e.cfg.Identify(c); err != nil {
			return nil, err
		}
	}
	uuid := c.CallUUID
	if uuid == "" {
		uuid = id.CallUUID
	}
	p, err := e.cfg.Recorder.OpenPassive(recorder.PassiveSpec{
		SIPCallID: c.SIPCallID, CallUUID: uuid, CallerDN: c.CallerDN, CalleeDN: c.CalleeDN, Source: c.Caller.String(),
		RecordedDN: id.RecordedDN, RecordID: id.RecordID,
	})
	if err != nil {
		return nil, err
	}
	pr := &passive{Passive: p, clock: e.cfg.Clock}
	for ch := range pr.tracks {
		pr.tracks[ch] = audioTrack{PacketHandler: p.Track(ch), p: p}
	}
	return pr, nil
}

// now is the capture time of a frame taken at ts.
func (e *Engine) now(ts time.Time) time.Time {
	if e.cfg.Live {
		return e.cfg.Clock.advance(time.Now())
	}
	return e.cfg.Clock.advance(ts)
}

// Frame processes one frame taken at ts.
func (e *Engine) Frame(ts time.Time, data []byte) {
	now := e.now(ts)
	if ts.IsZero() {
		ts = now
	}
	e.dec.Frame(ts, data)
	e.idle(now)
}

// idle runs what is due at now: calls whose end (BYE + linger) passed,
// and the periodic work.
func (e *Engine) idle(now time.Time) {
	if next := e.fol.Next(); !next.IsZero() && !now.Before(next) {
		e.fol.Tick(now)
	}
	e.tick(now, false)
}

// tick runs the periodic work when FlushInterval of capture time passed.
func (e *Engine) tick(now time.Time, force bool) {
	if !force && now.Sub(e.lastTick) < e.cfg.FlushInterval {
		return
	}
	e.lastTick = now
	e.dec.Tick(now)
	e.fol.Tick(now)
	e.cfg.Recorder.Tick(now)
	e.publish()
}

func (e *Engine) publish() {
	s := &Stats{Decode: e.dec.Stats(), Follow: e.fol.Stats(), Filtered: e.filtered + e.filteredFanout.Load()}
	for i := range e.readers {
		if r := e.readers[i].Load(); r != nil {
			s.Decode = addDecode(s.Decode, *r)
		}
	}
	if e.cfg.Loss != nil {
		s.RingPackets, s.RingDrops = e.cfg.Loss()
	}
	e.stats.Store(s)
}

func addDecode(a, b decode.Stats) decode.Stats {
	a.Frames += b.Frames
	a.Datagrams += b.Datagrams
	a.TCPSegments += b.TCPSegments
	a.Duplicates += b.Duplicates
	a.Fragments += b.Fragments
	a.Reassembled += b.Reassembled
	a.NotIP += b.NotIP
	a.Other += b.Other
	a.Malformed += b.Malformed
	a.FragFlushes += b.FragFlushes
	return a
}

// Stats returns the counters as of the last flush.
func (e *Engine) Stats() Stats { return *e.stats.Load() }

// Close flushes TCP streams and ends every call still open (end of file,
// or the capture was stopped).
func (e *Engine) Close(reason string) Stats {
	e.dec.Close()
	now := e.now(time.Time{})
	e.fol.Close(reason)
	e.cfg.Recorder.Tick(now)
	e.publish()
	return e.Stats()
}

// Run reads src until it ends (io.EOF: a file) or ctx is done (live), then
// ends every call still open. A read error other than EOF/timeout ends
// the run with that error (the calls are still finalised). Stats can be
// read while it runs (e.g. by /metrics).
func (e *Engine) Run(ctx context.Context, src Source) (Stats, error) {
	reason := "end of capture"
	var rerr error
	for {
		if ctx.Err() != nil {
			reason = "capture stopped"
			break
		}
		data, ci, err := src.ReadPacketData()
		if errors.Is(err, ErrTimeout) {
			e.idle(e.now(time.Time{}))
			continue
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			rerr = err
			reason = "capture read error"
			break
		}
		e.Frame(ci.Timestamp, data)
	}
	return e.Close(reason), rerr
}

package rtpin

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/rtcp"

	"github.com/openrec/openrec/internal/media"
)

// maxSSRCs bounds the SSRCs remembered for the locked source (the most
// recent ones are kept); they become the port's Occupant at Close.
const maxSSRCs = 8

// Config configures one leg's Receiver.
type Config struct {
	IP      netip.Addr // listen address; invalid means 0.0.0.0
	Ports   *PortAllocator
	Handler media.PacketHandler
	// Remote is the sender's address from SDP (c= and m= port); it may be
	// invalid or unspecified (0.0.0.0, hold).
	Remote netip.AddrPort
	// StrictSource: if true and Remote has a specified IP, packets from any
	// other IP are dropped (the port may differ: SBCs often send from
	// another port than they advertise).
	StrictSource bool
	Now          func() time.Time // time.Now when nil
	// Logger carries the call/recording attributes; nil discards.
	Logger     *slog.Logger
	ReadBuffer int // SO_RCVBUF of the RTP socket in bytes, 0 = system default
	// OnLock, if set, is called (from the read goroutine, so it must not
	// block) each time a source is locked: the first packet of the leg, or
	// the first after SetRemote. The recorder learns here that audio arrives.
	OnLock func(src netip.AddrPort, ssrc uint32, at time.Time)
	// SRTP, if set, are the sender's SRTP keys (srtp.go): every RTP and
	// RTCP packet is authenticated and decrypted before it is parsed.
	SRTP *SRTP
	// PayloadTypes are the payload types the SDP offered on this m-line;
	// an RTP packet of any other type is not audio of this stream (a
	// misconfigured or foreign sender, a codec nobody agreed on): it is
	// dropped before it may lock the source and counted as
	// Stats.UnofferedPT, never handed on to be decoded as noise. Empty
	// accepts every payload type.
	PayloadTypes []uint8
}

// Stats are a receiver's counters. Packets and Bytes count accepted RTP
// packets and their datagram bytes; RTCP counts accepted RTCP compound
// packets; ForeignSource counts packets from a source other than the
// locked one (or outside StrictSource); StaleSSRC counts packets of the
// port's previous occupant; Invalid counts datagrams that are neither
// valid RTP nor valid RTCP (including oversize ones). SSRC and Source are
// the locked stream (zero before the first packet). AuthFailures counts
// SRTP/SRTCP packets that failed authentication (wrong key or MKI, plain
// RTP on an SRTP leg). UnofferedPT counts RTP packets whose payload type
// the SDP did not offer (Config.PayloadTypes), LastUnofferedPT the type
// of the last one.
type Stats struct {
	Packets, Bytes, RTCP, ForeignSource, StaleSSRC, Invalid uint64
	AuthFailures, UnofferedPT                               uint64
	LastUnofferedPT                                         uint8
	SSRC                                                    uint32
	Source                                                  netip.AddrPort
	LastActivity                                            time.Time
}

// Receiver reads one leg's RTP and RTCP sockets and passes valid packets
// from the locked source to the handler. Create it with Listen, run it with
// Start, stop it with Close.
type Receiver struct {
	port    int
	ports   *PortAllocator
	handler media.PacketHandler
	now     func() time.Time
	onLock  func(netip.AddrPort, uint32, time.Time)
	log     *slog.Logger
	prev    Occupant // the port's previous occupant; read-only
	strict  bool     // Config.StrictSource

	rtpConn, rtcpConn *net.UDPConn
	rtpLoop, rtcpLoop *loop

	// gen changes (under mu) whenever SetRemote changes the shared lock
	// state, so the RTP loop knows to reload its copy.
	gen    atomic.Uint64
	mu     sync.Mutex
	remote netip.AddrPort
	locked bool
	source netip.AddrPort
	ssrc   uint32
	ssrcs  []uint32 // seen from source, oldest first, at most maxSSRCs
	// retired is the source locked before the lock last moved; it is
	// never locked again.
	retired netip.AddrPort
	// relock is set by a SetRemote that names another address than the
	// locked source: the lock may move (see mayTakeOver) to pending.
	relock  bool
	pending netip.AddrPort

	packets, bytes, rtcp, foreign, stale, invalid atomic.Uint64
	unoffered                                     atomic.Uint64
	lastUnoffered                                 atomic.Uint32
	lastActivity                                  atomic.Int64 // UnixNano, 0 = none

	// pts are the offered payload types (payloadtype.go); nil accepts any.
	pts atomic.Pointer[ptSet]

	// SRTP (srtp.go): the sender's keys (nil: plain RTP) and the packets
	// that failed authentication.
	keys     atomic.Pointer[SRTP]
	authFail atomic.Uint64

	life    sync.Mutex // started, closing
	started bool
	closing atomic.Bool
	// panicked: a panic was logged (with its stack) for this receiver.
	panicked atomic.Bool
	marker   atomic.Value // string: source of the drain marker (see drain)
	wg       sync.WaitGroup

	closeOnce sync.Once
	closeErr  error

	// shared is set for a leg on the shared media sockets (Shared.Listen):
	// no sockets, goroutines or port pair of its own.
	shared *sharedLeg
}

// loop is one read goroutine's state. The RTP loop keeps a copy of the
// lock state so that the per-packet path takes no mutex.
type loop struct {
	rd  reader
	pkt media.Packet       // reused for every HandleRTP call
	sr  media.SenderReport // reused for every HandleSenderReport call

	gen      uint64
	strictIP netip.Addr // valid when StrictSource filtering applies
	locked   bool
	source   netip.AddrPort
	ssrc     uint32
	retired  netip.AddrPort // source before the lock last moved: never relocked
	relock   bool
	pending  netip.AddrPort

	srtp srtpLoop // this goroutine's SRTP contexts (srtp.go)
}

// Listen allocates a port pair from cfg.Ports and binds the RTP socket on
// it and the RTCP socket on the next port. A pair that is already bound by
// another process is given back (quarantined) and another one tried. Listen
// starts no goroutines.
func Listen(cfg Config) (*Receiver, error) {
	if cfg.Ports == nil {
		return nil, fmt.Errorf("%w: no port allocator", ErrConfig)
	}
	if cfg.Handler == nil {
		return nil, fmt.Errorf("%w: no packet handler", ErrConfig)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ip := cfg.IP
	if !ip.IsValid() {
		ip = netip.IPv4Unspecified()
	}
	for range cfg.Ports.Capacity() {
		port, err := cfg.Ports.Allocate()
		if err != nil {
			return nil, fmt.Errorf("rtpin: listen on %s: %w", ip, err)
		}
		rtpConn, rtcpConn, err := bindPair(ip, port, cfg.ReadBuffer)
		if err != nil {
			cfg.Ports.Release(port, Occupant{}) // keeps the previous occupant
			if errors.Is(err, syscall.EADDRINUSE) {
				continue
			}
			return nil, err
		}
		r, err := newReceiver(cfg, port, rtpConn, rtcpConn)
		if err != nil {
			rtpConn.Close()
			rtcpConn.Close()
			cfg.Ports.Release(port, Occupant{})
			return nil, err
		}
		return r, nil
	}
	return nil, fmt.Errorf("rtpin: listen on %s: every free pair is bound by another process: %w", ip, ErrNoPorts)
}

func bindPair(ip netip.Addr, port, readBuffer int) (rtpConn, rtcpConn *net.UDPConn, err error) {
	rtpConn, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
	if err != nil {
		return nil, nil, fmt.Errorf("rtpin: bind rtp: %w", err)
	}
	rtcpConn, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port+1))))
	if err != nil {
		rtpConn.Close()
		return nil, nil, fmt.Errorf("rtpin: bind rtcp: %w", err)
	}
	if readBuffer > 0 {
		if err := rtpConn.SetReadBuffer(readBuffer); err != nil {
			rtpConn.Close()
			rtcpConn.Close()
			return nil, nil, fmt.Errorf("rtpin: SO_RCVBUF: %w", err)
		}
	}
	return rtpConn, rtcpConn, nil
}

func newReceiver(cfg Config, port int, rtpConn, rtcpConn *net.UDPConn) (*Receiver, error) {
	rtpRd, err := newReader(rtpConn, rtpBatch)
	if err != nil {
		return nil, err
	}
	rtcpRd, err := newReader(rtcpConn, rtcpBatch)
	if err != nil {
		return nil, err
	}
	r := &Receiver{
		port:     port,
		ports:    cfg.Ports,
		handler:  cfg.Handler,
		now:      cfg.Now,
		onLock:   cfg.OnLock,
		log:      cfg.Logger,
		prev:     cfg.Ports.Previous(port),
		rtpConn:  rtpConn,
		rtcpConn: rtcpConn,
		rtpLoop:  &loop{rd: rtpRd},
		rtcpLoop: &loop{rd: rtcpRd},
		remote:   cfg.Remote,
		ssrcs:    make([]uint32, 0, maxSSRCs),
	}
	r.rtpLoop.strictIP = strictIP(cfg.StrictSource, cfg.Remote)
	r.strict = cfg.StrictSource
	r.SetPayloadTypes(cfg.PayloadTypes)
	if cfg.SRTP != nil {
		if err := r.SetSRTP(cfg.SRTP); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// strictIP returns the only IP packets may come from, or the invalid Addr
// when any IP is accepted.
func strictIP(strict bool, remote netip.AddrPort) netip.Addr {
	a := remote.Addr().Unmap()
	if !strict || !a.IsValid() || a.IsUnspecified() {
		return netip.Addr{}
	}
	return a
}

// Start starts the two read goroutines. It does nothing after Close or on a
// second call.
func (r *Receiver) Start() {
	r.life.Lock()
	defer r.life.Unlock()
	if r.started || r.closing.Load() {
		return
	}
	r.started = true
	if r.shared != nil {
		r.shared.pair.attach(r)
		return
	}
	r.wg.Add(2)
	go r.run(r.rtpLoop, false)
	go r.run(r.rtcpLoop, true)
}

// Port returns the RTP port; the RTCP port is Port()+1.
func (r *Receiver) Port() int { return r.port }

// SetRemote records a new media address (re-INVITE, UPDATE). The offered
// m= port is where the peer receives; SBCs usually keep sending from the
// same source (address, port, SSRC) when it changes, so the locked source
// stays locked and keeps being delivered. Another source takes the lock
// (the old one is then retired for good) when it is exactly the new
// address, when it comes from the new IP while the old source had another
// IP, or when the locked source has been quiet for RelockIdle. Before the
// first packet the next valid packet locks, as at the start. An
// unspecified IP (old-style hold, c=0.0.0.0) keeps the current one with
// the new port: a sender that follows its offered port keeps its IP.
func (r *Receiver) SetRemote(ap netip.AddrPort) {
	r.setRemote(ap)
	if r.shared != nil {
		r.life.Lock()
		started := r.started
		r.life.Unlock()
		if started {
			r.shared.pair.remoteChanged(r)
		}
	}
}

func (r *Receiver) setRemote(ap netip.AddrPort) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := ap.Addr(); !a.IsValid() || a.IsUnspecified() {
		switch ip := r.remote.Addr(); {
		case ip.IsValid() && !ip.IsUnspecified():
			ap = netip.AddrPortFrom(ip, ap.Port())
		case r.locked:
			ap = netip.AddrPortFrom(r.source.Addr(), ap.Port())
		}
	}
	r.remote = ap
	r.relock = r.locked && r.source != ap
	r.pending = ap
	r.gen.Add(1)
}

// RelockIdle is how long the locked source must have been quiet before a
// source that does not match the new SDP address may take the lock after
// SetRemote (an SBC that sends from another port than it offers).
const RelockIdle = 300 * time.Millisecond

// LastActivity returns the arrival time of the last accepted RTP packet,
// or the zero time if none was accepted.
func (r *Receiver) LastActivity() time.Time {
	n := r.lastActivity.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Stats returns a snapshot of the counters.
func (r *Receiver) Stats() Stats {
	r.mu.Lock()
	ssrc, src := r.ssrc, r.source
	r.mu.Unlock()
	return Stats{
		Packets:         r.packets.Load(),
		Bytes:           r.bytes.Load(),
		RTCP:            r.rtcp.Load(),
		ForeignSource:   r.foreign.Load(),
		StaleSSRC:       r.stale.Load(),
		Invalid:         r.invalid.Load(),
		AuthFailures:    r.authFail.Load(),
		UnofferedPT:     r.unoffered.Load(),
		LastUnofferedPT: uint8(r.lastUnoffered.Load()),
		SSRC:            ssrc,
		Source:          src,
		LastActivity:    r.LastActivity(),
	}
}

// Close stops the read goroutines and waits for them, closes both sockets
// and releases the port pair to the allocator with the locked source and
// its SSRCs as the Occupant. It is idempotent; concurrent calls wait for
// the first.
func (r *Receiver) Close() error {
	r.closeOnce.Do(func() {
		r.life.Lock()
		r.closing.Store(true)
		started := r.started
		r.life.Unlock()
		var err error
		if r.shared != nil {
			r.shared.pair.close(r, started)
		} else {
			if started {
				r.drain()
			}
			err = errors.Join(r.rtpConn.Close(), r.rtcpConn.Close())
			r.wg.Wait()
			r.mu.Lock()
			occ := Occupant{Source: r.source, SSRCs: slices.Clone(r.ssrcs)}
			r.mu.Unlock()
			r.ports.Release(r.port, occ)
		}

		s := r.Stats()
		r.log.Debug("rtp receiver closed", "port", r.port, "source", s.Source, "ssrc", s.SSRC,
			"packets", s.Packets, "bytes", s.Bytes, "rtcp", s.RTCP, "foreign", s.ForeignSource,
			"stale", s.StaleSSRC, "invalid", s.Invalid, "auth_failures", s.AuthFailures, "unoffered_pt", s.UnofferedPT)
		if err != nil {
			r.closeErr = fmt.Errorf("rtpin: close port %d: %w", r.port, err)
		}
	})
	return r.closeErr
}

// DrainTimeout bounds how long Close waits for the read loops to reach
// the end of what was queued (normally they get there at once).
const DrainTimeout = time.Second

// drain makes the read loops consume every datagram already queued (RTP
// sent just before the BYE) and then stop. It sends each socket a marker
// datagram from a private socket: the kernel queues datagrams in order, so
// a loop that reads the marker has delivered everything before it. The
// read deadline is only a fallback should a marker get lost.
func (r *Receiver) drain() {
	deadline := time.Now().Add(DrainTimeout)
	_ = r.rtpConn.SetReadDeadline(deadline)
	_ = r.rtcpConn.SetReadDeadline(deadline)
	marker, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IP(localOf(r.rtpConn).AsSlice())})
	if err == nil {
		defer marker.Close()
		r.marker.Store(marker.LocalAddr().(*net.UDPAddr).AddrPort().String())
		for _, c := range []*net.UDPConn{r.rtpConn, r.rtcpConn} {
			to := netip.AddrPortFrom(localOf(c), c.LocalAddr().(*net.UDPAddr).AddrPort().Port())
			_, _ = marker.WriteToUDPAddrPort([]byte{0}, to)
		}
	}
	r.wg.Wait()
}

// localOf is an address that reaches c: its bound IP, or loopback when it
// is bound to all addresses.
func localOf(c *net.UDPConn) netip.Addr {
	a := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	if a.IsUnspecified() {
		if a.Is6() {
			return netip.IPv6Loopback()
		}
		return netip.MustParseAddr("127.0.0.1")
	}
	return a
}

// isMarker reports whether d is the drain marker sent by Close.
func (r *Receiver) isMarker(src netip.AddrPort) bool {
	m, _ := r.marker.Load().(string)
	return m != "" && r.closing.Load() && src.String() == m
}

// run is one read goroutine. rtcpOnly is true for the RTCP socket.
func (r *Receiver) run(l *loop, rtcpOnly bool) {
	defer r.wg.Done()
	for {
		ds, err := l.rd.read()
		if err != nil {
			if r.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			r.log.Debug("rtp read error", "port", r.port, "err", err)
			time.Sleep(time.Millisecond) // never spin on a persistent error
			continue
		}
		if r.batch(l, ds, rtcpOnly, r.now()) {
			return
		}
	}
}

// batch hands one batch of datagrams on and reports whether the drain
// marker was among them. A panic below (the parser, the mixer behind the
// handler) costs the rest of the batch, never the process: it is logged
// with its stack once per receiver and counted (Panics).
func (r *Receiver) batch(l *loop, ds []datagram, rtcpOnly bool, now time.Time) (done bool) {
	defer func() {
		if p := recover(); p != nil {
			panics.Add(1)
			if r.panicked.CompareAndSwap(false, true) {
				r.log.Error("rtp: recovered panic handling a packet", "port", r.port, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
		}
	}()
	for i := range ds {
		d := &ds[i]
		switch {
		case r.closing.Load() && d.n == 1 && r.isMarker(d.src):
			done = true
		case d.trunc:
			r.invalid.Add(1)
		case rtcpOnly || isRTCP(d.bytes()):
			r.onRTCP(l, d.bytes(), d.src, now)
		default:
			r.onRTP(l, d.bytes(), d.src, now)
		}
	}
	return done
}

// panics counts the panics recovered in every receiver of the process.
var panics atomic.Uint64

// Panics returns the number of panics recovered while handling packets,
// in all receivers of the process (openrec_panics_total{where="rtp"}).
func Panics() uint64 { return panics.Load() }

// onRTP is the per-packet hot path: no allocation, no mutex in steady state.
func (r *Receiver) onRTP(l *loop, b []byte, src netip.AddrPort, now time.Time) {
	p := &l.pkt
	if r.srtpSync(&l.srtp) {
		var ok bool
		if b, ok = r.decryptRTP(&l.srtp, b, src); !ok {
			return
		}
	}
	if parseRTP(b, p) != nil {
		r.invalid.Add(1)
		return
	}
	if r.gen.Load() != l.gen {
		r.mu.Lock()
		r.reloadLocked(l)
		r.mu.Unlock()
	}
	if l.strictIP.IsValid() && src.Addr() != l.strictIP {
		r.foreign.Add(1)
		return
	}
	if r.isStale(src.Addr(), src.Port(), true, p.SSRC) {
		r.stale.Add(1)
		return
	}
	if !r.offered(p.PayloadType) {
		r.lastUnoffered.Store(uint32(p.PayloadType))
		r.unoffered.Add(1)
		return
	}
	switch {
	case !l.locked && src == l.retired:
		r.foreign.Add(1)
		return
	case !l.locked:
		if !r.lock(l, src, p.SSRC) {
			r.foreign.Add(1)
			return
		}
	case src != l.source:
		if !l.relock || !r.takeOver(l, src, p.SSRC, now) {
			r.foreign.Add(1)
			return
		}
	case p.SSRC != l.ssrc:
		// Passed through: the consumer handles an SSRC change.
		r.noteSSRC(l, p.SSRC)
	}
	p.Arrival = now
	p.Source = src
	r.packets.Add(1)
	r.bytes.Add(uint64(len(b)))
	r.lastActivity.Store(now.UnixNano())
	r.handler.HandleRTP(p)
}

// isStale reports whether a packet from addr(:port) with ssrc belongs to
// the port's previous occupant. RTCP is matched on the address only (it
// comes from another port than RTP).
func (r *Receiver) isStale(addr netip.Addr, port uint16, matchPort bool, ssrc uint32) bool {
	prev := r.prev.Source
	if !prev.IsValid() || addr != prev.Addr() || (matchPort && port != prev.Port()) {
		return false
	}
	return slices.Contains(r.prev.SSRCs, ssrc)
}

// reloadLocked copies the shared lock state into the RTP loop (r.mu held).
func (r *Receiver) reloadLocked(l *loop) {
	l.gen = r.gen.Load()
	l.strictIP = strictIP(r.strict, r.remote)
	l.locked, l.source, l.ssrc = r.locked, r.source, r.ssrc
	l.retired = r.retired
	l.relock, l.pending = r.relock, r.pending
}

// mayTakeOver says whether src may take the lock from the locked source
// after a SetRemote (see SetRemote), and whether src is the offered
// address itself (exact): only that ends the relock. A takeover because
// the old source went quiet keeps it, so that the source can still move on
// to the offered address (a sender that follows each offered port).
func (r *Receiver) mayTakeOver(l *loop, src netip.AddrPort, now time.Time) (ok, exact bool) {
	if src == l.retired {
		return false, false
	}
	if src == l.pending {
		return true, true
	}
	if a := l.pending.Addr(); a.IsValid() && !a.IsUnspecified() && src.Addr() == a && l.source.Addr() != a {
		return true, true
	}
	last := r.lastActivity.Load()
	return last == 0 || now.Sub(time.Unix(0, last)) >= RelockIdle, false
}

// takeOver moves the lock to src when mayTakeOver allows it; the old
// source is retired. It returns false if src stays foreign.
func (r *Receiver) takeOver(l *loop, src netip.AddrPort, ssrc uint32, now time.Time) bool {
	ok, exact := r.mayTakeOver(l, src, now)
	if !ok {
		return false
	}
	r.mu.Lock()
	if r.gen.Load() != l.gen || !r.relock {
		// A concurrent SetRemote changed the rules: judge the next packet.
		r.reloadLocked(l)
		r.mu.Unlock()
		return false
	}
	old := r.source
	r.retired = old
	if exact {
		r.relock, r.pending = false, netip.AddrPort{}
	}
	r.locked, r.source, r.ssrc = true, src, ssrc
	r.ssrcs = append(r.ssrcs[:0], ssrc)
	l.retired, l.relock, l.pending = old, r.relock, r.pending
	l.locked, l.source, l.ssrc = true, src, ssrc
	r.mu.Unlock()
	r.log.Debug("rtp source locked", "port", r.port, "source", src, "ssrc", ssrc, "moved_from", old)
	if r.onLock != nil {
		r.onLock(src, ssrc, now)
	}
	return true
}

// lock makes src the locked source. It returns false if a concurrent
// SetRemote changed the rules so that src is no longer acceptable.
func (r *Receiver) lock(l *loop, src netip.AddrPort, ssrc uint32) bool {
	r.mu.Lock()
	if r.gen.Load() != l.gen {
		r.reloadLocked(l)
		if (l.strictIP.IsValid() && src.Addr() != l.strictIP) || l.locked {
			r.mu.Unlock()
			return false
		}
	}
	r.locked, r.source, r.ssrc = true, src, ssrc
	r.ssrcs = append(r.ssrcs[:0], ssrc)
	l.locked, l.source, l.ssrc = true, src, ssrc
	r.mu.Unlock()
	r.log.Debug("rtp source locked", "port", r.port, "source", src, "ssrc", ssrc)
	if r.onLock != nil {
		r.onLock(src, ssrc, r.now())
	}
	return true
}

// noteSSRC records a new SSRC from the locked source.
func (r *Receiver) noteSSRC(l *loop, ssrc uint32) {
	r.mu.Lock()
	if r.gen.Load() == l.gen {
		r.ssrc = ssrc
		if !slices.Contains(r.ssrcs, ssrc) {
			if len(r.ssrcs) == maxSSRCs {
				r.ssrcs = append(r.ssrcs[:0], r.ssrcs[1:]...)
			}
			r.ssrcs = append(r.ssrcs, ssrc)
		}
	}
	l.ssrc = ssrc
	r.mu.Unlock()
	r.log.Debug("rtp ssrc changed", "port", r.port, "ssrc", ssrc)
}

// onRTCP handles one RTCP compound packet (RFC 3550 §6) from the RTCP
// socket or, with rtcp-mux, the RTP socket. It allocates (pion/rtcp), but
// RTCP arrives every few seconds.
func (r *Receiver) onRTCP(l *loop, b []byte, src netip.AddrPort, now time.Time) {
	r.mu.Lock()
	only := strictIP(r.strict, r.remote)
	locked, source := r.locked, r.source
	r.mu.Unlock()
	if (only.IsValid() && src.Addr() != only) || (locked && src.Addr() != source.Addr()) {
		r.foreign.Add(1)
		return
	}
	if r.srtpSync(&l.srtp) {
		var ok bool
		if b, ok = r.decryptRTCP(&l.srtp, b); !ok {
			return
		}
	}
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		r.invalid.Add(1)
		return
	}
	r.rtcp.Add(1)
	for _, p := range pkts {
		sr, ok := p.(*rtcp.SenderReport)
		if !ok {
			continue
		}
		if r.isStale(src.Addr(), 0, false, sr.SSRC) {
			r.stale.Add(1)
			continue
		}
		l.sr = media.SenderReport{SSRC: sr.SSRC, NTPTime: sr.NTPTime, RTPTime: sr.RTPTime, Arrival: now}
		r.handler.HandleSenderReport(&l.sr)
	}
}

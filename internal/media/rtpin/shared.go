package rtpin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// SharedConfig configures the shared media sockets (Shared).
type SharedConfig struct {
	IP netip.Addr // listen address; invalid means 0.0.0.0
	// Port is the first RTP port: socket pair i listens on Port+2i (RTP)
	// and Port+2i+1 (RTCP). Even.
	Port int
	// Pairs is the number of socket pairs, each read by one goroutine
	// (0: GOMAXPROCS). A leg is given the pair with the fewest legs.
	Pairs int
	// ReadBuffer is SO_RCVBUF of each socket (0: 8 MiB; the kernel caps
	// it at net.core.rmem_max).
	ReadBuffer int
	// Quarantine is how long the source and SSRCs of a closed leg are
	// refused to a leg that has not latched onto them yet (late packets of
	// a finished call); 0: 10 s. A leg that latches onto such a source
	// refuses those SSRCs for its whole life.
	Quarantine time.Duration
	// Batch is the number of datagrams per recvmmsg (0: 64).
	Batch  int
	Now    func() time.Time
	Logger *slog.Logger
}

// Shared is a small set of RTP/RTCP socket pairs that receive the media of
// every leg (media_ports: shared): one read goroutine per socket, reading
// recvmmsg batches, demultiplexes each datagram to the leg's Receiver. A
// leg's Receiver is created with Listen, as with per-leg ports, and then
// behaves the same (source lock, SSRC changes, SetRemote, SRTP, payload
// types, Stats, Close).
//
// Demultiplexing (the latching rule): a datagram from a source a leg is
// latched onto goes to that leg. A datagram from any other source is
// offered to one leg not latched yet (or moving after SetRemote), chosen
// in this order: (1) the leg whose SDP address is exactly the source;
// (2) the only such leg whose SDP IP is the source's IP; (3) without
// StrictSource only, and only when exactly one leg of the pair waits to
// latch, that leg (a sender behind NAT). Otherwise it is dropped and
// counted (SharedStats.Unmatched). The leg then applies its own rules
// (strict source, payload types, SRTP) and latches when it accepts it.
// Two legs of different calls from one IP are told apart by the source
// port their SDP offers (1); legs whose senders hide behind one NAT
// address with ports that differ from the SDP cannot be told apart: use
// per-leg ports there.
//
// Stale media: when a leg closes, its source and SSRCs are quarantined for
// Quarantine; a datagram of a quarantined (source, SSRC) never latches a
// leg (SharedStats.Stale), and a leg that latches onto a quarantined
// source (a new call from the previous call's port) refuses those SSRCs
// for its whole life (Stats.StaleSSRC).
//
// RTCP (on Port+1 of the pair, or rtcp-mux on the RTP port) goes to the
// leg latched onto the sender's IP and SSRC.
type Shared struct {
	cfg   SharedConfig
	pairs []*sharedPair
	wg    sync.WaitGroup

	closeOnce sync.Once
	closing   atomic.Bool

	unmatched, stale, invalid atomic.Uint64
}

// SharedStats are the counters of the shared sockets themselves (the
// legs count the rest in their Stats).
type SharedStats struct {
	Pairs     int
	Legs      int
	Unmatched uint64 // datagrams no leg expects
	Stale     uint64 // datagrams of a closed leg's source and SSRC
	Invalid   uint64 // datagrams too short or too long to route
}

type ssrcKey struct {
	ip   netip.Addr
	ssrc uint32
}

type staleSource struct {
	ssrcs []uint32
	until time.Time
}

// sharedPair is one RTP/RTCP socket pair and its demultiplexing tables.
type sharedPair struct {
	sh                *Shared
	port              int
	rtpConn, rtcpConn *net.UDPConn
	rtpRd, rtcpRd     reader

	// mu guards the tables; the read goroutines hold it for a batch.
	// Order: mu before Receiver.mu.
	mu       sync.Mutex
	legs     int
	bySource map[netip.AddrPort]*Receiver   // latched legs by source
	bySSRC   map[ssrcKey]*Receiver          // latched legs by sender IP and SSRC (RTCP)
	expect   map[netip.Addr][]*Receiver     // waiting legs by SDP IP
	loose    map[*Receiver]struct{}         // waiting legs without an SDP IP
	waiting  int                            // legs in expect and loose
	stale    map[netip.AddrPort]staleSource // closed legs' sources
	markers  map[netip.AddrPort]*Receiver   // drain markers of closing legs
}

// sharedLeg is a Receiver's state in its pair (pair.mu).
type sharedLeg struct {
	pair     *sharedPair
	waiting  bool           // in expect or loose
	expectIP netip.Addr     // key in expect
	source   netip.AddrPort // key in bySource, valid once latched
	ssrc     uint32         // the SSRC last seen by latched
	ssrcs    []uint32       // keys in bySSRC (with source's IP)
	stale    []uint32       // SSRCs refused for life (read by the RTP goroutine only)
	drained  chan struct{}
	markers  int  // drain markers still expected
	ownClock bool // Config.Now was set: arrival times from it, not the batch's
}

// NewShared binds the socket pairs. Start begins reading.
func NewShared(cfg SharedConfig) (*Shared, error) {
	if cfg.Port <= 0 || cfg.Port%2 != 0 {
		return nil, fmt.Errorf("%w: shared media port %d must be even and > 0", ErrConfig, cfg.Port)
	}
	if cfg.Pairs <= 0 {
		cfg.Pairs = runtime.GOMAXPROCS(0)
	}
	if cfg.Port+2*cfg.Pairs-1 > 65535 {
		return nil, fmt.Errorf("%w: shared media ports %d+%d pairs exceed 65535", ErrConfig, cfg.Port, cfg.Pairs)
	}
	if cfg.ReadBuffer <= 0 {
		cfg.ReadBuffer = 8 << 20
	}
	if cfg.Quarantine <= 0 {
		cfg.Quarantine = 10 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 64
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if !cfg.IP.IsValid() {
		cfg.IP = netip.IPv4Unspecified()
	}
	s := &Shared{cfg: cfg}
	for i := range cfg.Pairs {
		port := cfg.Port + 2*i
		rtpConn, rtcpConn, err := bindPair(cfg.IP, port, cfg.ReadBuffer)
		if err == nil {
			err = rtcpConn.SetReadBuffer(cfg.ReadBuffer / 8)
		}
		var rtpRd, rtcpRd reader
		if err == nil {
			rtpRd, err = newReader(rtpConn, cfg.Batch)
		}
		if err == nil {
			rtcpRd, err = newReader(rtcpConn, rtcpBatch)
		}
		if err != nil {
			if rtpConn != nil {
				rtpConn.Close()
				rtcpConn.Close()
			}
			s.closeConns()
			return nil, fmt.Errorf("rtpin: shared media ports %d-%d: %w", port, port+1, err)
		}
		s.pairs = append(s.pairs, &sharedPair{
			sh: s, port: port, rtpConn: rtpConn, rtcpConn: rtcpConn, rtpRd: rtpRd, rtcpRd: rtcpRd,
			bySource: map[netip.AddrPort]*Receiver{}, bySSRC: map[ssrcKey]*Receiver{},
			expect: map[netip.Addr][]*Receiver{}, loose: map[*Receiver]struct{}{},
			stale: map[netip.AddrPort]staleSource{}, markers: map[netip.AddrPort]*Receiver{},
		})
	}
	return s, nil
}

// Start starts one read goroutine per socket; Close ends them.
func (s *Shared) Start() {
	for _, p := range s.pairs {
		s.wg.Add(2)
		go p.run(p.rtpRd, false)
		go p.run(p.rtcpRd, true)
	}
}

// Ports returns the RTP port of each pair.
func (s *Shared) Ports() []int {
	out := make([]int, len(s.pairs))
	for i, p := range s.pairs {
		out[i] = p.port
	}
	return out
}

// Stats returns the shared sockets' counters.
func (s *Shared) Stats() SharedStats {
	st := SharedStats{Pairs: len(s.pairs), Unmatched: s.unmatched.Load(), Stale: s.stale.Load(), Invalid: s.invalid.Load()}
	for _, p := range s.pairs {
		p.mu.Lock()
		st.Legs += p.legs
		p.mu.Unlock()
	}
	return st
}

// Legs returns the number of legs listening on the shared sockets.
func (s *Shared) Legs() int { return s.Stats().Legs }

// Close closes the sockets and waits for the read goroutines. Legs still
// open receive nothing more; their Close still works. Idempotent.
func (s *Shared) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		err = s.closeConns()
		s.wg.Wait()
	})
	return err
}

func (s *Shared) closeConns() error {
	var err error
	for _, p := range s.pairs {
		err = errors.Join(err, p.rtpConn.Close(), p.rtcpConn.Close())
	}
	return err
}

// Listen creates a leg's Receiver on the least loaded pair; cfg.Ports, IP
// and ReadBuffer are not used. Arrival times come from the shared clock,
// read once per batch, unless cfg.Now is set (then from it, per packet). Start attaches it (packets flow), Close
// detaches it.
func (s *Shared) Listen(cfg Config) (*Receiver, error) {
	if cfg.Handler == nil {
		return nil, fmt.Errorf("%w: no packet handler", ErrConfig)
	}
	if s.closing.Load() {
		return nil, fmt.Errorf("rtpin: shared media sockets closed: %w", net.ErrClosed)
	}
	ownClock := cfg.Now != nil
	if cfg.Now == nil {
		cfg.Now = s.cfg.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var best *sharedPair
	bestN := 0
	for _, p := range s.pairs {
		p.mu.Lock()
		n := p.legs
		p.mu.Unlock()
		if best == nil || n < bestN {
			best, bestN = p, n
		}
	}
	r := &Receiver{
		port:     best.port,
		handler:  cfg.Handler,
		now:      cfg.Now,
		onLock:   cfg.OnLock,
		log:      cfg.Logger,
		rtpLoop:  &loop{},
		rtcpLoop: &loop{},
		remote:   cfg.Remote,
		ssrcs:    make([]uint32, 0, maxSSRCs),
		shared:   &sharedLeg{pair: best, ownClock: ownClock},
	}
	r.rtpLoop.strictIP = strictIP(cfg.StrictSource, cfg.Remote)
	r.strict = cfg.StrictSource
	r.SetPayloadTypes(cfg.PayloadTypes)
	if cfg.SRTP != nil {
		if err := r.SetSRTP(cfg.SRTP); err != nil {
			return nil, err
		}
	}
	best.mu.Lock()
	best.legs++ // counted from Listen, so that concurrent Listens spread
	best.mu.Unlock()
	return r, nil
}

// attach makes r a waiting leg of its pair (Start).
func (p *sharedPair) attach(r *Receiver) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r.mu.Lock()
	remote := r.remote
	r.mu.Unlock()
	p.wait(r, remote)
}

// wait puts r among the legs waiting to latch (p.mu held), keyed by the
// IP it expects.
func (p *sharedPair) wait(r *Receiver, remote netip.AddrPort) {
	sl := r.shared
	if sl.waiting {
		p.unwait(r)
	}
	sl.waiting = true
	p.waiting++
	if a := remote.Addr().Unmap(); a.IsValid() && !a.IsUnspecified() {
		sl.expectIP = a
		p.expect[a] = append(p.expect[a], r)
		return
	}
	sl.expectIP = netip.Addr{}
	p.loose[r] = struct{}{}
}

// unwait removes r from the waiting legs (p.mu held).
func (p *sharedPair) unwait(r *Receiver) {
	sl := r.shared
	if !sl.waiting {
		return
	}
	sl.waiting = false
	p.waiting--
	if !sl.expectIP.IsValid() {
		delete(p.loose, r)
		return
	}
	list := p.expect[sl.expectIP]
	if i := slices.Index(list, r); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	if len(list) == 0 {
		delete(p.expect, sl.expectIP)
	} else {
		p.expect[sl.expectIP] = list
	}
}

// remoteChanged is SetRemote's hook: a leg whose lock may move waits
// again for its new address (r.mu not held).
func (p *sharedPair) remoteChanged(r *Receiver) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.shared.drained != nil {
		return // closing
	}
	r.mu.Lock()
	remote, relock, locked := r.remote, r.relock, r.locked
	r.mu.Unlock()
	if !locked || relock {
		p.wait(r, remote)
	} else {
		p.unwait(r)
	}
}

// candidate chooses the waiting leg a datagram from src may latch (p.mu
// held): the latching rule in Shared's documentation.
func (p *sharedPair) candidate(src netip.AddrPort) *Receiver {
	list := p.expect[src.Addr()]
	for _, r := range list {
		r.mu.Lock()
		exact := r.remote == src || (r.relock && r.pending == src)
		r.mu.Unlock()
		if exact {
			return r
		}
	}
	if len(list) == 1 {
		return list[0]
	}
	if len(list) > 1 || p.waiting != 1 {
		return nil
	}
	for r := range p.loose {
		return r
	}
	for _, l := range p.expect {
		if r := l[0]; !r.strict {
			return r
		}
	}
	return nil
}

// latched updates the tables after r handled a datagram from src on loop
// l (p.mu held): a leg that latched (or moved) is found by its source
// from now on, and by its SSRCs for RTCP.
func (p *sharedPair) latched(r *Receiver, l *loop) {
	sl := r.shared
	if !l.locked {
		return
	}
	if l.source != sl.source {
		if sl.source.IsValid() && p.bySource[sl.source] == r {
			delete(p.bySource, sl.source)
		}
		p.forgetSSRCs(r)
		sl.source = l.source
		p.bySource[l.source] = r
		sl.stale = nil
		if st, ok := p.stale[l.source]; ok && p.sh.cfg.Now().Before(st.until) {
			sl.stale = st.ssrcs
		}
		r.mu.Lock()
		relock := r.relock
		r.mu.Unlock()
		if !relock {
			p.unwait(r)
		}
	}
	sl.ssrc = l.ssrc
	if !slices.Contains(sl.ssrcs, l.ssrc) {
		if len(sl.ssrcs) == maxSSRCs {
			delete(p.bySSRC, ssrcKey{sl.source.Addr(), sl.ssrcs[0]})
			sl.ssrcs = slices.Delete(sl.ssrcs, 0, 1)
		}
		sl.ssrcs = append(sl.ssrcs, l.ssrc)
		p.bySSRC[ssrcKey{sl.source.Addr(), l.ssrc}] = r
	}
}

func (p *sharedPair) forgetSSRCs(r *Receiver) {
	sl := r.shared
	for _, ssrc := range sl.ssrcs {
		k := ssrcKey{sl.source.Addr(), ssrc}
		if p.bySSRC[k] == r {
			delete(p.bySSRC, k)
		}
	}
	sl.ssrcs = sl.ssrcs[:0]
}

// detach removes r from the tables and quarantines its source (p.mu
// held).
func (p *sharedPair) detach(r *Receiver) {
	sl := r.shared
	p.unwait(r)
	if sl.source.IsValid() && p.bySource[sl.source] == r {
		delete(p.bySource, sl.source)
	}
	p.forgetSSRCs(r)
	for m, mr := range p.markers {
		if mr == r {
			delete(p.markers, m)
		}
	}
	r.mu.Lock()
	src, ssrcs := r.source, slices.Clone(r.ssrcs)
	r.mu.Unlock()
	now := p.sh.cfg.Now()
	if src.IsValid() && len(ssrcs) > 0 {
		if old, ok := p.stale[src]; ok && now.Before(old.until) {
			ssrcs = append(ssrcs, old.ssrcs...)
		}
		p.stale[src] = staleSource{ssrcs: ssrcs, until: now.Add(p.sh.cfg.Quarantine)}
	}
	if len(p.stale) > 256 && len(p.stale) > 2*p.legs {
		for k, v := range p.stale {
			if !now.Before(v.until) {
				delete(p.stale, k)
			}
		}
	}
	p.legs--
}

// isStale reports whether a datagram from src with ssrc belongs to a
// closed leg (p.mu held).
func (p *sharedPair) isStale(src netip.AddrPort, ssrc uint32, now time.Time) bool {
	st, ok := p.stale[src]
	return ok && now.Before(st.until) && slices.Contains(st.ssrcs, ssrc)
}

// close detaches r once everything queued before the call to close was
// delivered: a marker datagram on each socket of the pair, as per-leg
// ports do (drain). Called by Receiver.Close.
func (p *sharedPair) close(r *Receiver, started bool) {
	sl := r.shared
	p.mu.Lock()
	sl.drained = make(chan struct{})
	p.mu.Unlock()
	if started && !p.sh.closing.Load() {
		if marker, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IP(localOf(p.rtpConn).AsSlice())}); err == nil {
			src := marker.LocalAddr().(*net.UDPAddr).AddrPort()
			src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
			p.mu.Lock()
			p.markers[src] = r
			sl.markers = 2
			p.mu.Unlock()
			for _, c := range []*net.UDPConn{p.rtpConn, p.rtcpConn} {
				to := netip.AddrPortFrom(localOf(c), c.LocalAddr().(*net.UDPAddr).AddrPort().Port())
				_, _ = marker.WriteToUDPAddrPort([]byte{0}, to)
			}
			t := time.NewTimer(DrainTimeout)
			select {
			case <-sl.drained:
			case <-t.C:
			}
			t.Stop()
			marker.Close()
		}
	}
	p.mu.Lock()
	p.detach(r)
	p.mu.Unlock()
}

// run is one socket's read goroutine.
func (p *sharedPair) run(rd reader, rtcpOnly bool) {
	defer p.sh.wg.Done()
	for {
		ds, err := rd.read()
		if err != nil {
			if p.sh.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			if errors.Is(err, syscall.EBADF) {
				return
			}
			p.sh.cfg.Logger.Debug("rtp read error", "port", p.port, "err", err)
			time.Sleep(time.Millisecond) // never spin on a persistent error
			continue
		}
		p.batch(ds, rtcpOnly, p.sh.cfg.Now())
	}
}

// batch routes one batch of datagrams. A panic below costs the rest of
// the batch, never the process.
func (p *sharedPair) batch(ds []datagram, rtcpOnly bool, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer func() {
		if v := recover(); v != nil {
			panics.Add(1)
			p.sh.cfg.Logger.Error("rtp: recovered panic handling a packet", "port", p.port, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
	}()
	for i := range ds {
		d := &ds[i]
		if d.n == 1 {
			if r := p.markers[d.src]; r != nil {
				if sl := r.shared; sl.markers > 0 {
					if sl.markers--; sl.markers == 0 {
						close(sl.drained)
					}
				}
				continue
			}
		}
		if d.trunc || d.n < 8 {
			p.sh.invalid.Add(1)
			continue
		}
		b := d.bytes()
		if rtcpOnly || isRTCP(b) {
			p.routeRTCP(b, d.src, rtcpOnly, now)
			continue
		}
		p.routeRTP(b, d.src, now)
	}
}

func (p *sharedPair) routeRTP(b []byte, src netip.AddrPort, now time.Time) {
	if len(b) < rtpHeaderLen {
		p.sh.invalid.Add(1)
		return
	}
	ssrc := binary.BigEndian.Uint32(b[8:12])
	r := p.bySource[src]
	if r != nil {
		if sl := r.shared; len(sl.stale) > 0 && slices.Contains(sl.stale, ssrc) {
			r.stale.Add(1)
			return
		}
	} else {
		if p.isStale(src, ssrc, now) {
			p.sh.stale.Add(1)
			return
		}
		if r = p.candidate(src); r == nil {
			p.sh.unmatched.Add(1)
			return
		}
	}
	if r.shared.ownClock {
		now = r.now()
	}
	r.onRTP(r.rtpLoop, b, src, now)
	if l := r.rtpLoop; l.locked && (l.source != r.shared.source || l.ssrc != r.shared.ssrc) {
		p.latched(r, l)
	}
}

func (p *sharedPair) routeRTCP(b []byte, src netip.AddrPort, rtcpSocket bool, now time.Time) {
	r := p.bySSRC[ssrcKey{src.Addr(), binary.BigEndian.Uint32(b[4:8])}]
	if r == nil {
		p.sh.unmatched.Add(1)
		return
	}
	l := r.rtpLoop
	if rtcpSocket {
		l = r.rtcpLoop
	}
	if r.shared.ownClock {
		now = r.now()
	}
	r.onRTCP(l, b, src, now)
}

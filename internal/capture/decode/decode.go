// Package decode turns captured link-layer frames into what the passive
// recorder follows: UDP datagrams and in-order TCP stream bytes, each with
// its addresses and capture time.
//
// Decoding is gopacket's (github.com/gopacket/gopacket/layers): Ethernet,
// 802.1Q and QinQ VLAN tags, Linux cooked capture (SLL, SLL2), raw IP,
// IPv4/IPv6, GRE and ERSPAN (types II/III), VXLAN. IPv4 and IPv6 fragments
// are reassembled (ip4defrag, ip6defrag), TCP streams by tcpassembly.
// The same IP packet seen twice within DedupWindow (a SPAN session that
// mirrors both directions of two switch ports sees every packet twice) is
// dropped before anything else looks at it.
//
// A Decoder is used by one goroutine; it does no I/O.
package decode

import (
	"hash/maphash"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/ip6defrag"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"
)

// Proto is the transport of a Datagram.
type Proto uint8

// Transports.
const (
	UDP Proto = iota + 1
	TCP
)

func (p Proto) String() string {
	switch p {
	case UDP:
		return "udp"
	case TCP:
		return "tcp"
	}
	return "?"
}

// Datagram is one UDP payload or one in-order piece of a TCP stream. It
// is valid only during the Handler call: Payload's array is reused.
type Datagram struct {
	Time     time.Time
	Src, Dst netip.AddrPort
	Proto    Proto
	Payload  []byte
	// Gap is set on TCP data that follows bytes the capture missed (or
	// the first data of a stream whose start was not seen): a reader of a
	// framed protocol must resynchronise.
	Gap bool
	// End is set on the last Datagram of a TCP stream (FIN, RST or timeout);
	// its Payload may be empty.
	End bool
}

// Handler consumes decoded datagrams.
type Handler func(d *Datagram)

// Config configures a Decoder.
type Config struct {
	// LinkType of the frames (pcap link type: layers.LinkTypeEthernet,
	// LinkTypeLinuxSLL, LinkTypeRaw ...).
	LinkType layers.LinkType
	// DedupWindow: an IP packet identical to one seen less than this long
	// ago is dropped. 0 means DefaultDedupWindow; negative disables.
	DedupWindow time.Duration
	// TCPIdle: a TCP stream with buffered out-of-order data older than this
	// is flushed (the missing bytes are skipped) by Tick. 0 means 2 s.
	TCPIdle time.Duration
}

// DefaultDedupWindow is the duplicate window: far below the 500 ms of a SIP
// retransmission (RFC 3261 T1), far above the skew between two SPAN copies.
const DefaultDedupWindow = 50 * time.Millisecond

// maxFragHeld bounds the fragment bytes held for reassembly.
const maxFragHeld = 32 << 20

// maxSeen bounds the packets remembered for duplicate detection (a file
// whose timestamps never advance would otherwise never expire any).
const maxSeen = 1 << 16

// Stats are the decoder's counters.
type Stats struct {
	Frames      uint64 // frames given to Frame
	Datagrams   uint64 // UDP datagrams handed on
	TCPSegments uint64 // TCP segments given to the reassembler
	Duplicates  uint64 // IP packets dropped as duplicates
	Fragments   uint64 // IP fragments seen
	Reassembled uint64 // IP packets rebuilt from fragments
	NotIP       uint64 // frames without an IP packet (ARP, LLDP ...)
	Other       uint64 // IP packets neither UDP nor TCP (ICMP ...)
	Malformed   uint64 // frames gopacket could not decode, bad fragments
	FragFlushes uint64 // times the held fragments passed their bound and were dropped
}

// Decoder decodes frames of one link type.
type Decoder struct {
	cfg     Config
	handler Handler
	stats   Stats

	def4 *ip4defrag.IPv4Defragmenter
	def6 *ip6defrag.IPv6Defragmenter
	asm  *reassembly.Assembler
	actx asmContext
	now  time.Time // time of the frame being decoded

	// fragHeld approximates the bytes the defragmenters hold (fragments
	// added, reassembled packets taken out); past maxFragHeld every
	// incomplete packet is dropped, as a kernel does above
	// ipfrag_high_thresh, so a flood of fragments that never complete
	// cannot take the memory (their timeouts are in capture time, which
	// a file may never advance).
	fragHeld int

	seed maphash.Seed
	seen map[uint64]time.Time
	ring []dedupEntry // insertion order of seen, for expiry
	head int

	dg Datagram // reused for UDP

	// fast path: gopacket's DecodingLayerParser for the common frame
	// (Ethernet, VLAN tags, IPv4/IPv6, UDP or TCP, no tunnel, no fragment)
	dlp     *gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
	eth     layers.Ethernet
	dot1q   layers.Dot1Q
	sll     layers.LinuxSLL
	ip4     layers.IPv4
	ip6     layers.IPv6
	udp     layers.UDP
	tcp     layers.TCP
}

type dedupEntry struct {
	h  uint64
	at time.Time
}

// New returns a Decoder handing datagrams to h.
func New(cfg Config, h Handler) *Decoder {
	if cfg.DedupWindow == 0 {
		cfg.DedupWindow = DefaultDedupWindow
	}
	if cfg.TCPIdle <= 0 {
		cfg.TCPIdle = 2 * time.Second
	}
	d := &Decoder{
		cfg:     cfg,
		handler: h,
		def4:    ip4defrag.NewIPv4Defragmenter(),
		def6:    ip6defrag.NewIPv6Defragmenter(),
		seed:    maphash.MakeSeed(),
		seen:    map[uint64]time.Time{},
	}
	first := gopacket.LayerType(0)
	switch cfg.LinkType {
	case layers.LinkTypeEthernet:
		first = layers.LayerTypeEthernet
	case layers.LinkTypeLinuxSLL:
		first = layers.LayerTypeLinuxSLL
	}
	if first != 0 {
		d.dlp = gopacket.NewDecodingLayerParser(first, &d.eth, &d.dot1q, &d.sll, &d.ip4, &d.ip6, &d.udp, &d.tcp)
		d.dlp.IgnoreUnsupported = true
	}
	pool := reassembly.NewStreamPool(&streamFactory{d: d})
	d.asm = reassembly.NewAssembler(pool)
	d.asm.MaxBufferedPagesPerConnection = 64
	d.asm.MaxBufferedPagesTotal = 4096
	return d
}

// Stats returns the counters.
func (d *Decoder) Stats() Stats { return d.stats }

// Frame decodes one captured frame taken at ts. data may be reused by the
// caller after Frame returns.
func (d *Decoder) Frame(ts time.Time, data []byte) {
	d.stats.Frames++
	d.now = ts
	if d.fast(data) {
		return
	}
	pkt := gopacket.NewPacket(data, d.cfg.LinkType, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	// The innermost IP packet: a tunnel (GRE/ERSPAN, VXLAN) carries the
	// mirrored frame inside an outer IP packet.
	var ip gopacket.NetworkLayer
	var frag6 *layers.IPv6Fragment
	var tl gopacket.Layer // the transport layer after ip
	for _, l := range pkt.Layers() {
		switch v := l.(type) {
		case *layers.IPv4:
			ip, frag6, tl = v, nil, nil
		case *layers.IPv6:
			ip, frag6, tl = v, nil, nil
		case *layers.IPv6Fragment:
			frag6 = v
		case *layers.UDP, *layers.TCP:
			if tl == nil {
				tl = l
			}
		}
	}
	if ip == nil {
		if el := pkt.ErrorLayer(); el != nil {
			d.stats.Malformed++
		} else {
			d.stats.NotIP++
		}
		return
	}
	if d.duplicate(ip) {
		d.stats.Duplicates++
		return
	}
	switch v := ip.(type) {
	case *layers.IPv4:
		d.ipv4(v)
	case *layers.IPv6:
		d.ipv6(v, frag6, tl)
	}
}

// fast handles a plain frame without allocating; false leaves it to the
// general path (tunnels, fragments, IPv6 extension headers, errors).
func (d *Decoder) fast(data []byte) bool {
	if d.dlp == nil {
		return false
	}
	if err := d.dlp.DecodeLayers(data, &d.decoded); err != nil && len(d.decoded) == 0 {
		return false
	}
	var ip gopacket.NetworkLayer
	var proto layers.IPProtocol
	var src, dst netip.Addr
	transport := false
	for _, lt := range d.decoded {
		switch lt {
		case layers.LayerTypeIPv4:
			if ip != nil || d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0 {
				return false
			}
			ip, proto = &d.ip4, d.ip4.Protocol
			src, _ = netip.AddrFromSlice(d.ip4.SrcIP.To4())
			dst, _ = netip.AddrFromSlice(d.ip4.DstIP.To4())
		case layers.LayerTypeIPv6:
			if ip != nil || (d.ip6.NextHeader != layers.IPProtocolUDP && d.ip6.NextHeader != layers.IPProtocolTCP) {
				return false
			}
			ip, proto = &d.ip6, d.ip6.NextHeader
			src, _ = netip.AddrFromSlice(d.ip6.SrcIP)
			dst, _ = netip.AddrFromSlice(d.ip6.DstIP)
		case layers.LayerTypeUDP:
			if proto != layers.IPProtocolUDP || tunnelPort(uint16(d.udp.DstPort)) {
				return false
			}
			transport = true
		case layers.LayerTypeTCP:
			if proto != layers.IPProtocolTCP {
				return false
			}
			transport = true
		}
	}
	if !transport || !src.IsValid() || !dst.IsValid() {
		return false
	}
	if d.duplicate(ip) {
		d.stats.Duplicates++
		return true
	}
	if proto == layers.IPProtocolTCP {
		d.stats.TCPSegments++
		d.assemble(ip.NetworkFlow(), &d.tcp)
		return true
	}
	d.stats.Datagrams++
	d.dg = Datagram{Time: d.now, Proto: UDP, Payload: d.udp.Payload,
		Src: netip.AddrPortFrom(src.Unmap(), uint16(d.udp.SrcPort)), Dst: netip.AddrPortFrom(dst.Unmap(), uint16(d.udp.DstPort))}
	d.handler(&d.dg)
	return true
}

// tunnelPort: UDP ports of encapsulations the general path unwraps
// (VXLAN 4789, VXLAN-GPE 4790, Geneve 6081, GTP-U 2152).
func tunnelPort(p uint16) bool { return p == 4789 || p == 4790 || p == 6081 || p == 2152 }

func (d *Decoder) ipv4(ip *layers.IPv4) {
	if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
		d.stats.Fragments++
		d.holdFragment(len(ip.Payload))
		whole, err := d.def4.DefragIPv4WithTimestamp(ip, d.now)
		if err != nil {
			d.fragHeld = max(0, d.fragHeld-len(ip.Payload)) // refused, not held
			d.stats.Malformed++
			return
		}
		if whole == nil {
			return // more fragments to come
		}
		d.stats.Reassembled++
		d.fragHeld = max(0, d.fragHeld-len(whole.Payload))
		ip = whole
	}
	src, _ := netip.AddrFromSlice(ip.SrcIP.To4())
	dst, _ := netip.AddrFromSlice(ip.DstIP.To4())
	d.transport(ip.Protocol, ip.Payload, src, dst, ip.NetworkFlow())
}

func (d *Decoder) ipv6(ip *layers.IPv6, frag *layers.IPv6Fragment, tl gopacket.Layer) {
	next := ip.NextHeader
	payload := ip.Payload
	if frag != nil {
		d.stats.Fragments++
		d.holdFragment(len(frag.LayerPayload()))
		whole := d.def6.DefragIPv6(ip, frag)
		if whole == nil {
			return
		}
		if whole != ip {
			d.stats.Reassembled++
		}
		d.fragHeld = max(0, d.fragHeld-len(whole.Payload))
		// The rebuilt packet's payload starts at the fragmented part.
		next, payload = frag.NextHeader, whole.Payload
		ip = whole
	} else if next != layers.IPProtocolUDP && next != layers.IPProtocolTCP {
		// Hop-by-hop, routing, destination options: gopacket decoded
		// them; the transport layer it found after them is the packet's.
		switch tl.(type) {
		case *layers.UDP:
			next = layers.IPProtocolUDP
		case *layers.TCP:
			next = layers.IPProtocolTCP
		}
		if tl != nil {
			payload = append(append([]byte(nil), tl.LayerContents()...), tl.LayerPayload()...)
		}
	}
	src, _ := netip.AddrFromSlice(ip.SrcIP)
	dst, _ := netip.AddrFromSlice(ip.DstIP)
	d.transport(next, payload, src, dst, ip.NetworkFlow())
}

func (d *Decoder) transport(proto layers.IPProtocol, payload []byte, src, dst netip.Addr, flow gopacket.Flow) {
	switch proto {
	case layers.IPProtocolUDP:
		var u layers.UDP
		if err := u.DecodeFromBytes(payload, gopacket.NilDecodeFeedback); err != nil {
			d.stats.Malformed++
			return
		}
		d.stats.Datagrams++
		d.dg = Datagram{Time: d.now, Proto: UDP, Payload: u.Payload,
			Src: netip.AddrPortFrom(src.Unmap(), uint16(u.SrcPort)), Dst: netip.AddrPortFrom(dst.Unmap(), uint16(u.DstPort))}
		d.handler(&d.dg)
	case layers.IPProtocolTCP:
		var t layers.TCP
		if err := t.DecodeFromBytes(payload, gopacket.NilDecodeFeedback); err != nil {
			d.stats.Malformed++
			return
		}
		d.stats.TCPSegments++
		d.assemble(flow, &t)
	default:
		d.stats.Other++
	}
}

// duplicate reports whether the IP packet was seen within the window,
// and remembers it. The hash covers the addresses, the IPv4 id and
// fragment offset, the protocol and the payload; TTL and checksum are
// left out (a copy from another switch port may have been routed once
// more).
func (d *Decoder) duplicate(ip gopacket.NetworkLayer) bool {
	if d.cfg.DedupWindow < 0 {
		return false
	}
	var h maphash.Hash
	h.SetSeed(d.seed)
	switch v := ip.(type) {
	case *layers.IPv4:
		_, _ = h.Write(v.SrcIP)
		_, _ = h.Write(v.DstIP)
		_, _ = h.Write([]byte{byte(v.Id >> 8), byte(v.Id), byte(v.FragOffset >> 8), byte(v.FragOffset), byte(v.Flags), byte(v.Protocol)})
		_, _ = h.Write(v.Payload)
	case *layers.IPv6:
		_, _ = h.Write(v.SrcIP)
		_, _ = h.Write(v.DstIP)
		_, _ = h.Write([]byte{byte(v.NextHeader)})
		_, _ = h.Write(v.Payload)
	}
	sum := h.Sum64()
	d.expire()
	if at, ok := d.seen[sum]; ok && d.now.Sub(at) < d.cfg.DedupWindow && !d.now.Before(at) {
		return true
	}
	d.seen[sum] = d.now
	d.ring = append(d.ring, dedupEntry{h: sum, at: d.now})
	if len(d.ring)-d.head > maxSeen { // forget the oldest
		if e := d.ring[d.head]; d.seen[e.h].Equal(e.at) {
			delete(d.seen, e.h)
		}
		d.head++
	}
	return false
}

// expire forgets hashes older than the window (the ring is in capture
// order; a clock step backwards only delays expiry).
func (d *Decoder) expire() {
	for d.head < len(d.ring) {
		e := d.ring[d.head]
		if d.now.Sub(e.at) < d.cfg.DedupWindow && !d.now.Before(e.at) {
			break
		}
		if at, ok := d.seen[e.h]; ok && at.Equal(e.at) {
			delete(d.seen, e.h)
		}
		d.head++
	}
	if d.head > 1024 && d.head*2 > len(d.ring) {
		n := copy(d.ring, d.ring[d.head:])
		d.ring = d.ring[:n]
		d.head = 0
	}
}

// holdFragment accounts for a fragment about to be held; past
// maxFragHeld every incomplete packet is forgotten first.
func (d *Decoder) holdFragment(n int) {
	if d.fragHeld+n > maxFragHeld {
		d.def4 = ip4defrag.NewIPv4Defragmenter()
		d.def6 = ip6defrag.NewIPv6Defragmenter()
		d.fragHeld = 0
		d.stats.FragFlushes++
	}
	d.fragHeld += n
}

// Tick does the periodic work at capture time now: TCP streams waiting
// for missing bytes longer than TCPIdle skip them, streams idle for 10
// minutes are forgotten, stale fragments discarded.
func (d *Decoder) Tick(now time.Time) {
	d.now = now
	d.asm.FlushWithOptions(reassembly.FlushOptions{T: now.Add(-d.cfg.TCPIdle), TC: now.Add(-10 * time.Minute)})
	d.def4.DiscardOlderThan(now.Add(-30 * time.Second))
	// ip6defrag stamps a packet with the wall clock, not the capture's
	d.def6.DiscardOlderThan(time.Now().Add(-30 * time.Second))
}

// Close flushes every TCP stream (end of a capture file).
func (d *Decoder) Close() {
	d.asm.FlushAll()
}

type asmContext struct{ ci gopacket.CaptureInfo }

func (c *asmContext) GetCaptureInfo() gopacket.CaptureInfo { return c.ci }

func (d *Decoder) assemble(flow gopacket.Flow, t *layers.TCP) {
	d.actx.ci = gopacket.CaptureInfo{Timestamp: d.now}
	d.asm.AssembleWithContext(flow, t, &d.actx)
}

type streamFactory struct{ d *Decoder }

func (f *streamFactory) New(netFlow, tcpFlow gopacket.Flow, _ *layers.TCP, _ reassembly.AssemblerContext) reassembly.Stream {
	src, _ := netip.AddrFromSlice(netFlow.Src().Raw())
	dst, _ := netip.AddrFromSlice(netFlow.Dst().Raw())
	sp, dp := tcpFlow.Src().Raw(), tcpFlow.Dst().Raw()
	return &stream{d: f.d,
		src: netip.AddrPortFrom(src.Unmap(), uint16(sp[0])<<8|uint16(sp[1])),
		dst: netip.AddrPortFrom(dst.Unmap(), uint16(dp[0])<<8|uint16(dp[1]))}
}

// stream is one TCP connection (both directions; src → dst is the
// direction of its first packet).
type stream struct {
	d        *Decoder
	src, dst netip.AddrPort
	dg       Datagram
}

func (s *stream) addrs(dir reassembly.TCPFlowDirection) (netip.AddrPort, netip.AddrPort) {
	if dir == reassembly.TCPDirClientToServer {
		return s.src, s.dst
	}
	return s.dst, s.src
}

// Accept takes every segment and starts a direction at the first one
// seen, SYN or not.
func (s *stream) Accept(_ *layers.TCP, _ gopacket.CaptureInfo, _ reassembly.TCPFlowDirection, _ reassembly.Sequence, start *bool, _ reassembly.AssemblerContext) bool {
	*start = true
	return true
}

func (s *stream) ReassembledSG(sg reassembly.ScatterGather, _ reassembly.AssemblerContext) {
	dir, _, end, skip := sg.Info()
	n, _ := sg.Lengths()
	src, dst := s.addrs(dir)
	at := sg.CaptureInfo(0).Timestamp
	if at.IsZero() {
		at = s.d.now
	}
	if n > 0 || skip != 0 {
		s.dg = Datagram{Time: at, Src: src, Dst: dst, Proto: TCP, Payload: sg.Fetch(n), Gap: skip != 0}
		s.d.handler(&s.dg)
	}
	if end {
		s.dg = Datagram{Time: s.d.now, Src: src, Dst: dst, Proto: TCP, End: true}
		s.d.handler(&s.dg)
	}
}

func (s *stream) ReassemblyComplete(_ reassembly.AssemblerContext) bool {
	for _, dir := range []reassembly.TCPFlowDirection{reassembly.TCPDirClientToServer, reassembly.TCPDirServerToClient} {
		src, dst := s.addrs(dir)
		s.dg = Datagram{Time: s.d.now, Src: src, Dst: dst, Proto: TCP, End: true}
		s.d.handler(&s.dg)
	}
	return true
}

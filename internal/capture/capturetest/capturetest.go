// Package capturetest writes the pcap files the passive-recording tests
// replay: SIP dialogs (over UDP, or TCP with several messages per segment
// and messages split across segments) and RTP carrying a tone per party
// (G.711 µ-law from audiotest), framed as Ethernet with optional 802.1Q
// tags, with optional IP fragmentation of large SIP messages and
// duplicated frames (two SPAN copies).
package capturetest

import (
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/g711"
)

// Options frame every packet of a Writer.
type Options struct {
	VLANs     []uint16 // 802.1Q tags, outer first (two: QinQ)
	Duplicate bool     // every frame written twice (the second copy 30 µs later)
	// FragmentMTU, if > 0, fragments UDP datagrams whose IP packet is
	// larger (IPv4 fragments, last fragment first when Reverse is set).
	FragmentMTU int
	Reverse     bool
	// PcapNG writes pcapng instead of pcap (call Flush at the end).
	PcapNG bool
	// Encap wraps every frame as a remote mirror sends it: "vxlan" (UDP
	// 4789) or "erspan" (GRE, ERSPAN type II), from 192.0.2.1 to 192.0.2.2.
	Encap string
}

// Writer writes Ethernet frames to a pcap file.
type Writer struct {
	w interface {
		WritePacket(ci gopacket.CaptureInfo, data []byte) error
	}
	ng   *pcapgo.NgWriter
	opt  Options
	ipID uint16
	tcp  map[[2]netip.AddrPort]uint32 // next sequence number per direction
	n    int
}

// NewWriter writes the pcap (or pcapng) header to w.
func NewWriter(w io.Writer, opt Options) (*Writer, error) {
	out := &Writer{opt: opt, tcp: map[[2]netip.AddrPort]uint32{}}
	if opt.PcapNG {
		ng, err := pcapgo.NewNgWriter(w, layers.LinkTypeEthernet)
		if err != nil {
			return nil, err
		}
		out.w, out.ng = ng, ng
		return out, nil
	}
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	out.w = pw
	return out, nil
}

// Flush writes what a pcapng writer buffers (a no-op for pcap).
func (w *Writer) Flush() error {
	if w.ng != nil {
		return w.ng.Flush()
	}
	return nil
}

// Frames is the number of frames written.
func (w *Writer) Frames() int { return w.n }

func (w *Writer) frame(at time.Time, ls ...gopacket.SerializableLayer) error {
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	all := []gopacket.SerializableLayer{eth}
	next := layers.EthernetTypeIPv4
	if ip6, ok := ls[0].(*layers.IPv6); ok && ip6 != nil {
		next = layers.EthernetTypeIPv6
	}
	if len(w.opt.VLANs) > 0 {
		eth.EthernetType = layers.EthernetTypeDot1Q
		for i, v := range w.opt.VLANs {
			t := layers.EthernetTypeDot1Q
			if i == len(w.opt.VLANs)-1 {
				t = next
			}
			all = append(all, &layers.Dot1Q{VLANIdentifier: v, Type: t})
		}
	} else {
		eth.EthernetType = next
	}
	all = append(all, ls...)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, all...); err != nil {
		return err
	}
	b := buf.Bytes()
	if w.opt.Encap != "" {
		var err error
		if b, err = encap(w.opt.Encap, b); err != nil {
			return err
		}
	}
	copies := 1
	if w.opt.Duplicate {
		copies = 2
	}
	for i := 0; i < copies; i++ {
		t := at.Add(time.Duration(i) * 30 * time.Microsecond)
		if err := w.w.WritePacket(gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(b), Length: len(b)}, b); err != nil {
			return err
		}
		w.n++
	}
	return nil
}

// encap wraps a mirrored frame in VXLAN or ERSPAN II.
func encap(kind string, inner []byte) ([]byte, error) {
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 3}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 4}, EthernetType: layers.EthernetTypeIPv4}
	src, dst := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	var ls []gopacket.SerializableLayer
	switch kind {
	case "vxlan":
		ip := ipv4(src, dst, layers.IPProtocolUDP, 1)
		u := &layers.UDP{SrcPort: 49152, DstPort: 4789}
		_ = u.SetNetworkLayerForChecksum(ip)
		ls = []gopacket.SerializableLayer{eth, ip, u, &layers.VXLAN{ValidIDFlag: true, VNI: 42}, gopacket.Payload(inner)}
	case "erspan":
		hdr := []byte{0x10, 0x2a, 0x00, 0x01, 0, 0, 0, 0} // type II, VLAN 42, session 1
		ls = []gopacket.SerializableLayer{eth, ipv4(src, dst, layers.IPProtocolGRE, 1),
			&layers.GRE{Protocol: layers.EthernetTypeERSPAN, SeqPresent: true, Seq: 1}, gopacket.Payload(append(hdr, inner...))}
	default:
		return nil, fmt.Errorf("capturetest: unknown encapsulation %q", kind)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		return nil, err
	}
	return append([]byte(nil), buf.Bytes()...), nil
}

func ipv4(src, dst netip.Addr, proto layers.IPProtocol, id uint16) *layers.IPv4 {
	return &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, Id: id, SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
}

// UDP writes one UDP datagram (fragmented when it exceeds FragmentMTU).
func (w *Writer) UDP(at time.Time, src, dst netip.AddrPort, payload []byte) error {
	w.ipID++
	udp := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
	if src.Addr().Is6() {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: net.IP(src.Addr().AsSlice()), DstIP: net.IP(dst.Addr().AsSlice())}
		_ = udp.SetNetworkLayerForChecksum(ip)
		return w.frame(at, ip, udp, gopacket.Payload(payload))
	}
	ip := ipv4(src.Addr(), dst.Addr(), layers.IPProtocolUDP, w.ipID)
	_ = udp.SetNetworkLayerForChecksum(ip)
	if w.opt.FragmentMTU <= 0 || 20+8+len(payload) <= w.opt.FragmentMTU {
		return w.frame(at, ip, udp, gopacket.Payload(payload))
	}
	// Serialize UDP + payload, then cut the IP payload into fragments.
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, udp, gopacket.Payload(payload)); err != nil {
		return err
	}
	whole := buf.Bytes()
	step := (w.opt.FragmentMTU - 20) &^ 7
	type frag struct {
		off  int
		data []byte
		more bool
	}
	var frags []frag
	for off := 0; off < len(whole); off += step {
		end := min(off+step, len(whole))
		frags = append(frags, frag{off: off, data: whole[off:end], more: end < len(whole)})
	}
	if w.opt.Reverse {
		for i, j := 0, len(frags)-1; i < j; i, j = i+1, j-1 {
			frags[i], frags[j] = frags[j], frags[i]
		}
	}
	for i, f := range frags {
		fip := ipv4(src.Addr(), dst.Addr(), layers.IPProtocolUDP, w.ipID)
		fip.FragOffset = uint16(f.off / 8)
		if f.more {
			fip.Flags = layers.IPv4MoreFragments
		}
		if err := w.frame(at.Add(time.Duration(i)*10*time.Microsecond), fip, gopacket.Payload(f.data)); err != nil {
			return err
		}
	}
	return nil
}

// TCP writes payload from src to dst as TCP segments of at most seg bytes
// (0: one segment) on the connection's running sequence number. The
// first segment of a direction carries SYN-less data at sequence 1000:
// the reassembler sees a connection already open.
func (w *Writer) TCP(at time.Time, src, dst netip.AddrPort, payload []byte, seg int) error {
	key := [2]netip.AddrPort{src, dst}
	seq, ok := w.tcp[key]
	if !ok {
		seq = 1000
		// handshake, so the stream's start is known
		if err := w.tcpSegment(at.Add(-2*time.Millisecond), src, dst, seq-1, nil, true); err != nil {
			return err
		}
	}
	if seg <= 0 {
		seg = len(payload)
	}
	for off := 0; off < len(payload); off += seg {
		end := min(off+seg, len(payload))
		if err := w.tcpSegment(at.Add(time.Duration(off/seg)*50*time.Microsecond), src, dst, seq, payload[off:end], false); err != nil {
			return err
		}
		seq += uint32(end - off)
	}
	w.tcp[key] = seq
	return nil
}

func (w *Writer) tcpSegment(at time.Time, src, dst netip.AddrPort, seq uint32, data []byte, syn bool) error {
	w.ipID++
	ip := ipv4(src.Addr(), dst.Addr(), layers.IPProtocolTCP, w.ipID)
	t := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()), Seq: seq, ACK: !syn, SYN: syn, PSH: len(data) > 0, Window: 65535}
	_ = t.SetNetworkLayerForChecksum(ip)
	return w.frame(at, ip, t, gopacket.Payload(data))
}

// Party is one side of a Call.
type Party struct {
	DN   string
	SIP  netip.AddrPort // signalling address
	RTP  netip.AddrPort // where it receives RTP (its SDP), and sends from
	Tone float64        // frequency it sends
}

// Move is a re-INVITE from the caller at At moving its media to RTP.
type Move struct {
	At  time.Duration
	RTP netip.AddrPort
}

// Call is one scripted call: INVITE, 100, 180, 200, ACK, RTP both ways
// every 20 ms for Talk, BYE, 200.
type Call struct {
	ID             string
	Caller, Callee Party
	Start          time.Time
	Talk           time.Duration
	TCP            bool   // SIP over TCP (caller → callee connection)
	Moves          []Move // re-INVITEs moving the caller's media
	// CalleeRTPFrom, if valid, is the source the callee's RTP comes from
	// (a NAT in front of it; its SDP still says Callee.RTP).
	CalleeRTPFrom netip.AddrPort
	BigInvite     bool   // pad the INVITE past one MTU (fragmentation)
	Headers       string // extra INVITE header lines ("X-Genesys-CallUUID: ...\r\n")
	// SRTP: RTP/SAVP with SDES keys (AES_CM_128_HMAC_SHA1_80), each
	// party encrypting with the key of its own SDP.
	SRTP bool
}

// srtpKey is party n's master key + salt (30 bytes) of a Call with SRTP.
func srtpKey(n byte) []byte {
	k := make([]byte, 30)
	for i := range k {
		k[i] = n*40 + byte(i)
	}
	return k
}

func (c *Call) sdp(a netip.AddrPort, dir string, party byte) string {
	body := SDP(a, dir)
	if !c.SRTP {
		return body
	}
	body = strings.Replace(body, "RTP/AVP", "RTP/SAVP", 1)
	return body + "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + base64.StdEncoding.EncodeToString(srtpKey(party)) + "\r\n"
}

// encrypter protects a party's RTP when the call uses SRTP.
func (c *Call) encrypter(party byte) func([]byte) []byte {
	if !c.SRTP {
		return func(b []byte) []byte { return b }
	}
	k := srtpKey(party)
	ctx, err := srtp.CreateContext(k[:16], k[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		panic(err) // fixed, valid key
	}
	return func(b []byte) []byte {
		var h rtp.Header
		if _, err := h.Unmarshal(b); err != nil {
			panic(err)
		}
		out, err := ctx.EncryptRTP(nil, b, &h)
		if err != nil {
			panic(err)
		}
		return out
	}
}

type event struct {
	at   time.Time
	seq  int
	emit func() error
}

// SDP is an offer/answer body with PCMU and telephone-event at a.
func SDP(a netip.AddrPort, dir string) string {
	ipv := "IP4"
	if a.Addr().Is6() {
		ipv = "IP6"
	}
	return fmt.Sprintf("v=0\r\no=- 1 1 IN %s %s\r\ns=-\r\nc=IN %s %s\r\nt=0 0\r\nm=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\na=%s\r\n",
		ipv, a.Addr(), ipv, a.Addr(), a.Port(), dir)
}

func (c *Call) msg(start string, from, to *Party, fromTag, toTag string, cseq int, method, body, extra string) []byte {
	var b strings.Builder
	b.WriteString(start + "\r\n")
	proto := "UDP"
	if c.TCP {
		proto = "TCP"
	}
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=z9hG4bK-%s-%d\r\n", proto, from.SIP, c.ID, cseq)
	fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=%s\r\n", c.Caller.DN, c.Caller.SIP.Addr(), fromTag)
	to2 := fmt.Sprintf("To: <sip:%s@%s>", c.Callee.DN, c.Callee.SIP.Addr())
	if toTag != "" {
		to2 += ";tag=" + toTag
	}
	b.WriteString(to2 + "\r\n")
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\n", c.ID, cseq, method)
	fmt.Fprintf(&b, "Contact: <sip:%s@%s>\r\n", from.DN, from.SIP)
	b.WriteString(extra)
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return []byte(b.String())
}

// Script returns the call's frames as timed events for Write.
func (c *Call) events(w *Writer) []event {
	var ev []event
	add := func(d time.Duration, f func() error) {
		ev = append(ev, event{at: c.Start.Add(d), seq: len(ev), emit: f})
	}
	const ft, tt = "caller-tag", "callee-tag"
	send := func(d time.Duration, from, to *Party, b []byte, seg int) {
		add(d, func() error {
			if c.TCP {
				// one connection: caller's signalling address ↔ callee's
				src, dst := from.SIP, to.SIP
				return w.TCP(c.Start.Add(d), src, dst, b, seg)
			}
			return w.UDP(c.Start.Add(d), from.SIP, to.SIP, b)
		})
	}
	caller, callee := &c.Caller, &c.Callee
	extra := c.Headers
	if c.BigInvite {
		extra += "X-Padding: " + strings.Repeat("p", 2000) + "\r\n"
	}
	invite := c.msg(fmt.Sprintf("INVITE sip:%s@%s SIP/2.0", c.Callee.DN, c.Callee.SIP), caller, callee, ft, "", 1, "INVITE", c.sdp(caller.RTP, "sendrecv", 1), extra)
	trying := c.msg("SIP/2.0 100 Trying", caller, callee, ft, "", 1, "INVITE", "", "")
	ringing := c.msg("SIP/2.0 180 Ringing", caller, callee, ft, tt, 1, "INVITE", "", "")
	ok := c.msg("SIP/2.0 200 OK", caller, callee, ft, tt, 1, "INVITE", c.sdp(callee.RTP, "sendrecv", 2), "")
	ack := c.msg(fmt.Sprintf("ACK sip:%s@%s SIP/2.0", c.Callee.DN, c.Callee.SIP), caller, callee, ft, tt, 1, "ACK", "", "")
	if c.TCP {
		// the INVITE split over two segments; 100 and 180 in one segment
		send(0, caller, callee, invite, len(invite)/2+1)
		send(5*time.Millisecond, callee, caller, append(append([]byte{}, trying...), ringing...), 0)
	} else {
		send(0, caller, callee, invite, 0)
		send(5*time.Millisecond, callee, caller, trying, 0)
		send(10*time.Millisecond, callee, caller, ringing, 0)
	}
	send(50*time.Millisecond, callee, caller, ok, 0)
	send(60*time.Millisecond, caller, callee, ack, 0)
	// RTP: 20 ms frames both ways.
	const frame = 160
	callerRTP := c.Caller.RTP
	calleeFrom := c.Callee.RTP
	if c.CalleeRTPFrom.IsValid() {
		calleeFrom = c.CalleeRTPFrom
	}
	frames := int(c.Talk / (20 * time.Millisecond))
	toneA := audiotest.Tone(c.Caller.Tone, 8000, 8000, frames*frame)
	toneB := audiotest.Tone(c.Callee.Tone, 8000, 8000, frames*frame)
	moves := append([]Move(nil), c.Moves...)
	encA, encB := c.encrypter(1), c.encrypter(2)
	cseq := 1
	for i := 0; i < frames; i++ {
		d := 70*time.Millisecond + time.Duration(i)*20*time.Millisecond
		for len(moves) > 0 && moves[0].At <= d-70*time.Millisecond {
			mv := moves[0]
			moves = moves[1:]
			cseq++
			re := c.msg(fmt.Sprintf("INVITE sip:%s@%s SIP/2.0", c.Callee.DN, c.Callee.SIP), caller, callee, ft, tt, cseq, "INVITE", c.sdp(mv.RTP, "sendrecv", 1), "")
			reok := c.msg("SIP/2.0 200 OK", caller, callee, ft, tt, cseq, "INVITE", c.sdp(callee.RTP, "sendrecv", 2), "")
			reack := c.msg(fmt.Sprintf("ACK sip:%s@%s SIP/2.0", c.Callee.DN, c.Callee.SIP), caller, callee, ft, tt, cseq, "ACK", "", "")
			send(d-9*time.Millisecond, caller, callee, re, 0)
			send(d-6*time.Millisecond, callee, caller, reok, 0)
			send(d-3*time.Millisecond, caller, callee, reack, 0)
			callerRTP = mv.RTP
		}
		seq, ts := uint16(i), uint32(i*frame)
		a := encA(rtpPacket(0x1111, seq, ts, toneA[i*frame:(i+1)*frame]))
		b := encB(rtpPacket(0x2222, seq+300, ts+9000, toneB[i*frame:(i+1)*frame]))
		from := callerRTP
		add(d, func() error { return w.UDP(c.Start.Add(d), from, c.Callee.RTP, a) })
		to := callerRTP
		add(d+time.Millisecond, func() error { return w.UDP(c.Start.Add(d+time.Millisecond), calleeFrom, to, b) })
	}
	end := 70*time.Millisecond + time.Duration(frames)*20*time.Millisecond
	cseq++
	bye := c.msg(fmt.Sprintf("BYE sip:%s@%s SIP/2.0", c.Callee.DN, c.Callee.SIP), caller, callee, ft, tt, cseq, "BYE", "", "")
	byeOK := c.msg("SIP/2.0 200 OK", caller, callee, ft, tt, cseq, "BYE", "", "")
	send(end, caller, callee, bye, 0)
	send(end+5*time.Millisecond, callee, caller, byeOK, 0)
	return ev
}

func rtpPacket(ssrc uint32, seq uint16, ts uint32, pcm []int16) []byte {
	b := make([]byte, 12+len(pcm))
	b[0], b[1] = 0x80, 0
	b[2], b[3] = byte(seq>>8), byte(seq)
	b[4], b[5], b[6], b[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
	b[8], b[9], b[10], b[11] = byte(ssrc>>24), byte(ssrc>>16), byte(ssrc>>8), byte(ssrc)
	g711.EncodeULawTo(b[12:], pcm)
	return b
}

// Write writes the calls' frames in time order (calls may overlap).
func (w *Writer) Write(calls ...Call) error {
	var ev []event
	for i := range calls {
		e := calls[i].events(w)
		for j := range e {
			e[j].seq += i << 20
		}
		ev = append(ev, e...)
	}
	sort.SliceStable(ev, func(i, j int) bool {
		if !ev[i].at.Equal(ev[j].at) {
			return ev[i].at.Before(ev[j].at)
		}
		return ev[i].seq < ev[j].seq
	})
	for _, e := range ev {
		if err := e.emit(); err != nil {
			return err
		}
	}
	return w.Flush()
}

// WriteRTP writes a pcap of one RTP stream (PCMU, 20 ms frames) carrying
// tone for d, for SIPp's play_pcap_audio (which rewrites the addresses).
func WriteRTP(w io.Writer, tone float64, d time.Duration) error {
	pw, err := NewWriter(w, Options{})
	if err != nil {
		return err
	}
	const frame = 160
	n := int(d / (20 * time.Millisecond))
	pcm := audiotest.Tone(tone, 8000, 8000, n*frame)
	src, dst := netip.MustParseAddrPort("192.0.2.1:6000"), netip.MustParseAddrPort("192.0.2.2:6000")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		p := rtpPacket(0x5555, uint16(i), uint32(i*frame), pcm[i*frame:(i+1)*frame])
		if err := pw.UDP(t0.Add(time.Duration(i)*20*time.Millisecond), src, dst, p); err != nil {
			return err
		}
	}
	return nil
}

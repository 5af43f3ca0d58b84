package decode

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

var (
	macA = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{2, 0, 0, 0, 0, 2}
)

func ser(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// udpFrame is Ethernet/IPv4/UDP with payload p from 10.0.0.1:5060 to
// 10.0.0.2:5060.
func udpFrame(t testing.TB, id uint16, p []byte) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Id: id, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
	u := &layers.UDP{SrcPort: 5060, DstPort: 5060}
	_ = u.SetNetworkLayerForChecksum(ip)
	return ser(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}, ip, u, gopacket.Payload(p))
}

type got struct {
	d   []Datagram
	buf [][]byte
}

func (g *got) handle(d *Datagram) {
	c := *d
	c.Payload = append([]byte(nil), d.Payload...)
	g.d = append(g.d, c)
}

func TestEncapsulations(t *testing.T) {
	payload := []byte("OPTIONS sip:x SIP/2.0\r\n\r\n")
	inner := udpFrame(t, 7, payload)
	outerIP := func(proto layers.IPProtocol) *layers.IPv4 {
		return &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.IP{192, 0, 2, 1}, DstIP: net.IP{192, 0, 2, 2}}
	}
	eth := func(tp layers.EthernetType) *layers.Ethernet {
		return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: tp}
	}
	vx := &layers.UDP{SrcPort: 40000, DstPort: 4789}
	vxIP := outerIP(layers.IPProtocolUDP)
	_ = vx.SetNetworkLayerForChecksum(vxIP)
	erspan := []byte{0x10, 0x2a, 0x00, 0x01, 0, 0, 0, 0} // version 1 (type II), VLAN 42, session 1
	ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::2")}
	u6 := &layers.UDP{SrcPort: 5060, DstPort: 5060}
	_ = u6.SetNetworkLayerForChecksum(ip6)
	ip6h := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolIPv6HopByHop, SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::2")}
	hbh := &layers.IPv6HopByHop{Options: []*layers.IPv6HopByHopOption{{OptionType: 1, OptionLength: 4, OptionData: make([]byte, 4)}}}
	hbh.NextHeader = layers.IPProtocolUDP
	u6h := &layers.UDP{SrcPort: 5060, DstPort: 5060}
	_ = u6h.SetNetworkLayerForChecksum(ip6h)
	sllIP := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
	sllU := &layers.UDP{SrcPort: 5060, DstPort: 5060}
	_ = sllU.SetNetworkLayerForChecksum(sllIP)
	sll := append([]byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00}, ser(t, sllIP, sllU, gopacket.Payload(payload))...)
	cases := []struct {
		name  string
		link  layers.LinkType
		frame []byte
		src   string
	}{
		{"ethernet", layers.LinkTypeEthernet, inner, "10.0.0.1:5060"},
		{"vxlan", layers.LinkTypeEthernet, ser(t, eth(layers.EthernetTypeIPv4), vxIP, vx, &layers.VXLAN{ValidIDFlag: true, VNI: 5}, gopacket.Payload(inner)), "10.0.0.1:5060"},
		{"gre erspan II", layers.LinkTypeEthernet, ser(t, eth(layers.EthernetTypeIPv4), outerIP(layers.IPProtocolGRE),
			&layers.GRE{Protocol: layers.EthernetTypeERSPAN, SeqPresent: true, Seq: 1}, gopacket.Payload(append(erspan, inner...))), "10.0.0.1:5060"},
		{"transparent ethernet over gre", layers.LinkTypeEthernet, ser(t, eth(layers.EthernetTypeIPv4), outerIP(layers.IPProtocolGRE),
			&layers.GRE{Protocol: layers.EthernetTypeTransparentEthernetBridging}, gopacket.Payload(inner)), "10.0.0.1:5060"},
		{"ipv6", layers.LinkTypeEthernet, ser(t, eth(layers.EthernetTypeIPv6), ip6, u6, gopacket.Payload(payload)), "[2001:db8::1]:5060"},
		{"linux cooked", layers.LinkTypeLinuxSLL, sll, "10.0.0.1:5060"},
		{"ipv6 hop-by-hop", layers.LinkTypeEthernet, ser(t, eth(layers.EthernetTypeIPv6), ip6h, hbh, u6h, gopacket.Payload(payload)), "[2001:db8::1]:5060"},
		{"raw ip", layers.LinkTypeRaw, ser(t, sllIP, sllU, gopacket.Payload(payload)), "10.0.0.1:5060"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := &got{}
			d := New(Config{LinkType: tc.link}, g.handle)
			d.Frame(t0, tc.frame)
			if len(g.d) != 1 || !bytes.Equal(g.d[0].Payload, payload) || g.d[0].Src.String() != tc.src || g.d[0].Proto != UDP {
				t.Fatalf("datagrams %+v stats %+v", g.d, d.Stats())
			}
		})
	}
}

func TestDuplicatesDropped(t *testing.T) {
	g := &got{}
	d := New(Config{LinkType: layers.LinkTypeEthernet}, g.handle)
	f1 := udpFrame(t, 1, []byte("a"))
	// the SPAN copy of another port: another VLAN tag, same IP packet
	ip := &layers.IPv4{Version: 4, TTL: 63, Id: 1, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
	u := &layers.UDP{SrcPort: 5060, DstPort: 5060}
	_ = u.SetNetworkLayerForChecksum(ip)
	f1vlan := ser(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeDot1Q}, &layers.Dot1Q{VLANIdentifier: 9, Type: layers.EthernetTypeIPv4}, ip, u, gopacket.Payload([]byte("a")))
	d.Frame(t0, f1)
	d.Frame(t0.Add(20*time.Microsecond), f1vlan)
	d.Frame(t0.Add(time.Millisecond), udpFrame(t, 2, []byte("a"))) // another IP id: a new packet
	d.Frame(t0.Add(time.Second), f1)                               // same packet much later: a retransmission
	if len(g.d) != 3 || d.Stats().Duplicates != 1 {
		t.Fatalf("%d datagrams, stats %+v", len(g.d), d.Stats())
	}
	off := New(Config{LinkType: layers.LinkTypeEthernet, DedupWindow: -1}, (&got{}).handle)
	off.Frame(t0, f1)
	off.Frame(t0, f1)
	if off.Stats().Duplicates != 0 || off.Stats().Datagrams != 2 {
		t.Fatalf("dedup off: %+v", off.Stats())
	}
}

func TestFragmentsAndTCP(t *testing.T) {
	g := &got{}
	d := New(Config{LinkType: layers.LinkTypeEthernet}, g.handle)
	big := bytes.Repeat([]byte("0123456789"), 300)
	ip := &layers.IPv4{Version: 4, TTL: 64, Id: 99, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
	u := &layers.UDP{SrcPort: 5060, DstPort: 5060}
	_ = u.SetNetworkLayerForChecksum(ip)
	whole := ser(t, u, gopacket.Payload(big))
	for off := len(whole) / 1480 * 1480; off >= 0; off -= 1480 { // last fragment first
		end := min(off+1480, len(whole))
		f := *ip
		f.FragOffset = uint16(off / 8)
		if end < len(whole) {
			f.Flags = layers.IPv4MoreFragments
		}
		d.Frame(t0, ser(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}, &f, gopacket.Payload(whole[off:end])))
	}
	if len(g.d) != 1 || !bytes.Equal(g.d[0].Payload, big) || d.Stats().Reassembled != 1 {
		t.Fatalf("%d datagrams, stats %+v", len(g.d), d.Stats())
	}
	// TCP: out of order segments come out in order
	g.d = nil
	seg := func(seq uint32, p string, syn bool) []byte {
		ip := &layers.IPv4{Version: 4, TTL: 64, Id: uint16(seq), Protocol: layers.IPProtocolTCP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
		tc := &layers.TCP{SrcPort: 40000, DstPort: 5060, Seq: seq, SYN: syn, ACK: !syn, Window: 1000}
		_ = tc.SetNetworkLayerForChecksum(ip)
		return ser(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}, ip, tc, gopacket.Payload(p))
	}
	d.Frame(t0, seg(99, "", true))
	d.Frame(t0, seg(105, "world", false))
	d.Frame(t0, seg(100, "hello", false))
	d.Close()
	var all []byte
	for _, x := range g.d {
		all = append(all, x.Payload...)
	}
	if string(all) != "helloworld" || !g.d[len(g.d)-1].End {
		t.Fatalf("stream %q %+v", all, g.d)
	}
	if want := netip.MustParseAddrPort("10.0.0.1:40000"); g.d[0].Src != want {
		t.Errorf("src %v", g.d[0].Src)
	}
}

// TestTCPMidStream: a connection whose start was not captured (a SIP
// trunk's long-lived connection) is taken up at its first segment, and
// data after a long idle gap comes out at once, not at the next flush.
func TestTCPMidStream(t *testing.T) {
	g := &got{}
	d := New(Config{LinkType: layers.LinkTypeEthernet}, g.handle)
	seg := func(seq uint32, p string) []byte {
		ip := &layers.IPv4{Version: 4, TTL: 64, Id: uint16(seq), Protocol: layers.IPProtocolTCP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
		tc := &layers.TCP{SrcPort: 40000, DstPort: 5060, Seq: seq, ACK: true, PSH: true, Window: 1000}
		_ = tc.SetNetworkLayerForChecksum(ip)
		return ser(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}, ip, tc, gopacket.Payload(p))
	}
	d.Frame(t0, seg(5000, "hello"))
	if len(g.d) != 1 || string(g.d[0].Payload) != "hello" {
		t.Fatalf("first segment without SYN: %+v", g.d)
	}
	d.Tick(t0.Add(5 * time.Second))
	d.Frame(t0.Add(6*time.Second), seg(5005, "world"))
	if len(g.d) != 2 || string(g.d[1].Payload) != "world" || !g.d[1].Time.Equal(t0.Add(6*time.Second)) {
		t.Fatalf("after an idle gap: %+v", g.d)
	}
}

// FuzzDecoder: no frame makes the decoder panic.
func FuzzDecoder(f *testing.F) {
	f.Add(udpFrame(f, 1, []byte("INVITE sip:x SIP/2.0\r\n\r\n")), uint8(0))
	ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolIPv6HopByHop, SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::2")}
	hbh := &layers.IPv6HopByHop{Options: []*layers.IPv6HopByHopOption{{OptionType: 1, OptionLength: 4, OptionData: make([]byte, 4)}}}
	hbh.NextHeader = layers.IPProtocolUDP
	u6 := &layers.UDP{SrcPort: 5060, DstPort: 5060}
	_ = u6.SetNetworkLayerForChecksum(ip6)
	f.Add(ser(f, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv6}, ip6, hbh, u6, gopacket.Payload("SIP/2.0 200 OK\r\n\r\n")), uint8(0))
	f.Add([]byte{0, 1, 2}, uint8(0))
	f.Fuzz(func(t *testing.T, frame []byte, link uint8) {
		lt := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeRaw, layers.LinkTypeIPv4}[int(link)%4]
		d := New(Config{LinkType: lt}, func(*Datagram) {})
		d.Frame(t0, frame)
		d.Frame(t0.Add(time.Millisecond), frame)
		d.Tick(t0.Add(time.Hour))
		d.Close()
	})
}

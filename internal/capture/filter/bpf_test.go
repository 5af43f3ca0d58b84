package filter

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"

	"github.com/openrec/openrec/internal/capture/decode"
)

type sample struct {
	name  string
	frame []byte
	plain bool // the kernel program judges it exactly
}

func ser(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func samples(t testing.TB) []sample {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	eth := func(tp layers.EthernetType) *layers.Ethernet {
		return &layers.Ethernet{SrcMAC: mac, DstMAC: mac, EthernetType: tp}
	}
	v4 := func(src, dst string, proto layers.IPProtocol, opts bool) *layers.IPv4 {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
		if opts {
			ip.Options = []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}} // IHL 6
		}
		return ip
	}
	udp := func(ip gopacket.NetworkLayer, sp, dp int) *layers.UDP {
		u := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
		_ = u.SetNetworkLayerForChecksum(ip)
		return u
	}
	tcp := func(ip gopacket.NetworkLayer, sp, dp int) *layers.TCP {
		tc := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), ACK: true, Window: 100}
		_ = tc.SetNetworkLayerForChecksum(ip)
		return tc
	}
	pl := gopacket.Payload([]byte("payload"))
	var out []sample
	add := func(name string, plain bool, ls ...gopacket.SerializableLayer) {
		out = append(out, sample{name, ser(t, ls...), plain})
	}
	ip := v4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP, false)
	add("v4 sip", true, eth(layers.EthernetTypeIPv4), ip, udp(ip, 5060, 5060), pl)
	ip = v4("10.0.0.1", "192.168.1.9", layers.IPProtocolUDP, true)
	add("v4 rtp with ip options", true, eth(layers.EthernetTypeIPv4), ip, udp(ip, 20000, 30001), pl)
	ip = v4("10.9.0.1", "10.0.0.2", layers.IPProtocolTCP, false)
	add("v4 tcp", true, eth(layers.EthernetTypeIPv4), ip, tcp(ip, 40000, 5061), pl)
	ip = v4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP, false)
	add("vlan v4 udp", true, eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 7, Type: layers.EthernetTypeIPv4}, ip, udp(ip, 6000, 5060), pl)
	ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8:1::2")}
	add("v6 udp", true, eth(layers.EthernetTypeIPv6), ip6, udp(ip6, 5060, 5062), pl)
	ip6t := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: net.ParseIP("fe80::1"), DstIP: net.ParseIP("2001:db8::2")}
	add("vlan v6 tcp", true, eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 7, Type: layers.EthernetTypeIPv6}, ip6t, tcp(ip6t, 5060, 40000), pl)
	ipi := v4("10.0.0.1", "10.0.0.2", layers.IPProtocolICMPv4, false)
	add("icmp", true, eth(layers.EthernetTypeIPv4), ipi, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)}, pl)
	add("arp", true, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		SourceHwAddress: mac, SourceProtAddress: []byte{10, 0, 0, 1}, DstHwAddress: mac, DstProtAddress: []byte{10, 0, 0, 2}})
	// not plain: judged after decoding, so the kernel must keep them
	inner := out[0].frame
	vx := v4("192.0.2.1", "192.0.2.2", layers.IPProtocolUDP, false)
	add("vxlan", false, eth(layers.EthernetTypeIPv4), vx, udp(vx, 40000, 4789), &layers.VXLAN{ValidIDFlag: true, VNI: 1}, gopacket.Payload(inner))
	gre := v4("192.0.2.1", "192.0.2.2", layers.IPProtocolGRE, false)
	add("gre", false, eth(layers.EthernetTypeIPv4), gre, &layers.GRE{Protocol: layers.EthernetTypeTransparentEthernetBridging}, gopacket.Payload(inner))
	frag := v4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP, false)
	frag.FragOffset = 100
	add("fragment", false, eth(layers.EthernetTypeIPv4), frag, pl)
	add("qinq", false, eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 1, Type: layers.EthernetTypeDot1Q}, &layers.Dot1Q{VLANIdentifier: 2, Type: layers.EthernetTypeIPv4}, ip, udp(ip, 5060, 5060), pl)
	return out
}

// verdict is what the decoded filter says of a frame: false when the
// frame yields no UDP/TCP datagram (openrec ignores it).
func verdict(f Filter, frame []byte) bool {
	keep := false
	d := decode.New(decode.Config{LinkType: layers.LinkTypeEthernet, DedupWindow: -1}, func(d *decode.Datagram) {
		if len(d.Payload) > 0 {
			keep = keep || f(d)
		}
	})
	d.Frame(time.Unix(1, 0), frame)
	d.Close()
	return keep
}

func runVM(t testing.TB, prog []bpf.RawInstruction, frame []byte) bool {
	ins, ok := bpf.Disassemble(prog)
	if !ok {
		t.Fatalf("program does not disassemble")
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatal(err)
	}
	n, err := vm.Run(frame)
	if err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// checkKernel: on plain frames the kernel program and the decoded filter
// agree; the kernel never drops a frame the decoded filter would keep.
func checkKernel(t testing.TB, expr string, ss []sample) {
	f, err := Compile(expr)
	if err != nil {
		t.Fatalf("%q: %v", expr, err)
	}
	prog, err := KernelProgram(expr)
	if errors.Is(err, ErrTooComplex) || (err == nil && prog == nil && f == nil) {
		return // too long for the kernel, or empty: no program
	}
	if err != nil {
		t.Fatalf("%q: %v", expr, err)
	}
	for _, s := range ss {
		got, want := runVM(t, prog, s.frame), verdict(f, s.frame)
		switch {
		case s.plain && got != want:
			t.Errorf("%q on %s: kernel %v, decoded %v", expr, s.name, got, want)
		case !s.plain && !got:
			t.Errorf("%q on %s: the kernel drops a frame it cannot judge", expr, s.name)
		}
	}
}

func TestKernelProgram(t *testing.T) {
	ss := samples(t)
	for _, expr := range []string{
		"udp", "tcp", "ip", "ip6", "not ip6", "port 5060", "src port 5060", "dst port 5060",
		"udp and port 5060", "tcp or portrange 20000-30000", "dst portrange 30000-30001", "host 10.0.0.2",
		"src host 10.0.0.1 and not dst port 5060", "net 192.168.0.0/16", "dst net 2001:db8:1::/48", "src net 2001:db8::/32",
		"host 2001:db8::1 or host 10.9.0.1", "net 0.0.0.0/0", "not (udp and (port 5060 or port 5062))", "net 10.0.0.0/9",
	} {
		checkKernel(t, expr, ss)
	}
	if prog, err := KernelProgram(""); prog != nil || err != nil {
		t.Errorf("empty: %v %v", prog, err)
	}
	// Too long for 8-bit jumps: an error the caller falls back on.
	long := strings.Repeat("host 10.0.0.1 or ", 100) + "udp"
	if _, err := KernelProgram(long); !errors.Is(err, ErrTooComplex) {
		t.Errorf("a long expression: %v", err)
	}
}

// FuzzKernelProgram: any expression that compiles gives a program the
// kernel accepts (it assembles and runs) and that is never stricter than
// the decoded filter.
func FuzzKernelProgram(f *testing.F) {
	for _, s := range []string{"udp and port 5060", "not src net 10.0.0.0/8 or tcp", "dst host 2001:db8::1", "portrange 1-2 and ip6"} {
		f.Add(s)
	}
	ss := samples(f)
	f.Fuzz(func(t *testing.T, expr string) {
		if _, err := Compile(expr); err != nil {
			return
		}
		checkKernel(t, expr, ss)
	})
}

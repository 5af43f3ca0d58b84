package decode

import (
	"bytes"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestFragmentFloodBounded: fragments of packets that never complete,
// all at one capture time (a file whose clock never advances, so no
// timeout ever fires), IPv4 and IPv6, must not hold more than a bounded
// amount of memory; a fragmented packet after the flood still comes out.
func TestFragmentFloodBounded(t *testing.T) {
	g := &got{}
	d := New(Config{LinkType: layers.LinkTypeEthernet}, g.handle)
	before := heapInUse()
	payload := make([]byte, 1400)
	eth4 := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}
	eth6 := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv6}
	const n = 60000
	for i := 0; i < n; i++ {
		payload[0], payload[1] = byte(i), byte(i>>8) // no duplicates
		if i%2 == 0 {
			ip := &layers.IPv4{Version: 4, TTL: 64, Id: uint16(i), Protocol: layers.IPProtocolUDP, Flags: layers.IPv4MoreFragments,
				SrcIP: net.IP{10, byte(i >> 16), byte(i >> 8), 1}, DstIP: net.IP{10, 0, 0, 2}}
			d.Frame(t0, ser(t, eth4, ip, gopacket.Payload(payload)))
		} else {
			ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolIPv6Fragment,
				SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::2")}
			fr := &layers.IPv6Fragment{NextHeader: layers.IPProtocolUDP, MoreFragments: true, Identification: uint32(i)}
			d.Frame(t0, ser(t, eth6, ip, fr, gopacket.Payload(payload)))
		}
		if i%5000 == 0 {
			d.Tick(t0)
		}
	}
	grown := int64(heapInUse()) - int64(before)
	if grown > 3*maxFragHeld {
		t.Errorf("%d incomplete fragments hold %d MB", n, grown>>20)
	}
	if d.Stats().FragFlushes == 0 {
		t.Errorf("stats %+v", d.Stats())
	}
	// still reassembles
	big := bytes.Repeat([]byte("x"), 2000)
	ip := &layers.IPv4{Version: 4, TTL: 64, Id: 7, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
	u := &layers.UDP{SrcPort: 5060, DstPort: 5060}
	_ = u.SetNetworkLayerForChecksum(ip)
	whole := ser(t, u, gopacket.Payload(big))
	f1, f2 := *ip, *ip
	f1.Flags = layers.IPv4MoreFragments
	f2.FragOffset = 1480 / 8
	d.Frame(t0, ser(t, eth4, &f1, gopacket.Payload(whole[:1480])))
	d.Frame(t0, ser(t, eth4, &f2, gopacket.Payload(whole[1480:])))
	if len(g.d) != 1 || !bytes.Equal(g.d[0].Payload, big) {
		t.Fatalf("%d datagrams after the flood", len(g.d))
	}
}

// TestDedupBoundedWithoutClock: packets all stamped with one time never
// leave the duplicate window; what is remembered must still be bounded.
func TestDedupBoundedWithoutClock(t *testing.T) {
	d := New(Config{LinkType: layers.LinkTypeEthernet}, func(*Datagram) {})
	for i := 0; i < 3*maxSeen; i++ {
		d.Frame(t0, udpFrame(t, uint16(i), []byte{byte(i), byte(i >> 8), byte(i >> 16)}))
	}
	if len(d.seen) > maxSeen || len(d.ring) > 2*maxSeen+1024 {
		t.Fatalf("seen %d ring %d", len(d.seen), len(d.ring))
	}
	// the latest packets are still recognised
	last := 3*maxSeen - 1
	d.Frame(t0, udpFrame(t, uint16(last), []byte{byte(last), byte(last >> 8), byte(last >> 16)}))
	if d.Stats().Duplicates != 1 {
		t.Fatalf("stats %+v", d.Stats())
	}
}

// FuzzDecoderStream: any sequence of frames (fragments of one packet and
// of many, TCP segments in any order, tunnels, garbage), of any link type
// the decoder accepts, with capture times that stand still or go back,
// never makes the decoder panic, and its held state stays within bounds.
func FuzzDecoderStream(f *testing.F) {
	sep := []byte{0xde, 0xad, 0xbe, 0xef}
	join := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(append(out, p...), sep...)
		}
		return out
	}
	eth4 := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Id: 9, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
	u := &layers.UDP{SrcPort: 5060, DstPort: 5060}
	_ = u.SetNetworkLayerForChecksum(ip)
	whole := ser(f, u, gopacket.Payload(bytes.Repeat([]byte("INVITE "), 300)))
	f1, f2 := *ip, *ip
	f1.Flags = layers.IPv4MoreFragments
	f2.FragOffset = 1480 / 8
	frag1 := ser(f, eth4, &f1, gopacket.Payload(whole[:1480]))
	frag2 := ser(f, eth4, &f2, gopacket.Payload(whole[1480:]))
	seg := func(seq uint32, p string, syn bool) []byte {
		ip := &layers.IPv4{Version: 4, TTL: 64, Id: uint16(seq), Protocol: layers.IPProtocolTCP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
		tc := &layers.TCP{SrcPort: 40000, DstPort: 5060, Seq: seq, SYN: syn, ACK: !syn, Window: 1000}
		_ = tc.SetNetworkLayerForChecksum(ip)
		return ser(f, eth4, ip, tc, gopacket.Payload(p))
	}
	f.Add(join(frag2, frag1, frag1, frag2), uint8(0), uint16(0))
	f.Add(join(seg(99, "", true), seg(105, "world", false), seg(100, "hello", false), seg(100, "HELLO", false)), uint8(0), uint16(0x0f0f))
	f.Add(join(udpFrame(f, 1, []byte("x")), []byte{1, 2, 3}, frag1), uint8(1), uint16(0xffff))
	f.Fuzz(func(t *testing.T, data []byte, link uint8, clock uint16) {
		lts := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2, layers.LinkTypeRaw, layers.LinkTypeNull, layers.LinkTypeLoop}
		d := New(Config{LinkType: lts[int(link)%len(lts)], DedupWindow: time.Duration(link%3) * 10 * time.Millisecond}, func(*Datagram) {})
		now := t0
		for i, fr := range splitFrames(data, sep) {
			switch clock >> (2 * (i % 8)) & 3 {
			case 1:
				now = now.Add(time.Second)
			case 2:
				now = now.Add(-time.Second) // a capture whose clock goes back
			case 3:
				d.Tick(now.Add(time.Duration(i) * time.Minute))
			}
			d.Frame(now, fr)
			if d.fragHeld > maxFragHeld || len(d.seen) > maxSeen {
				t.Fatalf("held %d fragment bytes, %d hashes", d.fragHeld, len(d.seen))
			}
		}
		d.Close()
	})
}

func splitFrames(b, sep []byte) [][]byte {
	var out [][]byte
	for len(out) < 256 {
		i := bytes.Index(b, sep)
		if i < 0 {
			break
		}
		out = append(out, b[:i])
		b = b[i+len(sep):]
	}
	return append(out, b)
}

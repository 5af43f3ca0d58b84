package rtpin

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/openrec/openrec/internal/media"
)

// testKeys returns keys of suite filled with seed.
func testKeys(suite string, seed byte, mki []byte) *SRTP {
	kl, sl := 16, 14
	switch suite {
	case SuiteAEADAES128GCM:
		sl = 12
	case SuiteAEADAES256GCM:
		kl, sl = 32, 12
	}
	return &SRTP{Suite: suite, MasterKey: bytes.Repeat([]byte{seed}, kl), MasterSalt: bytes.Repeat([]byte{seed + 1}, sl), MKI: mki}
}

// srtpSender encrypts what the plain sender would send.
type srtpSender struct {
	*sender
	ctx *srtp.Context
}

func newSRTPSender(t testing.TB, k *SRTP) *srtpSender {
	t.Helper()
	ctx, err := NewSRTPContext(k)
	if err != nil {
		t.Fatal(err)
	}
	return &srtpSender{sender: newSender(t, loopback), ctx: ctx}
}

func (s *srtpSender) sendSRTP(to int, ssrc uint32, payload []byte) {
	s.t.Helper()
	s.seq++
	b, err := (&rtp.Packet{Header: rtp.Header{
		Version: 2, PayloadType: 8, SequenceNumber: s.seq, Timestamp: uint32(s.seq) * 160, SSRC: ssrc,
	}, Payload: payload}).Marshal()
	if err != nil {
		s.t.Fatal(err)
	}
	enc, err := s.ctx.EncryptRTP(nil, b, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	s.send(to, enc)
}

func (s *srtpSender) sendSRTCP(to int, pkts ...rtcp.Packet) {
	s.t.Helper()
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		s.t.Fatal(err)
	}
	enc, err := s.ctx.EncryptRTCP(nil, b, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	s.send(to, enc)
}

func TestReceiverSRTP(t *testing.T) {
	for _, c := range []struct {
		suite string
		mki   []byte
	}{
		{SuiteAES128CMSHA1_80, nil},
		{SuiteAES128CMSHA1_32, nil},
		{SuiteAEADAES128GCM, nil},
		{SuiteAEADAES256GCM, nil},
		{SuiteAES128CMSHA1_80, []byte{0, 0, 0, 1}},
		{SuiteAEADAES128GCM, []byte{7}},
	} {
		t.Run(fmt.Sprintf("%s/mki%d", c.suite, len(c.mki)), func(t *testing.T) {
			k := testKeys(c.suite, 3, c.mki)
			leg := startLeg(t, Config{SRTP: k})
			s := newSRTPSender(t, k)
			const n = 20
			for i := range n {
				s.sendSRTP(leg.r.Port(), 0x5eed, []byte{byte(i), 0xd5, 0xd5, 0xd5})
			}
			ntp := media.TimeToNTP(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
			s.sendSRTCP(leg.r.Port()+1, &rtcp.SenderReport{SSRC: 0x5eed, NTPTime: ntp, RTPTime: 160})
			s.sendSRTCP(leg.r.Port(), &rtcp.SenderReport{SSRC: 0x5eed, NTPTime: ntp, RTPTime: 320}) // rtcp-mux
			eventually(t, "packets and reports", func() bool {
				return len(leg.h.packets()) == n && len(leg.h.reports()) == 2
			})
			for i, p := range leg.h.packets() {
				if p.Seq != uint16(i+1) || !bytes.Equal(p.Payload, []byte{byte(i), 0xd5, 0xd5, 0xd5}) || p.SSRC != 0x5eed {
					t.Fatalf("packet %d = %+v", i, p)
				}
			}
			for _, sr := range leg.h.reports() {
				if sr.SSRC != 0x5eed || sr.NTPTime != ntp {
					t.Fatalf("report %+v", sr)
				}
			}
			if st := leg.r.Stats(); st.AuthFailures+st.Invalid != 0 || st.Packets != n || st.RTCP != 2 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// A sender with another key (or plain RTP) never locks the source, never
// reaches the handler, and is counted as authentication failures.
func TestReceiverSRTPWrongKey(t *testing.T) {
	for _, suite := range []string{SuiteAES128CMSHA1_80, SuiteAEADAES256GCM} {
		t.Run(suite, func(t *testing.T) { readers(t, func(t *testing.T) { testWrongKey(t, suite) }) })
	}
}

func testWrongKey(t *testing.T, suite string) {
	{
		leg := startLeg(t, Config{SRTP: testKeys(suite, 3, nil)})
		bad := newSRTPSender(t, testKeys(suite, 9, nil))
		for range 10 {
			bad.sendSRTP(leg.r.Port(), 1, []byte{1, 2, 3})
		}
		bad.sendSRTCP(leg.r.Port()+1, &rtcp.SenderReport{SSRC: 1})
		eventually(t, "auth failures", func() bool { return leg.r.Stats().AuthFailures == 11 })
		// Plain RTP on an SRTP leg: too short for a tag, or a wrong tag.
		plain := newSender(t, loopback)
		plain.sendRTP(leg.r.Port(), 1, make([]byte, 160))
		plain.sendRTP(leg.r.Port(), 1, []byte{1})
		eventually(t, "plain packets refused", func() bool { return leg.r.Stats().AuthFailures == 13 })
		// Junk that is not RTP or RTCP at all is invalid, not a key problem.
		plain.send(leg.r.Port(), []byte("definitely not rtp at all"))
		plain.send(leg.r.Port()+1, []byte{1, 2, 3})
		eventually(t, "junk", func() bool { return leg.r.Stats().Invalid == 2 })
		st := leg.r.Stats()
		if st.Packets != 0 || st.RTCP != 0 || st.Source.IsValid() || len(leg.h.packets())+len(leg.h.reports()) != 0 {
			t.Fatalf("a wrong key reached the handler: %+v", st)
		}
		if !bytes.Contains([]byte(leg.log.String()), []byte("srtp: authentication failed")) {
			t.Fatalf("log %q", leg.log.String())
		}
		// The right sender still locks afterwards.
		good := newSRTPSender(t, testKeys(suite, 3, nil))
		good.sendSRTP(leg.r.Port(), 2, []byte{9})
		eventually(t, "good packet", func() bool { return len(leg.h.packets()) == 1 })
	}
}

// SetSRTP switches keys without losing packets still in flight under the
// old key; after the grace period the old key is refused.
func TestReceiverSRTPRekey(t *testing.T) {
	k1, k2 := testKeys(SuiteAES128CMSHA1_80, 3, nil), testKeys(SuiteAEADAES128GCM, 5, nil)
	leg := startLeg(t, Config{SRTP: k1})
	old := newSRTPSender(t, k1)
	for range 5 {
		old.sendSRTP(leg.r.Port(), 7, []byte{1})
	}
	eventually(t, "old key packets", func() bool { return len(leg.h.packets()) == 5 })
	if err := leg.r.SetSRTP(k2); err != nil {
		t.Fatal(err)
	}
	if err := leg.r.SetSRTP(k2); err != nil { // same keys again: no change
		t.Fatal(err)
	}
	nw := newSRTPSender(t, k2)
	nw.sender = old.sender // same socket: the locked source
	nw.sendSRTP(leg.r.Port(), 7, []byte{2})
	old.sendSRTP(leg.r.Port(), 7, []byte{1}) // late packet under the old key
	eventually(t, "both keys", func() bool { return len(leg.h.packets()) == 7 })
	for range rekeyGrace {
		nw.sendSRTP(leg.r.Port(), 7, []byte{2})
	}
	eventually(t, "grace packets", func() bool { return len(leg.h.packets()) == 7+rekeyGrace })
	old.sendSRTP(leg.r.Port(), 7, []byte{1})
	eventually(t, "old key refused", func() bool { return leg.r.Stats().AuthFailures == 1 })
	if err := leg.r.SetSRTP(nil); err != nil {
		t.Fatal(err)
	}
	old.sendRTP(leg.r.Port(), 7, []byte{3})
	eventually(t, "plain after SetSRTP(nil)", func() bool { return len(leg.h.packets()) == 8+rekeyGrace })
}

func TestSRTPConfigErrors(t *testing.T) {
	for name, k := range map[string]*SRTP{
		"suite":     {Suite: "F8_128_HMAC_SHA1_80", MasterKey: make([]byte, 16), MasterSalt: make([]byte, 14)},
		"short key": {Suite: SuiteAES128CMSHA1_80, MasterKey: make([]byte, 15), MasterSalt: make([]byte, 14)},
		"salt":      {Suite: SuiteAEADAES128GCM, MasterKey: make([]byte, 16), MasterSalt: make([]byte, 14)},
	} {
		t.Run(name, func(t *testing.T) {
			ports := freeAllocator(t, 1, 0, nil)
			_, err := Listen(Config{IP: loopback, Ports: ports, Handler: &recorder{}, SRTP: k})
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("Listen: %v", err)
			}
			r, err := Listen(Config{IP: loopback, Ports: ports, Handler: &recorder{}})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if err := r.SetSRTP(k); !errors.Is(err, ErrConfig) {
				t.Fatalf("SetSRTP: %v", err)
			}
		})
	}
}

// BenchmarkDecrypt is the per-packet cost of the receive path after the
// socket (decryption, validation, source lock, handler call) for plain RTP
// and each SRTP suite: 160-byte G.711 payloads (20 ms).
func BenchmarkDecrypt(b *testing.B) {
	for _, suite := range []string{"plain", SuiteAES128CMSHA1_80, SuiteAES128CMSHA1_32, SuiteAEADAES128GCM, SuiteAEADAES256GCM} {
		b.Run(suite, func(b *testing.B) {
			var k *SRTP
			var enc *srtp.Context
			if suite != "plain" {
				k = testKeys(suite, 3, nil)
				var err error
				if enc, err = NewSRTPContext(k); err != nil {
					b.Fatal(err)
				}
			}
			h := newCountingHandler()
			ports, err := NewPortAllocator(20000, 59999, 0, nil)
			if err != nil {
				b.Fatal(err)
			}
			r, err := Listen(Config{IP: loopback, Ports: ports, Handler: h, SRTP: k})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			src := netip.AddrPortFrom(loopback, 40000)
			// Packets are made ahead in chunks (sequence numbers must grow:
			// the replay window drops repeats), outside the timer.
			const chunk = 4096
			pkts := make([][]byte, chunk)
			work := make([]byte, 1500)
			var seq uint16
			var ts uint32
			fill := func() {
				for i := range pkts {
					seq++
					ts += 160
					p, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: ts, SSRC: 0x5eed},
						Payload: make([]byte, 160)}).Marshal()
					if err != nil {
						b.Fatal(err)
					}
					if enc != nil {
						if p, err = enc.EncryptRTP(nil, p, nil); err != nil {
							b.Fatal(err)
						}
					}
					pkts[i] = p
				}
			}
			fill()
			now := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%chunk == 0 && i > 0 {
					b.StopTimer()
					fill()
					b.StartTimer()
				}
				p := pkts[i%chunk]
				n := copy(work, p)
				r.onRTP(r.rtpLoop, work[:n], src, now)
			}
			b.StopTimer()
			if st := r.Stats(); st.Packets != uint64(b.N) || st.AuthFailures+st.Invalid != 0 {
				b.Fatalf("stats %+v after %d packets", st, b.N)
			}
		})
	}
}

// FuzzSRTPReceive feeds arbitrary datagrams to an SRTP leg's RTP and RTCP
// paths (GCM with an MKI, and AES-CM): nothing may panic, and nothing that
// fails authentication may reach the handler.
func FuzzSRTPReceive(f *testing.F) {
	for _, suite := range []string{SuiteAES128CMSHA1_80, SuiteAEADAES128GCM} {
		k := testKeys(suite, 3, []byte{1, 2})
		ctx, err := NewSRTPContext(k)
		if err != nil {
			f.Fatal(err)
		}
		p, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 1, SSRC: 5}, Payload: []byte{1, 2, 3}}).Marshal()
		enc, _ := ctx.EncryptRTP(nil, p, nil)
		f.Add(enc, false)
		c, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.SenderReport{SSRC: 5}})
		encC, _ := ctx.EncryptRTCP(nil, c, nil)
		f.Add(encC, true)
	}
	f.Add([]byte{0x80}, false)
	f.Add([]byte{0x80, 200, 0, 1, 0, 0, 0, 5}, true)
	ports, err := NewPortAllocator(20000, 59999, 0, nil)
	if err != nil {
		f.Fatal(err)
	}
	h := &recorder{}
	legs := make([]*Receiver, 0, 2)
	for _, suite := range []string{SuiteAES128CMSHA1_80, SuiteAEADAES128GCM} {
		r, err := Listen(Config{IP: loopback, Ports: ports, Handler: h, SRTP: testKeys(suite, 3, []byte{1, 2})})
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { r.Close() })
		legs = append(legs, r)
	}
	src := netip.AddrPortFrom(loopback, 40000)
	now := time.Now()
	f.Fuzz(func(t *testing.T, b []byte, asRTCP bool) {
		for _, r := range legs {
			before := r.Stats()
			buf := bytes.Clone(b)
			if asRTCP {
				r.onRTCP(r.rtcpLoop, buf, src, now)
			} else {
				r.onRTP(r.rtpLoop, buf, src, now)
			}
			after := r.Stats()
			if after.Packets+after.RTCP > before.Packets+before.RTCP && after.AuthFailures > before.AuthFailures {
				t.Fatalf("a packet both passed and failed: %+v -> %+v", before, after)
			}
		}
	})
}

package follow

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/capture/decode"
	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/sip/sdpoa"
)

// fakeRec records what the follower does to a recording.
type fakeRec struct {
	info    CallInfo
	packets [2]int
	held    [2]bool
	holds   []string
	codecs  [2][]media.Codec
	closed  string
	at      time.Time
}

type track struct {
	r  *fakeRec
	ch int
}

func (t track) HandleRTP(*media.Packet)                                 { t.r.packets[t.ch]++ }
func (t track) HandleSenderReport(*media.SenderReport)                  {}
func (r *fakeRec) Track(ch int) media.PacketHandler                     { return track{r, ch} }
func (r *fakeRec) SetCodecs(ch int, c []media.Codec, _, _ *media.Codec) { r.codecs[ch] = c }
func (r *fakeRec) SetHeld(ch int, held bool, _ time.Time) {
	r.held[ch] = held
	r.holds = append(r.holds, fmt.Sprintf("%d:%v", ch, held))
}
func (r *fakeRec) Close(reason string, at time.Time) { r.closed, r.at = reason, at }

type fakeSink struct{ recs []*fakeRec }

func (s *fakeSink) Open(c CallInfo) (Recording, error) {
	r := &fakeRec{info: c}
	s.recs = append(s.recs, r)
	return r, nil
}

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

var (
	aSIP, bSIP = netip.MustParseAddrPort("10.0.0.1:5060"), netip.MustParseAddrPort("10.0.0.2:5060")
	aRTP, bRTP = netip.MustParseAddrPort("10.0.0.1:20000"), netip.MustParseAddrPort("10.0.0.2:30000")
)

func sdp(a netip.AddrPort, dir string) string {
	return fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP 8 0\r\na=%s\r\n", a.Addr(), a.Addr(), a.Port(), dir)
}

// msg builds a SIP message; first is the start line.
func msg(first, callID, fromTag, toTag string, cseq int, method, body string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK%d\r\nFrom: \"A\" <sip:5001@10.0.0.1>;tag=%s\r\n", first, cseq, fromTag)
	if toTag != "" {
		fmt.Fprintf(&b, "To: <sip:7001@10.0.0.2>;tag=%s\r\n", toTag)
	} else {
		b.WriteString("To: <sip:7001@10.0.0.2>\r\n")
	}
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d %s\r\n", callID, cseq, method)
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return []byte(b.String())
}

func udp(f *Follower, at time.Duration, src, dst netip.AddrPort, b []byte) {
	f.Handle(&decode.Datagram{Time: t0.Add(at), Src: src, Dst: dst, Proto: decode.UDP, Payload: b})
}

func rtpPkt(seq uint16) []byte {
	b := make([]byte, 12+160)
	b[0], b[1], b[3] = 0x80, 8, byte(seq)
	return b
}

func TestForkAnswerWins(t *testing.T) {
	s := &fakeSink{}
	f := New(Config{}, s)
	fork1 := netip.MustParseAddrPort("10.0.0.3:31000")
	udp(f, 0, aSIP, bSIP, msg("INVITE sip:7001@10.0.0.2 SIP/2.0", "fork", "ta", "", 1, "INVITE", sdp(aRTP, "sendrecv")))
	udp(f, 10*time.Millisecond, bSIP, aSIP, msg("SIP/2.0 183 Session Progress", "fork", "ta", "t1", 1, "INVITE", sdp(fork1, "sendrecv")))
	udp(f, 20*time.Millisecond, bSIP, aSIP, msg("SIP/2.0 180 Ringing", "fork", "ta", "t2", 1, "INVITE", ""))
	udp(f, 30*time.Millisecond, bSIP, aSIP, msg("SIP/2.0 200 OK", "fork", "ta", "t2", 1, "INVITE", sdp(bRTP, "sendrecv")))
	// the losing fork's BYE/200 must not end the call
	udp(f, 35*time.Millisecond, aSIP, bSIP, msg("BYE sip:x SIP/2.0", "fork", "ta", "t1", 2, "BYE", ""))
	for i := range 10 {
		udp(f, 40*time.Millisecond, bRTP, aRTP, rtpPkt(uint16(i)))
		udp(f, 40*time.Millisecond, aRTP, bRTP, rtpPkt(uint16(i)))
	}
	if len(s.recs) != 1 {
		t.Fatalf("%d recordings", len(s.recs))
	}
	r := s.recs[0]
	if r.closed != "" || r.packets != [2]int{10, 10} {
		t.Fatalf("closed %q packets %v", r.closed, r.packets)
	}
	udp(f, time.Second, aSIP, bSIP, msg("BYE sip:x SIP/2.0", "fork", "ta", "t2", 3, "BYE", ""))
	f.Tick(t0.Add(2 * time.Second))
	if r.closed != "bye" || !r.at.Equal(t0.Add(time.Second)) {
		t.Fatalf("closed %q at %v", r.closed, r.at)
	}
	if r.info.CallerDN != "5001" || r.info.CalleeDN != "7001" {
		t.Errorf("info %+v", r.info)
	}
}

func TestCancelAndRejectBeforeAnswer(t *testing.T) {
	s := &fakeSink{}
	f := New(Config{}, s)
	udp(f, 0, aSIP, bSIP, msg("INVITE sip:7001@10.0.0.2 SIP/2.0", "c1", "ta", "", 1, "INVITE", sdp(aRTP, "sendrecv")))
	udp(f, time.Millisecond, aSIP, bSIP, msg("CANCEL sip:7001@10.0.0.2 SIP/2.0", "c1", "ta", "", 1, "CANCEL", ""))
	udp(f, 2*time.Millisecond, bSIP, aSIP, msg("SIP/2.0 487 Request Terminated", "c1", "ta", "tb", 1, "INVITE", ""))
	// 3xx: redirected, nothing recorded either
	udp(f, 0, aSIP, bSIP, msg("INVITE sip:7001@10.0.0.2 SIP/2.0", "c2", "ta", "", 1, "INVITE", sdp(aRTP, "sendrecv")))
	udp(f, time.Millisecond, bSIP, aSIP, msg("SIP/2.0 302 Moved", "c2", "ta", "tb", 1, "INVITE", ""))
	// early media then 486: the early media is recorded and ends
	udp(f, 0, aSIP, bSIP, msg("INVITE sip:7001@10.0.0.2 SIP/2.0", "c3", "ta", "", 1, "INVITE", sdp(aRTP, "sendrecv")))
	udp(f, time.Millisecond, bSIP, aSIP, msg("SIP/2.0 183 Session Progress", "c3", "ta", "tb", 1, "INVITE", sdp(bRTP, "sendrecv")))
	udp(f, 2*time.Millisecond, bRTP, aRTP, rtpPkt(1))
	udp(f, 3*time.Millisecond, bSIP, aSIP, msg("SIP/2.0 486 Busy Here", "c3", "ta", "tb", 1, "INVITE", ""))
	f.Tick(t0.Add(time.Second))
	if len(s.recs) != 1 || s.recs[0].closed != "rejected: 486" || s.recs[0].packets[1] != 1 {
		t.Fatalf("recordings %+v", s.recs)
	}
	if f.Active() != 0 {
		t.Errorf("%d dialogs still followed", f.Active())
	}
}

func TestHoldAndDelayedOffer(t *testing.T) {
	s := &fakeSink{}
	f := New(Config{}, s)
	// delayed offer: INVITE without SDP, offer in 200, answer in ACK
	udp(f, 0, aSIP, bSIP, msg("INVITE sip:7001@10.0.0.2 SIP/2.0", "h", "ta", "", 1, "INVITE", ""))
	udp(f, 10*time.Millisecond, bSIP, aSIP, msg("SIP/2.0 200 OK", "h", "ta", "tb", 1, "INVITE", sdp(bRTP, "sendrecv")))
	if len(s.recs) != 0 {
		t.Fatal("opened before the answer")
	}
	udp(f, 20*time.Millisecond, aSIP, bSIP, msg("ACK sip:7001@10.0.0.2 SIP/2.0", "h", "ta", "tb", 1, "ACK", sdp(aRTP, "sendrecv")))
	if len(s.recs) != 1 {
		t.Fatal("not opened after the ACK's answer")
	}
	r := s.recs[0]
	if len(r.codecs[0]) == 0 || r.codecs[0][0].Name != "PCMA" {
		t.Errorf("codecs %+v", r.codecs)
	}
	// the callee puts the caller on hold (re-INVITE from the callee, sendonly)
	udp(f, time.Second, bSIP, aSIP, []byte(strings.Replace(string(msg("INVITE sip:5001@10.0.0.1 SIP/2.0", "h", "tb", "ta", 1, "INVITE", sdp(bRTP, "sendonly"))), "From: \"A\" <sip:5001@10.0.0.1>", "From: <sip:7001@10.0.0.2>", 1)))
	udp(f, time.Second+time.Millisecond, aSIP, bSIP, msg("SIP/2.0 200 OK", "h", "tb", "ta", 1, "INVITE", sdp(aRTP, "recvonly")))
	if !r.held[0] || r.held[1] {
		t.Fatalf("held %v (caller's channel held: it only receives)", r.held)
	}
	udp(f, 2*time.Second, bSIP, aSIP, msg("INVITE sip:5001@10.0.0.1 SIP/2.0", "h", "tb", "ta", 2, "INVITE", sdp(bRTP, "sendrecv")))
	udp(f, 2*time.Second, aSIP, bSIP, msg("SIP/2.0 200 OK", "h", "tb", "ta", 2, "INVITE", sdp(aRTP, "sendrecv")))
	if r.held != [2]bool{} {
		t.Fatalf("held %v after retrieve; history %v", r.held, r.holds)
	}
	// both ways inactive: no RTP is expected, the media timeout waits
	udp(f, 3*time.Second, bSIP, aSIP, msg("INVITE sip:5001@10.0.0.1 SIP/2.0", "h", "tb", "ta", 3, "INVITE", sdp(bRTP, "inactive")))
	udp(f, 3*time.Second, aSIP, bSIP, msg("SIP/2.0 200 OK", "h", "tb", "ta", 3, "INVITE", sdp(aRTP, "inactive")))
	if r.held != [2]bool{true, true} {
		t.Fatalf("held %v, want both", r.held)
	}
	f.Tick(t0.Add(10 * time.Minute))
	if r.closed != "" {
		t.Fatalf("a call held both ways ended by the media timeout: %q", r.closed)
	}
	// media timeout ends it
	f.Tick(t0.Add(3 * time.Hour))
	if !strings.HasPrefix(r.closed, "media timeout") {
		t.Errorf("closed %q", r.closed)
	}
}

func TestTCPFramingAndResync(t *testing.T) {
	s := &fakeSink{}
	f := New(Config{}, s)
	inv := msg("INVITE sip:7001@10.0.0.2 SIP/2.0", "t", "ta", "", 1, "INVITE", sdp(aRTP, "sendrecv"))
	ok := msg("SIP/2.0 200 OK", "t", "ta", "tb", 1, "INVITE", sdp(bRTP, "sendrecv"))
	tcp := func(src, dst netip.AddrPort, b []byte, gap bool) {
		f.Handle(&decode.Datagram{Time: t0, Src: src, Dst: dst, Proto: decode.TCP, Payload: b, Gap: gap})
	}
	// garbage, then a gap and the INVITE split in three pieces
	tcp(aSIP, bSIP, []byte("\x00\x01garbage"), true)
	tcp(aSIP, bSIP, append([]byte("tail of a lost message\r\n"), inv[:40]...), true)
	tcp(aSIP, bSIP, inv[40:100], false)
	tcp(aSIP, bSIP, inv[100:], false)
	// keep-alive CRLF + 100 + 200 in one segment
	trying := msg("SIP/2.0 100 Trying", "t", "ta", "", 1, "INVITE", "")
	tcp(bSIP, aSIP, append(append([]byte("\r\n\r\n"), trying...), ok...), false)
	if len(s.recs) != 1 {
		t.Fatalf("%d recordings; stats %+v", len(s.recs), f.Stats())
	}
}

func TestParseMessage(t *testing.T) {
	inv := msg("INVITE sip:7001@10.0.0.2 SIP/2.0", "id1", "ta", "", 7, "INVITE", sdp(aRTP, "sendrecv"))
	m, n, err := parseMessage(append(inv, "INVITE sip:x SIP/2.0\r\n"...), true)
	if err != nil || n != len(inv) || m.method != "INVITE" || m.cseq != 7 || m.fromTag != "ta" || m.fromUser != "5001" || m.toUser != "7001" {
		t.Fatalf("%+v %d %v", m, n, err)
	}
	// compact headers, folded line, no Content-Length on UDP
	compact := "SIP/2.0 180 Ringing\r\ni: c@h\r\nf: <sip:1@h>;tag=x\r\nt: sip:2@h\r\n ;tag=y\r\nCSeq: 1\r\n INVITE\r\n\r\n"
	m, _, err = parseMessage([]byte(compact), false)
	if err != nil || m.status != 180 || m.callID != "c@h" || m.toTag != "y" || m.method != "INVITE" {
		t.Fatalf("%+v %v", m, err)
	}
	for _, bad := range []string{"", "INVITE", "SIP/2.0 99 x\r\n\r\n", "INVITE sip:x SIP/2.0\r\nCSeq: x\r\nCall-ID: a\r\n\r\n",
		"INVITE sip:x SIP/2.0\r\nCall-ID: a\r\nCSeq: 1 INVITE\r\nContent-Length: -1\r\n\r\n"} {
		if _, _, err := parseMessage([]byte(bad), true); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// FuzzParseMessage: the SIP reader never panics and never claims more
// bytes than it was given.
func FuzzParseMessage(f *testing.F) {
	f.Add(msg("INVITE sip:7001@10.0.0.2 SIP/2.0", "id1", "ta", "", 7, "INVITE", sdp(aRTP, "sendrecv")), true)
	f.Add([]byte("SIP/2.0 200 OK\r\ni: x\r\nCSeq: 1 BYE\r\nl: 5\r\n\r\nabc"), false)
	f.Fuzz(func(t *testing.T, b []byte, stream bool) {
		_, n, err := parseMessage(b, stream)
		if err == nil && (n > len(b) || n <= 0) {
			t.Fatalf("consumed %d of %d", n, len(b))
		}
		_ = messageStart(b)
	})
}

// FuzzFollower: any sequence of datagrams (SIP, RTP, garbage, over UDP
// or TCP) leaves the follower without a panic and every opened recording
// closed by Close.
func FuzzFollower(f *testing.F) {
	inv := msg("INVITE sip:7001@10.0.0.2 SIP/2.0", "fz", "ta", "", 1, "INVITE", sdp(aRTP, "sendrecv"))
	ok := msg("SIP/2.0 200 OK", "fz", "ta", "tb", 1, "INVITE", sdp(bRTP, "sendonly"))
	bye := msg("BYE sip:x SIP/2.0", "fz", "ta", "tb", 2, "BYE", "")
	sep := []byte{0xff, 0x00, 0xff}
	join := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(append(out, p...), sep...)
		}
		return out
	}
	f.Add(join(inv, ok, rtpPkt(1), rtpPkt(2), bye), uint8(0))
	f.Add(join(inv, ok, rtpPkt(1), bye), uint8(0xff))
	f.Add(join(inv[:50], inv[50:], ok), uint8(0x0f))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		s := &fakeSink{}
		fl := New(Config{}, s)
		parts := splitOn(data, sep)
		for i, p := range parts {
			proto := decode.UDP
			if mode&(1<<(i%8)) != 0 {
				proto = decode.TCP
			}
			src, dst := aSIP, bSIP
			switch i % 4 {
			case 1:
				src, dst = bSIP, aSIP
			case 2:
				src, dst = aRTP, bRTP
			case 3:
				src, dst = bRTP, aRTP
			}
			fl.Handle(&decode.Datagram{Time: t0.Add(time.Duration(i) * 10 * time.Millisecond), Src: src, Dst: dst, Proto: proto, Payload: p, Gap: i%5 == 4, End: i%7 == 6})
			if i%3 == 0 {
				fl.Tick(t0.Add(time.Duration(i) * time.Second))
			}
			held := 0
			for _, s := range fl.streams {
				held += cap(s.b)
			}
			if held != fl.tcpHeld || held > maxTCPHeld+maxMessage {
				t.Fatalf("TCP buffers hold %d bytes, accounted %d", held, fl.tcpHeld)
			}
		}
		fl.Close("end")
		for _, r := range s.recs {
			if r.closed == "" {
				t.Fatal("a recording left open")
			}
		}
	})
}

func splitOn(b, sep []byte) [][]byte {
	var out [][]byte
	for {
		i := strings.Index(string(b), string(sep))
		if i < 0 {
			return append(out, b)
		}
		out = append(out, b[:i])
		b = b[i+len(sep):]
	}
}

// TestSendKey: the offerer sends with the crypto line the answer chose
// (RFC 4568 §7.1.2), the answerer with its own.
func TestSendKey(t *testing.T) {
	k1 := "1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd"
	k2 := "2 AES_CM_128_HMAC_SHA1_32 inline:HRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgEA"
	ans := "2 AES_CM_128_HMAC_SHA1_32 inline:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9"
	offer := &sdpoa.Media{Proto: "RTP/SAVP", Crypto: []string{k1, k2}}
	answer := &sdpoa.Media{Proto: "RTP/SAVP", Crypto: []string{ans}}
	if c, ok := sendKey(offer, answer); !ok || c.Tag != 2 || c.Suite != "AES_CM_128_HMAC_SHA1_32" {
		t.Errorf("offerer: %+v %v", c, ok)
	}
	if c, ok := sendKey(answer, offer); !ok || c.Tag != 2 || c.Key[0] != 0x20 {
		t.Errorf("answerer: %+v %v", c, ok)
	}
	if _, ok := sendKey(&sdpoa.Media{Proto: "UDP/TLS/RTP/SAVP"}, nil); ok {
		t.Error("a DTLS-SRTP stream has no SDES key")
	}
}

// TestUpdateMovesMedia: an UPDATE (RFC 3311) from the callee moves its
// media; RTP to the new address is routed to the call, the old address
// keeps working for packets in flight, and the call's end frees both.
func TestUpdateMovesMedia(t *testing.T) {
	s := &fakeSink{}
	f := New(Config{}, s)
	moved := netip.MustParseAddrPort("10.0.0.2:31000")
	udp(f, 0, aSIP, bSIP, msg("INVITE sip:7001@10.0.0.2 SIP/2.0", "u", "ta", "", 1, "INVITE", sdp(aRTP, "sendrecv")))
	udp(f, 10*time.Millisecond, bSIP, aSIP, msg("SIP/2.0 200 OK", "u", "ta", "tb", 1, "INVITE", sdp(bRTP, "sendrecv")))
	update := strings.Replace(string(msg("UPDATE sip:5001@10.0.0.1 SIP/2.0", "u", "tb", "ta", 1, "UPDATE", sdp(moved, "sendrecv"))),
		"From: \"A\" <sip:5001@10.0.0.1>", "From: <sip:7001@10.0.0.2>", 1)
	udp(f, time.Second, bSIP, aSIP, []byte(update))
	udp(f, time.Second, aSIP, bSIP, msg("SIP/2.0 200 OK", "u", "tb", "ta", 1, "UPDATE", sdp(aRTP, "sendrecv")))
	udp(f, time.Second, aRTP, moved, rtpPkt(1)) // the caller's audio to the callee's new address
	udp(f, time.Second, aRTP, bRTP, rtpPkt(2))  // in flight to the old one
	udp(f, time.Second, moved, aRTP, rtpPkt(3)) // the callee's audio from its new address
	r := s.recs[0]
	if r.packets != [2]int{2, 1} || f.Stats().RTPUnmatched != 0 {
		t.Fatalf("packets %v stats %+v", r.packets, f.Stats())
	}
	udp(f, 2*time.Second, aSIP, bSIP, msg("BYE sip:x SIP/2.0", "u", "ta", "tb", 2, "BYE", ""))
	f.Tick(t0.Add(3 * time.Second))
	if r.closed != "bye" || len(f.byAddr) != 0 {
		t.Fatalf("closed %q, %d media addresses still routed", r.closed, len(f.byAddr))
	}
}

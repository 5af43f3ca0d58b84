package sipsrv

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/sip/sdpoa"
)

// fuzzRecorder behaves like the recorder towards the server: it keeps a
// leg per INVITE, answers offers with sdpoa.BuildAnswer (delayed offers
// with an offer), takes SDP from the ACK, and forgets legs on Bye. It
// reports what a valid server must never hand it.
type fuzzRecorder struct {
	mu     sync.Mutex
	legs   map[string]bool
	faults []string
}

var fuzzAnswerAddr = netip.MustParseAddr("127.0.0.1")

func (r *fuzzRecorder) fault(f string, args ...any) {
	r.mu.Lock()
	r.faults = append(r.faults, fmt.Sprintf(f, args...))
	r.mu.Unlock()
}

func (r *fuzzRecorder) answer(inv *Invite) ([]byte, error) {
	if inv.SDP == nil {
		return []byte(reviewSDP), nil // delayed offer: we offer
	}
	p := sdpoa.AnswerParams{Addr: fuzzAnswerAddr, SessionID: 1, Version: 1}
	for i, m := range inv.SDP.Media {
		port := 0
		if m.Recordable() {
			port = 30000 + 2*i
		}
		p.Media = append(p.Media, sdpoa.AnswerMedia{Port: port})
	}
	b, err := sdpoa.BuildAnswer(inv.SDP, p)
	if err != nil {
		return nil, Errorf(488, "Not Acceptable Here: no usable media", err)
	}
	return b, nil
}

func (r *fuzzRecorder) Invite(_ context.Context, inv *Invite) ([]byte, error) {
	if inv.CallID == "" || inv.From == "" || inv.To == "" {
		r.fault("INVITE reached the recorder without Call-ID/From/To: %+v", inv)
	}
	if inv.SDP != nil && len(inv.SDP.Media) > DefaultMaxMediaLines {
		r.fault("INVITE with %d m-lines reached the recorder", len(inv.SDP.Media))
	}
	b, err := r.answer(inv)
	if err == nil {
		r.mu.Lock()
		r.legs[inv.CallID] = true
		r.mu.Unlock()
	}
	return b, err
}

func (r *fuzzRecorder) Reinvite(_ context.Context, inv *Invite) ([]byte, error) {
	return r.answer(inv)
}

func (r *fuzzRecorder) Ack(string, *sdpoa.Session) error { return nil }

func (r *fuzzRecorder) Bye(id, _ string) {
	r.mu.Lock()
	delete(r.legs, id)
	r.mu.Unlock()
}

func (r *fuzzRecorder) Available() error { return nil }

// fuzzSeeds are well-formed and broken requests plus every torture message.
func fuzzSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, m := range []string{"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "UPDATE"} {
		seeds = append(seeds, []byte(hostileRequest(m, "UDP", "seed-"+m, 5060)))
		for _, h := range mandatory {
			seeds = append(seeds, []byte(hostileRequest(m, "UDP", "seed-"+m, 5060, h.name)))
		}
	}
	seeds = append(seeds,
		[]byte(reviewRequest("INVITE", "wide", "z9hG4bKwide", 5060, sdpWithMedia(40))),
		[]byte(strings.Replace(reviewRequest("INVITE", "mp", "z9hG4bKmp", 5060, "--b\r\nContent-Type: application/sdp\r\n\r\n"+reviewSDP+"--b--\r\n"), "application/sdp", "multipart/mixed;boundary=b", 1)),
		[]byte("\r\n\r\n"), []byte("SIP/2.0 200 OK\r\n\r\n"), []byte("INVITE sip:x SIP/2.0\r\n"))
	files, _ := filepath.Glob("testdata/torture/*/*.dat")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// FuzzServer feeds arbitrary bytes to a running server, as a UDP datagram
// and as a TCP stream, with a recorder-like handler behind it; then it
// hangs up every dialog the input created (the BYE path that used to
// panic). No input may panic (recovered panics count too), reach the
// recorder without the headers it relies on, or stop the server answering.
func FuzzServer(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	rec := &fuzzRecorder{legs: map[string]bool{}}
	s, err := New(Config{Listen: "127.0.0.1:0", AdvertiseIP: mustAddr("127.0.0.1"), Logger: discardLogger(), TCPIdleTimeout: time.Second}, rec)
	if err != nil {
		f.Fatal(err)
	}
	s.Start()
	f.Cleanup(func() { _ = s.Close() })
	probe, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { probe.Close() })
	to := net.UDPAddrFromAddrPort(s.Addr())
	port := probe.LocalAddr().(*net.UDPAddr).Port
	n := 0

	f.Fuzz(func(t *testing.T, data []byte) {
		n++
		if _, err := probe.WriteToUDP(data, to); err != nil && len(data) < 65000 {
			t.Fatal(err)
		}
		if c, err := net.Dial("tcp", s.Addr().String()); err == nil {
			_, _ = c.Write(data)
			c.Close()
		}
		// The server still answers, and has handled the datagram before
		// (one socket, read in order).
		id := fmt.Sprintf("probe-%d", n)
		_, _ = probe.WriteToUDP([]byte(hostileRequest("OPTIONS", "UDP", id, port)), to)
		buf := make([]byte, 65535)
		for answered := false; !answered; {
			_ = probe.SetReadDeadline(time.Now().Add(3 * time.Second))
			k, _, err := probe.ReadFromUDP(buf)
			if err != nil {
				t.Fatalf("server stopped answering after %q", data)
			}
			answered = strings.Contains(string(buf[:k]), "Call-ID: "+id+"\r\n") && strings.HasPrefix(string(buf[:k]), "SIP/2.0 200")
		}
		s.mu.Lock()
		var ids []string
		for id := range s.dialogs {
			ids = append(ids, id)
		}
		s.mu.Unlock()
		for _, id := range ids {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			_ = s.Hangup(ctx, id, "fuzz")
			cancel()
		}
		if p := s.Stats().Panics; p != 0 {
			t.Fatalf("%d panics recovered after %q", p, data)
		}
		rec.mu.Lock()
		faults := rec.faults
		rec.mu.Unlock()
		if len(faults) > 0 {
			t.Fatalf("after %q: %s", data, faults[0])
		}
	})
}

package sipsrv

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

const (
	sdesLine   = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
	gcmLine    = "a=crypto:2 AEAD_AES_256_GCM inline:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKyw=\r\n"
	badSuite   = "a=crypto:1 F8_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
	shortKey   = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=\r\n"
	plainMLine = "m=audio 40000 RTP/AVP 0\r\n"
)

// Issue 13: an SRTP offer used to be answered 200 without a key: the
// "recording" was undecryptable noise. Now SDES offers with a usable
// a=crypto reach the recorder (which answers with its own key); offers it
// cannot decrypt, and those the srtp policy forbids, get 488 with a short
// fixed reason, and the handler never sees them.
func TestSRTPOffers(t *testing.T) {
	for i, c := range []struct {
		name   string
		policy SRTPPolicy
		mline  string
		reason string // "" = accepted (200)
	}{
		{"SDES", "", "m=audio 40000 RTP/SAVP 0\r\n" + sdesLine, ""},
		{"SDES feedback, second line usable", SRTPOptional, "m=audio 40000 RTP/SAVPF 0\r\n" + badSuite + gcmLine, ""},
		{"SDES required", SRTPRequired, "m=audio 40000 RTP/SAVP 0\r\n" + sdesLine, ""},
		{"plain optional", SRTPOptional, plainMLine, ""},
		{"plain off", SRTPOff, plainMLine, ""},
		{"crypto on RTP/AVP ignored", SRTPOptional, plainMLine + shortKey, ""},
		{"DTLS-SRTP", SRTPOptional, "m=audio 40000 UDP/TLS/RTP/SAVPF 0\r\na=fingerprint:sha-256 AB:CD\r\na=setup:actpass\r\n", "Not Acceptable Here: DTLS-SRTP not supported"},
		{"SAVP without crypto", SRTPOptional, "m=audio 40000 RTP/SAVP 0\r\n", "Not Acceptable Here: no usable SRTP crypto"},
		{"SAVP with unusable crypto", SRTPOptional, "m=audio 40000 RTP/SAVP 0\r\n" + badSuite + shortKey, "Not Acceptable Here: no usable SRTP crypto"},
		{"SDES with policy off", SRTPOff, "m=audio 40000 RTP/SAVP 0\r\n" + sdesLine, "Not Acceptable Here: SRTP disabled"},
		{"plain with policy required", SRTPRequired, plainMLine, "Not Acceptable Here: SRTP required"},
		{"one plain of two, required", SRTPRequired, "m=audio 40000 RTP/SAVP 0\r\n" + sdesLine + "m=audio 40002 RTP/AVP 0\r\n", "Not Acceptable Here: SRTP required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := &cancelHandler{invited: map[string]bool{}, ended: map[string]bool{}}
			s, err := New(Config{Listen: "127.0.0.1:0", AdvertiseIP: mustAddr("127.0.0.1"), SRTP: c.policy,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, h)
			if err != nil {
				t.Fatal(err)
			}
			s.Start()
			t.Cleanup(func() { _ = s.Close() })
			peer, port := udpPeer(t)
			body := strings.Replace(reviewSDP, "m=audio 40000 RTP/AVP 0\r\n", c.mline, 1)
			id := fmt.Sprintf("srtp-%d", i)
			inv := reviewRequest("INVITE", id, "z9hG4bKsrtp", port, body)
			if _, err := peer.WriteToUDP([]byte(inv), net.UDPAddrFromAddrPort(s.Addr())); err != nil {
				t.Fatal(err)
			}
			want := "SIP/2.0 200 "
			if c.reason != "" {
				want = "SIP/2.0 488 " + c.reason
			}
			buf := make([]byte, 65535)
			for {
				_ = peer.SetReadDeadline(time.Now().Add(3 * time.Second))
				n, _, err := peer.ReadFromUDP(buf)
				if err != nil {
					t.Fatal(err)
				}
				status := strings.SplitN(string(buf[:n]), "\r\n", 2)[0]
				if strings.HasPrefix(status, "SIP/2.0 1") {
					continue
				}
				if c.reason != "" && status != want || c.reason == "" && !strings.HasPrefix(status, want) {
					t.Fatalf("answer %q, want %q", status, want)
				}
				break
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.invited[id] != (c.reason == "") {
				t.Errorf("handler invited %v, want %v", h.invited[id], c.reason == "")
			}
		})
	}
}

func TestParseSRTPPolicy(t *testing.T) {
	for in, want := range map[string]SRTPPolicy{"": SRTPOptional, "optional": SRTPOptional, "required": SRTPRequired, "off": SRTPOff} {
		if got, err := ParseSRTPPolicy(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := ParseSRTPPolicy("on"); err == nil {
		t.Error("unknown policy accepted")
	}
}

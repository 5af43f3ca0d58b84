package sipsrv

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// Issue 13: an SRTP offer (SDES RTP/SAVP, DTLS UDP/TLS/RTP/SAVPF) was
// answered 200 with SRTP m-lines and no a=crypto: the "recording" was
// undecryptable noise and nobody was told. Until SRTP is decrypted, such
// offers get 488 with a short fixed reason, and the handler never sees them.
func TestSRTPOffersRefused(t *testing.T) {
	for i, c := range []struct{ name, mline string }{
		{"SDES", "m=audio 40000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"},
		{"SDES feedback", "m=audio 40000 RTP/SAVPF 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"},
		{"DTLS-SRTP", "m=audio 40000 UDP/TLS/RTP/SAVPF 0\r\na=fingerprint:sha-256 AB:CD\r\na=setup:actpass\r\n"},
		{"SAVP without crypto", "m=audio 40000 RTP/SAVP 0\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, h := startReviewServer(t)
			peer, port := udpPeer(t)
			body := strings.Replace(reviewSDP, "m=audio 40000 RTP/AVP 0\r\n", c.mline, 1)
			id := fmt.Sprintf("srtp-%d", i)
			inv := reviewRequest("INVITE", id, "z9hG4bKsrtp", port, body)
			if _, err := peer.WriteToUDP([]byte(inv), net.UDPAddrFromAddrPort(s.Addr())); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 65535)
			for {
				_ = peer.SetReadDeadline(time.Now().Add(3 * time.Second))
				n, _, err := peer.ReadFromUDP(buf)
				if err != nil {
					t.Fatal(err)
				}
				res := string(buf[:n])
				if strings.HasPrefix(res, "SIP/2.0 1") {
					continue
				}
				if !strings.HasPrefix(res, "SIP/2.0 488 ") || !strings.Contains(strings.SplitN(res, "\r\n", 2)[0], "SRTP") {
					t.Fatalf("answer %q, want 488 naming SRTP", strings.SplitN(res, "\r\n", 2)[0])
				}
				break
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.invited[id] {
				t.Error("the handler was asked to record an SRTP offer")
			}
		})
	}
}

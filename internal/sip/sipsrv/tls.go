package sipsrv

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// SIP over TLS (RFC 3261 §26.2, RFC 5630). The listener is layered
//
//	TCP socket → tls.NewListener → tcpListener (tcp.go) → sipgo ServeTLS
//
// so the connection limits, the idle timeout and the message framing and
// validation of tcp.go see decrypted bytes, exactly as over TCP. The
// handshake runs on the connection's own read goroutine (never in the
// accept loop) within TLSHandshakeTimeout; a failed one (no client
// certificate when one is required, a subject not allowed, plain TCP
// spoken to the TLS port) is counted, logged and closes the connection
// without a byte of SIP. The certificate comes from Config.TLS (a
// GetCertificate callback may renew it: connections already up keep
// theirs, so calls in progress are not dropped).
//
// A dialog that came over TLS gets a Contact on the TLS port: a sips: URI
// when the Request-URI was sips:, else sip:...;transport=tls. The BYE the
// recorder sends goes back over the same connection while it is up, else
// over a new TLS connection to the peer's Contact (Config.TLSClient).

// DefaultTLSHandshakeTimeout bounds a TLS handshake when the Config leaves
// TLSHandshakeTimeout zero.
const DefaultTLSHandshakeTimeout = 10 * time.Second

// listenTLS binds the TLS listener and wraps it in the TCP guard.
func listenTLS(cfg Config, parser *sip.Parser, c *counters) (net.Listener, netip.AddrPort, error) {
	if cfg.TLS == nil {
		return nil, netip.AddrPort{}, fmt.Errorf("sipsrv: TLS listen %s: no TLS configuration (certificate)", cfg.TLSListen)
	}
	raw, err := net.Listen("tcp", cfg.TLSListen)
	if err != nil {
		return nil, netip.AddrPort{}, fmt.Errorf("sipsrv: listen tls %s: %w", cfg.TLSListen, err)
	}
	tc := cfg.TLS.Clone()
	if tc.MinVersion < tls.VersionTLS12 {
		tc.MinVersion = tls.VersionTLS12
	}
	l := newTCPListener(tls.NewListener(raw, tc), cfg, parser, c)
	l.transport = "TLS"
	l.handshake = cfg.TLSHandshakeTimeout
	if l.handshake <= 0 {
		l.handshake = DefaultTLSHandshakeTimeout
	}
	return l, netip.MustParseAddrPort(raw.Addr().String()), nil
}

// clientTLS is the configuration of TLS connections the server opens.
func clientTLS(c *tls.Config) *tls.Config {
	if c == nil {
		return &tls.Config{MinVersion: tls.VersionTLS12}
	}
	c = c.Clone()
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

// TLSAddr is the bound SIP TLS address (invalid without TLSListen).
func (s *Server) TLSAddr() netip.AddrPort { return s.tlsAddr }

// handshake completes the TLS handshake of a guarded connection before its
// first read; an error ends the connection (counted, logged).
func (c *tcpConn) handshake() error {
	tc, ok := c.Conn.(*tls.Conn)
	if !ok || c.shaken {
		return nil
	}
	c.shaken = true
	ctx, cancel := context.WithTimeout(context.Background(), c.l.handshake)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		c.l.counters.tlsFailed.Add(1)
		c.l.counters.connChanged()
		c.l.log.Info("sip tls handshake failed: closing connection", "source", c.RemoteAddr().String(), "error", err)
		return errClose
	}
	st := tc.ConnectionState()
	attrs := []any{"source", c.RemoteAddr().String(), "version", tls.VersionName(st.Version), "cipher", tls.CipherSuiteName(st.CipherSuite)}
	if len(st.PeerCertificates) > 0 {
		attrs = append(attrs, "client", st.PeerCertificates[0].Subject.String())
	}
	c.l.log.Debug("sip tls connection", attrs...)
	c.touch()
	return nil
}

// contactFor is the Contact of the 2xx to req: on the TLS port for a
// request that came over TLS (sips: when the Request-URI was sips:).
func (s *Server) contactFor(req *sip.Request) sip.Header {
	h := sip.HeaderClone(&s.contact).(*sip.ContactHeader)
	if s.tls == nil || !strings.EqualFold(req.Transport(), "TLS") {
		return h
	}
	h.Address.Port = int(s.tlsAddr.Port())
	if strings.EqualFold(req.Recipient.Scheme, "sips") {
		h.Address.Scheme = "sips"
	} else {
		h.Address.UriParams = sip.NewParams()
		h.Address.UriParams.Add("transport", "tls")
	}
	return h
}

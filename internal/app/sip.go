package app

import (
	"crypto/tls"
	"log/slog"
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/media/rtpin"
	"github.com/openrec/openrec/internal/sip/sipsrv"
)

// sipTLS is the SIP TLS listener's server and client configuration, from
// the certificate holder shared with HTTPS (renewals apply to new
// connections; calls in progress keep theirs): mutual TLS with
// tls_client_ca and tls_client_subjects, peers the recorder connects to
// verified with sip_tls_peer_ca (default tls_client_ca, else the system
// roots). Both nil when sip_tls_listen is off.
func sipTLS(cfg config.Serve, c *certs) (server, client *tls.Config, err error) {
	if cfg.SIPTLSListen == "" || c == nil {
		return nil, nil, nil
	}
	if server, err = c.serverConfig(cfg.TLSClientCA, subjectList(cfg.TLSClientSubjects)); err != nil {
		return nil, nil, err
	}
	peerCA := cfg.SIPTLSPeerCA
	if peerCA == "" {
		peerCA = cfg.TLSClientCA
	}
	if client, err = c.clientConfig(peerCA); err != nil {
		return nil, nil, err
	}
	return server, client, nil
}

// sipConfig is the SIP server's part of the serve configuration.
func sipConfig(cfg config.Serve, adv netip.Addr, log *slog.Logger) sipsrv.Config {
	// config: 0 = no limit; sipsrv: 0 = its default, negative = no limit.
	off := func(v int) int {
		if v == 0 {
			return -1
		}
		return v
	}
	idle := cfg.SIPTCPIdleTimeout
	if idle == 0 {
		idle = -1
	}
	return sipsrv.Config{
		Listen: cfg.SIPListen, AdvertiseIP: adv, MaxBody: cfg.MaxBody, MinSE: cfg.SessionMinSE, Logger: log,
		MaxMediaLines: cfg.SIPMaxMediaLines, AckTimeout: cfg.SIPAckTimeout, SRTP: sipsrv.SRTPPolicy(cfg.SRTP),
		TCPIdleTimeout: idle, TCPMaxConns: off(cfg.SIPTCPMaxConns), TCPMaxConnsPerSource: off(cfg.SIPTCPMaxConnsPerSource),
		TLSListen: cfg.SIPTLSListen,
	}
}

// registerSIPMetrics exposes the counters of hostile input: the SIP
// server's, and the panics recovered in the RTP receivers.
func registerSIPMetrics(reg *prometheus.Registry, s *sipsrv.Server) {
	counter := func(name, help string, labels prometheus.Labels, f func(sipsrv.Stats) float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "openrec", Name: name, Help: help, ConstLabels: labels},
			func() float64 { return f(s.Stats()) }))
	}
	counter("panics_total", "Panics recovered (each cost one request or connection, not the process).", prometheus.Labels{"where": "sip"},
		func(st sipsrv.Stats) float64 { return float64(st.Panics) })
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "openrec", Name: "panics_total",
		Help:        "Panics recovered (each cost one request or connection, not the process).",
		ConstLabels: prometheus.Labels{"where": "rtp"}}, func() float64 { return float64(rtpin.Panics()) }))
	counter("sip_invalid_requests_total", "SIP requests refused before any handler (400: missing mandatory header, unparseable; 513: too large).", prometheus.Labels{"action": "refused"},
		func(st sipsrv.Stats) float64 { return float64(st.Refused) })
	counter("sip_invalid_requests_total", "SIP requests refused before any handler (400: missing mandatory header, unparseable; 513: too large).", prometheus.Labels{"action": "dropped"},
		func(st sipsrv.Stats) float64 { return float64(st.Dropped) })
	counter("sip_ack_timeouts_total", "SIP sessions ended because the ACK of their 200 OK never came (Timer H).", nil,
		func(st sipsrv.Stats) float64 { return float64(st.NoAck) })
	counter("sip_tls_handshake_failures_total", "SIP TLS connections closed because their handshake failed (no or refused client certificate, not TLS, timeout).", nil,
		func(st sipsrv.Stats) float64 { return float64(st.TLSFailed) })
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "openrec", Name: "sip_tcp_connections", Help: "SIP TCP and TLS connections open now."},
		func() float64 { return float64(s.Stats().TCPOpen) }))
	for _, c := range []struct {
		reason string
		f      func(sipsrv.Stats) uint64
	}{
		{"idle", func(st sipsrv.Stats) uint64 { return st.TCPIdle }},
		{"refused", func(st sipsrv.Stats) uint64 { return st.TCPRefused }},
		{"too-large", func(st sipsrv.Stats) uint64 { return st.TCPTooLarge }},
	} {
		counter("sip_tcp_closed_total", "SIP TCP connections the recorder closed: idle timeout, over the connection limits (refused), message too large.", prometheus.Labels{"reason": c.reason},
			func(st sipsrv.Stats) float64 { return float64(c.f(st)) })
	}
}

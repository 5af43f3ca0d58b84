package app

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openrec/openrec/internal/capture"
	"github.com/openrec/openrec/internal/capture/follow"
)

// LiveCapture makes serve also record passively (serve --capture-interface):
// the calls observed on Source go through the same recorder, so the web
// UI, live listening, search and /metrics see them.
type LiveCapture struct {
	Source capture.Source
	Fanout []capture.Source // the sockets of a fanout group (Source is the first)
	Filter func(d *capture.Datagram) bool
	Loss   func() (packets, drops uint64)
}

// startCapture runs the capture role until ctx ends (a.wg).
func (a *App) startCapture(ctx context.Context, lc *LiveCapture) {
	cfg := capture.Config{
		Recorder:      a.rec,
		Clock:         &capture.Clock{},
		Live:          true,
		Follow:        follow.Config{MediaTimeout: a.cfg.MediaTimeout, Linger: a.cfg.ReorderWindow},
		FlushInterval: a.cfg.FlushInterval,
		Filter:        lc.Filter,
		Loss:          lc.Loss,
		Logger:        a.log,
	}
	if a.cti != nil {
		cfg.Identify = eprIdentify(a.cti.core, a.log)
	}
	a.capture = capture.New(cfg, lc.Source.LinkType())
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	// Close stops the capture before the recorder: the capture finalises
	// its calls itself (the recorder would find no RTP receiver's packets).
	var once sync.Once
	a.stopCapture = func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	go func() {
		defer close(done)
		run := func() (capture.Stats, error) { return a.capture.Run(ctx, lc.Source) }
		if len(lc.Fanout) > 1 {
			run = func() (capture.Stats, error) { return a.capture.RunFanout(ctx, lc.Fanout) }
		}
		if _, err := run(); err != nil {
			a.log.Error("capture stopped", "error", err)
		}
	}()
}

// registerCaptureMetrics exports the capture role's counters, the kernel
// ring's loss among them.
func registerCaptureMetrics(reg *prometheus.Registry, e *capture.Engine) {
	counter := func(name, help string, f func(capture.Stats) uint64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "openrec", Subsystem: "capture", Name: name, Help: help},
			func() float64 { return float64(f(e.Stats())) }))
	}
	counter("frames_total", "Frames read from the capture interface.", func(s capture.Stats) uint64 { return s.Decode.Frames })
	counter("duplicates_total", "IP packets dropped as duplicates (seen twice on the mirror).", func(s capture.Stats) uint64 { return s.Decode.Duplicates })
	counter("sip_messages_total", "SIP messages followed.", func(s capture.Stats) uint64 { return s.Follow.SIPMessages })
	counter("calls_total", "SIP dialogs (INVITEs) observed.", func(s capture.Stats) uint64 { return s.Follow.Calls })
	counter("recordings_total", "Passive recordings opened.", func(s capture.Stats) uint64 { return s.Follow.Recordings })
	counter("refused_total", "Answered calls not recorded: at max_calls, resources, excluded or do-not-record.", func(s capture.Stats) uint64 { return s.Follow.OpenFailures })
	counter("srtp_failures_total", "SRTP packets not decrypted (no SDES key, authentication failed).", func(s capture.Stats) uint64 { return s.Follow.SRTPFailures })
	counter("rtp_packets_total", "RTP packets recorded.", func(s capture.Stats) uint64 { return s.Follow.RTPMatched })
	counter("rtp_unmatched_total", "RTP-looking packets of no followed call.", func(s capture.Stats) uint64 { return s.Follow.RTPUnmatched })
	counter("ring_packets_total", "Packets the kernel delivered to the capture ring.", func(s capture.Stats) uint64 { return s.RingPackets })
	counter("ring_drops_total", "Packets the kernel dropped because the capture ring was full.", func(s capture.Stats) uint64 { return s.RingDrops })
}

// Package rawrecv is the reference RTP reader of the capacity benchmark:
// the recorder's receive layout with nothing behind it. It opens one
// rtpin.Receiver (RTP socket on an even port + RTCP socket on the next)
// for every pair of a port range, so the sockets, the recvmmsg batches,
// the header parsing and the source lock are the recorder's own, and hands
// every packet to a handler that does nothing: no mixer, no files, no SIP.
// The difference between its zero-loss ceiling and the recorder's is what
// the recorder spends beyond reading sockets.
//
// Each port locks onto the first source that sends to it (as a recorder
// leg does), so one Reader serves one load run.
package rawrecv

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/rtpin"
)

// Config describes a Reader.
type Config struct {
	IP        netip.Addr // address the sockets bind to (invalid: 0.0.0.0)
	Low, High int        // port range: RTP on every even port p with p+1 <= High
	// ReadBuffer is SO_RCVBUF of each RTP socket in bytes (0: the system
	// default, which is what the recorder uses).
	ReadBuffer int
	Logger     *slog.Logger // nil discards
}

// Reader holds the receivers of a port range. Open binds, Start reads,
// Close stops.
type Reader struct {
	rx  []*rtpin.Receiver
	log *slog.Logger

	mu      sync.Mutex
	started bool
	closed  bool
}

// discard is the handler of every receiver: the packet was read, parsed
// and counted by rtpin; nothing else happens.
type discard struct{}

func (discard) HandleRTP(*media.Packet)                {}
func (discard) HandleSenderReport(*media.SenderReport) {}

var _ media.PacketHandler = discard{}

// Open binds a socket pair on every even port of the range. It fails, with
// nothing left bound, when any pair cannot be bound (the load tool expects
// every port). It starts no goroutines.
func Open(cfg Config) (*Reader, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ports, err := rtpin.NewPortAllocator(cfg.Low, cfg.High, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	want := ports.Capacity()
	r := &Reader{log: cfg.Logger}
	for range want {
		rx, err := rtpin.Listen(rtpin.Config{
			IP: cfg.IP, Ports: ports, Handler: discard{}, ReadBuffer: cfg.ReadBuffer, Logger: cfg.Logger,
		})
		if err != nil {
			_ = r.Close()
			return nil, fmt.Errorf("%w: %w", ErrBind, err)
		}
		r.rx = append(r.rx, rx)
	}
	// rtpin.Listen skips a pair another process holds and takes the next
	// free one: with every pair taken once, a skipped pair shows as a
	// missing port.
	first := cfg.Low + cfg.Low%2
	if first == 0 {
		first = 2
	}
	got := make(map[int]bool, len(r.rx))
	for _, rx := range r.rx {
		got[rx.Port()] = true
	}
	for i := range want {
		if p := first + 2*i; !got[p] {
			_ = r.Close()
			return nil, fmt.Errorf("%w: port %d (or %d) is in use", ErrBind, p, p+1)
		}
	}
	return r, nil
}

// Pairs returns the number of port pairs read.
func (r *Reader) Pairs() int { return len(r.rx) }

// Start starts reading every pair (two goroutines per pair, as the
// recorder runs per leg). It does nothing after Close or on a second call.
func (r *Reader) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.closed {
		return
	}
	r.started = true
	for _, rx := range r.rx {
		rx.Start()
	}
}

// Stats are the counters of every receiver added up.
type Stats struct {
	Packets, Bytes, RTCP, ForeignSource, StaleSSRC, Invalid uint64
	Locked                                                  int // pairs that locked onto a source
}

// Stats adds up the receivers' counters.
func (r *Reader) Stats() Stats {
	var s Stats
	for _, rx := range r.rx {
		st := rx.Stats()
		s.Packets += st.Packets
		s.Bytes += st.Bytes
		s.RTCP += st.RTCP
		s.ForeignSource += st.ForeignSource
		s.StaleSSRC += st.StaleSSRC
		s.Invalid += st.Invalid
		if st.Source.IsValid() {
			s.Locked++
		}
	}
	return s
}

// MetricsHandler serves the counters in the Prometheus text format under
// the recorder's names (openrec_rtp_packets_received_total ...), so that
// `openrec load --metrics-url` reads a Reader as it reads a recorder.
func (r *Reader) MetricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	counter := func(name, help string, f func(Stats) float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "openrec", Name: name, Help: help},
			func() float64 { return f(r.Stats()) }))
	}
	counter("rtp_packets_received_total", "RTP packets accepted by the receivers.", func(s Stats) float64 { return float64(s.Packets) })
	counter("rtp_bytes_received_total", "Datagram bytes of the accepted RTP packets.", func(s Stats) float64 { return float64(s.Bytes) })
	counter("rtp_foreign_packets_total", "RTP packets from a source other than the locked one.", func(s Stats) float64 { return float64(s.ForeignSource) })
	counter("rtp_invalid_packets_total", "Datagrams that are neither RTP nor RTCP.", func(s Stats) float64 { return float64(s.Invalid) })
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "openrec", Name: "rawrecv_port_pairs", Help: "Port pairs read."},
		func() float64 { return float64(len(r.rx)) }))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// Close stops every receiver (each drains what its sockets hold) and
// closes the sockets. It is idempotent.
func (r *Reader) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	var errs []error
	for _, rx := range r.rx {
		errs = append(errs, rx.Close())
	}
	return errors.Join(errs...)
}

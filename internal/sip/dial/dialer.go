// Package dial is a SIP user agent client that places recording sessions
// to a recording server the way a Genesys Media Server (MSR: one INVITE per
// party, Request-URI record=<id>;calluuid=..;dn=..;recordDN=..) or a SIPREC
// session recording client (RFC 7866: one INVITE, multipart SDP +
// rs-metadata) does, and streams paced G.711 RTP (optionally with RTCP
// sender reports, RFC 4733 DTMF, loss, reordering and jitter).
//
// It backs `openrec dial`, the end-to-end tests and the load tool: one
// Dialer owns one sipgo UserAgent with one UDP and one TCP SIP socket (and a
// TLS one with Options.TLS, see tls.go), and
// Call is safe for concurrent use. A call costs one goroutine per INVITE
// (which also paces that INVITE's RTP) and one socket per stream.
//
// A call in progress can be re-INVITEd the way a media server does on
// transfer and hold (Spec.Reinvites, Reinvite): a new media source for a
// party (new local RTP socket and port, new SSRC), or a direction change
// (DirInactive for hold, DirSendOnly to resume). The re-INVITE transactions
// run on Call's own goroutine, one at a time; their outcome is handed to
// the pacing goroutine, which switches the stream between two packets.
package dial

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/openrec/openrec/internal/sip/sipgoglobal"
)

// UserAgent is the User-Agent header and the From user of our requests.
const UserAgent = "openrec-dial"

// sipgo package state, set once before any transport exists: SIPREC
// INVITEs exceed its default read buffer and its UDP send limit; the
// dialer sends them over UDP relying on IP fragmentation, as SBCs and
// media servers do (sipgoglobal says why it cannot be per transport).
func init() { sipgoglobal.Set() }

// Options configure a Dialer.
type Options struct {
	// LocalIP is the address of the SIP sockets and the default RTP
	// address (default 127.0.0.1).
	LocalIP netip.Addr
	Logger  *slog.Logger
	// RTPPortLow..RTPPortHigh (inclusive) are the local ports RTP is sent
	// from; both zero: ephemeral ports.
	RTPPortLow, RTPPortHigh int
	// Now is the wall clock used for RTCP NTP timestamps and SIPREC
	// metadata times (default time.Now).
	Now func() time.Time
	// TLS enables Spec.Transport "tls": the client configuration of the
	// connections to the recorder (RootCAs or InsecureSkipVerify, and
	// Certificates for mutual TLS). The Dialer then also listens for TLS
	// (the recorder's BYE after its connection closed) with the first of
	// Certificates, or a self-signed certificate made for the Dialer.
	TLS *tls.Config
}

// Dialer places calls. Create it with NewDialer, use it from any number of
// goroutines, Close it once.
type Dialer struct {
	log     *slog.Logger
	localIP netip.Addr
	now     func() time.Time
	ports   portAllocator

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	udpCli *sipgo.Client
	tcpCli *sipgo.Client
	udpUA  sipgo.DialogUA
	tcpUA  sipgo.DialogUA
	tlsUA  sipgo.DialogUA

	udpConn *net.UDPConn
	tcpLn   *net.TCPListener
	tlsLn   net.Listener // nil without Options.TLS
	udpAddr netip.AddrPort
	tcpAddr netip.AddrPort
	tlsAddr netip.AddrPort

	closeCtx  context.Context // cancelled by Close: calls in flight hang up
	closeNow  context.CancelFunc
	startOnce sync.Once
	startErr  error
	closeOnce sync.Once
	closed    atomic.Bool
	wg        sync.WaitGroup // serving goroutines
	calls     sync.WaitGroup // Call and Options in flight

	mu   sync.Mutex
	legs map[string]*leg // by Call-ID
}

// leg is one INVITE's dialog as seen by the incoming-request handlers.
type leg struct {
	dlg     atomic.Pointer[sipgo.DialogClientSession]
	bye     chan struct{} // closed when the recorder sent BYE
	byeOnce sync.Once
}

// NewDialer binds the SIP sockets (UDP and TCP on LocalIP, ephemeral
// ports) and builds the user agent. It starts no goroutine; the sockets are
// served from the first Call or Options.
func NewDialer(opts Options) (*Dialer, error) {
	if !opts.LocalIP.IsValid() {
		opts.LocalIP = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	if opts.LocalIP.IsUnspecified() {
		return nil, fmt.Errorf("%w: local IP %s goes into Contact and SDP: give a real address", ErrInvalidSpec, opts.LocalIP)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RTPPortLow != 0 || opts.RTPPortHigh != 0 {
		if opts.RTPPortLow < 1024 || opts.RTPPortHigh > 65535 || opts.RTPPortHigh <= opts.RTPPortLow {
			return nil, fmt.Errorf("%w: RTP port range %d-%d", ErrInvalidSpec, opts.RTPPortLow, opts.RTPPortHigh)
		}
	}
	d := &Dialer{
		log:     opts.Logger,
		localIP: opts.LocalIP.Unmap(),
		now:     opts.Now,
		ports:   portAllocator{low: opts.RTPPortLow, high: opts.RTPPortHigh},
		legs:    make(map[string]*leg),
	}
	d.closeCtx, d.closeNow = context.WithCancel(context.Background())
	var err error
	d.udpConn, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(d.localIP, 0)))
	if err != nil {
		return nil, fmt.Errorf("dial: SIP UDP socket: %w", err)
	}
	d.tcpLn, err = net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(d.localIP, 0)))
	if err != nil {
		_ = d.udpConn.Close()
		return nil, fmt.Errorf("dial: SIP TCP socket: %w", err)
	}
	d.udpAddr = d.udpConn.LocalAddr().(*net.UDPAddr).AddrPort()
	d.tcpAddr = d.tcpLn.Addr().(*net.TCPAddr).AddrPort()
	if opts.TLS != nil {
		if d.tlsLn, d.tlsAddr, err = listenTLS(d.localIP, opts.TLS); err != nil {
			_ = d.udpConn.Close()
			_ = d.tcpLn.Close()
			return nil, err
		}
	}

	host := d.localIP.String()
	d.ua, err = sipgo.NewUA(
		sipgo.WithUserAgenTLSConfig(clientTLS(opts.TLS)),
		sipgo.WithUserAgent(UserAgent),
		sipgo.WithUserAgentHostname(host),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(d.log)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(d.log),
			sip.WithTransactionLayerUnhandledResponseHandler(func(r *sip.Response) {
				d.log.Debug("SIP response outside any transaction (retransmission)", "response", r.Short())
			})),
	)
	if err == nil {
		d.srv, err = sipgo.NewServer(d.ua, sipgo.WithServerLogger(d.log))
	}
	if err == nil {
		// UDP requests leave from the served socket, so responses and the
		// recorder's BYE come back to the port in Via and Contact.
		d.udpCli, err = sipgo.NewClient(d.ua, sipgo.WithClientLogger(d.log),
			sipgo.WithClientHostname(host), sipgo.WithClientConnectionAddr(d.udpAddr.String()))
	}
	if err == nil {
		d.tcpCli, err = sipgo.NewClient(d.ua, sipgo.WithClientLogger(d.log), sipgo.WithClientHostname(host))
	}
	if err != nil {
		_ = d.udpConn.Close()
		_ = d.tcpLn.Close()
		if d.tlsLn != nil {
			_ = d.tlsLn.Close()
		}
		if d.ua != nil {
			_ = d.ua.Close()
		}
		return nil, fmt.Errorf("dial: sipgo: %w", err)
	}
	d.udpUA = sipgo.DialogUA{Client: d.udpCli, ContactHDR: d.contact("udp", false)}
	d.tcpUA = sipgo.DialogUA{Client: d.tcpCli, ContactHDR: d.contact("tcp", false)}
	d.tlsUA = sipgo.DialogUA{Client: d.tcpCli, ContactHDR: d.contact("tls", false)}
	d.srv.OnBye(d.onBye)
	d.srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	d.srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	return d, nil
}

// contact is our Contact for a transport; src adds the SIPREC +sip.src
// feature tag (RFC 7866 §6.1.1).
func (d *Dialer) contact(transport string, src bool) sip.ContactHeader {
	ap := d.SIPAddr(transport)
	c := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: UserAgent, Host: ap.Addr().String(), Port: int(ap.Port())}}
	if transport == TransportTCP || transport == TransportTLS {
		c.Address.UriParams = sip.HeaderParams{{K: "transport", V: transport}}
	}
	if src {
		c.Params = sip.HeaderParams{{K: "+sip.src", V: ""}}
	}
	return c
}

// start serves the SIP sockets (once).
func (d *Dialer) start() error {
	d.startOnce.Do(func() {
		d.wg.Add(2)
		go func() {
			defer d.wg.Done()
			_ = d.srv.ServeUDP(d.udpConn)
		}()
		go func() {
			defer d.wg.Done()
			_ = d.srv.ServeTCP(d.tcpLn)
		}()
		if d.tlsLn != nil {
			d.wg.Add(1)
			go func() {
				defer d.wg.Done()
				_ = d.srv.ServeTLS(d.tlsLn)
			}()
		}
		// sipgo registers the UDP listener in its connection pool from the
		// serving goroutine; requests must not race ahead of that or the
		// transport would try to bind the same port again.
		tl := d.ua.TransportLayer()
		deadline := time.Now().Add(2 * time.Second)
		for {
			if c, err := tl.GetConnection("udp", d.udpAddr.String()); err == nil && c != nil {
				return
			}
			if time.Now().After(deadline) {
				d.startErr = fmt.Errorf("%w: SIP UDP listener did not start", ErrTransport)
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
	return d.startErr
}

// enter registers an in-flight operation; false after Close.
func (d *Dialer) enter() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed.Load() {
		return false
	}
	d.calls.Add(1)
	return true
}

// Close hangs up the calls in flight (BYE, or CANCEL during setup) and
// waits for them, then closes the sockets and waits for the serving
// goroutines. Close is idempotent.
func (d *Dialer) Close() error {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.closed.Store(true)
		d.mu.Unlock()
		d.closeNow()
		d.calls.Wait()
		_ = d.udpConn.Close()
		_ = d.tcpLn.Close()
		if d.tlsLn != nil {
			_ = d.tlsLn.Close()
		}
		_ = d.ua.Close()
		d.wg.Wait()
	})
	return nil
}

// Done is closed when Close begins: helpers that live as long as the
// Dialer (a recorder health pinger, say) stop with it.
func (d *Dialer) Done() <-chan struct{} { return d.closeCtx.Done() }

// SIPAddr returns the local SIP address for a transport ("udp", "tcp" or
// "tls"; invalid for "tls" without Options.TLS).
func (d *Dialer) SIPAddr(transport string) netip.AddrPort {
	switch transport {
	case TransportTCP:
		return d.tcpAddr
	case TransportTLS:
		return d.tlsAddr
	}
	return d.udpAddr
}

func (d *Dialer) register(callID string) *leg {
	l := &leg{bye: make(chan struct{})}
	d.mu.Lock()
	d.legs[callID] = l
	d.mu.Unlock()
	return l
}

func (d *Dialer) unregister(callID string) {
	d.mu.Lock()
	delete(d.legs, callID)
	d.mu.Unlock()
}

// onBye answers a BYE from the recorder: 200 and the leg stops streaming,
// or 481 for an unknown dialog.
func (d *Dialer) onBye(req *sip.Request, tx sip.ServerTransaction) {
	var l *leg
	if id := req.CallID(); id != nil {
		d.mu.Lock()
		l = d.legs[id.Value()]
		d.mu.Unlock()
	}
	if l == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	if dlg := l.dlg.Load(); dlg != nil {
		if err := dlg.ReadBye(req, tx); err != nil {
			d.log.Warn("answering BYE", "sip_call_id", req.CallID().Value(), "error", err)
		}
	} else {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	}
	l.byeOnce.Do(func() { close(l.bye) })
}

// Options sends an out-of-dialog OPTIONS over UDP to target (host:port),
// the way the Genesys Resource Manager checks a recorder's health, and
// returns the final status code. Close cancels it.
func (d *Dialer) Options(ctx context.Context, target string) (int, error) {
	return d.OptionsVia(ctx, target, TransportUDP)
}

// OptionsVia is Options over a transport ("udp", "tcp" or "tls"; "" is
// udp).
func (d *Dialer) OptionsVia(ctx context.Context, target, transport string) (int, error) {
	network, cli := "UDP", d.udpCli
	switch strings.ToLower(transport) {
	case "", TransportUDP:
	case TransportTCP:
		network, cli = "TCP", d.tcpCli
	case TransportTLS:
		if d.tlsLn == nil {
			return 0, fmt.Errorf("%w: transport tls needs a TLS configuration (Options.TLS)", ErrInvalidSpec)
		}
		network, cli = "TLS", d.tcpCli
	default:
		return 0, fmt.Errorf("%w: transport %q", ErrInvalidSpec, transport)
	}
	if !d.enter() {
		return 0, ErrClosed
	}
	defer d.calls.Done()
	if err := d.start(); err != nil {
		return 0, err
	}
	host, port, err := splitTarget(target)
	if err != nil {
		return 0, err
	}
	// Close does not wait for a recorder that does not answer.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(d.closeCtx, cancel)()
	req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: host, Port: port})
	req.SetTransport(network)
	req.SetDestination(net.JoinHostPort(host, strconv.Itoa(port)))
	req.AppendHeader(sip.NewHeader("User-Agent", UserAgent))
	req.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	res, err := cli.Do(ctx, req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			if d.closed.Load() {
				return 0, ErrClosed
			}
			return 0, ctxErr
		}
		return 0, fmt.Errorf("%w: OPTIONS %s: %w", ErrTransport, target, err)
	}
	return res.StatusCode, nil
}

// Package sipsrv is the SIP side of the recorder, built on sipgo. It answers
// INVITE (initial and re-INVITE, also delayed offer with the SDP in the ACK),
// ACK, BYE, CANCEL, OPTIONS and UPDATE, classifies recording sessions (Genesys
// MSR by Request-URI, SIPREC by Require/Contact/body), parses bodies, and
// hands everything to a Handler. Every refusal is a final response with a
// reason phrase (see StatusError). Hostile input is stopped before sipgo's
// transaction layer: invalid requests get a 400 naming the problem or are
// dropped (validate.go, guard.go for UDP, tcp.go for TCP with its
// connection limits and idle timeout), a panic costs one request
// (recover.go), and a 200 never ACKed ends after Timer H (acktimer.go).
// SIP over TLS (tls.go) runs on its own listener through the same TCP
// guard, above the TLS layer.
package sipsrv

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/openrec/openrec/internal/sip/sdpoa"
	"github.com/openrec/openrec/internal/sip/sipgoglobal"
	"github.com/openrec/openrec/internal/sip/siprec"
)

// Handler is what the server needs from the recorder.
type Handler interface {
	// Invite handles an initial INVITE and returns the SDP for the 200 OK
	// (an answer, or an offer when inv.SDP is nil). ctx ends when the peer
	// CANCELs or the server closes; Invite must then return soon (Close
	// waits for it).
	Invite(ctx context.Context, inv *Invite) ([]byte, error)
	// Reinvite handles an in-dialog INVITE or UPDATE (new media, hold,
	// codec change, metadata update). It returns the SDP for the 200 OK.
	// ctx ends as Invite's.
	Reinvite(ctx context.Context, inv *Invite) ([]byte, error)
	// Ack delivers the ACK; sdp is the answer of a delayed-offer INVITE.
	Ack(callID string, sdp *sdpoa.Session) error
	// Bye ends the dialog the peer hung up (BYE) or cancelled (CANCEL).
	Bye(callID, reason string)
	// Available says whether new calls are accepted (OPTIONS 200 or 503).
	Available() error
}

// Config configures a Server.
type Config struct {
	Listen      string // HOST:PORT for UDP and TCP; port 0 picks one (same for both)
	AdvertiseIP netip.Addr
	MaxBody     int
	UserAgent   string
	Logger      *slog.Logger

	// MaxMediaLines caps the m-lines of one offer (0: DefaultMaxMediaLines);
	// more are refused with 488, each would take an RTP port pair.
	MaxMediaLines int
	// AckTimeout ends a dialog whose ACK never came (RFC 3261 §13.3.1.4,
	// Timer H = 64*T1; 0: DefaultAckTimeout) and frees its ports.
	AckTimeout time.Duration
	// SIP over TCP (tcp.go): a connection quiet in both directions for
	// TCPIdleTimeout is closed; at most TCPMaxConns connections in all and
	// TCPMaxConnsPerSource from one address. 0 takes the default, a
	// negative value turns the limit off.
	TCPIdleTimeout       time.Duration
	TCPMaxConns          int
	TCPMaxConnsPerSource int
	// MinSE is the smallest session interval accepted (RFC 4028 Min-SE);
	// 0 means DefaultMinSE.
	MinSE time.Duration
	// AfterFunc runs f after d and returns its stop function (tests inject
	// a manual clock); nil means time.AfterFunc.
	AfterFunc func(d time.Duration, f func()) (stop func() bool)
	// SRTP is the media protection policy (srtp.go); "" is SRTPOptional.
	SRTP SRTPPolicy

	// SIP over TLS (tls.go): TLSListen is HOST:PORT of a TLS listener ("":
	// none), served with TLS (MinVersion, certificate, client
	// verification). Its connections pass the TCP guard and limits above
	// the TLS layer. TLSClient is the configuration of the TLS connections
	// the server opens itself (a BYE whose connection is gone), nil:
	// TLS 1.2+ with the system roots. TLSHandshakeTimeout bounds a
	// handshake (0: DefaultTLSHandshakeTimeout).
	TLSListen           string
	TLS                 *tls.Config
	TLSClient           *tls.Config
	TLSHandshakeTimeout time.Duration
}

// Server is the SIP endpoint. Create with New, start with Start, stop with Close.
type Server struct {
	cfg     Config
	h       Handler
	log     *slog.Logger
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	cli     *sipgo.Client
	udp     net.PacketConn
	tcp     net.Listener
	tls     net.Listener // nil without TLSListen
	addr    netip.AddrPort
	tlsAddr netip.AddrPort
	contact sip.ContactHeader

	counters *counters

	// ctx is the server's base context, cancelled by Close: handlers get a
	// context derived from it, and the requests the server sends on its
	// own (BYE, UPDATE refresh) use it.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	dialogs map[string]*dialog
	closing bool
	timers  timers // RFC 4028 session timers (options.go)

	// work counts the handlers running and the goroutines the server
	// started (Timer H, a BYE); Close waits for it before closing the
	// transports, so their answers still go out. Added to only under mu
	// while !closing (enter).
	work      sync.WaitGroup
	wg        sync.WaitGroup // the serve loops (Start)
	closeOnce sync.Once
}

// dialog is a confirmed dialog, UAS side. Dialogs are hand-written rather
// than sipgo's DialogServerCache: the recorder needs the SDP of a delayed
// offer from the ACK, Timer H with its own 2xx retransmission, peer
// matching by tags before a guessed Call-ID ends a recording, session
// timers refreshed with UPDATE, and BYEs with a Reason, the route set and
// a new connection when the INVITE's is gone (byeDestination).
//
// A dialog is live while s.dialogs holds it; every field below is
// immutable after creation except those marked (s.mu).
type dialog struct {
	invite   *sip.Request
	localTag string
	cseq     uint32      // last CSeq we sent (s.mu)
	acked    bool        // the ACK of the 2xx came, acktimer.go (s.mu)
	ackTimer *time.Timer // Timer H (s.mu)
	retx     *time.Timer // next 2xx retransmission, UDP (s.mu)
}

// sipgo's package settings (its UDP read buffer and send limit) cannot be
// set per transport: sipgoglobal sets them, once, before any of its
// goroutines can run.
func init() { sipgoglobal.Set() }

// New creates the server and binds its sockets (so Addr is known), but
// starts no goroutines.
func New(cfg Config, h Handler) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 256 << 10
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "openrec"
	}
	if cfg.MaxMediaLines <= 0 {
		cfg.MaxMediaLines = DefaultMaxMediaLines
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = DefaultAckTimeout
	}
	cfg.TCPIdleTimeout = orDefault(cfg.TCPIdleTimeout, DefaultTCPIdleTimeout)
	cfg.TCPMaxConns = orDefault(cfg.TCPMaxConns, DefaultTCPMaxConns)
	cfg.TCPMaxConnsPerSource = orDefault(cfg.TCPMaxConnsPerSource, DefaultTCPMaxConnsPerSource)
	parser := sip.NewParser()
	parser.MaxMessageLength = cfg.MaxBody + 16<<10
	s := &Server{cfg: cfg, h: h, log: cfg.Logger, dialogs: map[string]*dialog{}, counters: &counters{}}
	udp, tcp, err := listenBoth(cfg.Listen)
	if err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.udp = &guardConn{PacketConn: udp, parser: parser, log: cfg.Logger, counters: s.counters}
	s.tcp = newTCPListener(tcp, cfg, parser, s.counters)
	if cfg.TLSListen != "" {
		if s.tls, s.tlsAddr, err = listenTLS(cfg, parser, s.counters); err != nil {
			_ = udp.Close()
			_ = tcp.Close()
			return nil, err
		}
	}
	closeAll := func() {
		_ = udp.Close()
		_ = tcp.Close()
		if s.tls != nil {
			_ = s.tls.Close()
		}
	}
	s.addr = netip.MustParseAddrPort(udp.LocalAddr().String())
	host := s.addr.Addr()
	if cfg.AdvertiseIP.IsValid() {
		host = cfg.AdvertiseIP
	} else if host.IsUnspecified() {
		host = outboundIP()
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(cfg.UserAgent), sipgo.WithUserAgentHostname(host.String()),
		sipgo.WithUserAgentParser(parser), sipgo.WithUserAgenTLSConfig(clientTLS(cfg.TLSClient)))
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("sipsrv: user agent: %w", err)
	}
	s.ua = ua
	s.srv, err = sipgo.NewServer(ua, sipgo.WithServerLogger(cfg.Logger))
	if err == nil {
		s.cli, err = sipgo.NewClient(ua, sipgo.WithClientHostname(host.String()), sipgo.WithClientLogger(cfg.Logger))
	}
	if err != nil {
		_ = ua.Close()
		closeAll()
		return nil, fmt.Errorf("sipsrv: %w", err)
	}
	s.contact = sip.ContactHeader{
		Address: sip.Uri{Scheme: "sip", User: "openrec", Host: host.String(), Port: int(s.addr.Port())},
		Params:  sip.NewParams(),
	}
	s.contact.Params.Add(siprec.ContactFeature, "")
	s.srv.OnInvite(s.handle(s.onInvite))
	s.srv.OnAck(s.handle(s.onAck))
	s.srv.OnBye(s.handle(s.onBye))
	s.srv.OnCancel(s.handle(s.onCancel))
	s.srv.OnOptions(s.handle(s.onOptions))
	s.srv.OnUpdate(s.handle(s.onUpdate))
	s.srv.OnNoRoute(s.handle(s.onNoRoute))
	return s, nil
}

// listenBoth binds UDP and TCP on the same port.
func listenBoth(addr string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("sipsrv: listen address %q: %w", addr, err)
	}
	for attempt := 0; attempt < 20; attempt++ {
		udp, err := net.ListenPacket("udp", net.JoinHostPort(host, port))
		if err != nil {
			return nil, nil, fmt.Errorf("sipsrv: listen udp %s: %w", addr, err)
		}
		if uc, ok := udp.(*net.UDPConn); ok {
			// A Resource Manager starting many calls at once sends bursts of
			// INVITEs; the default buffer drops them into retransmission.
			_ = uc.SetReadBuffer(4 << 20)
		}
		_, got, _ := net.SplitHostPort(udp.LocalAddr().String())
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, got))
		if err == nil {
			return udp, tcp, nil
		}
		_ = udp.Close()
		if port != "0" {
			return nil, nil, fmt.Errorf("sipsrv: listen tcp %s: %w", addr, err)
		}
	}
	return nil, nil, fmt.Errorf("sipsrv: no free port for UDP and TCP on %s", host)
}

// Addr is the bound address (UDP and TCP share the port).
func (s *Server) Addr() netip.AddrPort { return s.addr }

// Start serves UDP, TCP and TLS (when configured) in background
// goroutines until Close.
func (s *Server) Start() {
	if s.tls != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.srv.ServeTLS(s.tls); err != nil && !errors.Is(err, net.ErrClosed) {
				s.log.Debug("sip tls stopped", "error", err)
			}
		}()
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.srv.ServeUDP(s.udp); err != nil && !errors.Is(err, net.ErrClosed) {
			s.log.Debug("sip udp stopped", "error", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		if err := s.srv.ServeTCP(s.tcp); err != nil && !errors.Is(err, net.ErrClosed) {
			s.log.Debug("sip tcp stopped", "error", err)
		}
	}()
}

// Close stops serving: it cancels the handlers in progress (an INVITE not
// yet answered gets 503) and the requests the server sent on its own,
// waits for them and every goroutine the server started, then closes the
// transports. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.stopAckTimers() // and no new work
		s.cancel()
		s.closeTimers()
		s.work.Wait()
		_ = s.udp.Close()
		_ = s.tcp.Close()
		if s.tls != nil {
			_ = s.tls.Close()
		}
		_ = s.srv.Close()
		_ = s.ua.Close() // transactions and accepted TCP connections
		s.wg.Wait()
	})
	return nil
}

// enter counts a unit of work Close must wait for, unless the server is
// closing (then it reports false and nothing was counted).
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.work.Add(1)
	return true
}

// goTracked runs f in a goroutine Close waits for (not at all once
// closing).
func (s *Server) goTracked(f func()) {
	if !s.enter() {
		return
	}
	go func() {
		defer s.work.Done()
		f()
	}()
}

func (s *Server) respond(req *sip.Request, tx sip.ServerTransaction, code int, reason string, body []byte, hdrs ...sip.Header) {
	s.send(req, tx, s.response(req, code, reason, body, hdrs...))
}

func (s *Server) response(req *sip.Request, code int, reason string, body []byte, hdrs ...sip.Header) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, body)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if code >= 200 && code < 300 && req.IsInvite() {
		res.AppendHeader(s.contactFor(req))
	}
	if len(body) > 0 {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	return res
}

func (s *Server) send(req *sip.Request, tx sip.ServerTransaction, res *sip.Response) {
	if err := tx.Respond(res); err != nil {
		s.log.Warn("sip respond failed", "sip_call_id", callID(req), "code", res.StatusCode, "error", err)
	}
}

func (s *Server) respondError(req *sip.Request, tx sip.ServerTransaction, err error) {
	code, reason, retry := statusOf(err)
	if s.ctx.Err() != nil && errors.Is(err, context.Canceled) {
		code, reason = 503, "Service Unavailable" // Close: the peer may try another recorder
	}
	var hdrs []sip.Header
	if retry > 0 {
		hdrs = append(hdrs, sip.NewHeader("Retry-After", strconv.Itoa(retry)))
	}
	lvl := slog.LevelInfo
	if code >= 500 && code != 503 {
		lvl = slog.LevelError
	}
	s.log.Log(context.Background(), lvl, "sip request refused", "method", req.Method.String(), "sip_call_id", callID(req), "code", code, "reason", reason, "source", req.Source(), "error", err)
	s.respond(req, tx, code, reason, nil, hdrs...)
}

func callID(req *sip.Request) string {
	if h := req.CallID(); h != nil {
		return h.Value()
	}
	return ""
}

func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	id := callID(req)
	if s.refuseUnsupported(req, tx) {
		return
	}
	toTag, _ := req.To().Params.Get("tag")
	if toTag != "" {
		s.handleReinvite(req, tx)
		return
	}
	inv, err := s.classify(req)
	if err != nil {
		s.respondError(req, tx, err)
		return
	}
	st, err := s.negotiateTimer(req)
	if err != nil {
		s.refuseTimer(req, tx, err)
		return
	}
	// The INVITE ends with the peer's CANCEL or with Close.
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	var cancelled atomic.Bool // by the peer: the transaction layer sent 487
	if !tx.OnCancel(func(r *sip.Request) { cancelled.Store(true); cancel() }) {
		cancelled.Store(true) // the CANCEL came before we listened
		cancel()
	}
	answer, err := s.h.Invite(ctx, inv)
	if ctx.Err() != nil {
		reason := "cancelled"
		if !cancelled.Load() {
			reason = "shutdown"
			s.respondError(req, tx, context.Canceled) // Close: 503
		}
		if err == nil { // the leg was set up when the INVITE ended
			s.h.Bye(id, reason)
		}
		return
	}
	if err != nil {
		s.respondError(req, tx, err)
		return
	}
	res := s.response(req, 200, "OK", answer, st.headers()...)
	localTag, _ := res.To().Params.Get("tag")
	// The dialog exists before the peer can see the 200 (its BYE may race).
	d := &dialog{invite: req, localTag: localTag, cseq: 1}
	// Its session timer too: a BYE handled right after the 200 finds it
	// and stops it.
	s.mu.Lock()
	s.dialogs[id] = d
	s.armAckTimer(id, d)
	s.armTimer(id, st)
	s.mu.Unlock()
	if !cancelled.Load() {
		s.send(req, tx, res)
	}
	// The transaction handles the CANCEL and the 200 one after the other: if
	// the CANCEL got in first, the peer got 487, not our 200. (Close after
	// the 200 leaves the dialog: the peer has it.)
	if cancelled.Load() {
		// sipgo v1.7.2 keeps the last response handed to the transaction
		// as the one Timer G retransmits, even the 200 its state machine
		// refused to send after the 487: hand it the 487 again.
		_ = tx.Respond(sip.NewResponseFromRequest(req, 487, "Request Terminated", nil))
		s.mu.Lock()
		mine := s.dialogs[id] == d
		if mine {
			delete(s.dialogs, id)
			d.stopTimers()
		}
		s.mu.Unlock()
		if mine {
			s.stopTimer(id)
		}
		s.h.Bye(id, "cancelled")
		return
	}
	s.retransmit2xx(id, d, res)
}

func (s *Server) handleReinvite(req *sip.Request, tx sip.ServerTransaction) {
	id := callID(req)
	s.mu.Lock()
	d := s.dialogs[id]
	s.mu.Unlock()
	if d == nil || !d.matches(req) {
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist", nil)
		return
	}
	inv, err := s.classify(req)
	if err != nil {
		s.respondError(req, tx, err)
		return
	}
	st, err := s.negotiateTimer(req)
	if err != nil {
		s.refuseTimer(req, tx, err)
		return
	}
	answer, err := s.h.Reinvite(s.ctx, inv)
	if err != nil {
		s.respondError(req, tx, err)
		return
	}
	// A refresh restarts the timer (RFC 4028 §10), before the 200 leaves,
	// and only while the dialog lives: it may have ended meanwhile (BYE,
	// Hangup), and a timer would end it a second time.
	s.mu.Lock()
	if s.dialogs[id] == d {
		s.armTimer(id, st)
	}
	s.mu.Unlock()
	s.respond(req, tx, 200, "OK", answer, st.headers()...)
}

func (s *Server) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	if s.refuseUnsupported(req, tx) {
		return
	}
	s.handleReinvite(req, tx)
}

func (s *Server) onAck(req *sip.Request, tx sip.ServerTransaction) {
	id := callID(req)
	s.acked(id)
	var sess *sdpoa.Session
	if body := req.Body(); len(body) > 0 {
		b, err := siprec.SplitBody(headerValue(req, "Content-Type"), body)
		if err == nil && len(b.SDP) > 0 {
			sess, err = sdpoa.ParseOffer(b.SDP)
		}
		if err == nil {
			err = s.checkMediaLines(sess)
		}
		if err != nil {
			// An ACK cannot be refused; end the session that cannot be recorded.
			s.log.Warn("sip ack with unusable sdp: ending session", "sip_call_id", id, "error", err)
			s.h.Bye(id, "bad sdp in ack")
			s.goTracked(func() {
				if err := s.Hangup(s.ctx, id, "unusable SDP in ACK"); err != nil {
					s.log.Debug("sip: bye after unusable ack not delivered", "sip_call_id", id, "error", err)
				}
			})
			return
		}
	}
	if err := s.h.Ack(id, sess); err != nil {
		s.log.Warn("sip ack", "sip_call_id", id, "error", err)
	}
}

func (s *Server) onBye(req *sip.Request, tx sip.ServerTransaction) {
	id := callID(req)
	s.mu.Lock()
	d := s.dialogs[id]
	if d != nil && d.matches(req) {
		delete(s.dialogs, id)
		d.stopTimers()
	} else {
		d = nil // not this dialog's peer: a guessed Call-ID ends no recording
	}
	s.mu.Unlock()
	if d == nil {
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist", nil)
		return
	}
	s.stopTimer(id)
	s.respond(req, tx, 200, "OK", nil)
	s.h.Bye(id, "bye")
}

func (s *Server) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	// Reached only when no INVITE transaction matched (the transaction
	// layer answers matched CANCELs itself and fires tx.OnCancel).
	s.respond(req, tx, 481, "Call/Transaction Does Not Exist", nil)
}

func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	allow := sip.NewHeader("Allow", allowed)
	accept := sip.NewHeader("Accept", accepted)
	if err := s.h.Available(); err != nil {
		code, reason, retry := statusOf(err)
		hdrs := []sip.Header{allow}
		if retry > 0 {
			hdrs = append(hdrs, sip.NewHeader("Retry-After", strconv.Itoa(retry)))
		}
		s.respond(req, tx, code, reason, nil, hdrs...)
		return
	}
	s.respond(req, tx, 200, "OK", nil, allow, accept, sip.NewHeader("Supported", supportedHeader))
}

// Hangup sends BYE in the dialog of callID (media timeout, shutdown) with a
// Reason header, and forgets the dialog.
func (s *Server) Hangup(ctx context.Context, id, reason string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			recovered(s.counters, s.log, "hangup", r, "sip_call_id", id)
			err = fmt.Errorf("sipsrv: bye %s: internal error", id)
		}
	}()
	s.mu.Lock()
	d := s.dialogs[id]
	var cseq uint32
	if d != nil {
		delete(s.dialogs, id)
		d.stopTimers()
		d.cseq++
		cseq = d.cseq
	}
	s.mu.Unlock()
	s.stopTimer(id)
	if d == nil {
		return ErrUnknownDialog
	}
	inv := d.invite
	target := dialogTarget(inv) // the peer's Contact, else its source address
	bye := sip.NewRequest(sip.BYE, target)
	to := inv.From().AsTo()
	from := inv.To().AsFrom()
	from.Params = from.Params.Clone()
	from.Params.Add("tag", d.localTag)
	bye.AppendHeader(&from)
	bye.AppendHeader(&to)
	bye.AppendHeader(sip.HeaderClone(inv.CallID()))
	bye.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.BYE})
	mf := sip.MaxForwardsHeader(70)
	bye.AppendHeader(&mf)
	// The route set of the dialog (UAS side: Record-Route in order).
	for _, rr := range inv.GetHeaders("Record-Route") {
		bye.AppendHeader(sip.NewHeader("Route", rr.Value()))
	}
	bye.AppendHeader(sip.NewHeader("Reason", fmt.Sprintf("SIP;cause=200;text=%q", reason)))
	// Over TCP and TLS a message without Content-Length cannot be framed:
	// sipgo peers drop the BYE and their connection (RFC 3261 §20.14).
	cl := sip.ContentLengthHeader(0)
	bye.AppendHeader(&cl)
	bye.SetTransport(inv.Transport())
	bye.SetDestination(s.byeDestination(inv, target))
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	tx, err := s.cli.TransactionRequest(ctx, bye, sipgo.ClientRequestAddVia)
	if err != nil {
		return fmt.Errorf("sipsrv: bye %s: %w", id, err)
	}
	defer tx.Terminate()
	select {
	case res := <-tx.Responses():
		s.log.Debug("sip bye answered", "sip_call_id", id, "code", res.StatusCode)
		return nil
	case <-tx.Done():
		return fmt.Errorf("sipsrv: bye %s: %w", id, tx.Err())
	case <-ctx.Done():
		return fmt.Errorf("sipsrv: bye %s: %w", id, ctx.Err())
	}
}

// Dialogs returns the number of confirmed dialogs.
func (s *Server) Dialogs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.dialogs)
}

// localIPFor returns the address to advertise to a peer at source.
func (s *Server) localIPFor(source string) netip.Addr {
	if s.cfg.AdvertiseIP.IsValid() {
		return s.cfg.AdvertiseIP
	}
	if a := s.addr.Addr(); !a.IsUnspecified() {
		return a
	}
	if ap, err := netip.ParseAddrPort(source); err == nil {
		if c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(ap)); err == nil {
			defer c.Close()
			if la, ok := c.LocalAddr().(*net.UDPAddr); ok {
				if a, ok := netip.AddrFromSlice(la.IP); ok {
					return a.Unmap()
				}
			}
		}
	}
	return outboundIP()
}

func outboundIP() netip.Addr {
	c, err := net.Dial("udp", "192.0.2.1:9") // no packet is sent
	if err != nil {
		return netip.MustParseAddr("127.0.0.1")
	}
	defer c.Close()
	if a, ok := netip.AddrFromSlice(c.LocalAddr().(*net.UDPAddr).IP); ok {
		return a.Unmap()
	}
	return netip.MustParseAddr("127.0.0.1")
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

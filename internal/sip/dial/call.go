package dial

import (
	"context"
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
)

// byeTimeout bounds the BYE transaction after the media ends (or after the
// caller's context was cancelled).
const byeTimeout = 4 * time.Second

// cancelGrace is how long a cancelled INVITE without a provisional
// response waits for one (so that CANCEL can be sent) before it is
// abandoned.
const cancelGrace = time.Second

// session is one INVITE and the streams it carries.
type session struct {
	d       *Dialer
	p       *plan
	idx     int // index in the per-INVITE Result slices
	streams []*stream
	delay   time.Duration
	callID  string
	log     *slog.Logger

	// Re-INVITE support (Spec.Reinvites). The session goroutine sets dlg,
	// fallback, offer, sdpID and sdpVer, then closes ready; from then on
	// they belong to the goroutine running re-INVITEs (serveReinvites),
	// which holds mu for each transaction. The session takes mu for its
	// BYE, so the two never overlap in the dialog.
	mu       sync.Mutex
	ready    chan struct{}    // closed once established and streaming
	paceDone chan struct{}    // closed when the media ended (or never began)
	paceOnce sync.Once        //
	ctl      chan mediaSwitch // re-INVITE outcomes to the pacing loop
	dlg      *sipgo.DialogClientSession
	fallback netip.Addr
	offer    []offerStream
	sdpID    uint64
	sdpVer   uint64
}

func (ss *session) endPace() { ss.paceOnce.Do(func() { close(ss.paceDone) }) }

// Call places one recording call described by s and blocks until it ends:
// INVITE(s) → final response → ACK → RTP to each answer's address for
// s.Duration (in the answer's payload type) → BYE.
//
// A non-2xx final response to any INVITE returns a StatusError (the other
// INVITE, if any, is cancelled or hung up). A BYE from the recorder ends
// that INVITE's streams early without error (Result.RemoteBye). Cancelling
// ctx after every INVITE was answered hangs up with BYE and returns a nil
// error; cancelling it during setup cancels the INVITEs and returns ctx's
// error. The Result is returned with whatever happened, also on error
// (nil only for an invalid Spec or a closed Dialer).
func (d *Dialer) Call(ctx context.Context, s Spec) (*Result, error) {
	if !d.enter() {
		return nil, ErrClosed
	}
	defer d.calls.Done()
	p, err := newPlan(s, d.localIP)
	if err != nil {
		return nil, err
	}
	if p.Transport == TransportTLS && d.tlsLn == nil {
		return nil, fmt.Errorf("%w: transport tls needs a TLS configuration (Options.TLS: --tls-ca or --tls-insecure)", ErrInvalidSpec)
	}
	if err := d.start(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(d.closeCtx, cancel)()

	log := d.log.With("record_id", p.RecordID, "call_uuid", p.CallUUID, "mode", p.Mode)
	var pairs [2]rtpPair
	defer func() {
		for _, pr := range pairs {
			pr.close()
		}
	}()
	for i := range pairs {
		if pairs[i], err = d.ports.listen(p.LocalIP, p.RTCP); err != nil {
			return nil, err
		}
	}
	streams := [2]*stream{
		newStream(0, p.Sources[0], p.codecs[0], pairs[0], p, log.With("party", 0)),
		newStream(1, p.Sources[1], p.codecs[1], pairs[1], p, log.With("party", 1)),
	}
	for streams[1].ssrc == streams[0].ssrc {
		streams[1].ssrc++
	}

	var sessions []*session
	if p.SingleLeg {
		sessions = []*session{{streams: streams[:1]}}
	} else if p.sessions == 2 {
		sessions = []*session{
			{streams: streams[:1]},
			{streams: streams[1:], delay: p.StartSkew},
		}
	} else {
		sessions = []*session{{streams: streams[:]}}
	}
	n := len(sessions)
	res := &Result{
		RecordID: p.RecordID, CallUUID: p.CallUUID,
		CallIDs: make([]string, n), Statuses: make([]int, n), Setup: make([]time.Duration, n),
		Answers: make([][]byte, n), RemoteBye: make([]bool, n),
		PacketsSent: make([]int, 2), PacketsDropped: make([]int, 2),
	}
	for i, ss := range sessions {
		ss.d, ss.p, ss.idx = d, p, i
		ss.callID = randHex(16) + "@" + d.localIP.String()
		ss.log = log.With("sip_call_id", ss.callID)
		ss.ready, ss.paceDone = make(chan struct{}), make(chan struct{})
		if p.Reinvites != nil {
			ss.ctl = make(chan mediaSwitch)
		}
		res.CallIDs[i] = ss.callID
	}
	// A re-INVITE with new media replaces a stream's sockets: close the
	// ones in use at the end (the initial pairs are closed above; closing
	// twice is harmless).
	defer func() {
		for _, s := range streams {
			s.pair.close()
		}
	}()

	// A session that fails aborts the others (CANCEL or BYE); the cause is
	// the error Call returns.
	abortCtx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	errs := make([]error, n)
	var wg sync.WaitGroup
	allDone := make(chan struct{})
	var left atomic.Int32
	left.Store(int32(n))
	for i, ss := range sessions {
		wg.Go(func() {
			defer func() {
				if left.Add(-1) == 0 {
					close(allDone)
				}
			}()
			defer ss.endPace()
			errs[i] = ss.run(abortCtx, res)
			if errs[i] != nil && !isCtxErr(errs[i]) {
				abort(errs[i])
			}
		})
	}
	if p.Reinvites != nil {
		res.Reinvites = serveReinvites(abortCtx, p.Reinvites, sessions, allDone, log)
	}
	wg.Wait()
	for i, s := range streams {
		res.PacketsSent[i], res.PacketsDropped[i] = s.sent, s.dropped
	}
	if c := context.Cause(abortCtx); c != nil && !isCtxErr(c) {
		return res, c
	}
	for _, err := range errs {
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// run places this session's INVITE, streams, and hangs up.
func (ss *session) run(ctx context.Context, res *Result) error {
	d, p, i := ss.d, ss.p, ss.idx
	if ss.delay > 0 {
		t := time.NewTimer(ss.delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	req := ss.buildInvite()
	l := d.register(ss.callID)
	defer d.unregister(ss.callID)
	dua := &d.udpUA
	switch p.Transport {
	case TransportTCP:
		dua = &d.tcpUA
	case TransportTLS:
		dua = &d.tlsUA
	}

	t0 := time.Now()
	dlg, err := dua.WriteInvite(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: INVITE to %s: %w", ErrTransport, p.Target, err)
	}
	defer dlg.Close()
	l.dlg.Store(dlg)

	// Cancelling ctx makes sipgo send CANCEL, which RFC 3261 §9.1 allows
	// only after a provisional response: without one, wait up to
	// cancelGrace for it (or for the final response, answered with ACK and
	// BYE below), then abandon the transaction.
	var provisional, cancelled atomic.Bool
	waitCtx, waitCancel := context.WithCancelCause(context.WithoutCancel(ctx))
	var grace atomic.Pointer[time.Timer]
	stop := context.AfterFunc(ctx, func() {
		cancelled.Store(true)
		if provisional.Load() {
			waitCancel(context.Canceled)
			return
		}
		grace.Store(time.AfterFunc(cancelGrace, func() { waitCancel(sipgo.WaitAnswerForceCancelErr) }))
	})
	err = dlg.WaitAnswer(waitCtx, sipgo.AnswerOptions{OnResponse: func(r *sip.Response) error {
		if r.IsProvisional() {
			provisional.Store(true)
			if cancelled.Load() {
				waitCancel(context.Canceled)
			}
		}
		return nil
	}})
	stop()
	if t := grace.Load(); t != nil {
		t.Stop()
	}
	waitCancel(nil)
	res.Setup[i] = time.Since(t0)
	r := dlg.InviteResponse
	if r != nil && !r.IsProvisional() {
		res.Statuses[i] = r.StatusCode
	}
	if r == nil || !r.IsSuccess() {
		if ctx.Err() != nil { // cancelled (a 487 is the answer to our CANCEL)
			return ctx.Err()
		}
		if r != nil && r.StatusCode >= 300 {
			ss.log.Debug("INVITE rejected", "status", r.StatusCode)
			return fmt.Errorf("dial: INVITE %d rejected: %w", i+1, StatusError{Code: r.StatusCode, Reason: r.Reason})
		}
		return fmt.Errorf("%w: INVITE to %s: %w", ErrTransport, p.Target, err)
	}
	body := r.Body()
	res.Answers[i] = append([]byte(nil), body...)
	if ackErr := dlg.Ack(ctx); ackErr != nil {
		return fmt.Errorf("%w: ACK: %w", ErrTransport, ackErr)
	}
	if err != nil {
		// The 2xx crossed our CANCEL: the session exists, hang it up.
		if byeErr := ss.bye(ctx, dlg, l); byeErr != nil {
			ss.log.Warn("BYE after a cancelled INVITE was answered", "error", byeErr)
		}
		return ctx.Err()
	}
	ss.log.Debug("session established", "setup", res.Setup[i])

	answers, err := parseAnswer(body, len(ss.streams), ss.fallbackIP(r))
	if err != nil {
		if byeErr := ss.bye(ctx, dlg, l); byeErr != nil {
			ss.log.Warn("BYE after a bad answer failed", "error", byeErr)
		}
		return err
	}
	if err := checkAnswerSRTP(ss.p, answers); err != nil {
		if byeErr := ss.bye(ctx, dlg, l); byeErr != nil {
			ss.log.Warn("BYE after a bad answer failed", "error", byeErr)
		}
		return err
	}
	for j, s := range ss.streams {
		s.configure(answers[j], p.dtmf)
	}
	ss.dlg, ss.fallback = dlg, ss.fallbackIP(r)
	close(ss.ready)
	pace(ctx, l.bye, ss.streams, p.ticks, d.now, ss.ctl, p.dtmf)
	ss.endPace()
	select {
	case <-l.bye:
		res.RemoteBye[i] = true
		ss.log.Debug("recorder hung up")
		return nil
	default:
	}
	ss.mu.Lock() // after a re-INVITE in flight, if any
	defer ss.mu.Unlock()
	return ss.bye(ctx, dlg, l)
}

// bye hangs up (bounded by byeTimeout even when ctx is already cancelled).
func (ss *session) bye(ctx context.Context, dlg *sipgo.DialogClientSession, l *leg) error {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), byeTimeout)
	defer cancel()
	err := dlg.Bye(bctx)
	if err == nil {
		return nil
	}
	select {
	case <-l.bye: // crossed with the recorder's BYE
		return nil
	default:
	}
	var dr sipgo.ErrDialogResponse
	if errors.As(err, &dr) {
		return fmt.Errorf("dial: BYE: %w", StatusError{Code: dr.Res.StatusCode, Reason: dr.Res.Reason})
	}
	return fmt.Errorf("%w: BYE: %w", ErrTransport, err)
}

// fallbackIP is where RTP goes when the answer has no usable c= address:
// the target when it is an IP, else the address the answer came from.
func (ss *session) fallbackIP(r *sip.Response) netip.Addr {
	if a, err := netip.ParseAddr(ss.p.host); err == nil {
		return a
	}
	if h, _, err := net.SplitHostPort(r.Source()); err == nil {
		if a, err := netip.ParseAddr(h); err == nil {
			return a
		}
	}
	return netip.Addr{}
}

// buildInvite writes the INVITE of this session: MSR (Request-URI
// record=<id> with calluuid/dn/otherDN/recordDN parameters, plain SDP) or
// SIPREC (Require: siprec, +sip.src, multipart SDP + rs-metadata).
func (ss *session) buildInvite() *sip.Request {
	d, p := ss.d, ss.p
	host := d.localIP.String()
	port := 0
	if p.port != 5060 {
		port = p.port
	}
	offer := make([]offerStream, len(ss.streams))
	for j, s := range ss.streams {
		offer[j] = offerStream{port: s.pair.rtpPort(), rtcpPort: s.pair.rtcpPort(), codec: s.codec}
		if s.key != nil {
			offer[j].crypto = s.key.crypto()
		}
		if p.Mode == ModeSIPREC {
			offer[j].label = strconv.Itoa(s.party + 1)
		}
	}
	ss.offer = offer
	ss.sdpID = uint64(time.Now().UnixNano() / 1e6)
	ss.sdpVer = ss.sdpID
	sdpBody := buildOffer(p.LocalIP, ss.sdpID, ss.sdpVer, offer)

	var ruri sip.Uri
	var body []byte
	contentType := "application/sdp"
	if p.Mode == ModeMSR {
		dn := p.DN
		if ss.streams[0].party == 1 {
			dn = p.OtherDN
		}
		ruri = sip.Uri{Scheme: "sip", User: "record=" + p.RecordID, Host: p.host, Port: port,
			UriParams: sip.HeaderParams{{K: "calluuid", V: p.CallUUID}, {K: "dn", V: dn}}}
		if p.SingleSession {
			ruri.UriParams = append(ruri.UriParams, sip.HeaderKV{K: "otherDN", V: p.OtherDN})
		}
		ruri.UriParams = append(ruri.UriParams, sip.HeaderKV{K: "recordDN", V: p.DN})
		body = sdpBody
	} else {
		ruri = sip.Uri{Scheme: "sip", User: "srs", Host: p.host, Port: port}
		uuid := p.CallUUID
		if p.NoGenesysIDs {
			uuid = ""
		}
		md := rsMetadata(uuid, []siprecParty{
			{aor: "sip:" + p.DN + "@" + host, name: p.DN, label: "1"},
			{aor: "sip:" + p.OtherDN + "@" + host, name: p.OtherDN, label: "2"},
		}, d.now())
		body, contentType = multipartBody(sdpBody, md)
	}

	req := sip.NewRequest(sip.INVITE, ruri)
	req.SetTransport(p.network)
	req.SetDestination(net.JoinHostPort(p.host, strconv.Itoa(p.port)))
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: UserAgent, Host: host}}
	from.Params = sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(16)}}
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: ruri.User, Host: p.host, Port: port}}
	callID := sip.CallIDHeader(ss.callID)
	contact := d.contact(p.Transport, p.Mode == ModeSIPREC)
	ct := sip.ContentTypeHeader(contentType)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&contact)
	req.AppendHeader(sip.NewHeader("User-Agent", UserAgent))
	req.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS"))
	if p.Mode == ModeSIPREC {
		req.AppendHeader(sip.NewHeader("Require", "siprec"))
		req.AppendHeader(sip.NewHeader("Accept", "application/sdp, application/rs-metadata"))
	}
	req.AppendHeader(&ct)
	req.SetBody(body)
	return req
}

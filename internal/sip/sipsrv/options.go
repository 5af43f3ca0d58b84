package sipsrv

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Option tags (RFC 3261 §8.2.2.3, §19.2) and session timers (RFC 4028).
//
// A request whose Require names an extension the recorder does not
// support is refused with 420 Bad Extension and an Unsupported header
// listing them. Supported: siprec (RFC 7866), timer (RFC 4028) and 100rel
// (RFC 3262). 100rel is accepted because it is trivially honoured: the
// recorder answers INVITEs with a final response only and never sends a
// provisional response other than 100 Trying, so there is no provisional
// response to send reliably and no PRACK to expect (RFC 3262 §3 applies to
// non-100 provisionals only).
//
// Session timers as UAS (RFC 4028 §9-10): an INVITE or UPDATE with
// Session-Expires below MinSE gets 422 with Min-SE; otherwise the 2xx
// carries Session-Expires with the refresher (the one the request named,
// else uac when the peer supports timer, else uas) and Supported: timer.
// When the peer refreshes (refresher=uac) and no refresh arrives before
// the session expires (minus min(32 s, interval/3)), the recorder ends the
// session with a BYE. When the recorder refreshes (refresher=uas) it sends
// an UPDATE at half the interval and ends the session if it times out or
// gets 408 or 481 (RFC 4028 §10); another refusal keeps the session.

// supportedTags are the option tags a request may require.
var supportedTags = map[string]bool{"siprec": true, "timer": true, "100rel": true}

// supportedHeader is what 2xx responses to INVITE and UPDATE advertise.
const supportedHeader = "timer, siprec"

// DefaultMinSE is the smallest session interval accepted (RFC 4028 §4:
// 90 seconds, the recommended minimum).
const DefaultMinSE = 90 * time.Second

// unsupportedTags returns the option tags in the request's Require headers
// that the recorder does not support, lower-cased, each once.
func unsupportedTags(req *sip.Request) []string {
	var out []string
	for _, tag := range headerValues(req, "Require") {
		tag = strings.ToLower(tag)
		if !supportedTags[tag] && !contains(out, tag) {
			out = append(out, tag)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// refuseUnsupported answers 420 when the request requires an unsupported
// extension and reports whether it did.
func (s *Server) refuseUnsupported(req *sip.Request, tx sip.ServerTransaction) bool {
	tags := unsupportedTags(req)
	if len(tags) == 0 {
		return false
	}
	s.log.Info("sip request refused", "method", req.Method.String(), "sip_call_id", callID(req), "code", 420,
		"reason", "Bad Extension", "unsupported", strings.Join(tags, ","), "source", req.Source())
	s.respond(req, tx, 420, "Bad Extension", nil, sip.NewHeader("Unsupported", strings.Join(tags, ", ")))
	return true
}

// sessionTimer is a negotiated session interval (zero value: none).
type sessionTimer struct {
	interval  time.Duration
	refresher string // "uac" (the peer refreshes) or "uas" (we do)
	require   bool   // the 2xx carries Require: timer
}

// headers are the 2xx headers of a negotiated timer (none without one).
func (st sessionTimer) headers() []sip.Header {
	if st.interval == 0 {
		return nil
	}
	hs := []sip.Header{
		sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=%s", int(st.interval/time.Second), st.refresher)),
		sip.NewHeader("Supported", supportedHeader),
	}
	if st.require {
		hs = append(hs, sip.NewHeader("Require", "timer"))
	}
	return hs
}

// sessionExpires returns the Session-Expires header (or its compact form x).
func sessionExpires(req *sip.Request) string {
	if v := headerValue(req, "Session-Expires"); v != "" {
		return v
	}
	return headerValue(req, "x")
}

// negotiateTimer reads Session-Expires and Min-SE (RFC 4028 §9). A
// request without Session-Expires gets no timer. The error is a 422 with
// Min-SE (interval too small) or a 400 (unreadable value).
func (s *Server) negotiateTimer(req *sip.Request) (sessionTimer, error) {
	raw := sessionExpires(req)
	if raw == "" {
		return sessionTimer{}, nil
	}
	val, params, _ := strings.Cut(raw, ";")
	secs, err := strconv.Atoi(strings.TrimSpace(val))
	if err != nil || secs <= 0 {
		return sessionTimer{}, Errorf(400, "Bad Request: invalid Session-Expires", fmt.Errorf("session-expires %q", raw))
	}
	minSE := s.minSE()
	if secs < int(minSE/time.Second) {
		return sessionTimer{}, &minSEError{StatusError{Code: 422, Reason: "Session Interval Too Small",
			Err: fmt.Errorf("session-expires %d below min-se %d", secs, int(minSE/time.Second))}, minSE}
	}
	st := sessionTimer{interval: time.Duration(secs) * time.Second}
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "refresher") {
			st.refresher = strings.ToLower(strings.TrimSpace(v))
		}
	}
	peerTimer := false
	for _, tag := range append(headerValues(req, "Supported"), headerValues(req, "k")...) {
		peerTimer = peerTimer || strings.EqualFold(tag, "timer")
	}
	if st.refresher != "uac" && st.refresher != "uas" {
		st.refresher = "uas"
		if peerTimer {
			st.refresher = "uac" // the peer refreshes: the recorder only watches
		}
	}
	st.require = st.refresher == "uac" && peerTimer
	return st, nil
}

// minSEError is a 422 that carries our Min-SE.
type minSEError struct {
	StatusError
	minSE time.Duration
}

func (e *minSEError) Unwrap() error { return &e.StatusError }

func (s *Server) minSE() time.Duration {
	if s.cfg.MinSE > 0 {
		return s.cfg.MinSE
	}
	return DefaultMinSE
}

// refuseTimer answers a failed negotiation (422 carries Min-SE).
func (s *Server) refuseTimer(req *sip.Request, tx sip.ServerTransaction, err error) {
	if me, ok := err.(*minSEError); ok {
		s.log.Info("sip request refused", "method", req.Method.String(), "sip_call_id", callID(req), "code", 422,
			"reason", me.Reason, "error", me.Err, "source", req.Source())
		s.respond(req, tx, 422, me.Reason, nil, sip.NewHeader("Min-SE", strconv.Itoa(int(me.minSE/time.Second))))
		return
	}
	s.respondError(req, tx, err)
}

// timers holds the armed session timers by Call-ID.
type timers struct {
	mu     sync.Mutex
	byID   map[string]*armed
	closed bool
	wg     sync.WaitGroup // expiry and refresh work in flight
}

type armed struct {
	st   sessionTimer
	stop func() bool
}

// afterFunc is Config.AfterFunc or time.AfterFunc.
func (s *Server) afterFunc(d time.Duration, f func()) func() bool {
	if s.cfg.AfterFunc != nil {
		return s.cfg.AfterFunc(d, f)
	}
	return time.AfterFunc(d, f).Stop
}

// armTimer (re)starts the session timer of a dialog before its 2xx
// leaves; a zero timer (the refresh had no Session-Expires) switches it
// off. The caller holds s.mu (lock order: s.mu, then s.timers.mu) or
// knows the dialog is live.
func (s *Server) armTimer(id string, st sessionTimer) {
	t := &s.timers
	t.mu.Lock()
	defer t.mu.Unlock()
	if old := t.byID[id]; old != nil {
		old.stop()
		delete(t.byID, id)
	}
	if t.closed || st.interval == 0 {
		return
	}
	if t.byID == nil {
		t.byID = map[string]*armed{}
	}
	a := &armed{st: st}
	var d time.Duration
	var fire func()
	if st.refresher == "uas" {
		d = st.interval / 2
		fire = func() { s.refreshSession(id, a) }
	} else {
		d = st.interval - min(32*time.Second, st.interval/3)
		fire = func() { s.expireSession(id, a, "session timer expired: no refresh") }
	}
	a.stop = s.afterFunc(d, func() {
		t.mu.Lock()
		if t.closed || t.byID[id] != a {
			t.mu.Unlock()
			return
		}
		t.wg.Add(1)
		t.mu.Unlock()
		defer t.wg.Done()
		fire()
	})
	t.byID[id] = a
}

// stopTimer forgets the session timer of a dialog that ended.
func (s *Server) stopTimer(id string) {
	t := &s.timers
	t.mu.Lock()
	if a := t.byID[id]; a != nil {
		a.stop()
		delete(t.byID, id)
	}
	t.mu.Unlock()
}

// closeTimers stops every timer and waits for expiries in flight.
func (s *Server) closeTimers() {
	t := &s.timers
	t.mu.Lock()
	t.closed = true
	for id, a := range t.byID {
		a.stop()
		delete(t.byID, id)
	}
	t.mu.Unlock()
	t.wg.Wait()
}

// current reports whether a is still the dialog's timer.
func (s *Server) current(id string, a *armed) bool {
	s.timers.mu.Lock()
	defer s.timers.mu.Unlock()
	return s.timers.byID[id] == a
}

// expireSession ends a dialog whose session timer ran out: the recorder
// ends the leg and the peer gets a BYE.
func (s *Server) expireSession(id string, a *armed, reason string) {
	if !s.current(id, a) {
		return
	}
	s.stopTimer(id)
	s.log.Warn("sip session expired: ending it", "sip_call_id", id, "interval", a.st.interval.String(), "refresher", a.st.refresher)
	s.h.Bye(id, reason)
	if err := s.Hangup(s.ctx, id, reason); err != nil {
		s.log.Debug("bye after session expiry not delivered", "sip_call_id", id, "error", err)
	}
}

// refreshSession sends the UPDATE refresh of a session we refresh
// (refresher=uas) and re-arms the timer, or ends the session if the
// refresh fails.
func (s *Server) refreshSession(id string, a *armed) {
	if !s.current(id, a) {
		return
	}
	code, err := s.inDialogRequest(s.ctx, id, sip.UPDATE,
		sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=uas", int(a.st.interval/time.Second))),
		sip.NewHeader("Supported", supportedHeader))
	if err == nil && code >= 200 && code < 300 {
		if s.current(id, a) {
			s.armTimer(id, a.st)
		}
		return
	}
	if err == nil && code >= 300 && code != 408 && code != 481 {
		// RFC 4028 §10: only a timeout, 408 or 481 ends the session. A
		// peer that refuses the UPDATE otherwise (405 or 501: it does not
		// do UPDATE; 491: glare) still has the call: it goes on being
		// recorded, and the next refresh is tried at the next half interval.
		s.log.Info("sip session refresh refused: session kept", "sip_call_id", id, "code", code)
		if s.current(id, a) {
			s.armTimer(id, a.st)
		}
		return
	}
	s.log.Info("sip session refresh failed", "sip_call_id", id, "code", code, "error", err)
	s.expireSession(id, a, "session refresh failed")
}

// inDialogRequest sends a request without body in the dialog of id (from
// our side: From = the INVITE's To with our tag) and returns the final
// status code.
func (s *Server) inDialogRequest(ctx context.Context, id string, method sip.RequestMethod, hdrs ...sip.Header) (int, error) {
	s.mu.Lock()
	d := s.dialogs[id]
	var cseq uint32
	if d != nil {
		d.cseq++
		cseq = d.cseq
	}
	s.mu.Unlock()
	if cseq == 0 {
		return 0, ErrUnknownDialog
	}
	inv := d.invite
	target := dialogTarget(inv)
	req := sip.NewRequest(method, target)
	to := inv.From().AsTo()
	from := inv.To().AsFrom()
	from.Params = from.Params.Clone()
	from.Params.Add("tag", d.localTag)
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(sip.HeaderClone(inv.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	for _, rr := range inv.GetHeaders("Record-Route") {
		req.AppendHeader(sip.NewHeader("Route", rr.Value()))
	}
	req.AppendHeader(s.contactFor(inv))
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	// Framed over TCP and TLS only by its Content-Length (as the BYE), and
	// sent where the BYE goes: over a new connection when the INVITE's was
	// closed (idle timeout), not to the peer's old ephemeral port.
	cl := sip.ContentLengthHeader(0)
	req.AppendHeader(&cl)
	req.SetTransport(inv.Transport())
	req.SetDestination(s.byeDestination(inv, target))
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	tx, err := s.cli.TransactionRequest(ctx, req, sipgo.ClientRequestAddVia)
	if err != nil {
		return 0, fmt.Errorf("sipsrv: %s %s: %w", method, id, err)
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.StatusCode >= 200 {
				return res.StatusCode, nil
			}
		case <-tx.Done():
			return 0, fmt.Errorf("sipsrv: %s %s: %w", method, id, tx.Err())
		case <-ctx.Done():
			return 0, fmt.Errorf("sipsrv: %s %s: %w", method, id, ctx.Err())
		}
	}
}

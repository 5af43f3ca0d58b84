package sipsrv

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Stats are the server's counters of hostile or broken input.
type Stats struct {
	Panics      uint64 // panics recovered while handling network input
	Refused     uint64 // requests refused with 400 before any handler (missing header, unparseable)
	Dropped     uint64 // messages dropped unanswered (no response could be built)
	NoAck       uint64 // dialogs ended because the ACK never came (Timer H)
	TCPOpen     int64  // SIP TCP connections open now
	TCPAccepted uint64 // SIP TCP connections accepted
	TCPRefused  uint64 // SIP TCP connections refused (over the total or per-source limit)
	TCPIdle     uint64 // SIP TCP connections closed after the idle timeout
	TCPTooLarge uint64 // SIP TCP connections closed on a message over the size limit
	TLSFailed   uint64 // SIP TLS handshakes failed (no or refused client certificate, not TLS, timeout)
}

// counters is what Stats reads; guards and connections share it.
type counters struct {
	panics, refused, dropped, noAck            atomic.Uint64
	tcpOpen                                    atomic.Int64
	tcpAccepted, tcpRefused, tcpIdle, tcpLarge atomic.Uint64
	tlsFailed                                  atomic.Uint64

	// A change of the connection counters (accepted, refused, released,
	// failed handshake) closes wake: Stats readers can wait for one
	// (connChange) instead of polling.
	mu   sync.Mutex
	wake chan struct{}
}

// connChanged wakes those waiting for a connection counter to change.
func (c *counters) connChanged() {
	c.mu.Lock()
	if c.wake != nil {
		close(c.wake)
		c.wake = nil
	}
	c.mu.Unlock()
}

// connChange returns a channel closed at the next connection counter
// change.
func (c *counters) connChange() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wake == nil {
		c.wake = make(chan struct{})
	}
	return c.wake
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	c := s.counters
	return Stats{
		Panics: c.panics.Load(), Refused: c.refused.Load(), Dropped: c.dropped.Load(), NoAck: c.noAck.Load(),
		TCPOpen: c.tcpOpen.Load(), TCPAccepted: c.tcpAccepted.Load(), TCPRefused: c.tcpRefused.Load(),
		TCPIdle: c.tcpIdle.Load(), TCPTooLarge: c.tcpLarge.Load(), TLSFailed: c.tlsFailed.Load(),
	}
}

// recovered logs a recovered panic with its stack and counts it.
func recovered(c *counters, log *slog.Logger, where string, r any, attrs ...any) {
	c.panics.Add(1)
	attrs = append(attrs, "where", where, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	log.Error("sip: recovered panic", attrs...)
}

// handle wraps a sipgo request handler: the request is validated before the
// handler sees it, and a panic costs this request only (500 when it can
// still be answered), never the process.
func (s *Server) handle(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if !s.enter() { // Close is waiting for the handlers in progress
			if answerable(req) {
				s.respondSafely(req, tx, 503, "Service Unavailable")
			}
			return
		}
		defer s.work.Done()
		defer func() {
			if r := recover(); r != nil {
				recovered(s.counters, s.log, "request", r, "method", req.Method.String(), "sip_call_id", callID(req), "source", req.Source())
				if answerable(req) {
					s.respondSafely(req, tx, 500, "Server Internal Error")
				}
			}
		}()
		code, reason := invalidRequest(req)
		if code == 0 && req.IsInvite() {
			code, reason = refusedInvite(req)
		}
		if code != 0 {
			s.refuse(req, tx, code, reason)
			return
		}
		h(req, tx)
	}
}

// refuse answers an invalid request with code, or drops it.
func (s *Server) refuse(req *sip.Request, tx sip.ServerTransaction, code int, reason string) {
	if !answerable(req) {
		s.counters.dropped.Add(1)
		s.log.Debug("sip: dropped invalid request", "method", req.Method.String(), "sip_call_id", callID(req), "reason", reason, "source", req.Source())
		return
	}
	s.counters.refused.Add(1)
	s.log.Info("sip request refused", "method", req.Method.String(), "sip_call_id", callID(req), "code", code, "reason", reason, "source", req.Source())
	var hdrs []sip.Header
	if code == 415 { // RFC 3261 §21.4.13
		hdrs = append(hdrs, sip.NewHeader("Accept", accepted))
	}
	s.respondSafely(req, tx, code, reason, hdrs...)
}

// respondSafely sends a final response built from a request that may be
// broken; a failure to build or send it is logged, never a panic.
func (s *Server) respondSafely(req *sip.Request, tx sip.ServerTransaction, code int, reason string, hdrs ...sip.Header) {
	defer func() {
		if r := recover(); r != nil {
			recovered(s.counters, s.log, "respond", r, "code", code)
		}
	}()
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug("sip respond failed", "code", code, "error", err)
	}
}

// onNoRoute answers a method the recorder does not implement (RFC 3261
// §8.2.1: 405 with Allow).
func (s *Server) onNoRoute(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(req, tx, 405, "Method Not Allowed", nil, sip.NewHeader("Allow", allowed))
}

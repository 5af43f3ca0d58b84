package sipsrv

import (
	"net"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// RFC 3261 §13.3.1.4: a UAS whose 2xx to an INVITE is never acknowledged
// within 64*T1 (Timer H, 32 s) ends the dialog with a BYE. Until then the
// recorder holds the ports it answered with; a peer that sends INVITEs and
// never ACKs them would otherwise hold them until the media timeout. So the
// dialog gets a timer when its 200 leaves; the ACK stops it; when it fires
// the recorder ends the leg (Handler.Bye, reason "no ACK": its receivers
// close and the ports are freed at once) and the peer gets a BYE. Over UDP
// the 2xx is retransmitted until the ACK comes (§13.3.1.4: at T1, doubling
// to T2); sipgo's transaction only absorbs INVITE retransmissions in its
// Accepted state (RFC 6026), so a lost 200 would otherwise never be
// repeated. T1 is AckTimeout/64.

// armAckTimer starts Timer H for a dialog just registered (s.mu held).
func (s *Server) armAckTimer(id string, d *dialog) {
	d.ackTimer = time.AfterFunc(s.cfg.AckTimeout, func() { s.ackTimedOut(id, d) })
}

// retransmit2xx resends the 200 of an unacknowledged dialog over UDP at
// T1, 2*T1, ... up to T2 = 8*T1 between copies, until the ACK, Timer H or
// Close (it starts after the first copy was sent).
func (s *Server) retransmit2xx(id string, d *dialog, res *sip.Response) {
	if !strings.EqualFold(res.Transport(), "UDP") {
		return
	}
	to, err := net.ResolveUDPAddr("udp", res.Destination())
	if err != nil {
		return
	}
	data := []byte(res.String())
	t1 := s.cfg.AckTimeout / 64
	var send func(interval time.Duration)
	live := func() bool { return !s.closing && s.dialogs[id] == d && !d.acked } // s.mu held
	send = func(interval time.Duration) {
		s.mu.Lock()
		ok := live()
		if ok {
			s.work.Add(1) // Close waits for a copy being sent
		}
		s.mu.Unlock()
		if !ok {
			return
		}
		defer s.work.Done()
		if _, err := s.udp.WriteTo(data, to); err != nil {
			s.log.Debug("sip: 2xx retransmission failed", "sip_call_id", id, "error", err)
		}
		next := min(2*interval, 8*t1)
		s.mu.Lock()
		if live() {
			d.retx = time.AfterFunc(next, func() { send(next) })
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	if live() {
		d.retx = time.AfterFunc(t1, func() { send(t1) })
	}
	s.mu.Unlock()
}

// acked notes the ACK of the dialog's 2xx.
func (s *Server) acked(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.dialogs[id]; d != nil && !d.acked {
		d.acked = true
		d.stopTimers()
	}
}

func (s *Server) ackTimedOut(id string, d *dialog) {
	s.mu.Lock()
	if s.closing || s.dialogs[id] != d || d.acked {
		s.mu.Unlock()
		return
	}
	s.work.Add(1) // Close waits for the BYE below
	s.mu.Unlock()
	defer s.work.Done()
	defer func() {
		if r := recover(); r != nil {
			recovered(s.counters, s.log, "ack timer", r, "sip_call_id", id)
		}
	}()
	s.counters.noAck.Add(1)
	s.log.Warn("sip: no ACK for the 200 OK: ending the session", "sip_call_id", id, "after", s.cfg.AckTimeout)
	s.h.Bye(id, "no ACK")
	if err := s.Hangup(s.ctx, id, "ACK not received"); err != nil {
		s.log.Debug("sip: bye after missing ACK not delivered", "sip_call_id", id, "error", err)
	}
}

// stopAckTimers stops every pending Timer H (Close).
func (s *Server) stopAckTimers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for _, d := range s.dialogs {
		d.stopTimers()
	}
}

// stopTimers stops Timer H and the 2xx retransmissions (s.mu held).
func (d *dialog) stopTimers() {
	if d.ackTimer != nil {
		d.ackTimer.Stop()
	}
	if d.retx != nil {
		d.retx.Stop()
	}
}

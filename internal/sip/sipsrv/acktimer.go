package sipsrv

import (
	"context"
	"time"
)

// RFC 3261 §13.3.1.4: a UAS whose 2xx to an INVITE is never acknowledged
// within 64*T1 (Timer H, 32 s) ends the dialog with a BYE. Until then the
// recorder holds the ports it answered with; a peer that sends INVITEs and
// never ACKs them would otherwise hold them until the media timeout. So the
// dialog gets a timer when its 200 leaves; the ACK stops it; when it fires
// the recorder ends the leg (Handler.Bye, reason "no ACK": its receivers
// close and the ports are freed at once) and the peer gets a BYE.

// armAckTimer starts Timer H for a dialog just registered (s.mu held).
func (s *Server) armAckTimer(id string, d *dialog) {
	d.ackTimer = time.AfterFunc(s.cfg.AckTimeout, func() { s.ackTimedOut(id, d) })
}

// acked notes the ACK of the dialog's 2xx.
func (s *Server) acked(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.dialogs[id]; d != nil && !d.acked {
		d.acked = true
		if d.ackTimer != nil {
			d.ackTimer.Stop()
		}
	}
}

func (s *Server) ackTimedOut(id string, d *dialog) {
	s.mu.Lock()
	if s.closing || s.dialogs[id] != d || d.acked {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1) // Close waits for the BYE below
	s.mu.Unlock()
	defer s.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			recovered(s.counters, s.log, "ack timer", r, "call_id", id)
		}
	}()
	s.counters.noAck.Add(1)
	s.log.Warn("sip: no ACK for the 200 OK: ending the session", "call_id", id, "after", s.cfg.AckTimeout)
	s.h.Bye(id, "no ACK")
	if err := s.Hangup(context.Background(), id, "ACK not received"); err != nil {
		s.log.Debug("sip: bye after missing ACK not delivered", "call_id", id, "error", err)
	}
}

// stopAckTimers stops every pending Timer H (Close).
func (s *Server) stopAckTimers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for _, d := range s.dialogs {
		if d.ackTimer != nil {
			d.ackTimer.Stop()
		}
	}
}

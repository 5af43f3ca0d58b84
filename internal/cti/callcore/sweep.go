package callcore

import (
	"context"
	"errors"
	"time"

	"github.com/openrec/openrec/internal/store"
)

// sweeper deletes what retention decisions made due, every Config.Sweep,
// on its own goroutine (owned by Run): a slow store never delays the CTI
// requests of the dispatcher.
type sweeper struct{ *Core }

// run sweeps at once (decisions left pending by an earlier run), then
// every Config.Sweep until ctx ends.
func (s *sweeper) run(ctx context.Context) {
	if s.cfg.Retention == nil {
		return
	}
	t := time.NewTicker(s.cfg.Sweep)
	defer t.Stop()
	for {
		s.sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweep deletes what is due: recordings marked discard once they are
// finished, and pre-recordings whose keep deadline passed. Pending rows
// without a deadline whose recording is finished (a restart lost it) get
// one from their end.
func (s *sweeper) sweep(ctx context.Context) {
	rs := s.cfg.Retention
	now := s.cfg.Now()
	discard, err := rs.ListRecordings(ctx, store.Filter{Retention: store.RetentionDiscard, Limit: 500})
	if err != nil {
		s.log.Warn("retention sweep: recordings not read", "error", err)
		return
	}
	for i := range discard {
		if r := &discard[i]; r.Status != store.StatusRecording {
			s.delete(ctx, r, r.RetentionReason)
		}
	}
	pending, err := rs.ListRecordings(ctx, store.Filter{Retention: store.RetentionPending, Limit: 500})
	if err != nil {
		s.log.Warn("retention sweep: recordings not read", "error", err)
		return
	}
	for i := range pending {
		r := &pending[i]
		if r.Status == store.StatusRecording {
			continue
		}
		if r.KeepUntil.IsZero() {
			if _, live := s.led.live(r.ID); live {
				continue
			}
			end := r.EndedAt
			if end.IsZero() {
				end = now
			}
			until := end.Add(s.cfg.PrerecordGrace)
			if err := rs.SetRetention(ctx, r.ID, store.RetentionPending, until, r.RetentionReason); err != nil {
				s.log.Warn("retention sweep: deadline not stored", "recording_id", r.ID, "error", err)
			}
			continue
		}
		if now.Before(r.KeepUntil) {
			continue
		}
		reason := "pre-recording not kept: no keep request by " + r.KeepUntil.UTC().Format(time.RFC3339)
		// mark it first: a keep request racing the sweep has one winner
		if err := rs.DiscardRecording(ctx, r.ID, reason); err != nil {
			if !errors.Is(err, store.ErrNotPending) {
				s.log.Warn("retention sweep: pre-recording not discarded", "recording_id", r.ID, "error", err)
			}
			continue
		}
		s.delete(ctx, r, reason)
	}
}

// delete has the Deleter remove a recording (files, row, audit record). A
// recording on legal hold is kept: a do-not-record or discard decision
// does not override a hold; the next sweep tries again once it is released.
func (s *sweeper) delete(ctx context.Context, r *store.Recording, reason string) {
	if s.cfg.Deleter == nil {
		return
	}
	if err := s.cfg.Deleter.Delete(ctx, r, reason); err != nil {
		if errors.Is(err, store.ErrLegalHold) {
			s.log.Info("recording to delete is on legal hold: kept", "recording_id", r.ID, "reason", reason)
		} else if ctx.Err() == nil {
			s.log.Warn("recording not deleted: the next sweep tries again", "recording_id", r.ID, "error", err)
		}
		return
	}
	s.led.deleted(r.ID)
	s.deleted.Add(1)
	s.log.Info("recording deleted", "recording_id", r.ID, "call_uuid", r.CallUUID, "record_id", r.RecordID,
		"recorded_dn", r.RecordedDN, "tenant", r.ExternalData[store.TenantKey], "reason", reason)
}

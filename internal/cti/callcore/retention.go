package callcore

import (
	"context"
	"errors"
	"time"

	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/expire"
)

// RetentionStore keeps the keep/delete state of recordings (pre-recording,
// do-not-record) and deletes them with an audit record. Pending decisions
// live in the store, so they survive a restart of the recorder.
type RetentionStore interface {
	SetRetention(ctx context.Context, id string, r store.Retention, keepUntil time.Time, reason string) error
	KeepRecording(ctx context.Context, id, reason string) error
	DiscardRecording(ctx context.Context, id, reason string) error
	DeleteRecording(ctx context.Context, d store.Deletion) error
	ListRecordings(ctx context.Context, f store.Filter) ([]store.Recording, error)
	LegalHold(ctx context.Context, id string) (store.Hold, bool, error)
}

// Defaults of the retention settings.
const (
	DefaultPrerecordGrace = 10 * time.Minute
	DefaultSweep          = time.Second
)

// retentionRows returns the store ids of the recordings a Retention action
// concerns: the live sessions and the finished recordings of the call with
// that record id (or recorded DN when the action has no record id).
func (c *Core) retentionRows(a conversation.Retention) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	match := func(s recorder.Session) bool {
		if a.RecordID != "" && s.RecordID != "" {
			return s.RecordID == a.RecordID
		}
		return s.CallUUID == a.CallUUID && s.RecordedDN == a.DN
	}
	var ids []string
	for id, s := range c.sessions {
		if match(s) {
			ids = append(ids, id)
		}
	}
	for _, id := range c.byCall[a.CallUUID] {
		if f, ok := c.finished[id]; ok && match(f) {
			ids = appendOnce(ids, id)
		}
	}
	return ids
}

// applyRetention writes a Retention action to the rows it concerns; a
// recording to delete that is still running is paused at once, so no more
// of its audio is written.
func (c *Core) applyRetention(ctx context.Context, a conversation.Retention) {
	rs := c.cfg.Retention
	if rs == nil {
		return
	}
	for _, id := range c.retentionRows(a) {
		var err error
		switch a.Keep {
		case conversation.KeepUndecided:
			err = rs.SetRetention(ctx, id, store.RetentionPending, time.Time{}, a.Reason)
		case conversation.KeepYes:
			err = rs.KeepRecording(ctx, id, a.Reason)
			if errors.Is(err, store.ErrNotPending) {
				err = rs.SetRetention(ctx, id, store.RetentionKept, time.Time{}, a.Reason)
			}
		case conversation.KeepNo:
			err = rs.SetRetention(ctx, id, store.RetentionDiscard, c.cfg.Now(), a.Reason)
			c.mu.Lock()
			s, live := c.sessions[id]
			c.mu.Unlock()
			if live && c.cfg.Pauser != nil {
				if perr := c.cfg.Pauser.SetPaused(s.RecordID, s.RecordedDN, true); perr != nil && !errors.Is(perr, recorder.ErrNoSuchCall) {
					c.log.Warn("discarded recording not paused", "recording_id", id, "error", perr)
				}
			}
		}
		if err != nil {
			c.log.Warn("recording retention not stored", "recording_id", id, "keep", a.Keep, "error", err)
			continue
		}
		c.log.Info("recording retention", "recording_id", id, "call_uuid", a.CallUUID, "record_id", a.RecordID,
			"dn", a.DN, "state", retentionName(a.Keep), "reason", a.Reason)
	}
}

func retentionName(k conversation.Keep) string {
	switch k {
	case conversation.KeepYes:
		return string(store.RetentionKept)
	case conversation.KeepNo:
		return string(store.RetentionDiscard)
	}
	return string(store.RetentionPending)
}

// pendingDeadline is Core's own action: a pre-recording ended undecided,
// it is kept only if a keep request arrives by until.
type pendingDeadline struct {
	id     string
	until  time.Time
	reason string
}

// keepStored is Core's own action: a keep request for a call the engine no
// longer holds (after its wrap-up, or after a restart): the store decides.
type keepStored struct {
	callUUID string
	keep     bool
	via      string
}

// keepInStore applies a keep request to the pending recordings of a call
// found in the store.
func (c *Core) keepInStore(ctx context.Context, k keepStored) {
	rs := c.cfg.Retention
	if rs == nil {
		return
	}
	recs, err := rs.ListRecordings(ctx, store.Filter{CallUUID: k.callUUID, Retention: store.RetentionPending, Limit: 1000})
	if err != nil {
		c.log.Warn("keep request: recordings not read", "call_uuid", k.callUUID, "error", err)
		return
	}
	if len(recs) == 0 {
		c.log.Info("keep request for a call without pending pre-recording", "call_uuid", k.callUUID)
	}
	for _, r := range recs {
		if k.keep {
			err = rs.KeepRecording(ctx, r.ID, "kept by request ("+k.via+")")
		} else {
			err = rs.DiscardRecording(ctx, r.ID, "pre-recording not kept: discarded by request ("+k.via+")")
		}
		if err != nil {
			c.log.Warn("keep request not stored", "recording_id", r.ID, "error", err)
			continue
		}
		c.log.Info("pre-recording decided after the call", "recording_id", r.ID, "call_uuid", k.callUUID, "keep", k.keep, "via", k.via)
	}
}

// Keep applies a keep (or discard) request for the pre-recordings of a
// call: to the live call through the conversation engine, else to the
// pending recordings of the call in the store. dn "" = every DN.
func (c *Core) Keep(ctx context.Context, callUUID, dn string, keep bool) error {
	acts, err := c.eng.Keep(callUUID, dn, keep, c.cfg.Now())
	if errors.Is(err, conversation.ErrNoCall) {
		c.actions <- keepStored{callUUID: callUUID, keep: keep, via: "api"}
		return nil
	}
	if err != nil {
		return err
	}
	c.enqueue(acts)
	return nil
}

// sweep deletes what is due: recordings marked discard once they are
// finished, and pre-recordings whose keep deadline passed. Pending rows
// without a deadline whose recording is finished (a restart lost it) get
// one from their end.
func (c *Core) sweep(ctx context.Context) {
	rs := c.cfg.Retention
	if rs == nil {
		return
	}
	now := c.cfg.Now()
	discard, err := rs.ListRecordings(ctx, store.Filter{Retention: store.RetentionDiscard, Limit: 500})
	if err != nil {
		c.log.Warn("retention sweep: recordings not read", "error", err)
		return
	}
	for i := range discard {
		if r := &discard[i]; r.Status != store.StatusRecording {
			c.delete(ctx, r, r.RetentionReason)
		}
	}
	pending, err := rs.ListRecordings(ctx, store.Filter{Retention: store.RetentionPending, Limit: 500})
	if err != nil {
		c.log.Warn("retention sweep: recordings not read", "error", err)
		return
	}
	for i := range pending {
		r := &pending[i]
		if r.Status == store.StatusRecording {
			continue
		}
		if r.KeepUntil.IsZero() {
			c.mu.Lock()
			_, live := c.sessions[r.ID]
			c.mu.Unlock()
			if live {
				continue
			}
			end := r.EndedAt
			if end.IsZero() {
				end = now
			}
			until := end.Add(c.cfg.PrerecordGrace)
			if err := rs.SetRetention(ctx, r.ID, store.RetentionPending, until, r.RetentionReason); err != nil {
				c.log.Warn("retention sweep: deadline not stored", "recording_id", r.ID, "error", err)
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
				c.log.Warn("retention sweep: pre-recording not discarded", "recording_id", r.ID, "error", err)
			}
			continue
		}
		c.delete(ctx, r, reason)
	}
}

// delete removes a recording's media files and its row, leaving an audit
// record (internal/store/expire: one home for deleting a recording). A
// recording on legal hold is kept: a do-not-record or discard decision
// does not override a hold; the next sweep tries again once it is released.
func (c *Core) delete(ctx context.Context, r *store.Recording, reason string) {
	if err := expire.Delete(ctx, c.cfg.Retention, "", r, reason); err != nil {
		if errors.Is(err, store.ErrLegalHold) {
			c.log.Info("recording to delete is on legal hold: kept", "recording_id", r.ID, "reason", reason)
		} else {
			c.log.Warn("recording not deleted: the next sweep tries again", "recording_id", r.ID, "error", err)
		}
		return
	}
	c.mu.Lock()
	delete(c.finished, r.ID)
	c.mu.Unlock()
	c.deleted.Add(1)
	c.log.Info("recording deleted", "recording_id", r.ID, "call_uuid", r.CallUUID, "record_id", r.RecordID,
		"recorded_dn", r.RecordedDN, "tenant", r.ExternalData[store.TenantKey], "reason", reason)
}

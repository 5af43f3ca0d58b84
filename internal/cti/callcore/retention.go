package callcore

import (
	"context"
	"errors"
	"time"

	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/store"
)

// RetentionStore keeps the keep/delete state of recordings (pre-recording,
// do-not-record). Pending decisions live in the store, so they survive a
// restart of the recorder.
type RetentionStore interface {
	SetRetention(ctx context.Context, id string, r store.Retention, keepUntil time.Time, reason string) error
	KeepRecording(ctx context.Context, id, reason string) error
	DiscardRecording(ctx context.Context, id, reason string) error
	ListRecordings(ctx context.Context, f store.Filter) ([]store.Recording, error)
}

// Deleter deletes a finished recording, its media files and its row,
// leaving an audit record; a recording on legal hold is kept
// (store.ErrLegalHold). Core decides what is due; the owner of the files
// deletes them.
type Deleter interface {
	Delete(ctx context.Context, r *store.Recording, reason string) error
}

// Defaults of the retention settings.
const (
	DefaultPrerecordGrace = 10 * time.Minute
	DefaultSweep          = time.Second
)

// applyRetention writes a Retention action to the rows it concerns; a
// recording to delete that is still running is paused at once, so no more
// of its audio is written.
func (d *dispatcher) applyRetention(ctx context.Context, a conversation.Retention) {
	rs := d.cfg.Retention
	if rs == nil {
		return
	}
	for _, id := range d.led.rows(a) {
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
			err = rs.SetRetention(ctx, id, store.RetentionDiscard, d.cfg.Now(), a.Reason)
			if s, live := d.led.live(id); live && d.rec != nil {
				if perr := d.rec.SetPaused(s.RecordID, s.RecordedDN, true); perr != nil && !errors.Is(perr, recorder.ErrNoSuchCall) {
					d.log.Warn("discarded recording not paused", "recording_id", id, "error", perr)
				}
			}
		}
		if err != nil {
			d.log.Warn("recording retention not stored", "recording_id", id, "keep", a.Keep, "error", err)
			continue
		}
		d.log.Info("recording retention", "recording_id", id, "call_uuid", a.CallUUID, "record_id", a.RecordID,
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

// pendingDeadline is a job: a pre-recording ended undecided, it is kept
// only if a keep request arrives by until.
type pendingDeadline struct {
	id     string
	until  time.Time
	reason string
}

func (p pendingDeadline) do(ctx context.Context, d *dispatcher) {
	if d.cfg.Retention == nil {
		return
	}
	if err := d.cfg.Retention.SetRetention(ctx, p.id, store.RetentionPending, p.until, p.reason); err != nil {
		d.log.Warn("pre-recording deadline not stored", "recording_id", p.id, "error", err)
	}
}

// keepStored is a job: a keep request for a call the engine no longer
// holds (after its wrap-up, or after a restart): the store decides.
type keepStored struct {
	callUUID string
	keep     bool
	via      string
}

// do applies a keep request to the pending recordings of a call found in
// the store.
func (k keepStored) do(ctx context.Context, d *dispatcher) {
	rs := d.cfg.Retention
	if rs == nil {
		return
	}
	recs, err := rs.ListRecordings(ctx, store.Filter{CallUUID: k.callUUID, Retention: store.RetentionPending, Limit: 1000})
	if err != nil {
		d.log.Warn("keep request: recordings not read", "call_uuid", k.callUUID, "error", err)
		return
	}
	if len(recs) == 0 {
		d.log.Info("keep request for a call without pending pre-recording", "call_uuid", k.callUUID)
	}
	for _, r := range recs {
		if k.keep {
			err = rs.KeepRecording(ctx, r.ID, "kept by request ("+k.via+")")
		} else {
			err = rs.DiscardRecording(ctx, r.ID, "pre-recording not kept: discarded by request ("+k.via+")")
		}
		if err != nil {
			d.log.Warn("keep request not stored", "recording_id", r.ID, "error", err)
			continue
		}
		d.log.Info("pre-recording decided after the call", "recording_id", r.ID, "call_uuid", k.callUUID, "keep", k.keep, "via", k.via)
	}
}

// Keep applies a keep (or discard) request for the pre-recordings of a
// call: to the live call through the conversation engine, else to the
// pending recordings of the call in the store. dn "" = every DN. A full
// queue makes it wait until ctx ends (its error is returned then).
func (c *Core) Keep(ctx context.Context, callUUID, dn string, keep bool) error {
	acts, err := c.eng.Keep(callUUID, dn, keep, c.cfg.Now())
	if errors.Is(err, conversation.ErrNoCall) {
		return c.jobs.put(ctx, keepStored{callUUID: callUUID, keep: keep, via: "api"})
	}
	if err != nil {
		return err
	}
	return c.sendActions(ctx, acts)
}

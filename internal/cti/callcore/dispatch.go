package callcore

import (
	"context"
	"errors"
	"time"

	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/store"
)

// dispatcher carries out the queued jobs and the engine's timer actions,
// one at a time, on the goroutine of Run: the CTI requests, the rows of
// recordings that never came, the pause and late-data commands to the
// recorder, the retention decisions.
type dispatcher struct {
	*Core
	link Requester
	rec  Recorder // nil: no recorder to command
}

// run executes jobs and drives the engine's timers until ctx ends; the
// jobs still queued then are dropped.
func (d *dispatcher) run(ctx context.Context) {
	t := time.NewTicker(d.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-d.jobs.ch:
			j.do(ctx, d)
		case <-t.C:
			d.executeAll(ctx, d.eng.Tick(d.cfg.Now()))
			d.executeAll(ctx, d.screenTick(d.cfg.Now()))
		}
	}
}

// action is a job carrying one of the engine's actions.
type action struct{ conversation.Action }

func (a action) do(ctx context.Context, d *dispatcher) { d.execute(ctx, a.Action) }

func (d *dispatcher) executeAll(ctx context.Context, acts []conversation.Action) {
	for _, a := range acts {
		d.execute(ctx, a)
	}
}

func (d *dispatcher) execute(ctx context.Context, a conversation.Action) {
	switch a := a.(type) {
	case conversation.PrivateService:
		d.privateService(ctx, a)
	case conversation.UpdateUserData:
		d.notify(ctx, a)
	case conversation.Alert:
		d.countAlert(a.Kind)
		d.log.Warn("failed recording", "kind", string(a.Kind), "call_uuid", a.CallUUID, "record_id", a.RecordID, "dn", a.DN, "detail", a.Detail)
		d.storeFailure(ctx, a)
	case conversation.Finished:
		d.refresh(ctx, a.Call, true)
	case conversation.Retention:
		d.applyRetention(ctx, a)
	default:
		d.log.Error("cti action not carried out: unknown kind", "action", jobName(action{a}))
	}
}

// privateService sends a recording request (RequestPrivateService) and
// feeds its outcome back to the engine.
func (d *dispatcher) privateService(ctx context.Context, a conversation.PrivateService) {
	m := tlib.New(tlib.RequestPrivateService).SetStr(tlib.AttrThisDN, a.DN).SetConn(tlib.AttrConnID, a.ConnID).
		SetInt(tlib.AttrPrivateMsgID, int64(a.MsgID))
	if len(a.Ext) > 0 {
		m.SetList(tlib.AttrExtensions, a.Ext)
	}
	_, err := d.request(ctx, a.Server, m)
	if err != nil {
		d.log.Warn("recording request failed", "op", string(a.Op), "dn", a.DN, "conn_id", a.ConnID.String(),
			"call_uuid", a.CallUUID, "record_id", a.RecordID, "error", err)
	}
	// Follow-ups run inline: the dispatcher is the queue's only consumer
	// and must never wait on its own queue.
	d.executeAll(ctx, d.eng.ServiceResult(a, err, d.cfg.Now()))
	d.syncPause(a.CallUUID)
}

// notify sends the Notification of Recording (RequestUpdateUserData).
func (d *dispatcher) notify(ctx context.Context, a conversation.UpdateUserData) {
	if lat, ok := d.lat.sent(a.CallUUID, d.cfg.Now()); ok && d.cfg.ObserveNotify != nil {
		d.cfg.ObserveNotify(lat)
	}
	m := tlib.New(tlib.RequestUpdateUserData).SetStr(tlib.AttrThisDN, a.DN).SetConn(tlib.AttrConnID, a.ConnID).
		SetList(tlib.AttrUserData, a.Data)
	if _, err := d.request(ctx, a.Server, m); err != nil {
		d.log.Warn("notification of recording not delivered", "dn", a.DN, "conn_id", a.ConnID.String(), "call_uuid", a.CallUUID, "error", err)
	}
}

func (d *dispatcher) request(ctx context.Context, server string, m *tlib.Message) (*tlib.Message, error) {
	d.requests.Add(1)
	ctx, cancel := context.WithTimeout(ctx, d.cfg.RequestTimeout)
	defer cancel()
	d.trace("->", server, m)
	res, err := d.link.Request(ctx, server, m)
	if res != nil {
		d.trace("<-", server, res)
	}
	if err != nil {
		d.failures.Add(1)
	}
	return res, err
}

// pauseSync is a job: the pause state of a call's recordings changed.
type pauseSync struct{ callUUID string }

func (p pauseSync) do(_ context.Context, d *dispatcher) { d.syncPause(p.callUUID) }

// syncPause tells the recorder when CTI paused or resumed a recording of
// the call, in the order of the changes (only the dispatcher does).
func (d *dispatcher) syncPause(callUUID string) {
	call, ok := d.eng.Call(callUUID)
	if !ok {
		return
	}
	for _, p := range d.led.pauseChanges(call, true) {
		d.screenPaused(callUUID, p)
		if d.rec == nil {
			continue
		}
		if err := d.rec.SetPaused(p.recordID, p.dn, p.paused); err != nil && !errors.Is(err, recorder.ErrNoSuchCall) {
			d.log.Warn("cti pause not applied", "record_id", p.recordID, "dn", p.dn, "error", err)
		}
	}
}

// noLegID is the id of the row that records a recording that never came
// (the record id is often unknown then: SIP Server chooses it).
func noLegID(callUUID, dn string) string { return "noleg-" + callUUID + "-" + dn }

// storeFailure keeps "CTI says recorded but no SIP session came" as a
// recording row (status failed, correlation no-leg) so lists, the API and
// the UI show it after the call is gone; a session that arrives late marks
// the row recovered. These rows are Core's own: no recorder wrote them.
func (d *dispatcher) storeFailure(ctx context.Context, a conversation.Alert) {
	st := d.cfg.Store
	if st == nil || a.CallUUID == "" {
		return
	}
	switch a.Kind {
	case conversation.AlertNoLeg:
		rec := &store.Recording{
			ID: noLegID(a.CallUUID, a.DN), Mode: store.ModeMSR, Status: store.StatusFailed,
			StatusReason: "CTI says the call is recorded but no SIP recording session arrived: " + a.Detail,
			CallUUID:     a.CallUUID, RecordID: a.RecordID, RecordedDN: a.DN,
			StartedAt: a.At, EndedAt: a.At, Correlation: "no-leg",
		}
		if call, ok := d.eng.Call(a.CallUUID); ok {
			_, ext := Couples([]*conversation.Call{call}, a.DN, call.Started, a.At)
			rec.ExternalData = ext
			rec.OtherDN = ext["GEN_TEV_OtherDN"]
		}
		if err := st.CreateRecording(ctx, rec); err != nil && !errors.Is(err, store.ErrConflict) {
			d.log.Warn("failed recording not stored", "record_id", a.RecordID, "error", err)
		}
	case conversation.AlertRecovered:
		rec, err := st.GetRecording(ctx, noLegID(a.CallUUID, a.DN))
		if err != nil {
			return
		}
		rec.Correlation = "recovered"
		rec.StatusReason = "the SIP recording session arrived late; the audio is in the recording with record id " + a.RecordID
		rec.RecordID = a.RecordID
		if err := st.UpdateRecording(ctx, rec); err != nil {
			d.log.Warn("recovered recording not stored", "record_id", a.RecordID, "error", err)
		}
	}
}

// lateData is a job: refresh the finished recordings of a call whose
// attached data changed.
type lateData struct{ callUUID string }

func (l lateData) do(ctx context.Context, d *dispatcher) {
	if call, ok := d.eng.Call(l.callUUID); ok {
		d.refresh(ctx, call, false)
	}
}

// refresh asks the recorder to rewrite the couples of a call's finished
// recordings with what the CTI side knows now (attached data after
// release; the call's end). final: the call is over and forgotten, its
// recordings need no more.
func (d *dispatcher) refresh(ctx context.Context, call *conversation.Call, final bool) {
	if d.cfg.Store == nil || d.rec == nil || call == nil {
		return
	}
	for _, id := range d.led.finishedOf(call.CallUUID, final) {
		rec, err := d.cfg.Store.GetRecording(ctx, id)
		if err != nil {
			d.log.Warn("late cti data: recording not found", "recording_id", id, "error", err)
			continue
		}
		if rec.EndedAt.IsZero() {
			continue
		}
		calls := d.callsOf(recorder.Session{RecordID: rec.RecordID, CallUUID: rec.CallUUID, RecordedDN: rec.RecordedDN})
		if !containsCall(calls, call.CallUUID) {
			calls = append(calls, call)
		}
		couples, ext := Couples(calls, rec.RecordedDN, rec.StartedAt, rec.EndedAt)
		if len(couples) == 0 {
			continue // keep what finalise stored
		}
		if err := d.rec.Recorrelate(ctx, id, couples, ext); err != nil {
			d.log.Warn("late cti data not stored", "recording_id", id, "error", err)
		}
	}
}

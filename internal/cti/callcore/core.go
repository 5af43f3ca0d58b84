// Package callcore joins the CTI side to the recorder. It feeds the CTI
// client's events to the conversation engine, carries out the engine's
// actions (RequestPrivateService for recording control, RequestUpdateUserData
// for Notification of Recording, alerts for failed recordings), tells the
// recorder about compliance pauses, and implements recorder.Correlator: DN
// exclusion at the SIP side (603), joining legs to calls, first audio, and
// the couples with their external data when a recording is finalised — and
// again when the call's wrap-up period ends (attached data after release).
package callcore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/cti/dnfilter"
	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/store"
)

// Requester sends T-Library requests (the CTI client).
type Requester interface {
	Request(ctx context.Context, server string, m *tlib.Message) (*tlib.Message, error)
}

// Pauser pauses and resumes recordings (the recorder).
type Pauser interface {
	SetPaused(recordID, recordDN string, paused bool) error
}

// Store updates finished recordings when late CTI data arrives, and keeps
// a row for recordings that never came (failed-recording detection).
type Store interface {
	CreateRecording(ctx context.Context, r *store.Recording) error
	GetRecording(ctx context.Context, id string) (*store.Recording, error)
	UpdateRecording(ctx context.Context, r *store.Recording) error
}

// Config configures a Core.
type Config struct {
	Engine *conversation.Engine
	Filter *dnfilter.Filter
	// Exclude, if set, replaces Filter for Admit: it returns why a
	// recorded DN is excluded ("" = admitted), e.g. a tenant's dn_exclude.
	Exclude   func(dn string) string
	Requester Requester
	Pauser    Pauser
	Store     Store
	QueueSize int // bounded action queue (default 10000)
	// ObserveNotify, if set, gets the Notification-of-Recording latency:
	// first RTP of a call's recording → the attached-data update sent.
	ObserveNotify func(time.Duration)
	// SourceTenant gives the tenant keys (GEN_CFG_TENANT, GEN_CFG_Tenant)
	// of a SIP session no CTI call explains, from its SIP source address,
	// so tenant isolation is defined for every recording. Optional.
	SourceTenant func(source string) map[string]string
	// Trace, if set, receives every T-Library message in and out in the
	// Genesys-log style of tlib (Message.Trace), each preceded by a
	// "# <time> <direction> <server>" line: the file ParseTrace reads back.
	Trace io.Writer
	// Retention keeps pre-recording and do-not-record decisions and
	// deletes recordings (nil = decisions are only logged).
	Retention RetentionStore
	// PrerecordGrace: a pre-recording is kept only if a keep request
	// arrives during the call or this long after its recording ended
	// (default 10 min).
	PrerecordGrace time.Duration
	// Sweep is how often due deletions run (default 5 s).
	Sweep time.Duration
	// KeepKey is the attached-data key of keep requests (the engine's
	// RecordConfig.KeepKey): it also reaches calls the engine no longer
	// holds, through the store. Empty = RECORDING_KEEP.
	KeepKey string
	Tick    time.Duration // engine timers (default 100 ms)
	Now     func() time.Time
	Logger  *slog.Logger
}

// Core is the CTI ↔ recorder bridge.
type Core struct {
	cfg     Config
	eng     *conversation.Engine
	log     *slog.Logger
	actions chan any // conversation.Action or lateData

	mu       sync.Mutex
	sessions map[string]recorder.Session // recording id → identifiers
	byCall   map[string][]string         // CallUUID → recording ids (finished, for late updates)
	states   map[string]conversation.RecState
	finished map[string]recorder.Session // recording id → identifiers, finished recordings of calls still held

	audioAt map[string]time.Time // CallUUID → first audio, until the notification goes out
	latency []time.Duration      // ring of the last notification latencies
	latNext int

	traceMu sync.Mutex

	alerts   sync.Map // conversation.AlertKind → *atomic.Uint64
	requests atomic.Uint64
	failures atomic.Uint64
	deleted  atomic.Uint64
}

var (
	_ recorder.Correlator = (*Core)(nil)
)

// New creates a Core; Run starts it.
func New(cfg Config) (*Core, error) {
	if cfg.Engine == nil || cfg.Requester == nil {
		return nil, errors.New("callcore: engine and requester are required")
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 10000
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 100 * time.Millisecond
	}
	if cfg.PrerecordGrace <= 0 {
		cfg.PrerecordGrace = DefaultPrerecordGrace
	}
	if cfg.Sweep <= 0 {
		cfg.Sweep = DefaultSweep
	}
	if cfg.KeepKey == "" {
		cfg.KeepKey = "RECORDING_KEEP"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Core{
		cfg: cfg, eng: cfg.Engine, log: cfg.Logger,
		actions:  make(chan any, cfg.QueueSize),
		sessions: map[string]recorder.Session{},
		byCall:   map[string][]string{},
		states:   map[string]conversation.RecState{},
		finished: map[string]recorder.Session{},
		audioAt:  map[string]time.Time{},
		latency:  make([]time.Duration, 0, latencySamples),
	}, nil
}

// Run executes actions and drives the engine's timers until ctx ends.
func (c *Core) Run(ctx context.Context) error {
	t := time.NewTicker(c.cfg.Tick)
	defer t.Stop()
	sw := time.NewTicker(c.cfg.Sweep)
	defer sw.Stop()
	c.sweep(ctx) // decisions left pending by an earlier run
	for {
		select {
		case <-ctx.Done():
			return nil
		case a := <-c.actions:
			c.execute(ctx, a)
		case <-t.C:
			c.executeAll(ctx, c.eng.Tick(c.cfg.Now()))
		case <-sw.C:
			c.sweep(ctx)
		}
	}
}

// enqueue hands actions to Run; a full queue blocks (back-pressure to the
// CTI reader, whose own bounded queue then resets the link) rather than
// dropping a recording request.
func (c *Core) enqueue(acts []conversation.Action) {
	for _, a := range acts {
		c.actions <- a
	}
}

// HandleEvent implements cti.Handler.
func (c *Core) HandleEvent(server string, m *tlib.Message) {
	c.trace("<-", server, m)
	c.enqueue(c.eng.Handle(server, m, c.cfg.Now()))
	c.keepAfterCall(m)
	if uuid := m.CallUUID(); uuid != "" {
		c.syncPause(uuid)
		if m.Type == tlib.EventAttachedDataChanged {
			// Attached data can change after a recording is finalised
			// (wrap-up): bring the stored couples up to date now.
			c.mu.Lock()
			_, finished := c.byCall[uuid]
			c.mu.Unlock()
			if finished {
				c.actions <- lateData{uuid}
			}
		}
	}
}

// keepAfterCall sends a keep request for a call the engine no longer holds
// (its wrap-up passed, or the recorder restarted) to the store.
func (c *Core) keepAfterCall(m *tlib.Message) {
	if m.Type != tlib.EventAttachedDataChanged && m.Type != tlib.EventUserEvent {
		return
	}
	uuid := m.CallUUID()
	v := m.UserData().String(c.cfg.KeepKey)
	if uuid == "" || v == "" {
		return
	}
	if _, known := c.eng.Call(uuid); known {
		return
	}
	keep, ok := conversation.ParseKeep(v)
	if !ok {
		return
	}
	c.actions <- keepStored{callUUID: uuid, keep: keep, via: "cti"}
}

// lateData is Core's own action: refresh the finished recordings of a call.
type lateData struct{ callUUID string }

// LinkState implements cti.Handler.
func (c *Core) LinkState(server string, up bool) {
	now := c.cfg.Now()
	if up {
		c.eng.LinkUp(server, now)
		c.log.Info("cti link up", "server", server)
		return
	}
	c.eng.LinkDown(server, now)
	c.log.Warn("cti link down: calls kept, resynchronising at reconnect", "server", server)
}

// syncPause tells the recorder when CTI pauses or resumes a recording
// (GSIP_RECORD = PAUSED / ON, or our acknowledged PAUSE / RESUME).
func (c *Core) syncPause(callUUID string) {
	call, ok := c.eng.Call(callUUID)
	if !ok || c.cfg.Pauser == nil {
		return
	}
	for _, r := range call.Recordings {
		if r.ID == "" {
			continue
		}
		c.mu.Lock()
		prev := c.states[r.ID]
		c.states[r.ID] = r.State
		c.mu.Unlock()
		paused := r.State == conversation.RecPaused
		if (prev == conversation.RecPaused) == paused || prev == "" && !paused {
			continue
		}
		if err := c.cfg.Pauser.SetPaused(r.ID, r.DN, paused); err != nil && !errors.Is(err, recorder.ErrNoSuchCall) {
			c.log.Warn("cti pause not applied", "record_id", r.ID, "dn", r.DN, "error", err)
		}
	}
}

func (c *Core) execute(ctx context.Context, a any) {
	switch a := a.(type) {
	case conversation.PrivateService:
		m := tlib.New(tlib.RequestPrivateService).SetStr(tlib.AttrThisDN, a.DN).SetConn(tlib.AttrConnID, a.ConnID).
			SetInt(tlib.AttrPrivateMsgID, int64(a.MsgID))
		if len(a.Ext) > 0 {
			m.SetList(tlib.AttrExtensions, a.Ext)
		}
		_, err := c.request(ctx, a.Server, m)
		if err != nil {
			c.log.Warn("recording request failed", "op", string(a.Op), "dn", a.DN, "conn_id", a.ConnID.String(),
				"call_uuid", a.CallUUID, "record_id", a.RecordID, "error", err)
		}
		// Follow-ups run inline: Run is the queue's only consumer and must
		// never wait on its own queue.
		c.executeAll(ctx, c.eng.ServiceResult(a, err, c.cfg.Now()))
		c.syncPause(a.CallUUID)
	case conversation.UpdateUserData:
		c.noteNotify(a.CallUUID)
		m := tlib.New(tlib.RequestUpdateUserData).SetStr(tlib.AttrThisDN, a.DN).SetConn(tlib.AttrConnID, a.ConnID).
			SetList(tlib.AttrUserData, a.Data)
		if _, err := c.request(ctx, a.Server, m); err != nil {
			c.log.Warn("notification of recording not delivered", "dn", a.DN, "conn_id", a.ConnID.String(), "call_uuid", a.CallUUID, "error", err)
		}
	case conversation.Alert:
		v, _ := c.alerts.LoadOrStore(a.Kind, new(atomic.Uint64))
		v.(*atomic.Uint64).Add(1)
		c.log.Warn("failed recording", "kind", string(a.Kind), "call_uuid", a.CallUUID, "record_id", a.RecordID, "dn", a.DN, "detail", a.Detail)
		c.storeFailure(ctx, a)
	case conversation.Finished:
		c.refresh(ctx, a.Call, true)
	case lateData:
		if call, ok := c.eng.Call(a.callUUID); ok {
			c.refresh(ctx, call, false)
		}
	case conversation.Retention:
		c.applyRetention(ctx, a)
	case pendingDeadline:
		if c.cfg.Retention != nil {
			if err := c.cfg.Retention.SetRetention(ctx, a.id, store.RetentionPending, a.until, a.reason); err != nil {
				c.log.Warn("pre-recording deadline not stored", "recording_id", a.id, "error", err)
			}
		}
	case keepStored:
		c.keepInStore(ctx, a)
	}
}

// noLegID is the id of the row that records a recording that never came
// (the record id is often unknown then: SIP Server chooses it).
func noLegID(callUUID, dn string) string { return "noleg-" + callUUID + "-" + dn }

// storeFailure keeps "CTI says recorded but no SIP session came" as a
// recording row (status failed, correlation no-leg) so lists, the API and
// the UI show it after the call is gone; a session that arrives late marks
// the row recovered.
func (c *Core) storeFailure(ctx context.Context, a conversation.Alert) {
	if c.cfg.Store == nil || a.CallUUID == "" {
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
		if call, ok := c.eng.Call(a.CallUUID); ok {
			_, ext := Couples([]*conversation.Call{call}, a.DN, call.Started, a.At)
			rec.ExternalData = ext
			rec.OtherDN = ext["GEN_TEV_OtherDN"]
		}
		if err := c.cfg.Store.CreateRecording(ctx, rec); err != nil && !errors.Is(err, store.ErrConflict) {
			c.log.Warn("failed recording not stored", "record_id", a.RecordID, "error", err)
		}
	case conversation.AlertRecovered:
		rec, err := c.cfg.Store.GetRecording(ctx, noLegID(a.CallUUID, a.DN))
		if err != nil {
			return
		}
		rec.Correlation = "recovered"
		rec.StatusReason = "the SIP recording session arrived late; the audio is in the recording with record id " + a.RecordID
		rec.RecordID = a.RecordID
		if err := c.cfg.Store.UpdateRecording(ctx, rec); err != nil {
			c.log.Warn("recovered recording not stored", "record_id", a.RecordID, "error", err)
		}
	}
}

func (c *Core) executeAll(ctx context.Context, acts []conversation.Action) {
	for _, a := range acts {
		c.execute(ctx, a)
	}
}

func (c *Core) request(ctx context.Context, server string, m *tlib.Message) (*tlib.Message, error) {
	c.requests.Add(1)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c.trace("->", server, m)
	res, err := c.cfg.Requester.Request(ctx, server, m)
	if res != nil {
		c.trace("<-", server, res)
	}
	if err != nil {
		c.failures.Add(1)
	}
	return res, err
}

func (c *Core) trace(dir, server string, m *tlib.Message) {
	if c.cfg.Trace == nil {
		return
	}
	c.traceMu.Lock()
	defer c.traceMu.Unlock()
	_, _ = fmt.Fprintf(c.cfg.Trace, "# %s %s %s\n%s\n", c.cfg.Now().UTC().Format(time.RFC3339Nano), dir, server, m.Redact().Trace())
}

// Admit implements recorder.Correlator: an excluded DN is never recorded,
// whoever asks (603 at the SIP side).
func (c *Core) Admit(recordDN string) error {
	if c.cfg.Exclude != nil {
		if why := c.cfg.Exclude(recordDN); why != "" {
			return fmt.Errorf("%w: %s (%s)", recorder.ErrExcluded, recordDN, why)
		}
		return nil
	}
	if c.cfg.Filter != nil && c.cfg.Filter.Excluded(recordDN) {
		return fmt.Errorf("%w: %s (%s)", recorder.ErrExcluded, recordDN, c.cfg.Filter.String())
	}
	return nil
}

// Started implements recorder.Correlator.
func (c *Core) Started(s recorder.Session) {
	c.mu.Lock()
	c.sessions[s.RecordingID] = s
	c.mu.Unlock()
	parties := 1
	if s.ExpectLegs == 1 {
		parties = 2 // one session carries both parties (single-session MSR, SIPREC)
	}
	c.enqueueAsync(c.eng.SessionArrived(s.RecordID, s.CallUUID, s.RecordedDN, parties, s.Start))
}

var _ recorder.LegCorrelator = (*Core)(nil)

// LegJoined implements recorder.LegCorrelator: the other party's MSR
// session joined the recording. Without it every two-session recording
// looked one-legged to the failed-recording detection.
func (c *Core) LegJoined(s recorder.Session, at time.Time) {
	c.enqueueAsync(c.eng.SessionArrived(s.RecordID, s.CallUUID, s.RecordedDN, 1, at))
}

// AudioStarted implements recorder.Correlator (called from an RTP read
// goroutine: it must not block).
func (c *Core) AudioStarted(recordingID string, at time.Time) {
	c.mu.Lock()
	s, ok := c.sessions[recordingID]
	c.mu.Unlock()
	if !ok {
		return
	}
	c.mu.Lock()
	if _, seen := c.audioAt[s.CallUUID]; !seen && s.CallUUID != "" {
		c.audioAt[s.CallUUID] = at
	}
	c.mu.Unlock()
	c.enqueueAsync(c.eng.AudioArrived(s.RecordID, s.CallUUID, s.RecordedDN, at))
}

const latencySamples = 4096

// noteNotify measures first audio → notification for a call (once).
func (c *Core) noteNotify(callUUID string) {
	c.mu.Lock()
	at, ok := c.audioAt[callUUID]
	if ok {
		delete(c.audioAt, callUUID)
	}
	var d time.Duration
	if ok {
		d = c.cfg.Now().Sub(at)
		if len(c.latency) < latencySamples {
			c.latency = append(c.latency, d)
		} else {
			c.latency[c.latNext] = d
			c.latNext = (c.latNext + 1) % latencySamples
		}
	}
	c.mu.Unlock()
	if ok && c.cfg.ObserveNotify != nil {
		c.cfg.ObserveNotify(d)
	}
}

// enqueueAsync queues actions without blocking the caller (SIP and RTP
// paths); if the queue is full they are queued from a goroutine.
func (c *Core) enqueueAsync(acts []conversation.Action) {
	for i, a := range acts {
		select {
		case c.actions <- a:
		default:
			rest := acts[i:]
			go c.enqueue(rest)
			return
		}
	}
}

// Finished implements recorder.Correlator: the couples of the recording's
// call for its recorded DN, as offsets into the media.
func (c *Core) Finished(s recorder.Session, end time.Time) ([]store.Couple, map[string]string, string) {
	c.mu.Lock()
	delete(c.sessions, s.RecordingID)
	c.mu.Unlock()
	calls := c.callsOf(s)
	alerted := c.eng.SessionEnded(s.RecordID, s.CallUUID, s.RecordedDN)
	if len(calls) == 0 {
		c.log.Warn("failed recording: SIP session matches no CTI call", "recording_id", s.RecordingID,
			"record_id", s.RecordID, "call_uuid", s.CallUUID, "recorded_dn", s.RecordedDN, "source", s.Source)
		if !alerted { // one alert per recording: the engine's, or this one
			v, _ := c.alerts.LoadOrStore(conversation.AlertOrphanLeg, new(atomic.Uint64))
			v.(*atomic.Uint64).Add(1)
		}
		var ext map[string]string
		if c.cfg.SourceTenant != nil {
			ext = c.cfg.SourceTenant(s.Source)
		}
		return nil, ext, "no-cti-call"
	}
	c.mu.Lock()
	for _, call := range calls {
		c.byCall[call.CallUUID] = appendOnce(c.byCall[call.CallUUID], s.RecordingID)
	}
	c.finished[s.RecordingID] = s
	c.mu.Unlock()
	c.prerecordEnded(calls, s, end)
	couples, ext := Couples(calls, s.RecordedDN, s.Start, end)
	if len(couples) == 0 && s.RecordedDN != "" {
		// The recorded DN joined the call while the CTI link was down: no
		// event described its couple. The recording is still this call's.
		couples = []store.Couple{{StartMS: 0, EndMS: end.Sub(s.Start).Milliseconds(), ThisDN: s.RecordedDN,
			OtherDN: s.OtherDN, ConnID: calls[0].ConnID.String(), CallUUID: calls[0].CallUUID}}
	}
	return couples, ext, "matched"
}

// callsOf returns the CTI calls a recording spans: the call its leg joined
// and, when different, the call its CallUUID names (a recording that began
// on a consult call continues on the original call after the transfer).
func (c *Core) callsOf(s recorder.Session) []*conversation.Call {
	var out []*conversation.Call
	if call, ok := c.eng.FindForLeg(s.RecordID, s.CallUUID, s.RecordedDN); ok {
		out = append(out, call)
	}
	if s.CallUUID != "" && (len(out) == 0 || out[0].CallUUID != s.CallUUID) {
		if call, ok := c.eng.Call(s.CallUUID); ok {
			out = append(out, call)
		}
	}
	return out
}

// prerecordEnded starts the keep deadline of a pre-recording that ended
// undecided.
func (c *Core) prerecordEnded(calls []*conversation.Call, s recorder.Session, end time.Time) {
	for _, call := range calls {
		for _, r := range call.Recordings {
			same := (s.RecordID != "" && r.ID == s.RecordID) || (s.RecordID == "" && r.DN == s.RecordedDN)
			if !same || !r.Prerecord || r.Discarded || r.Keep != conversation.KeepUndecided {
				continue
			}
			until := end.Add(c.cfg.PrerecordGrace)
			reason := fmt.Sprintf("pre-recording (rule %q): keep request by %s", r.Rule, until.UTC().Format(time.RFC3339))
			pd := pendingDeadline{id: s.RecordingID, until: until, reason: reason}
			select {
			case c.actions <- pd:
			default:
				go func() { c.actions <- pd }() // never block the recorder's finalise
			}
			return
		}
	}
}

func appendOnce(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

// refresh rewrites the couples of a call's finished recordings with what
// the CTI side knows now (attached data after release; the call's end).
// final: the call is over and forgotten, its recordings need no more.
func (c *Core) refresh(ctx context.Context, call *conversation.Call, final bool) {
	if c.cfg.Store == nil || call == nil {
		return
	}
	c.mu.Lock()
	ids := append([]string(nil), c.byCall[call.CallUUID]...)
	if final {
		delete(c.byCall, call.CallUUID)
		for _, id := range ids {
			delete(c.finished, id)
		}
	}
	c.mu.Unlock()
	for _, id := range ids {
		rec, err := c.cfg.Store.GetRecording(ctx, id)
		if err != nil {
			c.log.Warn("late cti data: recording not found", "recording_id", id, "error", err)
			continue
		}
		if rec.EndedAt.IsZero() {
			continue
		}
		calls := c.callsOf(recorder.Session{RecordID: rec.RecordID, CallUUID: rec.CallUUID, RecordedDN: rec.RecordedDN})
		if !containsCall(calls, call.CallUUID) {
			calls = append(calls, call)
		}
		couples, ext := Couples(calls, rec.RecordedDN, rec.StartedAt, rec.EndedAt)
		if len(couples) == 0 {
			continue // keep what finalise stored
		}
		rec.Couples = couples
		if rec.ExternalData == nil {
			rec.ExternalData = map[string]string{}
		}
		for k, v := range ext {
			rec.ExternalData[k] = v
		}
		if err := c.cfg.Store.UpdateRecording(ctx, rec); err != nil {
			c.log.Warn("late cti data not stored", "recording_id", id, "error", err)
		}
	}
}

func containsCall(calls []*conversation.Call, uuid string) bool {
	for _, c := range calls {
		if c.CallUUID == uuid {
			return true
		}
	}
	return false
}

// Couples maps a call's couples for recordedDN onto a recording that
// started at start and ended at end: offsets in ms, clipped to the file.
// The recording-level external data merges the couples' (later ones win).
func Couples(calls []*conversation.Call, recordedDN string, start, end time.Time) ([]store.Couple, map[string]string) {
	var out []store.Couple
	for _, call := range calls {
		out = append(out, couplesOf(call, recordedDN, start, end)...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartMS < out[j].StartMS })
	// The same span can appear in two calls (a consult merged into the
	// original call): keep the first of equal spans.
	uniq := out[:0]
	for _, cp := range out {
		if n := len(uniq); n > 0 && uniq[n-1].StartMS == cp.StartMS && uniq[n-1].EndMS == cp.EndMS && uniq[n-1].OtherDN == cp.OtherDN {
			continue
		}
		uniq = append(uniq, cp)
	}
	out = uniq
	// Recording-level data (what a search by GEN_* key finds): every
	// couple's, later couples overriding earlier ones.
	ext := map[string]string{}
	for _, cp := range out {
		for k, v := range cp.ExternalData {
			ext[k] = v
		}
	}
	return out, ext
}

func couplesOf(call *conversation.Call, recordedDN string, start, end time.Time) []store.Couple {
	var out []store.Couple
	last := -1
	for i, cp := range call.Couples {
		if recordedDN == "" || cp.ThisDN == recordedDN {
			last = i
		}
	}
	for i, cp := range call.Couples {
		if recordedDN != "" && cp.ThisDN != recordedDN {
			continue
		}
		cEnd := cp.End
		if cEnd.IsZero() || cEnd.After(end) || (cp.EndUncertain && i == last) {
			// Open, past the file, or ended by a link loss: the recorded
			// side's session lasted until its BYE, so does its last couple.
			cEnd = end
		}
		cStart := cp.Start
		if cStart.Before(start) {
			cStart = start
		}
		if !cEnd.After(cStart) {
			continue // outside the file, or empty
		}
		out = append(out, store.Couple{
			StartMS: cStart.Sub(start).Milliseconds(), EndMS: cEnd.Sub(start).Milliseconds(),
			ThisDN: cp.ThisDN, OtherDN: cp.OtherDN, ConnID: cp.ConnID.String(), CallUUID: call.CallUUID,
			ExternalData: store.CleanExternalData(cp.ExternalData),
		})
	}
	return out
}

// Stats is a snapshot for metrics.
type Stats struct {
	Requests, RequestFailures uint64
	// NotifyP50/P99: Notification-of-Recording latency over the last
	// samples (first RTP → attached-data update sent); NotifySamples how many.
	NotifyP50, NotifyP99 time.Duration
	NotifySamples        int
	Alerts               map[string]uint64
	Engine               conversation.Counters
}

// Stats returns counters.
func (c *Core) Stats() Stats {
	s := Stats{Requests: c.requests.Load(), RequestFailures: c.failures.Load(), Alerts: map[string]uint64{}, Engine: c.eng.Counters()}
	c.mu.Lock()
	lat := append([]time.Duration(nil), c.latency...)
	c.mu.Unlock()
	if n := len(lat); n > 0 {
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		s.NotifySamples = n
		s.NotifyP50 = lat[(n-1)/2]
		s.NotifyP99 = lat[(n*99+99)/100-1]
	}
	c.alerts.Range(func(k, v any) bool {
		s.Alerts[string(k.(conversation.AlertKind))] = v.(*atomic.Uint64).Load()
		return true
	})
	return s
}

// FilterOnly is the Correlator used when no CTI link is configured but DNs
// are excluded: it refuses excluded recorded DNs (603) and nothing else.
func FilterOnly(f *dnfilter.Filter) recorder.Correlator { return filterOnly{f} }

type filterOnly struct{ f *dnfilter.Filter }

func (o filterOnly) Admit(dn string) error {
	if o.f.Excluded(dn) {
		return fmt.Errorf("%w: %s (%s)", recorder.ErrExcluded, dn, o.f.String())
	}
	return nil
}
func (filterOnly) Started(recorder.Session)       {}
func (filterOnly) AudioStarted(string, time.Time) {}
func (filterOnly) Finished(recorder.Session, time.Time) ([]store.Couple, map[string]string, string) {
	return nil, nil, ""
}

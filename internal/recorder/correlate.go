package recorder

import (
	"context"
	"errors"
	"time"

	"github.com/openrec/openrec/internal/sip/sipsrv"
	"github.com/openrec/openrec/internal/store"
)

// Correlator joins recording sessions to the calls the CTI side knows
// (conversations). It is optional (Config.Correlator): without it
// recordings carry only what SIP says. Implementations must not block: the
// recorder calls them on its SIP and RTP paths.
//
// The recorder only tells and asks through it; the CTI side acts on a
// recording only through the recorder's methods (SetPaused, Recorrelate):
// the recorder alone writes its rows and files.
type Correlator interface {
	// Admit is asked before a new MSR recording is created; an error
	// refuses it for good (603 Decline: the Resource Manager must not try
	// another recorder), e.g. for a recorded DN that is excluded.
	Admit(recordDN string) error
	// Started says a recording now exists for these identifiers (further
	// legs: LegCorrelator.LegJoined).
	Started(s Session)
	// AudioStarted says the first RTP packet of one leg of the recording
	// arrived (once per leg).
	AudioStarted(recordingID string, at time.Time)
	// Finished returns what the CTI side knows of the recording's span:
	// the couples with offsets into the media, recording-level external
	// data, and the correlation state ("matched", "no-cti-call", ...).
	Finished(s Session, end time.Time) (couples []store.Couple, external map[string]string, correlation string)
}

// Session identifies a recording to a Correlator.
type Session struct {
	RecordingID string
	Mode        store.Mode
	RecordID    string
	CallUUID    string
	RecordedDN  string
	OtherDN     string
	Start       time.Time
	Source      string // SIP source address of the first leg
	// ExpectLegs is how many SIP sessions make the recording whole: 2 for
	// two-session MSR (one per party), 1 for single-session MSR and SIPREC.
	ExpectLegs int
}

// ErrExcluded is what a Correlator returns from Admit for an excluded DN.
var ErrExcluded = errors.New("recorder: recorded DN is excluded from recording")

func (c *call) session() Session {
	return Session{
		RecordingID: c.rec.ID, Mode: c.rec.Mode, RecordID: c.rec.RecordID, CallUUID: c.rec.CallUUID,
		RecordedDN: c.rec.RecordedDN, OtherDN: c.rec.OtherDN, Start: c.start, Source: c.source,
		ExpectLegs: c.expectLegs,
	}
}

func declined(err error) error {
	return &sipsrv.StatusError{Code: 603, Reason: "Decline: recorded DN is not monitored", Err: err}
}

// SetPaused pauses or resumes the recording of an MSR call (a compliance
// pause asked through CTI: GSIP_RECORD_PAUSE / RESUME, or GSIP_RECORD =
// PAUSED). The paused span is silence in the file and a pause segment.
func (r *Recorder) SetPaused(recordID, recordDN string, paused bool) error {
	r.mu.Lock()
	c := r.calls["msr|"+recordID+"|"+recordDN]
	r.mu.Unlock()
	if c == nil {
		return ErrNoSuchCall
	}
	now := r.cfg.Now()
	<-c.opened
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return ErrNoSuchCall
	}
	if c.paused == paused {
		return nil
	}
	c.paused = paused
	c.mix.SetPaused(paused, now)
	c.event(map[bool]string{true: "pause", false: "resume"}[paused], -1, now, "cti")
	c.log.Info(map[bool]string{true: "recording paused", false: "recording resumed"}[paused], "by", "cti")
	return nil
}

// ErrNoSuchCall is returned for a recording that is not in progress.
var ErrNoSuchCall = errors.New("recorder: no such recording in progress")

// Recorrelate stores what the CTI side learnt after a recording was
// finalised (attached data after release, the call's end): its couples,
// and external data merged over the stored (new keys win). A recording
// still in progress is left alone (ErrInProgress): its couples are written
// when it is finalised.
func (r *Recorder) Recorrelate(ctx context.Context, recordingID string, couples []store.Couple, external map[string]string) error {
	if r.IsLive(recordingID) {
		return ErrInProgress
	}
	rec, err := r.st.GetRecording(ctx, recordingID)
	if err != nil {
		return err
	}
	if rec.Status == store.StatusRecording {
		return ErrInProgress
	}
	rec.Couples = couples
	if rec.ExternalData == nil {
		rec.ExternalData = map[string]string{}
	}
	for k, v := range external {
		rec.ExternalData[k] = v
	}
	return r.st.UpdateRecording(ctx, rec)
}

// ErrInProgress is returned by Recorrelate for a recording not finalised.
var ErrInProgress = errors.New("recorder: recording in progress")

package recorder

import (
	"log/slog"
	"time"

	"github.com/openrec/openrec/internal/media/mixer"
	"github.com/openrec/openrec/internal/store"
)

// DTMFAdvisor is optionally implemented by a Correlator: the dtmf setting
// (keep, mask, mask-and-drop-events) the CTI side asks for a new
// recording — its rule's or its tenant's. ok=false leaves the setting the
// recorder derives from the SIP source (Config.DTMF). It is asked once,
// when the recording is created: audio already written is never changed.
type DTMFAdvisor interface {
	DTMF(s Session) (mode string, ok bool)
}

// dtmfFor is the DTMF treatment of a new recording: the CTI side's when
// it has one, else the one for the SIP source.
func (r *Recorder) dtmfFor(rec *store.Recording, source string, now time.Time, log *slog.Logger) mixer.DTMFMode {
	mode := r.dtmfMode(source)
	adv, ok := r.cfg.Correlator.(DTMFAdvisor)
	if !ok {
		return mode
	}
	s := Session{RecordingID: rec.ID, Mode: rec.Mode, RecordID: rec.RecordID, CallUUID: rec.CallUUID,
		RecordedDN: rec.RecordedDN, OtherDN: rec.OtherDN, Start: now, Source: source}
	name, ok := adv.DTMF(s)
	if !ok {
		return mode
	}
	m, err := mixer.ParseDTMFMode(name)
	if err != nil {
		log.Warn("dtmf setting from the CTI side refused; the source's is kept", "error", err)
		return mode
	}
	log.Debug("dtmf setting from the CTI side", "dtmf", m.String())
	return m
}

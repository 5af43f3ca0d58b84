package recorder

import (
	"slices"
	"time"

	"github.com/openrec/openrec/internal/store"
)

// LiveAudioWindow is how recent a channel's last RTP packet must be for
// LiveChannel.AudioArriving (recorder clock).
const LiveAudioWindow = 2 * time.Second

// LiveCall is a recording in progress, as Live shows it.
type LiveCall struct {
	RecordingID, CallUUID, RecordID, RecordedDN, OtherDN string
	Mode                                                 store.Mode
	StartedAt                                            time.Time
	Paused                                               bool
	// Tenant: the recording's GEN_CFG_Tenant when known (from the CTI side
	// while the call runs, see LiveCorrelator).
	Tenant string
	// Correlation: "matched", "no-cti-call", ... as stored, or what the
	// CTI side says now ("" without a correlator).
	Correlation string
	Channels    []LiveChannel
}

// LiveChannel is one channel of a recording in progress.
type LiveChannel struct {
	Channel          int
	DN, Label, Codec string
	Packets          uint64
	LastPacketAt     time.Time // zero if none yet
	AudioArriving    bool      // a packet within LiveAudioWindow (recorder clock)
	Held             bool
}

// LiveCorrelator is optionally implemented by a Correlator: what the CTI
// side knows now of a recording still in progress (Finished tells it only
// at the end). Live calls it without holding any recorder lock.
type LiveCorrelator interface {
	LiveInfo(s Session) (correlation, tenant string)
}

// IsLive reports whether the recording is in progress on this recorder.
func (r *Recorder) IsLive(recordingID string) bool {
	_, ok := r.ids.Load(recordingID)
	return ok
}

// Live returns the recordings in progress, sorted by start. Like Stats it
// never holds the recorder's lock while it waits for a call's (a call can
// be busy on disk), so SIP handling of other calls is never stalled.
func (r *Recorder) Live() []LiveCall {
	r.mu.Lock()
	calls := make([]*call, 0, len(r.calls))
	for _, c := range r.calls {
		calls = append(calls, c)
	}
	r.mu.Unlock()
	now := r.cfg.Now()
	lc, _ := r.cor.(LiveCorrelator)
	out := make([]LiveCall, 0, len(calls))
	for _, c := range calls {
		v, s, ok := c.live(now)
		if !ok {
			continue
		}
		if lc != nil {
			corr, tenant := lc.LiveInfo(s)
			if corr != "" {
				v.Correlation = corr
			}
			if tenant != "" {
				v.Tenant = tenant
			}
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b LiveCall) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		if a.RecordingID < b.RecordingID {
			return -1
		}
		if a.RecordingID > b.RecordingID {
			return 1
		}
		return 0
	})
	return out
}

// live snapshots the call (false when it is not in progress).
func (c *call) live(now time.Time) (LiveCall, Session, bool) {
	if !c.ready() {
		return LiveCall{}, Session{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done || c.rec == nil || c.mix == nil {
		return LiveCall{}, Session{}, false
	}
	rec := c.rec
	v := LiveCall{
		RecordingID: rec.ID, CallUUID: rec.CallUUID, RecordID: rec.RecordID,
		RecordedDN: rec.RecordedDN, OtherDN: rec.OtherDN, Mode: rec.Mode,
		StartedAt: rec.StartedAt, Paused: c.paused,
		Tenant: rec.ExternalData[store.TenantKey], Correlation: rec.Correlation,
		Channels: make([]LiveChannel, rec.Channels),
	}
	for ch := range v.Channels {
		lch := &v.Channels[ch]
		lch.Channel = ch
		for _, p := range rec.Parties {
			if p.Channel == ch && lch.DN == "" { // a mixed channel: its first party
				lch.DN, lch.Label = p.DN, p.Label
			}
		}
		st := c.mix.Stats(ch)
		lch.Packets, lch.Codec = st.Packets, st.Codec
	}
	for _, l := range c.legs {
		for _, s := range l.streams {
			if s.channel < 0 || s.channel >= len(v.Channels) {
				continue
			}
			lch := &v.Channels[s.channel]
			last := s.lastRTP
			if s.rx != nil {
				last = s.rx.LastActivity()
				lch.Held = lch.Held || s.held
				if lch.Codec == "" {
					lch.Codec = s.codec.Name // negotiated, no audio yet
				}
			}
			if last.After(lch.LastPacketAt) {
				lch.LastPacketAt = last
			}
		}
	}
	for i := range v.Channels {
		lch := &v.Channels[i]
		lch.AudioArriving = !lch.LastPacketAt.IsZero() && now.Sub(lch.LastPacketAt) < LiveAudioWindow
	}
	return v, c.session(), true
}

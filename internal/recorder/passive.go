package recorder

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediastore"
)

// PassiveSpec describes a call recorded from observed traffic (openrec
// capture: SIP and RTP seen on a SPAN port or in a pcap file). Channel 0 is
// the caller (the party that sent the first INVITE), channel 1 the callee.
type PassiveSpec struct {
	SIPCallID string
	CallUUID  string // a Genesys CallUUID the switch copied into SIP, or the CTI call's
	CallerDN  string // user part of From
	CalleeDN  string // user part of To
	Source    string // signalling address of the caller, host:port
	// RecordedDN is the monitored party (EPR: the DN the CTI side knows),
	// CallerDN or CalleeDN; "" means the caller. RecordID, if set, is the
	// recording's id towards the correlator (EPR): pause and resume from
	// CTI reach the call through SetPaused(RecordID, RecordedDN).
	RecordedDN string
	RecordID   string
}

// Passive is a recording whose media the caller hands in packet by packet
// instead of the recorder's own RTP receivers. It goes through the same
// mixer, WAV writer, store row, live tap, flush loop (Tick) and
// finalisation as an active recording.
type Passive struct {
	r     *Recorder
	c     *call
	audio atomic.Bool // AudioStarted told
}

// OpenPassive creates the store row, the WAV file and the mixer of a
// passively captured call. Its clock is the Recorder's Now (a capture
// replays packet time there).
func (r *Recorder) OpenPassive(spec PassiveSpec) (*Passive, error) {
	now := r.cfg.Now()
	r.mu.Lock()
	switch {
	case r.draining:
		r.mu.Unlock()
		return nil, r.unavailable("draining")
	case len(r.calls) >= r.cfg.MaxCalls:
		r.mu.Unlock()
		return nil, r.unavailable("at capacity")
	}
	if r.gate != nil {
		// disk, store and descriptors; a passive call needs no RTP port
		if err := r.gate.Admit(0); err != nil {
			r.mu.Unlock()
			return nil, r.unavailable(err.Error())
		}
	}
	r.mu.Unlock()
	recorded, other := spec.CallerDN, spec.CalleeDN
	if spec.RecordedDN != "" && spec.RecordedDN == spec.CalleeDN && spec.RecordedDN != spec.CallerDN {
		recorded, other = spec.CalleeDN, spec.CallerDN
	}
	if r.cor != nil {
		if err := r.cor.Admit(recorded); err != nil {
			return nil, err // an excluded DN: its audio is not recorded
		}
	}
	id := newID(now)
	rec := &store.Recording{
		ID:         id,
		Mode:       store.ModePassive,
		Status:     store.StatusRecording,
		StartedAt:  now.UTC(),
		Format:     r.cfg.Format.String(),
		Channels:   2,
		CallUUID:   spec.CallUUID,
		RecordID:   spec.RecordID,
		RecordedDN: recorded,
		OtherDN:    other,
		Parties: []store.Party{
			{Channel: 0, Role: "caller", DN: spec.CallerDN},
			{Channel: 1, Role: "callee", DN: spec.CalleeDN},
		},
	}
	if spec.SIPCallID != "" {
		rec.SIPCallIDs = []string{spec.SIPCallID}
	}
	c := &call{key: "passive|" + id, start: now, expectLegs: 1, source: spec.Source, opened: openedNow}
	if spec.RecordID != "" {
		c.key = "msr|" + spec.RecordID + "|" + recorded // SetPaused finds it like an MSR call
		r.mu.Lock()
		taken := r.calls[c.key] != nil
		r.mu.Unlock()
		if taken {
			return nil, errf("passive recording: record id %q of %s already in use", spec.RecordID, recorded)
		}
	}
	rec.MediaPath = mediastore.Layout{Root: r.MediaDir()}.NewMedia(now, id)
	// Encrypted at rest like every other recording when encryption is on.
	if r.encrypts() {
		c.tenant = r.recipientTenant(rec, spec.Source, now)
	}
	// Passive capture learns its codecs after the file is made: 8 kHz.
	c.format, c.rate = r.cfg.Format, 8000
	if err := r.planStored(c, rec.MediaPath, spec.Source); err != nil {
		return nil, errf("create media file: %w", err)
	}
	w, err := r.createMedia(rec.MediaPath, c.tenant, rec.Channels, c.format, c.rate)
	if err != nil {
		return nil, errf("create media file: %w", err)
	}
	c.w = w
	c.log = r.log.With("recording_id", id, "call_uuid", rec.CallUUID, "mode", string(rec.Mode), "sip_call_id", spec.SIPCallID)
	if err := r.startMixer(c, rec, w, r.dtmfFor(rec, spec.Source, now, c.log), now); err != nil {
		return nil, err
	}
	if err := r.createRow(c); err != nil { // c is not published yet: no lock held
		return nil, err
	}
	r.mu.Lock()
	r.calls[c.key] = c
	r.mu.Unlock()
	r.ids.Store(id, c)
	r.stats.callsAdmitted.Add(1)
	if r.cor != nil {
		r.cor.Started(c.session())
	}
	c.log.Debug("passive recording started", "caller", spec.CallerDN, "callee", spec.CalleeDN, "source", spec.Source)
	return &Passive{r: r, c: c}, nil
}

// ID is the recording id.
func (p *Passive) ID() string { return p.c.rec.ID }

// Track is where channel ch's RTP goes (0 caller, 1 callee).
func (p *Passive) Track(ch int) media.PacketHandler { return p.c.mix.Track(ch) }

// AudioStarted tells the correlator the call's first RTP arrived
// (Notification of Recording, failed-recording detection). Once.
func (p *Passive) AudioStarted(at time.Time) {
	if p.r.cor != nil && p.audio.CompareAndSwap(false, true) {
		p.r.cor.AudioStarted(p.c.rec.ID, at)
	}
}

// SetCodecs installs the payload types of channel ch (from the SDP the
// channel's packets are sent against) and notes the codec in the row.
func (p *Passive) SetCodecs(ch int, codecs []media.Codec, te, cn *media.Codec) {
	p.c.mix.Track(ch).SetCodecs(codecs, te, cn)
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	if len(codecs) > 0 && !p.c.done {
		p.r.noteCodec(p.c, codecs[0], ch)
	}
}

// SetHeld starts or ends a hold span of channel ch at time at.
func (p *Passive) SetHeld(ch int, held bool, at time.Time) {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	if p.c.done {
		return
	}
	p.c.mix.Track(ch).SetHeld(held, at)
	p.c.event(map[bool]string{true: "hold", false: "retrieve"}[held], ch, at, "sdp")
}

// AddSIPCallID notes another SIP Call-ID that carried the call (a
// forked or replaced dialog).
func (p *Passive) AddSIPCallID(id string) {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	if !contains(p.c.rec.SIPCallIDs, id) {
		p.c.rec.SIPCallIDs = append(p.c.rec.SIPCallIDs, id)
	}
}

// Close finalises the recording (idempotent): a channel without packets
// makes it partial, no packets at all failed, like an active recording.
func (p *Passive) Close(reason string) {
	c := p.c
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		return
	}
	var total uint64
	var silent []string
	for ch := 0; ch < c.rec.Channels; ch++ {
		n := c.mix.Stats(ch).Packets
		total += n
		if n == 0 {
			silent = append(silent, []string{"channel 0 (caller)", "channel 1 (callee)"}[min(ch, 1)])
		}
	}
	c.closedPkts = total
	p.r.stats.packetsClosed.Add(total)
	if total > 0 && len(silent) > 0 && c.partial == "" {
		c.partial = "no RTP on " + strings.Join(silent, ", ")
	}
	c.mu.Unlock()
	p.r.finalise(c, reason)
}

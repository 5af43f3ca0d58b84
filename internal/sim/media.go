package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openrec/openrec/internal/sip/dial"
)

// MediaServer places the recording sessions of one recorded DN.
// Start must not block on the network: it returns at once and the sessions
// run until Stop.
type MediaServer interface {
	Start(ctx context.Context, rec Recording) (MediaSession, error)
}

// Recording describes one recording to place at one destination.
type Recording struct {
	RecordID, CallUUID, ThisDN, OtherDN string
	Dest                                string     // recorder host:port
	Tones                               [2]float64 // Hz: recorded party, other party
	// Failover are further recorders of the group, tried in order when
	// Dest fails before answering (never after a 6xx). DialMedia skips the
	// recorders of the group its OPTIONS pings found unavailable.
	Failover []string
	// Geo is the request's record= geo-location selection (source|destination).
	Geo string
	// AudioSrc and ToneSilence are the consent-tone parameters of the
	// request (audiosrc, tonesilenceduration). DialMedia plays the tone
	// (see ConsentOptions; empty values fall back to DialMedia.Consent's).
	AudioSrc, ToneSilence string
	Misbehave             Misbehaviour
}

// MediaSession is a running recording.
type MediaSession interface {
	Pause(paused bool)
	Stop() error // BYE; waits for the session to end
	// Retarget says the recorded DN's other party changed (transfer,
	// conference). It must not block: the Sim calls it with its lock held.
	Retarget(otherDN string)
}

// Misbehaviour makes the Media Server (or the SIP Server's timing of it)
// deviate on purpose, so that tests prove the recorder copes.
type Misbehaviour struct {
	// EarlyInvite starts recordings at EventRinging/EventDialing, i.e.
	// the INVITEs arrive before EventEstablished.
	EarlyInvite bool `yaml:"early_invite"`
	// InviteDelay delays the INVITEs after the recording starts (long
	// after EventEstablished).
	InviteDelay time.Duration `yaml:"invite_delay"`
	// SingleLeg sends only the recorded DN's leg (the other INVITE never comes).
	SingleLeg bool `yaml:"single_leg"`
	// NoRTP establishes the sessions but sends no RTP at all.
	NoRTP bool `yaml:"no_rtp"`
	// SilentLeg establishes both sessions but sends no RTP on the other
	// party's (the recorded DN's leg carries audio).
	SilentLeg bool `yaml:"silent_leg"`
	// LegSkew delays the second leg's INVITE.
	LegSkew time.Duration `yaml:"leg_skew"`
	// SSRCChange restarts the recorded DN's stream with a new SSRC one
	// second into the recording, unsignalled. (No RTCP is the default: the
	// Media Server sends none.)
	SSRCChange bool `yaml:"ssrc_change"`
	// SRTPWrongKey sends SRTP (DialMedia.SRTP, else AES_CM_128_HMAC_SHA1_80)
	// encrypted with another key than the one offered: nothing decrypts.
	SRTPWrongKey bool `yaml:"srtp_wrong_key"`
}

// Defaults of DialMedia's recorder health checks.
const (
	DefaultOptionsInterval = 10 * time.Second
	DefaultOptionsTimeout  = 2 * time.Second
	// maxParallelPings bounds the OPTIONS in flight in one round.
	maxParallelPings = 4
)

// DialMedia is the Media Server built on internal/sip/dial: two MSR INVITEs
// (one per party) per recording, G.711 tones per party, pause by
// withholding RTP, BYE on Stop.
//
// Transfers: Retarget re-INVITEs the other party's leg with new media (a
// new local RTP socket and port, a new SSRC, and the new party's tone)
// while the recorded DN's leg is untouched, so the recorder keeps ONE
// recording session: "recording is sticky to the recorded side".
//
// Recorder group: like the Genesys Resource Manager, DialMedia pings every
// recorder it has been given (Recording.Dest and Failover) with SIP
// OPTIONS every OptionsInterval, from one goroutine (at most
// maxParallelPings OPTIONS in flight), started by the first Start and
// stopped by Close or when the Dialer closes. A recorder is unavailable
// while its last ping was answered 503 or not answered within
// OptionsTimeout (or its last INVITE got 503 or no answer); any other
// answer (200, even 405) means it is up. A recorder not pinged yet is
// pinged once before the first INVITE to it. The sessions go to the first
// available recorder of Dest, Failover... ; when an INVITE fails before any
// answer was accepted, the next available one is tried, except after a
// 6xx (a recorder that declines, e.g. an excluded DN, is final).
//
// Consent tone: when a recording's AudioSrc (or Consent.AudioSrc) asks for
// it, the tone is mixed into the audio of the channels Consent says record
// it (record_chan1source / record_chan2source), never while the recording
// is paused; see ConsentOptions and tone.go for the cadence. When the
// built-in 1400 Hz tone is played, a party tone within 100 Hz of it is
// moved an octave down.
//
// Set the fields before the first Start and do not copy a DialMedia.
type DialMedia struct {
	Dialer    *dial.Dialer
	Transport string        // "udp" (default), "tcp" or "tls" (a Dialer with TLS options)
	Codec     string        // "PCMU" (default) or "PCMA"
	SRTP      string        // send SRTP (SDES) with this suite (dial.SRTP...); "" plain RTP
	MaxLength time.Duration // upper bound of one session (default 4 h)
	Logger    *slog.Logger
	// OptionsInterval is the period of the OPTIONS pings (default 10 s;
	// negative: no pings, every recorder counts as available).
	OptionsInterval time.Duration
	// OptionsTimeout bounds one OPTIONS (default 2 s).
	OptionsTimeout time.Duration
	// Consent is the Media Server's consent-tone configuration (zero
	// value: the seed's defaults, no default tone).
	Consent ConsentOptions
	// Speech sends a synthetic voice per party (VoiceFor: pitch and timbre
	// from the DN, turn-taking within the call) instead of a tone per
	// party: the demo's recordings look and sound like conversations.
	Speech bool
	// DTMF: key presses the recorded party sends as RFC 4733 events on
	// every recording, shortly after it starts (dial.Spec.DTMF).
	DTMF string

	hmu     sync.Mutex
	health  map[string]*recorderHealth // by host:port
	pinging bool                       // the ping loop was started
	closed  bool
	stopCtx context.Context // cancelled by Close
	stop    context.CancelFunc
	wg      sync.WaitGroup // the ping loop
}

// recorderHealth is what the pings (and INVITEs) found out about one
// recorder. Guarded by DialMedia.hmu.
type recorderHealth struct {
	checked chan struct{} // closed once the first ping ended
	known   bool          // checked is closed
	up      bool
	status  int // last OPTIONS status (0: none)
}

func (d *DialMedia) log() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

// Start places the sessions in a goroutine and returns at once.
func (d *DialMedia) Start(ctx context.Context, rec Recording) (MediaSession, error) {
	if d.Dialer == nil {
		return nil, fmt.Errorf("%w: DialMedia without a Dialer", ErrConfig)
	}
	if rec.Dest == "" {
		return nil, fmt.Errorf("%w: no recorder destination", ErrRecording)
	}
	if err := d.Consent.Validate(); err != nil {
		return nil, err
	}
	d.hmu.Lock()
	closed := d.closed
	d.hmu.Unlock()
	if closed {
		return nil, fmt.Errorf("%w: media server", ErrClosed)
	}
	ctx, cancel := context.WithCancel(ctx)
	ms := &dialSession{cancel: cancel, done: make(chan struct{}), other: rec.OtherDN,
		kick: make(chan struct{}, 1),
		log:  d.log().With("record_id", rec.RecordID, "call_uuid", rec.CallUUID, "record_dn", rec.ThisDN)}
	go ms.run(ctx, d, rec)
	return ms, nil
}

// Close stops the OPTIONS pings and waits for them. Sessions already
// started run on (Stop them); Start fails afterwards. Idempotent.
func (d *DialMedia) Close() error {
	d.hmu.Lock()
	d.closed = true
	if d.stop != nil {
		d.stop()
	}
	d.hmu.Unlock()
	d.wg.Wait()
	return nil
}

func (d *DialMedia) pingsOn() bool { return d.OptionsInterval >= 0 }

// available reports whether target may be sent INVITEs, pinging it first
// (once, shared by concurrent callers) when it was never pinged. It starts
// the ping loop with the first recorder it learns.
func (d *DialMedia) available(ctx context.Context, target string) bool {
	if !d.pingsOn() {
		return true
	}
	d.hmu.Lock()
	if d.closed {
		d.hmu.Unlock()
		return true // no health information any more: try it
	}
	if d.health == nil {
		d.health = make(map[string]*recorderHealth)
		d.stopCtx, d.stop = context.WithCancel(context.Background())
	}
	h := d.health[target]
	first := h == nil
	if first {
		h = &recorderHealth{checked: make(chan struct{})}
		d.health[target] = h
	}
	if !d.pinging {
		d.pinging = true
		interval := d.OptionsInterval
		if interval == 0 {
			interval = DefaultOptionsInterval
		}
		d.wg.Add(1)
		go d.pingLoop(d.stopCtx, interval)
	}
	stopCtx := d.stopCtx
	d.hmu.Unlock()
	if first {
		d.ping(stopCtx, target)
	}
	select {
	case <-h.checked:
	case <-ctx.Done():
		return false
	}
	d.hmu.Lock()
	defer d.hmu.Unlock()
	return h.up
}

// pingLoop pings every known recorder each interval until Close or until
// the Dialer closes.
func (d *DialMedia) pingLoop(ctx context.Context, interval time.Duration) {
	defer d.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.Dialer.Done():
			return
		case <-t.C:
		}
		d.hmu.Lock()
		targets := make([]string, 0, len(d.health))
		for tg := range d.health {
			targets = append(targets, tg)
		}
		d.hmu.Unlock()
		sem := make(chan struct{}, maxParallelPings)
		var wg sync.WaitGroup
		for _, tg := range targets {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				d.ping(ctx, tg)
			})
		}
		wg.Wait()
	}
}

// ping sends one OPTIONS to target and records the outcome.
func (d *DialMedia) ping(ctx context.Context, target string) {
	timeout := d.OptionsTimeout
	if timeout <= 0 {
		timeout = DefaultOptionsTimeout
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	code, err := d.Dialer.OptionsVia(pctx, target, d.Transport)
	if err != nil && ctx.Err() != nil {
		code, err = 0, ctx.Err()
	}
	d.setHealth(target, err == nil && code != 503, code, err, "OPTIONS")
}

// setHealth records what a ping or an INVITE found out about target.
func (d *DialMedia) setHealth(target string, up bool, code int, err error, by string) {
	d.hmu.Lock()
	defer d.hmu.Unlock()
	if d.health == nil {
		return // pings off, or never started
	}
	h := d.health[target]
	if h == nil {
		return
	}
	if !h.known || h.up != up {
		lvl := slog.LevelInfo
		if !up {
			lvl = slog.LevelWarn
		}
		d.log().Log(context.Background(), lvl, "recorder health", "target", target, "up", up, "status", code, "by", by, "error", err)
	}
	h.up, h.status = up, code
	if !h.known {
		h.known = true
		close(h.checked)
	}
}

type dialSession struct {
	cancel context.CancelFunc
	done   chan struct{}
	paused atomic.Bool
	pauses atomic.Uint64 // Pause(true) calls (restart the consent tone's cadence)
	log    *slog.Logger
	kick   chan struct{} // cap 1: the other party changed (Retarget)

	mu    sync.Mutex
	other string
	err   error
}

func (ms *dialSession) run(ctx context.Context, d *DialMedia, rec Recording) {
	defer close(ms.done)
	if rec.Misbehave.InviteDelay > 0 {
		t := time.NewTimer(rec.Misbehave.InviteDelay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
	maxLen := d.MaxLength
	if maxLen <= 0 {
		maxLen = 4 * time.Hour
	}
	noRTP := rec.Misbehave.NoRTP
	plan, err := newConsentPlan(d.Consent, rec)
	switch {
	case err != nil:
		ms.log.Warn("consent tone not applied", "audiosrc", rec.AudioSrc, "tonesilenceduration", rec.ToneSilence, "error", err)
	case plan != nil:
		ms.log.Info("consent tone on", "samples", len(plan.signal), "silence_samples", plan.silence,
			"builtin", plan.builtin, "recorded_chan1", plan.chan1, "recorded_chan2", plan.chan2)
	}
	partyTone := func(f float64) float64 {
		if plan != nil && plan.builtin {
			return avoidConsentTone(f)
		}
		return f
	}
	group := append([]string{rec.Dest}, rec.Failover...)
	tried := false
	reinvites := make(chan dial.Reinvite)
	for _, target := range group {
		if !d.available(ctx, target) {
			if ctx.Err() != nil {
				return
			}
			ms.log.Info("recorder skipped: unavailable by OPTIONS", "target", target)
			continue
		}
		tried = true
		// A transfer before the INVITEs: they carry the new other party.
		ms.mu.Lock()
		other := ms.other
		ms.mu.Unlock()
		otherDN := other
		if otherDN == "" {
			otherDN = "unknown"
		}
		// Each attempt's sessions start the tone's cadence afresh.
		var clock1, clock2 *consentClock
		if plan != nil && plan.chan1 {
			clock1 = &consentClock{plan: plan, paused: &ms.paused, pauses: &ms.pauses, gen: ms.pauses.Load()}
		}
		if plan != nil && plan.chan2 {
			clock2 = &consentClock{plan: plan, paused: &ms.paused, pauses: &ms.pauses, gen: ms.pauses.Load()}
		}
		otherSrc := func(other string) dial.Source {
			if d.Speech {
				return withConsent(VoiceFor(other, rec.CallUUID, false), clock2)
			}
			return withConsent(dial.Tone(partyTone(otherTone(rec, other)), dial.DefaultAmp), clock2)
		}
		recSrc := withConsent(dial.Tone(partyTone(rec.Tones[0]), dial.DefaultAmp), clock1)
		if d.Speech {
			recSrc = withConsent(VoiceFor(rec.ThisDN, rec.CallUUID, true), clock1)
		}
		spec := dial.Spec{
			Target: target, Transport: d.Transport, Mode: dial.ModeMSR,
			RecordID: rec.RecordID, CallUUID: rec.CallUUID, DN: rec.ThisDN, OtherDN: otherDN,
			Codec:     d.Codec,
			SRTP:      d.SRTP,
			DTMF:      d.DTMF,
			Sources:   []dial.Source{recSrc, otherSrc(other)},
			Duration:  maxLen,
			SingleLeg: rec.Misbehave.SingleLeg,
			StartSkew: rec.Misbehave.LegSkew,
			Mute:      func() bool { return noRTP || ms.paused.Load() },
			MuteParty: func(party int) bool { return rec.Misbehave.SilentLeg && party == 1 },
			Reinvites: reinvites,
		}
		if rec.Misbehave.SSRCChange {
			spec.SSRCChangeAt = time.Second
		}
		if rec.Misbehave.SRTPWrongKey {
			spec.SRTPWrongKey = true
			if spec.SRTP == "" {
				spec.SRTP = dial.SRTPAES128CMSHA1_80
			}
		}
		ms.log.Debug("placing MSR sessions", "target", target)
		fwdCtx, stopFwd := context.WithCancel(ctx)
		var fwd sync.WaitGroup
		fwd.Go(func() { ms.forwardRetargets(fwdCtx, reinvites, otherSrc, other) })
		res, err := d.Dialer.Call(ctx, spec)
		stopFwd()
		fwd.Wait()
		if err == nil || ctx.Err() != nil {
			return
		}
		answered := false
		if res != nil {
			for _, st := range res.Statuses {
				answered = answered || (st >= 200 && st < 300)
			}
		}
		var se *dial.StatusError
		isStatus := errors.As(err, &se)
		final := isStatus && se.Code >= 600
		if !answered && ((isStatus && se.Code == 503) || errors.Is(err, dial.ErrTransport)) {
			code := 0
			if isStatus {
				code = se.Code
			}
			d.setHealth(target, false, code, err, "INVITE")
		}
		ms.log.Warn("MSR sessions failed", "target", target, "error", err)
		ms.mu.Lock()
		ms.err = err
		ms.mu.Unlock()
		if answered || final {
			return
		}
	}
	if !tried {
		err := fmt.Errorf("%w: no recorder of the group %v is available", ErrRecording, group)
		ms.log.Warn("recording not placed", "error", err)
		ms.mu.Lock()
		ms.err = err
		ms.mu.Unlock()
	}
}

// otherTone is the tone of the recorded DN's other party (as the Sim
// picks it: distinct from the recorded party's).
func otherTone(rec Recording, other string) float64 {
	if other == rec.OtherDN {
		return rec.Tones[1]
	}
	t := toneFor(other)
	if t == rec.Tones[0] {
		t += 150
	}
	return t
}

// forwardRetargets turns Retarget calls into re-INVITEs of the other
// party's leg with new media, one at a time, until ctx ends (the Call
// returned). sent is the other party the sessions were placed with;
// source gives a party's audio.
func (ms *dialSession) forwardRetargets(ctx context.Context, out chan<- dial.Reinvite, source func(other string) dial.Source, sent string) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ms.kick:
		}
		ms.mu.Lock()
		other := ms.other
		ms.mu.Unlock()
		if other == sent || other == "" {
			continue
		}
		done := make(chan dial.ReinviteResult, 1)
		r := dial.Reinvite{Party: 1, NewMedia: true, Source: source(other), Done: done}
		select {
		case out <- r:
		case <-ctx.Done():
			return
		}
		select {
		case res := <-done:
			if res.Err != nil {
				ms.log.Warn("re-INVITE for the new other party failed", "other_dn", other, "statuses", res.Statuses, "error", res.Err)
			} else {
				ms.log.Debug("other party's leg re-INVITEd with new media", "other_dn", other)
			}
		case <-ctx.Done():
			return
		}
		sent = other
	}
}

// Pause withholds RTP (and the consent tone) while p; the consent tone's
// cadence restarts on resume.
func (ms *dialSession) Pause(p bool) {
	if p {
		ms.pauses.Add(1)
	}
	ms.paused.Store(p)
}

// Retarget records the new other party and has the other party's leg
// re-INVITEd with new media (a new source, port and tone); the recorded
// DN's leg keeps its session. It does not block.
func (ms *dialSession) Retarget(other string) {
	ms.mu.Lock()
	ms.other = other
	ms.mu.Unlock()
	select {
	case ms.kick <- struct{}{}:
	default: // a re-INVITE is already due; it reads the latest other party
	}
	ms.log.Debug("recorded DN's other party changed", "other_dn", other)
}

func (ms *dialSession) Stop() error {
	ms.cancel()
	<-ms.done
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.err
}

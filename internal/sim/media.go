package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openrec/openrec/internal/sim/rm"
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
	// Dest is the recorder (host:port) the request named (dest, dest2):
	// the sessions go there and nowhere else. Empty: Group places them.
	Dest string
	// Group is the Resource Manager's Logical Resource Group the sessions
	// go to when Dest is empty: it picks the recorder (load balancing,
	// capacity, health); an INVITE failing before any answer (503, no
	// answer) is tried on the next recorder it picks, never after a 6xx.
	Group *rm.Group
	// OnLost, when set, is called (once, from the Media Server's
	// goroutine) when the recorder holding the sessions went down (the
	// Group's pings found it dead): the sessions were torn down.
	OnLost func(addr string)
	Tones  [2]float64 // Hz: recorded party, other party
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

// DialMedia is the Media Server built on internal/sip/dial: two MSR INVITEs
// (one per party) per recording, G.711 tones per party, pause by
// withholding RTP, BYE on Stop.
//
// Transfers: Retarget re-INVITEs the other party's leg with new media (a
// new local RTP socket and port, a new SSRC, and the new party's tone)
// while the recorded DN's leg is untouched, so the recorder keeps ONE
// recording session: "recording is sticky to the recorded side".
//
// Recorder group: a Recording without Dest goes through its Group (the
// Resource Manager, internal/sim/rm), which picks the recorder; both MSR
// INVITEs hold one lease, so they land on the same recorder. When an
// INVITE fails before any answer was accepted (503, 5xx, no answer, a
// transport error) the lease is failed (the recorder is out until a ping
// finds it up) and the next recorder the Group picks is tried; a 6xx (a
// recorder that declines, e.g. an excluded DN) is final. When the Group
// finds the recorder dead while the sessions run, they are torn down (BYE,
// bounded) and Recording.OnLost is called. A re-INVITE of a transfer that
// gets no answer makes the Group ping that recorder at once. DialMedia is
// the Group's Pinger (Ping: SIP OPTIONS over Transport).
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

	hmu    sync.Mutex
	closed bool
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
	if rec.Dest == "" && rec.Group == nil {
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

// Close makes Start fail from now on; sessions already started run on
// (Stop them). Idempotent.
func (d *DialMedia) Close() error {
	d.hmu.Lock()
	d.closed = true
	d.hmu.Unlock()
	return nil
}

// Ping sends one SIP OPTIONS to addr over Transport and returns the final
// status: DialMedia is the Resource Manager's rm.Pinger.
func (d *DialMedia) Ping(ctx context.Context, addr string) (int, error) {
	if d.Dialer == nil {
		return 0, fmt.Errorf("%w: DialMedia without a Dialer", ErrConfig)
	}
	return d.Dialer.OptionsVia(ctx, addr, d.Transport)
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
	var tried []string
	reinvites := make(chan dial.Reinvite)
	for {
		target := rec.Dest
		var lease *rm.Lease
		if target == "" {
			l, err := rec.Group.Acquire(ctx, tried)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				err = fmt.Errorf("%w: %w", ErrRecording, err)
				ms.log.Warn("recording not placed", "tried", tried, "error", err)
				ms.setErr(err)
				return
			}
			lease, target = l, l.Addr()
		}
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
		ms.log.Info("placing MSR sessions", "recorder", target, "tried", tried)
		callCtx, cancelCall := context.WithCancel(ctx)
		var lost atomic.Bool
		var watch sync.WaitGroup
		if lease != nil {
			// The Group found the recorder dead: tear the sessions down
			// and say so at once (the BYEs to a dead recorder take their
			// timeout).
			watch.Go(func() {
				select {
				case <-lease.Lost():
				case <-callCtx.Done():
					return
				}
				if ctx.Err() != nil {
					return // stopped meanwhile
				}
				lost.Store(true)
				cancelCall()
				lease.Release() // the session is gone as far as the group is concerned
				ms.log.Warn("recorder lost: sessions torn down", "recorder", target)
				if rec.OnLost != nil {
					rec.OnLost(target)
				}
			})
		}
		suspect := func() {}
		if lease != nil {
			suspect = func() { rec.Group.Suspect(target) }
		}
		fwdCtx, stopFwd := context.WithCancel(callCtx)
		var fwd sync.WaitGroup
		fwd.Go(func() { ms.forwardRetargets(fwdCtx, reinvites, otherSrc, other, suspect) })
		res, err := d.Dialer.Call(callCtx, spec)
		stopFwd()
		fwd.Wait()
		cancelCall()
		watch.Wait()
		if lost.Load() {
			lease.Release()
			ms.setErr(fmt.Errorf("%w: %s", ErrRecorderLost, target))
			return
		}
		if err == nil || ctx.Err() != nil {
			if lease != nil {
				lease.Release()
			}
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
		if lease != nil {
			switch {
			case !answered && isStatus:
				lease.Fail(se.Code, err)
			case !answered && errors.Is(err, dial.ErrTransport):
				lease.Fail(0, err)
			default:
				lease.Release()
				if errors.Is(err, dial.ErrTransport) {
					rec.Group.Suspect(target) // an in-dialog request failed
				}
			}
		}
		ms.log.Warn("MSR sessions failed", "recorder", target, "error", err)
		ms.setErr(err)
		if answered || final || lease == nil {
			return
		}
		tried = append(tried, target)
	}
}

func (ms *dialSession) setErr(err error) {
	ms.mu.Lock()
	ms.err = err
	ms.mu.Unlock()
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
func (ms *dialSession) forwardRetargets(ctx context.Context, out chan<- dial.Reinvite, source func(other string) dial.Source, sent string, suspect func()) {
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
				if errors.Is(res.Err, dial.ErrTransport) || slices.Contains(res.Statuses, 408) {
					suspect() // no answer in the dialog: is the recorder alive?
				}
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

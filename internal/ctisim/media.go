package ctisim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openrec/openrec/internal/dial"
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
	// Dest fails before answering (never after a 6xx).
	Failover []string
	// Geo is the request's record= geo-location selection (source|destination).
	Geo string
	// AudioSrc and ToneSilence are the consent-tone parameters of the
	// request (audiosrc, tonesilenceduration); DialMedia does not play them.
	AudioSrc, ToneSilence string
	Misbehave             Misbehaviour
}

// MediaSession is a running recording.
type MediaSession interface {
	Pause(paused bool)
	Stop() error             // BYE; waits for the session to end
	Retarget(otherDN string) // the recorded DN's other party changed
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
	// LegSkew delays the second leg's INVITE.
	LegSkew time.Duration `yaml:"leg_skew"`
}

// DialMedia is the Media Server built on internal/dial: two MSR INVITEs
// (one per party) per recording, G.711 tones per party, pause by
// withholding RTP, BYE on Stop, fail-over along Recording.Failover.
type DialMedia struct {
	Dialer    *dial.Dialer
	Transport string        // "udp" (default) or "tcp"
	Codec     string        // "PCMU" (default) or "PCMA"
	MaxLength time.Duration // upper bound of one session (default 4 h)
	Logger    *slog.Logger
}

// Start places the sessions in a goroutine and returns at once.
func (d *DialMedia) Start(ctx context.Context, rec Recording) (MediaSession, error) {
	if d.Dialer == nil {
		return nil, fmt.Errorf("%w: DialMedia without a Dialer", ErrConfig)
	}
	if rec.Dest == "" {
		return nil, fmt.Errorf("%w: no recorder destination", ErrRecording)
	}
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	ms := &dialSession{cancel: cancel, done: make(chan struct{}), other: rec.OtherDN,
		log: log.With("record_id", rec.RecordID, "call_uuid", rec.CallUUID, "record_dn", rec.ThisDN)}
	go ms.run(ctx, d, rec)
	return ms, nil
}

type dialSession struct {
	cancel context.CancelFunc
	done   chan struct{}
	paused atomic.Bool
	log    *slog.Logger

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
	for _, target := range append([]string{rec.Dest}, rec.Failover...) {
		spec := dial.Spec{
			Target: target, Transport: d.Transport, Mode: dial.ModeMSR,
			RecordID: rec.RecordID, CallUUID: rec.CallUUID, DN: rec.ThisDN, OtherDN: rec.OtherDN,
			Codec:     d.Codec,
			Sources:   []dial.Source{dial.Tone(rec.Tones[0], dial.DefaultAmp), dial.Tone(rec.Tones[1], dial.DefaultAmp)},
			Duration:  maxLen,
			SingleLeg: rec.Misbehave.SingleLeg,
			StartSkew: rec.Misbehave.LegSkew,
			Mute:      func() bool { return noRTP || ms.paused.Load() },
		}
		if spec.OtherDN == "" {
			spec.OtherDN = "unknown"
		}
		ms.log.Debug("placing MSR sessions", "target", target)
		res, err := d.Dialer.Call(ctx, spec)
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
		final := errors.As(err, &se) && se.Code >= 600
		ms.log.Warn("MSR sessions failed", "target", target, "error", err)
		ms.mu.Lock()
		ms.err = err
		ms.mu.Unlock()
		if answered || final {
			return
		}
	}
}

func (ms *dialSession) Pause(p bool) { ms.paused.Store(p) }

// Retarget records the new other party. internal/dial cannot re-INVITE
// yet, so the sessions keep their media (the recorded side keeps its
// session, which is what the recorder sees from a real Media Server too,
// minus the re-INVITE).
func (ms *dialSession) Retarget(other string) {
	ms.mu.Lock()
	ms.other = other
	ms.mu.Unlock()
	ms.log.Debug("recorded DN's other party changed", "other_dn", other)
}

func (ms *dialSession) Stop() error {
	ms.cancel()
	<-ms.done
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.err
}

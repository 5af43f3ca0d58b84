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


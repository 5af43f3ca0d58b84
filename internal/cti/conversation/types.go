package conversation

import (
	"strings"
	"time"

	"github.com/openrec/openrec/internal/cti/tlib"
)

// Action is something the engine asks the application to do.
type Action interface{ isAction() }

// PrivateService asks for RequestPrivateService (recording control). Feed
// the outcome back with Engine.ServiceResult.
type PrivateService struct {
	Server   string
	DN       string // AttributeThisDN
	ConnID   tlib.ConnID
	MsgID    int         // AttributePrivateMsgID (3013–3016 by default)
	Op       Op          // the same as MsgID, by name
	Ext      tlib.KVList // AttributeExtensions: record, id, dest, dest2, audiosrc, tonesilenceduration
	CallUUID string
	RecordID string
}

// UpdateUserData asks for RequestUpdateUserData (Notification of Recording).
type UpdateUserData struct {
	Server   string
	DN       string
	ConnID   tlib.ConnID
	Data     tlib.KVList
	CallUUID string
}

// AlertKind classifies failed-recording alerts.
type AlertKind string

// Alert kinds.
const (
	AlertNoLeg        AlertKind = "no-leg"
	AlertOneLeg       AlertKind = "one-leg"
	AlertNoRTP        AlertKind = "no-rtp"
	AlertOrphanLeg    AlertKind = "orphan-leg"
	AlertRecovered    AlertKind = "recovered"
	AlertServiceError AlertKind = "service-error"
	// AlertNoScreen: a recording asked for screen recording and no
	// screen video arrived within the timeout (issue 18; raised by
	// callcore, which follows the screen sessions).
	AlertNoScreen AlertKind = "no-screen"
)

// Alert reports a failed (or recovered) recording: log it with the
// identifiers, count it, show it.
type Alert struct {
	Kind     AlertKind
	At       time.Time
	CallUUID string
	RecordID string
	DN       string
	Detail   string
}

// Finished reports that a call is over and its wrap-up period has passed:
// the couples are final. Call is a copy.
type Finished struct{ Call *Call }

// Retention tells the application the keep/delete state of the media of
// a recording (every leg with RecordID, or the recordings of DN on the
// call when RecordID is empty): KeepUndecided = a pre-recording awaiting a
// keep request, KeepYes = keep it, KeepNo = delete its audio (pre-recording
// not kept, or a do-not-record decision).
type Retention struct {
	CallUUID string
	RecordID string
	DN       string
	Keep     Keep
	Reason   string
	At       time.Time
}

func (Retention) isAction()      {}
func (PrivateService) isAction() {}
func (UpdateUserData) isAction() {}
func (Alert) isAction()          {}
func (Finished) isAction()       {}

// Op is a recording-control operation.
type Op string

// Recording-control operations.
const (
	OpStart  Op = "start"
	OpStop   Op = "stop"
	OpPause  Op = "pause"
	OpResume Op = "resume"
)

// Source is what made a recording known.
type Source string

// Recording sources.
const (
	SourceDNOption Source = "dn-option" // DN option record=true
	SourceUserData Source = "user-data" // GSIP_RECORD=ON
	SourceRequest  Source = "request"   // our GSIP_RECORD_START, acknowledged
	SourceMedia    Source = "media"     // a leg arrived without CTI saying so
)

// RecState is the state of one recording.
type RecState string

// Recording states (also GEN_REC_STATE).
const (
	RecRequested RecState = "REQUESTED" // our START sent, no answer yet
	RecOn        RecState = "ON"
	RecPaused    RecState = "PAUSED"
	RecOff       RecState = "OFF"
	RecFailed    RecState = "FAILED" // our START answered with EventError
)

// Failure is a detected failed-recording state.
type Failure string

// Failures.
const (
	FailNone   Failure = ""
	FailNoLeg  Failure = "no-leg"
	FailOneLeg Failure = "one-leg"
	FailNoRTP  Failure = "no-rtp"
)

// Keep is the fate of a pre-recording.
type Keep int

// Pre-recording fates.
const (
	KeepUndecided Keep = iota
	KeepYes
	KeepNo
)

// Leg is one media leg (MSR session / SIPREC stream) joined to a recording.
type Leg struct {
	RecordID string
	DN       string
	At       time.Time
	Audio    time.Time // first audio; zero until then
	Parties  int       // parties whose audio the session carries (0 means 1)
}

// Recording is one recording of a monitored DN of a call.
type Recording struct {
	ID        string // record id (ours, or from the leg's record=<id>)
	DN        string
	Source    Source
	State     RecState
	Since     time.Time // CTI said recorded (ON) at
	Prerecord bool
	Keep      Keep
	Explicit  bool // stopped explicitly (GSIP_RECORD=OFF / STOP), not by the party leaving
	// PCIPaused: the automatic PCI pause paused it (or asked to) and
	// resumes it when the payment phase ends.
	PCIPaused bool
	// pciPending: that pause request is not answered yet (the phase may
	// end before it is: the resume waits for the answer); pciFailed: it
	// failed, and is not asked again until the phase ends.
	pciPending, pciFailed bool
	Legs                  []Leg
	Audio                 time.Time // first audio of any leg
	Failure               Failure
	Error                 string // EventError text of a request
	// Rule, RuleGroup, RuleAction: the recording rule that decided this
	// DN last (GEN_REC_RULE, GEN_REC_RULE_GROUP, GEN_REC_RULE_ACTION).
	Rule, RuleGroup, RuleAction string
	// Discarded: a do-not-record decision (or a refused pre-recording)
	// marked the audio for deletion; Reason says why.
	Discarded     bool
	DiscardReason string
}

// LocalRecordPrefix starts the record id of a recording the recorder
// makes without SIP Server (passive capture, EPR): SIP Server is not asked
// to pause or resume it (it would refuse: it does not record the call);
// its state changes here and the recorder applies it (callcore's Pauser).
const LocalRecordPrefix = "epr-"

// Local reports whether the recording is made without SIP Server
// (LocalRecordPrefix).
func (r *Recording) Local() bool { return strings.HasPrefix(r.ID, LocalRecordPrefix) }

// active reports whether the recording is running or about to.
func (r *Recording) active() bool {
	return r.State == RecOn || r.State == RecPaused || r.State == RecRequested
}

// PartyState is the state of a DN on a call.
type PartyState string

// Party states.
const (
	PartyRinging     PartyState = "ringing"
	PartyDialing     PartyState = "dialing"
	PartyEstablished PartyState = "established"
	PartyHeld        PartyState = "held"
	PartyReleased    PartyState = "released"
)

// Party is one DN on a call.
type Party struct {
	DN        string
	AgentID   string
	Queue     string
	OtherDN   string // the other party as this DN's events name it
	Monitored bool
	State     PartyState
	Joined    time.Time
	couple    int // index of the open couple, -1 if none
}

// Supervision is an active supervisor monitoring or coaching.
type Supervision struct {
	Mode  string // Monitoring | Coaching
	Scope string // Call | Agent
	SupID string // supervisor agent id
	SupDN string
}

// CoupleEvent is something that happened within a couple without starting a
// new one (hold, retrieve, pause, resume).
type CoupleEvent struct {
	At   time.Time
	Kind string // held, retrieved, paused, resumed, stopped
	DN   string
}

// Couple is one conversation segment: one recorded DN, its other party, a
// time span and the ConnID, with the external data of that span.
type Couple struct {
	Start, End time.Time // End zero while open
	ThisDN     string
	OtherDN    string
	ConnID     tlib.ConnID
	// Reason the couple started: established, transfer, conference,
	// supervision, resync.
	Reason       string
	Members      []string // conference members (3 or more parties), else nil
	Supervision  *Supervision
	Events       []CoupleEvent
	ExternalData map[string]string
	// EndUncertain: the couple ended while the CTI link was down; End is
	// the time the link went down.
	EndUncertain bool
}

// Call is one call (CallUUID) as seen from the monitored DNs.
type Call struct {
	CallUUID string
	Server   string
	Switch   string
	ConnIDs  []tlib.ConnID // every ConnID of the call, the original first
	ConnID   tlib.ConnID   // current
	Type     int           // tlib.CallType*
	CallID   int64
	ANI      string
	DNIS     string
	// Other attributes kept for GEN_TEV_*.
	CollectedDigits, CustomerID string
	NetworkCallID               tlib.ConnID
	NetworkNodeID, NodeID       int64
	Parties                     []Party
	Members                     []string // DNs on the call, in join order
	Couples                     []Couple
	UserData                    tlib.KVList // merged attached data (UTF-8)
	Extensions                  tlib.KVList // merged AttributeExtensions (UTF-8)
	Recordings                  []Recording
	// Recorded: CTI or media said at some point that the call is recorded.
	Recorded     bool
	Notification string // last value decided (GEN_REC_AUDIO)
	Supervision  *Supervision
	Started      time.Time
	Released     time.Time // zero while a monitored party is on the call
	Unsynced     bool      // the CTI link went down and the call is not confirmed yet
	Errors       []string
}

// Counters are the engine's monotonic counters.
type Counters struct {
	Calls, Couples        uint64
	NoLeg, OneLeg, NoRTP  uint64
	OrphanLegs, Recovered uint64
	ServiceErrors         uint64
	Notifications         uint64
	Requests              uint64
}

// Orphan is a leg that matched no call.
type Orphan struct {
	RecordID, CallUUID, DN string
	At                     time.Time
	Audio                  time.Time
	Reported               bool // past OrphanTimeout, alert sent
	// Lookup: a GIM lookup over T-Library is asking SIP Server about the
	// leg; no alert until it settles (see LookupStarted).
	Lookup  bool
	Parties int // as in Leg
}

// Open reports whether the couple is still open.
func (c *Couple) Open() bool { return c.End.IsZero() }

func (c *Call) clone() *Call {
	d := *c
	d.ConnIDs = append([]tlib.ConnID(nil), c.ConnIDs...)
	d.Parties = append([]Party(nil), c.Parties...)
	d.Members = append([]string(nil), c.Members...)
	d.UserData = append(tlib.KVList(nil), c.UserData...)
	d.Extensions = append(tlib.KVList(nil), c.Extensions...)
	d.Errors = append([]string(nil), c.Errors...)
	if c.Supervision != nil {
		s := *c.Supervision
		d.Supervision = &s
	}
	d.Couples = make([]Couple, len(c.Couples))
	for i, cp := range c.Couples {
		cp.Members = append([]string(nil), cp.Members...)
		cp.Events = append([]CoupleEvent(nil), cp.Events...)
		if cp.Supervision != nil {
			s := *cp.Supervision
			cp.Supervision = &s
		}
		m := make(map[string]string, len(cp.ExternalData))
		for k, v := range cp.ExternalData {
			m[k] = v
		}
		cp.ExternalData = m
		d.Couples[i] = cp
	}
	d.Recordings = make([]Recording, len(c.Recordings))
	for i, r := range c.Recordings {
		r.Legs = append([]Leg(nil), r.Legs...)
		d.Recordings[i] = r
	}
	return &d
}

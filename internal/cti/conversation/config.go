package conversation

import (
	"log/slog"
	"time"

	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/cti/dnfilter"
)

// Config configures an Engine. The zero value of every field is a usable
// default (seed 000/002 defaults).
type Config struct {
	// Filter selects the monitored DNs; nil monitors all.
	Filter *dnfilter.Filter
	// Config is the configuration cache (DN options, agents, tenants); nil
	// means no GEN_CFG_* data and no record=true DNs.
	Config *ccdata.Cache
	// Switches maps a CTI server name to its switch name in the
	// configuration; a server missing here is its own switch name.
	Switches map[string]string
	Keys     Keys
	Notify   NotifyConfig
	Record   RecordConfig
	Detect   DetectConfig
	// WrapUp is how long after release attached-data changes still update
	// the call's couples (wrap-up); default 60 s. When it has passed Tick
	// returns Finished for the call and forgets it.
	WrapUp time.Duration
	// Charset is the source charset of KVString attached data and
	// extensions (seed 000: e.g. ParseCharset("cp1250")); zero = UTF-8.
	Charset Charset
	// Tenants overrides settings per tenant DBID (multi-tenancy: "override
	// defaults"); a tenant missing here reuses the defaults.
	Tenants map[int]TenantConfig
	// OnlyListedTenants: DNs of tenants missing from Tenants are not
	// monitored ("only connect to tenants listed").
	OnlyListedTenants bool
	// ResyncWindow: after LinkUp, calls of that server not confirmed by an
	// event (EventPartyInfo from the resynchronisation or any call event)
	// within this window are ended at the time of LinkDown; default 10 s.
	ResyncWindow time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
}

// TenantConfig is one tenant's override of the defaults. Nil / zero
// fields reuse the default.
type TenantConfig struct {
	Name   string
	Filter *dnfilter.Filter // DN include/exclude of the tenant
	Keys   *Keys
	// Record overrides the START extensions (geo, dest, dest2, audiosrc,
	// tonesilenceduration) when its fields are set.
	Record *RecordConfig
}

// KeyMap renames one source key to its external-data key (seed 000:
// msgDataKey→coupleMsgDataKey, agentDataKey→coupleAgentDataKey,
// extDataKey→coupleExtDataKey). To "" keeps the name.
type KeyMap struct{ From, To string }

// Keys are the configurable key lists. For every class, configuring at
// least one key switches that class's defaults off (seed 000).
type Keys struct {
	// Message: GEN_TEV_<To> from the event attribute From (AgentID, ANI,
	// CallID, CallUuid, CallType, ConnID, DNIS, OtherDN, ThisDN,
	// CollectedDigits, CustomerID, NetworkCallID, NetworkNodeID, NodeID,
	// ThisQueue). Empty = DefaultMessageKeys.
	Message []KeyMap
	// User: GEN_USR_<To> from attached-data key From. No defaults.
	User []KeyMap
	// Extension: GEN_EXT_<To> from AttributeExtensions key From. No defaults.
	Extension []KeyMap
	// Agent: GEN_CFG_* agent data (ccdata.AgentData); empty Keys = defaults.
	Agent ccdata.AgentKeys
}

// DefaultMessageKeys are the GEN_TEV_* keys stored by default (seed 000, bold).
var DefaultMessageKeys = []string{"AgentID", "ANI", "CallID", "CallUuid", "CallType", "ConnID", "DNIS", "OtherDN", "ThisDN"}

// OptionalMessageKeys may be configured in addition (list them together
// with the defaults you want to keep).
var OptionalMessageKeys = []string{"CollectedDigits", "CustomerID", "NetworkCallID", "NetworkNodeID", "NodeID", "ThisQueue"}

// NotifyConfig configures Notification of Recording (docs/notification.md).
type NotifyConfig struct {
	Disabled     bool
	KeyMandatory string // default RECORDING_STATUS
	KeyOptional  string // default GIM; "-" = no optional part
	Yes          string // RECORDING_YES
	No           string // RECORDING_NO
	NoLonger     string // RECORDING_NO_LONGER
	Prerecord    string // RECORDING_PRERECORD
	Undefined    string // RECORDING_UNDEFINED
	// TimeoutValue is sent when the deadline passes while recording is
	// expected but no audio came: Undefined (default) or No.
	TimeoutValue string
	Timeout      time.Duration // default 3 s
	// Tenants overrides the whole setting per tenant DBID.
	Tenants map[int]NotifyConfig
}

// Key is the attached-data key `<mandatory>_<optional>`.
func (n NotifyConfig) Key() string {
	n = n.withDefaults()
	if n.KeyOptional == "-" {
		return n.KeyMandatory
	}
	return n.KeyMandatory + "_" + n.KeyOptional
}

func (n NotifyConfig) withDefaults() NotifyConfig {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&n.KeyMandatory, "RECORDING_STATUS")
	def(&n.KeyOptional, "GIM")
	def(&n.Yes, "RECORDING_YES")
	def(&n.No, "RECORDING_NO")
	def(&n.NoLonger, "RECORDING_NO_LONGER")
	def(&n.Prerecord, "RECORDING_PRERECORD")
	def(&n.Undefined, "RECORDING_UNDEFINED")
	def(&n.TimeoutValue, n.Undefined)
	if n.Timeout <= 0 {
		n.Timeout = 3 * time.Second
	}
	return n
}

// Geo is the geo-location selection of RequestPrivateService (seed 002 ch. 4).
type Geo int

// Geo-location settings.
const (
	GeoNone        Geo = iota // do not send (default)
	GeoSource                 // record=source (thisDN)
	GeoDestination            // record=destination (otherDN)
)

// MsgIDs are the PrivateMsgIDs of recording control.
type MsgIDs struct{ Start, Stop, Pause, Resume int }

// RecordConfig configures recording control.
type RecordConfig struct {
	MsgIDs MsgIDs // default 3013, 3014, 3015, 3016
	Geo    Geo
	Dest   string // Extensions dest when set
	Dest2  string // Extensions dest2 when set
	// AudioSrc / ToneSilenceDuration: consent-tone parameters, sent when set
	// (a Decision may override them per call).
	AudioSrc            string
	ToneSilenceDuration string
	// Consult: consult calls (CallType 4) are offered to Rule as well.
	Consult bool
	// Rule is the recording-rules decision for a monitored DN of a call.
	// It runs when the DN becomes established, and again for every live
	// monitored DN when attached data or the parties change (transfer,
	// conference). Record starts a recording (GSIP_RECORD_START) unless
	// SIP Server records the DN already (record=true); DoNotRecord stops
	// any recording of the DN, even record=true or a desktop's, and marks
	// its audio for deletion; Prerecord records and keeps only on a keep
	// request. nil = never ask (record=true DNs, desktops and GSIP_RECORD
	// still work).
	Rule func(c *Call, dn string) Decision
	// KeepKey is the attached-data (or EventUserEvent user-data) key of a
	// keep request for pre-recordings: true/yes/1/keep keeps, false/no/0/
	// discard discards. Default RECORDING_KEEP.
	KeepKey string
	// Rule and NewID run under the engine's lock: they must not call the
	// Engine.
	//
	// NewID returns a unique recording id (the `id` extension, found again
	// in the MSR Request-URI record=<id>). Default: CallUUID + 4 hex digits
	// of a per-engine sequence.
	NewID func(c *Call, dn string, seq uint64) string
	// PCI pauses every running recording of a call while card data may be
	// spoken or keyed (PCI DSS) and resumes what it paused afterwards.
	PCI PCIConfig
}

// PCIConfig is the automatic PCI pause. A call is in a payment phase
// while a DN matching DNs (a payment IVR, its routing point) is on the
// call, or while the attached-data key Key says so (start/on/true/yes/1;
// stop/off/false/no/0 ends it). Zero = off.
type PCIConfig struct {
	DNs *dnfilter.Filter // its include list (must not be empty) names the payment DNs

	Key string
}

// On reports whether the automatic PCI pause is configured.
func (c PCIConfig) On() bool { return c.DNs != nil || c.Key != "" }

// Decision is the answer of RecordConfig.Rule.
type Decision struct {
	Record      bool
	Prerecord   bool // with Record: keep/discard decided later (Engine.Keep)
	DoNotRecord bool
	// Rule and Group name the winning rule (stored as GEN_REC_RULE,
	// GEN_REC_RULE_GROUP); empty when none matched.
	Rule, Group string
	// Optional per-call overrides of the START extensions.
	AudioSrc, ToneSilenceDuration string
	Geo                           string // "", none, source, destination
	Dest, Dest2                   string
}

// action is the decision's rule action name (GEN_REC_RULE_ACTION).
func (d Decision) action() string {
	switch {
	case d.DoNotRecord:
		return "do_not_record"
	case d.Prerecord:
		return "prerecord"
	case d.Record:
		return "record"
	}
	return "none"
}

// ParseGeo maps none|source|destination ("" = none).
func ParseGeo(s string) (Geo, error) {
	switch s {
	case "", "none":
		return GeoNone, nil
	case "source":
		return GeoSource, nil
	case "destination":
		return GeoDestination, nil
	}
	return GeoNone, errorf(ErrConfig, "geo %q: want none, source or destination", s)
}

// DetectConfig configures failed-recording detection.
type DetectConfig struct {
	LegTimeout    time.Duration // default 5 s
	RTPTimeout    time.Duration // default 5 s
	OrphanTimeout time.Duration // default 5 s
	ExpectLegs    int           // default 2 (one MSR session per party)
	// AudioPerLeg says AudioArrived comes once per leg (the recorder's
	// callcore): a leg without audio after RTPTimeout is a no-rtp failure
	// even when another leg carries audio. Without it AudioArrived is the
	// first audio of the recording and only a recording with no audio at
	// all is one.
	AudioPerLeg bool
}

func (c Config) withDefaults() Config {
	if c.WrapUp <= 0 {
		c.WrapUp = 60 * time.Second
	}
	if c.ResyncWindow <= 0 {
		c.ResyncWindow = 10 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Record.KeepKey == "" {
		c.Record.KeepKey = "RECORDING_KEEP"
	}
	m := &c.Record.MsgIDs
	if m.Start == 0 {
		m.Start = 3013
	}
	if m.Stop == 0 {
		m.Stop = 3014
	}
	if m.Pause == 0 {
		m.Pause = 3015
	}
	if m.Resume == 0 {
		m.Resume = 3016
	}
	d := &c.Detect
	if d.LegTimeout <= 0 {
		d.LegTimeout = 5 * time.Second
	}
	if d.RTPTimeout <= 0 {
		d.RTPTimeout = 5 * time.Second
	}
	if d.OrphanTimeout <= 0 {
		d.OrphanTimeout = 5 * time.Second
	}
	if d.ExpectLegs <= 0 {
		d.ExpectLegs = 2
	}
	return c
}

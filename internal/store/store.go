// Package store holds the recording metadata model shared by the recorder,
// the CLI and the API: a Recording with its parties, segments, events and
// external data, its retention state (pre-recording keep/discard), the
// Filter used to search recordings with its sort orders, pages and keyset
// cursors (search.go), the Deletion audit record, the JSON
// views the CLI and the REST API print (view.go), and the errors every
// store implementation returns (errors.go).
//
// Implementations live in sub-packages (store/sqlite, store/postgres;
// store/backend opens either by URL); the conformance suite every
// implementation must pass lives in store/storetest.
package store

import "time"

// Status is the life-cycle state of a recording.
type Status string

// Recording states. A recording starts in StatusRecording and ends in one of
// the other three; StatusReason says why it is partial or failed.
const (
	StatusRecording Status = "recording"
	StatusCompleted Status = "completed"
	StatusPartial   Status = "partial"
	StatusFailed    Status = "failed"
)

// Valid reports whether s is one of the known states.
func (s Status) Valid() bool {
	switch s {
	case StatusRecording, StatusCompleted, StatusPartial, StatusFailed:
		return true
	}
	return false
}

// Mode is how the media server delivered the recording.
type Mode string

// Recording modes: Genesys Media Stream Replication (one SIP session per
// party), SIPREC (RFC 7866, one session with N streams and metadata),
// Cisco recording without SIPREC (CUBE media forking, CUCM built-in
// bridge) or a plain INVITE recorded as offered.
const (
	ModeMSR    Mode = "msr"
	ModeSIPREC Mode = "siprec"
	ModeCisco  Mode = "cisco"
	ModePlain  Mode = "plain"
	// ModePassive is a call recorded from observed SIP and RTP (openrec
	// capture: a SPAN port or a pcap file), not sent to the recorder.
	ModePassive Mode = "passive"
)

// Valid reports whether m is one of the known modes.
func (m Mode) Valid() bool {
	return m == ModeMSR || m == ModeSIPREC || m == ModeCisco || m == ModePlain || m == ModePassive
}

// Recording is the stored metadata of one recording (one couple: usually two
// channels) and where its media lives.
type Recording struct {
	ID           string
	Mode         Mode
	Status       Status
	StatusReason string

	CallUUID        string   // Genesys CallUUID (MSR calluuid= or X-Genesys-CallUUID)
	RecordID        string   // MSR record=<id>
	SIPRECSessionID string   // rs-metadata session id
	SIPCallIDs      []string // Call-IDs of the SIP sessions that carried the media

	RecordedDN string
	OtherDN    string
	Parties    []Party

	StartedAt  time.Time
	EndedAt    time.Time // zero while recording
	DurationMS int64

	Channels   int
	Codecs     []string // negotiated encoding names, e.g. PCMU, PCMA
	Format     string   // storage format of the samples: ulaw | alaw | pcm16
	SampleRate int      // Hz: 16000 for a wideband call; 0 (unset) and 8000 mean 8000 (Rate)
	MediaPath  string
	// MediaObject is where the media lives when it left the local spool:
	// "s3://BUCKET/KEY" of the media object (its sidecars share the key
	// prefix); "" = on local disk at MediaPath. Only SetMediaObject writes it
	// (UpdateRecording leaves it and reads it back).
	MediaObject    string
	SizeBytes      int64
	SHA256         string // hex sha256 of the finished media file
	NeedsTranscode bool

	Metadata        string // raw SIPREC rs-metadata XML (latest)
	MetadataProblem string // why Metadata could not be used, if it could not

	Segments     []Segment
	Couples      []Couple
	Events       []Event // append-only: written by CreateRecording and AddEvents
	ExternalData map[string]string

	// Correlation says how the recording matched the CTI side: "" (no CTI
	// configured), "matched", or a failed-recording state such as
	// "no-cti-call" (a SIP session no CTI call explains).
	Correlation string

	// Retention is the keep/delete state: RetentionNone for an ordinary
	// recording. CreateRecording writes it; UpdateRecording never does (the
	// recorder rewrites whole rows while the CTI side decides), only
	// SetRetention, KeepRecording and DiscardRecording change it.
	Retention Retention
	// KeepUntil is, while pending, the deadline for a keep request; zero =
	// not known yet (the call still runs). DiscardRecording sets it to the
	// time the recording was marked.
	KeepUntil time.Time
	// RetentionReason says why, e.g. `rule "vip" (prerecord)`,
	// `do-not-record rule "no-ivr"`, "kept by request (cti)".
	RetentionReason string

	// Set by the store: CreatedAt on create (unless already set), UpdatedAt
	// on every create and update.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Rate is the recording's sample rate in Hz (8000 when SampleRate is unset).
func (r *Recording) Rate() int {
	if r.SampleRate <= 0 {
		return 8000
	}
	return r.SampleRate
}

// Retention is the keep/delete state of a recording.
type Retention string

// Retention states. A pre-recording is created (or marked) pending and
// becomes kept when a keep request arrives by KeepUntil, discard otherwise;
// a do-not-record decision after audio was captured marks any recording
// discard. The recorder deletes discarded recordings (media and row) and
// logs each deletion (Deletion).
const (
	RetentionNone    Retention = ""        // an ordinary recording
	RetentionPending Retention = "pending" // pre-recording: kept only if a keep request arrives by KeepUntil
	RetentionKept    Retention = "kept"    // pre-recording kept
	RetentionDiscard Retention = "discard" // to be deleted (pre-recording not kept, or a do-not-record decision)
)

// Valid reports whether r is one of the known states (RetentionNone
// included).
func (r Retention) Valid() bool {
	switch r {
	case RetentionNone, RetentionPending, RetentionKept, RetentionDiscard:
		return true
	}
	return false
}

// TenantKey is the external data key whose value names a recording's
// tenant (Filter.Tenant, Deletion.Tenant).
const TenantKey = "GEN_CFG_Tenant"

// RuleKey is the external data key whose value names the recording rule
// that started a recording (its retention period may be the rule's).
const RuleKey = "GEN_REC_RULE"

// Hold is a legal hold on a recording: no deletion while it stands.
type Hold struct {
	RecordingID string
	Reason      string // why (a case number, a complaint)
	SetBy       string // user name, or "cli:<login>"
	SetAt       time.Time
	// CallUUID names the call hold this hold comes from ("" = the
	// recording's own); set by the store.
	CallUUID string
}

// CallHold is a legal hold on a call: every recording of the call, also
// those it makes after the hold is set, is held until it is released.
type CallHold struct {
	CallUUID string
	Reason   string
	SetBy    string
	SetAt    time.Time
}

// Deletion is the audit record of a deleted recording.
type Deletion struct {
	RecordingID string
	CallUUID    string
	RecordID    string
	RecordedDN  string
	Tenant      string
	MediaPath   string
	Reason      string
	StartedAt   time.Time // of the recording
	At          time.Time // when it was deleted
}

// Party roles.
const (
	RoleRecorded    = "recorded"
	RoleOther       = "other"
	RoleParticipant = "participant"
)

// Party is one participant of a recording and the channel carrying it.
type Party struct {
	Channel       int
	Role          string // recorded | other | participant
	DN            string
	Label         string // SDP a=label (SIPREC stream label)
	AOR           string // SIPREC nameID aor
	Name          string
	ParticipantID string
	SIPCallID     string
}

// Segment types.
const (
	SegmentRecording = "recording"
	SegmentPause     = "pause"
	SegmentHold      = "hold"
)

// AllChannels is the Segment.Channel value of a segment covering every channel.
const AllChannels = -1

// Segment is a span of the recording timeline (milliseconds from its start).
type Segment struct {
	Type    string // recording | pause | hold
	Channel int    // -1 = all channels
	StartMS int64
	EndMS   int64
}

// Couple is one conversation segment inside a recording: one pair of
// parties over a span of the media file (a transfer or conference starts a
// new one), with its own external data. Offsets are milliseconds from the
// start of the recording; EndMS is -1 while open.
type Couple struct {
	StartMS      int64
	EndMS        int64
	ThisDN       string
	OtherDN      string
	ConnID       string // 16 hex digits
	CallUUID     string
	ExternalData map[string]string
}

// Event is something that happened during a recording. Events are
// append-only.
type Event struct {
	Type    string // dtmf | reinvite | update | timeout | bye | cancel | ssrc-change | codec-change | metadata | ...
	AtMS    int64  // milliseconds from the start of the recording
	Channel int
	Detail  string
	At      time.Time // wall clock, zero if unknown
}

// DefaultLimit is the number of recordings a Filter returns when Limit <= 0.
const DefaultLimit = 100

// Filter selects recordings. Zero fields do not filter; set fields are
// combined with AND.
//
// Patterns: in DN, Agent, ANI, DNIS and External values '*' matches any run
// of characters (none included) and every other character, '%' and '_'
// too, matches itself. DN is case-sensitive; the external data filters
// ignore ASCII case.
type Filter struct {
	Status   Status
	Mode     Mode
	CallUUID string
	RecordID string
	// DN matches RecordedDN or OtherDN: exactly, or as a pattern when it
	// holds '*'.
	DN    string
	Since time.Time // StartedAt >= Since
	Until time.Time // StartedAt < Until
	Limit int       // default DefaultLimit

	// Tenant keeps only recordings whose external data TenantKey
	// (GEN_CFG_Tenant) equals it, ignoring ASCII case: tenant isolation.
	// Empty does not filter, so a caller serving a tenant must always set it.
	Tenant string
	// Retention keeps only recordings in this state; "" = any (it cannot
	// select ordinary recordings only).
	Retention Retention
	// ExcludeDiscard hides recordings marked RetentionDiscard (lists shown
	// to users: those are about to be deleted).
	ExcludeDiscard bool

	// MinDurationMS and MaxDurationMS bound DurationMS (inclusive); 0 = no
	// bound. Negative values, or Min > Max with both set, are ErrInvalid.
	MinDurationMS, MaxDurationMS int64
	// Agent matches any of the recording's AgentKeys external data values
	// (agent id, user name, employee id, full, first or last name), a
	// pattern ignoring case.
	Agent string
	// ANI matches external data GEN_TEV_ANI, a pattern ignoring case.
	ANI string
	// DNIS matches external data GEN_TEV_DNIS, a pattern ignoring case.
	DNIS string
	// ConnID matches external data GEN_TEV_ConnID or the ConnID of any of
	// the recording's couples, exactly but ignoring case.
	ConnID string
	// Direction matches external data GEN_TEV_CallType (Inbound, Outbound,
	// Internal, Consult ...), exactly but ignoring case.
	Direction string
	// External keeps recordings whose external data has every pair: the
	// key exactly, the value a pattern ignoring case. An empty key or value
	// is ErrInvalid.
	External []KV

	// HasScreen, when set, keeps the recordings with (true) or without
	// (false) screen video (issue 18: any bytes of it stored).
	HasScreen *bool

	// OwnerAgent restricts the result to one agent's recordings (a user
	// with the agent role): those whose GEN_TEV_AgentID or
	// GEN_CFG_UserName equals it ignoring case ('*' is no wildcard here).
	// Empty does not restrict, so a caller serving an agent must always
	// set it.
	OwnerAgent string

	// Sort is the order of the result; "" = SortStartedDesc. An unknown
	// value is ErrInvalid. Ties are broken by ID, in the same direction.
	Sort Sort
	// Cursor continues a search after the page that returned it
	// (Page.NextCursor); "" = first page. A cursor that does not decode or
	// was made for another Sort is ErrInvalid.
	Cursor string
}

// EffectiveLimit returns f.Limit, or DefaultLimit when it is not positive.
func (f Filter) EffectiveLimit() int {
	if f.Limit <= 0 {
		return DefaultLimit
	}
	return f.Limit
}

// CleanExternalData returns a copy of m without empty keys and values (docs/design.md §3:
// empty values are not stored). It never returns nil.
func CleanExternalData(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if k != "" && v != "" {
			out[k] = v
		}
	}
	return out
}

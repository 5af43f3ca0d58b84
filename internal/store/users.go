package store

import "time"

// Users, login sessions and the audit log: what the REST API and the web UI
// authenticate and authorise with. Roles are plain strings here ("admin",
// "supervisor", "agent": internal/web/auth defines and checks them); the store
// keeps what it is given.

// User is an account of the API / web UI. Names are unique ignoring ASCII
// case and looked up that way; Name keeps the case it was created with.
type User struct {
	Name         string
	Role         string // admin | supervisor | agent (auth.Role)
	Tenant       string // the tenant a supervisor or agent sees; "" = none (admin)
	AgentID      string // the agent's login / employee id, to find their recordings
	PasswordHash string // bcrypt (auth.HashPassword); "" = cannot log in with a password
	Disabled     bool

	// Set by the store: CreatedAt on create (unless already set), UpdatedAt
	// on every create and update.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Session kinds.
const (
	SessionUI  = "ui"  // a web UI login (cookie + CSRF token)
	SessionAPI = "api" // an API token (Authorization: Bearer)
)

// Session is a login session or an API token. The store keeps only the
// token's hash (auth.HashToken), never the token.
type Session struct {
	TokenHash string // hex sha256 of the token: the key
	User      string // User.Name
	Kind      string // SessionUI | SessionAPI
	CSRF      string // the UI session's CSRF token ("" for API tokens)
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Audit actions: what AuditEntry.Action says was done.
const (
	AuditPlayback     = "playback"
	AuditDownload     = "download"
	AuditLiveListen   = "live_listen"
	AuditLiveView     = "live_view" // a call in progress was shown in the live list (numbers, agents)
	AuditExport       = "export"
	AuditRulesChange  = "rules_change"
	AuditUserChange   = "user_change"
	AuditLogin        = "login"
	AuditLoginFailed  = "login_failed"
	AuditControl      = "control"
	AuditKeep         = "keep"
	AuditView         = "view"          // a recording's metadata (detail) was read
	AuditPeaks        = "peaks"         // a recording's waveform was read
	AuditSearch       = "search"        // recordings were searched (Detail: the query)
	AuditExpire       = "expire"        // deleted at the end of its retention period
	AuditErase        = "erase"         // deleted by an erasure request
	AuditErasure      = "erasure"       // an erasure request (a fingerprint of the party, the counts)
	AuditLegalHold    = "legal_hold"    // a legal hold set
	AuditHoldRelease  = "hold_release"  // a legal hold released
	AuditRewrap       = "rewrap"        // the keys of an encrypted recording rotated (Detail: old and new sha256)
	AuditScreenUpload = "screen_upload" // a screen client uploaded a recording's screen video
	AuditTranscode    = "transcode"     // raw payloads decoded into the media by the CLI (Detail: codecs, old and new sha256)
)

// AuditEntry is one line of the audit log: who did what to which recording,
// when and from where. The log is append-only: no store updates or deletes
// an entry.
type AuditEntry struct {
	ID          int64     // set by the store, increasing in append order
	At          time.Time // zero on append = the store clock's now
	User        string    // user name, or "cli:<login>" for the command line
	Role        string
	Tenant      string // the user's tenant, or the recording's
	Action      string // one of the Audit* constants
	RecordingID string // "" when no recording is concerned
	Detail      string // free text: an output path, a rule change, a reason
	Remote      string // client address (host:port), "" for the CLI
}

// AuditCheck is what verifying the audit log's hash chain found.
type AuditCheck struct {
	Entries   int      `json:"entries"`   // entries read
	Unchained int      `json:"unchained"` // entries from before the chain existed (no hash)
	Broken    int      `json:"broken"`    // entries that do not follow the chain
	Problems  []string `json:"problems"`  // the first of them, in words
	HeadID    int64    `json:"head_id"`   // the newest chained entry
	Head      string   `json:"head"`      // and its hash
}

// Audit list limits.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 1000
)

// AuditFilter selects audit entries. Zero fields do not filter. Entries
// come newest first (ID descending); to page, pass the last ID seen as
// BeforeID.
type AuditFilter struct {
	Since       time.Time // At >= Since
	Until       time.Time // At < Until
	User        string    // ignoring ASCII case
	Action      string
	Tenant      string // ignoring ASCII case
	RecordingID string
	BeforeID    int64 // only entries with ID < BeforeID (a page cursor)
	Limit       int   // default DefaultAuditLimit, at most MaxAuditLimit
}

// EffectiveLimit returns f.Limit bounded to 1..MaxAuditLimit, or
// DefaultAuditLimit when it is not positive.
func (f AuditFilter) EffectiveLimit() int {
	switch {
	case f.Limit <= 0:
		return DefaultAuditLimit
	case f.Limit > MaxAuditLimit:
		return MaxAuditLimit
	}
	return f.Limit
}

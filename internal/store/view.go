package store

import "time"

// RecordingView is the JSON shape of a recording in lists (CLI
// `recordings list --json`, REST API collections). Every key is always
// present: arrays are [] and external_data is {} when empty, and started_at /
// ended_at are RFC 3339 strings or null (ended_at is null while recording).
// The exceptions are the retention keys (retention, keep_until,
// retention_reason), left out for an ordinary recording.
type RecordingView struct {
	ID              string            `json:"id"`
	Status          Status            `json:"status"`
	StatusReason    string            `json:"status_reason"`
	Mode            Mode              `json:"mode"`
	CallUUID        string            `json:"call_uuid"`
	RecordID        string            `json:"record_id"`
	SIPRECSessionID string            `json:"siprec_session_id"`
	SIPCallIDs      []string          `json:"sip_call_ids"`
	RecordedDN      string            `json:"recorded_dn"`
	OtherDN         string            `json:"other_dn"`
	Parties         []PartyView       `json:"parties"`
	StartedAt       *time.Time        `json:"started_at"`
	EndedAt         *time.Time        `json:"ended_at"`
	DurationMS      int64             `json:"duration_ms"`
	Channels        int               `json:"channels"`
	Codecs          []string          `json:"codecs"`
	Format          string            `json:"format"`
	SampleRate      int               `json:"sample_rate"`
	MediaPath       string            `json:"media_path"`
	MediaObject     string            `json:"media_object,omitempty"` // s3://BUCKET/KEY once uploaded
	SizeBytes       int64             `json:"size_bytes"`
	SHA256          string            `json:"sha256"`
	NeedsTranscode  bool              `json:"needs_transcode"`
	MetadataProblem string            `json:"metadata_problem"`
	Segments        []SegmentView     `json:"segments"`
	Couples         []CoupleView      `json:"couples"`
	ExternalData    map[string]string `json:"external_data"`
	Correlation     string            `json:"correlation"`
	Retention       Retention         `json:"retention,omitempty"`
	KeepUntil       *time.Time        `json:"keep_until,omitempty"`
	RetentionReason string            `json:"retention_reason,omitempty"`
	CreatedAt       *time.Time        `json:"created_at"`
	UpdatedAt       *time.Time        `json:"updated_at"`
}

// RecordingDetail is the JSON shape of one recording (CLI `recordings show
// --json`, REST API item): the list view plus the raw SIPREC metadata and the
// events.
type RecordingDetail struct {
	RecordingView
	Metadata string      `json:"metadata"`
	Events   []EventView `json:"events"`
}

// PartyView is the JSON shape of a Party.
type PartyView struct {
	Channel       int    `json:"channel"`
	Role          string `json:"role"`
	DN            string `json:"dn"`
	Label         string `json:"label"`
	AOR           string `json:"aor"`
	Name          string `json:"name"`
	ParticipantID string `json:"participant_id"`
	SIPCallID     string `json:"sip_call_id"`
}

// CoupleView is the JSON shape of a Couple (a conversation segment and its
// offsets into the media file).
type CoupleView struct {
	StartMS      int64             `json:"start_ms"`
	EndMS        int64             `json:"end_ms"`
	ThisDN       string            `json:"this_dn"`
	OtherDN      string            `json:"other_dn"`
	ConnID       string            `json:"conn_id"`
	CallUUID     string            `json:"call_uuid"`
	ExternalData map[string]string `json:"external_data"`
}

// SegmentView is the JSON shape of a Segment.
type SegmentView struct {
	Type    string `json:"type"`
	Channel int    `json:"channel"`
	StartMS int64  `json:"start_ms"`
	EndMS   int64  `json:"end_ms"`
}

// EventView is the JSON shape of an Event.
type EventView struct {
	Type    string     `json:"type"`
	AtMS    int64      `json:"at_ms"`
	Channel int        `json:"channel"`
	Detail  string     `json:"detail"`
	At      *time.Time `json:"at"`
}

// NewView returns the list view of r.
func NewView(r *Recording) RecordingView {
	v := RecordingView{
		ID:              r.ID,
		Status:          r.Status,
		StatusReason:    r.StatusReason,
		Mode:            r.Mode,
		CallUUID:        r.CallUUID,
		RecordID:        r.RecordID,
		SIPRECSessionID: r.SIPRECSessionID,
		SIPCallIDs:      append([]string{}, r.SIPCallIDs...),
		RecordedDN:      r.RecordedDN,
		OtherDN:         r.OtherDN,
		Parties:         make([]PartyView, 0, len(r.Parties)),
		StartedAt:       timePtr(r.StartedAt),
		EndedAt:         timePtr(r.EndedAt),
		DurationMS:      r.DurationMS,
		Channels:        r.Channels,
		Codecs:          append([]string{}, r.Codecs...),
		Format:          r.Format,
		SampleRate:      r.Rate(),
		MediaPath:       r.MediaPath,
		MediaObject:     r.MediaObject,
		SizeBytes:       r.SizeBytes,
		SHA256:          r.SHA256,
		NeedsTranscode:  r.NeedsTranscode,
		MetadataProblem: r.MetadataProblem,
		Segments:        make([]SegmentView, 0, len(r.Segments)),
		Couples:         make([]CoupleView, 0, len(r.Couples)),
		ExternalData:    CleanExternalData(r.ExternalData),
		Correlation:     r.Correlation,
		Retention:       r.Retention,
		KeepUntil:       timePtr(r.KeepUntil),
		RetentionReason: r.RetentionReason,
		CreatedAt:       timePtr(r.CreatedAt),
		UpdatedAt:       timePtr(r.UpdatedAt),
	}
	for _, p := range r.Parties {
		v.Parties = append(v.Parties, PartyView(p))
	}
	for _, s := range r.Segments {
		v.Segments = append(v.Segments, SegmentView(s))
	}
	for _, c := range r.Couples {
		v.Couples = append(v.Couples, CoupleView{StartMS: c.StartMS, EndMS: c.EndMS, ThisDN: c.ThisDN, OtherDN: c.OtherDN,
			ConnID: c.ConnID, CallUUID: c.CallUUID, ExternalData: CleanExternalData(c.ExternalData)})
	}
	return v
}

// NewDetail returns the detail view of r.
func NewDetail(r *Recording) RecordingDetail {
	d := RecordingDetail{
		RecordingView: NewView(r),
		Metadata:      r.Metadata,
		Events:        make([]EventView, 0, len(r.Events)),
	}
	for _, e := range r.Events {
		d.Events = append(d.Events, EventView{
			Type: e.Type, AtMS: e.AtMS, Channel: e.Channel, Detail: e.Detail, At: timePtr(e.At),
		})
	}
	return d
}

// NewViews returns the list views of rs, never nil (an empty list encodes as []).
func NewViews(rs []Recording) []RecordingView {
	out := make([]RecordingView, 0, len(rs))
	for i := range rs {
		out = append(out, NewView(&rs[i]))
	}
	return out
}

// DeletionView is the JSON shape of a Deletion (CLI `recordings deletions
// --json`, REST API). Every key is always present; started_at is null when
// the recording had no start time.
type DeletionView struct {
	RecordingID string     `json:"recording_id"`
	CallUUID    string     `json:"call_uuid"`
	RecordID    string     `json:"record_id"`
	RecordedDN  string     `json:"recorded_dn"`
	Tenant      string     `json:"tenant"`
	MediaPath   string     `json:"media_path"`
	Reason      string     `json:"reason"`
	StartedAt   *time.Time `json:"started_at"`
	DeletedAt   *time.Time `json:"deleted_at"`
}

// NewDeletionView returns the view of d.
func NewDeletionView(d Deletion) DeletionView {
	return DeletionView{
		RecordingID: d.RecordingID,
		CallUUID:    d.CallUUID,
		RecordID:    d.RecordID,
		RecordedDN:  d.RecordedDN,
		Tenant:      d.Tenant,
		MediaPath:   d.MediaPath,
		Reason:      d.Reason,
		StartedAt:   timePtr(d.StartedAt),
		DeletedAt:   timePtr(d.At),
	}
}

// NewDeletionViews returns the views of ds, never nil (an empty list encodes
// as []).
func NewDeletionViews(ds []Deletion) []DeletionView {
	out := make([]DeletionView, 0, len(ds))
	for _, d := range ds {
		out = append(out, NewDeletionView(d))
	}
	return out
}

// UserView is the JSON shape of a user (CLI `admin list-users --json`,
// REST API): never the password hash. Times are null when unknown.
type UserView struct {
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	Tenant    string     `json:"tenant"`
	AgentID   string     `json:"agent_id"`
	Disabled  bool       `json:"disabled"`
	CreatedAt *time.Time `json:"created_at"`
	UpdatedAt *time.Time `json:"updated_at"`
}

// NewUserView returns the view of u.
func NewUserView(u *User) UserView {
	return UserView{Name: u.Name, Role: u.Role, Tenant: u.Tenant, AgentID: u.AgentID, Disabled: u.Disabled,
		CreatedAt: timePtr(u.CreatedAt), UpdatedAt: timePtr(u.UpdatedAt)}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

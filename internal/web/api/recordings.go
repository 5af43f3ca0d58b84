package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/openrec/openrec/internal/media/mediaconv"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediacrypt"
	"github.com/openrec/openrec/internal/store/mediastore"
)

// External data keys of the winning recording rule (conversation).
const (
	keyRule      = "GEN_REC_RULE"
	keyRuleGroup = "GEN_REC_RULE_GROUP"
	keyRuleAct   = "GEN_REC_RULE_ACTION"
)

// recordingView is the API shape of a recording: the store's view (the
// CLI's --json shape) plus the fields a Genesys Interaction Recording user
// looks for.
type recordingView struct {
	store.RecordingView
	CallID    string      `json:"call_id"`
	Caller    string      `json:"caller"`
	Dialed    string      `json:"dialed"`
	StartTime *time.Time  `json:"start_time"`
	StopTime  *time.Time  `json:"stop_time"`
	Agent     agentView   `json:"agent"`
	Tenant    string      `json:"tenant"`
	Direction string      `json:"direction"`
	Rule      *ruleView   `json:"rule"`
	Media     []mediaFile `json:"media_files"`
	HasScreen bool        `json:"has_screen"` // screen video stored (issue 18)
}

type agentView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type ruleView struct {
	Name   string `json:"name"`
	Group  string `json:"group"`
	Action string `json:"action"`
}

type mediaFile struct {
	MediaID    string          `json:"media_id"`
	Type       string          `json:"type"`
	DurationMS int64           `json:"duration_ms"`
	Size       int64           `json:"size"`
	Parameters mediaParameters `json:"parameters"`
	URL        string          `json:"url"`
}

type mediaParameters struct {
	Channels   int    `json:"channels"`
	SampleRate int    `json:"sample_rate"`
	Codec      string `json:"codec"`
	Storage    string `json:"storage_format"`
	// Screen video only.
	Width    int    `json:"width,omitempty"`
	Height   int    `json:"height,omitempty"`
	Agent    string `json:"agent,omitempty"`
	Complete *bool  `json:"complete,omitempty"`
	// OffsetMS: the video's first frame is this long after the audio's
	// start (a player shows video time = audio time - offset).
	OffsetMS *int64 `json:"offset_ms,omitempty"`
}

type recordingDetail struct {
	recordingView
	Metadata  string            `json:"metadata"`
	Events    []store.EventView `json:"events"`
	LegalHold *holdView         `json:"legal_hold"` // null when not on hold
	Transcode *transcodeView    `json:"transcode"`  // null when never queued for transcoding
}

// transcodeView is a recording's transcode job (needs_transcode).
type transcodeView struct {
	State         store.TranscodeState `json:"state"`
	Attempts      int                  `json:"attempts"`
	NextAttemptAt *time.Time           `json:"next_attempt_at"`
	UpdatedAt     time.Time            `json:"updated_at"`
	LastError     string               `json:"last_error,omitempty"` // admins only: it may name server paths
}

// transcodeOf returns recording id's transcode job for its detail (nil =
// none, or no Transcodes configured).
func (s *Server) transcodeOf(ctx context.Context, id string, admin bool) *transcodeView {
	if s.cfg.Transcodes == nil {
		return nil
	}
	j, err := s.cfg.Transcodes.TranscodeJob(ctx, id)
	if err != nil {
		return nil
	}
	v := &transcodeView{State: j.State, Attempts: j.Attempts, UpdatedAt: j.UpdatedAt.UTC()}
	if !j.NextAttemptAt.IsZero() && (j.State == store.TranscodeQueued || j.State == store.TranscodeRunning) {
		t := j.NextAttemptAt.UTC()
		v.NextAttemptAt = &t
	}
	if admin {
		v.LastError = j.LastError
	}
	return v
}

func newRecordingView(r *store.Recording, admin bool) recordingView {
	v := recordingView{RecordingView: store.NewView(r)}
	if !admin {
		v.MediaPath = "" // a server path is not the user's business
		v.MediaObject = ""
	}
	x := r.ExternalData
	v.CallID = r.CallUUID
	v.Caller, v.Dialed = x[store.ANIKey], x[store.DNISKey]
	v.StartTime, v.StopTime = v.StartedAt, v.EndedAt
	v.Agent = agentView{ID: x[store.AgentIDKey], Name: firstNonEmpty(x[store.FullNameKey], x[store.UserNameKey])}
	v.Tenant = x[store.TenantKey]
	v.Direction = x[store.CallTypeKey]
	if x[keyRule] != "" || x[keyRuleAct] != "" {
		v.Rule = &ruleView{Name: x[keyRule], Group: x[keyRuleGroup], Action: x[keyRuleAct]}
	}
	v.Media = []mediaFile{}
	if r.MediaPath != "" {
		codec := strings.Join(r.Codecs, ",")
		v.Media = append(v.Media, mediaFile{
			MediaID:    r.ID,
			Type:       "audio/wav",
			DurationMS: r.DurationMS,
			Size:       r.SizeBytes,
			Parameters: mediaParameters{Channels: r.Channels, SampleRate: r.Rate(), Codec: codec, Storage: r.Format},
			URL:        "/api/v1/recordings/" + url.PathEscape(r.ID) + "/media?format=wav",
		})
	}
	return v
}

// addScreen lists rec's screen video, when it has one, in v's media files.
func (v *recordingView) addScreen(sc *store.Screen, recStart time.Time) {
	if sc == nil || sc.Held.Prefix() == 0 {
		return
	}
	v.HasScreen = true
	var dur int64
	if !sc.StartedAt.IsZero() && sc.EndedAt.After(sc.StartedAt) {
		dur = sc.EndedAt.Sub(sc.StartedAt).Milliseconds()
	}
	complete := sc.Complete
	var offset *int64
	if !recStart.IsZero() && !sc.StartedAt.IsZero() {
		o := sc.StartedAt.Sub(recStart).Milliseconds()
		offset = &o
	}
	size := sc.Held.Prefix()
	if complete {
		size = sc.Total
	}
	v.Media = append(v.Media, mediaFile{
		MediaID:    v.ID + "-screen",
		Type:       "video/webm",
		DurationMS: dur,
		Size:       size,
		Parameters: mediaParameters{Codec: sc.Codec, Storage: "webm", Width: sc.Width, Height: sc.Height, Agent: sc.Agent, Complete: &complete, OffsetMS: offset},
		URL:        "/api/v1/recordings/" + url.PathEscape(v.ID) + "/media?kind=screen",
	})
}

// screens returns the screen video rows of ids (nil without a screen
// store; a failure is logged and shows no screen).
func (s *Server) screens(r *http.Request, ids ...string) map[string]*store.Screen {
	if s.cfg.ScreenStore == nil || len(ids) == 0 {
		return nil
	}
	out, err := s.cfg.ScreenStore.Screens(r.Context(), ids)
	if err != nil {
		s.log.Warn("screen video lookup failed", "error", err)
		return nil
	}
	return out
}

// scope restricts f to what p may see: supervisors their tenant, agents
// their own calls in their tenant; admins everything. ok false when the
// caller asked for another tenant (the answer is then empty).
func (p *principal) scope(f *store.Filter) (ok bool) {
	if p.user.Role == roleAdmin {
		return true
	}
	if f.Tenant != "" && !asciiEqualFold(f.Tenant, p.user.Tenant) {
		return false
	}
	f.Tenant = p.user.Tenant
	if f.Tenant == "" {
		return false // a supervisor or agent without a tenant sees nothing
	}
	f.ExcludeDiscard = true
	if p.user.Role != roleSupervisor {
		f.OwnerAgent = p.agentID()
	}
	return true
}

// seesTenant reports whether p may see what belongs to tenant: admins
// everything, others their own tenant (none when they have no tenant).
func (p *principal) seesTenant(tenant string) bool {
	return p.user.Role == roleAdmin || (p.user.Tenant != "" && asciiEqualFold(tenant, p.user.Tenant))
}

func (p *principal) agentID() string { return firstNonEmpty(p.user.AgentID, p.user.Name) }

// canSee reports whether p may see r (the single-recording form of scope).
func (p *principal) canSee(r *store.Recording) bool {
	if p.user.Role == roleAdmin {
		return true
	}
	if !p.seesTenant(r.ExternalData[store.TenantKey]) || r.Retention == store.RetentionDiscard {
		return false
	}
	if p.user.Role == roleSupervisor {
		return true
	}
	id := p.agentID()
	for _, k := range store.OwnerKeys() {
		if asciiEqualFold(r.ExternalData[k], id) {
			return true
		}
	}
	return false
}

// searchFilter reads the recording filters of a search request.
func searchFilter(q url.Values) (store.Filter, error) {
	var f store.Filter
	bad := func(name, why string) error {
		return problemf(http.StatusBadRequest, fmt.Sprintf("query parameter %s: %s", name, why))
	}
	for name, vs := range q {
		if !contains(searchParams, name) {
			return f, bad(name, "unknown parameter (known: "+strings.Join(searchParams, ", ")+")")
		}
		for _, v := range vs {
			if len(v) > maxParamLen {
				return f, bad(name, fmt.Sprintf("longer than %d bytes", maxParamLen))
			}
		}
	}
	if len(q["ext"]) > maxExtFilters {
		return f, bad("ext", fmt.Sprintf("at most %d external-data filters", maxExtFilters))
	}
	var err error
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return f, bad("limit", "want 1..1000")
		}
		f.Limit = n
	} else {
		f.Limit = 50
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(t.name); v != "" {
			if *t.dst, err = time.Parse(time.RFC3339, v); err != nil {
				return f, bad(t.name, "want an RFC 3339 time such as 2026-11-21T09:00:00Z")
			}
		}
	}
	for _, d := range []struct {
		name string
		dst  *int64
	}{{"min_duration", &f.MinDurationMS}, {"max_duration", &f.MaxDurationMS}} {
		if v := q.Get(d.name); v != "" {
			sec, err := strconv.ParseFloat(v, 64)
			if err != nil || !(sec >= 0 && sec <= maxDurationSec) { // also NaN
				return f, bad(d.name, "want seconds (a non-negative number)")
			}
			*d.dst = int64(sec * 1000)
		}
	}
	f.DN, f.Agent, f.ANI, f.DNIS = q.Get("dn"), q.Get("agent"), q.Get("ani"), q.Get("dnis")
	f.CallUUID, f.ConnID, f.Tenant, f.Direction = q.Get("call_uuid"), q.Get("conn_id"), q.Get("tenant"), q.Get("direction")
	f.RecordID = q.Get("record_id")
	if v := q.Get("has_screen"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, bad("has_screen", "want true or false")
		}
		f.HasScreen = &b
	}
	f.Cursor = q.Get("cursor")
	if v := q.Get("status"); v != "" {
		if f.Status = store.Status(v); !f.Status.Valid() {
			return f, bad("status", "want recording, completed, partial or failed")
		}
	}
	if v := q.Get("mode"); v != "" {
		if f.Mode = store.Mode(v); !f.Mode.Valid() {
			return f, bad("mode", "want msr or siprec")
		}
	}
	if v := q.Get("retention"); v != "" {
		if f.Retention = store.Retention(v); !f.Retention.Valid() {
			return f, bad("retention", "want pending, kept or discard")
		}
	}
	if v := q.Get("sort"); v != "" {
		if f.Sort, err = store.ParseSort(v); err != nil {
			return f, bad("sort", "want -started_at, started_at, -duration or duration")
		}
	}
	for _, kv := range q["ext"] {
		k, v, ok := strings.Cut(kv, ":")
		if !ok || k == "" {
			return f, bad("ext", "want KEY:VALUE (the value may use * as a wildcard)")
		}
		f.External = append(f.External, store.KV{Key: k, Value: v})
	}
	return f, nil
}

// Bounds of search input.
const (
	maxParamLen    = 512
	maxExtFilters  = 20
	maxDurationSec = 1e7 // 115 days
)

// query parses the request's query string strictly: a malformed pair is
// an error, not a parameter silently left out.
func query(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, problemf(http.StatusBadRequest, "malformed query string: "+err.Error())
	}
	return q, nil
}

var searchParams = []string{"limit", "cursor", "count", "sort", "since", "until", "min_duration", "max_duration",
	"dn", "agent", "ani", "dnis", "call_uuid", "conn_id", "record_id", "tenant", "status", "direction", "mode", "retention", "ext", "has_screen"}

// searchRecordings: GET /api/v1/recordings.
func (s *Server) searchRecordings(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	q, err := query(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := searchFilter(q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := map[string]any{"items": []recordingView{}, "next_cursor": nil}
	withCount := q.Get("count") == "true" || q.Get("count") == "1"
	if withCount {
		out["count"] = 0
	}
	if !p.scope(&f) {
		writeJSON(w, http.StatusOK, out)
		return
	}
	page, err := s.cfg.Store.SearchRecordings(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// A search shows call metadata of many recordings: audited once per
	// session and query within the window (paging through it is one view).
	qs := searchAuditQuery(q)
	s.recordOnce(r, store.AuditSearch+"|"+qs, store.AuditEntry{Action: store.AuditSearch, Detail: qs})
	items := make([]recordingView, 0, len(page.Items))
	var live map[string]LiveCall
	ids := make([]string, len(page.Items))
	for i := range page.Items {
		ids[i] = page.Items[i].ID
	}
	screens := s.screens(r, ids...)
	for i := range page.Items {
		v := newRecordingView(&page.Items[i], p.user.Role == roleAdmin)
		v.addScreen(screens[v.ID], page.Items[i].StartedAt)
		if v.Status == store.StatusRecording {
			if live == nil {
				live = s.liveByID()
			}
			s.fillInProgress(&v, live)
		}
		items = append(items, v)
	}
	out["items"] = items
	if page.NextCursor != "" {
		out["next_cursor"] = page.NextCursor
	}
	if withCount {
		n, err := s.cfg.Store.CountRecordings(r.Context(), f)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out["count"] = n
	}
	writeJSON(w, http.StatusOK, out)
}

// visibleRecording loads the recording of the {id} path value, or answers
// 404 (also for a recording the user may not see: its existence is not
// revealed).
func (s *Server) visibleRecording(w http.ResponseWriter, r *http.Request) (*store.Recording, bool) {
	id := r.PathValue("id")
	rec, err := s.cfg.Store.GetRecording(r.Context(), id)
	if err == nil && !principalOf(r).canSee(rec) {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(w, r, problemf(http.StatusNotFound, "no recording "+id))
		return nil, false
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	return rec, true
}

// getRecording: GET /api/v1/recordings/{id}.
func (s *Server) getRecording(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.visibleRecording(w, r)
	if !ok {
		return
	}
	d := store.NewDetail(rec)
	v := newRecordingView(rec, principalOf(r).user.Role == roleAdmin)
	v.addScreen(s.screens(r, rec.ID)[rec.ID], rec.StartedAt)
	if v.Status == store.StatusRecording {
		s.fillInProgress(&v, s.liveByID())
	}
	s.recordOnce(r, store.AuditView+"|"+rec.ID, store.AuditEntry{Action: store.AuditView, RecordingID: rec.ID})
	writeJSON(w, http.StatusOK, recordingDetail{recordingView: v, Metadata: d.Metadata, Events: d.Events, LegalHold: s.holdOf(r.Context(), rec.ID),
		Transcode: s.transcodeOf(r.Context(), rec.ID, principalOf(r).user.Role == roleAdmin)})
}

// liveByID returns the calls in progress by recording id.
func (s *Server) liveByID() map[string]LiveCall {
	out := map[string]LiveCall{}
	if s.cfg.Live != nil {
		for _, c := range s.cfg.Live.Live() {
			out[c.RecordingID] = c
		}
	}
	return out
}

// fillInProgress completes the view of a recording in progress, whose row
// gets its external data only when it ends: the duration so far, and the
// agent and numbers the CTI call already knows (the live view's).
func (s *Server) fillInProgress(v *recordingView, live map[string]LiveCall) {
	if v.StartedAt != nil && v.DurationMS == 0 {
		v.DurationMS = max(0, s.cfg.Now().Sub(*v.StartedAt).Milliseconds())
	}
	c, ok := live[v.ID]
	if !ok {
		return
	}
	if v.Caller == "" {
		v.Caller = c.ANI
	}
	if v.Dialed == "" {
		v.Dialed = c.DNIS
	}
	if v.Agent.ID == "" && v.Agent.Name == "" {
		v.Agent = agentView{ID: c.AgentID, Name: c.AgentName}
	}
	if v.Tenant == "" {
		v.Tenant = c.Tenant
	}
}

// MediaObjects opens recordings kept in an object store (store/s3media
// through app): object is store.Recording.MediaObject.
type MediaObjects interface {
	OpenObject(ctx context.Context, object string) (MediaObject, error)
}

// MediaObject is an object opened for ranged reads (each ReadAt may be a
// ranged GET).
type MediaObject interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// errNoObjects: a recording in an object store, none configured.
var errNoObjects = errors.New("no object store configured")

// openedMedia is the media of a recording opened for conversion.
type openedMedia struct {
	src        *mediaconv.Source
	path       string // the local file; "" when read from the object store
	inProgress bool
	encrypted  bool
	// reopen opens the same media again (an MP3 encode that may outlive
	// the request).
	reopen func() (*mediaconv.Source, error)
}

// openMedia opens the media of rec for conversion: the local file while
// there is one (recording, spool, or media kept as files), else the
// object the store names (media uploaded to S3): Range requests then
// become ranged GETs.
func (s *Server) openMedia(w http.ResponseWriter, r *http.Request, rec *store.Recording) (*openedMedia, bool) {
	path, inProgress, err := mediastore.Locate(rec, s.cfg.DataDir)
	if err != nil && errors.Is(err, store.ErrNoMedia) && rec.MediaObject != "" {
		src, encrypted, err := s.openObject(r.Context(), rec.MediaObject)
		if err != nil {
			s.failMedia(w, r, rec, err)
			return nil, false
		}
		// An MP3 encode may outlive this request (another caller waits
		// for it): its reads are not tied to this client.
		ctx := context.WithoutCancel(r.Context())
		reopen := func() (*mediaconv.Source, error) {
			src, _, err := s.openObject(ctx, rec.MediaObject)
			return src, err
		}
		return &openedMedia{src: src, encrypted: encrypted, reopen: reopen}, true
	}
	if err != nil {
		if errors.Is(err, store.ErrNoMedia) {
			writeProblem(w, r, problemf(http.StatusNotFound, "recording "+rec.ID+" has no media file"))
		} else {
			s.fail(w, r, err)
		}
		return nil, false
	}
	if format := storedFormat(path); format != "" && !inProgress {
		if path, err = s.decodedWAV(r.Context(), rec, path, format); err != nil {
			if errors.Is(err, mediaconv.ErrNoEncoder) || s.cfg.Stored == nil {
				writeProblem(w, r, &Problem{Status: http.StatusNotImplemented, Title: "stored format not readable here",
					Detail: "recording " + rec.ID + " is stored as " + format + "; reading it needs ffmpeg on the server (Debian: apt-get install ffmpeg; the ffmpeg setting names another)"})
			} else {
				s.fail(w, r, err)
			}
			return nil, false
		}
	}
	src, err := s.openSource(path, inProgress)
	if err != nil {
		s.failMedia(w, r, rec, err)
		return nil, false
	}
	return &openedMedia{src: src, path: path, inProgress: inProgress, encrypted: mediacrypt.IsEncryptedFile(path),
		reopen: func() (*mediaconv.Source, error) { return mediaconv.Open(path) }}, true
}

// openObject opens an object of the object store for conversion, an
// encrypted one as its plaintext (decrypted chunk by chunk as read), and
// whether it is encrypted.
func (s *Server) openObject(ctx context.Context, object string) (*mediaconv.Source, bool, error) {
	if s.cfg.Objects == nil {
		return nil, false, fmt.Errorf("media %s: %w", object, errNoObjects)
	}
	o, err := s.cfg.Objects.OpenObject(ctx, object)
	if err != nil {
		return nil, false, err
	}
	var keys *mediacrypt.Keys
	if s.cfg.Keys != nil {
		keys = s.cfg.Keys()
	}
	m, err := keys.OpenMediaAt(o, o.Size(), o, object)
	if err != nil {
		o.Close()
		return nil, false, err
	}
	src, err := mediaconv.NewSource(m, m.Size(), m, false)
	if err != nil {
		m.Close()
		return nil, false, err
	}
	return src, m.Encrypted(), nil
}

// storedFormat is the storage format of a compressed media file (mp3,
// opus), "" for a WAV.
func storedFormat(path string) string {
	switch filepath.Ext(path) {
	case ".mp3":
		return mediaconv.StoreMP3
	case ".opus":
		return mediaconv.StoreOpus
	}
	return ""
}

// decodedWAV returns the WAV decoded from rec's compressed media file,
// made once into DataDir/cache/pcm (written beside its final name and
// renamed: concurrent requests each make a whole file, the last rename
// wins) and named by the file's sha256, so a re-encoded file is decoded
// afresh.
func (s *Server) decodedWAV(ctx context.Context, rec *store.Recording, path, format string) (string, error) {
	if s.cfg.Stored == nil {
		return "", fmt.Errorf("%w: no decoder configured", mediaconv.ErrNoEncoder)
	}
	dir := filepath.Join(s.cfg.DataDir, mediastore.PCMCacheDir)
	out := filepath.Join(dir, mediastore.MP3Key(rec)+".wav")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, ".decode-*.wav")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if err := s.cfg.Stored.Decode(ctx, path, format, rec.Rate(), max(rec.Channels, 1), tmp.Name()); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return "", err
	}
	return out, nil
}

// openSource opens a media file for conversion: a plaintext WAV as it is,
// an encrypted one as its plaintext, decrypted with the configured keys
// (chunk by chunk as it is read: a Range request decrypts only the chunks
// it touches).
func (s *Server) openSource(path string, inProgress bool) (*mediaconv.Source, error) {
	if !mediacrypt.IsEncryptedFile(path) {
		return mediaconv.Open(path)
	}
	var keys *mediacrypt.Keys
	if s.cfg.Keys != nil {
		keys = s.cfg.Keys()
	}
	m, err := keys.OpenMedia(path)
	if err != nil {
		return nil, err
	}
	// The synthesised sizes are those of the authenticated prefix, also
	// while the file is being written.
	src, err := mediaconv.NewSource(m, m.Size(), m, false)
	if err != nil {
		m.Close()
		return nil, err
	}
	return src, nil
}

// failMedia answers a media file that cannot be opened: an encrypted
// recording without a key that opens it is 409 with what to configure.
func (s *Server) failMedia(w http.ResponseWriter, r *http.Request, rec *store.Recording, err error) {
	switch {
	case errors.Is(err, mediacrypt.ErrNoKeys):
		writeProblem(w, r, &Problem{Status: http.StatusConflict, Title: "recording is encrypted",
			Detail: "recording " + rec.ID + " is encrypted at rest and this server has no decryption key (decrypt_keys / --decrypt-keys)"})
	case errors.Is(err, errNoObjects):
		writeProblem(w, r, &Problem{Status: http.StatusConflict, Title: "recording is in an object store",
			Detail: "the media of recording " + rec.ID + " is " + rec.MediaObject + " and this server has no object store configured (--media s3://BUCKET/PREFIX --s3-endpoint URL)"})
	case errors.Is(err, mediacrypt.ErrWrongKey):
		writeProblem(w, r, &Problem{Status: http.StatusConflict, Title: "recording is encrypted",
			Detail: "recording " + rec.ID + " is encrypted to recipients none of this server's decryption keys (decrypt_keys) matches"})
	default:
		s.fail(w, r, fmt.Errorf("open media of %s: %w", rec.ID, err))
	}
}

// media: GET /api/v1/recordings/{id}/media?format=wav|mp3&channel=&kbps=&download=1,
// or ?kind=screen (the screen video, WebM) / ?kind=muxed (video and audio in
// one WebM, made by ffmpeg).
func (s *Server) media(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch kind := q.Get("kind"); kind {
	case "", "audio":
	case "screen", "muxed", "thumbnail":
		rec, ok := s.visibleRecording(w, r)
		if !ok {
			return
		}
		download := q.Get("download") == "1" || q.Get("download") == "true"
		switch kind {
		case "muxed":
			s.serveMuxed(w, r, rec)
			return
		case "thumbnail":
			s.serveThumbnail(w, r, rec)
			return
		}
		s.serveScreen(w, r, rec, download)
		return
	default:
		writeProblem(w, r, problemf(http.StatusBadRequest, "query parameter kind: want audio, screen, muxed or thumbnail"))
		return
	}
	format := q.Get("format")
	if format == "" {
		format = "wav"
	}
	if format != "wav" && format != "mp3" {
		writeProblem(w, r, problemf(http.StatusBadRequest, "query parameter format: want wav or mp3"))
		return
	}
	channel := -1
	if v := q.Get("channel"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < -1 {
			writeProblem(w, r, problemf(http.StatusBadRequest, "query parameter channel: want -1 (all), 0, 1, ..."))
			return
		}
		channel = n
	}
	kbps := 0
	if v := q.Get("kbps"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeProblem(w, r, problemf(http.StatusBadRequest, "query parameter kbps: want 8, 16 or 32"))
			return
		}
		kbps = n
	}
	download := q.Get("download") == "1" || q.Get("download") == "true"
	rec, ok := s.visibleRecording(w, r)
	if !ok {
		return
	}
	om, ok := s.openMedia(w, r, rec)
	if !ok {
		return
	}
	src, inProgress := om.src, om.inProgress
	defer src.Close()
	if channel >= src.Channels() {
		writeProblem(w, r, problemf(http.StatusBadRequest, fmt.Sprintf("query parameter channel: recording %s has %d channels", rec.ID, src.Channels())))
		return
	}
	name := rec.ID
	if channel >= 0 {
		name += fmt.Sprintf("-ch%d", channel)
	}
	var (
		content interface {
			Read([]byte) (int, error)
			Seek(int64, int) (int64, error)
		}
		modtime time.Time
	)
	switch format {
	case "wav":
		pcm, err := src.PCM(channel)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		content = pcm
		name += ".wav"
		w.Header().Set("Content-Type", "audio/wav")
		if !inProgress && rec.SHA256 != "" {
			w.Header().Set("ETag", fmt.Sprintf(`"%s-%d"`, rec.SHA256[:min(16, len(rec.SHA256))], channel))
		}
	case "mp3":
		if inProgress {
			writeProblem(w, r, problemf(http.StatusConflict, "recording "+rec.ID+" is still in progress: MP3 is made from finished recordings (use format=wav)"))
			return
		}
		if s.cfg.MP3 == nil {
			writeProblem(w, r, &Problem{Status: http.StatusNotImplemented, Title: "MP3 encoder not available", Detail: "this server has no MP3 cache configured"})
			return
		}
		var (
			mp3 string
			err error
		)
		if om.encrypted {
			// No plaintext on disk: cached encrypted (cryptMP3).
			var mr *mediacrypt.Reader
			if kbps, err = src.MP3Bitrate(channel, kbps); err == nil {
				mr, err = s.mp3enc.open(r.Context(), s.cfg.MP3, mediastore.MP3Key(rec), src, channel, kbps)
			}
			if err == nil {
				defer mr.Close()
				content = io.NewSectionReader(mr, 0, mr.Size())
			}
		} else {
			mp3, err = s.cfg.MP3.MP3Open(r.Context(), mediastore.MP3Key(rec), om.reopen, channel, kbps)
		}
		switch {
		case errors.Is(err, mediaconv.ErrNoEncoder):
			writeProblem(w, r, &Problem{Status: http.StatusNotImplemented, Title: "MP3 encoder not available",
				Detail: "MP3 needs the lame encoder on the server (Debian: apt-get install lame); WAV is available: format=wav"})
			return
		case errors.Is(err, mediaconv.ErrBitrate):
			writeProblem(w, r, problemf(http.StatusBadRequest, "query parameter kbps: 8 is for one channel (channel=0 or 1), 16 or 32 for stereo"))
			return
		case err != nil:
			s.fail(w, r, err)
			return
		}
		if content == nil {
			f, err := os.Open(mp3)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			defer f.Close()
			if fi, err := f.Stat(); err == nil {
				modtime = fi.ModTime()
			}
			content = f
		}
		name += ".mp3"
		w.Header().Set("Content-Type", "audio/mpeg")
	}
	if download {
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	}
	w.Header().Set("Cache-Control", "private, no-store")
	// Every access is audited, but a player's many Range requests are one
	// playback: one entry per session, recording, action and variant
	// within mediaAuditWindow. HEAD transfers nothing.
	if r.Method != http.MethodHead {
		action := store.AuditPlayback
		if download {
			action = store.AuditDownload
		}
		variant := fmt.Sprintf("format=%s channel=%d", format, channel)
		s.recordOnce(r, action+"|"+rec.ID+"|"+variant, store.AuditEntry{Action: action, RecordingID: rec.ID, Detail: variant})
	}
	http.ServeContent(w, r, name, modtime, content)
}

// peaks: GET /api/v1/recordings/{id}/peaks?buckets=N.
func (s *Server) peaks(w http.ResponseWriter, r *http.Request) {
	buckets := 800
	if v := r.URL.Query().Get("buckets"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			writeProblem(w, r, problemf(http.StatusBadRequest, "query parameter buckets: want 1..10000"))
			return
		}
		buckets = n
	}
	rec, ok := s.visibleRecording(w, r)
	if !ok {
		return
	}
	om, ok := s.openMedia(w, r, rec)
	if !ok {
		return
	}
	src := om.src
	defer src.Close()
	pk, err := src.Peaks(buckets)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.recordOnce(r, store.AuditPeaks+"|"+rec.ID, store.AuditEntry{Action: store.AuditPeaks, RecordingID: rec.ID})
	writeJSON(w, http.StatusOK, map[string]any{"duration_ms": src.Duration().Milliseconds(), "buckets": buckets, "channels": pk})
}

// asciiEqualFold compares ignoring ASCII case only, as the store's
// OwnerAgent filter does.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// searchAuditQuery is the audited form of a search: its parameters without
// the cursor and count (paging the same search is one view), cut to 500
// bytes.
func searchAuditQuery(q url.Values) string {
	v := url.Values{}
	for k, vs := range q {
		if k != "cursor" && k != "count" {
			v[k] = vs
		}
	}
	out := v.Encode()
	if len(out) > 500 {
		out = out[:500]
	}
	return out
}

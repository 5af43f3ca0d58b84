package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediacrypt"
	"github.com/openrec/openrec/internal/store/mediastore"
)

// Screen recording linked to the call (issue 18): the per-agent event
// stream the screen client follows (Server-Sent Events), the chunked,
// resumable upload of the screen video, and its playback.

// ScreenEvent is a voice recording's change a screen client acts on.
type ScreenEvent struct {
	ID          uint64    `json:"id"`
	Kind        string    `json:"kind"` // start, pause, resume, stop
	Agent       string    `json:"agent"`
	DN          string    `json:"dn"`
	RecordingID string    `json:"recording_id"`
	CallUUID    string    `json:"call_uuid"`
	At          time.Time `json:"at"`
	Reason      string    `json:"reason,omitempty"` // pci: the automatic PCI pause
}

// ErrScreenLagged ends a subscription whose subscriber fell behind: it
// reconnects with its last event id.
var ErrScreenLagged = errors.New("screen events: subscriber fell behind")

// ScreenSubscription is one agent's event stream.
type ScreenSubscription interface {
	// Backlog is what the subscriber missed (after its last event id), or
	// the agent's recordings in progress on a fresh subscription.
	Backlog() []ScreenEvent
	// Next waits for the next event: ctx's error when ctx ends first,
	// ErrScreenLagged when the subscription was dropped.
	Next(ctx context.Context) (ScreenEvent, error)
	Close()
}

// ScreenRecording is what the CTI side knows of a recording that asked
// for screen recording.
type ScreenRecording struct {
	Agent, Tenant string
}

// ScreenSource is the CTI side of screen recording.
type ScreenSource interface {
	// SubscribeScreen subscribes to agent's events after event id after
	// (0 = fresh); gap: some events after `after` are gone.
	SubscribeScreen(agent string, after uint64) (sub ScreenSubscription, gap bool)
	// ScreenRecording returns the agent the recording asked to record
	// the screen of (in progress or recently stopped).
	ScreenRecording(recordingID string) (ScreenRecording, bool)
	// ScreenReceived tells the CTI side the recording's screen video
	// started arriving (Notification of Recording for video).
	ScreenReceived(recordingID string)
}

// ScreenStore keeps the screen video rows.
type ScreenStore interface {
	PutScreen(ctx context.Context, s *store.Screen) error
	GetScreen(ctx context.Context, recordingID string) (*store.Screen, error)
	Screens(ctx context.Context, ids []string) (map[string]*store.Screen, error)
}

// ScreenCapture is what screen clients are told to capture.
type ScreenCapture struct {
	FrameRate int `json:"frame_rate"`
	MaxWidth  int `json:"max_width"`
	MaxHeight int `json:"max_height"`
}

// Bounds of the screen endpoints.
const (
	maxScreenChunk       = 64 << 20 // bytes in one upload request
	maxScreenSubsPerUser = 4        // event streams open at once per agent
	maxScreenGaps        = 256      // disjoint byte ranges held at once (chunks far out of order)
	screenPing           = 15 * time.Second
	// DefaultScreenMaxBytes bounds a recording's screen video when
	// Config.ScreenMaxBytes is not set.
	DefaultScreenMaxBytes = 2 << 30
)

// screenState is the Server's bookkeeping of screen requests.
type screenState struct {
	thumbs chan struct{} // thumbnail jobs running (maxThumbnailJobs)
	mu     sync.Mutex
	locks  map[string]*screenLock // recording id → its upload lock
	subs   map[string]int         // agent → event streams open
	enc    map[string]*encUpload  // recording id → its encrypted upload's stream (screenenc.go)
}

type screenLock struct {
	sync.Mutex
	users int
}

// lock serialises the uploads of one recording (the chunks of one video
// are merged into one row); other recordings never wait on it.
func (st *screenState) lock(id string) func() {
	st.mu.Lock()
	if st.locks == nil {
		st.locks = map[string]*screenLock{}
	}
	l := st.locks[id]
	if l == nil {
		l = &screenLock{}
		st.locks[id] = l
	}
	l.users++
	st.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		st.mu.Lock()
		if l.users--; l.users == 0 {
			delete(st.locks, id)
		}
		st.mu.Unlock()
	}
}

func (st *screenState) openSub(agent string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.subs == nil {
		st.subs = map[string]int{}
	}
	k := strings.ToLower(agent)
	if st.subs[k] >= maxScreenSubsPerUser {
		return false
	}
	st.subs[k]++
	return true
}

func (st *screenState) closeSub(agent string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	k := strings.ToLower(agent)
	if st.subs[k]--; st.subs[k] <= 0 {
		delete(st.subs, k)
	}
}

// screenEventView is the data of one event on the stream: the event, where
// to upload, and what to capture.
type screenEventView struct {
	ScreenEvent
	UploadURL string        `json:"upload_url"`
	Capture   ScreenCapture `json:"capture"`
}

// screenEvents: GET /api/v1/screen/events[?agent=] — Server-Sent Events.
// An agent follows its own recordings; an admin may name any agent. The
// stream resumes after the Last-Event-ID header (EventSource sends it when
// it reconnects) or the last_event_id parameter.
func (s *Server) screenEvents(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Screen == nil {
		writeProblem(w, r, &Problem{Status: http.StatusNotImplemented, Title: "screen recording not available",
			Detail: "screen recording needs the CTI link (cti, cti_servers): the recorder learns the agents' recordings from it"})
		return
	}
	p := principalOf(r)
	q, err := query(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for name := range q {
		if name != "agent" && name != "last_event_id" {
			writeProblem(w, r, problemf(http.StatusBadRequest, "query parameter "+name+": unknown (known: agent, last_event_id)"))
			return
		}
	}
	agent := p.agentID()
	if a := q.Get("agent"); a != "" && !asciiEqualFold(a, agent) {
		if p.user.Role != roleAdmin {
			writeProblem(w, r, problemf(http.StatusForbidden, "an agent follows its own recordings only (agent="+agent+")"))
			return
		}
		agent = a
	}
	var after uint64
	if v := firstNonEmpty(r.Header.Get("Last-Event-ID"), q.Get("last_event_id")); v != "" {
		if after, err = strconv.ParseUint(strings.TrimSpace(v), 10, 64); err != nil {
			writeProblem(w, r, problemf(http.StatusBadRequest, "Last-Event-ID: want the id of an event of this stream (a number)"))
			return
		}
	}
	if !s.screen.openSub(agent) {
		writeProblem(w, r, problemf(http.StatusTooManyRequests, fmt.Sprintf("agent %s has %d screen event streams open already", agent, maxScreenSubsPerUser)))
		return
	}
	defer s.screen.closeSub(agent)
	sub, gap := s.cfg.Screen.SubscribeScreen(agent, after)
	defer sub.Close()

	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream lives as long as the page
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(e ScreenEvent) error {
		v := screenEventView{ScreenEvent: e, UploadURL: "/api/v1/recordings/" + url.PathEscape(e.RecordingID) + "/screen", Capture: s.cfg.ScreenCapture}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Kind, b); err != nil {
			return err
		}
		return rc.Flush()
	}
	// retry: how soon EventSource reconnects after a drop (ms).
	hello, _ := json.Marshal(map[string]any{"agent": agent, "gap": gap, "capture": s.cfg.ScreenCapture})
	if _, err := fmt.Fprintf(w, "retry: 1000\nevent: hello\ndata: %s\n\n", hello); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	for _, e := range sub.Backlog() {
		if send(e) != nil {
			return
		}
	}
	for {
		ctx, cancel := context.WithTimeout(r.Context(), screenPing)
		e, err := sub.Next(ctx)
		cancel()
		switch {
		case err == nil:
			if send(e) != nil {
				return
			}
			continue
		case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
		default:
			return // the client left, or fell behind: it reconnects with its last id
		}
		if why := s.sessionGone(r.Context(), p); why != "" {
			_, _ = fmt.Fprintf(w, "event: end\ndata: {\"reason\":%q}\n\n", why)
			_ = rc.Flush()
			return
		}
		if _, err := io.WriteString(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
			return
		}
	}
}

// sessionGone reports why p's session no longer holds ("" = it does).
func (s *Server) sessionGone(ctx context.Context, p *principal) string {
	sess, err := s.cfg.Users.GetSession(ctx, p.session.TokenHash, s.cfg.Now())
	if errors.Is(err, store.ErrNotFound) {
		return "session ended or expired"
	}
	if err != nil {
		return ""
	}
	u, err := s.cfg.Users.GetUser(ctx, sess.User)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Disabled {
		return "user disabled"
	}
	return ""
}

// contentRange is a parsed Content-Range request header.
type contentRange struct {
	start, end int64 // -1, -1: none (a status query, "bytes */TOTAL")
	total      int64 // -1: unknown ("*")
}

// parseContentRange reads "bytes START-END/TOTAL", "bytes START-END/*",
// "bytes */TOTAL" or "bytes */*".
func parseContentRange(h string) (contentRange, error) {
	cr := contentRange{start: -1, end: -1, total: -1}
	unit, spec, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || unit != "bytes" {
		return cr, errors.New("want bytes START-END/TOTAL (TOTAL may be * while the size is unknown)")
	}
	rng, total, ok := strings.Cut(strings.TrimSpace(spec), "/")
	if !ok {
		return cr, errors.New("want bytes START-END/TOTAL: no /")
	}
	num := func(s string) (int64, bool) {
		if s == "" || len(s) > 18 || strings.TrimLeft(s, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	if total != "*" {
		n, ok := num(total)
		if !ok {
			return cr, fmt.Errorf("total %q: want a number of bytes or *", total)
		}
		cr.total = n
	}
	if rng == "*" {
		return cr, nil
	}
	a, b, ok := strings.Cut(rng, "-")
	start, ok1 := num(a)
	end, ok2 := num(b)
	if !ok || !ok1 || !ok2 {
		return cr, fmt.Errorf("range %q: want START-END (byte offsets, END inclusive)", rng)
	}
	cr.start, cr.end = start, end
	return cr, nil
}

// screenStatus is the JSON answer of an upload request.
type screenStatus struct {
	RecordingID string `json:"recording_id"`
	Held        string `json:"held"`  // byte ranges stored, "0-99,200-299"
	Size        int64  `json:"size"`  // bytes stored
	Total       int64  `json:"total"` // the video's size, -1 while unknown
	Complete    bool   `json:"complete"`
}

// uploadScreen: POST /api/v1/recordings/{id}/screen. The body is a byte
// range of the recording's screen video (Content-Type video/webm,
// Content-Range bytes START-END/TOTAL, TOTAL * while unknown); chunks come
// in any order and may be sent again. The answer is 308 with Range: the
// bytes held from the start, until every byte of TOTAL is held: then 201
// (the chunk that completed it) or 200 (a chunk of a complete video). A
// request without a body and with Content-Range bytes */TOTAL asks what is
// held.
func (s *Server) uploadScreen(w http.ResponseWriter, r *http.Request) {
	if s.cfg.ScreenStore == nil {
		writeProblem(w, r, &Problem{Status: http.StatusNotImplemented, Title: "screen recording not available", Detail: "this server stores no screen video"})
		return
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "video/webm" {
		writeProblem(w, r, problemf(http.StatusUnsupportedMediaType, "Content-Type: want video/webm (codecs vp8 or vp9), got "+strconv.Quote(r.Header.Get("Content-Type"))))
		return
	}
	codec := ""
	if c := strings.ToLower(strings.TrimSpace(strings.Split(params["codecs"], ",")[0])); c != "" {
		codec, _, _ = strings.Cut(c, ".")
		if codec != "vp8" && codec != "vp9" && codec != "av1" && codec != "opus" {
			writeProblem(w, r, problemf(http.StatusUnsupportedMediaType, "Content-Type codecs "+strconv.Quote(c)+": want vp8, vp9 or av1"))
			return
		}
	}
	maxBytes := s.cfg.ScreenMaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultScreenMaxBytes
	}
	cr := contentRange{start: -1, end: -1, total: -1}
	if h := r.Header.Get("Content-Range"); h != "" {
		if cr, err = parseContentRange(h); err != nil {
			writeProblem(w, r, problemf(http.StatusBadRequest, "Content-Range: "+err.Error()))
			return
		}
	} else if r.ContentLength > 0 {
		cr = contentRange{start: 0, end: r.ContentLength - 1, total: r.ContentLength} // the whole video at once
	}
	length := int64(0)
	if cr.start >= 0 {
		length = cr.end - cr.start + 1
		switch {
		case cr.end < cr.start || cr.total >= 0 && cr.end >= cr.total:
			w.Header().Set("Content-Range", "bytes */"+totalText(cr.total))
			writeProblem(w, r, problemf(http.StatusRequestedRangeNotSatisfiable, fmt.Sprintf("Content-Range: bytes %d-%d/%s is not a range of the video", cr.start, cr.end, totalText(cr.total))))
			return
		case cr.total > maxBytes || cr.end >= maxBytes:
			writeProblem(w, r, problemf(http.StatusRequestEntityTooLarge, fmt.Sprintf("a screen video is at most %d bytes (screen_max_bytes)", maxBytes)))
			return
		case length > maxScreenChunk:
			writeProblem(w, r, problemf(http.StatusRequestEntityTooLarge, fmt.Sprintf("one chunk is at most %d bytes", maxScreenChunk)))
			return
		case r.ContentLength != length:
			writeProblem(w, r, problemf(http.StatusBadRequest, fmt.Sprintf("Content-Length %d: the range %d-%d is %d bytes", r.ContentLength, cr.start, cr.end, length)))
			return
		}
	} else if r.ContentLength > 0 {
		writeProblem(w, r, problemf(http.StatusBadRequest, "a body needs a Content-Range: bytes START-END/TOTAL"))
		return
	}
	if cr.total > maxBytes {
		writeProblem(w, r, problemf(http.StatusRequestEntityTooLarge, fmt.Sprintf("a screen video is at most %d bytes (screen_max_bytes)", maxBytes)))
		return
	}
	rec, sr, ok := s.screenTarget(w, r)
	if !ok {
		return
	}
	unlock := s.screen.lock(rec.ID)
	defer unlock()
	ctx := r.Context()
	row, err := s.cfg.ScreenStore.GetScreen(ctx, rec.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		row = &store.Screen{RecordingID: rec.ID, Agent: firstNonEmpty(sr.Agent, principalOf(r).agentID()), Total: -1}
	case err != nil:
		s.fail(w, r, err)
		return
	}
	held := row.Held
	if cr.total >= 0 && row.Total >= 0 && cr.total != row.Total {
		writeProblem(w, r, problemf(http.StatusConflict, fmt.Sprintf("the video's size was given as %d bytes before, now %d", row.Total, cr.total)))
		return
	}
	if row.Total >= 0 && cr.end >= row.Total {
		w.Header().Set("Content-Range", "bytes */"+totalText(row.Total))
		writeProblem(w, r, problemf(http.StatusRequestedRangeNotSatisfiable, fmt.Sprintf("Content-Range: bytes %d-%d is past the video's %d bytes", cr.start, cr.end, row.Total)))
		return
	}
	if n := len(held); cr.total >= 0 && n > 0 && held[n-1].End >= cr.total {
		writeProblem(w, r, problemf(http.StatusConflict, fmt.Sprintf("bytes up to %d are held already: the video is not %d bytes", held[n-1].End, cr.total)))
		return
	}
	if row.Complete || length == 0 && (cr.total < 0 || !row.Held.Covers(cr.total)) {
		// A chunk of a complete video (a retry) or a status query.
		code := http.StatusOK
		if !row.Complete {
			code = http.StatusPermanentRedirect
		}
		s.answerScreen(w, row, code)
		return
	}
	if length > 0 && len(row.Held.Add(cr.start, cr.end)) > maxScreenGaps {
		writeProblem(w, r, problemf(http.StatusConflict, fmt.Sprintf("more than %d separate byte ranges: send the missing bytes first (held: bytes=0-%d)", maxScreenGaps, row.Held.Prefix()-1)))
		return
	}
	now := s.cfg.Now()
	path := mediastore.Screen(mediastore.Resolve(rec, s.cfg.DataDir))
	part := mediastore.Part(path)
	first := row.Held.Len() == 0
	recips, encrypted, err := s.screenRecipients(rec, sr)
	if err != nil {
		writeProblem(w, r, problemf(http.StatusConflict, err.Error()))
		return
	}
	var enc *encUpload
	if encrypted && length > 0 {
		next := row.Held.Prefix()
		if cr.start > next {
			s.answerScreen(w, row, http.StatusPermanentRedirect) // not stored: send from the Range held
			return
		}
		if cr.end >= next {
			if enc, err = s.screen.encStream(rec.ID, part, next, recips, now); err != nil {
				s.fail(w, r, fmt.Errorf("screen upload of %s: %w", rec.ID, err))
				return
			}
			if enc == nil {
				writeProblem(w, r, problemf(http.StatusConflict, errScreenStreamLost.Error()))
				return
			}
			if _, err := appendEncrypted(enc, r.Body, cr.start, length, next); err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) || errors.Is(err, io.ErrUnexpectedEOF) {
					writeProblem(w, r, problemf(http.StatusBadRequest, "the body ended before the range did: "+err.Error()))
					return
				}
				s.screen.dropEnc(rec.ID, false) // its stream is broken: what was checkpointed stays
				s.fail(w, r, fmt.Errorf("screen upload of %s: %w", rec.ID, err))
				return
			}
			row.Held = row.Held.Add(next, cr.end)
			row.EndedAt = now
		}
	} else if length > 0 {
		if err := writeRange(part, cr.start, length, r.Body); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) || errors.Is(err, io.ErrUnexpectedEOF) {
				writeProblem(w, r, problemf(http.StatusBadRequest, "the body ended before the range did: "+err.Error()))
				return
			}
			s.fail(w, r, fmt.Errorf("screen upload of %s: %w", rec.ID, err))
			return
		}
		row.Held = row.Held.Add(cr.start, cr.end)
		row.EndedAt = now
	}
	if cr.total >= 0 {
		row.Total = cr.total
	}
	if row.StartedAt.IsZero() && length > 0 {
		// The video's first frame: X-Screen-Started-Ago-Ms says how long
		// before this request the client started recording (its own
		// monotonic clock: no clock skew), else the bytes' arrival.
		row.StartedAt = now
		if ago, err := strconv.ParseInt(r.Header.Get("X-Screen-Started-Ago-Ms"), 10, 64); err == nil && ago >= 0 && ago <= int64(time.Hour/time.Millisecond) {
			row.StartedAt = now.Add(-time.Duration(ago) * time.Millisecond)
		}
	}
	row.UpdatedAt = now
	if codec != "" {
		row.Codec = codec
	}
	if wd, ht := headerInt(r, "X-Screen-Width"), headerInt(r, "X-Screen-Height"); wd > 0 && ht > 0 && wd <= 16384 && ht <= 16384 {
		row.Width, row.Height = wd, ht
	}
	status := http.StatusPermanentRedirect
	if row.Total >= 0 && row.Held.Covers(row.Total) {
		if encrypted {
			e := enc
			if e == nil {
				if e, err = s.screen.encStream(rec.ID, part, row.Held.Prefix(), recips, now); err == nil && e == nil {
					err = errScreenStreamLost
				}
			}
			if err == nil {
				err = finishEncrypted(e, part, path)
				s.screen.dropEnc(rec.ID, true)
			}
			row.Encrypted = true
		} else {
			err = s.finishScreen(row, part, path)
		}
		if err != nil {
			s.fail(w, r, fmt.Errorf("screen upload of %s: %w", rec.ID, err))
			return
		}
		row.Complete = true
		status = http.StatusCreated
	}
	if err := s.cfg.ScreenStore.PutScreen(ctx, row); err != nil {
		s.fail(w, r, err)
		return
	}
	if first && s.cfg.Screen != nil {
		s.cfg.Screen.ScreenReceived(rec.ID)
	}
	s.recordOnce(r, store.AuditScreenUpload+"|"+rec.ID, store.AuditEntry{Action: store.AuditScreenUpload, RecordingID: rec.ID})
	s.answerScreen(w, row, status)
}

func totalText(n int64) string {
	if n < 0 {
		return "*"
	}
	return strconv.FormatInt(n, 10)
}

// headerInt reads a small non-negative number header (0 when absent or
// out of 0..60000).
func headerInt(r *http.Request, name string) int {
	n, err := strconv.Atoi(r.Header.Get(name))
	if err != nil || n < 0 || n > 60000 {
		return 0
	}
	return n
}

// answerScreen answers an upload request with what is held: the Range
// header names the bytes held from the start (308 Resume Incomplete, as
// resumable upload clients expect).
func (s *Server) answerScreen(w http.ResponseWriter, row *store.Screen, status int) {
	if p := row.Held.Prefix(); p > 0 {
		w.Header().Set("Range", fmt.Sprintf("bytes=0-%d", p-1))
	}
	writeJSON(w, status, screenStatus{RecordingID: row.RecordingID, Held: row.Held.String(), Size: row.Held.Len(), Total: row.Total, Complete: row.Complete})
}

// screenTarget loads the recording of an upload and checks the uploader
// may send its screen: an admin; the agent the CTI side asked to record
// the screen for it; or an agent whose recording it is. Anyone else gets
// the 404 of a recording they may not see.
func (s *Server) screenTarget(w http.ResponseWriter, r *http.Request) (*store.Recording, ScreenRecording, bool) {
	id := r.PathValue("id")
	p := principalOf(r)
	notFound := func() { writeProblem(w, r, problemf(http.StatusNotFound, "no recording "+id)) }
	rec, err := s.cfg.Store.GetRecording(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		notFound()
		return nil, ScreenRecording{}, false
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, ScreenRecording{}, false
	}
	var sr ScreenRecording
	known := false
	if s.cfg.Screen != nil {
		sr, known = s.cfg.Screen.ScreenRecording(id)
	}
	switch {
	case p.user.Role == roleAdmin:
	case p.user.Role == roleAgent && known && asciiEqualFold(sr.Agent, p.agentID()) && (p.user.Tenant == "" || sr.Tenant == "" || asciiEqualFold(sr.Tenant, p.user.Tenant)):
	case p.user.Role == roleAgent && p.canSee(rec):
	default:
		notFound()
		return nil, ScreenRecording{}, false
	}
	if rec.MediaPath == "" {
		writeProblem(w, r, problemf(http.StatusConflict, "recording "+id+" has no media: its screen video has nowhere to go"))
		return nil, ScreenRecording{}, false
	}
	return rec, sr, true
}

// writeRange writes length bytes of body at off in path (created 0600)
// and syncs it: a 308 says the bytes are held.
func writeRange(path string, off, length int64, body io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(io.NewOffsetWriter(f, off), io.LimitReader(body, length))
	if err == nil && n < length {
		err = io.ErrUnexpectedEOF
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// finishScreen turns a complete upload of a recording not encrypted at
// rest into the stored video: its part renamed. (An encrypted recording's
// video is a stream sealed and renamed by finishEncrypted.)
func (s *Server) finishScreen(row *store.Screen, part, path string) error {
	if err := os.Truncate(part, row.Total); err != nil {
		return err
	}
	if err := os.Rename(part, path); err != nil {
		return err
	}
	return mediastore.SyncDir(filepath.Dir(path))
}

// openScreen opens the stored screen video of rec for reading: the whole
// video once complete (decrypted when encrypted), else the bytes held from
// its start (a playable prefix: the screen client died, or is still
// uploading).
func (s *Server) openScreen(w http.ResponseWriter, r *http.Request, rec *store.Recording) (io.ReadSeeker, func(), *store.Screen, bool) {
	if s.cfg.ScreenStore == nil {
		writeProblem(w, r, problemf(http.StatusNotFound, "recording "+rec.ID+" has no screen video"))
		return nil, nil, nil, false
	}
	row, err := s.cfg.ScreenStore.GetScreen(r.Context(), rec.ID)
	if errors.Is(err, store.ErrNotFound) || err == nil && row.Held.Prefix() == 0 {
		writeProblem(w, r, problemf(http.StatusNotFound, "recording "+rec.ID+" has no screen video"))
		return nil, nil, nil, false
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, nil, false
	}
	path := mediastore.Screen(mediastore.Resolve(rec, s.cfg.DataDir))
	if !row.Complete && !mediacrypt.IsEncryptedFile(mediastore.Part(path)) {
		f, err := os.Open(mediastore.Part(path))
		if err != nil {
			s.fail(w, r, err)
			return nil, nil, nil, false
		}
		return io.NewSectionReader(f, 0, row.Held.Prefix()), func() { f.Close() }, row, true
	}
	if !row.Complete {
		path = mediastore.Part(path) // an encrypted upload in progress: its checkpointed prefix
	} else if !row.Encrypted {
		f, err := os.Open(path)
		if err != nil {
			s.fail(w, r, err)
			return nil, nil, nil, false
		}
		return f, func() { f.Close() }, row, true
	}
	var keys *mediacrypt.Keys
	if s.cfg.Keys != nil {
		keys = s.cfg.Keys()
	}
	if !keys.CanDecrypt() {
		s.failMedia(w, r, rec, mediacrypt.ErrNoKeys)
		return nil, nil, nil, false
	}
	rd, err := mediacrypt.OpenFile(path, keys.Identities()...)
	if err != nil {
		s.failMedia(w, r, rec, err)
		return nil, nil, nil, false
	}
	size := rd.Size()
	if !row.Complete {
		size = min(size, row.Held.Prefix())
	}
	return io.NewSectionReader(rd, 0, size), func() { rd.Close() }, row, true
}

// serveScreen answers GET .../media?kind=screen: the video with Range
// (206), audited as a playback or download of the screen.
func (s *Server) serveScreen(w http.ResponseWriter, r *http.Request, rec *store.Recording, download bool) {
	content, closer, row, ok := s.openScreen(w, r, rec)
	if !ok {
		return
	}
	defer closer()
	name := rec.ID + "-screen.webm"
	w.Header().Set("Content-Type", "video/webm")
	if download {
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	}
	w.Header().Set("Cache-Control", "private, no-store")
	if r.Method != http.MethodHead {
		action := store.AuditPlayback
		if download {
			action = store.AuditDownload
		}
		s.recordOnce(r, action+"|"+rec.ID+"|screen", store.AuditEntry{Action: action, RecordingID: rec.ID, Detail: "kind=screen"})
	}
	modtime := row.UpdatedAt
	http.ServeContent(w, r, name, modtime, content)
}

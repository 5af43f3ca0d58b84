// Package api is openrec's REST API (/api/v1): authentication (UI sessions
// with a cookie and CSRF token, API bearer tokens), recording search and
// detail, media (PCM WAV with Range, MP3, per channel, waveform peaks), live
// calls and live listening over a WebSocket, recording control through the
// CTI link, administration (rules, tenants, users) and the audit log. Every
// error is an RFC 9457 problem document (problem.go); the OpenAPI document
// of the routes is served at /api/v1/openapi.json (openapi.json).
//
// The package declares what it needs from the rest of openrec as small
// interfaces (Store, Users, Audit, LiveSource, Listener, Controller,
// RulesAdmin, TenantsAdmin); internal/app adapts the recorder, the CTI bridge
// and the store to them.
package api

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/openrec/openrec/internal/media/live"
	"github.com/openrec/openrec/internal/media/mediaconv"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediacrypt"
)

// Store is what the API reads recordings from.
type Store interface {
	SearchRecordings(ctx context.Context, f store.Filter) (store.Page, error)
	CountRecordings(ctx context.Context, f store.Filter) (int, error)
	GetRecording(ctx context.Context, id string) (*store.Recording, error)
}

// Transcodes reads the transcode jobs of recordings kept raw
// (store.ErrNotFound: the recording has none).
type Transcodes interface {
	TranscodeJob(ctx context.Context, id string) (*store.TranscodeJob, error)
}

// Users stores users and their sessions.
type Users interface {
	GetUser(ctx context.Context, name string) (*store.User, error)
	ListUsers(ctx context.Context) ([]store.User, error)
	CreateUser(ctx context.Context, u *store.User) error
	UpdateUser(ctx context.Context, u *store.User) error
	DeleteUser(ctx context.Context, name string) error
	CreateSession(ctx context.Context, s store.Session) error
	GetSession(ctx context.Context, tokenHash string, now time.Time) (*store.Session, error)
	DeleteSession(ctx context.Context, tokenHash string) error
	DeleteUserSessions(ctx context.Context, name string) (int, error)
}

// Audit is the append-only audit log.
type Audit interface {
	AppendAudit(ctx context.Context, e store.AuditEntry) (int64, error)
	ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error)
}

// LiveSource lists the calls being recorded now.
type LiveSource interface {
	// Live returns the recordings in progress (recorder side).
	Live() []LiveCall
	// LiveCTI returns the monitored calls in progress (CTI side); nil
	// without a CTI link.
	LiveCTI() []CTICall
}

// Listener subscribes to the live audio of a recording in progress.
type Listener interface {
	// Subscribe returns a subscription to recordingID's audio (channel -1 =
	// all); ok false when the recording is not live.
	Subscribe(recordingID string, channel int) (sub *live.Subscription, ok bool)
	// IsLive reports whether the recording is still in progress.
	IsLive(recordingID string) bool
}

// Controller asks for a recording operation on a live call through the
// CTI link. Errors that are the client's fault are classified (NotFound,
// Conflict, BadRequest).
type Controller interface {
	Control(ctx context.Context, req ControlRequest) (ControlResult, error)
}

// RulesAdmin reads and replaces the recording rules.
type RulesAdmin interface {
	Rules() (RulesDoc, error)
	// SetRules validates and installs yaml (the `rules:` value); an
	// Unprocessable error when the rules do not compile, a Conflict when
	// there is nowhere to save them.
	SetRules(yaml string) (RulesDoc, error)
	// CheckRules compiles yaml as SetRules would and saves nothing: the
	// counts and warnings, or an Unprocessable error.
	CheckRules(yaml string) (RulesDoc, error)
}

// TenantsAdmin lists the tenants and their settings.
type TenantsAdmin interface {
	Tenants() []TenantView
}

// Config configures the API.
type Config struct {
	Store   Store
	Users   Users
	Audit   Audit
	Live    LiveSource   // nil: /live answers an empty list
	Listen  Listener     // nil: live listening is 501
	Control Controller   // nil: control is 501 (no CTI link)
	Rules   RulesAdmin   // nil: rules are 501 (no CTI link)
	Tenants TenantsAdmin // nil: no tenants configured
	Holds   Holds        // nil: legal holds are 501
	// Screen recording (issue 18): the CTI side's per-agent events (nil:
	// the event stream is 501), the screen video rows (nil: uploads are
	// 501), what clients capture, and the bound of one video (0:
	// DefaultScreenMaxBytes).
	Screen         ScreenSource
	ScreenStore    ScreenStore
	ScreenCapture  ScreenCapture
	ScreenMaxBytes int64
	// FFmpeg is the ffmpeg binary of muxed downloads ("" = ffmpeg on
	// PATH; none: 501 with the separate files' links).
	FFmpeg string
	Eraser Eraser // nil: erasure is 501
	// Transcodes gives a recording's transcode job (its detail's
	// "transcode"); nil: always null.
	Transcodes Transcodes
	DataDir    string // to resolve relative media paths
	// Objects opens media kept in an object store (store.Recording.
	// MediaObject set, the local copy gone); nil: none configured (such a
	// recording gets 409).
	Objects MediaObjects
	MP3     *mediaconv.Cache
	// Stored decodes recordings stored as MP3 or Opus (media_format) into
	// a WAV cached under DataDir/cache/pcm, from which replay (Range),
	// peaks and MP3 are served like any WAV; nil: such recordings get 501.
	Stored StoredDecoder
	// Keys returns the keys that decrypt recordings encrypted at rest (read
	// per request: SIGHUP may replace them; nil or nil keys: none; an encrypted
	// recording then gets 409, never its ciphertext). MP3s of encrypted
	// recordings are cached in MP3.Dir encrypted to a key held only in
	// memory (cryptMP3), never in clear.
	Keys    func() *mediacrypt.Keys
	Health  http.Handler // GET /healthz
	Metrics http.Handler // GET /metrics
	// MetricsToken, when set, is the bearer token /metrics asks for (a
	// Prometheus scrape config's authorization credentials).
	MetricsToken string
	UI           http.Handler // everything else (the web UI); nil = 404
	TokenTTL     time.Duration
	// SessionTTL is how long a UI session lives (default 12 h).
	SessionTTL time.Duration
	// SecureCookies forces the Secure attribute on the session cookie
	// (always set when the request came over TLS).
	SecureCookies bool
	// FingerprintKey keys the fingerprints the audit log keeps of names
	// typed at failed sign-ins (store.Fingerprint); nil: a random key of
	// this process (fingerprints then differ after a restart).
	FingerprintKey []byte
	Now            func() time.Time
	Logger         *slog.Logger
}

// StoredDecoder turns a recording stored compressed into a PCM16 WAV file
// (mediaconv.StoreCodec).
type StoredDecoder interface {
	Decode(ctx context.Context, src, format string, rate, channels int, dst string) error
}

// Server serves the API.
type Server struct {
	cfg    Config
	log    *slog.Logger
	mux    *http.ServeMux
	paths  *http.ServeMux // every API path, any method: tells 405 from 404
	recent recentAudit
	limit  loginLimiter
	mp3enc cryptMP3 // MP3s of encrypted recordings, cached encrypted
	screen screenState
}

// New returns the API server; Handler serves it.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.FingerprintKey == nil {
		cfg.FingerprintKey = make([]byte, 32)
		_, _ = rand.Read(cfg.FingerprintKey) // crypto/rand.Read never fails
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 24 * time.Hour
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), paths: http.NewServeMux()}
	s.screen.thumbs = make(chan struct{}, maxThumbnailJobs)
	allow := map[string][]string{}
	for _, rt := range s.routes() {
		h := rt.h
		if rt.auth {
			h = s.authenticated(rt.roles, h)
		}
		s.mux.Handle(rt.method+" "+rt.path, s.recoverer(h))
		if allow[rt.path] == nil {
			s.paths.Handle(rt.path, http.NotFoundHandler())
		}
		allow[rt.path] = append(allow[rt.path], rt.method)
	}
	if cfg.Health != nil {
		s.mux.Handle("GET /healthz", cfg.Health)
	}
	if cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", s.metricsGuard(cfg.Metrics))
	}
	s.mux.Handle("/api/", s.recoverer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := s.paths.Handler(r); pattern != "" {
			methods := allow[pattern]
			w.Header().Set("Allow", strings.Join(methods, ", "))
			writeProblem(w, r, problemf(http.StatusMethodNotAllowed, r.Method+" "+r.URL.Path+": allowed: "+strings.Join(methods, ", ")))
			return
		}
		writeProblem(w, r, problemf(http.StatusNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path))
	})))
	if cfg.UI != nil {
		s.mux.Handle("/", cfg.UI)
	}
	return s
}

// Handler returns the HTTP handler of the whole server: every response
// carries the security headers (headers.go); /metrics asks for the metrics
// token when one is configured.
func (s *Server) Handler() http.Handler { return s.securityHeaders(s.mux) }

// route is one API endpoint.
type route struct {
	method, path string
	auth         bool
	roles        []string // nil = any signed-in user
	h            http.Handler
}

func (s *Server) routes() []route {
	admin := []string{roleAdmin}
	staff := []string{roleAdmin, roleSupervisor}
	return []route{
		{"POST", "/api/v1/auth/token", false, nil, http.HandlerFunc(s.token)},
		{"POST", "/api/v1/auth/login", false, nil, http.HandlerFunc(s.login)},
		{"POST", "/api/v1/auth/logout", true, nil, http.HandlerFunc(s.logout)},
		{"GET", "/api/v1/auth/me", true, nil, http.HandlerFunc(s.me)},
		{"GET", "/api/v1/openapi.json", false, nil, http.HandlerFunc(serveOpenAPI)},
		{"GET", "/api/v1/recordings", true, nil, http.HandlerFunc(s.searchRecordings)},
		{"GET", "/api/v1/recordings/{id}", true, nil, http.HandlerFunc(s.getRecording)},
		{"GET", "/api/v1/recordings/{id}/media", true, nil, http.HandlerFunc(s.media)},
		{"GET", "/api/v1/recordings/{id}/peaks", true, nil, http.HandlerFunc(s.peaks)},
		{"POST", "/api/v1/recordings/{id}/screen", true, nil, http.HandlerFunc(s.uploadScreen)},
		{"GET", "/api/v1/screen/events", true, nil, http.HandlerFunc(s.screenEvents)},
		{"GET", "/api/v1/live", true, staff, http.HandlerFunc(s.live)},
		{"GET", "/api/v1/live/{id}/listen", true, staff, http.HandlerFunc(s.listen)},
		{"POST", "/api/v1/calls/control", true, staff, http.HandlerFunc(s.control)},
		{"GET", "/api/v1/admin/rules", true, admin, http.HandlerFunc(s.getRules)},
		{"PUT", "/api/v1/admin/rules", true, admin, http.HandlerFunc(s.putRules)},
		{"POST", "/api/v1/admin/rules/check", true, admin, http.HandlerFunc(s.checkRules)},
		{"GET", "/api/v1/admin/tenants", true, staff, http.HandlerFunc(s.tenants)},
		{"GET", "/api/v1/admin/users", true, admin, http.HandlerFunc(s.listUsers)},
		{"POST", "/api/v1/admin/users", true, admin, http.HandlerFunc(s.createUser)},
		{"PUT", "/api/v1/admin/users/{name}", true, admin, http.HandlerFunc(s.updateUser)},
		{"DELETE", "/api/v1/admin/users/{name}", true, admin, http.HandlerFunc(s.deleteUser)},
		{"GET", "/api/v1/audit", true, staff, http.HandlerFunc(s.audit)},
		{"GET", "/api/v1/holds", true, staff, http.HandlerFunc(s.listHolds)},
		{"POST", "/api/v1/holds", true, staff, http.HandlerFunc(s.setHold)},
		{"DELETE", "/api/v1/holds/{id}", true, staff, http.HandlerFunc(s.releaseHold)},
		{"DELETE", "/api/v1/holds/call/{uuid}", true, staff, http.HandlerFunc(s.releaseCallHold)},
		{"POST", "/api/v1/admin/erasure", true, admin, http.HandlerFunc(s.erase)},
	}
}

// recoverer turns a panic in a handler into a 500 problem without a stack
// trace to the client (the trace goes to the log).
func (s *Server) recoverer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("api handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v)
				writeProblem(w, r, &Problem{Status: http.StatusInternalServerError, Title: "Internal Server Error"})
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// Routes lists the API's endpoints as "METHOD /path" (the OpenAPI document
// must describe exactly these, plus /healthz and /metrics).
func Routes() []string {
	var out []string
	for _, rt := range (&Server{}).routes() {
		out = append(out, rt.method+" "+rt.path)
	}
	return out
}

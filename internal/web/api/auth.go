package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/web/auth"
)

// Roles (auth.Role values).
const (
	roleAdmin      = string(auth.RoleAdmin)
	roleSupervisor = string(auth.RoleSupervisor)
	roleAgent      = string(auth.RoleAgent)
)

// sessionCookie carries a UI session's token.
const sessionCookie = "openrec_session"

// csrfHeader carries a UI session's CSRF token on unsafe requests.
const csrfHeader = "X-CSRF-Token"

// principal is the signed-in user of a request.
type principal struct {
	user    store.User
	session store.Session
	cookie  bool // authenticated by the session cookie (UI)
}

type ctxKey struct{}

func principalOf(r *http.Request) *principal {
	p, _ := r.Context().Value(ctxKey{}).(*principal)
	return p
}

// newUserView is the JSON shape of a user (never the password hash).
func newUserView(u *store.User) store.UserView { return store.NewUserView(u) }

// authenticated lets a request through with a valid bearer token or
// session cookie (and, for a cookie on an unsafe method, the session's CSRF
// token), and, when roles is not nil, a user with one of roles.
func (s *Server) authenticated(roles []string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, prob := s.authenticate(r)
		if prob != nil {
			if prob.Status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="openrec"`)
			}
			writeProblem(w, r, prob)
			return
		}
		if roles != nil && !contains(roles, p.user.Role) {
			writeProblem(w, r, problemf(http.StatusForbidden, "role "+p.user.Role+" may not "+r.Method+" "+r.URL.Path))
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, p)))
	})
}

func (s *Server) authenticate(r *http.Request) (*principal, *Problem) {
	var token string
	cookie := false
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return nil, problemf(http.StatusUnauthorized, "the Authorization header must be: Bearer <token>")
		}
		token = strings.TrimSpace(tok)
		if !auth.WellFormedToken(token) {
			return nil, problemf(http.StatusUnauthorized, "the bearer token is malformed (not a token this server issues): sign in with POST /api/v1/auth/token and send its \"token\"")
		}
	} else if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		token, cookie = c.Value, true
	} else {
		return nil, problemf(http.StatusUnauthorized, "sign in: POST /api/v1/auth/token, then send Authorization: Bearer <token>")
	}
	ctx := r.Context()
	sess, err := s.cfg.Users.GetSession(ctx, auth.HashToken(token), s.cfg.Now())
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Error("session lookup failed", "error", err)
			return nil, problemf(http.StatusInternalServerError, "session lookup failed")
		}
		return nil, problemf(http.StatusUnauthorized, "the token or session is unknown or expired: sign in again")
	}
	u, err := s.cfg.Users.GetUser(ctx, sess.User)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Error("user lookup failed", "error", err)
		return nil, problemf(http.StatusInternalServerError, "user lookup failed")
	}
	if err != nil || u.Disabled {
		return nil, problemf(http.StatusUnauthorized, "the user of this session no longer exists or is disabled")
	}
	if cookie && !safeMethod(r.Method) {
		got := r.Header.Get(csrfHeader)
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) != 1 {
			return nil, problemf(http.StatusForbidden, "missing or wrong "+csrfHeader+" header (CSRF protection): use the csrf_token of /api/v1/auth/me")
		}
	}
	return &principal{user: *u, session: *sess, cookie: cookie}, nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// checkCredentials returns the user of c, or a 401 problem (the same for an
// unknown user, a wrong password and a disabled user, and as slow: a
// missing user is checked against a dummy hash). Failures are counted per
// source address and per account (see limiter.go): an address or an
// account with too many recent failures is refused for a while (429), and
// a success of one account never forgives the failures of another.
func (s *Server) checkCredentials(r *http.Request, c credentials) (*store.User, error) {
	ip, now := throttleAddr(remoteAddr(r)), s.cfg.Now()
	account := accountKey(c.Username)
	if wait, who := s.limit.blocked(ip, account, now); wait > 0 {
		return nil, &Problem{Status: http.StatusTooManyRequests, Title: "Too Many Requests",
			Detail: fmt.Sprintf("too many failed sign-ins %s: try again in %d s", who, int(wait.Seconds())+1)}
	}
	var u *store.User
	var err error
	if auth.ValidUserName(c.Username) == nil {
		u, err = s.cfg.Users.GetUser(r.Context(), c.Username)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	hash := dummyHash()
	if u != nil && !u.Disabled {
		hash = u.PasswordHash
	}
	if !auth.CheckPassword(hash, c.Password) || u == nil || u.Disabled {
		s.limit.failed(ip, account, now)
		s.record(r, store.AuditEntry{User: s.failedName(c.Username, u), Action: store.AuditLoginFailed})
		return nil, problemf(http.StatusUnauthorized, "wrong user name or password")
	}
	s.limit.succeeded(account)
	return u, nil
}

// failedName is what the audit log keeps of the user name of a failed
// sign-in: the name of an existing account, never what was typed for an
// unknown one (people type passwords there) — only a short fingerprint
// that tells repeated attempts apart, keyed (Config.FingerprintKey) so
// that the log cannot be checked against a password list.
func (s *Server) failedName(typed string, u *store.User) string {
	if u != nil {
		return u.Name
	}
	return "(unknown user " + store.Fingerprint(s.cfg.FingerprintKey, typed) + ")"
}

// dummyHash is a bcrypt hash of nothing anyone knows, checked for unknown
// users so that a wrong name costs as much time as a wrong password.
var dummyHash = sync.OnceValue(func() string {
	tok, _ := auth.NewToken()
	h, err := auth.HashPassword("x-" + tok)
	if err != nil {
		return ""
	}
	return h
})

func (s *Server) newSession(r *http.Request, u *store.User, kind string, ttl time.Duration) (token string, sess store.Session, err error) {
	token, err = auth.NewToken()
	if err != nil {
		return "", sess, err
	}
	now := s.cfg.Now()
	sess = store.Session{TokenHash: auth.HashToken(token), User: u.Name, Kind: kind, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if kind == store.SessionUI {
		if sess.CSRF, err = auth.NewToken(); err != nil {
			return "", sess, err
		}
	}
	if err := s.cfg.Users.CreateSession(r.Context(), sess); err != nil {
		return "", sess, err
	}
	return token, sess, nil
}

// signIn checks the credentials of the request body and opens a session
// of kind; on failure it has answered the request.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, kind string, ttl time.Duration) (*store.User, string, store.Session, bool) {
	var c credentials
	// The token endpoint sets no cookie: a JSON body sent without its
	// content type (curl -d) is fine. The cookie endpoint stays strict.
	if err := readJSONBody(w, r, &c, kind == store.SessionAPI); err != nil {
		s.fail(w, r, err)
		return nil, "", store.Session{}, false
	}
	u, err := s.checkCredentials(r, c)
	if err != nil {
		s.fail(w, r, err)
		return nil, "", store.Session{}, false
	}
	token, sess, err := s.newSession(r, u, kind, ttl)
	if err != nil {
		s.fail(w, r, err)
		return nil, "", store.Session{}, false
	}
	detail := "api token"
	if kind == store.SessionUI {
		detail = "web session"
	}
	s.record(r, store.AuditEntry{User: u.Name, Role: u.Role, Tenant: u.Tenant, Action: store.AuditLogin, Detail: detail})
	return u, token, sess, true
}

// token: POST /api/v1/auth/token {"username","password"} → {"token"}.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	u, token, sess, ok := s.signIn(w, r, store.SessionAPI, s.cfg.TokenTTL)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": token, "token_type": "Bearer", "expires_at": sess.ExpiresAt.UTC(), "user": newUserView(u)})
}

// login: POST /api/v1/auth/login → session cookie + CSRF token.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	u, token, sess, ok := s.signIn(w, r, store.SessionUI, s.cfg.SessionTTL)
	if !ok {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.cfg.SecureCookies || r.TLS != nil,
	})
	writeJSON(w, http.StatusOK, map[string]any{"user": newUserView(u), "csrf_token": sess.CSRF})
}

// logout ends the session (cookie or token).
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	if err := s.cfg.Users.DeleteSession(r.Context(), p.session.TokenHash); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

// me: the signed-in user and, for a UI session, its CSRF token.
func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	writeJSON(w, http.StatusOK, map[string]any{"user": newUserView(&p.user), "csrf_token": p.session.CSRF})
}

// record appends an audit entry for r; the signed-in user (if any) fills
// User, Role and Tenant where e leaves them empty. A failure is logged: the
// request it describes already happened.
func (s *Server) record(r *http.Request, e store.AuditEntry) {
	if p := principalOf(r); p != nil {
		if e.User == "" {
			e.User = p.user.Name
		}
		if e.Role == "" {
			e.Role = p.user.Role
		}
		if e.Tenant == "" {
			e.Tenant = p.user.Tenant
		}
	}
	e.Remote = remoteAddr(r)
	if e.At.IsZero() {
		e.At = s.cfg.Now()
	}
	if _, err := s.cfg.Audit.AppendAudit(context.WithoutCancel(r.Context()), e); err != nil {
		s.log.Error("audit entry not written", "action", e.Action, "user", e.User, "recording_id", e.RecordingID, "error", err)
	}
}

// mediaAuditWindow is how long repeated requests of one session for the
// same media count as one audited access.
const mediaAuditWindow = 10 * time.Minute

// recentAuditMax bounds the accesses recentAudit remembers.
const recentAuditMax = 10000

// recentAudit remembers audited accesses for recordOnce.
type recentAudit struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// recordOnce records e unless the same session recorded key within
// mediaAuditWindow.
func (s *Server) recordOnce(r *http.Request, key string, e store.AuditEntry) {
	if p := principalOf(r); p != nil {
		key = p.session.TokenHash + "|" + key
	}
	now := s.cfg.Now()
	ra := &s.recent
	ra.mu.Lock()
	if t, ok := ra.seen[key]; ok && now.Sub(t) < mediaAuditWindow {
		ra.mu.Unlock()
		return
	}
	if ra.seen == nil {
		ra.seen = map[string]time.Time{}
	}
	if len(ra.seen) >= recentAuditMax {
		for k, t := range ra.seen {
			if now.Sub(t) >= mediaAuditWindow {
				delete(ra.seen, k)
			}
		}
	}
	if len(ra.seen) < recentAuditMax { // full of recent accesses: audit each, remember none
		ra.seen[key] = now
	}
	ra.mu.Unlock()
	s.record(r, e)
}

func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

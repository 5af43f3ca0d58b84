package api

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// contentSecurityPolicy allows the UI's own files only: scripts and styles
// from files (no inline code), images from files and data: URLs (the
// favicon), audio from the API and blob: URLs (replay), the WebSocket of
// live listening (same origin), no frames, plugins or foreign forms.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// securityHeaders sets the browser security headers on every response of
// h: no MIME sniffing, no framing (clickjacking), no referrer, the content
// security policy, and HSTS over TLS (or behind a TLS proxy, when
// secure_cookies says so).
func (s *Server) securityHeaders(h http.Handler) http.Handler {
	return withSecurityHeaders(h, s.cfg.SecureCookies)
}

// SecurityHeaders sets the same headers on every response of h, for the
// server's other listeners (metrics_listen, pprof_listen); HSTS over TLS.
func SecurityHeaders(h http.Handler) http.Handler { return withSecurityHeaders(h, false) }

func withSecurityHeaders(h http.Handler, behindTLS bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if r.TLS != nil || behindTLS {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	})
}

// metricsGuard asks for the metrics token when one is configured.
func (s *Server) metricsGuard(h http.Handler) http.Handler {
	return RequireToken(s.cfg.MetricsToken, h)
}

// RequireToken lets requests through h only with Authorization: Bearer
// token (compared in constant time); an empty token lets every request
// through. Used for /metrics (a Prometheus scrape's credentials).
func RequireToken(token string, h http.Handler) http.Handler {
	if token == "" {
		return h
	}
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="openrec metrics"`)
			writeProblem(w, r, problemf(http.StatusUnauthorized, "/metrics needs the metrics token: Authorization: Bearer <metrics_token>"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

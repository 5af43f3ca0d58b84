package api_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/openrec/openrec/internal/web/api"
)

// Issue 13: security headers on every response — API answers, problems,
// the UI, health and metrics.
func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("x")) })
	e := newEnv(t, func(c *api.Config) { c.UI, c.Health, c.Metrics = ok, ok, ok })
	tok := e.token("root")
	for _, c := range []struct{ tok, method, path string }{
		{"", "GET", "/"},
		{"", "GET", "/healthz"},
		{"", "GET", "/metrics"},
		{"", "GET", "/api/v1/recordings"},     // 401 problem
		{tok, "GET", "/api/v1/recordings"},    // 200
		{tok, "DELETE", "/api/v1/recordings"}, // 405
		{tok, "GET", "/api/v1/nothing"},       // 404
		{tok, "GET", "/api/v1/recordings/rec-a1/media"},
	} {
		resp := e.raw(c.tok, c.method, c.path, nil, nil)
		resp.Body.Close()
		for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy", "Referrer-Policy"} {
			if resp.Header.Get(h) == "" {
				t.Errorf("%s %s (%d): no %s", c.method, c.path, resp.StatusCode, h)
			}
		}
		if resp.Header.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s %s: HSTS over plain HTTP", c.method, c.path)
		}
	}
	// HSTS over TLS.
	srv := httptest.NewTLSServer(api.New(api.Config{Store: e.db, Users: e.db, Audit: e.db, UI: ok}).Handler())
	defer srv.Close()
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := cl.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over TLS")
	}
}

func TestMetricsToken(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("openrec_up 1\n")) })
	e := newEnv(t, func(c *api.Config) { c.Metrics, c.MetricsToken = ok, "scrape-secret" })
	for _, c := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer wrong", 401}, {"Basic c2NyYXBlLXNlY3JldA==", 401}, {"Bearer scrape-secret", 200}} {
		hdr := http.Header{}
		if c.auth != "" {
			hdr.Set("Authorization", c.auth)
		}
		resp := e.raw("", "GET", "/metrics", nil, hdr)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("/metrics with %q: %d, want %d", c.auth, resp.StatusCode, c.want)
		}
	}
}

package app_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openrec/openrec/internal/config"
)

// Issue 13: /metrics on its own listener, behind a token read from a file.
func TestMetricsOwnListenerAndToken(t *testing.T) {
	tokFile := filepath.Join(t.TempDir(), "metrics.token")
	if err := os.WriteFile(tokFile, []byte("scrape-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startApp(t, func(c *config.Serve) {
		c.MetricsListen = "127.0.0.1:0"
		c.MetricsTokenFile = tokFile
	})
	get := func(url, tok string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if a.MetricsAddr() == "" {
		t.Fatal("no metrics listener")
	}
	if code, _ := get("http://"+a.HTTPAddr()+"/metrics", "scrape-secret"); code != 404 {
		t.Errorf("/metrics on the public HTTP address: %d, want 404", code)
	}
	if code, _ := get("http://"+a.MetricsAddr()+"/metrics", ""); code != 401 {
		t.Errorf("/metrics without the token: %d, want 401", code)
	}
	if code, body := get("http://"+a.MetricsAddr()+"/metrics", "scrape-secret"); code != 200 || !strings.Contains(body, "openrec_") {
		t.Errorf("/metrics with the token: %d %.80q", code, body)
	}
	// The metrics listener's answers carry the security headers too.
	for _, tok := range []string{"", "scrape-secret"} {
		req, _ := http.NewRequest("GET", "http://"+a.MetricsAddr()+"/metrics", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("metrics listener (%d): headers %v", resp.StatusCode, resp.Header)
		}
	}
	// The web UI carries the security headers.
	resp, err := http.Get("http://" + a.HTTPAddr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("UI headers: %v", resp.Header)
	}
}

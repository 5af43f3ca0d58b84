package app_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/config"
)

type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Issue 13 (no secret where every local account reads it): a file the
// server reads secrets from — the configuration file holding a metrics
// token or tenant passwords, metrics_token_file, the TLS key — that every
// local account can read is named in a warning at start; a private one is
// not.
func TestWorldReadableSecretFilesWarned(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	open := write("open.yaml", 0o644)
	tok := write("metrics.token", 0o644)
	private := write("private.yaml", 0o600)
	for _, c := range []struct {
		name string
		mut  func(*config.Serve)
		want []string
	}{
		{"world-readable", func(c *config.Serve) {
			c.Path = open
			c.Tenants = []config.Tenant{{Name: "Acme", Password: "tenant-secret"}}
			c.MetricsTokenFile = tok
		}, []string{open, tok}},
		{"private", func(c *config.Serve) {
			c.Path = private
			c.MetricsToken = "x"
		}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf lockedLog
			apptest.Start(t, c.mut, slog.New(slog.NewTextHandler(&buf, nil)))
			logged := buf.String()
			warned := strings.Count(logged, "readable by every local account")
			if warned != len(c.want) {
				t.Errorf("%d warnings, want %d:\n%s", warned, len(c.want), logged)
			}
			for _, p := range c.want {
				if !strings.Contains(logged, p) {
					t.Errorf("no warning naming %s:\n%s", p, logged)
				}
			}
		})
	}
}

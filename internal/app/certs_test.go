package app

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/testtool/testpki"
)

func copyFile(t testing.TB, from, to string, mod time.Time) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(to, mod, mod); err != nil {
		t.Fatal(err)
	}
}

func servedCN(t *testing.T, c *certs) string {
	t.Helper()
	pair, err := c.get(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf.Subject.CommonName
}

// A renewed certificate is picked up from its files without a restart; a
// broken one is refused and the one in force kept.
func TestCertsReloadOnChange(t *testing.T) {
	dir := t.TempDir()
	aCrt, aKey, _, _ := testpki.SelfSigned(t, dir, "rec-a")
	bCrt, bKey, _, _ := testpki.SelfSigned(t, dir, "rec-b")
	crt, key := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	t0 := time.Now().Add(-time.Minute).Truncate(time.Second)
	copyFile(t, aCrt, crt, t0)
	copyFile(t, aKey, key, t0)
	c, err := newCerts(crt, key, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c.now = func() time.Time { return now }
	if cn := servedCN(t, c); cn != "rec-a" {
		t.Fatalf("served %s", cn)
	}
	copyFile(t, bCrt, crt, t0.Add(time.Second))
	copyFile(t, bKey, key, t0.Add(time.Second))
	if cn := servedCN(t, c); cn != "rec-a" {
		t.Errorf("files checked before certCheckEvery: served %s", cn)
	}
	now = now.Add(certCheckEvery)
	if cn := servedCN(t, c); cn != "rec-b" {
		t.Errorf("after the files changed: served %s, want rec-b", cn)
	}
	// A broken pair (certificate of a, key of b) is refused; b stays.
	copyFile(t, aCrt, crt, t0.Add(2*time.Second))
	if err := c.Reload(); err == nil {
		t.Error("Reload of a mismatched pair: no error")
	}
	now = now.Add(certCheckEvery)
	if cn := servedCN(t, c); cn != "rec-b" {
		t.Errorf("after a broken change: served %s, want rec-b kept", cn)
	}
}

func TestClientSubjects(t *testing.T) {
	dir := t.TempDir()
	_, _, _, leaf := testpki.SelfSigned(t, dir, "sbc1.example.net")
	for _, c := range []struct {
		subjects []string
		want     bool
	}{{[]string{"sbc1.example.net"}, true}, {[]string{" SBC1.example.net "}, true}, {[]string{"sbc2"}, false}, {nil, false}} {
		if got := subjectAllowed(leaf, c.subjects); got != c.want {
			t.Errorf("subjects %q: %v, want %v", c.subjects, got, c.want)
		}
	}
}

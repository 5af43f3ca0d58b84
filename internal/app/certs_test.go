package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// WriteTestCert writes a self-signed certificate for cn (also a DNS SAN,
// and 127.0.0.1) and its key to dir/cn.crt and dir/cn.key, and returns
// them. Exported for the package's external tests (https_test.go).
func WriteTestCert(t testing.TB, dir, cn string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		DNSNames: []string{cn}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, cn+".crt"), filepath.Join(dir, cn+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	return certFile, keyFile, cert
}

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
	aCrt, aKey, _ := WriteTestCert(t, dir, "rec-a")
	bCrt, bKey, _ := WriteTestCert(t, dir, "rec-b")
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
	_, _, leaf := WriteTestCert(t, dir, "sbc1.example.net")
	for _, c := range []struct {
		subjects []string
		want     bool
	}{{[]string{"sbc1.example.net"}, true}, {[]string{" SBC1.example.net "}, true}, {[]string{"sbc2"}, false}, {nil, false}} {
		if got := subjectAllowed(leaf, c.subjects); got != c.want {
			t.Errorf("subjects %q: %v, want %v", c.subjects, got, c.want)
		}
	}
}

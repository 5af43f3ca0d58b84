package app_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool/testpki"
	"github.com/openrec/openrec/internal/web/auth"
)

// selfSigned writes a certificate for 127.0.0.1 named cn to certFile and
// keyFile.
func selfSigned(t *testing.T, certFile, keyFile, cn string) *x509.Certificate {
	t.Helper()
	crt, key, _, c := testpki.SelfSigned(t, t.TempDir(), cn)
	for from, to := range map[string]string{crt: certFile, key: keyFile} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// Issue 13: the web UI and REST API over HTTPS (TLS 1.2+), Secure cookies
// and HSTS, the certificate renewed on SIGHUP (App.Reload) without a restart.
func TestHTTPSAndCertificateReload(t *testing.T) {
	dir := t.TempDir()
	crt, key := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	first := selfSigned(t, crt, key, "openrec-1")
	a := startApp(t, func(c *config.Serve) { c.HTTPTLS, c.TLSCert, c.TLSKey = true, crt, key })
	h, err := auth.HashPassword("password-admin")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Store().CreateUser(context.Background(), &store.User{Name: "admin", Role: "admin", PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
	client := func(trust *x509.Certificate) *http.Client {
		pool := x509.NewCertPool()
		pool.AddCert(trust)
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
	}
	url := "https://" + a.HTTPAddr()
	resp, err := client(first).Post(url+"/api/v1/auth/login", "application/json", bytes.NewReader([]byte(`{"username":"admin","password":"password-admin"}`)))
	if err != nil {
		t.Fatalf("HTTPS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("login over HTTPS: %d %+v", resp.StatusCode, resp.TLS)
	}
	if cs := resp.Cookies(); len(cs) != 1 || !cs[0].Secure {
		t.Errorf("session cookie over HTTPS: %+v, want Secure", cs)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over HTTPS")
	}
	// Plain HTTP on the HTTPS port gets nothing useful.
	if r, err := http.Get("http://" + a.HTTPAddr() + "/healthz"); err == nil {
		r.Body.Close()
		if r.StatusCode == 200 {
			t.Error("plain HTTP answered 200 on the HTTPS port")
		}
	}
	// Renewed certificate + SIGHUP: new connections get it.
	second := selfSigned(t, crt, key, "openrec-2")
	if err := a.Reload(context.Background()); err != nil {
		t.Fatalf("reload: %v", err)
	}
	resp, err = client(second).Get(url + "/healthz")
	if err != nil {
		t.Fatalf("after reload: %v", err)
	}
	resp.Body.Close()
	if cn := resp.TLS.PeerCertificates[0].Subject.CommonName; cn != "openrec-2" {
		t.Errorf("after reload: served %s, want openrec-2", cn)
	}
}

// tls settings are checked before anything starts.
func TestTLSSettingsValidated(t *testing.T) {
	for _, mut := range []func(*config.Serve){
		func(c *config.Serve) { c.HTTPTLS = true },
		func(c *config.Serve) { c.TLSCert = "x.crt" },
		func(c *config.Serve) { c.TLSClientSubjects = "sbc1" },
		func(c *config.Serve) { c.SIPTLSListen = "0.0.0.0:5061" },                                // no certificate
		func(c *config.Serve) { c.SIPTLSListen, c.TLSCert, c.TLSKey = "5061", "x.crt", "x.key" }, // not HOST:PORT
	} {
		c := config.Defaults()
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

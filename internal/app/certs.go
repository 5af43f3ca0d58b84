package app

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// certCheckEvery is how often a handshake may look at the certificate
// files for a change (a renewed certificate is picked up without a
// restart and without dropping a call).
const certCheckEvery = 5 * time.Second

// certs holds the server certificate of the TLS listeners (HTTPS, SIP TLS)
// and reloads it when its files change or on Reload (SIGHUP). A pair that
// fails to load is logged and the one in force is kept.
type certs struct {
	certFile, keyFile string
	log               *slog.Logger
	now               func() time.Time

	mu        sync.Mutex
	cert      *tls.Certificate
	modCert   time.Time
	modKey    time.Time
	checkedAt time.Time
}

func newCerts(certFile, keyFile string, log *slog.Logger) (*certs, error) {
	c := &certs{certFile: certFile, keyFile: keyFile, log: log, now: time.Now}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload loads the pair from its files.
func (c *certs) Reload() error {
	mc, mk, err := c.modTimes()
	if err != nil {
		return err
	}
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("tls_cert %s / tls_key %s: %w", c.certFile, c.keyFile, err)
	}
	c.mu.Lock()
	c.cert, c.modCert, c.modKey, c.checkedAt = &pair, mc, mk, c.now()
	c.mu.Unlock()
	if leaf, err := x509.ParseCertificate(pair.Certificate[0]); err == nil {
		c.log.Info("TLS certificate loaded", "subject", leaf.Subject.String(), "not_after", leaf.NotAfter.UTC())
	}
	return nil
}

func (c *certs) modTimes() (cert, key time.Time, err error) {
	fc, err := os.Stat(c.certFile)
	if err != nil {
		return cert, key, fmt.Errorf("tls_cert: %w", err)
	}
	fk, err := os.Stat(c.keyFile)
	if err != nil {
		return cert, key, fmt.Errorf("tls_key: %w", err)
	}
	return fc.ModTime(), fk.ModTime(), nil
}

// get is tls.Config.GetCertificate: the pair in force, reloaded first when
// its files changed (checked at most every certCheckEvery).
func (c *certs) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	due := c.now().Sub(c.checkedAt) >= certCheckEvery
	if due {
		c.checkedAt = c.now()
	}
	cur, mc0, mk0 := c.cert, c.modCert, c.modKey
	c.mu.Unlock()
	if due {
		if mc, mk, err := c.modTimes(); err == nil && (!mc.Equal(mc0) || !mk.Equal(mk0)) {
			if err := c.Reload(); err != nil {
				c.log.Error("TLS certificate changed but does not load: the previous one stays in force", "error", err)
			} else {
				c.mu.Lock()
				cur = c.cert
				c.mu.Unlock()
			}
		}
	}
	return cur, nil
}

// serverConfig is the TLS configuration of a listener: TLS 1.2 or later,
// and, with a client CA file, mutual TLS (clients must present a
// certificate of that CA, and, when subjects is not empty, one whose
// subject common name or a DNS SAN is listed).
func (c *certs) serverConfig(clientCAFile string, subjects []string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.get}
	if clientCAFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(clientCAFile)
	if err != nil {
		return nil, fmt.Errorf("tls_client_ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls_client_ca %s: no PEM certificate in it", clientCAFile)
	}
	cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	if len(subjects) > 0 {
		cfg.VerifyPeerCertificate = func(_ [][]byte, chains [][]*x509.Certificate) error {
			for _, ch := range chains {
				if len(ch) > 0 && subjectAllowed(ch[0], subjects) {
					return nil
				}
			}
			return errClientNotAllowed
		}
	}
	return cfg, nil
}

// clientConfig is the TLS configuration of connections the recorder opens
// to SIP TLS peers: TLS 1.2+, the peer verified against caFile (nil: the
// system roots), and the recorder's own certificate (the one in force)
// offered to peers that ask for one.
func (c *certs) clientConfig(caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		return c.get(nil)
	}}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("sip_tls_peer_ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("sip_tls_peer_ca %s: no PEM certificate in it", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// subjectList splits tls_client_subjects (a comma list).
func subjectList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

var errClientNotAllowed = errors.New("client certificate subject not in tls_client_subjects")

func subjectAllowed(leaf *x509.Certificate, subjects []string) bool {
	for _, s := range subjects {
		s = strings.TrimSpace(s)
		if strings.EqualFold(s, leaf.Subject.CommonName) {
			return true
		}
		for _, d := range leaf.DNSNames {
			if strings.EqualFold(s, d) {
				return true
			}
		}
	}
	return false
}

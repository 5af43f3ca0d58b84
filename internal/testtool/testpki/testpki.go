// Package testpki makes certificates for tests: a certificate authority
// that issues server-and-client leaves for 127.0.0.1, and self-signed
// certificates, as PEM files in a test's temp dir and as tls values. One
// home for what the HTTPS, SIP TLS, CTI TLS and CLI tests all need.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// serial makes every certificate of a test binary distinct.
var serial atomic.Int64

func template(cn string, ca bool) *x509.Certificate {
	t := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano() + serial.Add(1)), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		BasicConstraintsValid: true,
	}
	if ca {
		t.IsCA, t.KeyUsage = true, x509.KeyUsageCertSign|x509.KeyUsageDigitalSignature
	} else {
		t.KeyUsage = x509.KeyUsageDigitalSignature
	}
	return t
}

func leafFields(t *x509.Certificate, cn string) {
	t.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	t.DNSNames = []string{cn}
	t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
}

// CA is a test certificate authority; File holds its certificate (PEM),
// Pool trusts it.
type CA struct {
	Cert *x509.Certificate
	Pool *x509.CertPool
	File string
	key  *ecdsa.PrivateKey
	dir  string
}

// NewCA makes a CA named name, its certificate written to a temp dir.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key := newKey(t)
	der, err := x509.CreateCertificate(rand.Reader, template(name, true), template(name, true), &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := &CA{key: key, dir: t.TempDir(), Pool: x509.NewCertPool()}
	ca.Cert, _ = x509.ParseCertificate(der)
	ca.Pool.AddCert(ca.Cert)
	ca.File = filepath.Join(ca.dir, name+".pem")
	writePEM(t, ca.File, "CERTIFICATE", der)
	return ca
}

// Issue makes a certificate named cn for 127.0.0.1 (and the DNS name cn),
// good for servers and clients, writes it and its key into the CA's dir and
// returns the files and the loaded pair.
func (ca *CA) Issue(t testing.TB, cn string) (certFile, keyFile string, pair tls.Certificate) {
	t.Helper()
	key := newKey(t)
	tmpl := template(cn, false)
	leafFields(tmpl, cn)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return write(t, ca.dir, cn, der, key)
}

// SelfSigned writes into dir a self-signed certificate (its own CA) named
// cn for 127.0.0.1 and the DNS name cn, and its key, and returns the files,
// the loaded pair and the parsed certificate.
func SelfSigned(t testing.TB, dir, cn string) (certFile, keyFile string, pair tls.Certificate, cert *x509.Certificate) {
	t.Helper()
	key := newKey(t)
	tmpl := template(cn, true)
	leafFields(tmpl, cn)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, pair = write(t, dir, cn, der, key)
	cert, _ = x509.ParseCertificate(der)
	return certFile, keyFile, pair, cert
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func write(t testing.TB, dir, cn string, der []byte, key *ecdsa.PrivateKey) (certFile, keyFile string, pair tls.Certificate) {
	t.Helper()
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, cn+".crt"), filepath.Join(dir, cn+".key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kd)
	pair, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pair
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

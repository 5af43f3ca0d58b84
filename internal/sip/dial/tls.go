package dial

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"time"
)

// SIP over TLS. The Dialer's requests open TLS connections to the recorder
// with Options.TLS (sipgo's TLS transport, one connection per target
// reused by the calls to it); the recorder's BYE comes back over that
// connection while it is up. When the recorder closed it (idle), its BYE
// comes over a new TLS connection to our Contact: the Dialer listens for
// TLS with the certificate of Options.TLS (the one it shows for mutual
// TLS), or, without one, a self-signed certificate made at NewDialer — a
// recorder that verifies its peers refuses that one, so give a
// certificate its CA signed when calls outlive the recorder's idle
// timeout.

// listenTLS binds the Dialer's TLS listener on ip (ephemeral port).
func listenTLS(ip netip.Addr, conf *tls.Config) (net.Listener, netip.AddrPort, error) {
	srv := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: conf.Certificates}
	if len(srv.Certificates) == 0 {
		cert, err := selfSigned(ip)
		if err != nil {
			return nil, netip.AddrPort{}, fmt.Errorf("dial: TLS certificate: %w", err)
		}
		srv.Certificates = []tls.Certificate{cert}
	}
	raw, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		return nil, netip.AddrPort{}, fmt.Errorf("dial: SIP TLS socket: %w", err)
	}
	return tls.NewListener(raw, srv), raw.Addr().(*net.TCPAddr).AddrPort(), nil
}

// clientTLS is the configuration sipgo dials the recorder with.
func clientTLS(conf *tls.Config) *tls.Config {
	if conf == nil {
		return nil
	}
	c := conf.Clone()
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

// selfSigned makes a certificate for ip valid for a day.
func selfSigned(ip netip.Addr) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: UserAgent},
		IPAddresses: []net.IP{ip.AsSlice()},
		NotBefore:   time.Now().Add(-time.Minute), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

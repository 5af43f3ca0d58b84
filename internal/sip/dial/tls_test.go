package dial

import (
	"context"
	"crypto/tls"
	"errors"
	"net/netip"
	"testing"
)

// Transport "tls" needs Options.TLS; with it the Dialer listens for TLS
// (a self-signed certificate for its address when none is given) and
// names that listener in its Contact.
func TestTLSOptions(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	plain, err := NewDialer(Options{LocalIP: lo})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := plain.Call(context.Background(), Spec{Target: "127.0.0.1:5061", Transport: TransportTLS}); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("tls without Options.TLS: %v, want ErrInvalidSpec", err)
	}
	if plain.SIPAddr(TransportTLS).IsValid() {
		t.Error("a Dialer without TLS has a TLS address")
	}

	d, err := NewDialer(Options{LocalIP: lo, TLS: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
	addr := d.SIPAddr(TransportTLS)
	c, err := tls.Dial("tcp", addr.String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("Dialer's TLS listener: %v", err)
	}
	st := c.ConnectionState()
	c.Close()
	if cn := st.PeerCertificates[0].Subject.CommonName; cn != UserAgent || st.Version < tls.VersionTLS12 {
		t.Errorf("TLS listener: certificate %q, version %x", cn, st.Version)
	}
	ct := d.contact(TransportTLS, false)
	if ct.Address.Port != int(addr.Port()) || ct.Address.UriParams.GetOr("transport", "") != "tls" {
		t.Errorf("TLS Contact = %s, want port %d;transport=tls", ct.Address.String(), addr.Port())
	}
}

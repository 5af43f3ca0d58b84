package link

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/sim"
	"github.com/openrec/openrec/internal/testtool/testpki"
)

// selfSignedTLS is a certificate for 127.0.0.1 named cn and a pool that
// trusts it.
func selfSignedTLS(t *testing.T, cn string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	_, _, pair, c := testpki.SelfSigned(t, t.TempDir(), cn)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return pair, pool
}

// The link to a SIP Server serving T-Library over TLS (the simulator with
// mutual TLS here) registers and carries events; a client that does not
// trust the server's certificate, or speaks plain TCP to it, never gets up.
func TestLinkOverTLS(t *testing.T) {
	const sw = "SW1"
	srvCert, srvPool := selfSignedTLS(t, "sipserver")
	cliCert, cliPool := selfSignedTLS(t, "recorder")
	csim, err := sim.New(sim.Config{Switch: sw, Seed: 5,
		TLS: &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientCAs: cliPool, ClientAuth: tls.RequireAndVerifyClientCert},
		Config: &ccdata.Data{
			Tenants:  []ccdata.Tenant{{DBID: 1, Name: "Acme"}},
			Switches: []ccdata.Switch{{DBID: 11, Name: sw, TenantDBID: 1}},
			DNs:      []ccdata.DN{{Number: "5001", Switch: sw, Type: ccdata.TypeExtension}, {Number: "5002", Switch: sw, Type: ccdata.TypeExtension}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := csim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = csim.Close() })

	dns := newDNStore()
	dns.set("sip1", "5001")
	h := &recorder{}
	hs := start(t, Config{
		Servers: []Server{{Name: "sip1", Switch: sw, Primary: csim.Addr(),
			TLS: &tls.Config{RootCAs: srvPool, Certificates: []tls.Certificate{cliCert}}}},
		DNs: dns.get,
	}, h)
	eventually(t, "link up over TLS", func() bool { return hs.c.Connected("sip1") })
	if err := csim.Step(sim.Step{Action: sim.ActDial, Call: "c1", DN: "5001", To: "5002"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "event over TLS", func() bool {
		for _, e := range h.entries() {
			if strings.HasPrefix(e, "sip1: EventDialing 5001") {
				return true
			}
		}
		return false
	})

	for name, srv := range map[string]Server{
		"untrusted server": {Name: "bad", Switch: sw, Primary: csim.Addr(), TLS: &tls.Config{RootCAs: cliPool, Certificates: []tls.Certificate{cliCert}}},
		"plain tcp":        {Name: "bad", Switch: sw, Primary: csim.Addr()},
	} {
		t.Run(name, func(t *testing.T) {
			bad := start(t, Config{Servers: []Server{srv}, DNs: dns.get, DialTimeout: time.Second, RequestTimeout: time.Second}, &recorder{})
			eventually(t, "failed attempt", func() bool { return bad.c.Stats()[0].Failures > 0 })
			if bad.c.Connected("bad") {
				t.Error("link up")
			}
		})
	}
}

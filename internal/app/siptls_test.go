package app_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/sim"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
	"github.com/openrec/openrec/internal/testtool/testpki"
)

// tlsRecorder starts a recorder with SIP over TLS: its certificate from
// serverCA, mutual TLS with clientCA (nil: off) and subjects.
func tlsRecorder(t *testing.T, serverCA, clientCA *testpki.CA, subjects string, mut func(*config.Serve)) *app.App {
	t.Helper()
	crt, key, _ := serverCA.Issue(t, "recorder")
	return startApp(t, func(c *config.Serve) {
		c.SIPTLSListen, c.TLSCert, c.TLSKey = "127.0.0.1:0", crt, key
		if clientCA != nil {
			c.TLSClientCA, c.TLSClientSubjects = clientCA.File, subjects
		}
		if mut != nil {
			mut(c)
		}
	})
}

func tlsDialer(t *testing.T, conf *tls.Config) *dial.Dialer {
	t.Helper()
	d, err := dial.NewDialer(dial.Options{LocalIP: netip.MustParseAddr("127.0.0.1"), Logger: testLogger(t), TLS: conf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// Issue 13: MSR and SIPREC calls over SIP TLS with mutual TLS (a client
// certificate of tls_client_ca whose subject is in tls_client_subjects)
// are recorded with the right tone per channel.
func TestSIPOverTLSRecordsMSRAndSIPREC(t *testing.T) {
	serverCA, clientCA := testpki.NewCA(t, "server-ca"), testpki.NewCA(t, "client-ca")
	a := tlsRecorder(t, serverCA, clientCA, "other-sbc, sbc-1", nil)
	_, _, sbc := clientCA.Issue(t, "sbc-1")
	d := tlsDialer(t, &tls.Config{RootCAs: serverCA.Pool, Certificates: []tls.Certificate{sbc}})
	for i, mode := range []string{dial.ModeMSR, dial.ModeSIPREC} {
		res, err := d.Call(context.Background(), dial.Spec{
			Target: a.SIPTLSAddr(), Transport: dial.TransportTLS, Mode: mode, DN: "5001", OtherDN: "+15550100",
			Duration: 2 * time.Second, Sources: []dial.Source{dial.Tone(440, 0.3), dial.Tone(1000, 0.3)},
		})
		if err != nil {
			t.Fatalf("%s call over TLS: %v", mode, err)
		}
		recs := waitFinished(t, a, i+1)
		var r *store.Recording
		for j := range recs {
			if recs[j].CallUUID == res.CallUUID {
				r = &recs[j]
			}
		}
		if r == nil || r.Status != store.StatusCompleted {
			t.Fatalf("%s over TLS: recording %+v", mode, r)
		}
		checkTones(t, r.MediaPath, []float64{440, 1000}, 2*time.Second)
	}
	if f := a.SIPStats().TLSFailed; f != 0 {
		t.Errorf("%d TLS handshakes failed", f)
	}
}

// The recorder's own BYE (media timeout here) reaches a TLS peer.
func TestSIPTLSRecorderByeReachesPeer(t *testing.T) {
	serverCA := testpki.NewCA(t, "server-ca")
	a := tlsRecorder(t, serverCA, nil, "", func(c *config.Serve) { c.MediaTimeout = 700 * time.Millisecond })
	d := tlsDialer(t, &tls.Config{RootCAs: serverCA.Pool})
	start := time.Now()
	var muted atomic.Bool
	// An hour-long call: only the recorder's BYE ends it (the test's
	// timeout would come first otherwise).
	res, err := d.Call(context.Background(), dial.Spec{
		Target: a.SIPTLSAddr(), Transport: dial.TransportTLS, Mode: dial.ModeMSR, Duration: time.Hour,
		Mute: func() bool {
			if time.Since(start) > time.Second {
				muted.Store(true)
			}
			return muted.Load()
		},
	})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	for i, bye := range res.RemoteBye {
		if !bye {
			t.Errorf("INVITE %d: the recorder's BYE did not reach the TLS peer", i+1)
		}
	}
}

// With mutual TLS, a client without a certificate, with one of another CA
// or with one whose subject is not allowed is refused at the handshake:
// no call, no recording, the failures counted. Plain TCP to the TLS port
// gets no SIP at all.
func TestSIPTLSRefusesClients(t *testing.T) {
	serverCA, clientCA, otherCA := testpki.NewCA(t, "server-ca"), testpki.NewCA(t, "client-ca"), testpki.NewCA(t, "other-ca")
	a := tlsRecorder(t, serverCA, clientCA, "sbc-1", nil)
	_, _, wrongSubject := clientCA.Issue(t, "intruder")
	_, _, wrongCA := otherCA.Issue(t, "sbc-1")
	t.Run("clients", func(t *testing.T) { // returns when its parallel subtests are done
		refusedClients(t, a, serverCA, wrongSubject, wrongCA)
	})
	// The dialer does not trust a certificate it cannot verify either.
	d := tlsDialer(t, &tls.Config{RootCAs: otherCA.Pool})
	if _, err := d.Call(context.Background(), dial.Spec{Target: a.SIPTLSAddr(), Transport: dial.TransportTLS, Duration: 200 * time.Millisecond}); err == nil {
		t.Error("dialer accepted a recorder certificate of an unknown CA")
	}

	c, err := net.Dial("tcp", a.SIPTLSAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("OPTIONS sip:openrec@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKplain\r\n" +
		"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:openrec@127.0.0.1>\r\nCall-ID: plain\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"))
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	var got []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Error("plain TCP connection to the TLS port left open")
			}
			break
		}
	}
	if strings.Contains(string(got), "SIP/2.0") {
		t.Errorf("plain TCP to the TLS port got SIP: %q", got)
	}
	testtool.Poll(t, 5*time.Second, func() (bool, string) {
		n := a.SIPStats().TLSFailed
		return n >= 4, fmt.Sprint(n)
	}, "TLS handshake failures >= 4")
	recs, err := a.Store().ListRecordings(context.Background(), store.Filter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 0 {
		t.Errorf("refused clients made %d recordings", len(recs))
	}
	m := regexp.MustCompile(`(?m)^openrec_sip_tls_handshake_failures_total (\d+)$`).FindStringSubmatch(metrics(t, a))
	if m == nil {
		t.Error("metric openrec_sip_tls_handshake_failures_total missing")
	} else if n, _ := strconv.Atoi(m[1]); n < 4 {
		t.Errorf("metric openrec_sip_tls_handshake_failures_total = %d, want at least 4", n)
	}
}

// A renewed certificate (files replaced, SIGHUP) is shown to new TLS
// connections while a call in progress on the old one goes on and is
// recorded whole.
func TestSIPTLSCertificateRenewedDuringCall(t *testing.T) {
	oldCA, newCA := testpki.NewCA(t, "old-ca"), testpki.NewCA(t, "new-ca")
	crt, key, _ := oldCA.Issue(t, "recorder")
	a := startApp(t, func(c *config.Serve) { c.SIPTLSListen, c.TLSCert, c.TLSKey = "127.0.0.1:0", crt, key })
	d := tlsDialer(t, &tls.Config{RootCAs: oldCA.Pool})
	type outcome struct {
		res *dial.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := d.Call(context.Background(), dial.Spec{Target: a.SIPTLSAddr(), Transport: dial.TransportTLS, Duration: 3 * time.Second})
		done <- outcome{res, err}
	}()
	waitFor(t, 5*time.Second, "the call to start", func() bool { return a.Recorder().Active() > 0 })
	// Renew: the new pair replaces the files, SIGHUP reloads.
	nc, nk, _ := newCA.Issue(t, "recorder-renewed")
	for from, to := range map[string]string{nc: crt, nk: key} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Reload(context.Background()); err != nil {
		t.Fatalf("reload: %v", err)
	}
	conn, err := tls.Dial("tcp", a.SIPTLSAddr(), &tls.Config{RootCAs: newCA.Pool})
	if err != nil {
		t.Fatalf("new connection with the renewed certificate: %v", err)
	}
	if cn := conn.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "recorder-renewed" {
		t.Errorf("new connection got %q", cn)
	}
	conn.Close()
	o := <-done
	if o.err != nil {
		t.Fatalf("call in progress during the renewal: %v", o.err)
	}
	if o.res.RemoteBye[0] || o.res.RemoteBye[1] {
		t.Error("the recorder hung up the call in progress")
	}
	r := waitFinished(t, a, 1)[0]
	if r.Status != store.StatusCompleted {
		t.Fatalf("recording %s: %s", r.Status, r.StatusReason)
	}
	checkTones(t, r.MediaPath, []float64{440, 1000}, 3*time.Second)
}

func refusedClients(t *testing.T, a *app.App, serverCA *testpki.CA, wrongSubject, wrongCA tls.Certificate) {
	for _, tc := range []struct {
		name string
		conf *tls.Config
	}{
		{"no certificate", &tls.Config{RootCAs: serverCA.Pool}},
		{"subject not allowed", &tls.Config{RootCAs: serverCA.Pool, Certificates: []tls.Certificate{wrongSubject}}},
		{"other CA", &tls.Config{RootCAs: serverCA.Pool, Certificates: []tls.Certificate{wrongCA}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := tlsDialer(t, tc.conf)
			// TLS 1.3: the client's handshake ends before the server checks
			// its certificate; the refusal (an alert) closes the connection
			// and the INVITE is never answered (Timer B), so bound the wait.
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_, err := d.Call(ctx, dial.Spec{Target: a.SIPTLSAddr(), Transport: dial.TransportTLS, Mode: dial.ModeSIPREC, Duration: 500 * time.Millisecond})
			if err == nil {
				t.Fatal("call accepted")
			}
			if !errors.Is(err, dial.ErrTransport) && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error = %v, want a transport error or no answer", err)
			}
		})
	}
}

// When the recorder closed the idle TLS connection of a call, its BYE goes
// over a new TLS connection to the peer's Contact: the peer's certificate
// is verified with sip_tls_peer_ca and the recorder shows its own.
func TestSIPTLSByeAfterIdleCloseDialsContact(t *testing.T) {
	serverCA, peerCA := testpki.NewCA(t, "server-ca"), testpki.NewCA(t, "peer-ca")
	a := tlsRecorder(t, serverCA, nil, "", func(c *config.Serve) {
		c.SIPTCPIdleTimeout = 300 * time.Millisecond
		c.MediaTimeout = time.Second
		c.SIPTLSPeerCA = peerCA.File
	})
	_, _, ms := peerCA.Issue(t, "media-server")
	d := tlsDialer(t, &tls.Config{RootCAs: serverCA.Pool, Certificates: []tls.Certificate{ms}})
	start := time.Now()
	res, err := d.Call(context.Background(), dial.Spec{
		Target: a.SIPTLSAddr(), Transport: dial.TransportTLS, Mode: dial.ModeSIPREC, Duration: 8 * time.Second,
		Mute: func() bool { return time.Since(start) > 1500*time.Millisecond },
	})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if !res.RemoteBye[0] {
		t.Fatal("the recorder's BYE did not reach the peer's TLS Contact")
	}
	if st := a.SIPStats(); st.TCPIdle == 0 {
		t.Errorf("the TLS connection was not closed idle (stats %+v): the BYE did not need the Contact", st)
	}
}

// A peer CA file that does not load stops the start with a message naming
// the setting.
func TestSIPTLSPeerCAChecked(t *testing.T) {
	serverCA := testpki.NewCA(t, "server-ca")
	crt, key, _ := serverCA.Issue(t, "recorder")
	bad := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(bad, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := apptest.Config(t)
	cfg.SIPTLSListen, cfg.TLSCert, cfg.TLSKey, cfg.SIPTLSPeerCA = "127.0.0.1:0", crt, key, bad
	a, err := app.Start(context.Background(), cfg, testLogger(t))
	if err == nil {
		a.Close()
		t.Fatal("started with an unusable sip_tls_peer_ca")
	}
	if !strings.Contains(err.Error(), "sip_tls_peer_ca") {
		t.Errorf("error %q does not name sip_tls_peer_ca", err)
	}
}

// The whole contact center over TLS: the CTI link to the SIP Server
// (cti_tls, cti_tls_ca; the SIP Server asks for the recorder's tls_cert:
// mutual TLS) and the Media Server's MSR sessions over SIP TLS. A
// record=true call is recorded and joined to its CTI call.
func TestCTIAndSIPOverTLS(t *testing.T) {
	ca := testpki.NewCA(t, "cc-ca")
	_, _, sipServer := ca.Issue(t, "sip-server")
	_, _, mediaServer := ca.Issue(t, "media-server")
	env := startContactCenterWith(t, func(c *sim.Config) {
		c.TLS = &tls.Config{Certificates: []tls.Certificate{sipServer}, ClientCAs: ca.Pool, ClientAuth: tls.RequireAndVerifyClientCert}
		c.Media = &sim.DialMedia{Dialer: tlsDialer(t, &tls.Config{RootCAs: ca.Pool, Certificates: []tls.Certificate{mediaServer}}), Transport: dial.TransportTLS, Codec: "PCMU"}
	}, func(c *config.Serve) {
		c.TLSCert, c.TLSKey, _ = ca.Issue(t, "recorder")
		c.CTITLS, c.CTITLSCA = true, ca.File
		c.SIPTLSListen, c.TLSClientCA, c.TLSClientSubjects = "127.0.0.1:0", ca.File, "media-server"
	})
	if cl := env.sim.Clients(); len(cl) != 1 {
		t.Fatalf("simulator's clients over TLS: %+v", cl)
	}
	step(t, env.sim, `
name: record-true-tls
steps:
  - {at: 0s, action: login, dn: "5001", agent: "1001"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15551230001", dnis: "8005550100", rp: "7000", to: "5001"}
  - {at: 50ms, action: answer, call: c1, dn: "5001"}
  - {at: 2s, action: release, call: c1, dn: "5001"}
`)
	recs := waitFinished(t, env.a, 1)
	r, err := env.a.Store().GetRecording(context.Background(), recs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Correlation != "matched" || r.RecordedDN != "5001" || r.Status != store.StatusCompleted {
		t.Fatalf("recording over TLS: status=%s correlation=%q dn=%q", r.Status, r.Correlation, r.RecordedDN)
	}
}

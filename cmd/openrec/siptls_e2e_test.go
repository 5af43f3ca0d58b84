package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/testtool"
	"github.com/openrec/openrec/internal/testtool/testpki"
)

var sipTLSRE = regexp.MustCompile(` sip_tls=([0-9.]+:[0-9]+)`)

// writeSelfSigned writes a self-signed certificate (its own CA) for
// 127.0.0.1 and its key into dir.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile, _, _ = testpki.SelfSigned(t, dir, "openrec")
	return certFile, keyFile
}

// The interface the issue names: `serve --sip-tls-listen ADDR --tls-cert
// FILE --tls-key FILE` and `dial --transport tls` with --tls-ca or
// --tls-insecure; bad TLS flag combinations are refused with a message.
func TestServeAndDialOverTLS(t *testing.T) {
	data := t.TempDir()
	crt, key := writeSelfSigned(t, t.TempDir())
	s := startServe(t, data, "33900-34099", "--sip-tls-listen", "127.0.0.1:0", "--tls-cert", crt, "--tls-key", key)
	m := sipTLSRE.FindStringSubmatch(s.logs.String())
	if m == nil {
		t.Fatalf("no sip_tls address in the ready line:\n%s", s.logs.String())
	}
	tlsAddr := m[1]
	for _, tc := range []struct {
		name string
		args []string
		want string // "" = success, else part of the error output
	}{
		{"no trust flag", []string{"--transport", "tls"}, "--tls-ca FILE or --tls-insecure"},
		{"tls flag without tls", []string{"--tls-insecure"}, "need --transport tls"},
		{"unknown CA file", []string{"--transport", "tls", "--tls-ca", filepath.Join(data, "nope.pem")}, "--tls-ca"},
		{"ping", []string{"--transport", "tls", "--tls-ca", crt, "--ping"}, ""},
		{"ca", []string{"--transport", "tls", "--tls-ca", crt, "--mode", "msr", "--tones", "440,1000"}, ""},
		{"insecure", []string{"--transport", "tls", "--tls-insecure", "--mode", "siprec", "--tones", "440,1000"}, ""},
	} {
		out, err := run(t, append([]string{"dial", "--target", tlsAddr, "--duration", "1s"}, tc.args...)...)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: dial failed: %v\n%s", tc.name, err, out)
		case tc.want != "" && (err == nil || !strings.Contains(out, tc.want)):
			t.Errorf("%s: err %v, output %q, want a refusal naming %q", tc.name, err, out, tc.want)
		}
	}
	var recs []listed
	testtool.Poll(t, 10*time.Second, func() (bool, string) {
		recs = listJSON(t, data)
		return len(recs) == 2 && recs[0].Status != "recording" && recs[1].Status != "recording", fmt.Sprintf("%+v\n%s", recs, s.logs.String())
	}, "recordings over TLS finished")
	for _, r := range recs {
		if r.Status != "completed" || r.Channels != 2 {
			t.Errorf("recording over TLS: %+v", r)
			continue
		}
		f, err := wav.ReadFile(r.MediaPath)
		if err != nil {
			t.Fatal(err)
		}
		if !audiotest.HasTone(f.Channel(0), 8000, 440, []float64{440, 1000}) || !audiotest.HasTone(f.Channel(1), 8000, 1000, []float64{440, 1000}) {
			t.Errorf("%s recording over TLS does not carry 440 Hz left and 1000 Hz right", r.Mode)
		}
	}
	s.stop(t, syscall.SIGTERM)
}

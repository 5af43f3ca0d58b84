package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
	"strings"
	"testing"
	"time"
)

func runDialCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newDialCmd()
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}

func TestDialCmdRejected(t *testing.T) {
	target := apptest.Refuser(t, 486, "Busy Here")
	out, err := runDialCmd(t, "--target", target, "--calls", "3", "--concurrency", "2", "--record-id", "r")
	if err == nil || !strings.Contains(err.Error(), "SIP 486 Busy Here") || !strings.Contains(err.Error(), "3 of 3 calls failed") {
		t.Fatalf("err %v", err)
	}
	if n := strings.Count(out, "FAILED: "); n != 3 {
		t.Errorf("%d failed call lines:\n%s", n, out)
	}
	for _, want := range []string{"record=r-1 ", "record=r-3 ", "summary: 3 calls, 0 ok, 3 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	out, err = runDialCmd(t, "--target", target, "--mode", "siprec", "--json")
	if err == nil {
		t.Fatal("rejected call exited 0")
	}
	var calls []dialCallJSON
	if jerr := json.Unmarshal([]byte(out), &calls); jerr != nil {
		t.Fatalf("--json output: %v\n%s", jerr, out)
	}
	if len(calls) != 1 || len(calls[0].Statuses) != 1 || calls[0].Statuses[0] != 486 || !strings.Contains(calls[0].Error, "486") {
		t.Errorf("json %+v", calls)
	}
}

func TestDialCmdPing(t *testing.T) {
	out, err := runDialCmd(t, "--target", apptest.Refuser(t, 486, "Busy Here"), "--ping")
	if err != nil || !strings.Contains(out, ": 200") {
		t.Fatalf("ping: %v\n%s", err, out)
	}
}

func TestDialCmdFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{}, `required flag(s) "target"`},
		{[]string{"--target", "127.0.0.1:1", "--tones", "440"}, "two frequencies"},
		{[]string{"--target", "127.0.0.1:1", "--tones", "440,x"}, "bad frequency"},
		{[]string{"--target", "127.0.0.1:1", "--tones", "1,2", "--wav", "a,b"}, "exclusive"},
		{[]string{"--target", "127.0.0.1:1", "--wav", "/nonexistent/a.wav,/nonexistent/b.wav"}, "WAV"},
		{[]string{"--target", "127.0.0.1:1", "--calls", "0"}, "at least 1"},
		{[]string{"--target", "127.0.0.1:1", "--mode", "sip"}, "invalid spec"},
		{[]string{"--target", "127.0.0.1:1", "--local-ip", "nope"}, "--local-ip"},
		{[]string{"--target", "127.0.0.1:1", "--srtp=F8_128_HMAC_SHA1_80"}, "SRTP suite"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := runDialCmd(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
}

// `openrec dial --srtp` (bare flag: AES_CM_128_HMAC_SHA1_80) records through
// a real recorder; the answer carried the recorder's own key.
func TestDialCmdSRTP(t *testing.T) {
	a := apptest.Start(t, nil, nil)
	out, err := runDialCmd(t, "--target", a.SIPAddr().String(), "--srtp", "--duration", "1s")
	if err != nil || !strings.Contains(out, "1 ok") {
		t.Fatalf("dial --srtp: %v\n%s", err, out)
	}
	testtool.Poll(t, 10*time.Second, func() (bool, string) {
		recs, err := a.Store().ListRecordings(context.Background(), store.Filter{Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		return len(recs) == 1 && recs[0].Status == store.StatusCompleted, fmt.Sprintf("%+v", recs)
	}, "one completed recording")
	if st := a.Recorder().Stats(); st.SRTPAuthFailures != 0 || st.PacketsReceived < 90 {
		t.Fatalf("recorder stats %+v", st)
	}
}

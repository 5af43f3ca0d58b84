package dial_test

// SRTP (SDES, RFC 4568) against the real recorder on loopback: dial
// encrypts with a fresh key per stream, the recorder decrypts with the
// offered key, and the tones land on the right channels.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
)

// checkTones asserts 440 Hz alone on channel 0 and 1000 Hz alone on
// channel 1 of the recording's file.
func checkTones(t *testing.T, r store.Recording, dur time.Duration) {
	t.Helper()
	f, err := wav.ReadFile(r.MediaPath)
	if err != nil {
		t.Fatal(err)
	}
	for ch, want := range []float64{440, 1000} {
		s, e := span(t, f, ch, want)
		if !near(s, 0) || !near(e, dur) {
			t.Errorf("channel %d: %v Hz over %v..%v, want 0..%v", ch, want, s, e, dur)
		}
		other := []float64{440, 1000}[1-ch]
		if s, _ := audiotest.ToneSpan(f.Channel(ch), f.SampleRate, other, 160); s >= 0 {
			t.Errorf("channel %d carries the other party's %v Hz", ch, other)
		}
	}
}

func TestSRTPRecordsTonesPerChannel(t *testing.T) {
	for _, tc := range []struct {
		name, mode, suite string
	}{
		{"msr two legs AES_CM_128_HMAC_SHA1_80", dial.ModeMSR, dial.SRTPAES128CMSHA1_80},
		{"msr two legs AEAD_AES_128_GCM", dial.ModeMSR, dial.SRTPAEADAES128GCM},
		{"siprec AES_CM_128_HMAC_SHA1_32", dial.ModeSIPREC, dial.SRTPAES128CMSHA1_32},
		{"siprec AEAD_AES_256_GCM", dial.ModeSIPREC, dial.SRTPAEADAES256GCM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := startRecorder(t)
			d := newDialer(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			const dur = 2 * time.Second
			res, err := d.Call(ctx, dial.Spec{
				Target: a.SIPAddr().String(), Mode: tc.mode, Duration: dur, RTCP: true, SRTP: tc.suite,
				Sources: []dial.Source{dial.Tone(440, 0.3), dial.Tone(1000, 0.3)},
			})
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			for i, ans := range res.Answers {
				s := string(ans)
				if !strings.Contains(s, " RTP/SAVP ") || !strings.Contains(s, "a=crypto:1 "+tc.suite+" inline:") {
					t.Fatalf("answer %d lacks RTP/SAVP or our tag and suite:\n%s", i, s)
				}
			}
			r := finishedRecording(t, a)
			if r.Status != store.StatusCompleted || r.Channels != 2 {
				t.Fatalf("recording %s %q, %d channels", r.Status, r.StatusReason, r.Channels)
			}
			srtp := map[int]string{}
			for _, e := range r.Events {
				if e.Type == "srtp" {
					srtp[e.Channel] = e.Detail
				}
			}
			if want := tc.suite + " tag 1"; srtp[0] != want || srtp[1] != want {
				t.Errorf("srtp events per channel %v, want %q on both", srtp, want)
			}
			checkTones(t, r, dur)
			if st := a.Recorder().Stats(); st.SRTPAuthFailures != 0 || st.SRTPFailedStreams != 0 {
				t.Errorf("auth failures on a good call: %+v", st)
			}
		})
	}
}

// A media server that encrypts with another key than the one it offered:
// nothing decrypts, and the recorder says so (event, status, metric)
// instead of storing silence as a completed recording.
func TestSRTPWrongKeyFailsRecording(t *testing.T) {
	for _, mode := range []string{dial.ModeMSR, dial.ModeSIPREC} {
		t.Run(mode, func(t *testing.T) {
			a := startRecorder(t)
			d := newDialer(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if _, err := d.Call(ctx, dial.Spec{
				Target: a.SIPAddr().String(), Mode: mode, Duration: 1500 * time.Millisecond, RTCP: true,
				SRTP: dial.SRTPAES128CMSHA1_80, SRTPWrongKey: true,
			}); err != nil {
				t.Fatalf("call: %v", err)
			}
			r := finishedRecording(t, a)
			if r.Status != store.StatusFailed || !strings.Contains(r.StatusReason, "SRTP authentication failed on channel [") {
				t.Fatalf("recording %s %q, want failed with the SRTP reason", r.Status, r.StatusReason)
			}
			alerts := map[int]bool{}
			for _, e := range r.Events {
				if e.Type == "srtp-auth-failed" {
					alerts[e.Channel] = true
				}
			}
			if !alerts[0] || !alerts[1] {
				t.Errorf("srtp-auth-failed events per channel %v, want both: %+v", alerts, r.Events)
			}
			if st := a.Recorder().Stats(); st.SRTPFailedStreams != 2 || st.SRTPAuthFailures < 100 {
				t.Errorf("stats %+v, want 2 failed streams and every packet counted", st)
			}
		})
	}
}

// A re-INVITE with a new key for the other party's stream: the recorder
// switches keys and the tone goes on without a gap.
func TestSRTPReinviteNewKey(t *testing.T) {
	for _, mode := range []string{dial.ModeMSR, dial.ModeSIPREC} {
		t.Run(mode, func(t *testing.T) { testReinviteNewKey(t, mode) })
	}
}

// testReinviteNewKey: in SIPREC the one session is re-INVITEd with both
// m-lines, the recorded party's with its unchanged key (kept as it is).
func testReinviteNewKey(t *testing.T, mode string) {
	a := startRecorder(t)
	d := newDialer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	reinv := make(chan dial.Reinvite)
	done := sendAt(ctx, reinv, 1200*time.Millisecond, dial.Reinvite{Party: 1, NewKey: true})
	const dur = 3 * time.Second
	res, err := d.Call(ctx, dial.Spec{
		Target: a.SIPAddr().String(), Mode: mode, Duration: dur, RTCP: true, SRTP: dial.SRTPAEADAES128GCM,
		Reinvites: reinv, Sources: []dial.Source{dial.Tone(440, 0.3), dial.Tone(1000, 0.3)},
	})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if out := result(t, done); out.Err != nil || len(out.Statuses) != 1 || out.Statuses[0] != 200 {
		t.Fatalf("re-INVITE result %+v", out)
	}
	if res.Reinvites != 1 {
		t.Errorf("result %+v", res)
	}
	r := finishedRecording(t, a)
	if r.Status != store.StatusCompleted {
		t.Fatalf("recording %s %q", r.Status, r.StatusReason)
	}
	rekeys := 0
	for _, e := range r.Events {
		if e.Type == "srtp-rekey" {
			rekeys++
			if e.Channel != 1 {
				t.Errorf("rekey on channel %d, want 1", e.Channel)
			}
		}
	}
	if rekeys != 1 {
		t.Errorf("%d srtp-rekey events, want 1: %+v", rekeys, r.Events)
	}
	checkTones(t, r, dur)
	f, err := wav.ReadFile(r.MediaPath)
	if err != nil {
		t.Fatal(err)
	}
	// No hole in the other party's audio around the switch at 1.2 s.
	rate := f.SampleRate
	for from := 1000 * time.Millisecond; from < 1500*time.Millisecond; from += 100 * time.Millisecond {
		i := int(from) * rate / int(time.Second)
		if !audiotest.HasTone(f.Channel(1)[i:i+rate/10], rate, 1000, []float64{440}) {
			t.Errorf("channel 1: no 1000 Hz at %v (around the key switch)", from)
		}
	}
	if st := a.Recorder().Stats(); st.SRTPFailedStreams != 0 {
		t.Errorf("stats %+v", st)
	}
}

// The srtp policy: required refuses plain RTP, off refuses SRTP, each with
// 488 before a recording is made.
func TestSRTPPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy, suite string
	}{
		{"required", ""},
		{"off", dial.SRTPAES128CMSHA1_80},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			a := apptest.Start(t, func(c *config.Serve) { c.SRTP = tc.policy }, nil)
			d := newDialer(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := d.Call(ctx, dial.Spec{Target: a.SIPAddr().String(), Duration: time.Second, SRTP: tc.suite})
			var se dial.StatusError
			if !errors.As(err, &se) || se.Code != 488 {
				t.Fatalf("call: %v, want 488", err)
			}
			recs, err := a.Store().ListRecordings(ctx, store.Filter{Limit: 10})
			if err != nil || len(recs) != 0 {
				t.Fatalf("%d recordings (%v), want none", len(recs), err)
			}
		})
	}
}

package sim

import (
	"context"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
)

// The simulator's Media Server sends SRTP when DialMedia.SRTP is set: the
// recorder decrypts both legs and each channel carries its party's tone.
func TestDialMediaSRTP(t *testing.T) {
	a := startRecorderApp(t, nil)
	dm := newDialMedia(t)
	dm.SRTP = dial.SRTPAEADAES128GCM
	ms, err := dm.Start(context.Background(), Recording{RecordID: "R-SRTP", CallUUID: dial.NewCallUUID(),
		ThisDN: "5001", OtherDN: "+15550100", Dest: a.SIPAddr().String(), Tones: [2]float64{440, 1000}})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "audio at the recorder", func() bool { return receiving(a) })
	time.Sleep(time.Second) // models time: 1 s of audio
	if err := ms.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	r := finished(t, a)
	if r.Status != store.StatusCompleted || r.Channels != 2 {
		t.Fatalf("recording %s %q", r.Status, r.StatusReason)
	}
	srtp := map[int]string{}
	for _, e := range r.Events {
		if e.Type == "srtp" {
			srtp[e.Channel] = e.Detail
		}
	}
	if srtp[0] != "AEAD_AES_128_GCM tag 1" || srtp[1] != "AEAD_AES_128_GCM tag 1" {
		t.Errorf("srtp events per channel %v, want both legs received as SRTP", srtp)
	}
	f, err := wav.ReadFile(r.MediaPath)
	if err != nil {
		t.Fatal(err)
	}
	for ch, freq := range []float64{440, 1000} {
		if s, e := audiotest.ToneSpan(f.Channel(ch), f.SampleRate, freq, 160); s < 0 || e-s < f.SampleRate/2 {
			t.Errorf("channel %d: %v Hz over samples %d..%d", ch, freq, s, e)
		}
	}
	if st := a.Recorder().Stats(); st.SRTPAuthFailures != 0 {
		t.Errorf("stats %+v", st)
	}
}

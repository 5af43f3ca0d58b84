package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/codec"
	"github.com/openrec/openrec/internal/media/mixer"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
)

// `openrec recordings transcode`: a G.722 call recorded by a recorder
// without the G.722 decoder (and without background transcoding) is
// transcoded by --all, with progress on stderr and an audit entry; a
// second run finds nothing to do; bad requests exit non-zero.
func TestRecordingsTranscodeCmd(t *testing.T) {
	a := apptest.StartWith(t, func(c *config.Serve) { c.TranscodeWorkers = 0; c.DTMF = "keep" }, nil,
		app.Options{LiveDecoders: func(c media.Codec, rate int) (mixer.Decoder, error) {
			if c.Name == "G722" {
				return nil, fmt.Errorf("%w: G722 left out", codec.ErrUnsupported)
			}
			return codec.NewDecoderRate(c, rate)
		}})
	d, err := dial.NewDialer(dial.Options{LocalIP: netip.MustParseAddr("127.0.0.1"), Logger: apptest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Call(context.Background(), dial.Spec{Target: a.SIPAddr().String(), Mode: dial.ModeSIPREC, DN: "5001", OtherDN: "+15550100",
		Codecs: []string{"G722", "PCMU"}, Duration: 2 * time.Second, Sources: []dial.Source{dial.Tone(1000, 0.3), dial.Tone(440, 0.3)}}); err != nil {
		t.Fatalf("call: %v", err)
	}
	var rec store.Recording
	testtool.Poll(t, 10*time.Second, func() (bool, string) {
		recs, err := a.Store().ListRecordings(context.Background(), store.Filter{Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 1 && recs[0].Status != store.StatusRecording {
			rec = recs[0]
			return true, ""
		}
		return false, fmt.Sprintf("%d recordings", len(recs))
	}, "one finished recording")
	if !rec.NeedsTranscode {
		t.Fatalf("recording %s not kept raw", rec.ID)
	}
	dir := a.DataDir()

	for _, tc := range []struct {
		name string
		args []string
		want string // in the error or stderr
	}{
		{"neither IDs nor --all", nil, "name the recordings"},
		{"both", []string{"--all", rec.ID}, "name the recordings"},
		{"unknown id", []string{"NOPE"}, "not found"},
		{"bad --dtmf", []string{"--dtmf", "loud", rec.ID}, "loud"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, err := runCLI(t, append([]string{"recordings", "transcode", "--data-dir", dir}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error()+stderr, tc.want) {
				t.Errorf("err %v, stderr %q; want an error with %q", err, stderr, tc.want)
			}
		})
	}

	stdout, stderr, err := runCLI(t, "recordings", "transcode", "--data-dir", dir, "--all")
	if err != nil {
		t.Fatalf("transcode --all: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "transcode: 1 recordings queued") || !strings.Contains(stderr, "[1/1] "+rec.ID+": transcoded ch0 G722") ||
		!strings.Contains(stdout, "transcoded 1 recordings") {
		t.Errorf("stdout %q\nstderr %q", stdout, stderr)
	}
	got, err := a.Store().GetRecording(context.Background(), rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.NeedsTranscode {
		t.Error("still needs_transcode")
	}
	f, err := wav.ReadFile(got.MediaPath)
	if err != nil {
		t.Fatal(err)
	}
	k := f.SampleRate / 8000 // a G.722 leg makes it a 16 kHz recording
	for ch, freq := range []float64{1000, 440} {
		if s, e := audiotest.ToneSpan(f.Channel(ch), f.SampleRate, freq, 160*k); s < 0 || e-s < 15000*k {
			t.Errorf("channel %d: %g Hz over samples [%d, %d)", ch, freq, s, e)
		}
	}
	entries, err := a.Store().ListAudit(context.Background(), store.AuditFilter{Action: store.AuditTranscode})
	if err != nil || len(entries) != 1 || entries[0].RecordingID != rec.ID || !strings.HasPrefix(entries[0].User, "cli") {
		t.Errorf("audit %+v, %v", entries, err)
	}

	// Nothing left: --all succeeds doing nothing; the ID is refused.
	if stdout, _, err := runCLI(t, "recordings", "transcode", "--data-dir", dir, "--all"); err != nil || !strings.Contains(stdout, "transcoded 0 recordings") {
		t.Errorf("second --all: %v %q", err, stdout)
	}
	_, stderr, err = runCLI(t, "recordings", "transcode", "--data-dir", dir, rec.ID)
	if !errors.Is(err, errNotTranscoded) || !strings.Contains(stderr, "nothing to transcode") {
		t.Errorf("transcode of a transcoded recording: %v\n%s", err, stderr)
	}
}

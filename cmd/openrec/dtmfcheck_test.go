package main

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/dtmf"
	"github.com/openrec/openrec/internal/media/mediaconv"
	"github.com/openrec/openrec/internal/media/resample"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/seal"
	"github.com/openrec/openrec/internal/store/sqlite"
	"github.com/openrec/openrec/internal/testtool"
)

// writeKeyTones writes a two-channel PCM16 WAV: channel 0 holds the card
// digits as key tones, channel 1 a 300 Hz hum; masked runs the masker
// over channel 0 first.
func writeKeyTones(t *testing.T, digits string, masked bool) string {
	t.Helper()
	var ch0 []int16
	for i := range len(digits) {
		k := strings.IndexByte(dtmf.Digits, digits[i])
		r, c := []float64{697, 770, 852, 941}[k/4], []float64{1209, 1336, 1477, 1633}[k%4]
		ch0 = append(ch0, make([]int16, 600)...)
		for n := range 640 {
			ch0 = append(ch0, int16(4000*math.Sin(2*math.Pi*r*float64(n)/8000)+4000*math.Sin(2*math.Pi*c*float64(n)/8000)))
		}
	}
	ch0 = append(ch0, make([]int16, 800)...)
	if masked {
		dtmf.MaskAll(ch0, dtmf.MaskConfig{})
	}
	path := filepath.Join(t.TempDir(), "k.wav")
	w, err := wav.Create(path, wav.FormatPCM16, 2, 8000)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 4*len(ch0))
	for i, v := range ch0 {
		h := int16(1500 * math.Sin(2*math.Pi*300*float64(i)/8000))
		buf = append(buf, byte(v), byte(uint16(v)>>8), byte(h), byte(uint16(h)>>8))
	}
	if _, err := w.Write(buf); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDTMFCheckFindsDigitsAndNeverPrintsThem(t *testing.T) {
	const card = "4929123456781234"
	dc := dtmfChecker{tmpDir: t.TempDir()}
	if mm := testtool.Find(t, "OPENREC_TEST_MULTIMON", "multimon-ng"); mm != "" {
		dc.external = mm
	}
	problems := dc.check(writeKeyTones(t, card, false))
	got := strings.Join(problems, "; ")
	if len(problems) != 2 || !strings.Contains(got, "channel 0: 16 DTMF digit(s) readable (openrec's detector)") ||
		!strings.Contains(got, "channel 0: 16 DTMF digit(s) readable (multimon-ng)") {
		t.Fatalf("problems %q, want channel 0 with 16 digits from both decoders", problems)
	}
	if strings.Contains(got, "4929") || strings.Contains(got, "1234") {
		t.Errorf("the report prints digits: %q", got)
	}
	if problems := dc.check(writeKeyTones(t, card, true)); len(problems) != 0 {
		t.Errorf("masked file: %q", problems)
	}
}

func TestDTMFMaskedSummary(t *testing.T) {
	evs := []store.Event{{Type: "dtmf-masked", Channel: 1, Detail: "rfc4733"}, {Type: "dtmf", Channel: 0},
		{Type: "dtmf-masked", Channel: 0, Detail: "in-band"}, {Type: "dtmf-masked", Channel: 0, Detail: "in-band"}}
	if got, want := dtmfMaskedSummary(evs), "channel 0: 2 (in-band 2, RFC 4733 0); channel 1: 1 (in-band 0, RFC 4733 1)"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := dtmfMaskedSummary(nil); got != "" {
		t.Errorf("no events: %q", got)
	}
}

// A recording whose codec was not decoded (needs_transcode) has a silent
// file and the audio in raw payloads beside it, never masked: verify
// --dtmf must not call it clean.
func TestVerifyDTMFFailsRawPayloads(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(data, dbFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	media := writeKeyTones(t, "", false) // no tone in the file
	sum, size, err := seal.HashFile(media)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, r := range []*store.Recording{
		{ID: "R1", Mode: store.ModeMSR, Status: store.StatusCompleted, StartedAt: t0, EndedAt: t0.Add(time.Second), Channels: 2, MediaPath: media, SHA256: sum, SizeBytes: size, NeedsTranscode: true},
		{ID: "R2", Mode: store.ModeMSR, Status: store.StatusCompleted, StartedAt: t0, EndedAt: t0.Add(time.Second), Channels: 2, MediaPath: media, SHA256: sum, SizeBytes: size},
	} {
		if err := db.CreateRecording(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := verify(ctx, db, data, nil, []string{"R1", "R2"}, true, "", &dtmfChecker{tmpDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changed) != 1 || rep.Changed[0].RecordingID != "R1" || !strings.Contains(strings.Join(rep.Changed[0].Problems, "; "), "raw payloads") {
		t.Fatalf("changed %+v, want R1 failed for its raw payloads", rep.Changed)
	}
	// Without --dtmf the raw payloads are no problem.
	if rep, err = verify(ctx, db, data, nil, []string{"R1"}, true, "", nil); err != nil || len(rep.Changed) != 0 {
		t.Fatalf("without --dtmf: %+v %v", rep.Changed, err)
	}
}

// verify --dtmf finds what the masker would mask: key tones whose row
// tone is 5 dB louder than the column tone (what GSM 06.10 and other
// codecs that cut highs leave; multimon-ng still reads some of them) are
// beyond Q.24's 4 dB reverse twist, yet readable, so openrec's own check
// must not call the file clean.
func TestDTMFCheckFindsTwistedTones(t *testing.T) {
	var ch0 []int16
	for i := range len(dtmf.Digits) {
		k := i
		r, c := []float64{697, 770, 852, 941}[k/4], []float64{1209, 1336, 1477, 1633}[k%4]
		ch0 = append(ch0, make([]int16, 600)...)
		for n := range 640 {
			ch0 = append(ch0, int16(6000*math.Sin(2*math.Pi*r*float64(n)/8000)+6000*math.Pow(10, -5.0/20)*math.Sin(2*math.Pi*c*float64(n)/8000)))
		}
	}
	ch0 = append(ch0, make([]int16, 800)...)
	path := filepath.Join(t.TempDir(), "twist.wav")
	w, err := wav.Create(path, wav.FormatPCM16, 1, 8000)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 2*len(ch0))
	for _, v := range ch0 {
		buf = append(buf, byte(v), byte(uint16(v)>>8))
	}
	if _, err := w.Write(buf); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	problems := (dtmfChecker{tmpDir: t.TempDir()}).check(path)
	if got := strings.Join(problems, "; "); !strings.Contains(got, "channel 0: 16 DTMF digit(s) readable (openrec's detector)") {
		t.Errorf("problems %q, want 16 digits found by openrec's detector", problems)
	}
	// The masker silences every one of them.
	dtmf.MaskAll(ch0, dtmf.MaskConfig{})
	d := dtmf.NewDetector(dtmf.Config{MaxReverseTwist: dtmf.MaskReverseTwist, MinBlocks: dtmf.MaskMinBlocks}, nil)
	d.Write(ch0)
	if n := len(d.Close()); n != 0 {
		t.Errorf("%d tones left after masking", n)
	}
}

// The check reads wideband (16 kHz) WAVs and recordings stored as MP3 or
// Opus (decoded by ffmpeg) too: the digits of the key tones are found,
// and none once masked.
func TestDTMFCheckWidebandAndCompressed(t *testing.T) {
	const card = "4929123456781234"
	ff := testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg")
	dc := dtmfChecker{tmpDir: t.TempDir(), ffmpeg: ff}
	for _, masked := range []bool{false, true} {
		narrow, err := wav.ReadFile(writeKeyTones(t, card, masked))
		if err != nil {
			t.Fatal(err)
		}
		// The same audio at 16 kHz.
		wide := filepath.Join(t.TempDir(), "wide.wav")
		w, err := wav.Create(wide, wav.FormatPCM16, 2, 16000)
		if err != nil {
			t.Fatal(err)
		}
		var up [2]resample.Doubler
		a, b := up[0].Double(narrow.Channel(0), nil), up[1].Double(narrow.Channel(1), nil)
		buf := make([]byte, 0, 4*len(a))
		for i := range a {
			buf = append(buf, byte(a[i]), byte(uint16(a[i])>>8), byte(b[i]), byte(uint16(b[i])>>8))
		}
		w.Write(buf)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		paths := []string{wide}
		for _, f := range []string{mediaconv.StoreMP3, mediaconv.StoreOpus} {
			src, err := mediaconv.Open(wide)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "k"+mediaconv.StoreExt(f))
			if err := (mediaconv.StoreCodec{FFmpeg: ff}).Encode(context.Background(), src, f, 32, out); err != nil {
				t.Fatal(err)
			}
			src.Close()
			paths = append(paths, out)
		}
		for _, p := range paths {
			problems := dc.check(p)
			got := strings.Join(problems, "; ")
			if masked && len(problems) != 0 {
				t.Errorf("%s, masked: %q", filepath.Base(p), problems)
			}
			if !masked && (len(problems) != 1 || !strings.Contains(got, "channel 0: 16 DTMF digit(s) readable")) {
				t.Errorf("%s: %q, want channel 0 with 16 digits", filepath.Base(p), problems)
			}
		}
	}
}

package transcode_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/codec"
	"github.com/openrec/openrec/internal/media/g711"
	"github.com/openrec/openrec/internal/media/mixer"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/recorder/transcode"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediastore"
	"github.com/openrec/openrec/internal/store/seal"
	"github.com/openrec/openrec/internal/testtool"
)

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

const (
	rawFreq   = 1000.0 // the G.722 channel's tone
	g711Freq  = 440.0  // the PCMU channel's tone
	leadMS    = 100    // both legs start this late into the recording
	toneDur   = 2 * time.Second
	fileDur   = 2300 * time.Millisecond
	sampleWin = 80 // 10 ms
)

// fixture is a finished recording as the recorder leaves it when it
// cannot decode G.722: channel 0's payloads (encoded by ffmpeg) in a raw
// sidecar, channel 0 silent in the µ-law file, channel 1 a PCMU tone
// starting at the same time, and the SDP sidecar.
type fixture struct {
	rec  *store.Recording
	ref  []int16 // ffmpeg's own decode of the G.722 bitstream, 8 kHz
	orig []byte  // the file before transcoding
}

func newFixture(t *testing.T, dir string) *fixture {
	t.Helper()
	ff := testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg")
	pkts := audiotest.FFmpegRTP(t, ff, rawFreq, 0, toneDur, "-ar", "16000", "-ac", "1", "-c:a", "g722", "-payload_type", "9")
	if len(pkts) < 90 {
		t.Fatalf("ffmpeg sent %d G.722 packets", len(pkts))
	}
	slices.SortFunc(pkts, func(a, b []byte) int {
		return int(int16(binary.BigEndian.Uint16(a[2:]) - binary.BigEndian.Uint16(b[2:])))
	})
	media0 := filepath.Join(dir, "media", "2026", "12", "07", "R1.wav")
	if err := os.MkdirAll(filepath.Dir(media0), 0o700); err != nil {
		t.Fatal(err)
	}
	// The raw sidecar: one record per packet, 20 ms apart from leadMS on.
	var raw, stream []byte
	for i, p := range pkts {
		payload := p[12:]
		stream = append(stream, payload...)
		raw = binary.BigEndian.AppendUint32(raw, uint32(leadMS+20*i))
		raw = binary.BigEndian.AppendUint16(raw, binary.BigEndian.Uint16(p[2:]))
		raw = binary.BigEndian.AppendUint32(raw, binary.BigEndian.Uint32(p[4:]))
		raw = append(raw, p[1]&0x7F)
		raw = binary.BigEndian.AppendUint16(raw, uint16(len(payload)))
		raw = append(raw, payload...)
	}
	if err := os.WriteFile(mediastore.Raw(media0, 0), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	sdp := "v=0\r\no=SRC 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 4000 RTP/AVP 9 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\na=label:1\r\na=sendonly\r\n" +
		"m=audio 4002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=label:2\r\na=sendonly\r\n"
	if err := os.WriteFile(mediastore.SDP(media0), []byte(sdp), 0o600); err != nil {
		t.Fatal(err)
	}
	// The file: channel 0 silent, channel 1 the PCMU tone.
	frames := int(fileDur.Seconds() * 8000)
	tone := audiotest.Tone(g711Freq, 0.125, 8000, int(toneDur.Seconds()*8000))
	w, err := wav.Create(media0, wav.FormatULaw, 2, 8000)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2*frames)
	for i := range frames {
		buf[2*i], buf[2*i+1] = g711.ULawSilence, g711.ULawSilence
		if j := i - leadMS*8; j >= 0 && j < len(tone) {
			buf[2*i+1] = g711.EncodeULaw(tone[j])
		}
	}
	if _, err := w.Write(buf); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	sum, size, err := seal.HashFile(media0)
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := os.ReadFile(media0)
	rec := &store.Recording{ID: "R1", Mode: store.ModeSIPREC, Status: store.StatusCompleted,
		StatusReason: "BYE; needs_transcode: codec not decoded, raw payload kept", StartedAt: t0, EndedAt: t0.Add(fileDur),
		DurationMS: fileDur.Milliseconds(), Channels: 2, Codecs: []string{"G722", "PCMU"}, Format: "ulaw",
		MediaPath: media0, SizeBytes: size, SHA256: sum, NeedsTranscode: true,
		Segments: []store.Segment{{Type: store.SegmentRecording, Channel: store.AllChannels, StartMS: 0, EndMS: fileDur.Milliseconds()}}}
	return &fixture{rec: rec, ref: ffmpegDecode(t, ff, stream), orig: orig}
}

func ffmpegDecode(t *testing.T, ff string, g722 []byte) []int16 {
	t.Helper()
	in := filepath.Join(t.TempDir(), "ref.g722")
	if err := os.WriteFile(in, g722, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ff, "-hide_banner", "-loglevel", "error", "-f", "g722", "-i", in, "-f", "s16le", "-ar", "8000", "-ac", "1", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg decode: %v", err)
	}
	pcm := make([]int16, len(out)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(out[2*i:]))
	}
	return pcm
}

// checkTranscoded: channel 0 now holds the G.722 tone at ffmpeg's level,
// starting with channel 1's tone (±20 ms); channel 1 is byte for byte
// what it was.
func (fx *fixture) checkTranscoded(t *testing.T, path string) {
	t.Helper()
	f, err := wav.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Frames < int64(fileDur.Seconds()*8000) {
		t.Errorf("%d frames, want at least %d", f.Frames, int64(fileDur.Seconds()*8000))
	}
	c0, c1 := f.Channel(0), f.Channel(1)
	s0, e0 := audiotest.ToneSpan(c0, 8000, rawFreq, sampleWin)
	s1, _ := audiotest.ToneSpan(c1, 8000, g711Freq, sampleWin)
	if s0 < 0 || s1 < 0 {
		t.Fatalf("tone spans: ch0 %d, ch1 %d", s0, s1)
	}
	if d := s0 - s1; d < -160 || d > 160 {
		t.Errorf("channel 0 starts %d samples from channel 1 (±160)", d)
	}
	rs, re := audiotest.ToneSpan(fx.ref, 8000, rawFreq, sampleWin)
	if d := (e0 - s0) - (re - rs); d < -160 || d > 160 {
		t.Errorf("channel 0 tone of %d samples, ffmpeg's decode %d", e0-s0, re-rs)
	}
	lvl := 20 * math.Log10(audiotest.RMS(c0[s0+800:e0-800])/audiotest.RMS(fx.ref[rs+800:re-800]))
	t.Logf("channel 0: tone from sample %d (channel 1: %d), level %+.2f dB from ffmpeg's decode", s0, s1, lvl)
	if math.Abs(lvl) > 1 {
		t.Errorf("channel 0 level %+.2f dB from ffmpeg's decode", lvl)
	}
	if audiotest.HasTone(c0, 8000, g711Freq, nil) || audiotest.HasTone(c1, 8000, rawFreq, nil) {
		t.Error("a tone leaked into the other channel")
	}
	origF, err := wav.Decode(strings.NewReader(string(fx.orig)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(origF.Channel(1), c1[:len(origF.Channel(1))]) {
		t.Error("channel 1 changed")
	}
}

func TestTranscodeDecodesTheRawChannelAligned(t *testing.T) {
	dir := t.TempDir()
	fx := newFixture(t, dir)
	tc := transcode.New(transcode.Config{DataDir: dir, Now: func() time.Time { return t0.Add(time.Hour) }})
	o, err := tc.Transcode(context.Background(), fx.rec)
	if err != nil {
		t.Fatal(err)
	}
	fx.checkTranscoded(t, fx.rec.MediaPath)
	sum, size, _ := seal.HashFile(fx.rec.MediaPath)
	r := o.Result
	if r.SHA256 != sum || r.SizeBytes != size || r.DurationMS < fileDur.Milliseconds() || r.DurationMS > fileDur.Milliseconds()+100 {
		t.Errorf("result %+v, file sha %s size %d", r, sum, size)
	}
	if r.StatusReason != "BYE" || !slices.Equal(r.Codecs, []string{"G722", "PCMU"}) {
		t.Errorf("reason %q, codecs %v", r.StatusReason, r.Codecs)
	}
	if len(r.Events) != 1 || r.Events[0].Type != transcode.EventTranscoded || r.Events[0].Channel != 0 || r.Events[0].Detail != "G722" {
		t.Errorf("events %+v", r.Events)
	}
	if !slices.Equal(o.Decoded[0], []string{"G722"}) || o.Recovered {
		t.Errorf("outcome %+v", o)
	}
	if _, err := os.Stat(transcode.Journal(fx.rec.MediaPath)); err != nil {
		t.Errorf("journal before Done: %v", err)
	}
	tc.Done(fx.rec)
	if _, err := os.Stat(transcode.Journal(fx.rec.MediaPath)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal after Done: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Dir(fx.rec.MediaPath))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// A crash after the new file is in place but before the row is stored:
// the next attempt finishes from the journal without mixing again; once
// the journal is gone, a file that no longer matches its row is refused,
// never mixed a second time.
func TestTranscodeIsIdempotentAcrossACrash(t *testing.T) {
	dir := t.TempDir()
	fx := newFixture(t, dir)
	tc := transcode.New(transcode.Config{DataDir: dir})
	first, err := tc.Transcode(context.Background(), fx.rec)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(fx.rec.MediaPath)
	again, err := tc.Transcode(context.Background(), fx.rec) // the row still says needs_transcode, the old sha256
	if err != nil {
		t.Fatal(err)
	}
	if !again.Recovered || again.Result.SHA256 != first.Result.SHA256 || len(again.Result.Events) != len(first.Result.Events) {
		t.Errorf("second attempt %+v", again)
	}
	if now, _ := os.ReadFile(fx.rec.MediaPath); !slices.Equal(now, after) {
		t.Error("the second attempt changed the file")
	}
	tc.Done(fx.rec)
	if _, err := tc.Transcode(context.Background(), fx.rec); !errors.Is(err, transcode.ErrPermanent) {
		t.Errorf("third attempt on a stale row: %v, want ErrPermanent", err)
	}
	fx.checkTranscoded(t, fx.rec.MediaPath)
}

// A journal whose new file never replaced the old one (a crash before the
// rename) is started again.
func TestTranscodeRestartsAfterACrashBeforeTheRename(t *testing.T) {
	dir := t.TempDir()
	fx := newFixture(t, dir)
	j := fmt.Sprintf(`{"from_sha256":%q,"result":{"SHA256":"feed"}}`, fx.rec.SHA256)
	if err := os.WriteFile(transcode.Journal(fx.rec.MediaPath), []byte(j), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := transcode.New(transcode.Config{DataDir: dir}).Transcode(context.Background(), fx.rec)
	if err != nil {
		t.Fatal(err)
	}
	if o.Recovered || o.Result.SHA256 == "feed" {
		t.Errorf("outcome %+v", o)
	}
	fx.checkTranscoded(t, fx.rec.MediaPath)
}

func TestTranscodeRefuses(t *testing.T) {
	dir := t.TempDir()
	fx := newFixture(t, dir)
	noG722 := func(c media.Codec, rate int) (mixer.Decoder, error) {
		if c.Name == "G722" {
			return nil, fmt.Errorf("%w: G722 left out", codec.ErrUnsupported)
		}
		return codec.NewDecoderRate(c, rate)
	}
	for _, tc := range []struct {
		name string
		cfg  transcode.Config
		edit func(r *store.Recording)
		want error
	}{
		{"no decoder in this build", transcode.Config{Decoders: noG722}, nil, transcode.ErrNoDecoder},
		{"does not need it", transcode.Config{}, func(r *store.Recording) { r.NeedsTranscode = false }, transcode.ErrPermanent},
		{"still recording", transcode.Config{}, func(r *store.Recording) { r.Status = store.StatusRecording }, transcode.ErrPermanent},
		{"file changed since its row", transcode.Config{}, func(r *store.Recording) { r.SHA256 = "00" }, transcode.ErrPermanent},
		{"no media", transcode.Config{}, func(r *store.Recording) { r.MediaPath = filepath.Join(dir, "gone.wav") }, transcode.ErrPermanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := *fx.rec
			if tc.edit != nil {
				tc.edit(&r)
			}
			tc.cfg.DataDir = dir
			if _, err := transcode.New(tc.cfg).Transcode(context.Background(), &r); !errors.Is(err, tc.want) {
				t.Errorf("Transcode: %v, want %v", err, tc.want)
			}
		})
	}
	if now, _ := os.ReadFile(fx.rec.MediaPath); !slices.Equal(now, fx.orig) {
		t.Error("a refused transcode changed the file")
	}
}

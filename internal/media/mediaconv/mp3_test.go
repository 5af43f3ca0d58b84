package mediaconv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/testtool"
)

// lamePath returns the lame binary (Debian package lame): OPENREC_TEST_LAME,
// else PATH; under CI=true a missing lame fails the test.
func lamePath(t *testing.T) string {
	t.Helper()
	return testtool.Find(t, "OPENREC_TEST_LAME", "lame")
}

// mp3Frame is the part of an MPEG audio frame header the tests check.
type mp3Frame struct {
	version string // "1", "2" or "2.5"
	layer   int
	kbps    int
	rate    int
	mode    string // "stereo", "joint", "dual", "mono"
	size    int    // bytes, header included
}

// Bitrates of MPEG-2 and MPEG-2.5 Layer III by bitrate index (ISO/IEC
// 13818-3, 2.4.2.3) and sample rates of MPEG-2.5 by sampling frequency index.
var (
	lsfL3Kbps  = [16]int{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, -1}
	mpeg25Rate = [4]int{11025, 12000, 8000, -1}
	mpeg2Rate  = [4]int{22050, 24000, 16000, -1}
	modes      = [4]string{"stereo", "joint", "dual", "mono"}
)

// parseMP3Frame parses the 4-byte frame header at b: 11 sync bits, version
// (00 = 2.5, 10 = 2, 11 = 1), layer (01 = III), protection, bitrate index,
// sampling frequency index, padding, private, channel mode, ...
func parseMP3Frame(b []byte) (mp3Frame, error) {
	if len(b) < 4 {
		return mp3Frame{}, fmt.Errorf("%d bytes left, want a 4-byte frame header", len(b))
	}
	if b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return mp3Frame{}, fmt.Errorf("no sync word: % x", b[:4])
	}
	var f mp3Frame
	switch (b[1] >> 3) & 3 {
	case 0:
		f.version = "2.5"
	case 2:
		f.version = "2"
	case 3:
		f.version = "1"
	default:
		return f, errors.New("reserved MPEG version")
	}
	f.layer = 4 - int((b[1]>>1)&3)
	if f.version == "1" || f.layer != 3 {
		return f, fmt.Errorf("MPEG %s layer %d, want MPEG 2 or 2.5 layer III", f.version, f.layer)
	}
	f.kbps = lsfL3Kbps[b[2]>>4]
	f.rate = mpeg25Rate[(b[2]>>2)&3]
	if f.version == "2" {
		f.rate = mpeg2Rate[(b[2]>>2)&3]
	}
	if f.kbps <= 0 || f.rate < 0 {
		return f, fmt.Errorf("bad bitrate or sampling frequency index: % x", b[:4])
	}
	padding := int(b[2]>>1) & 1
	f.mode = modes[b[3]>>6]
	// Layer III, MPEG-2/2.5: 576 samples, 72 * bitrate / rate bytes.
	f.size = 72*f.kbps*1000/f.rate + padding
	return f, nil
}

// walkMP3 parses every frame of an MP3 stream and checks each against
// the wanted bitrate, 8 kHz and mode. It returns the frame count.
func walkMP3(t *testing.T, b []byte, kbps int, mode string) int {
	t.Helper()
	return walkMP3At(t, b, kbps, 8000, mode)
}

// walkMP3At is walkMP3 at a given sample rate.
func walkMP3At(t *testing.T, b []byte, kbps, rate int, mode string) int {
	t.Helper()
	frames := 0
	for off := 0; off < len(b); frames++ {
		f, err := parseMP3Frame(b[off:])
		if err != nil {
			t.Fatalf("frame %d at byte %d: %v", frames, off, err)
		}
		if f.kbps != kbps || f.rate != rate || f.mode != mode {
			t.Fatalf("frame %d: %d kbit/s %d Hz %s, want %d kbit/s %d Hz %s", frames, f.kbps, f.rate, f.mode, kbps, rate, mode)
		}
		if off+f.size > len(b) {
			t.Fatalf("frame %d at byte %d: %d bytes, only %d left", frames, off, f.size, len(b)-off)
		}
		off += f.size
	}
	return frames
}

// lameOverhead is what LAME adds around the samples: its encoder delay
// (576 samples) in front and one flush frame at the end, before rounding
// up to whole 576-sample frames. Without a LAME tag (which cannot be
// written into a pipe) players do not trim it.
const lameOverhead = 1152

// decodeMP3 decodes an MP3 with lame --decode and returns its channels.
func decodeMP3(t *testing.T, lame string, mp3 []byte) (*wav.File, [][]int16) {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.mp3"), filepath.Join(dir, "out.wav")
	if err := os.WriteFile(in, mp3, 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(lame, "--decode", "--silent", in, out).CombinedOutput(); err != nil {
		t.Fatalf("lame --decode: %v: %s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return decodeWAV(t, b)
}

func TestEncodeMP3(t *testing.T) {
	lame := lamePath(t)
	const n = 2*rate + 123
	stereo := writeRecording(t, wav.FormatULaw, tones(2, n))
	mono := writeRecording(t, wav.FormatALaw, tones(1, n))
	pcm16k := filepath.Join(t.TempDir(), "16k.wav")
	{ // PCM16 at 16 kHz: lame resamples to 8 kHz
		w, err := wav.Create(pcm16k, wav.FormatPCM16, 2, 16000)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(encodeFrames(wav.FormatPCM16, [][]int16{audiotest.Tone(440, 0.5, 16000, 2*n), audiotest.Tone(1000, 0.5, 16000, 2*n)}))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		path     string
		channel  int
		kbps     int
		wantKbps int
		mode     string
		tones    []float64 // per output channel
	}{
		{"mono channel 0 default", stereo, 0, 0, 8, "mono", toneFreqs[:1]},
		{"mono channel 1 at 8", stereo, 1, 8, 8, "mono", toneFreqs[1:2]},
		{"mono channel 1 at 32", stereo, 1, 32, 32, "mono", toneFreqs[1:2]},
		{"stereo default", stereo, -1, 0, 16, "joint", toneFreqs[:2]},
		{"stereo at 16", stereo, -1, 16, 16, "joint", toneFreqs[:2]},
		{"stereo at 32", stereo, -1, 32, 32, "joint", toneFreqs[:2]},
		{"mono recording all channels", mono, -1, 0, 8, "mono", toneFreqs[:1]},
		{"16 kHz PCM16 stereo", pcm16k, -1, 32, 32, "joint", toneFreqs[:2]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openT(t, tc.path)
			var out bytes.Buffer
			if err := (Encoder{Path: lame}).EncodeMP3(context.Background(), s, tc.channel, tc.kbps, &out); err != nil {
				t.Fatal(err)
			}
			frames := walkMP3(t, out.Bytes(), tc.wantKbps, tc.mode)
			got := time.Duration(frames) * 576 * time.Second / 8000
			want := s.Duration() + lameOverhead*time.Second/8000
			if d := got - want; d < -100*time.Millisecond || d > 100*time.Millisecond {
				t.Errorf("%d frames = %v, want %v (source %v + LAME's %d samples) ± 100 ms", frames, got, want, s.Duration(), lameOverhead)
			}
			f, chans := decodeMP3(t, lame, out.Bytes())
			if f.SampleRate != 8000 || len(chans) != len(tc.tones) {
				t.Fatalf("decoded: %d Hz, %d channels; want 8000 Hz, %d channels", f.SampleRate, len(chans), len(tc.tones))
			}
			for c, freq := range tc.tones {
				if !audiotest.HasTone(chans[c], 8000, freq, toneFreqs) {
					t.Errorf("decoded channel %d: no dominant %v Hz tone", c, freq)
				}
			}
		})
	}
}

func TestEncodeMP3Arguments(t *testing.T) {
	stereo := openT(t, writeRecording(t, wav.FormatULaw, tones(2, 100)))
	three := openT(t, writeRecording(t, wav.FormatULaw, tones(3, 100)))
	// No encoder runs for any of these: errors come before the lookup.
	enc := Encoder{Path: filepath.Join(t.TempDir(), "not-called")}
	tests := []struct {
		name    string
		s       *Source
		channel int
		kbps    int
		want    error
	}{
		{"8 kbit/s stereo", stereo, -1, 8, ErrBitrate},
		{"24 kbit/s mono", stereo, 0, 24, ErrBitrate},
		{"64 kbit/s stereo", stereo, -1, 64, ErrBitrate},
		{"negative bitrate", stereo, 1, -8, ErrBitrate},
		{"channel 2 of stereo", stereo, 2, 8, ErrChannel},
		{"channel -2", stereo, -2, 8, ErrChannel},
		{"all of three channels", three, -1, 16, ErrChannel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := enc.EncodeMP3(context.Background(), tc.s, tc.channel, tc.kbps, &out)
			if !errors.Is(err, tc.want) {
				t.Errorf("EncodeMP3 = %v, want %v", err, tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("%d bytes written on error", out.Len())
			}
		})
	}
}

// TestEncodeMP3Wideband: a 16 kHz recording's mono MP3 at 32 kbit/s is
// MPEG 2 at 16 kHz and keeps a 6 kHz tone; at 8 kbit/s it is 8 kHz and
// the tone is filtered out (not folded to 2 kHz).
func TestEncodeMP3Wideband(t *testing.T) {
	lame := lamePath(t)
	const n = 2 * 16000
	path := filepath.Join(t.TempDir(), "wide.wav")
	w, err := wav.Create(path, wav.FormatPCM16, 2, 16000)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(encodeFrames(wav.FormatPCM16, [][]int16{audiotest.Tone(6000, 0.5, 16000, n), audiotest.Tone(1000, 0.5, 16000, n)}))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	s := openT(t, path)
	for _, tc := range []struct {
		kbps, rate int
	}{{32, 16000}, {8, 8000}, {16, 8000}} {
		var out bytes.Buffer
		if err := (Encoder{Path: lame}).EncodeMP3(context.Background(), s, 0, tc.kbps, &out); err != nil {
			t.Fatal(err)
		}
		if got := MP3Rate(16000, 1, tc.kbps); got != tc.rate {
			t.Errorf("MP3Rate(16000, 1, %d) = %d, want %d", tc.kbps, got, tc.rate)
		}
		walkMP3At(t, out.Bytes(), tc.kbps, tc.rate, "mono")
		f, chans := decodeMP3(t, lame, out.Bytes())
		if f.SampleRate != tc.rate {
			t.Fatalf("%d kbit/s: decoded at %d Hz", tc.kbps, f.SampleRate)
		}
		mid := chans[0][len(chans[0])/4 : len(chans[0])/2]
		if tc.rate == 16000 {
			if !audiotest.HasTone(mid, 16000, 6000, []float64{2000, 1000}) {
				t.Errorf("%d kbit/s: no 6 kHz in the 16 kHz MP3", tc.kbps)
			}
		} else if r := audiotest.RMS(mid); r > 300 {
			t.Errorf("%d kbit/s: rms %.0f at 8 kHz: the 6 kHz tone folded into the band", tc.kbps, r)
		}
	}
}

func TestMP3Bitrate(t *testing.T) {
	tests := []struct {
		ch, kbps, want int
	}{
		{1, 0, 8}, {1, 8, 8}, {1, 16, 16}, {1, 32, 32}, {2, 0, 16}, {2, 16, 16}, {2, 32, 32},
		{1, 24, 0}, {2, 8, 0}, {2, 24, 0}, {2, 64, 0}, {3, 16, 0}, {1, -1, 0},
	}
	for _, tc := range tests {
		got, err := MP3Bitrate(tc.ch, tc.kbps)
		if tc.want == 0 {
			if !errors.Is(err, ErrBitrate) {
				t.Errorf("MP3Bitrate(%d, %d) = %d, %v; want ErrBitrate", tc.ch, tc.kbps, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("MP3Bitrate(%d, %d) = %d, %v; want %d", tc.ch, tc.kbps, got, err, tc.want)
		}
	}
}

func TestEncodeMP3NoEncoder(t *testing.T) {
	s := openT(t, writeRecording(t, wav.FormatULaw, tones(2, 100)))
	dir := t.TempDir()
	notExec := filepath.Join(dir, "lame")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "missing", "lame"), notExec, "openrec-no-such-lame-binary"} {
		var out bytes.Buffer
		err := (Encoder{Path: path}).EncodeMP3(context.Background(), s, -1, 0, &out)
		if !errors.Is(err, ErrNoEncoder) {
			t.Errorf("Path %s: %v, want ErrNoEncoder", path, err)
		}
	}
}

// fakeEncoder writes an executable shell script standing in for lame.
func fakeEncoder(t *testing.T, script string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fake-lame")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitForPID waits for a fake encoder to write its pid to path.
func waitForPID(t *testing.T, path string, done <-chan error) int {
	t.Helper()
	pid := 0
	testtool.Eventually(t, 10*time.Second, func() bool {
		select {
		case err := <-done:
			t.Fatalf("encoder ended before it started: %v", err)
		default:
		}
		b, err := os.ReadFile(path)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		if pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
			t.Fatal(err)
		}
		return true
	}, "the fake encoder's pid in %s", path)
	return pid
}

// assertGone checks that process pid no longer exists (it was killed and
// reaped).
func assertGone(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("encoder process %d still exists (kill 0: %v)", pid, err)
	}
}

func TestEncodeMP3CancelKillsChild(t *testing.T) {
	s := openT(t, writeRecording(t, wav.FormatULaw, tones(2, 10*rate)))
	pidFile := filepath.Join(t.TempDir(), "pid")
	enc := Encoder{Path: fakeEncoder(t, "echo $$ > "+pidFile+"\nexec sleep 600\n")}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- enc.EncodeMP3(ctx, s, -1, 16, &bytes.Buffer{}) }()
	pid := waitForPID(t, pidFile, done)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("EncodeMP3 after cancel = %v, want context.Canceled", err)
	}
	assertGone(t, pid)
}

func TestEncodeMP3Timeout(t *testing.T) {
	s := openT(t, writeRecording(t, wav.FormatULaw, tones(2, 100)))
	enc := Encoder{Path: fakeEncoder(t, "exec sleep 600\n"), Timeout: 20 * time.Millisecond}
	err := enc.EncodeMP3(context.Background(), s, -1, 16, &bytes.Buffer{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("EncodeMP3 past its Timeout = %v, want context.DeadlineExceeded", err)
	}
}

func TestEncodeMP3Failure(t *testing.T) {
	s := openT(t, writeRecording(t, wav.FormatULaw, tones(2, 100)))
	enc := Encoder{Path: fakeEncoder(t, "cat > /dev/null\necho 'Unsupported data format: 0x0001' >&2\nexit 3\n")}
	err := enc.EncodeMP3(context.Background(), s, -1, 16, &bytes.Buffer{})
	if !errors.Is(err, ErrEncoder) || !strings.Contains(err.Error(), "Unsupported data format: 0x0001") {
		t.Errorf("failing encoder: %v, want ErrEncoder with its stderr", err)
	}
}

func TestEncodeMP3CommandLine(t *testing.T) {
	// The command line is what the brief specifies: raw PCM16 little-endian
	// signed on stdin, CBR, 8 kHz output, mono or joint stereo.
	s := openT(t, writeRecording(t, wav.FormatULaw, tones(2, 100)))
	argsFile := filepath.Join(t.TempDir(), "args")
	enc := Encoder{Path: fakeEncoder(t, `echo "$@" > `+argsFile+"\ncat > /dev/null\n")}
	for _, tc := range []struct {
		channel int
		want    string
	}{
		{-1, "-r -s 8 --bitwidth 16 --signed --little-endian -m j -b 16 --cbr --resample 8 -t --silent - -"},
		{1, "-r -s 8 --bitwidth 16 --signed --little-endian -m m -b 8 --cbr --resample 8 -t --silent - -"},
	} {
		if err := enc.EncodeMP3(context.Background(), s, tc.channel, 0, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(argsFile)
		if got := strings.TrimSpace(string(b)); got != tc.want {
			t.Errorf("channel %d: lame %s\nwant   lame %s", tc.channel, got, tc.want)
		}
	}
}

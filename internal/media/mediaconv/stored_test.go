package mediaconv

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/testtool"
)

func TestParseStoreFormat(t *testing.T) {
	for in, want := range map[string]string{"": "wav", "WAV": "wav", "mp3": "mp3", "opus": "opus", "ogg": "opus"} {
		if got, err := ParseStoreFormat(in); err != nil || got != want {
			t.Errorf("%q: %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"flac", "aac", "wav "} {
		if _, err := ParseStoreFormat(in); !errors.Is(err, ErrStoreFormat) {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func TestStoreBitrate(t *testing.T) {
	for _, tc := range []struct {
		format         string
		channels, kbps int
		want           int
		err            error
	}{
		{StoreWAV, 2, 0, 0, nil},
		{StoreMP3, 1, 0, 8, nil},
		{StoreMP3, 2, 0, 16, nil},
		{StoreMP3, 2, 32, 32, nil},
		{StoreMP3, 2, 8, 0, ErrBitrate},
		{StoreMP3, 3, 0, 0, ErrStoreFormat},
		{StoreOpus, 2, 0, 24, nil},
		{StoreOpus, 2, 16, 16, nil},
		{StoreOpus, 1, 32, 32, nil},
		{StoreOpus, 2, 48, 0, ErrBitrate},
		{StoreOpus, 2, 8, 0, ErrBitrate},
		{StoreOpus, 3, 0, 36, nil},
		{"flac", 2, 0, 0, ErrStoreFormat},
	} {
		got, err := StoreBitrate(tc.format, tc.channels, tc.kbps)
		if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("StoreBitrate(%s, %d, %d) = %d, %v; want %d, %v", tc.format, tc.channels, tc.kbps, got, err, tc.want, tc.err)
		}
	}
}

func TestStoreCodecMissingTool(t *testing.T) {
	c := StoreCodec{FFmpeg: "/nonexistent/ffmpeg"}
	for _, f := range []string{StoreMP3, StoreOpus} {
		if err := c.Check(f); !errors.Is(err, ErrNoEncoder) {
			t.Errorf("%s: %v", f, err)
		}
	}
	if err := c.Check(StoreWAV); err != nil {
		t.Errorf("wav: %v", err)
	}
}

// TestStoreRoundTrip: a stereo recording (8 and 16 kHz) stored as MP3 and
// Opus by lame and ffmpeg and decoded back by ffmpeg keeps each channel's
// tone, its level (±1.5 dB), its onset (±20 ms: the encoder delay is
// trimmed) and its length, at about the bitrate asked for.
func TestStoreRoundTrip(t *testing.T) {
	c := StoreCodec{FFmpeg: testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg")}
	for _, f := range []string{StoreMP3, StoreOpus} {
		if err := c.Check(f); err != nil {
			t.Fatalf("Check(%s): %v", f, err)
		}
	}
	for _, sr := range []int{8000, 16000} {
		// Tones from 0.5 s to 4.5 s of a 5 s recording.
		n := 5 * sr
		chans := make([][]int16, 2)
		for ch, f := range []float64{440, 1000} {
			chans[ch] = make([]int16, n)
			copy(chans[ch][sr/2:], audiotest.Tone(f, 0.25, sr, 4*sr))
		}
		src := filepath.Join(t.TempDir(), "rec.wav")
		w, err := wav.Create(src, wav.FormatPCM16, 2, sr)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(encodeFrames(wav.FormatPCM16, chans))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			format string
			kbps   int
		}{{StoreMP3, 16}, {StoreMP3, 32}, {StoreOpus, 16}, {StoreOpus, 32}} {
			t.Run(fmt.Sprintf("%s/%d kbps/%d Hz", tc.format, tc.kbps, sr), func(t *testing.T) {
				s := openT(t, src)
				dst := filepath.Join(t.TempDir(), "rec"+StoreExt(tc.format))
				if err := c.Encode(context.Background(), s, tc.format, tc.kbps, dst); err != nil {
					t.Fatal(err)
				}
				st, err := os.Stat(dst)
				if err != nil {
					t.Fatal(err)
				}
				if bps := float64(st.Size()*8) / 5 / 1000; bps < float64(tc.kbps)*0.5 || bps > float64(tc.kbps)*1.3 {
					t.Errorf("%d bytes for 5 s: %.1f kbit/s, asked %d", st.Size(), bps, tc.kbps)
				}
				back := filepath.Join(t.TempDir(), "back.wav")
				if err := c.Decode(context.Background(), dst, tc.format, sr, 2, back); err != nil {
					t.Fatal(err)
				}
				f, err := wav.ReadFile(back)
				if err != nil {
					t.Fatal(err)
				}
				if f.SampleRate != sr || f.Channels != 2 {
					t.Fatalf("decoded %d Hz %d channels", f.SampleRate, f.Channels)
				}
				if d := f.Duration() - 5*time.Second; d < -30*time.Millisecond || d > 100*time.Millisecond {
					t.Errorf("decoded %v, want 5s", f.Duration())
				}
				for ch, freq := range []float64{440, 1000} {
					got := f.Channel(ch)
					s, e := audiotest.ToneSpan(got, sr, freq, sr/100)
					if s < 0 {
						t.Fatalf("channel %d: no %g Hz", ch, freq)
					}
					if d := time.Duration(s-sr/2) * time.Second / time.Duration(sr); d < -20*time.Millisecond || d > 20*time.Millisecond {
						t.Errorf("channel %d: tone starts %v off", ch, d)
					}
					if d := time.Duration(e-s)*time.Second/time.Duration(sr) - 4*time.Second; d < -40*time.Millisecond || d > 40*time.Millisecond {
						t.Errorf("channel %d: tone lasts 4s%+v", ch, d)
					}
					lvl := audiotest.RMS(got[s+sr/10:e-sr/10]) / audiotest.RMS(chans[ch][sr/2+sr/10:sr*9/2-sr/10])
					if lvl < 0.84 || lvl > 1.19 {
						t.Errorf("channel %d: level ratio %.2f", ch, lvl)
					}
					if !audiotest.HasTone(got[s:e], sr, freq, []float64{440, 1000}) {
						t.Errorf("channel %d: %g Hz is not dominant", ch, freq)
					}
				}
			})
		}
	}
}

// BenchmarkStoreEncode: storing one minute of a stereo call in each
// format (ffmpeg as a child process: the time is wall time, ffmpeg's
// start included). It reports the bytes one recorded hour takes and the
// seconds one recorded hour costs to encode. The audio is a stand-in for
// speech (two tones per channel under noise, in 300 ms bursts): Opus is
// VBR and would spend less on silence or a pure tone.
func BenchmarkStoreEncode(b *testing.B) {
	c := StoreCodec{FFmpeg: testtool.Find(b, "OPENREC_TEST_FFMPEG", "ffmpeg")}
	for _, sr := range []int{8000, 16000} {
		src := filepath.Join(b.TempDir(), "minute.wav")
		w, err := wav.Create(src, wav.FormatPCM16, 2, sr)
		if err != nil {
			b.Fatal(err)
		}
		w.Write(encodeFrames(wav.FormatPCM16, [][]int16{talk(sr, 60, 1), talk(sr, 60, 2)}))
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		for _, tc := range []struct {
			format string
			kbps   int
		}{{StoreMP3, 16}, {StoreMP3, 32}, {StoreOpus, 16}, {StoreOpus, 24}, {StoreOpus, 32}} {
			b.Run(fmt.Sprintf("%s-%dk/%dHz", tc.format, tc.kbps, sr), func(b *testing.B) {
				s := openT(b, src)
				dst := filepath.Join(b.TempDir(), "out"+StoreExt(tc.format))
				var size int64
				for b.Loop() {
					if err := c.Encode(context.Background(), s, tc.format, tc.kbps, dst); err != nil {
						b.Fatal(err)
					}
					st, err := os.Stat(dst)
					if err != nil {
						b.Fatal(err)
					}
					size = st.Size()
				}
				b.ReportMetric(float64(size)*60/1e6, "MB/rec-hour")
				b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*60, "s/rec-hour")
			})
		}
	}
}

// talk is secs of speech-like audio at sr: bursts of two tones (seeded
// per channel) under noise, 300 ms on, 200 ms off.
func talk(sr, secs int, seed uint64) []int16 {
	out := make([]int16, sr*secs)
	x := seed*0x9E3779B97F4A7C15 + 1
	for i := range out {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		noise := float64(int16(x>>48)) / 32768 * 600
		t := float64(i) / float64(sr)
		v := noise
		if (i/(sr/10))%5 < 3 {
			f := 200 + 100*float64(seed) + 50*float64((i/(sr/2))%4)
			v += 5000*math.Sin(2*math.Pi*f*t) + 2500*math.Sin(2*math.Pi*3*f*t)
		}
		out[i] = int16(v)
	}
	return out
}

// FuzzStoreSettings: any format name and bitrate is either refused with
// ErrStoreFormat/ErrBitrate or gives a format whose bitrate is in range.
func FuzzStoreSettings(f *testing.F) {
	f.Add("mp3", 2, 16)
	f.Add("opus", 5, 0)
	f.Add("OGG", 1, 33)
	f.Fuzz(func(t *testing.T, name string, channels, kbps int) {
		format, err := ParseStoreFormat(name)
		if err != nil {
			if !errors.Is(err, ErrStoreFormat) {
				t.Fatalf("%q: %v", name, err)
			}
			return
		}
		channels = 1 + abs(channels)%16
		got, err := StoreBitrate(format, channels, kbps)
		switch {
		case err != nil && !errors.Is(err, ErrBitrate) && !errors.Is(err, ErrStoreFormat):
			t.Fatalf("%s %d ch %d kbit/s: %v", format, channels, kbps, err)
		case err == nil && format == StoreWAV && got != 0,
			err == nil && format != StoreWAV && (got < 8 || got > 32+12*channels):
			t.Fatalf("%s %d ch %d kbit/s: %d", format, channels, kbps, got)
		}
	})
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

package transcode_test

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/codec"
	"github.com/openrec/openrec/internal/media/g711"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/recorder/transcode"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediastore"
	"github.com/openrec/openrec/internal/store/seal"
)

// BenchmarkTranscode: one op transcodes a 60 s stereo recording whose
// channel 0 was kept raw as G.722 (3,000 packets) and channel 1 is µ-law:
// replay through the mixer, decode, merge, atomic write, sha256. The
// metric rec-s/s is recorded seconds transcoded per second of one core
// (the transcode is single-threaded).
func BenchmarkTranscode(b *testing.B) {
	const secs = 60
	dir := b.TempDir()
	path := filepath.Join(dir, "media", "B1.wav")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		b.Fatal(err)
	}
	enc := codec.NewG722Encoder()
	tone := audiotest.Tone(1000, 0.25, 8000, secs*8000)
	var raw []byte
	payload := make([]byte, 160)
	for i := 0; i < secs*50; i++ {
		n := enc.Encode(tone[i*160:(i+1)*160], payload)
		raw = binary.BigEndian.AppendUint32(raw, uint32(20*i))
		raw = binary.BigEndian.AppendUint16(raw, uint16(i))
		raw = binary.BigEndian.AppendUint32(raw, uint32(160*i))
		raw = append(raw, 9)
		raw = binary.BigEndian.AppendUint16(raw, uint16(n))
		raw = append(raw, payload[:n]...)
	}
	if err := os.WriteFile(mediastore.Raw(path, 0), raw, 0o600); err != nil {
		b.Fatal(err)
	}
	w, err := wav.Create(path, wav.FormatULaw, 2, 8000)
	if err != nil {
		b.Fatal(err)
	}
	frames := make([]byte, 2*secs*8000)
	for i := range secs * 8000 {
		frames[2*i], frames[2*i+1] = g711.ULawSilence, g711.EncodeULaw(tone[i]/2)
	}
	if _, err := w.Write(frames); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	orig, _ := os.ReadFile(path)
	sum, size, _ := seal.HashFile(path)
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	rec := &store.Recording{ID: "B1", Status: store.StatusCompleted, StartedAt: t0, Channels: 2, Format: "ulaw",
		MediaPath: path, SizeBytes: size, SHA256: sum, NeedsTranscode: true, DurationMS: secs * 1000}
	tc := transcode.New(transcode.Config{DataDir: dir})
	b.ReportAllocs()
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		if err := os.WriteFile(path, orig, 0o600); err != nil {
			b.Fatal(err)
		}
		os.Remove(transcode.Journal(path))
		b.StartTimer()
		start := time.Now()
		if _, err := tc.Transcode(context.Background(), rec); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(secs*b.N)/elapsed.Seconds(), "rec-s/s")
}

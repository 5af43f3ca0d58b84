package mediacrypt_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"filippo.io/age"

	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store/mediacrypt"
)

// One second of a recorded call: 8 kHz stereo PCM16 = 32,000 bytes
// (115.2 MB per call hour). Every benchmark op below handles one call
// second, so ns/op / 1e9 is the share of one core a call costs
// (reported as cpu%/call) and ns/op × 3600 the cost of a call hour.
const callSecond = rate * 2 * 2

func reportPerCall(b *testing.B) {
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/1e9*100, "cpu%/call")
	b.ReportMetric(perOp*3600/1e9, "s/callhour")
}

// BenchmarkEncrypt: the Writer alone, one call second per write.
func BenchmarkEncrypt(b *testing.B) {
	w, err := mediacrypt.NewWriter(io.Discard, []age.Recipient{recipient(b, recipientA)}, mediacrypt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	sec := randomBytes(callSecond, 1)
	b.SetBytes(callSecond)
	b.ResetTimer()
	for b.Loop() {
		if _, err := w.Write(sec); err != nil {
			b.Fatal(err)
		}
	}
	reportPerCall(b)
}

// BenchmarkEncryptWAV: wav.Writer over the encrypting Writer, Write + Sync
// (header patch checked) per call second, without checkpoint records.
func BenchmarkEncryptWAV(b *testing.B) {
	ew, err := mediacrypt.NewWriter(io.Discard, []age.Recipient{recipient(b, recipientA)}, mediacrypt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ww, err := wav.NewWith(ew, wav.FormatPCM16, 2, rate)
	if err != nil {
		b.Fatal(err)
	}
	sec := frames(wav.FormatPCM16, 2, 1)
	b.SetBytes(callSecond)
	b.ResetTimer()
	for b.Loop() {
		if _, err := ww.Write(sec); err != nil {
			b.Fatal(err)
		}
		if err := ww.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	reportPerCall(b)
}

// discardFile takes checkpoint records like a file and keeps nothing.
type discardFile struct{}

func (discardFile) Write(p []byte) (int, error)            { return len(p), nil }
func (discardFile) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }
func (discardFile) Truncate(int64) error                   { return nil }

// BenchmarkEncryptWAVCheckpoint: as BenchmarkEncryptWAV onto a file-like
// destination, so every call second also seals a checkpoint record.
func BenchmarkEncryptWAVCheckpoint(b *testing.B) {
	ew, err := mediacrypt.NewWriter(discardFile{}, []age.Recipient{recipient(b, recipientA)}, mediacrypt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ww, err := wav.NewWith(ew, wav.FormatPCM16, 2, rate)
	if err != nil {
		b.Fatal(err)
	}
	sec := frames(wav.FormatPCM16, 2, 1)
	b.SetBytes(callSecond)
	b.ResetTimer()
	for b.Loop() {
		if _, err := ww.Write(sec); err != nil {
			b.Fatal(err)
		}
		if err := ww.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	reportPerCall(b)
}

// BenchmarkAgeEncrypt is the reference: age.Encrypt's writer, same pattern.
func BenchmarkAgeEncrypt(b *testing.B) {
	w, err := age.Encrypt(io.Discard, recipient(b, recipientA))
	if err != nil {
		b.Fatal(err)
	}
	sec := randomBytes(callSecond, 1)
	b.SetBytes(callSecond)
	b.ResetTimer()
	for b.Loop() {
		w.Write(sec)
	}
	reportPerCall(b)
}

// encryptedCall returns a minute of an encrypted stereo PCM16 recording.
func encryptedCall(b *testing.B) (*mediacrypt.WAV, []byte) {
	ct, _ := encryptedWAV(b, wav.FormatPCM16, 2, frames(wav.FormatPCM16, 2, 60), recipient(b, recipientA))
	w, err := mediacrypt.OpenWAV(bytes.NewReader(ct), int64(len(ct)), identity(b, identityA))
	if err != nil {
		b.Fatal(err)
	}
	return w, ct
}

// BenchmarkDecrypt: playback, one call second per sequential ReadAt.
func BenchmarkDecrypt(b *testing.B) {
	w, _ := encryptedCall(b)
	buf := make([]byte, callSecond)
	off := int64(0)
	b.SetBytes(callSecond)
	b.ResetTimer()
	for b.Loop() {
		if off+callSecond > w.Size() {
			off = 0
		}
		if _, err := w.ReadAt(buf, off); err != nil {
			b.Fatal(err)
		}
		off += callSecond
	}
	reportPerCall(b)
}

// BenchmarkRange64KiB: an HTTP Range of 64 KiB at a random offset (mostly
// two chunks decrypted, the cache rarely hits).
func BenchmarkRange64KiB(b *testing.B) {
	w, _ := encryptedCall(b)
	buf := make([]byte, 64<<10)
	r := rand.New(rand.NewPCG(1, 2))
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := w.ReadAt(buf, r.Int64N(w.Size()-int64(len(buf)))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenRange64KiB: a Range request that opens the file first
// (header parse, X25519 unwrap, last chunk authenticated) and reads 64 KiB.
func BenchmarkOpenRange64KiB(b *testing.B) {
	_, ct := encryptedCall(b)
	id := identity(b, identityA)
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for b.Loop() {
		w, err := mediacrypt.OpenWAV(bytes.NewReader(ct), int64(len(ct)), id)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.ReadAt(buf, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

package recorder

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/mediaconv"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/sip/sipsrv"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
)

// storedFixture is a recorder storing recordings as format.
func storedFixture(t *testing.T, format string) *fixture {
	codec := mediaconv.StoreCodec{FFmpeg: testtool.Find(t, "OPENREC_TEST_FFMPEG", "ffmpeg")}
	return newFixture(t, func(c *Config) {
		c.MediaFormat = func(string) (string, int) { return format, 0 }
		c.Encoder = codec
	})
}

// recordCall records one single-session MSR call of n packets and returns
// its row once its storage format is made.
func recordCall(t *testing.T, f *fixture, n int) store.Recording {
	t.Helper()
	a := newSender(t, 0, 0xC)
	ans, err := f.invite(context.Background(), &sipsrv.Invite{
		CallID: "stored", Kind: sipsrv.KindMSR, SDP: offer(t, a.port(), "sendonly"),
		MSR: sipsrv.MSRParams{RecordID: "r9", RecordDN: "5001", DN: "5001", OtherDN: "+1555"},
	})
	if err != nil {
		t.Fatal(err)
	}
	a.to.Port = answerPort(t, ans)
	a.send(t, n, 0x20)
	waitPackets(t, f.r, uint64(n))
	f.clk.Add(time.Duration(n) * 20 * time.Millisecond)
	f.r.Bye("stored", "bye")
	f.r.WaitStored()
	return onlyRecording(t, f.db)
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// A recording stored as MP3 or Opus: the row names the compressed file
// (format, size, sha256 of it), and the WAV and the marker are gone.
func TestStoredFormatReplacesTheWAV(t *testing.T) {
	for _, format := range []string{mediaconv.StoreMP3, mediaconv.StoreOpus} {
		t.Run(format, func(t *testing.T) {
			f := storedFixture(t, format)
			rec := recordCall(t, f, 100)
			if !strings.HasSuffix(rec.MediaPath, "."+format) || rec.Format != format || rec.Status == store.StatusFailed {
				t.Fatalf("row: %s %s %s", rec.MediaPath, rec.Format, rec.Status)
			}
			size, sum, err := fileDigest(rec.MediaPath)
			if err != nil || size != rec.SizeBytes || sum != rec.SHA256 {
				t.Errorf("row says %d bytes %s, file has %d %s (%v)", rec.SizeBytes, rec.SHA256, size, sum, err)
			}
			w := strings.TrimSuffix(rec.MediaPath, "."+format) + ".wav"
			if exists(w) || exists(rec.MediaPath+".part") {
				t.Errorf("WAV or marker left: %v %v", exists(w), exists(rec.MediaPath+".part"))
			}
			// 2 s of µ-law stereo is 32,044 bytes; 16-24 kbit/s is ~4-6 kB.
			if rec.SizeBytes > 8000 {
				t.Errorf("2 s stored in %d bytes", rec.SizeBytes)
			}
			if st := f.r.Stats(); st.StoredCompressed != 1 || st.StoredFailed != 0 || st.StoredQueued != 0 {
				t.Errorf("stats: %d stored, %d failed, %d queued", st.StoredCompressed, st.StoredFailed, st.StoredQueued)
			}
		})
	}
}

// A recording with no audio (failed) keeps its WAV and loses its marker.
func TestStoredFormatSkipsFailedRecordings(t *testing.T) {
	f := storedFixture(t, mediaconv.StoreMP3)
	a := newSender(t, 0, 0xD)
	if _, err := f.invite(context.Background(), &sipsrv.Invite{
		CallID: "silent", Kind: sipsrv.KindMSR, SDP: offer(t, a.port(), "sendonly"),
		MSR: sipsrv.MSRParams{RecordID: "r8", RecordDN: "5001", DN: "5001", OtherDN: "+1555"},
	}); err != nil {
		t.Fatal(err)
	}
	f.r.Bye("silent", "bye")
	f.r.WaitStored()
	rec := onlyRecording(t, f.db)
	if rec.Status != store.StatusFailed || !strings.HasSuffix(rec.MediaPath, ".wav") || exists(storedPath(rec.MediaPath, "mp3")+".part") {
		t.Errorf("row %s %s, marker left %v", rec.Status, rec.MediaPath, exists(storedPath(rec.MediaPath, "mp3")+".part"))
	}
}

// Crash safety: whatever a killed process left (the marker beside a
// recovered WAV, a half-written .part, a finished compressed file the row
// does not name yet, a WAV beside a swap already done), the WAV stays
// playable until the row names the compressed file, and RecoverStored
// finishes the job.
func TestRecoverStoredFinishesWhatACrashLeft(t *testing.T) {
	for _, tc := range []struct {
		name  string
		leave func(path string, mp3 []byte) // turns the finished MP3 at path into what a crash leaves
	}{
		{"killed before encoding (empty marker)", func(path string, _ []byte) {
			os.WriteFile(path+".part", nil, 0o600)
			os.Remove(path)
		}},
		{"killed while encoding (half a .part)", func(path string, mp3 []byte) {
			os.WriteFile(path+".part", mp3[:len(mp3)/2], 0o600)
			os.Remove(path)
		}},
		{"killed after the rename, before the row", func(string, []byte) {}},
		// The rename reached the disk, the file's data did not (or an
		// operator truncated it): an empty MP3 is no copy of the WAV.
		{"empty compressed file, no marker", func(path string, _ []byte) {
			os.WriteFile(path, nil, 0o600)
		}},
		{"empty compressed file and the marker", func(path string, _ []byte) {
			os.WriteFile(path, nil, 0o600)
			os.WriteFile(path+".part", nil, 0o600)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := storedFixture(t, mediaconv.StoreMP3)
			done := recordCall(t, f, 100)
			mp3, err := os.ReadFile(done.MediaPath)
			if err != nil {
				t.Fatal(err)
			}
			// Rebuild the WAV the row named before the swap (the encode is
			// deterministic for a given WAV: redo it by recovery).
			w := strings.TrimSuffix(done.MediaPath, ".mp3") + ".wav"
			ww, err := wav.Create(w, wav.FormatULaw, 2, 8000)
			if err != nil {
				t.Fatal(err)
			}
			frame := make([]byte, 2*8000)
			for i := range frame {
				frame[i] = 0x20
			}
			ww.Write(frame)
			if err := ww.Close(); err != nil {
				t.Fatal(err)
			}
			size, sum, _ := fileDigest(w)
			before := done
			before.MediaPath, before.Format, before.SizeBytes, before.SHA256 = w, "ulaw", size, sum
			if err := f.db.UpdateRecording(context.Background(), &before); err != nil {
				t.Fatal(err)
			}
			tc.leave(done.MediaPath, mp3)
			// What a reader sees now: the WAV, whole.
			if info, err := wav.Stat(w); err != nil || info.Frames != 8000 {
				t.Fatalf("WAV before recovery: %+v %v", info, err)
			}
			n, err := f.r.RecoverStored(context.Background())
			if err != nil || n != 1 {
				t.Fatalf("RecoverStored: %d, %v", n, err)
			}
			f.r.WaitStored()
			rec := onlyRecording(t, f.db)
			if rec.MediaPath != done.MediaPath || rec.Format != "mp3" {
				t.Fatalf("after recovery the row names %s (%s)", rec.MediaPath, rec.Format)
			}
			if size, sum, err := fileDigest(rec.MediaPath); err != nil || size != rec.SizeBytes || sum != rec.SHA256 || size < 1000 {
				t.Errorf("row %d %s, file %d %s %v", rec.SizeBytes, rec.SHA256, size, sum, err)
			}
			if _, err := os.Stat(w); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("WAV left after recovery: %v", err)
			}
			if exists(rec.MediaPath + ".part") {
				t.Error("marker left after recovery")
			}
			// A second start finds nothing to do.
			if n, err := f.r.RecoverStored(context.Background()); n != 0 || err != nil {
				t.Errorf("second RecoverStored: %d, %v", n, err)
			}
		})
	}
}

// slowEncoder writes a stand-in file after a while and records how many
// encodes overlap; a cancelled context stops it.
type slowEncoder struct {
	delay     time.Duration
	mu        sync.Mutex
	now, peak int
	done      int
}

func (e *slowEncoder) Encode(ctx context.Context, _ *mediaconv.Source, _ string, _ int, dst string) error {
	e.mu.Lock()
	e.now++
	e.peak = max(e.peak, e.now)
	e.mu.Unlock()
	defer func() { e.mu.Lock(); e.now--; e.mu.Unlock() }()
	t := time.NewTimer(e.delay) // an encode takes time: the jobs overlap
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	e.mu.Lock()
	e.done++
	e.mu.Unlock()
	return os.WriteFile(dst, []byte("encoded"), 0o600)
}

// The compressor runs at most its workers at once, does every job, and
// Close stops the encodes still running (their markers stay for the next
// start).
func TestCompressorWorkers(t *testing.T) {
	enc := &slowEncoder{delay: 30 * time.Millisecond}
	f := newFixture(t, func(c *Config) {
		c.MediaFormat = func(string) (string, int) { return mediaconv.StoreOpus, 0 }
		c.Encoder = enc
	})
	f.r.comp.close()
	f.r.comp = newCompressor(f.r, 2)
	const n = 7
	var wavs []string
	for i := range n {
		id := fmt.Sprintf("R%02d", i)
		w := filepath.Join(f.r.MediaDir(), "2026", "11", "21", id+".wav")
		os.MkdirAll(filepath.Dir(w), 0o700)
		ww, err := wav.Create(w, wav.FormatULaw, 2, 8000)
		if err != nil {
			t.Fatal(err)
		}
		ww.Write(make([]byte, 1600))
		if err := ww.Close(); err != nil {
			t.Fatal(err)
		}
		if err := markStored(w, mediaconv.StoreOpus); err != nil {
			t.Fatal(err)
		}
		rec := &store.Recording{ID: id, Mode: store.ModeMSR, Status: store.StatusCompleted, StartedAt: f.clk.Now(), Channels: 2, Format: "ulaw", MediaPath: w}
		if err := f.db.CreateRecording(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		wavs = append(wavs, w)
	}
	if got, err := f.r.RecoverStored(context.Background()); got != n || err != nil {
		t.Fatalf("RecoverStored: %d, %v", got, err)
	}
	f.r.WaitStored()
	if enc.done != n || enc.peak != 2 {
		t.Errorf("%d encodes done, at most %d at once; want %d, 2", enc.done, enc.peak, n)
	}
	for _, w := range wavs {
		if exists(w) || !exists(storedPath(w, mediaconv.StoreOpus)) {
			t.Errorf("%s: WAV %v, Opus %v", filepath.Base(w), exists(w), exists(storedPath(w, mediaconv.StoreOpus)))
		}
	}

	// Close while encoding: the jobs stop, WAVs and markers stay.
	enc2 := &slowEncoder{delay: time.Minute} // ends only by close
	f.r.cfg.Encoder = enc2
	w := wavs[0]
	for _, p := range []string{storedPath(w, mediaconv.StoreOpus)} {
		os.Remove(p)
	}
	rec, _ := f.db.GetRecording(context.Background(), "R00")
	ww, _ := wav.Create(w, wav.FormatULaw, 2, 8000)
	ww.Write(make([]byte, 1600))
	ww.Close()
	rec.MediaPath, rec.Format = w, "ulaw"
	f.db.UpdateRecording(context.Background(), rec)
	markStored(w, mediaconv.StoreOpus)
	if got, _ := f.r.RecoverStored(context.Background()); got != 1 {
		t.Fatalf("RecoverStored: %d", got)
	}
	f.r.comp.close()
	if enc2.done != 0 || !exists(w) || !exists(storedPath(w, mediaconv.StoreOpus)+".part") {
		t.Errorf("after close: %d done, WAV %v, marker %v", enc2.done, exists(w), exists(storedPath(w, mediaconv.StoreOpus)+".part"))
	}
}

// A marker without a row (killed between the two) is removed at start; a
// compressed file without a row is kept for inspection.
func TestRecoverStoredOrphans(t *testing.T) {
	f := storedFixture(t, mediaconv.StoreMP3)
	dir := filepath.Join(f.r.MediaDir(), "2026", "11", "21")
	os.MkdirAll(dir, 0o700)
	marker, orphan := filepath.Join(dir, "R1.mp3.part"), filepath.Join(dir, "R2.mp3")
	os.WriteFile(marker, nil, 0o600)
	os.WriteFile(orphan, []byte("ID3"), 0o600)
	if n, err := f.r.RecoverStored(context.Background()); n != 0 || err != nil {
		t.Fatalf("RecoverStored: %d, %v", n, err)
	}
	if exists(marker) || !exists(orphan) {
		t.Errorf("marker left %v, orphan kept %v", exists(marker), exists(orphan))
	}
}

// A WAV beside a row that already names the compressed file is a
// leftover only when that file is there and not empty: else the WAV is
// the only copy and stays.
func TestRecoverStoredKeepsTheOnlyCopy(t *testing.T) {
	for _, tc := range []struct {
		name string
		mp3  []byte // nil: missing
	}{
		{"compressed file missing, its marker left", nil},
		{"compressed file empty", []byte{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := storedFixture(t, mediaconv.StoreMP3)
			dir := filepath.Join(f.r.MediaDir(), "2026", "11", "21")
			os.MkdirAll(dir, 0o700)
			w := filepath.Join(dir, "R1.wav")
			ww, err := wav.Create(w, wav.FormatULaw, 2, 8000)
			if err != nil {
				t.Fatal(err)
			}
			ww.Write(make([]byte, 1600))
			if err := ww.Close(); err != nil {
				t.Fatal(err)
			}
			mp3 := storedPath(w, mediaconv.StoreMP3)
			os.WriteFile(mp3+".part", nil, 0o600)
			if tc.mp3 != nil {
				os.WriteFile(mp3, tc.mp3, 0o600)
			}
			rec := &store.Recording{ID: "R1", Mode: store.ModeMSR, Status: store.StatusCompleted, StartedAt: f.clk.Now(), Channels: 2, Format: "mp3", MediaPath: mp3}
			if err := f.db.CreateRecording(context.Background(), rec); err != nil {
				t.Fatal(err)
			}
			if _, err := f.r.RecoverStored(context.Background()); err != nil {
				t.Fatal(err)
			}
			f.r.WaitStored()
			if !exists(w) {
				t.Error("the WAV, the only whole copy, was removed")
			}
		})
	}
}

package recorder

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/wav"
)

// Every flush leaves a valid header on disk (checkpoint or fsync), and the
// file is fsynced once per interval.
func TestDurableChecksHeaderEveryFlushAndFsyncsPerInterval(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.wav")
	w, err := wav.Create(path, wav.FormatULaw, 2, 8000)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	now := time.Unix(1000, 0)
	d := &durable{w: w, every: 10 * time.Second, now: func() time.Time { return now }}
	synced := 0
	for i := 1; i <= 25; i++ { // 25 one-second flushes
		if _, err := d.Write(make([]byte, 16000)); err != nil {
			t.Fatal(err)
		}
		before := d.last
		if err := d.Sync(); err != nil {
			t.Fatal(err)
		}
		if !d.last.Equal(before) {
			synced++
		}
		// Whatever the flush did, the .part file on disk is a valid WAV of
		// every frame written so far.
		f, err := wav.ReadFile(path + ".part")
		if err != nil {
			t.Fatalf("flush %d: %v", i, err)
		}
		if f.Frames != int64(i)*8000 {
			t.Fatalf("flush %d: header says %d frames, want %d", i, f.Frames, i*8000)
		}
		now = now.Add(time.Second)
	}
	if synced != 3 { // at 0 s, 10 s, 20 s
		t.Errorf("%d fsyncs in 25 s with a 10 s interval, want 3", synced)
	}
	// every <= 0: every flush is durable.
	d2 := &durable{w: w, every: 0, now: func() time.Time { return now }}
	for i := 0; i < 3; i++ {
		before := d2.last
		now = now.Add(time.Millisecond)
		if err := d2.Sync(); err != nil || d2.last.Equal(before) {
			t.Errorf("fsync_interval 0: flush %d did not fsync (%v)", i, err)
		}
	}
	_ = os.Remove(path)
}

package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
)

// An encrypted recording on a disk that fills up: the call ends
// disk-full, and once space is back the recording (its final name, not a
// ".part" left for the next start) replays what was recorded, decrypted.
func TestDiskFullEncrypted(t *testing.T) {
	dir := smallDisk(t, "20m")
	rcp, ids := ageKeys(t)
	a := apptest.StartWith(t, func(c *config.Serve) {
		c.DataDir = filepath.Join(dir, "data")
		c.StorageLowWatermark, c.StorageCriticalWatermark = "0", "0"
		c.Encryption = config.Encryption{Enabled: true, EncryptTo: rcp, DecryptKeys: ids}
	}, nil, app.Options{ResourceInterval: 100 * time.Millisecond})
	addUser(t, a, "sup", "admin", "")
	d := newDialer(t)
	done := make(chan error, 1)
	go func() {
		spec := dialSpec(a, "5001")
		spec.RecordID, spec.Duration = "full-enc", 8*time.Second
		_, err := d.Call(context.Background(), spec)
		done <- err
	}()
	waitFor(t, 10*time.Second, "the call", func() bool { return a.Recorder().Active() > 0 })
	time.Sleep(1500 * time.Millisecond) // models time: the call records into the small volume until it fills
	filler := filepath.Join(dir, "filler")
	fill(t, filler, 0)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the call still runs 5 s after the disk filled up")
	}
	time.Sleep(500 * time.Millisecond) // models time: the finalise after the disk-full end
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	var recs []store.Recording
	testtool.Poll(t, 10*time.Second, func() (bool, string) {
		var err error
		if recs, err = a.Store().ListRecordings(context.Background(), store.Filter{}); err != nil {
			t.Fatal(err)
		}
		return len(recs) == 1 && recs[0].Status != store.StatusRecording, fmt.Sprintf("%+v", recs)
	}, "the row leaving recording")
	r := recs[0]
	t.Logf("row: %s (%s) %d ms, media %s, files %v", r.Status, r.StatusReason, r.DurationMS, r.MediaPath, mediaFiles(t, a))
	if r.Status != store.StatusPartial || !strings.HasPrefix(r.StatusReason, "disk-full") {
		t.Errorf("row: %s (%s)", r.Status, r.StatusReason)
	}
	c := signIn(t, a, "sup")
	code, body, _ := getMedia(t, c, r.ID, "")
	t.Logf("replay: %d bytes for %d ms", len(body), r.DurationMS)
	if want := 44 + int(r.DurationMS)*32*8/10; code != 200 || len(body) < want { // 8 kHz stereo PCM16: 32 B/ms
		t.Errorf("replay after the disk filled: %d, %d bytes: %s", code, len(body), body[:min(len(body), 300)])
	}
}

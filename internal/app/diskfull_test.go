package app_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
)

// smallDisk mounts a tmpfs of size (e.g. "20m") made for the test and
// unmounted after it. Mounting needs root: without it the test is skipped,
// except under CI=true where it fails.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testtool.Missing(t, "the disk-full test needs root to mount a tmpfs: run it as root (CI does)")
	}
	mount := testtool.Find(t, "OPENREC_TEST_MOUNT", "mount")
	dir := t.TempDir()
	if out, err := exec.Command(mount, "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		testtool.Missing(t, "cannot mount a tmpfs here (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill grows the file at path until the file system has about leave bytes
// free (leave 0: until it is full).
func fill(t *testing.T, path string, leave uint64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		var st syscall.Statfs_t
		if err := syscall.Statfs(filepath.Dir(path), &st); err != nil {
			t.Fatal(err)
		}
		free := st.Bavail * uint64(st.Bsize)
		if free <= leave {
			return
		}
		n := min(uint64(len(buf)), free-leave)
		if _, err := f.Write(buf[:n]); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
}

// A real full disk (a 20 MB tmpfs): below the watermarks new calls get 503
// and calls in progress end as partial, disk-full, with the duration of
// their audio; with the watermarks off the disk fills up for real: the
// call ends disk-full at the first failed write, the final row is retried
// until it can be written (never left "recording"), health says the store
// is not writable, sign-in and search still answer; freeing space recovers.
func TestDiskFullTmpfs(t *testing.T) {
	t.Run("watermarks", func(t *testing.T) {
		dir := smallDisk(t, "20m")
		a := apptest.StartWith(t, func(c *config.Serve) {
			c.DataDir = filepath.Join(dir, "data")
			c.StorageLowWatermark, c.StorageCriticalWatermark = "8MB", "4MB"
		}, nil, app.Options{ResourceInterval: 100 * time.Millisecond})
		wantAvailable(t, a)
		filler := filepath.Join(dir, "filler")
		fill(t, filler, 6e6)
		wantUnavailable(t, a, "disk below low watermark")
		if err := os.Truncate(filler, 0); err != nil {
			t.Fatal(err)
		}
		wantAvailable(t, a)

		d := newDialer(t)
		done := make(chan error, 3)
		for _, id := range []string{"full-1", "full-2", "full-3"} {
			go func() {
				spec := dialSpec(a, "5001")
				spec.RecordID, spec.Duration = id, 8*time.Second
				_, err := d.Call(context.Background(), spec)
				done <- err
			}()
		}
		waitFor(t, 10*time.Second, "three calls", func() bool { return a.Recorder().Active() >= 3 })
		time.Sleep(1500 * time.Millisecond) // models time: 1.5 s recorded before the disk fills
		fill(t, filler, 3e6)
		wantUnavailable(t, a, "disk below critical watermark")
		for range 3 {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("a call still runs 5 s after the disk went critical")
			}
		}
		recs := waitQuiet(t, a)
		if len(recs) != 3 {
			t.Fatalf("%d recordings, want 3", len(recs))
		}
		for _, r := range recs {
			if r.Status != store.StatusPartial || !strings.HasPrefix(r.StatusReason, "disk-full") || r.DurationMS < 1200 || r.DurationMS > 4000 {
				t.Errorf("%s: %s (%s), %d ms; want partial, disk-full, ~1.5-2.5 s", r.RecordID, r.Status, r.StatusReason, r.DurationMS)
			}
		}
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		wantAvailable(t, a)
	})

	t.Run("really full", func(t *testing.T) {
		dir := smallDisk(t, "20m")
		a := apptest.StartWith(t, func(c *config.Serve) {
			c.DataDir = filepath.Join(dir, "data")
			c.StorageLowWatermark, c.StorageCriticalWatermark = "0", "0"
		}, nil, app.Options{ResourceInterval: 100 * time.Millisecond})
		addUser(t, a, "sup", "admin", "")
		wantAvailable(t, a)
		d := newDialer(t)
		done := make(chan error, 1)
		go func() {
			spec := dialSpec(a, "5001")
			spec.RecordID, spec.Duration = "really-full", 8*time.Second
			_, err := d.Call(context.Background(), spec)
			done <- err
		}()
		waitFor(t, 10*time.Second, "the call", func() bool { return a.Recorder().Active() > 0 })
		time.Sleep(1500 * time.Millisecond) // models time: 1.5 s recorded before the disk fills
		filler := filepath.Join(dir, "filler")
		fill(t, filler, 0)
		select {
		case <-done: // ended by the recorder at the first failed write
		case <-time.After(5 * time.Second):
			t.Fatal("the call still runs 5 s after the disk filled up")
		}
		wantUnavailable(t, a, "store not writable")
		// The API stays usable: sign-in and search answer.
		c := signIn(t, a, "sup")
		var list struct {
			Items []store.Recording `json:"items"`
		}
		if code := c.call("GET", "/api/v1/recordings", nil, &list); code != 200 {
			t.Errorf("search on a full disk: %d", code)
		}
		// Free space: the final row is written (it was retried).
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		wantAvailable(t, a)
		var recs []store.Recording
		testtool.Poll(t, 10*time.Second, func() (bool, string) {
			var err error
			if recs, err = a.Store().ListRecordings(context.Background(), store.Filter{}); err != nil {
				t.Fatal(err)
			}
			return len(recs) == 1 && recs[0].Status != store.StatusRecording, fmt.Sprintf("%+v", recs)
		}, "the row leaving recording")
		if r := recs[0]; r.Status != store.StatusPartial || !strings.HasPrefix(r.StatusReason, "disk-full") || r.DurationMS < 1000 {
			t.Errorf("row: %s (%s), %d ms; want partial, disk-full, > 1 s", r.Status, r.StatusReason, r.DurationMS)
		}
	})
}

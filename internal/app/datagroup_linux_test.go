//go:build linux

package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/testtool"
)

// Sharing what is already shared changes nothing: chmod and chown move a
// file's ctime, and backup tools that go by ctime would copy every
// recording again at each start.
func TestDataGroupLeavesSharedFilesAlone(t *testing.T) {
	gid := os.Getgid()
	dir := filepath.Join(t.TempDir(), "data")
	old := filepath.Join(dir, "media", "2020", "01", "02", "old.wav")
	if err := os.MkdirAll(filepath.Dir(old), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, []byte("RIFF"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := func() {
		a, err := app.Start(context.Background(), func() config.Serve {
			c := apptest.Config(t)
			c.DataDir, c.DataGroup = dir, strconv.Itoa(gid)
			return c
		}(), apptest.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		testtool.Poll(t, 10*time.Second, func() (bool, string) {
			fi, err := os.Stat(old)
			if err != nil {
				return false, err.Error()
			}
			return fi.Mode().Perm() == 0o640, fi.Mode().String()
		}, "%s shared with the data group", old)
		a.Close()
	}
	start()
	ctime := func() syscall.Timespec {
		fi, err := os.Stat(old)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ctim
	}
	before := ctime()
	time.Sleep(20 * time.Millisecond) // models time: a ctime change must be visible at the clock's resolution
	start()
	if after := ctime(); after != before {
		t.Errorf("ctime moved from %v to %v on a second start", before, after)
	}
}

//go:build unix

package app_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/testtool"
)

// Issue 13: with data_group set, finished recordings (media, sidecars,
// manifests) are 0640 and their directories 0750, owned by that group (an
// archiving account reads them); the database, keys and caches stay
// private, nothing is readable by other accounts, and recordings finished
// before the group was set are shared at start.
func TestDataGroupSharesFinishedRecordings(t *testing.T) {
	gid := os.Getgid() // a group this process may give files to
	dir := filepath.Join(t.TempDir(), "data")
	old := filepath.Join(dir, "media", "2020", "01", "02", "old.wav")
	if err := os.MkdirAll(filepath.Dir(old), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, []byte("RIFF"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startApp(t, func(c *config.Serve) { c.DataDir = dir; c.DataGroup = strconv.Itoa(gid) })
	d := newDialer(t)
	if _, err := d.Call(context.Background(), dial.Spec{
		Target: a.SIPAddr().String(), Mode: dial.ModeMSR, DN: "5001", OtherDN: "+15550100",
		RecordID: "grp-1", Codec: "PCMU", Duration: time.Second,
		Sources: []dial.Source{dial.Tone(440, 0.3), dial.Tone(1000, 0.3)},
	}); err != nil {
		t.Fatalf("call: %v", err)
	}
	recs := waitFinished(t, a, 1)
	if len(recs) != 1 || recs[0].MediaPath == "" {
		t.Fatalf("recordings = %+v", recs)
	}
	media := filepath.Join(dir, "media")
	check := func() []string {
		var bad []string
		err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := e.Info()
			if err != nil {
				return err
			}
			perm, g := fi.Mode().Perm(), int(fi.Sys().(*syscall.Stat_t).Gid)
			shared := path == dir || path == media || strings.HasPrefix(path, media+string(os.PathSeparator))
			switch {
			case perm&0o007 != 0:
				bad = append(bad, path+": readable by other accounts: "+perm.String())
			case shared && fi.IsDir() && (perm != 0o750 || g != gid):
				bad = append(bad, path+": want a 0750 dir of the group: "+perm.String()+" gid "+strconv.Itoa(g))
			case shared && !fi.IsDir() && (perm != 0o640 || g != gid):
				bad = append(bad, path+": want a 0640 file of the group: "+perm.String()+" gid "+strconv.Itoa(g))
			case !shared && perm&0o077 != 0:
				bad = append(bad, path+": want private (database, keys, caches): "+perm.String())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return bad
	}
	testtool.Poll(t, 10*time.Second, func() (bool, string) {
		bad := check()
		return len(bad) == 0, strings.Join(bad, "\n")
	}, "modes")
	for _, p := range []string{recs[0].MediaPath, strings.TrimSuffix(recs[0].MediaPath, ".wav") + ".manifest.json", app.DBPath(dir)} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("not checked: %v", err)
		}
	}
}

// An unknown group stops the start with a message naming the setting.
func TestDataGroupUnknown(t *testing.T) {
	cfg := apptest.Config(t)
	cfg.DataGroup = "no-such-group-openrec"
	a, err := app.Start(context.Background(), cfg, apptest.Logger(t))
	if err == nil {
		a.Close()
		t.Fatal("started with an unknown data_group")
	}
	if !strings.Contains(err.Error(), "data_group") || !strings.Contains(err.Error(), "no-such-group-openrec") {
		t.Errorf("error %q: want it to name data_group and the group", err)
	}
}

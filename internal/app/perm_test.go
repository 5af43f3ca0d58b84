package app_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/sip/dial"
)

// Issue 13: the data dir, media dirs, WAVs and the SQLite database (with
// its WAL and shared memory) are readable by the process owner only, also
// when an older version left the data dir 0755.
func TestDataDirIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	a := startApp(t, func(c *config.Serve) { c.DataDir = dir })
	d := newDialer(t)
	if _, err := d.Call(context.Background(), dial.Spec{
		Target: a.SIPAddr().String(), Mode: dial.ModeMSR, DN: "5001", OtherDN: "+15550100",
		RecordID: "perm-1", Codec: "PCMU", Duration: time.Second,
		Sources: []dial.Source{dial.Tone(440, 0.3), dial.Tone(1000, 0.3)},
	}); err != nil {
		t.Fatalf("call: %v", err)
	}
	recs := waitFinished(t, a, 1)
	if len(recs) != 1 || recs[0].MediaPath == "" {
		t.Fatalf("recordings = %+v", recs)
	}
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v: readable by other accounts", path, fi.Mode().Perm())
		}
		seen[filepath.Ext(path)] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{".wav", ".db", ".db-wal"} {
		if !seen[ext] {
			t.Errorf("no %s file checked (seen %v)", ext, seen)
		}
	}
}

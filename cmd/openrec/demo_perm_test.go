package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// The demo's configuration file is created private like every other file
// of the data dir (0600, in a 0700 dir), whatever the umask.
func TestDemoConfigFileIsPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	path, err := demoConfigFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", filepath.Base(p), got, want)
		}
	}
}

package mediastore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Options tune WriteFile.
type Options struct {
	Perm      fs.FileMode // of the new file; 0 means 0o600
	Exclusive bool        // fail with fs.ErrExist rather than replace path
	MkdirAll  bool        // create path's directory (0o700) first
}

// WriteFile writes path atomically: write fills a temporary file in path's
// directory (it may seek and WriteAt), which is then synced, closed, given
// its mode, renamed (or, Exclusive, linked) to path, and the directory is
// synced, so after a crash path is either absent, the old file, or the whole
// new one. A temporary file is named ".tmp-<name>-*" (IsTemp) and removed
// on error; one left by a crash is garbage for whoever prunes the directory.
func WriteFile(path string, o Options, write func(f *os.File) error) (err error) {
	dir := filepath.Dir(path)
	if o.MkdirAll {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("mediastore: %w", err)
		}
	}
	tmp, err := os.CreateTemp(dir, tempPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("mediastore: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
		}
		_ = os.Remove(tmp.Name()) // no-op after a rename; a link leaves path
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("mediastore: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mediastore: %w", err)
	}
	perm := o.Perm
	if perm == 0 {
		perm = 0o600
	}
	if err := os.Chmod(tmp.Name(), perm); err != nil {
		return fmt.Errorf("mediastore: %w", err)
	}
	if o.Exclusive {
		err = os.Link(tmp.Name(), path)
	} else {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("mediastore: %s: %w", path, fs.ErrExist)
		}
		return fmt.Errorf("mediastore: %w", err)
	}
	return SyncDir(dir)
}

// Put is WriteFile with its directory created and the mode 0o600: the
// placer of files a cache makes (mediaconv.Cache.Place).
func Put(path string, write func(f *os.File) error) error {
	return WriteFile(path, Options{MkdirAll: true}, write)
}

const tempPrefix = ".tmp-"

// IsTemp tells whether a file name is one of WriteFile's temporary files
// (in use by a write under way, or left by a crash).
func IsTemp(name string) bool { return strings.HasPrefix(name, tempPrefix) }

// SyncDir makes a rename or a removal in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("mediastore: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("mediastore: sync %s: %w", dir, err)
	}
	return nil
}

package app

import (
	"fmt"
	"os"
)

// privateDir creates dir (and its parents) readable by the process owner
// only, and narrows an existing dir that is wider: recordings, the
// database and its password hashes live below it, and a 0700 directory
// keeps every other local account out whatever the modes of the files in
// it (older versions created 0755 dirs and 0644 files).
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, fi.Mode().Perm()&0o700); err != nil {
			return err
		}
	}
	return nil
}

package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediastore"
)

// dataPerms are the file modes of the data dir. Private (gid < 0): the
// data dir is 0700 and every file in it 0600. With a data_group, finished
// recordings (media, sidecars, manifests) are 0640 and the directories
// holding them 0750 (setgid, so new files take the group), owned by that
// group: an archiving or backup account reads recordings without being
// the recorder. The database (user password hashes), keys, caches and
// recordings in progress stay owner-only.
type dataPerms struct {
	gid   int    // -1: private
	group string // as configured, for messages
}

const (
	sharedDirMode  = 0o750 | fs.ModeSetgid
	sharedFileMode = 0o640
)

// newDataPerms resolves data_group (a name or a numeric id).
func newDataPerms(group string) (dataPerms, error) {
	if group == "" {
		return dataPerms{gid: -1}, nil
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		if _, nerr := strconv.Atoi(group); nerr != nil {
			return dataPerms{}, fmt.Errorf("data_group %q: %w", group, err)
		}
		if g, err = user.LookupGroupId(group); err != nil {
			// a numeric id without a name in the group database is still a group
			return dataPerms{gid: mustAtoi(group), group: group}, nil
		}
	}
	return dataPerms{gid: mustAtoi(g.Gid), group: group}, nil
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func (p dataPerms) shared() bool { return p.gid >= 0 }

// dataDir creates dir (and its parents) and gives it its mode: 0700, or
// 0750 of the group. An existing dir that is wider is narrowed: recordings,
// the database and its password hashes live below it, and a private dir
// keeps every other local account out whatever the modes of the files in
// it (older versions created 0755 dirs and 0644 files).
func (p dataPerms) dataDir(dir string) error {
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
	if p.shared() {
		return p.shareDir(dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, fi.Mode().Perm()&0o700); err != nil {
			return err
		}
	}
	return nil
}

// shareDir gives dir to the group, 0750.
func (p dataPerms) shareDir(dir string) error { return p.share(dir, sharedDirMode) }

// shareFile gives a regular file to the group, 0640.
func (p dataPerms) shareFile(path string) error { return p.share(path, sharedFileMode) }

// share gives path to the group with mode. A path that already has both is
// not touched: chmod and chown change a file's ctime, and backup tools
// that go by ctime would copy every recording again at each start.
func (p dataPerms) share(path string, mode fs.FileMode) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&(fs.ModePerm|fs.ModeSetgid) == mode && fileGID(fi) == p.gid {
		return nil
	}
	if err := os.Lchown(path, -1, p.gid); err != nil {
		return p.chownError(path, err)
	}
	return os.Chmod(path, mode)
}

func (p dataPerms) chownError(path string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("data_group %s: cannot give %s to the group (this process must be a member of it): %w", p.group, path, err)
	}
	return fmt.Errorf("data_group %s: %w", p.group, err)
}

// shareRecording makes the files of finished recording r readable by the
// group, and the directories from its media dir up to dataDir. Nothing
// happens when private.
func (p dataPerms) shareRecording(dataDir string, r *store.Recording) error {
	if !p.shared() || r.MediaPath == "" {
		return nil
	}
	var errs []error
	for _, f := range mediastore.Files(r, "") {
		if strings.HasSuffix(f, mediastore.PartSuffix) {
			continue
		}
		if fi, err := os.Lstat(f); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		errs = append(errs, p.shareFile(f))
	}
	for d := filepath.Dir(r.MediaPath); strings.HasPrefix(d, dataDir+string(os.PathSeparator)); d = filepath.Dir(d) {
		errs = append(errs, p.shareDir(d))
	}
	return errors.Join(errs...)
}

// shareExisting shares what dataDir/media already holds (recordings
// finished before data_group was set): directories and every regular file
// but recordings in progress (.part). It stops with ctx.
func (p dataPerms) shareExisting(ctx context.Context, media string, log *slog.Logger) {
	if !p.shared() {
		return
	}
	n := 0
	err := filepath.WalkDir(media, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch {
		case e.IsDir():
			return p.shareDir(path)
		case e.Type().IsRegular() && !strings.HasSuffix(path, mediastore.PartSuffix):
			n++
			return p.shareFile(path)
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		log.Warn("data_group: existing recordings not all shared with the group", "group", p.group, "error", err)
		return
	}
	log.Debug("data_group: existing recordings shared with the group", "group", p.group, "files", n)
}

package wav

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Recovered describes a file repaired by Recover.
type Recovered struct {
	Path           string // final path (the .part suffix removed)
	Frames         int64  // whole frames in the repaired file
	TruncatedBytes int64  // bytes of a trailing partial frame that were dropped
}

// Recover repairs a "*.wav.part" file left by a process that was killed
// while writing it: the header is rewritten from the real file size (a
// trailing partial frame is dropped), the file is synced and renamed to its
// final name (partPath without ".part"), and the directory is synced.
// Recover never overwrites: if the final name exists it returns an error
// wrapping fs.ErrExist. A file whose header was never written (the process
// died right after creating it) returns an error wrapping ErrInvalid and is
// left in place.
func Recover(partPath string) (Recovered, error) {
	if !strings.HasSuffix(partPath, PartSuffix) {
		return Recovered{}, fmt.Errorf("wav: recover %s: not a %s file", partPath, PartSuffix)
	}
	final := strings.TrimSuffix(partPath, PartSuffix)
	if _, err := os.Lstat(final); err == nil {
		return Recovered{}, fmt.Errorf("wav: recover %s: %w", final, fs.ErrExist)
	}
	rec, err := repair(partPath)
	if err != nil {
		return Recovered{}, fmt.Errorf("wav: recover %s: %w", partPath, err)
	}
	if err := commit(partPath, final); err != nil {
		return Recovered{}, err
	}
	rec.Path = final
	return rec, nil
}

// repair rewrites the header of the file at path from its size.
func repair(path string) (rec Recovered, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return rec, err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	return Repair(f)
}

// Repair rewrites, in place, the header of a WAV file this package was
// writing (a .part file, or a copy of one) from the file's size: a trailing
// partial frame is dropped, the sizes and the fact count are set, and f is
// synced. Recovered.Path is left empty. Errors wrap ErrInvalid for a file
// whose header was never written or was not written by this package.
func Repair(f *os.File) (rec Recovered, err error) {
	st, err := f.Stat()
	if err != nil {
		return rec, err
	}
	h, err := readHeader(f, st.Size())
	if err != nil {
		return rec, err
	}
	if h.dataOff != int64(headerLen(h.l.format)) {
		return rec, fmt.Errorf("%w: header layout not written by this package", ErrInvalid)
	}
	ba := int64(h.l.blockAlign)
	avail := max(st.Size()-h.dataOff, 0)
	frames := avail / ba
	data := frames * ba
	if limit := maxDataLen(h.l.format); data > limit {
		frames = limit / ba
		data = frames * ba
	}
	rec.TruncatedBytes = avail - data
	claimed := int64(h.dataSize)
	if claimed&1 == 1 && claimed%ba == 0 && avail == claimed+1 &&
		int64(h.riffSize) == h.dataOff-8+claimed+1 {
		// Closed cleanly (the final header counts the pad byte, which is
		// present) but not renamed: the last byte is the pad, not data.
		frames, data = claimed/ba, claimed
		rec.TruncatedBytes = 0
	}
	rec.Frames = frames
	if err := f.Truncate(h.dataOff + data); err != nil {
		return rec, err
	}
	if data&1 == 1 {
		if _, err := f.WriteAt([]byte{0}, h.dataOff+data); err != nil {
			return rec, err
		}
	}
	var hdr [maxHeaderLen]byte
	n := putHeader(hdr[:], h.l, data, true)
	if _, err := f.WriteAt(hdr[:n], 0); err != nil {
		return rec, err
	}
	return rec, f.Sync()
}

// RecoverDir walks root and calls Recover on every regular file whose name
// ends in ".wav.part". It returns the files it repaired and, joined, the
// errors of those it could not; one bad file does not stop the others.
func RecoverDir(root string) ([]Recovered, error) {
	var (
		out  []Recovered
		errs []error
	)
	walkErr := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, err)
			if d != nil && d.IsDir() && path != root {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasSuffix(d.Name(), ".wav"+PartSuffix) {
			return nil
		}
		rec, err := Recover(path)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		out = append(out, rec)
		return nil
	})
	if walkErr != nil {
		errs = append(errs, walkErr)
	}
	return out, errors.Join(errs...)
}

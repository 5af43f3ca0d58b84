package wav

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// PartSuffix is appended to the final path while a file is being written.
const PartSuffix = ".part"

// Writer streams interleaved frames into a WAV file and keeps the file
// recoverable: after every Sync the file on disk is a complete, valid WAV
// of everything written so far, and a file left as "<name>.part" by a
// killed process is repaired by Recover.
//
// A Writer is not safe for concurrent use; the mixer owns it from one
// goroutine. Write and Sync do not allocate.
type Writer struct {
	ws     io.WriteSeeker
	wa     io.WriterAt               // ws as a WriterAt, if it is one
	syncer interface{ Sync() error } // ws as a Syncer, if it is one
	file   *os.File                  // set by Create: closed and renamed by Close
	l      layout
	hlen   int
	path   string // final path ("" for NewWith)
	part   string // path being written ("" for NewWith)

	dataLen  int64 // sample bytes accepted by ws (may end in a partial frame after a failed write)
	err      error // sticky write error
	closed   bool
	closeErr error
	hdr      [maxHeaderLen]byte
	pad      [1]byte
}

// Create creates path+".part" exclusively (creating missing directories),
// writes the header and returns a Writer. Close finalises the header and
// renames the file to path. Create fails with an error wrapping
// fs.ErrExist if either path or path+".part" exists: recordings are never
// overwritten.
func Create(path string, f Format, channels, sampleRate int) (*Writer, error) {
	l, err := newLayout(f, channels, sampleRate)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("wav: create %s: %w", path, fs.ErrExist)
	}
	dir := filepath.Dir(path)
	created, err := mkdirAll(dir)
	if err != nil {
		return nil, fmt.Errorf("wav: create %s: %w", path, err)
	}
	part := path + PartSuffix
	file, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("wav: create: %w", err)
	}
	w := newWriter(file, l)
	w.file, w.path, w.part = file, path, part
	if err := w.writeHeader(); err != nil {
		file.Close()
		os.Remove(part)
		return nil, err
	}
	// Make the new directory entries durable so that a crash leaves a
	// .part file that start-up recovery can find.
	for _, d := range append([]string{dir}, created...) {
		if err := syncDir(d); err != nil {
			file.Close()
			os.Remove(part)
			return nil, fmt.Errorf("wav: create %s: %w", path, err)
		}
	}
	return w, nil
}

// NewWith writes a WAV stream to ws, starting at offset 0. Sync and Close
// patch the header in place (through io.WriterAt when ws implements it,
// else by seeking) and call ws.Sync when ws has one. Close does not close
// ws and renames nothing.
func NewWith(ws io.WriteSeeker, f Format, channels, sampleRate int) (*Writer, error) {
	l, err := newLayout(f, channels, sampleRate)
	if err != nil {
		return nil, err
	}
	if _, err := ws.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("wav: seek: %w", err)
	}
	w := newWriter(ws, l)
	if err := w.writeHeader(); err != nil {
		return nil, err
	}
	return w, nil
}

func newWriter(ws io.WriteSeeker, l layout) *Writer {
	w := &Writer{ws: ws, l: l, hlen: headerLen(l.format)}
	w.wa, _ = ws.(io.WriterAt)
	w.syncer, _ = ws.(interface{ Sync() error })
	return w
}

func (w *Writer) writeHeader() error {
	n := putHeader(w.hdr[:], w.l, 0, false)
	if _, err := w.ws.Write(w.hdr[:n]); err != nil {
		return fmt.Errorf("wav: write header: %w", err)
	}
	return nil
}

// Write appends p, which must hold whole interleaved frames in the storage
// format (PCM16 little-endian), with exactly one write to the underlying
// file. A partial frame returns ErrPartialFrame and growing beyond the WAV
// size limit returns ErrTooLarge; in both cases nothing is written. A
// failed underlying write is sticky: later Writes return the same error.
func (w *Writer) Write(p []byte) (int, error) {
	switch {
	case w.closed:
		return 0, ErrClosed
	case w.err != nil:
		return 0, w.err
	case len(p)%w.l.blockAlign != 0:
		return 0, fmt.Errorf("%w: %d bytes, frame is %d bytes", ErrPartialFrame, len(p), w.l.blockAlign)
	case len(p) == 0:
		return 0, nil
	case w.dataLen+int64(len(p)) > maxDataLen(w.l.format):
		return 0, ErrTooLarge
	}
	n, err := w.ws.Write(p)
	w.dataLen += int64(n)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = fmt.Errorf("wav: write: %w", err)
		return n, w.err
	}
	return n, nil
}

// Checkpoint rewrites the header in place with the sizes of the frames
// written so far, without flushing to stable storage: afterwards the file
// is a valid WAV of those frames for any reader and survives the process
// being killed (the page cache keeps it), not a power loss (that is Sync).
func (w *Writer) Checkpoint() error {
	if w.closed {
		return ErrClosed
	}
	if err := w.patchHeader(false); err != nil {
		return err
	}
	return w.err
}

// Sync rewrites the header in place with the sizes of the frames written
// so far and flushes the file to stable storage. Afterwards the file is a
// valid WAV of all those frames. The data was written before the header
// that describes it, and Recover does not trust the header anyway.
// Sync returns the sticky write error, if any, after syncing what is there.
func (w *Writer) Sync() error {
	if w.closed {
		return ErrClosed
	}
	if err := w.patchHeader(false); err != nil {
		return err
	}
	if err := w.fsync(); err != nil {
		return err
	}
	return w.err
}

// Close writes the final header (and the pad byte of an odd-sized data
// chunk), flushes the file to stable storage and, for a Writer from Create,
// closes it, renames it from ".part" to its final name and syncs the
// directory. If Close fails before the rename the ".part" file is left for
// Recover. Close is idempotent: later calls return the first call's result.
// If an earlier Write failed, Close still finalises the frames that are on
// disk and returns that write error.
func (w *Writer) Close() error {
	if w.closed {
		return w.closeErr
	}
	w.closed = true
	w.closeErr = w.finish()
	return w.closeErr
}

func (w *Writer) finish() error {
	err := w.finalize()
	if w.file != nil {
		if cerr := w.file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("wav: close: %w", cerr)
		}
		if err == nil {
			err = commit(w.part, w.path)
		}
	}
	if err != nil {
		return err
	}
	return w.err
}

func (w *Writer) finalize() error {
	data := w.Frames() * int64(w.l.blockAlign)
	end := int64(w.hlen) + data
	if w.file != nil && data != w.dataLen {
		// A failed write left a partial frame behind: drop it.
		if err := w.file.Truncate(end); err != nil {
			return fmt.Errorf("wav: truncate: %w", err)
		}
	}
	if data&1 == 1 {
		w.pad[0] = 0
		if err := w.writeAt(w.pad[:], end); err != nil {
			return err
		}
	}
	if err := w.patchHeader(true); err != nil {
		return err
	}
	return w.fsync()
}

// Frames returns the number of whole frames written.
func (w *Writer) Frames() int64 { return w.dataLen / int64(w.l.blockAlign) }

// Path returns the final path of a Writer from Create ("" for NewWith).
func (w *Writer) Path() string { return w.path }

// Format returns the storage format.
func (w *Writer) Format() Format { return w.l.format }

// Channels returns the number of interleaved channels.
func (w *Writer) Channels() int { return w.l.channels }

// SampleRate returns the sample rate in Hz.
func (w *Writer) SampleRate() int { return w.l.sampleRate }

func (w *Writer) patchHeader(padded bool) error {
	n := putHeader(w.hdr[:], w.l, w.Frames()*int64(w.l.blockAlign), padded)
	return w.writeAt(w.hdr[:n], 0)
}

// writeAt writes b at off without moving the append position.
func (w *Writer) writeAt(b []byte, off int64) error {
	if w.wa != nil {
		if _, err := w.wa.WriteAt(b, off); err != nil {
			return fmt.Errorf("wav: write header: %w", err)
		}
		return nil
	}
	if _, err := w.ws.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("wav: seek: %w", err)
	}
	_, err := w.ws.Write(b)
	if _, serr := w.ws.Seek(int64(w.hlen)+w.dataLen, io.SeekStart); err == nil && serr != nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("wav: write header: %w", err)
	}
	return nil
}

func (w *Writer) fsync() error {
	if w.syncer == nil {
		return nil
	}
	if err := w.syncer.Sync(); err != nil {
		return fmt.Errorf("wav: sync: %w", err)
	}
	return nil
}

// commit renames a finished .part file to its final name and makes the
// rename durable.
func commit(part, path string) error {
	if err := os.Rename(part, path); err != nil {
		return fmt.Errorf("wav: rename: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("wav: rename %s: %w", path, err)
	}
	return nil
}

// mkdirAll creates dir and its missing parents and returns the parents of
// the directories it created (the directories whose entries changed), so
// the caller can sync them.
func mkdirAll(dir string) ([]string, error) {
	var missing []string
	for d := dir; ; {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		missing = append(missing, d)
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	if len(missing) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	parents := make([]string, 0, len(missing))
	for _, d := range missing {
		parents = append(parents, filepath.Dir(d))
	}
	return parents, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

package mediacrypt

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"filippo.io/age"
)

// File is what Rewrap and Shred need of an open file (an *os.File).
type File interface {
	io.ReaderAt
	io.WriterAt
	Sync() error
}

// Rewrap rotates the keys of one encrypted file: it unwraps the file key
// with identities and rewrites the header in place, wrapped to recipients
// and padded to the same slot, so the payload (the audio) is neither read
// nor re-encrypted. The header MAC is keyed by the file key, which is why
// rotation needs an identity of the old recipients.
//
// The header is rewritten with one WriteAt; RewrapFile adds a journal so a
// crash in the middle of that write cannot lose the recording.
func Rewrap(f File, size int64, identities []age.Identity, recipients []age.Recipient) error {
	hdr, err := newHeaderFor(f, size, identities, recipients)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(hdr, 0); err != nil {
		return fmt.Errorf("mediacrypt: rewrite header: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("mediacrypt: sync: %w", err)
	}
	return nil
}

func newHeaderFor(f io.ReaderAt, size int64, identities []age.Identity, recipients []age.Recipient) ([]byte, error) {
	old, err := readHeader(f, size)
	if err != nil {
		return nil, err
	}
	fileKey, err := unwrapKey(old, identities)
	if err != nil {
		return nil, err
	}
	return buildHeader(fileKey, recipients, len(old))
}

// journalSuffix names the file RewrapFile keeps the new header in while it
// overwrites the old one.
const journalSuffix = ".rewrap"

// RewrapFile rotates the keys of the file at path (see Rewrap) crash-safely:
// the new header is first written and synced to path+".rewrap", then over
// the old header, then the journal is removed. After a crash,
// RecoverRewrap(path) completes the rotation.
func RewrapFile(path string, identities []age.Identity, recipients []age.Recipient) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("mediacrypt: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("mediacrypt: %w", err)
	}
	hdr, err := newHeaderFor(f, st.Size(), identities, recipients)
	if err != nil {
		return fmt.Errorf("mediacrypt: rewrap %s: %w", path, err)
	}
	journal := path + journalSuffix
	if err := writeSynced(journal, hdr); err != nil {
		return err
	}
	if _, err := f.WriteAt(hdr, 0); err != nil {
		return fmt.Errorf("mediacrypt: rewrite header of %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("mediacrypt: sync %s: %w", path, err)
	}
	if err := os.Remove(journal); err != nil {
		return fmt.Errorf("mediacrypt: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// RecoverRewrap finishes a RewrapFile interrupted by a crash: when
// path+".rewrap" holds a complete header of the same size as the file's
// header slot, it is written over the header; the journal is then removed.
// It reports whether a journal was applied. No key is needed.
func RecoverRewrap(path string) (bool, error) {
	journal := path + journalSuffix
	hdr, err := os.ReadFile(journal)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mediacrypt: %w", err)
	}
	parsed, perr := readHeader(bytes.NewReader(hdr), int64(len(hdr)))
	if perr != nil || len(parsed) != len(hdr) {
		// The crash hit the journal write: the file's header is untouched.
		if err := os.Remove(journal); err != nil {
			return false, fmt.Errorf("mediacrypt: %w", err)
		}
		return false, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false, fmt.Errorf("mediacrypt: %w", err)
	}
	defer f.Close()
	// The old header may be torn; its slot size is the journal's (rotation
	// keeps the slot), so the journal covers it exactly.
	if _, err := f.WriteAt(hdr, 0); err != nil {
		return false, fmt.Errorf("mediacrypt: rewrite header of %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return false, fmt.Errorf("mediacrypt: sync %s: %w", path, err)
	}
	if err := os.Remove(journal); err != nil {
		return false, fmt.Errorf("mediacrypt: %w", err)
	}
	return true, nil
}

// Shred destroys an encrypted file's only copy of its wrapped file key by
// overwriting the header slot with random bytes and syncing: without the
// header no identity can recover the key, so the payload is noise
// (crypto-shredding). The caller then removes the file. No key is needed.
//
// Overwriting in place defeats a reader of the file and of the disk on
// filesystems that write in place (ext4, xfs); copy-on-write filesystems,
// SSD remapping and backups may keep old blocks, and a backup of the file
// still decrypts with the tenant's identity: keys that must be shreddable
// beyond this file belong in a key store, not the header.
//
// A file that starts like an age file but whose header does not parse (a
// writer killed or a disk filled while the header was written, damage)
// may still hold whole stanzas: its header slot, as far as it can be made
// out, and at least DefaultHeaderSize are overwritten.
func Shred(f File, size int64) error {
	n := int64(0)
	hdr, err := readHeader(f, size)
	switch {
	case err == nil:
		n = int64(len(hdr))
	case Encrypted(f):
		n = damagedHeaderLen(f, size)
	default:
		return err
	}
	noise := make([]byte, n+nonceLen)
	rand.Read(noise)
	if _, err := f.WriteAt(noise[:min(int64(len(noise)), size)], 0); err != nil {
		return fmt.Errorf("mediacrypt: shred: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("mediacrypt: shred: sync: %w", err)
	}
	return nil
}

// ShredFile shreds the file at path (see Shred) and removes it, and
// shreds a rotation journal (path+".rewrap", another wrapped copy of the
// key) left by a crash.
func ShredFile(path string) error {
	if err := shredJournal(path + journalSuffix); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("mediacrypt: %w", err)
	}
	st, err := f.Stat()
	if err == nil {
		err = Shred(f, st.Size())
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("mediacrypt: %w", cerr)
	}
	if err != nil {
		return fmt.Errorf("mediacrypt: shred %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("mediacrypt: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// damagedHeaderLen is how much of a file with an unparseable header may be
// header: through the line of its MAC ("--- ") when there is one, and
// never less than the default slot.
func damagedHeaderLen(f io.ReaderAt, size int64) int64 {
	b := make([]byte, min(size, 2<<20))
	n, _ := f.ReadAt(b, 0)
	b = b[:n]
	end := int64(DefaultHeaderSize)
	if i := bytes.Index(b, []byte("\n--- ")); i >= 0 {
		j := bytes.IndexByte(b[i+1:], '\n')
		if j < 0 {
			end = max(end, int64(n))
		} else {
			end = max(end, int64(i+1+j+1))
		}
	}
	return end
}

func shredJournal(journal string) error {
	st, err := os.Stat(journal)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mediacrypt: %w", err)
	}
	noise := make([]byte, st.Size())
	rand.Read(noise)
	if err := writeSynced(journal, noise); err != nil {
		return err
	}
	if err := os.Remove(journal); err != nil {
		return fmt.Errorf("mediacrypt: %w", err)
	}
	return nil
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("mediacrypt: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("mediacrypt: write %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("mediacrypt: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("mediacrypt: sync %s: %w", dir, err)
	}
	return nil
}

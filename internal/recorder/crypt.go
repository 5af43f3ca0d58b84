package recorder

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediacrypt"
)

// TenantAdvisor is optionally implemented by a Correlator: the tenant the
// CTI side knows for a new recording (its call's), asked once when the
// recording is created so that its media is encrypted to that tenant's
// recipients (encryption.tenants). ok=false leaves the tenant of the SIP
// source (Config.Tenant: source_tenants, default_tenant).
type TenantAdvisor interface {
	Tenant(s Session) (tenant string, ok bool)
}

// recipientTenant is the tenant whose recipients a new recording is
// encrypted to: the CTI side's when it knows the call, else the SIP
// source's.
func (r *Recorder) recipientTenant(rec *store.Recording, source string, now time.Time) string {
	if adv, ok := r.cfg.Correlator.(TenantAdvisor); ok {
		s := Session{RecordingID: rec.ID, Mode: rec.Mode, RecordID: rec.RecordID, CallUUID: rec.CallUUID,
			RecordedDN: rec.RecordedDN, OtherDN: rec.OtherDN, Start: now, Source: source}
		if t, ok := adv.Tenant(s); ok && t != "" {
			return t
		}
	}
	return r.tenantOf(source)
}

// mediaWriter is where a call's mixer writes: a plaintext WAV file
// (wav.Writer from wav.Create) or the same WAV stream encrypted at rest
// (cryptWAV).
type mediaWriter interface {
	Write(p []byte) (int, error)
	Checkpoint() error
	Sync() error
	Close() error
	Frames() int64
}

// cryptWAV is a recording written encrypted (encryption: in the serve
// configuration): a wav.Writer on a mediacrypt.Writer on the ".part" file.
// No plaintext byte reaches the disk: the chunk being filled stays in
// memory and each flush (the WAV header rewrite) seals the new bytes into a
// checkpoint record, so a killed recorder leaves an authenticated prefix of
// everything flushed. Close seals the last chunk, syncs and renames the
// file to its final name, as wav.Create's writer does.
type cryptWAV struct {
	*wav.Writer
	ew         *mediacrypt.Writer
	f          *os.File
	part, path string
	closed     bool
	closeErr   error
}

// createCryptWAV creates path+".part" exclusively (never overwriting a
// recording) and starts an encrypted WAV stream in it, the file key wrapped
// to recipients of the tenant.
func createCryptWAV(path string, keys *mediacrypt.Keys, tenant string, f wav.Format, channels, rate int) (*cryptWAV, error) {
	rs, err := keys.Recipients(tenant)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("create %s: %w", path, fs.ErrExist)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	part := path + wav.PartSuffix
	file, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*cryptWAV, error) {
		file.Close()
		os.Remove(part)
		return nil, err
	}
	ew, err := mediacrypt.NewWriter(file, rs, mediacrypt.Options{})
	if err != nil {
		return fail(err)
	}
	ww, err := wav.NewWith(ew, f, channels, rate)
	if err != nil {
		return fail(err)
	}
	// The header (wrapped key and WAV header) on disk and the directory
	// entry durable, so recovery finds the file after a crash.
	if err := ww.Sync(); err != nil {
		return fail(err)
	}
	if err := syncDir(dir); err != nil {
		return fail(err)
	}
	return &cryptWAV{Writer: ww, ew: ew, f: file, part: part, path: path}, nil
}

// Close finalises the WAV, seals the last chunk, syncs, closes and renames
// the file. Idempotent. A failure before the rename leaves the ".part"
// file for Recover.
func (c *cryptWAV) Close() error {
	if c.closed {
		return c.closeErr
	}
	c.closed = true
	err := c.Writer.Close()
	if cerr := c.ew.Close(); err == nil {
		err = cerr
	}
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if err = os.Rename(c.part, c.path); err == nil {
			err = syncDir(filepath.Dir(c.path))
		}
	}
	c.closeErr = err
	return err
}

// cryptRaw is a raw RTP payload sidecar (codecs the mixer cannot decode)
// encrypted like the WAV.
type cryptRaw struct {
	ew *mediacrypt.Writer
	f  *os.File
}

func (c *cryptRaw) Write(p []byte) (int, error) { return c.ew.Write(p) }
func (c *cryptRaw) Sync() error                 { return c.ew.Sync() }
func (c *cryptRaw) Close() error {
	err := c.ew.Close()
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncer is a sidecar file: *os.File or cryptRaw.
type syncer interface {
	io.Writer
	Sync() error
	Close() error
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

// rewrapJournal is the suffix of mediacrypt.RewrapFile's journal.
const rewrapJournal = ".rewrap"

// recoverEncrypted finishes key rotations a killed `recordings rewrap`
// left (a ".rewrap" journal beside the file) and the encrypted ".wav.part"
// files a killed recorder left under root: the recorder holds only public keys, so it
// cannot (and need not) repair them; each is renamed to its final name,
// and playback decrypts the authenticated prefix (chunks and checkpoint
// records) and ignores the torn tail. It returns the final paths. Plaintext
// ".part" files are left to wav.RecoverDir.
func recoverEncrypted(root string) ([]string, error) {
	var out []string
	var errs []error
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if d != nil && d.IsDir() && path != root {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if strings.HasSuffix(d.Name(), rewrapJournal) {
			// `recordings rewrap` killed mid-rotation: finish it (the
			// journal holds the new header; no key needed).
			if _, err := mediacrypt.RecoverRewrap(strings.TrimSuffix(path, rewrapJournal)); err != nil {
				errs = append(errs, err)
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), ".wav"+wav.PartSuffix) || !mediacrypt.IsEncryptedFile(path) {
			return nil
		}
		final := strings.TrimSuffix(path, wav.PartSuffix)
		if _, err := os.Lstat(final); err == nil {
			errs = append(errs, fmt.Errorf("recover %s: %w", final, fs.ErrExist))
			return nil
		}
		if err := os.Rename(path, final); err != nil {
			errs = append(errs, err)
			return nil
		}
		if err := syncDir(filepath.Dir(final)); err != nil {
			errs = append(errs, err)
		}
		out = append(out, final)
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

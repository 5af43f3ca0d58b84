package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediacrypt"
	"github.com/openrec/openrec/internal/store/mediastore"
)

// The screen video of a recording encrypted at rest is never on disk in
// plaintext: its upload is one mediacrypt stream, appended in order and
// checkpointed after every chunk (what a 308 promised survives a crash,
// sealed), renamed into place when complete. A chunk past the bytes held
// is not stored (308 with the Range held: the client sends from there); a
// stream the server lost (a restart, or screenIdle without a chunk) cannot
// be appended to: the bytes held stay, a playable prefix, and further
// chunks get 409.

// screenIdle is how long an encrypted upload's stream stays open without
// a chunk (the screen client died) before it is closed.
const screenIdle = 10 * time.Minute

// encUpload is the open stream of one encrypted upload.
type encUpload struct {
	f    *os.File
	w    *mediacrypt.Writer
	used time.Time
}

func (e *encUpload) close() {
	_ = e.w.Checkpoint()
	_ = e.f.Sync()
	_ = e.f.Close()
}

// errScreenStreamLost: an encrypted upload whose stream is gone.
var errScreenStreamLost = errors.New("the encrypted upload of this screen video cannot be resumed: the server no longer holds its stream (restarted, or no chunk for 10 minutes); the bytes held are kept as the video")

// screenRecipients says whether rec's media is encrypted at rest and, if
// so, the recipients its screen video is encrypted to (its tenant's).
func (s *Server) screenRecipients(rec *store.Recording, sr ScreenRecording) ([]age.Recipient, bool, error) {
	audio, _, err := mediastore.Locate(rec, s.cfg.DataDir)
	if err != nil || !mediacrypt.IsEncryptedFile(audio) {
		return nil, false, nil
	}
	var keys *mediacrypt.Keys
	if s.cfg.Keys != nil {
		keys = s.cfg.Keys()
	}
	if keys == nil || !keys.Encrypts() {
		return nil, true, fmt.Errorf("the recording is encrypted and this server has no recipients to encrypt its screen video to: %w", mediacrypt.ErrNoKeys)
	}
	recips, err := keys.Recipients(firstNonEmpty(rec.ExternalData[store.TenantKey], sr.Tenant))
	return recips, true, err
}

// encStream returns the open stream of recording id's encrypted upload,
// creating it at part when nothing is held yet; nil when it is lost.
// Streams idle for screenIdle are closed on the way. The caller holds the
// recording's upload lock.
func (st *screenState) encStream(id, part string, held int64, recips []age.Recipient, now time.Time) (*encUpload, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for k, e := range st.enc {
		if k != id && now.Sub(e.used) > screenIdle {
			e.close()
			delete(st.enc, k)
		}
	}
	if e := st.enc[id]; e != nil {
		e.used = now
		return e, nil
	}
	if held > 0 {
		return nil, nil
	}
	f, err := os.OpenFile(part, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	w, err := mediacrypt.NewWriter(f, recips, mediacrypt.Options{})
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.enc == nil {
		st.enc = map[string]*encUpload{}
	}
	e := &encUpload{f: f, w: w, used: now}
	st.enc[id] = e
	return e, nil
}

// dropEnc forgets recording id's stream, closing it unless done (already
// closed by finishEncrypted).
func (st *screenState) dropEnc(id string, done bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if e := st.enc[id]; e != nil {
		if !done {
			e.close()
		}
		delete(st.enc, id)
	}
}

// Close closes the streams of encrypted screen uploads in progress (their
// checkpointed bytes stay on disk). Idempotent.
func (s *Server) Close() error {
	s.screen.mu.Lock()
	defer s.screen.mu.Unlock()
	for k, e := range s.screen.enc {
		e.close()
		delete(s.screen.enc, k)
	}
	return nil
}

// appendEncrypted stores the new bytes of chunk [start, start+length) of
// an encrypted upload whose held prefix is next: bytes before next (a
// retry) are skipped; the chunk is read whole before any byte reaches the
// stream, so a body that ends early changes nothing. It returns how many
// bytes the prefix grew by.
func appendEncrypted(e *encUpload, body io.Reader, start, length, next int64) (int64, error) {
	buf, err := io.ReadAll(io.LimitReader(body, length))
	if err != nil {
		return 0, err
	}
	if int64(len(buf)) < length {
		return 0, io.ErrUnexpectedEOF
	}
	buf = buf[next-start:]
	if _, err := io.Copy(e.w, bytes.NewReader(buf)); err != nil {
		return 0, err
	}
	if err := e.w.Checkpoint(); err != nil {
		return 0, err
	}
	if err := e.f.Sync(); err != nil {
		return 0, err
	}
	return int64(len(buf)), nil
}

// finishEncrypted seals the complete stream and renames it into place.
func finishEncrypted(e *encUpload, part, path string) error {
	if err := e.w.Close(); err != nil {
		return err
	}
	if err := e.f.Sync(); err != nil {
		return err
	}
	if err := e.f.Close(); err != nil {
		return err
	}
	if err := os.Rename(part, path); err != nil {
		return err
	}
	return mediastore.SyncDir(filepath.Dir(path))
}

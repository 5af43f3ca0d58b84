package s3media

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediastore"
)

// Objects is what the Uploader needs of the bucket (Bucket implements it).
type Objects interface {
	Key(path string) string
	URL(key string) string
	Put(ctx context.Context, key, path string, d Digest) error
	Stat(ctx context.Context, key string) (Digest, error)
	DeleteRecording(ctx context.Context, r *store.Recording) error
}

// Store is what the Uploader needs of the recording store.
type Store interface {
	GetRecording(ctx context.Context, id string) (*store.Recording, error)
	SetMediaObject(ctx context.Context, id, object string) error
}

// UploaderConfig configures an Uploader.
type UploaderConfig struct {
	Objects Objects
	Store   Store
	// Spool is the local media directory the recorder writes to
	// (<data-dir>/media), rescanned at Start for uploads left pending.
	Spool string
	// DeleteQueue is the directory holding deletions of objects the
	// bucket refused or could not be reached for ("" = s3-deletes beside
	// Spool): one file per recording, retried until the objects are gone.
	DeleteQueue string
	// Workers is how many recordings are uploaded at once (0 = 2).
	Workers int
	// MinBackoff and MaxBackoff bound the wait before a failed upload is
	// tried again, doubling from MinBackoff (0 = 1 s; 0 = 5 min).
	MinBackoff, MaxBackoff time.Duration
	Log                    *slog.Logger
	// Hold, if set, keeps a finished recording in the spool for now: it is
	// not uploaded until it is enqueued again after Hold turns false (a
	// recording whose raw payloads the transcode queue may still decode).
	Hold func(ctx context.Context, r *store.Recording) bool
}

// Stats are the Uploader's counters (openrec_media_upload_* in /metrics).
type Stats struct {
	Pending        int   // recordings waiting to be uploaded (or retried)
	PendingBytes   int64 // their local bytes, as far as known (from their first attempt on)
	PendingDeletes int   // deletions of objects queued (the bucket was unreachable)
	Uploaded       int64 // recordings moved to the bucket
	UploadedBytes  int64 // their bytes
	Failures       int64 // failed attempts (each retried)
	Unverified     int64 // objects that did not match the local file
	LastError      string
}

// Uploader moves finished recordings from the local spool to the bucket
// (see the package doc). Enqueue never blocks; Close ends its goroutines.
type Uploader struct {
	cfg UploaderConfig
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	work   chan string
	wake   chan struct{}

	mu      sync.Mutex
	pending map[string]*entry // by recording id
	stats   Stats
	started bool
	closed  bool
}

type entry struct {
	due      time.Time // next attempt
	attempts int
	running  bool
	again    bool  // enqueued again while running
	bytes    int64 // local bytes when last seen
	verify   bool  // the last attempt failed verification (not an outage)
}

// NewUploader returns an Uploader; Start starts it.
func NewUploader(cfg UploaderConfig) *Uploader {
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = cfg.MinBackoff
	}
	if cfg.DeleteQueue == "" {
		cfg.DeleteQueue = filepath.Join(filepath.Dir(cfg.Spool), "s3-deletes")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Uploader{cfg: cfg, log: log, ctx: ctx, cancel: cancel,
		work: make(chan string), wake: make(chan struct{}, 1), pending: map[string]*entry{}}
}

// Start rescans the spool for finished recordings not uploaded yet (a
// restart, an outage) and starts the dispatcher and the workers.
func (u *Uploader) Start() error {
	u.mu.Lock()
	if u.started || u.closed {
		u.mu.Unlock()
		return nil
	}
	u.started = true
	u.mu.Unlock()
	n, err := u.rescan()
	if err != nil {
		return err
	}
	if n > 0 {
		u.log.Info("media uploads pending in the spool", "recordings", n)
	}
	u.wg.Add(1 + u.cfg.Workers)
	go u.dispatch()
	for range u.cfg.Workers {
		go u.worker()
	}
	return nil
}

// rescan enqueues every recording with finished files in the spool.
func (u *Uploader) rescan() (int, error) {
	ids := map[string]bool{}
	err := filepath.WalkDir(u.cfg.Spool, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == u.cfg.Spool {
				return filepath.SkipAll
			}
			return err
		}
		name := d.Name()
		if d.IsDir() && path != u.cfg.Spool && strings.HasPrefix(name, ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || mediastore.IsTemp(name) || strings.HasPrefix(name, ".") ||
			strings.HasSuffix(name, mediastore.PartSuffix) || strings.HasSuffix(name, mediastore.DeletingSuffix) {
			return nil
		}
		if id, _, ok := strings.Cut(name, "."); ok && id != "" {
			ids[id] = true
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("s3media: rescan %s: %w", u.cfg.Spool, err)
	}
	queued, err := os.ReadDir(u.cfg.DeleteQueue)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("s3media: rescan %s: %w", u.cfg.DeleteQueue, err)
	}
	for _, q := range queued {
		if q.Type().IsRegular() && !mediastore.IsTemp(q.Name()) {
			ids[deletePrefix+q.Name()] = true
		}
	}
	for id := range ids {
		u.Enqueue(id)
	}
	return len(ids), nil
}

// deletePrefix marks a queued deletion among the pending recording ids.
const deletePrefix = "delete/"

// DeleteRecording removes every object of recording r (expire.Objects:
// retention, erasure, discards). When the bucket cannot do it now the
// deletion is queued on disk (DeleteQueue) and retried with backoff, also
// after a restart, so a recording deleted while the bucket is down does
// not leave its objects behind; the error is returned only when even the
// queue cannot be written.
func (u *Uploader) DeleteRecording(ctx context.Context, r *store.Recording) error {
	err := u.cfg.Objects.DeleteRecording(ctx, r)
	if err == nil || r.MediaPath == "" {
		return err
	}
	q := filepath.Join(u.cfg.DeleteQueue, r.ID)
	if qerr := mediastore.WriteFile(q, mediastore.Options{MkdirAll: true}, func(f *os.File) error {
		_, err := f.WriteString(r.MediaPath)
		return err
	}); qerr != nil {
		return errors.Join(err, fmt.Errorf("s3media: queue the deletion: %w", qerr))
	}
	u.log.Warn("objects of a deleted recording not removed yet: queued and retried", "recording_id", r.ID, "error", err)
	u.Enqueue(deletePrefix + r.ID)
	return nil
}

// deleteQueued retries one queued deletion.
func (u *Uploader) deleteQueued(ctx context.Context, id string) error {
	q := filepath.Join(u.cfg.DeleteQueue, id)
	media, err := os.ReadFile(q)
	if errors.Is(err, fs.ErrNotExist) {
		return errGone
	}
	if err != nil {
		return fmt.Errorf("s3media: %w", err)
	}
	if err := u.cfg.Objects.DeleteRecording(ctx, &store.Recording{ID: id, MediaPath: string(media)}); err != nil {
		return err
	}
	if err := os.Remove(q); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("s3media: %w", err)
	}
	u.log.Info("queued deletion of a recording's objects done", "recording_id", id)
	return errGone
}

// Enqueue asks for recording id's local files to be uploaded (again): the
// recorder's finalise hook calls it, and so does every later rewrite of a
// finished recording's sidecars (its manifest). It never blocks.
func (u *Uploader) Enqueue(id string) {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return
	}
	e := u.pending[id]
	switch {
	case e == nil:
		u.pending[id] = &entry{}
	case e.running:
		e.again = true
	default:
		e.due = time.Time{}
	}
	u.mu.Unlock()
	u.poke()
}

func (u *Uploader) poke() {
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

// Stats returns the counters and the backlog now.
func (u *Uploader) Stats() Stats {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.stats
	for id, e := range u.pending {
		if strings.HasPrefix(id, deletePrefix) {
			s.PendingDeletes++
			continue
		}
		s.Pending++
		s.PendingBytes += e.bytes
	}
	return s
}

// Close stops the uploads (one under way is abandoned and tried again
// after a restart: the spool still holds its files) and waits for the
// goroutines. Idempotent.
func (u *Uploader) Close() error {
	u.mu.Lock()
	u.closed = true
	u.mu.Unlock()
	u.cancel()
	u.wg.Wait()
	return nil
}

// dispatch hands due recordings to the workers and sleeps until the next
// one is due or something is enqueued.
func (u *Uploader) dispatch() {
	defer u.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		var due []string
		next := now.Add(time.Hour)
		u.mu.Lock()
		for id, e := range u.pending {
			switch {
			case e.running:
			case !e.due.After(now):
				due = append(due, id)
			case e.due.Before(next):
				next = e.due
			}
		}
		u.mu.Unlock()
		for _, id := range due {
			u.mu.Lock()
			e := u.pending[id]
			if e == nil || e.running {
				u.mu.Unlock()
				continue
			}
			e.running = true
			u.mu.Unlock()
			select {
			case u.work <- id:
			case <-u.ctx.Done():
				return
			}
		}
		if len(due) > 0 {
			continue // look again: time passed while handing out
		}
		timer.Reset(time.Until(next))
		select {
		case <-u.ctx.Done():
			return
		case <-u.wake:
		case <-timer.C:
		}
	}
}

func (u *Uploader) worker() {
	defer u.wg.Done()
	for {
		select {
		case <-u.ctx.Done():
			return
		case id := <-u.work:
			if rid, ok := strings.CutPrefix(id, deletePrefix); ok {
				u.done(id, 0, u.deleteQueued(u.ctx, rid))
				continue
			}
			bytes, err := u.upload(u.ctx, id)
			u.done(id, bytes, err)
		}
	}
}

// done records the outcome of one attempt.
func (u *Uploader) done(id string, bytes int64, err error) {
	u.mu.Lock()
	defer u.poke()
	defer u.mu.Unlock()
	e := u.pending[id]
	if e == nil {
		return
	}
	e.running = false
	if err == nil || errors.Is(err, errGone) {
		if err == nil && bytes > 0 {
			u.stats.Uploaded++
			u.stats.UploadedBytes += bytes
			// The bucket answers again: what waits out an outage's
			// backoff goes now, not minutes later (a mismatch keeps
			// its backoff).
			for _, o := range u.pending {
				if o.attempts > 0 && !o.running && !o.verify {
					o.due = time.Time{}
				}
			}
		}
		if e.again {
			*e = entry{}
			return
		}
		delete(u.pending, id)
		return
	}
	if u.ctx.Err() != nil {
		return // closing: the spool keeps it
	}
	e.again = false
	e.attempts++
	e.bytes = bytes
	e.verify = errors.Is(err, ErrVerify)
	wait := u.cfg.MinBackoff << min(e.attempts-1, 20)
	if wait <= 0 || wait > u.cfg.MaxBackoff {
		wait = u.cfg.MaxBackoff
	}
	e.due = time.Now().Add(wait)
	u.stats.Failures++
	if errors.Is(err, ErrVerify) {
		u.stats.Unverified++
	}
	u.stats.LastError = err.Error()
	if rid, ok := strings.CutPrefix(id, deletePrefix); ok {
		u.log.Warn("queued deletion of a recording's objects failed: tried again", "recording_id", rid,
			"attempt", e.attempts, "retry_in", wait.String(), "error", err)
		return
	}
	u.log.Warn("media upload failed: the recording stays in the local spool and is tried again",
		"recording_id", id, "attempt", e.attempts, "retry_in", wait.String(), "error", err)
}

// errGone ends the work on a recording that no longer needs it.
var errGone = errors.New("s3media: nothing to upload")

// upload moves the local files of recording id to the bucket: each is put
// and verified, the store learns where the media is, and only then are the
// local copies removed. It returns the bytes moved (or pending, on error).
func (u *Uploader) upload(ctx context.Context, id string) (int64, error) {
	r, err := u.cfg.Store.GetRecording(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return 0, errGone // deleted (retention); its objects went with it
	}
	if err != nil {
		return 0, fmt.Errorf("read recording %s: %w", id, err)
	}
	if r.Status == store.StatusRecording || r.MediaPath == "" {
		return 0, errGone // the finalise hook enqueues it again
	}
	if u.cfg.Hold != nil && u.cfg.Hold(ctx, r) {
		return 0, errGone // enqueued again when released
	}
	if _, err := os.Stat(mediastore.Final(u.resolve(r.MediaPath)) + mediastore.RewrapSuffix); err == nil {
		// `recordings rewrap` is rotating its key in place: the bytes and
		// the row's sha256 are about to change.
		return 0, fmt.Errorf("upload %s: a key rotation is under way", id)
	}
	files := mediastore.Finished(u.resolve(r.MediaPath))
	if len(files) == 0 {
		return 0, errGone
	}
	type put struct {
		path string
		d    Digest
		st   os.FileInfo
	}
	var (
		puts  []put
		total int64
		media = mediastore.Final(u.resolve(r.MediaPath))
	)
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return total, fmt.Errorf("upload %s: %w", id, err)
		}
		total += st.Size()
		puts = append(puts, put{path: f, st: st})
	}
	u.mu.Lock()
	if e := u.pending[id]; e != nil {
		e.bytes = total // the backlog's bytes while this attempt runs
	}
	u.mu.Unlock()
	for i := range puts {
		p := &puts[i]
		d, err := DigestFile(p.path)
		if err != nil {
			return total, err
		}
		if p.path == media && r.SHA256 != "" && d.Hex() != r.SHA256 {
			// Not the bytes the recorder sealed: never replace the
			// record of them by this copy.
			return total, fmt.Errorf("upload %s: %s: sha256 %s, the recording says %s: %w", id, p.path, d.Hex(), r.SHA256, ErrVerify)
		}
		p.d = d
		key := u.cfg.Objects.Key(p.path)
		if err := u.cfg.Objects.Put(ctx, key, p.path, d); err != nil {
			return total, err
		}
		got, err := u.cfg.Objects.Stat(ctx, key)
		if err != nil {
			return total, fmt.Errorf("verify %s: %w", key, err)
		}
		if got != d {
			return total, fmt.Errorf("verify %s: %d bytes sha256 %s, the local file %d bytes sha256 %s: %w",
				key, got.Size, got.Hex(), d.Size, d.Hex(), ErrVerify)
		}
	}
	object := u.cfg.Objects.URL(u.cfg.Objects.Key(media))
	if r.MediaObject != object {
		if _, err := os.Stat(media); err == nil {
			if err := u.cfg.Store.SetMediaObject(ctx, id, object); errors.Is(err, store.ErrNotFound) {
				// Deleted while it was uploaded: take the objects back.
				return 0, errors.Join(errGone, u.cfg.Objects.DeleteRecording(ctx, r))
			} else if err != nil {
				return total, fmt.Errorf("record the media object of %s: %w", id, err)
			}
		}
	}
	for _, p := range puts {
		// A file rewritten meanwhile (a manifest re-sealed) stays: its
		// rewrite enqueued the recording again.
		if st, err := os.Stat(p.path); err != nil || st.Size() != p.st.Size() || !st.ModTime().Equal(p.st.ModTime()) {
			continue
		}
		if err := os.Remove(p.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			u.log.Warn("uploaded file not removed from the spool", "path", p.path, "error", err)
		}
	}
	if err := mediastore.SyncDir(filepath.Dir(media)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		u.log.Warn("spool directory not synced", "error", err)
	}
	u.log.Info("recording uploaded", "recording_id", id, "object", object, "files", len(puts), "bytes", total)
	return total, nil
}

// resolve makes a stored relative media path absolute against the spool's
// parent (the data dir) when it does not exist as given.
func (u *Uploader) resolve(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	if _, err := os.Stat(mediastore.Final(p)); err == nil {
		return p
	}
	return filepath.Join(filepath.Dir(u.cfg.Spool), p)
}

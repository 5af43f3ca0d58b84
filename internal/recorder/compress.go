package recorder

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/openrec/openrec/internal/media/mediaconv"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediastore"
)

// Storage formats (media_format, issue 17). Every recording is written as
// a WAV while it runs (crash-safe, playable prefix). A recording whose
// session asks for MP3 or Opus gets, when it is created, an empty marker
// <id>.mp3.part (or .opus.part) beside <id>.wav.part. When it ends, the
// compressor encodes the finished WAV into that .part file, syncs it,
// renames it to <id>.mp3, points the row at it (path, format, size,
// sha256) and only then removes the WAV. A process killed anywhere in
// between leaves a playable WAV that the row names, and the marker or the
// finished compressed file: RecoverStored, at the next start, redoes what
// is missing.

// Encoder makes a storage format's file from a finished WAV
// (mediaconv.StoreCodec).
type Encoder interface {
	Encode(ctx context.Context, s *mediaconv.Source, format string, kbps int, dst string) error
}

// compressJob is one recording to compress.
type compressJob struct {
	id, wav, format string
	kbps            int
	log             *slog.Logger
}

// compressor runs compressJobs on up to workers goroutines, started as
// jobs come and ended when the queue is empty; close cancels the encodes
// running and waits for them. Jobs not done keep their markers, and
// RecoverStored does them at the next start.
type compressor struct {
	r       *Recorder
	workers int
	ctx     context.Context
	cancel  context.CancelFunc

	mu      sync.Mutex
	queue   []compressJob
	running int // goroutines
	busy    int // jobs being encoded
	closed  bool
	// reserved counts finished recordings whose job is about to be
	// added (finalise reserves before the final row is written, adds
	// after): wait covers them too.
	reserved int
	idle     *sync.Cond // signalled when a goroutine ends or a reservation goes
	wg       sync.WaitGroup
}

// compressWorkers is how many recordings are encoded at once: half the
// CPUs Go may use (at least one), so that encoding after calls never
// takes the CPU the calls being recorded need.
func compressWorkers() int { return max(1, runtime.GOMAXPROCS(0)/2) }

func newCompressor(r *Recorder, workers int) *compressor {
	ctx, cancel := context.WithCancel(context.Background())
	c := &compressor{r: r, workers: max(workers, 1), ctx: ctx, cancel: cancel}
	c.idle = sync.NewCond(&c.mu)
	return c
}

// reserve announces a job that add (or release) follows.
func (c *compressor) reserve() {
	c.mu.Lock()
	c.reserved++
	c.mu.Unlock()
}

// release withdraws a reservation without a job.
func (c *compressor) release() {
	c.mu.Lock()
	c.reserved--
	c.idle.Broadcast()
	c.mu.Unlock()
}

// add queues j (reserved: it takes a reservation's place); nothing after
// close.
func (c *compressor) add(j compressJob, reserved bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if reserved {
		c.reserved--
		c.idle.Broadcast()
	}
	if c.closed {
		j.log.Info("storage format not made: the recorder is stopping; redone at the next start", "format", j.format)
		return
	}
	c.queue = append(c.queue, j)
	if c.running < c.workers {
		c.running++
		c.wg.Add(1)
		go c.run()
	}
}

func (c *compressor) run() {
	defer c.wg.Done()
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.queue) > 0 && !c.closed {
		j := c.queue[0]
		c.queue = c.queue[1:]
		c.busy++
		c.mu.Unlock()
		err := c.r.compress(c.ctx, j)
		if err != nil {
			c.r.stats.storedFailed.Add(1)
			j.log.Error("storage format not made: the WAV is kept (redone at the next start)", "format", j.format, "error", err)
		}
		c.mu.Lock()
		c.busy--
	}
	c.running--
	c.idle.Broadcast()
}

// wait blocks until the queue is empty, no job runs and none is
// reserved.
func (c *compressor) wait() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.running > 0 || c.reserved > 0 {
		c.idle.Wait()
	}
}

// queued is the number of jobs waiting or running.
func (c *compressor) queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue) + c.busy
}

// close stops taking jobs, cancels the encodes running and waits.
// Idempotent.
func (c *compressor) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

// WaitStored blocks until every storage format queued so far is made (or
// has failed).
func (r *Recorder) WaitStored() { r.comp.wait() }

// storedPath is the file of format beside the media file wav.
func storedPath(wav, format string) string {
	return strings.TrimSuffix(mediastore.Final(wav), mediastore.Ext) + mediaconv.StoreExt(format)
}

// mediaFormat is the storage format and bitrate of a session from source
// (wav when none is configured or the recording is encrypted).
func (r *Recorder) mediaFormat(source string) (string, int) {
	if r.cfg.MediaFormat == nil || r.cfg.Encoder == nil || r.encrypts() {
		return mediaconv.StoreWAV, 0
	}
	f, kbps := r.cfg.MediaFormat(source)
	if f, err := mediaconv.ParseStoreFormat(f); err == nil {
		return f, kbps
	}
	return mediaconv.StoreWAV, 0
}

// planStored decides the storage format of a new recording and, for MP3
// or Opus, creates its marker (its day directory too) before the WAV.
func (r *Recorder) planStored(c *call, wav, source string) error {
	c.storeFmt, c.storeKbps = r.mediaFormat(source)
	if c.storeFmt == mediaconv.StoreWAV {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(wav), 0o700); err != nil {
		return err
	}
	return markStored(wav, c.storeFmt)
}

// markStored creates the marker of a recording that is to be compressed.
func markStored(wav, format string) error {
	f, err := os.OpenFile(mediastore.Part(storedPath(wav, format)), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// stored reports whether the call's recording is to be compressed.
func (c *call) stored() bool { return c.storeFmt != "" && c.storeFmt != mediaconv.StoreWAV }

// queueStored hands a finished recording to the compressor (finalise
// reserved its place before writing the final row), or drops its marker
// when there is nothing to compress (failed: no audio).
func (r *Recorder) queueStored(c *call, rec *store.Recording) {
	if !c.stored() {
		return
	}
	if rec.Status == store.StatusFailed {
		_ = os.Remove(mediastore.Part(storedPath(rec.MediaPath, c.storeFmt)))
		r.comp.release()
		return
	}
	r.comp.add(compressJob{id: rec.ID, wav: rec.MediaPath, format: c.storeFmt, kbps: c.storeKbps, log: c.log}, true)
}

// compress makes the storage format of one finished WAV and swaps it in.
func (r *Recorder) compress(ctx context.Context, j compressJob) error {
	src, err := mediaconv.Open(j.wav)
	if err != nil {
		return fmt.Errorf("open %s: %w", j.wav, err)
	}
	kbps, err := mediaconv.StoreBitrate(j.format, src.Channels(), j.kbps)
	if err != nil {
		// A bitrate for another channel count (8 kbit/s MP3 of a stereo
		// call): the format's default for this one.
		kbps, err = mediaconv.StoreBitrate(j.format, src.Channels(), 0)
	}
	if err != nil {
		src.Close()
		_ = os.Remove(mediastore.Part(storedPath(j.wav, j.format)))
		j.log.Warn("storage format not possible for this recording: kept as WAV", "format", j.format, "error", err)
		return nil
	}
	final := storedPath(j.wav, j.format)
	part := mediastore.Part(final)
	err = r.cfg.Encoder.Encode(ctx, src, j.format, kbps, part)
	src.Close()
	if err != nil {
		return err
	}
	if err := os.Rename(part, final); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(final)); err != nil {
		return err
	}
	return r.swapStored(ctx, j.id, j.wav, final, j.format, j.log)
}

// swapStored points recording id's row at its finished compressed file
// and removes the WAV.
func (r *Recorder) swapStored(ctx context.Context, id, wav, final, format string, log *slog.Logger) error {
	rec, err := r.st.GetRecording(ctx, id)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	switch rec.MediaPath {
	case final: // swapped before a crash: only the WAV is left over
	case wav:
		if rec.Status == store.StatusRecording {
			return errors.New("the recording's final row is not written yet")
		}
		size, sum, err := fileDigest(final)
		if err != nil {
			return err
		}
		wavSize := rec.SizeBytes
		rec.MediaPath, rec.Format, rec.SizeBytes, rec.SHA256 = final, format, size, sum
		if err := r.st.UpdateRecording(ctx, rec); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		r.stats.storedOK.Add(1)
		log.Info("recording stored compressed", "format", format, "bytes", size, "wav_bytes", wavSize, "path", final)
	default:
		return fmt.Errorf("the row names %s, neither %s nor %s", rec.MediaPath, wav, final)
	}
	if err := os.Remove(wav); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(filepath.Dir(final))
}

// RecoverStored finishes the storage formats a stopped or killed process
// left undone (run after Recover): a marker or a compressed file beside a
// WAV the row still names is encoded (again) or swapped in; leftovers of a
// swap already done are removed. It returns how many recordings it queued
// or swapped.
func (r *Recorder) RecoverStored(ctx context.Context) (int, error) {
	if r.cfg.Encoder == nil {
		return 0, nil
	}
	var found []string
	err := filepath.WalkDir(r.MediaDir(), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		for _, f := range []string{mediaconv.StoreMP3, mediaconv.StoreOpus} {
			ext := mediaconv.StoreExt(f)
			if strings.HasSuffix(path, ext) || strings.HasSuffix(path, ext+mediastore.PartSuffix) {
				found = append(found, path)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("recorder: recover storage formats: %w", err)
	}
	n := 0
	for _, path := range found {
		final := mediastore.Final(path)
		format := strings.TrimPrefix(filepath.Ext(final), ".")
		wav := strings.TrimSuffix(final, filepath.Ext(final)) + mediastore.Ext
		id := strings.TrimSuffix(filepath.Base(final), filepath.Ext(final))
		log := r.log.With("recording_id", id)
		rec, err := r.st.GetRecording(ctx, id)
		if err != nil {
			if st, serr := os.Stat(path); errors.Is(err, store.ErrNotFound) && serr == nil && st.Size() == 0 && path != final {
				// A marker made just before a crash, before the row: nothing
				// was recorded.
				_ = os.Remove(path)
				continue
			}
			log.Warn("storage format left over without its recording: kept for inspection", "path", path, "error", err)
			continue
		}
		switch {
		case rec.MediaPath == final:
			// Done; a marker or WAV left beside it is a leftover.
			if path != final {
				_ = os.Remove(path)
			}
			_ = os.Remove(wav)
		case rec.MediaPath != wav:
			log.Warn("storage format left over beside another media file: kept for inspection", "path", path, "media", rec.MediaPath)
		case path == final:
			// Encoded and renamed, the row not updated yet.
			if err := r.swapStored(ctx, id, wav, final, format, log); err != nil {
				log.Error("storage format not swapped in: the WAV is kept", "error", err)
				continue
			}
			n++
		case rec.Status == store.StatusFailed:
			_ = os.Remove(path)
		default:
			if _, err := os.Stat(final); err == nil {
				continue // the finished file is handled on its own
			}
			r.comp.add(compressJob{id: id, wav: wav, format: format, kbps: r.storedKbps(format), log: log}, false)
			n++
		}
	}
	return n, nil
}

// storedKbps is the configured bitrate of format for recordings redone at
// start (their session's source is not known any more: the deployment's).
func (r *Recorder) storedKbps(format string) int {
	if r.cfg.MediaFormat == nil {
		return 0
	}
	if f, kbps := r.cfg.MediaFormat(""); f == format {
		return kbps
	}
	return 0
}

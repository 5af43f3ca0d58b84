package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/expire"
	"github.com/openrec/openrec/internal/store/s3media"
	"github.com/openrec/openrec/internal/web/api"
)

// mediaPlace is where finished recordings are kept (the media setting):
// the recorder's media directory, and with media in S3 the bucket (the
// media directory is then the local spool, <data-dir>/media).
type mediaPlace struct {
	dir    string          // "" = the recorder's default, <data-dir>/media
	bucket *s3media.Bucket // nil: local files
}

// openMediaPlace reads the media, s3_endpoint settings and, for S3, the
// AWS_* credentials of the environment. It does not contact the server:
// an unreachable bucket must not keep the recorder from recording.
func openMediaPlace(cfg config.Serve) (mediaPlace, error) {
	kind, dir, bucket, prefix, err := cfg.MediaLocation()
	if err != nil {
		return mediaPlace{}, err
	}
	if kind == config.MediaFile {
		if dir == "" {
			return mediaPlace{}, nil
		}
		abs, err := filepath.Abs(dir)
		if err == nil {
			err = os.MkdirAll(abs, 0o700) // watched for free space from the start
		}
		if err != nil {
			return mediaPlace{}, fmt.Errorf("media: %w", err)
		}
		return mediaPlace{dir: abs}, nil
	}
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	b, err := s3media.New(s3media.Config{Bucket: bucket, Prefix: prefix, Endpoint: cfg.S3Endpoint, Region: region,
		AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"), SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY"), SessionToken: os.Getenv("AWS_SESSION_TOKEN")})
	if err != nil {
		return mediaPlace{}, fmt.Errorf("media %s: %w", cfg.Media, err)
	}
	return mediaPlace{bucket: b}, nil
}

// OpenBucket is the bucket of a media setting for the command line
// (`recordings export`, `erase` with --media s3://... --s3-endpoint URL):
// nil for file media.
func OpenBucket(media, endpoint string) (*s3media.Bucket, error) {
	cfg := config.Defaults()
	cfg.Media, cfg.S3Endpoint = media, endpoint
	if errs := cfg.ValidateMedia(); len(errs) > 0 {
		return nil, errs[0]
	}
	m, err := openMediaPlace(cfg)
	return m.bucket, err
}

// expireMedia is where deletions find a recording's files.
func (a *App) expireMedia() expire.Media {
	m := expire.Media{DataDir: a.dataDir}
	if a.uploader != nil {
		m.Objects = a.uploader // deletes, or queues the deletion while the bucket is down
	}
	return m
}

// apiObjects opens the API's recordings held in the bucket.
type apiObjects struct{ b *s3media.Bucket }

func (o apiObjects) OpenObject(ctx context.Context, object string) (api.MediaObject, error) {
	return o.b.Open(ctx, object)
}

// newUploader makes the uploader of finished recordings (media in S3),
// not started: deletions are handed to it from the start.
func (a *App) newUploader() {
	if a.media.bucket == nil {
		return
	}
	a.uploader = s3media.NewUploader(s3media.UploaderConfig{Objects: a.media.bucket, Store: a.db,
		Spool: filepath.Join(a.dataDir, "media"), Workers: a.cfg.S3UploadWorkers, Hold: a.holdForTranscode, Log: a.log})
}

// startUploads starts the uploader: the sealing store tells it of each
// finished row; the spool is rescanned for what an earlier run left.
func (a *App) startUploads() error {
	if a.uploader == nil {
		return nil
	}
	if a.rec.MediaDir() != filepath.Join(a.dataDir, "media") {
		return fmt.Errorf("media %s: the spool must be %s, the recorder writes to %s", a.cfg.Media, filepath.Join(a.dataDir, "media"), a.rec.MediaDir())
	}
	transcodeWake := a.sealed.finished // the transcode queue's, if any
	a.sealed.finished = func(r *store.Recording) {
		if transcodeWake != nil {
			transcodeWake(r)
		}
		if r.MediaPath != "" {
			a.uploader.Enqueue(r.ID)
		}
	}
	return a.uploader.Start()
}

// holdForTranscode keeps a recording stored raw (needs_transcode) in the
// spool while the transcode queue may still decode it: the transcoder
// reads the raw payload sidecars from local disk. It is released (the
// queue's Settled enqueues it) when its job is done or has failed for good;
// one waiting for a decoder this build lacks stays local.
func (a *App) holdForTranscode(ctx context.Context, r *store.Recording) bool {
	if !r.NeedsTranscode || a.transcode == nil {
		return false
	}
	j, err := a.db.TranscodeJob(ctx, r.ID)
	if err != nil {
		return true // no job yet (queued at start or by the finalise hook), or the store is down: keep it local
	}
	return j.State != store.TranscodeFailed && j.State != store.TranscodeDone
}

// uploadHealth is the upload backlog in /healthz (nil without S3).
func (a *App) uploadHealth() map[string]any {
	if a.uploader == nil {
		return nil
	}
	s := a.uploader.Stats()
	h := map[string]any{"bucket": a.media.bucket.Location(), "pending_recordings": s.Pending, "pending_bytes": s.PendingBytes,
		"pending_deletes": s.PendingDeletes, "uploaded": s.Uploaded, "failures": s.Failures}
	if s.LastError != "" {
		h["last_error"] = s.LastError
	}
	return h
}

func registerUploadMetrics(reg *prometheus.Registry, u *s3media.Uploader) {
	gauge := func(name, help string, f func(s3media.Stats) float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "openrec", Name: name, Help: help}, func() float64 { return f(u.Stats()) }))
	}
	counter := func(name, help string, f func(s3media.Stats) float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "openrec", Name: name, Help: help}, func() float64 { return f(u.Stats()) }))
	}
	gauge("media_upload_backlog", "Finished recordings in the local spool waiting for their upload to S3 (or its retry).", func(s s3media.Stats) float64 { return float64(s.Pending) })
	gauge("media_upload_backlog_bytes", "Local bytes of the recordings whose upload failed and waits for a retry.", func(s s3media.Stats) float64 { return float64(s.PendingBytes) })
	gauge("media_object_deletes_pending", "Deletions of a deleted recording's objects queued because the bucket could not do them (retried).", func(s s3media.Stats) float64 { return float64(s.PendingDeletes) })
	counter("media_uploads_total", "Recordings uploaded to S3, verified, and removed from the spool.", func(s s3media.Stats) float64 { return float64(s.Uploaded) })
	counter("media_upload_bytes_total", "Bytes of the recordings uploaded to S3.", func(s s3media.Stats) float64 { return float64(s.UploadedBytes) })
	counter("media_upload_failures_total", "Failed upload attempts (retried with backoff; the spool keeps the recording).", func(s s3media.Stats) float64 { return float64(s.Failures) })
	counter("media_upload_unverified_total", "Uploaded objects whose size or sha256 did not match the local file (not trusted, retried).", func(s s3media.Stats) float64 { return float64(s.Unverified) })
}

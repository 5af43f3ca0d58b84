package app

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"time"

	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediastore"
	"github.com/openrec/openrec/internal/store/seal"
)

// sealingStore is the recorder's store with tamper evidence: when the
// recorder writes a finished recording's final row (status no longer
// recording, media hash known), the signed manifest is written beside the
// media (internal/store/seal). A manifest that cannot be written is logged
// and counted; the recording itself is not affected.
type sealingStore struct {
	recorder.Store
	key    ed25519.PrivateKey
	log    *slog.Logger
	now    func() time.Time
	failed func() // counts a manifest not written
	// share, if set, gives a finished recording's files to the data_group
	// (perm.go) once its manifest is written.
	share func(*store.Recording) error
	// finished, if set, hears of every finished recording's row written
	// (the final one, and later rewrites that re-seal its manifest): the
	// uploader of media in S3 (media.go) and the transcode queue, which
	// wakes for one that needs it.
	finished func(*store.Recording)
}

// The manifest is written before the row: a reader that sees the row
// finished (openrec verify) finds its manifest too.
func (s *sealingStore) UpdateRecording(ctx context.Context, r *store.Recording) error {
	if r.Status != store.StatusRecording && r.SHA256 != "" && r.MediaPath != "" {
		m := seal.New(r, s.now())
		m.Sign(s.key)
		if err := seal.Write(mediastore.Manifest(r.MediaPath), m); err != nil {
			s.log.Error("recording manifest not written: the recording is kept, but not sealed", "recording_id", r.ID, "error", err)
			if s.failed != nil {
				s.failed()
			}
		}
		if s.share != nil {
			if err := s.share(r); err != nil {
				s.log.Warn("recording not shared with the data_group: it stays readable by this account only", "recording_id", r.ID, "error", err)
			}
		}
	}
	if err := s.Store.UpdateRecording(ctx, r); err != nil {
		return err
	}
	if s.finished != nil && r.Status != store.StatusRecording {
		s.finished(r)
	}
	return nil
}

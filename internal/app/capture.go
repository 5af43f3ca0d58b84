package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/openrec/openrec/internal/capture"
	"github.com/openrec/openrec/internal/capture/follow"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/media/rtpin"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/store/seal"
	"github.com/openrec/openrec/internal/store/sqlite"
)

// CaptureOptions says where a passive capture reads and how.
type CaptureOptions struct {
	// Replay: the source is a file; time is the packets' timestamps.
	Replay bool
	Filter func(d *capture.Datagram) bool
	// Loss reports a live ring's counters.
	Loss        func() (packets, drops uint64)
	DedupWindow time.Duration
	// Stats, if set, is called with the final counters.
	Stats func(capture.Stats)
}

// RunCapture records the calls observed on src (openrec capture) into the
// serve configuration's data directory and store, with its storage
// format, flush and media timeout settings, until src ends or ctx is done.
func RunCapture(ctx context.Context, cfg config.Serve, log *slog.Logger, src capture.Source, opt CaptureOptions) (capture.Stats, error) {
	if log == nil {
		log = slog.Default()
	}
	format, err := wav.ParseFormat(cfg.StorageFormat)
	if err != nil {
		return capture.Stats{}, fmt.Errorf("storage_format: %w", err)
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return capture.Stats{}, err
	}
	if err := privateDir(dataDir); err != nil {
		return capture.Stats{}, fmt.Errorf("data_dir: %w", err)
	}
	db, err := sqlite.Open(ctx, DBPath(dataDir))
	if err != nil {
		return capture.Stats{}, fmt.Errorf("open store: %w", err)
	}
	defer db.Close()
	sealKey, err := seal.LoadOrCreateKey(filepath.Join(dataDir, KeysDir))
	if err != nil {
		return capture.Stats{}, err
	}
	clock := &capture.Clock{}
	if !opt.Replay {
		clock.Advance(time.Now())
	}
	now := clock.Now
	st := &sealingStore{Store: db, key: sealKey, log: log, now: time.Now, failed: func() {}}
	// The recorder opens no RTP socket for a passive call; its allocator
	// is required but unused.
	ports, err := rtpin.NewPortAllocator(40000, 40001, 0, time.Now)
	if err != nil {
		return capture.Stats{}, err
	}
	rec, err := recorder.New(recorder.Config{
		DataDir:       dataDir,
		Format:        format,
		MaxCalls:      cfg.MaxCalls,
		MediaTimeout:  cfg.MediaTimeout,
		ReorderWindow: cfg.ReorderWindow,
		FlushInterval: cfg.FlushInterval,
		FsyncInterval: cfg.FsyncInterval,
		Ports:         ports,
		DTMF:          dtmfBySource(cfg),
		Now:           now,
		Logger:        log,
	}, st)
	if err != nil {
		return capture.Stats{}, err
	}
	if n, err := rec.Recover(ctx); err != nil {
		return capture.Stats{}, err
	} else if n > 0 {
		log.Warn("recovered recordings left by an unclean shutdown", "count", n)
	}
	stats, err := capture.Run(ctx, src, capture.Config{
		Recorder:      rec,
		Clock:         clock,
		Live:          !opt.Replay,
		Follow:        follow.Config{MediaTimeout: cfg.MediaTimeout, Linger: cfg.ReorderWindow},
		DedupWindow:   opt.DedupWindow,
		FlushInterval: cfg.FlushInterval,
		Filter:        opt.Filter,
		Loss:          opt.Loss,
		Logger:        log,
	})
	_ = rec.Close()
	return stats, err
}

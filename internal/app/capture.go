package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/openrec/openrec/internal/capture"
	"github.com/openrec/openrec/internal/capture/follow"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/cti/callcore"
	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/media/rtpin"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/store/backend"
	"github.com/openrec/openrec/internal/store/expire"
	"github.com/openrec/openrec/internal/store/seal"
)

// CaptureOptions says where a passive capture reads and how.
type CaptureOptions struct {
	// Replay: the source is a file; time is the packets' timestamps.
	Replay bool
	Filter func(d *capture.Datagram) bool
	// Loss reports a live ring's counters.
	Loss        func() (packets, drops uint64)
	DedupWindow time.Duration
	// Fanout: the sockets of a fanout group (live), decoded in parallel;
	// src is then the first of them.
	Fanout []capture.Source
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
	media, err := openMediaPlace(cfg)
	if err != nil {
		return capture.Stats{}, err
	}
	if media.bucket != nil {
		// One pass over a file or an interface has no uploader running
		// after it: serve --capture-interface uploads, or serve on the
		// same data dir uploads what this left in the spool.
		media.bucket.Close()
		return capture.Stats{}, fmt.Errorf("media %s: openrec capture keeps recordings as local files; use serve --capture-interface with --media s3://..., or run serve --media s3://... on this data dir afterwards (it uploads the spool)", cfg.Media)
	}
	perms, err := newDataPerms(cfg.DataGroup)
	if err != nil {
		return capture.Stats{}, err
	}
	if err := perms.dataDir(dataDir); err != nil {
		return capture.Stats{}, fmt.Errorf("data_dir: %w", err)
	}
	db, err := backend.Open(ctx, StoreURL(cfg, dataDir))
	if err != nil {
		return capture.Stats{}, fmt.Errorf("open store: %w", err)
	}
	defer db.Close()
	sealKey, err := seal.LoadOrCreateKey(filepath.Join(dataDir, KeysDir))
	if err != nil {
		return capture.Stats{}, err
	}
	// Encryption at rest applies as in serve: never a plaintext recording
	// when it is on.
	keys, err := loadEncryption(cfg.Encryption, log)
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
	// Enhanced Passive Recording: with a live capture the CTI link runs
	// beside it, and each observed call is matched to the CTI call of its
	// DN. The CTI side comes first: the recorder is built with its
	// correlator (as in serve).
	var (
		side *ctiSide
		cor  recorder.Correlator
	)
	if len(cfg.Servers()) > 0 && opt.Replay {
		log.Warn("cti settings ignored: a capture file is replayed, CTI events are live")
	} else if !opt.Replay {
		if side, cor, err = startCTI(ctx, cfg, db, expire.Media{DataDir: dataDir}, nil, log); err != nil {
			return capture.Stats{}, err
		}
	}
	rec, err := recorder.New(recorder.Config{
		DataDir:       dataDir,
		MediaDir:      media.dir,
		Format:        format,
		MaxCalls:      cfg.MaxCalls,
		MediaTimeout:  cfg.MediaTimeout,
		ReorderWindow: cfg.ReorderWindow,
		FlushInterval: cfg.FlushInterval,
		FsyncInterval: cfg.FsyncInterval,
		Ports:         ports,
		DTMF:          dtmfBySource(cfg),
		Correlator:    cor,
		Encryption:    keys,
		Now:           now,
		Logger:        log,
	}, st)
	if err != nil {
		if side != nil {
			side.close()
		}
		return capture.Stats{}, err
	}
	if n, err := rec.Recover(ctx); err != nil {
		if side != nil {
			side.close()
		}
		return capture.Stats{}, err
	} else if n > 0 {
		log.Warn("recovered recordings left by an unclean shutdown", "count", n)
	}
	var identify func(follow.CallInfo) (capture.Identity, error)
	if side != nil {
		ctiCtx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = side.run(ctiCtx, rec, log) // each part's error is logged
		}()
		defer func() {
			stop()
			side.close()
			<-done
		}()
		identify = eprIdentify(side.core, log)
	}
	eng := capture.New(capture.Config{
		Recorder:      rec,
		Clock:         clock,
		Live:          !opt.Replay,
		Follow:        follow.Config{MediaTimeout: cfg.MediaTimeout, Linger: cfg.ReorderWindow},
		DedupWindow:   opt.DedupWindow,
		FlushInterval: cfg.FlushInterval,
		Filter:        opt.Filter,
		Loss:          opt.Loss,
		Identify:      identify,
		Logger:        log,
	}, src.LinkType())
	var stats capture.Stats
	if len(opt.Fanout) > 1 {
		stats, err = eng.RunFanout(ctx, opt.Fanout)
	} else {
		stats, err = eng.Run(ctx, src)
	}
	_ = rec.Close()
	return stats, err
}

// ErrDoNotRecord refuses an observed call the CTI side's rules say must
// not be recorded: its captured audio is dropped.
var ErrDoNotRecord = errors.New("do-not-record decision for the call's DN")

// liveCalls is what EPR matching needs of the CTI side.
type liveCalls interface {
	LiveCalls() []callcore.LiveCTICall
}

var eprSeq atomic.Uint64

// eprIdentify matches an observed call to the CTI call it belongs to: by
// the CallUUID the switch copied into SIP when there is one, else by DN
// (a monitored party of a live CTI call is the caller or the callee),
// ANI/DNIS and the closest start.
func eprIdentify(cc liveCalls, log *slog.Logger) func(follow.CallInfo) (capture.Identity, error) {
	return func(c follow.CallInfo) (capture.Identity, error) {
		var best *callcore.LiveCTICall
		var bestParty callcore.LiveParty
		bestScore := -1
		calls := cc.LiveCalls()
		for i := range calls {
			call := &calls[i]
			for _, p := range call.Parties {
				if !p.Monitored || (p.DN != c.CalleeDN && p.DN != c.CallerDN) {
					continue
				}
				score := 1
				switch {
				case c.CallUUID != "" && c.CallUUID == call.CallUUID:
					score = 100
				case c.CallUUID != "":
					continue // the switch named another call
				}
				if call.ANI != "" && call.ANI == c.CallerDN {
					score += 2
				}
				if call.DNIS != "" && call.DNIS == c.CalleeDN {
					score += 2
				}
				if p.State == "established" {
					score++
				}
				if score > bestScore || (score == bestScore && absDur(call.Started.Sub(c.Start)) < absDur(best.Started.Sub(c.Start))) {
					best, bestParty, bestScore = call, p, score
				}
			}
		}
		if best == nil {
			log.Info("passive call matches no CTI call", "sip_call_id", c.SIPCallID, "caller", c.CallerDN, "callee", c.CalleeDN)
			return capture.Identity{}, nil
		}
		if bestParty.Decision == "do-not-record" {
			log.Info("passive call not recorded: do-not-record", "sip_call_id", c.SIPCallID, "call_uuid", best.CallUUID, "dn", bestParty.DN)
			return capture.Identity{}, fmt.Errorf("%w (%s, call %s)", ErrDoNotRecord, bestParty.DN, best.CallUUID)
		}
		id := capture.Identity{CallUUID: best.CallUUID, RecordedDN: bestParty.DN, RecordID: bestParty.RecordID}
		if id.RecordID == "" {
			// no recording of the DN asked from SIP Server: ours, paused and
			// resumed here
			id.RecordID = fmt.Sprintf("%s%d-%d", conversation.LocalRecordPrefix, time.Now().UnixNano(), eprSeq.Add(1))
		}
		log.Debug("passive call matched to a CTI call", "sip_call_id", c.SIPCallID, "call_uuid", id.CallUUID, "recorded_dn", id.RecordedDN)
		return id, nil
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

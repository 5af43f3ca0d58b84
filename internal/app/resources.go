package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/mixer"
	"github.com/openrec/openrec/internal/media/rtpin"
	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/recorder/resources"
	"github.com/openrec/openrec/internal/sip/sipsrv"
)

// Options are what tests inject into a recorder process; the zero value is
// the real system.
type Options struct {
	// Disk is the free-space source of data_dir (nil: statfs).
	Disk resources.Disk
	// FDs is the file-descriptor source (nil: /proc/self/fd, RLIMIT_NOFILE).
	FDs resources.FDs
	// ResourceInterval is how often disk, descriptors and store are
	// sampled (default 1 s).
	ResourceInterval time.Duration
	// Capture, if set, also records the calls observed on an interface
	// (serve --capture-interface, capturerole.go).
	Capture *LiveCapture
	// LiveDecoders, if set, makes the decoders used while recording in
	// place of every decoder of this build: a codec it refuses is kept
	// raw (needs_transcode) and transcoded later by the background queue,
	// which has them all (tests: a build without a decoder, then one
	// with it).
	LiveDecoders func(c media.Codec, rate int) (mixer.Decoder, error)
}

// Start opens everything and starts serving.
func Start(ctx context.Context, cfg config.Serve, log *slog.Logger) (*App, error) {
	return StartWith(ctx, cfg, log, Options{})
}

// newGuard builds the resource gate of admission and health and installs
// it in the recorder.
func (a *App) newGuard(ctx context.Context, ports *rtpin.PortAllocator, opt Options) error {
	low, err := resources.ParseWatermark(a.cfg.StorageLowWatermark)
	if err != nil {
		return fmt.Errorf("storage_low_watermark: %w", err)
	}
	crit, err := resources.ParseWatermark(a.cfg.StorageCriticalWatermark)
	if err != nil {
		return fmt.Errorf("storage_critical_watermark: %w", err)
	}
	if low.Percent == 0 && crit.Percent == 0 && low.Bytes != 0 && crit.Bytes > low.Bytes {
		return fmt.Errorf("storage_critical_watermark %s is above storage_low_watermark %s", crit, low)
	}
	disk := a.dataDir // the spool and the default media dir
	if a.media.dir != "" {
		disk = a.media.dir // media: file:DIR elsewhere: where the audio is written
	}
	a.guard = resources.New(ctx, resources.Config{
		Ports: ports, Dir: disk, Disk: opt.Disk, Low: low, Critical: crit,
		FDs: opt.FDs, FDReserve: a.cfg.FDReserve, Probe: storeProbe(probeDir(a.dataDir), a.db),
		Interval: opt.ResourceInterval, Logger: a.log,
		OnCritical: func(s resources.Snapshot) {
			a.rec.DiskFull(fmt.Sprintf("free space %d bytes below the critical watermark %s", s.DiskFree, crit))
		},
	})
	a.rec.SetGate(a.guard)
	return nil
}

// storeProbe is the guard's store probe: the data directory's (media
// and, by default, the SQLite file live there), then the metadata store's
// own when it has one (PostgreSQL: reachable and not a read-only standby).
func storeProbe(dir func(context.Context) error, db any) func(context.Context) error {
	p, ok := db.(interface{ Probe(context.Context) error })
	if !ok {
		return dir
	}
	return func(ctx context.Context) error {
		if err := dir(ctx); err != nil {
			return err
		}
		if err := p.Probe(ctx); err != nil {
			return fmt.Errorf("metadata store: %w", err)
		}
		return nil
	}
}

// probeDir is the data directory probe: a small file created, written and removed
// in the data directory (media and openrec.db live there).
func probeDir(dir string) func(context.Context) error {
	return func(context.Context) error {
		p := filepath.Join(dir, ".openrec-probe")
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		_, werr := f.Write(make([]byte, 4096))
		cerr := f.Close()
		return errors.Join(werr, cerr, os.Remove(p))
	}
}

// health is the /healthz body: status "ok" or the refusal, its reason, and
// the resources behind it.
func (a *App) health() (int, map[string]any) {
	st := a.rec.Stats()
	code, status, reason := 200, "ok", ""
	if err := a.rec.Available(); err != nil {
		code, status, reason = 503, "unavailable", err.Error()
		if se, ok := errors.AsType[*sipsrv.StatusError](err); ok {
			reason = se.Reason
		}
	}
	body := map[string]any{
		"status": status, "active_calls": st.ActiveCalls, "active_legs": st.ActiveLegs,
		"draining": st.Draining, "packets_received": st.PacketsReceived,
	}
	if reason != "" {
		body["reason"] = reason
	}
	if a.guard != nil {
		s := a.guard.Snapshot()
		body["resources"] = map[string]any{
			"rtp_port_pairs_free": s.FreePairs, "rtp_port_pairs_quarantined": s.QuarantinedPairs,
			"disk_free_bytes": s.DiskFree, "disk_total_bytes": s.DiskTotal, "disk": s.Disk.String(),
			"open_fds": s.OpenFDs, "fd_limit": s.FDLimit, "store_writable": s.StoreErr == nil,
		}
	}
	if u := a.uploadHealth(); u != nil {
		body["media_upload"] = u
	}
	return code, body
}

func registerResourceMetrics(reg *prometheus.Registry, g *resources.Guard, rec *recorder.Recorder) {
	gauge := func(name, help string, f func(resources.Snapshot) float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "openrec", Name: name, Help: help},
			func() float64 { return f(g.Snapshot()) }))
	}
	gauge("rtp_port_pairs_free", "RTP port pairs free for new legs (neither in use nor quarantined).", func(s resources.Snapshot) float64 { return float64(s.FreePairs) })
	gauge("rtp_port_pairs_quarantined", "RTP port pairs resting after release (not yet reusable).", func(s resources.Snapshot) float64 { return float64(s.QuarantinedPairs) })
	gauge("disk_free_bytes", "Free bytes of the data directory's file system.", func(s resources.Snapshot) float64 { return float64(s.DiskFree) })
	gauge("disk_total_bytes", "Size of the data directory's file system.", func(s resources.Snapshot) float64 { return float64(s.DiskTotal) })
	gauge("disk_level", "Free space against the watermarks: 0 ok, 1 below low (new calls 503), 2 below critical (calls end).", func(s resources.Snapshot) float64 { return float64(s.Disk) })
	gauge("open_fds", "Open file descriptors of the process.", func(s resources.Snapshot) float64 { return float64(s.OpenFDs) })
	gauge("fd_limit", "RLIMIT_NOFILE (soft) of the process.", func(s resources.Snapshot) float64 { return float64(s.FDLimit) })
	gauge("store_writable", "1 when the data directory takes writes.", func(s resources.Snapshot) float64 {
		if s.StoreErr != nil {
			return 0
		}
		return 1
	})
	counter := func(name, help string, f func(recorder.FaultStats) float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "openrec", Name: name, Help: help},
			func() float64 { return f(rec.FaultStats()) }))
	}
	counter("recordings_disk_full_total", "Recordings ended early because the disk filled up (partial, disk-full).", func(s recorder.FaultStats) float64 { return float64(s.DiskFullEnded) })
	counter("store_write_retries_total", "Final recording rows whose store write failed and was retried.", func(s recorder.FaultStats) float64 { return float64(s.StoreRetries) })
	counter("store_writes_lost_total", "Final recording rows still unwritten at shutdown (closed by recovery at the next start).", func(s recorder.FaultStats) float64 { return float64(s.StoreLost) })
}

package app

import (
	"context"
	"crypto/ed25519"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/media/mixer"
	"github.com/openrec/openrec/internal/recorder/transcode"
	"github.com/openrec/openrec/internal/store"
)

// newTranscodeQueue is serve's background transcoding of recordings kept
// raw (transcode_workers; internal/recorder/transcode), over the store's
// job table. Start starts it; nil with transcode_workers 0.
func newTranscodeQueue(cfg config.Serve, db transcode.Store, dataDir string, key ed25519.PrivateKey, settled func(string), log *slog.Logger) *transcode.Queue {
	if cfg.TranscodeWorkers <= 0 {
		return nil
	}
	tc := transcode.New(transcode.Config{DataDir: dataDir, SealKey: key, DTMF: dtmfByRecording(cfg), Logger: log})
	return transcode.NewQueue(db, tc, transcode.QueueConfig{Workers: cfg.TranscodeWorkers, Settled: settled, Logger: log})
}

// dtmfByRecording is the key tone treatment a recording's decoded audio
// gets: its tenant's dtmf (GEN_CFG_Tenant), else the default, as the live
// path would have applied it.
func dtmfByRecording(cfg config.Serve) func(*store.Recording) mixer.DTMFMode {
	return func(r *store.Recording) mixer.DTMFMode {
		mode, err := mixer.ParseDTMFMode(cfg.TenantDTMF(r.ExternalData[store.TenantKey]))
		if err != nil {
			return mixer.DTMFMask
		}
		return mode
	}
}

// registerTranscodeMetrics: the job table's states (gauges) and this
// process's outcomes (counters).
func registerTranscodeMetrics(reg *prometheus.Registry, q *transcode.Queue) {
	for _, st := range store.TranscodeStates {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "openrec", Name: "transcode_jobs",
			Help:        "Transcode jobs of recordings kept raw (needs_transcode), by state: queued, running, waiting (no decoder in this build), done, failed.",
			ConstLabels: prometheus.Labels{"state": string(st)},
		}, func() float64 {
			counts, err := q.Counts(context.Background())
			if err != nil {
				return -1
			}
			return float64(counts[st])
		}))
	}
	counter := func(name, help string, f func(transcode.Stats) float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "openrec", Name: name, Help: help}, func() float64 { return f(q.Stats()) }))
	}
	counter("transcode_done_total", "Recordings transcoded by this process.", func(s transcode.Stats) float64 { return float64(s.Done) })
	counter("transcode_failed_total", "Transcode jobs this process gave up on (failed).", func(s transcode.Stats) float64 { return float64(s.Failed) })
	counter("transcode_retries_total", "Transcode attempts that failed and were queued again (backoff).", func(s transcode.Stats) float64 { return float64(s.Retried) })
	counter("transcode_audio_seconds_total", "Recorded seconds transcoded by this process.", func(s transcode.Stats) float64 { return s.Seconds })
}

// Package apptest starts real recorder processes (internal/app) inside
// tests: loopback only, port 0 for SIP and HTTP, a temp data dir and an RTP
// port range of its own, fast flush and timeouts. Tests of any package that
// need a real recorder to talk to use it instead of copying the set-up.
package apptest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/config"
)

var next atomic.Int32

// RTPRange returns a fresh 200-port range. Test processes start at
// different places (by pid) so that packages running in parallel rarely
// meet; when they do, the recorder skips ports that are in use.
func RTPRange() string {
	next.CompareAndSwap(0, int32(20000+(os.Getpid()%150)*200))
	lo := next.Add(200) - 200
	if lo > 60000 {
		next.Store(20200)
		lo = 20000
	}
	return fmt.Sprintf("%d-%d", lo, lo+199)
}

// Config is a serve configuration for a test recorder.
func Config(tb testing.TB) config.Serve {
	tb.Helper()
	cfg := config.Defaults()
	cfg.SIPListen = "127.0.0.1:0"
	cfg.HTTPListen = "127.0.0.1:0"
	cfg.DataDir = tb.TempDir()
	cfg.RTPIP = "127.0.0.1"
	cfg.RTPPorts = RTPRange()
	cfg.MaxCalls = 20
	cfg.FlushInterval = 100 * time.Millisecond
	cfg.MediaTimeout = 5 * time.Second
	cfg.LegWindow = 3 * time.Second
	// Small watermarks: a test recorder must not refuse calls because the
	// machine running the tests has less than the production default free.
	cfg.StorageLowWatermark, cfg.StorageCriticalWatermark = "100MB", "20MB"
	return cfg
}

// Logger discards logs unless the test runs with -v (then debug to stderr).
func Logger(tb testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Start runs a recorder with Config changed by mut (may be nil), logging to
// log (nil: Logger). It is closed when the test ends.
func Start(tb testing.TB, mut func(*config.Serve), log *slog.Logger) *app.App {
	tb.Helper()
	return StartWith(tb, mut, log, app.Options{})
}

// StartWith is Start with injected resource sources (disk, descriptors).
func StartWith(tb testing.TB, mut func(*config.Serve), log *slog.Logger, opt app.Options) *app.App {
	tb.Helper()
	cfg := Config(tb)
	if mut != nil {
		mut(&cfg)
	}
	if log == nil {
		log = Logger(tb)
	}
	a, err := app.StartWith(context.Background(), cfg, log, opt)
	if err != nil {
		tb.Fatalf("start recorder: %v", err)
	}
	tb.Cleanup(a.Close)
	return a
}

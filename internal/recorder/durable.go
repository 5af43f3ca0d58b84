package recorder

import (
	"time"
)

// durable is the mixer's FrameWriter over a recording's WAV file: every
// flush rewrites the header (a killed recorder leaves a playable file of
// everything flushed), and the file is flushed to stable storage (fsync) at
// most once per every. An fsync per call per second was 11% of the
// recorder's CPU at 1,000 calls (BENCHMARKS.md); a power loss costs at most
// every of audio instead of one flush interval. Close always syncs.
type durable struct {
	w     mediaWriter
	every time.Duration
	now   func() time.Time
	last  time.Time // last fsync
}

func (d *durable) Write(p []byte) (int, error) { return d.w.Write(p) }

// Sync checkpoints the header, and fsyncs when every has passed since the
// last fsync (or the first time).
func (d *durable) Sync() error {
	now := d.now()
	if d.every > 0 && !d.last.IsZero() && now.Sub(d.last) < d.every {
		return d.w.Checkpoint()
	}
	d.last = now
	return d.w.Sync()
}

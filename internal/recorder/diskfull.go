package recorder

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/openrec/openrec/internal/store"
)

// diskFullPrefix starts the partial reason of a recording ended because the
// disk filled up; finalise keeps such a recording partial (never failed)
// with the duration of the audio its file holds.
const diskFullPrefix = "disk-full"

// faultCounters count what resource faults did to recordings.
type faultCounters struct {
	diskFullEnded atomic.Uint64 // recordings ended because the disk filled up
	storeRetries  atomic.Uint64 // final row writes that failed and were retried
	storeLost     atomic.Uint64 // final rows still unwritten when the recorder closed (recovered at start-up)
}

// FaultStats are the fault counters (metrics).
type FaultStats struct {
	DiskFullEnded, StoreRetries, StoreLost uint64
}

// FaultStats returns the fault counters.
func (r *Recorder) FaultStats() FaultStats {
	return FaultStats{
		DiskFullEnded: r.fault.diskFullEnded.Load(),
		StoreRetries:  r.fault.storeRetries.Load(),
		StoreLost:     r.fault.storeLost.Load(),
	}
}

// DiskFull ends every call in progress because free space fell below the
// critical watermark: each leg gets a BYE (Reason: disk-full), each
// recording is finalised as partial with reason disk-full and the duration
// its file holds. detail says why (free bytes, watermark). It returns the
// number of recordings ended.
func (r *Recorder) DiskFull(detail string) int {
	r.mu.Lock()
	calls := make([]*call, 0, len(r.calls))
	for _, c := range r.calls {
		calls = append(calls, c)
	}
	r.mu.Unlock()
	now := r.cfg.Now()
	n := 0
	for _, c := range calls {
		if r.markDiskFull(c, detail, now) {
			n++
		}
	}
	if n == 0 {
		return 0
	}
	r.log.Error("disk full: ending calls in progress", "calls", n, "detail", detail)
	for _, c := range calls {
		r.endCall(c, diskFullPrefix)
	}
	return n
}

// markDiskFull sets c's partial reason to disk-full (once). It reports
// whether c was still running.
func (r *Recorder) markDiskFull(c *call, detail string, now time.Time) bool {
	<-c.opened
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done || strings.HasPrefix(c.partial, diskFullPrefix) {
		return false
	}
	reason := diskFullPrefix + ": " + detail
	if c.partial != "" {
		reason += " (was " + c.partial + ")"
	}
	c.partial = reason
	c.event(diskFullPrefix, -1, now, detail)
	c.log.Error("recording ended: disk full", "detail", detail)
	r.fault.diskFullEnded.Add(1)
	return true
}

// endCall ends every leg of c (BYE) and finalises it.
func (r *Recorder) endCall(c *call, reason string) {
	c.mu.Lock()
	legs := append([]*leg(nil), c.legs...)
	c.mu.Unlock()
	for _, l := range legs {
		r.endLeg(l, reason, true)
	}
	r.finalise(c, reason)
}

// isNoSpace reports whether err is the file system running out of space
// (or quota).
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// flushFailed handles a failed audio flush of c (c.mu held): a full disk
// marks the recording disk-full and asks the caller to end it (true); any
// other error is logged once per recording.
func (r *Recorder) flushFailed(c *call, err error, now time.Time) (end bool) {
	if isNoSpace(err) {
		if strings.HasPrefix(c.partial, diskFullPrefix) {
			return true
		}
		reason := diskFullPrefix + ": audio write failed: no space left on device"
		if c.partial != "" {
			reason += " (was " + c.partial + ")"
		}
		c.partial = reason
		c.event(diskFullPrefix, -1, now, "audio write failed")
		c.log.Error("recording ended: disk full", "error", err)
		r.fault.diskFullEnded.Add(1)
		return true
	}
	if !c.flushErrLogged {
		c.flushErrLogged = true
		c.log.Error("audio flush failed", "error", err)
	}
	return false
}

// saveFinal stores a finished recording's row and the events the store
// refused before (c.pending). A failed write is retried in the background
// (backoff up to 5 s) until it succeeds or the recorder closes, so a row
// never stays "recording" because of one failed write; a row still
// unwritten at Close is closed by Recover at the next start, with the
// duration its file holds. Called with c.mu held.
func (r *Recorder) saveFinal(c *call, rec *store.Recording) {
	events := slices.Clone(c.pending)
	c.pending = c.pending[:0]
	f := &finalWrite{st: r.st, id: rec.ID, row: *rec, events: events}
	err := f.try()
	if err == nil {
		return
	}
	r.fault.storeRetries.Add(1)
	select {
	case <-r.stop: // closing: one more attempt now, no goroutine
		if err := f.try(); err != nil {
			r.fault.storeLost.Add(1)
			c.log.Error("store final update lost: the row is closed at the next start", "error", err)
		}
		return
	default:
	}
	c.log.Error("store final update failed: retrying", "error", err)
	r.retries.Add(1)
	go func() {
		defer r.retries.Done()
		wait := 100 * time.Millisecond
		for {
			t := time.NewTimer(wait)
			select {
			case <-r.stop:
				t.Stop()
				if err := f.try(); err != nil {
					r.fault.storeLost.Add(1)
					c.log.Error("store final update lost: the row is closed at the next start", "error", err)
				}
				return
			case <-t.C:
			}
			if err := f.try(); err == nil {
				c.log.Info("store final update written after retry")
				return
			}
			r.fault.storeRetries.Add(1)
			wait = min(2*wait, 5*time.Second)
		}
	}()
}

// finalWrite is the last store write of a recording: its pending events
// (written once: AddEvents is not idempotent), then its row.
type finalWrite struct {
	st     Store
	id     string
	row    store.Recording
	events []store.Event
}

func (f *finalWrite) try() error {
	if len(f.events) > 0 {
		if err := f.st.AddEvents(context.Background(), f.id, f.events...); err != nil {
			return err
		}
		f.events = nil
	}
	return f.st.UpdateRecording(context.Background(), &f.row)
}

package recorder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/openrec/openrec/internal/media/mixer"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediacrypt"
)

// Run flushes audio, enforces media timeouts and the MSR leg window every
// FlushInterval until ctx ends or Close is called.
func (r *Recorder) Run(ctx context.Context) error {
	// Add under r.mu, after checking stop: Close must never Wait
	// concurrently with this Add.
	r.mu.Lock()
	select {
	case <-r.stop:
		r.mu.Unlock()
		return nil
	default:
	}
	r.wg.Add(1)
	r.mu.Unlock()
	defer r.wg.Done()
	t := time.NewTicker(r.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.stop:
			return nil
		case <-t.C:
			r.Tick(r.cfg.Now())
		}
	}
}

// Tick does one round of the periodic work at time now. Run calls it; tests
// call it directly with an injected clock.
func (r *Recorder) Tick(now time.Time) {
	r.mu.Lock()
	calls := make([]*call, 0, len(r.calls))
	for _, c := range r.calls {
		calls = append(calls, c)
	}
	r.mu.Unlock()
	for _, c := range calls {
		r.tickCall(c, now)
	}
}

func (r *Recorder) tickCall(c *call, now time.Time) {
	if !c.ready() {
		return // its first leg is being set up: nothing to flush yet
	}
	// A call whose lock is held (a leg closing: with shared media sockets
	// Receiver.Close waits up to rtpin.DrainTimeout for the socket's queue)
	// is flushed at the next tick, so that one call never stalls the
	// flush of every other; the mixer's ring holds MaxAhead meanwhile.
	if !c.mu.TryLock() {
		return
	}
	if c.done || c.mix == nil {
		c.mu.Unlock()
		return
	}
	mix := c.mix
	c.mu.Unlock()
	// The disk write runs without c.mu, so the call's SIP handling, Stats
	// and Live never wait for it; the mixer serialises Flush and Close
	// itself, and after Close a Flush writes nothing.
	ferr := mix.Flush(now)
	var timedOut []*leg
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		return
	}
	if ferr != nil && r.flushFailed(c, ferr, now) {
		c.mu.Unlock()
		r.endCall(c, diskFullPrefix)
		return
	}
	r.checkSRTP(c, now)
	if c.expectLegs > 1 && c.partial == "" && now.Sub(c.start) >= r.cfg.LegWindow && len(c.legs) < c.expectLegs {
		c.partial = fmt.Sprintf("one-legged: second MSR leg did not arrive within %s", r.cfg.LegWindow)
		c.log.Warn("recording is one-legged", "window", r.cfg.LegWindow.String())
		c.event("one-legged", -1, now, c.partial)
	}
	for _, l := range c.legs {
		if l.ended || c.paused {
			continue
		}
		for _, s := range l.streams {
			if s.held || s.rx == nil {
				continue
			}
			last := s.rx.LastActivity()
			if last.IsZero() || last.Before(s.opened) {
				last = s.opened
			}
			if now.Sub(last) >= r.cfg.MediaTimeout {
				timedOut = append(timedOut, l)
				break
			}
		}
	}
	c.mu.Unlock()
	r.savePending(c)
	for _, l := range timedOut {
		r.stats.mediaTimeouts.Add(1)
		c.log.Warn("media timeout: ending leg", "sip_call_id", l.callID, "timeout", r.cfg.MediaTimeout.String())
		r.endLeg(l, "media timeout: no RTP for "+r.cfg.MediaTimeout.String(), true)
	}
}

// resume suspends nothing: hold and pause are checked in tickCall.

// savePending writes the call's new events (c.mu not held: the store
// write runs without it). When another row write of the call is in
// progress it leaves them for the next tick; events the store refuses stay
// pending (finalise's final write takes them).
func (r *Recorder) savePending(c *call) {
	if !c.rowMu.TryLock() {
		return
	}
	defer c.rowMu.Unlock()
	c.mu.Lock()
	if c.done || len(c.pending) == 0 || c.rec == nil {
		c.mu.Unlock()
		return
	}
	events, id := c.pending, c.rec.ID
	c.pending = nil
	c.mu.Unlock()
	if err := r.st.AddEvents(context.Background(), id, events...); err != nil {
		c.log.Error("store events failed", "error", err)
		c.mu.Lock()
		c.pending = append(events, c.pending...)
		c.mu.Unlock()
	}
}

// finalise closes the mixer and file and stores the final row. Idempotent.
func (r *Recorder) finalise(c *call, reason string) {
	c.finalOnce.Do(func() {
		<-c.opened
		// rowMu first: a row or event write of the call in progress ends
		// before the final row, and none starts after it (done).
		c.rowMu.Lock()
		defer c.rowMu.Unlock()
		now := r.cfg.Now()
		c.mu.Lock()
		if c.done { // refused while its first leg was set up: nothing to finalise
			c.mu.Unlock()
			return
		}
		c.done = true
		for _, l := range c.legs {
			l.ended = true
			r.closeStreams(c, l)
		}
		rec := c.rec
		var ferr error
		if err := c.mix.Close(now); err != nil {
			ferr = errors.Join(ferr, fmt.Errorf("mixer: %w", err))
		}
		if c.tap != nil {
			c.tap.Close() // listeners' channels close: the call is over
		}
		if err := c.w.Close(); err != nil {
			ferr = errors.Join(ferr, fmt.Errorf("wav: %w", err))
		}
		c.rawMu.Lock()
		for _, f := range c.raw {
			_ = f.Sync()
			_ = f.Close()
		}
		c.rawMu.Unlock()
		rec.EndedAt = now.UTC()
		rec.DurationMS = c.mix.Frames() * 1000 / int64(c.mix.SampleRate())
		if ferr != nil && isNoSpace(ferr) && !strings.HasPrefix(c.partial, diskFullPrefix) {
			r.flushFailed(c, ferr, now) // the last write found the disk full
		}
		diskFull := strings.HasPrefix(c.partial, diskFullPrefix)
		if diskFull {
			// what the file holds: the mixer counts frames it failed to write
			rec.DurationMS = c.w.Frames() * 1000 / int64(c.mix.SampleRate())
		}
		rec.NeedsTranscode = c.mix.NeedsTranscode()
		rec.Segments = segmentsOf(c.mix.Segments())
		for _, e := range c.mix.Events() {
			c.pending = append(c.pending, store.Event{Type: e.Type, AtMS: e.AtMS, Channel: e.Channel, Detail: e.Detail, At: c.start.Add(time.Duration(e.AtMS) * time.Millisecond).UTC()})
		}
		size, sum, herr := fileDigest(rec.MediaPath)
		rec.SizeBytes, rec.SHA256 = size, sum
		if herr != nil {
			ferr = errors.Join(ferr, herr)
		}
		if c.partial == "" && c.expectLegs > 1 && len(c.legs) < c.expectLegs {
			c.partial = "one-legged: second MSR leg never arrived"
		}
		if c.partial == "" {
			c.partial = c.silentChannels()
		}
		rec.Status = store.StatusCompleted
		rec.StatusReason = reason
		switch {
		case diskFull && c.closedPkts > 0:
			rec.Status = store.StatusPartial
			rec.StatusReason = c.partial
			if ferr != nil {
				c.log.Warn("recording closed on a full disk", "error", ferr)
			}
		case ferr != nil:
			rec.Status = store.StatusFailed
			rec.StatusReason = ferr.Error()
		case c.srtpStatus() != "" && c.closedPkts == 0:
			rec.Status = store.StatusFailed
			rec.StatusReason = c.srtpStatus() + " (" + reason + ")"
		case c.closedPkts == 0:
			rec.Status = store.StatusFailed
			rec.StatusReason = "no RTP received (" + reason + ")"
		case c.srtpStatus() != "":
			rec.Status = store.StatusPartial
			rec.StatusReason = c.srtpStatus() + "; ended: " + reason
		case c.partial != "":
			rec.Status = store.StatusPartial
			rec.StatusReason = c.partial + "; ended: " + reason
		}
		c.noteLost(now)
		dropped := c.noteDropped(now)
		if dropped > 0 && rec.Status != store.StatusFailed {
			rec.StatusReason += "; " + droppedReason(dropped)
		}
		if n := c.noteUnoffered(now); n > 0 && (rec.Status != store.StatusFailed || c.closedPkts == 0) {
			// also on a failure for want of RTP: that RTP came, of a type nobody offered
			rec.StatusReason += "; " + unofferedReason(n)
		}
		if note := c.srtpNote(); note != "" && rec.Status != store.StatusFailed {
			rec.StatusReason += "; " + note
		}
		if rec.NeedsTranscode && !strings.Contains(rec.StatusReason, "needs_transcode") {
			note := "; needs_transcode: codec not decoded, raw payload kept"
			if c.mix.DTMF() != mixer.DTMFKeep {
				// Nothing can find a key tone in audio it cannot decode.
				note += " (key tones in it not masked)"
			}
			rec.StatusReason = strings.TrimPrefix(rec.StatusReason+note, "; ")
		}
		if r.cor != nil {
			couples, ext, corr := r.cor.Finished(c.session(), now)
			rec.Couples, rec.Correlation = couples, corr
			if rec.CallUUID == "" && len(couples) > 0 {
				// arrived without Genesys ids, matched by the CTI side
				// (EPR, GIM lookup): the call's id, for search
				rec.CallUUID = couples[0].CallUUID
			}
			if rec.ExternalData == nil {
				rec.ExternalData = map[string]string{}
			}
			for k, v := range ext {
				rec.ExternalData[k] = v
			}
		}
		if c.stored() {
			r.comp.reserve() // WaitStored covers it from the moment the row is final
		}
		r.saveFinal(c, rec) // with the events still pending
		stats := make([]string, 0, rec.Channels)
		droppedBy := c.droppedByChannel()
		for ch := 0; ch < rec.Channels; ch++ {
			st := c.mix.Stats(ch)
			stats = append(stats, fmt.Sprintf("ch%d=%d/%dlost/%ddropped", ch, st.Packets, st.LostPackets, droppedBy[ch]))
		}
		c.mu.Unlock()
		r.forgetCall(c)
		r.countRecording(rec.Status)
		r.queueStored(c, rec)
		c.log.Info("recording finished", "status", string(rec.Status), "reason", rec.StatusReason,
			"record_id", rec.RecordID, "recorded_dn", rec.RecordedDN, "other_dn", rec.OtherDN,
			"duration_ms", rec.DurationMS, "packets", strings.Join(stats, " "), "bytes", rec.SizeBytes, "path", rec.MediaPath)
	})
}

// encryptedDurationMS is the duration of the encrypted recording rec:
// exact when the recorder holds an identity (decrypt_keys), else
// estimated from the file size.
func (r *Recorder) encryptedDurationMS(rec *store.Recording) int64 {
	f, err := wav.ParseFormat(rec.Format)
	if err != nil || rec.Channels < 1 {
		return 0
	}
	perSecond := int64(f.BytesPerSample() * rec.Channels * rec.Rate())
	if keys := r.enc.Load(); keys.CanDecrypt() {
		if m, err := keys.OpenMedia(rec.MediaPath); err == nil {
			defer m.Close()
			return m.DataSize() * 1000 / perSecond
		}
	}
	st, err := os.Stat(rec.MediaPath)
	if err != nil {
		return 0
	}
	data := max(mediacrypt.EstimatePlaintext(st.Size())-44, 0)
	return data * 1000 / perSecond
}

func segmentsOf(in []mixer.Segment) []store.Segment {
	out := make([]store.Segment, 0, len(in))
	for _, s := range in {
		out = append(out, store.Segment{Type: s.Type, Channel: s.Channel, StartMS: s.StartMS, EndMS: s.EndMS})
	}
	return out
}

func fileDigest(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", fmt.Errorf("digest: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return n, "", fmt.Errorf("digest: %w", err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// Drain stops admitting new calls (INVITE and OPTIONS get 503); calls in
// progress continue.
func (r *Recorder) Drain() {
	r.mu.Lock()
	r.draining = true
	r.mu.Unlock()
	r.log.Info("draining: new calls refused, active calls continue")
}

// Active returns the number of calls in progress.
func (r *Recorder) Active() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// Shutdown drains, waits for active calls to end until ctx is done, then
// ends the rest (BYE to the peers) and finalises them.
func (r *Recorder) Shutdown(ctx context.Context) error {
	r.Drain()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for r.Active() > 0 {
		select {
		case <-ctx.Done():
			r.endAll("shutdown: drain timeout", true)
			return r.Close()
		case <-t.C:
		}
	}
	return r.Close()
}

// Close stops the flush loop and finalises every call still open (their
// files stay playable). It is idempotent.
func (r *Recorder) Close() error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		close(r.stop)
		r.draining = true // the SIP server may still deliver INVITEs until it is closed
		r.mu.Unlock()
		r.wg.Wait()
		r.endAll("recorder stopped", false)
		r.hangups.Wait() // BYEs of legs the recorder ended (media timeout, drain timeout)
		r.retries.Wait() // final row writes being retried: one last attempt each
		r.comp.close()   // an encode running is stopped: redone at the next start
	})
	return nil
}

func (r *Recorder) endAll(reason string, hangup bool) {
	r.mu.Lock()
	var legs []*leg
	var calls []*call
	for _, c := range r.calls {
		calls = append(calls, c)
	}
	for _, l := range r.legs {
		legs = append(legs, l)
	}
	r.mu.Unlock()
	for _, c := range calls {
		// The call did not end by itself: what was recorded is kept, but it
		// is not the whole call.
		<-c.opened
		c.mu.Lock()
		if c.partial == "" {
			c.partial = "cut short: " + reason
		}
		c.mu.Unlock()
	}
	for _, l := range legs {
		r.endLeg(l, reason, hangup)
	}
	for _, c := range calls {
		r.finalise(c, reason)
	}
}

// Recover repairs media files a killed process left behind and closes their
// store rows: status partial, reason "recovered after unclean shutdown".
func (r *Recorder) Recover(ctx context.Context) (int, error) {
	encrypted, err := recoverEncrypted(r.MediaDir())
	if err != nil {
		r.log.Warn("some encrypted media files could not be recovered", "error", err)
	}
	encPaths := map[string]bool{}
	for _, p := range encrypted {
		encPaths[p] = true
	}
	recovered, err := wav.RecoverDir(r.MediaDir())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		// Files that cannot be repaired (killed before the first header
		// reached disk) are left in place for inspection; start anyway.
		r.log.Warn("some media files could not be recovered", "error", err)
	}
	byPath := map[string]wav.Recovered{}
	for _, rv := range recovered {
		byPath[rv.Path] = rv
	}
	open, err := r.st.ListRecordings(ctx, store.Filter{Status: store.StatusRecording, Limit: 1 << 20})
	if err != nil {
		return 0, fmt.Errorf("recorder: recover rows: %w", err)
	}
	n := 0
	for i := range open {
		rec := &open[i]
		rv, ok := byPath[rec.MediaPath]
		rec.EndedAt = r.cfg.Now().UTC()
		if encPaths[rec.MediaPath] || mediacrypt.IsEncryptedFile(rec.MediaPath) {
			// killed (or closed without its final row): the prefix up to
			// the last flush decrypts at playback
			rec.Status = store.StatusPartial
			rec.StatusReason = "recovered after unclean shutdown"
			rec.DurationMS = r.encryptedDurationMS(rec)
		} else if ok {
			rec.Status = store.StatusPartial
			rec.StatusReason = "recovered after unclean shutdown"
			rec.DurationMS = rv.Frames * 1000 / int64(rec.Rate())
		} else if info, err := wav.Stat(rec.MediaPath); err == nil {
			// closed, but its final row was never written
			rec.Status = store.StatusPartial
			rec.StatusReason = "recovered after unclean shutdown"
			rec.DurationMS = info.Frames * 1000 / int64(info.SampleRate)
		} else if _, err := os.Stat(rec.MediaPath); err == nil {
			rec.Status = store.StatusPartial
			rec.StatusReason = "recovered after unclean shutdown"
		} else {
			rec.Status = store.StatusFailed
			rec.StatusReason = "recorder stopped before any audio was written"
		}
		if size, sum, err := fileDigest(rec.MediaPath); err == nil {
			rec.SizeBytes, rec.SHA256 = size, sum
		}
		if err := r.st.UpdateRecording(ctx, rec); err != nil {
			return n, fmt.Errorf("recorder: recover %s: %w", rec.ID, err)
		}
		r.log.Warn("recording recovered", "recording_id", rec.ID, "status", string(rec.Status), "duration_ms", rec.DurationMS, "path", rec.MediaPath)
		n++
	}
	return n, nil
}

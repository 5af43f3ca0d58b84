package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/openrec/openrec/internal/media/mixer"
	"github.com/openrec/openrec/internal/recorder/transcode"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/backend"
	"github.com/openrec/openrec/internal/store/seal"
)

// TranscodeReport is what Transcode did.
type TranscodeReport struct {
	Done    int
	Seconds float64  // recorded seconds transcoded
	Failed  []string // recordings not transcoded
}

// Transcode is `openrec recordings transcode`: it runs the transcode jobs
// of the recordings ids (with none, every finished recording that needs
// it, failed ones again) in this process with this build's decoders,
// key tones treated as dtmf says, reporting each on progress and passing
// an audit entry for every recording transcoded to audit. Jobs held by
// serve's queue are waited for.
func Transcode(ctx context.Context, db backend.Store, dataDir string, ids []string, dtmf string, progress io.Writer,
	audit func(context.Context, store.AuditEntry) error) (TranscodeReport, error) {
	var rep TranscodeReport
	mode, err := mixer.ParseDTMFMode(dtmf)
	if err != nil {
		return rep, fmt.Errorf("dtmf: %w", err)
	}
	key, err := seal.LoadOrCreateKey(filepath.Join(dataDir, KeysDir))
	if err != nil {
		return rep, err
	}
	tc := transcode.New(transcode.Config{DataDir: dataDir, SealKey: key,
		DTMF: func(*store.Recording) mixer.DTMFMode { return mode }})
	q := transcode.NewQueue(db, tc, transcode.QueueConfig{})
	defer q.Close()
	now := time.Now()
	total := len(ids)
	if len(ids) == 0 {
		if _, err := db.EnqueueTranscodes(ctx, now, store.TranscodeWaiting, store.TranscodeFailed); err != nil {
			return rep, err
		}
		counts, err := db.CountTranscodeJobs(ctx)
		if err != nil {
			return rep, err
		}
		total = counts[store.TranscodeQueued]
		fmt.Fprintf(progress, "transcode: %d recordings queued\n", total)
	}
	one := func(i int, id string) error {
		label := func(id string) string { return fmt.Sprintf("[%d/%d] %s", i, max(total, i), id) }
		if id != "" {
			if _, err := db.EnqueueTranscode(ctx, id, now); err != nil {
				fmt.Fprintf(progress, "%s: not transcoded: %v\n", label(id), err)
				rep.Failed = append(rep.Failed, id)
				return nil
			}
		}
		started := time.Now()
		o, err := q.RunOne(ctx, id)
		if errors.Is(err, store.ErrBusy) {
			fmt.Fprintf(progress, "%s: being transcoded by another process (openrec serve); waiting\n", label(id))
			if err = waitTranscode(ctx, db, id); err == nil {
				fmt.Fprintf(progress, "%s: transcoded by the other process\n", label(id))
				rep.Done++
				return nil
			}
		}
		var je *transcode.JobError
		switch {
		case err == nil:
		case id == "" && errors.Is(err, store.ErrNotFound):
			return err // no job left
		case errors.As(err, &je):
			fmt.Fprintf(progress, "%s: not transcoded (%s): %v\n", label(je.RecordingID), je.State, je.Err)
			rep.Failed = append(rep.Failed, je.RecordingID)
			return nil
		case ctx.Err() != nil:
			return err
		default:
			fmt.Fprintf(progress, "%s: not transcoded: %v\n", label(id), err)
			rep.Failed = append(rep.Failed, id)
			return nil
		}
		rep.Done++
		rep.Seconds += o.Seconds
		var chans []string
		for ch, names := range o.Decoded {
			chans = append(chans, fmt.Sprintf("ch%d %s", ch, strings.Join(names, "+")))
		}
		sort.Strings(chans)
		tenant := ""
		if r, err := db.GetRecording(ctx, o.RecordingID); err == nil {
			tenant = r.ExternalData[store.TenantKey]
		}
		fmt.Fprintf(progress, "%s: transcoded %s (%.1f s of audio in %.2f s)\n", label(o.RecordingID), strings.Join(chans, ", "),
			o.Seconds, time.Since(started).Seconds())
		return audit(ctx, store.AuditEntry{Tenant: tenant, Action: store.AuditTranscode, RecordingID: o.RecordingID,
			Detail: fmt.Sprintf("decoded %s; sha256 %s", strings.Join(chans, ", "), o.Result.SHA256)})
	}
	if len(ids) > 0 {
		for i, id := range ids {
			if err := one(i+1, id); err != nil {
				return rep, err
			}
		}
		return rep, nil
	}
	for i := 1; ; i++ {
		err := one(i, "")
		if errors.Is(err, store.ErrNotFound) {
			return rep, nil
		}
		if err != nil {
			return rep, err
		}
	}
}

// waitTranscode waits while another process holds recording id's job and
// reports how it ended.
func waitTranscode(ctx context.Context, db backend.Store, id string) error {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		j, err := db.TranscodeJob(ctx, id)
		if err != nil {
			return err
		}
		switch j.State {
		case store.TranscodeDone:
			return nil
		case store.TranscodeRunning:
		default:
			return fmt.Errorf("the other process left it %s: %s", j.State, j.LastError)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

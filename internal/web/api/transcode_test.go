package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/web/api"
)

// A recording kept raw shows its transcode job in its detail: state,
// attempts and, for admins only, the last error; a recording that never
// needed transcoding has "transcode": null.
func TestRecordingDetailShowsTheTranscodeJob(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.Transcodes = c.Store.(api.Transcodes) })
	ctx := context.Background()
	r := *e.recs["rec-a2"]
	r.NeedsTranscode = true
	if err := e.db.UpdateRecording(ctx, &r); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := e.db.EnqueueTranscode(ctx, "rec-a2", now); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.ClaimTranscode(ctx, "rec-a2", now, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := e.db.EndTranscodeAttempt(ctx, "rec-a2", store.TranscodeWaiting, "no decoder for G729 in /srv/openrec", now); err != nil {
		t.Fatal(err)
	}
	type detail struct {
		NeedsTranscode bool `json:"needs_transcode"`
		Transcode      *struct {
			State     string `json:"state"`
			Attempts  int    `json:"attempts"`
			LastError string `json:"last_error"`
		} `json:"transcode"`
	}
	for _, tc := range []struct {
		user, id  string
		state     string
		lastError string
	}{
		{"root", "rec-a2", "waiting", "no decoder for G729 in /srv/openrec"},
		{"supa", "rec-a2", "waiting", ""},
		{"root", "rec-a1", "", ""},
	} {
		var d detail
		if code := e.do(e.token(tc.user), "GET", "/api/v1/recordings/"+tc.id, nil, &d); code != 200 {
			t.Fatalf("%s %s: %d", tc.user, tc.id, code)
		}
		switch {
		case tc.state == "" && d.Transcode != nil:
			t.Errorf("%s: transcode %+v, want null", tc.id, d.Transcode)
		case tc.state != "" && (d.Transcode == nil || !d.NeedsTranscode || d.Transcode.State != tc.state || d.Transcode.Attempts != 1 || d.Transcode.LastError != tc.lastError):
			t.Errorf("%s as %s: needs %v, transcode %+v", tc.id, tc.user, d.NeedsTranscode, d.Transcode)
		}
	}
}

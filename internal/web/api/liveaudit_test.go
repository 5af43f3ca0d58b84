package api_test

import (
	"testing"

	"github.com/openrec/openrec/internal/media/live"
	"github.com/openrec/openrec/internal/web/api"
)

// Issue 13: the live call list shows call metadata (numbers, agents): each
// call a session sees there is audited, once per window however often the
// page polls.
func TestLiveListViewsAudited(t *testing.T) {
	f := &liveFake{hub: live.NewHub()}
	e := newEnv(t, func(cfg *api.Config) { cfg.Live, cfg.Listen = f, f })
	tok := e.token("supa")
	for i := 0; i < 3; i++ {
		if code := e.do(tok, "GET", "/api/v1/live", nil, nil); code != 200 {
			t.Fatalf("live: %d", code)
		}
	}
	var audit struct {
		Items []struct {
			User, Action string
			RecordingID  string `json:"recording_id"`
		}
	}
	e.do(e.token("root"), "GET", "/api/v1/audit?user=supa&action=live_view", nil, &audit)
	if len(audit.Items) != 1 || audit.Items[0].RecordingID != "rec-a1" {
		t.Errorf("live_view audit entries: %+v, want one for rec-a1", audit.Items)
	}
}

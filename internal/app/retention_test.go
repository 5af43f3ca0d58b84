package app_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/cti/rules"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/sqlite"
	"github.com/openrec/openrec/internal/testtool"
)

// Issue 13: retention runs on a server without a CTI link, with the
// periods of the global setting, of a tenant and of the rule that started
// a recording (rules from the configuration file); each deletion is
// audited and a legal hold keeps its recording.
func TestRetentionSweepsWithoutCTI(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, app.DBPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, r := range []struct {
		id, tenant, rule string
		ago              time.Duration
	}{
		{"old", "", "", 40 * 24 * time.Hour},           // global 30 days
		{"young", "", "", 2 * 24 * time.Hour},          // kept
		{"acme", "Acme", "", 40 * 24 * time.Hour},      // Acme keeps a year
		{"short", "Acme", "Short", 3 * 24 * time.Hour}, // rule Short: one day
		{"held", "Acme", "Short", 3 * 24 * time.Hour},  // on legal hold
	} {
		media := filepath.Join(dir, "media", r.id+".wav")
		if err := os.MkdirAll(filepath.Dir(media), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(media, []byte("RIFF"), 0o600); err != nil {
			t.Fatal(err)
		}
		ext := map[string]string{}
		if r.tenant != "" {
			ext[store.TenantKey] = r.tenant
		}
		if r.rule != "" {
			ext[store.RuleKey] = r.rule
		}
		if err := db.CreateRecording(ctx, &store.Recording{ID: r.id, Mode: store.ModeMSR, Status: store.StatusCompleted,
			StartedAt: now.Add(-r.ago - time.Minute), EndedAt: now.Add(-r.ago), MediaPath: media, ExternalData: ext}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetLegalHold(ctx, store.Hold{RecordingID: "held", Reason: "case 9", SetBy: "sue", SetAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	a := startApp(t, func(c *config.Serve) {
		c.DataDir = dir
		c.RetentionPeriod = 30 * 24 * time.Hour
		c.TenantRetention = map[string]time.Duration{"acme": 365 * 24 * time.Hour}
		c.Rules = rules.Config{Groups: []rules.GroupConfig{{Name: "Admin", Rules: []rules.RuleConfig{
			{Name: "Short", Action: "record", Retention: "24h"},
		}}}}
	})
	if a.CTIUp() {
		t.Fatal("a CTI link in a test without one")
	}
	gone := map[string]bool{"old": true, "short": true}
	testtool.Eventually(t, 10*time.Second, func() bool {
		ok := true
		for _, id := range []string{"old", "young", "acme", "short", "held"} {
			_, err := a.Store().GetRecording(ctx, id)
			ok = ok && (err != nil) == gone[id]
		}
		return ok
	}, "the sweeper deleting exactly old and short")
	for id := range gone {
		if _, err := os.Stat(filepath.Join(dir, "media", id+".wav")); !os.IsNotExist(err) {
			t.Errorf("%s: media left: %v", id, err)
		}
	}
	audit, err := a.Store().ListAudit(ctx, store.AuditFilter{Action: store.AuditExpire})
	if err != nil || len(audit) != 2 {
		t.Fatalf("expiry audit: %+v %v", audit, err)
	}
}

package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
)

// The audit table refuses UPDATE and DELETE even through raw SQL.
func TestAuditAppendOnly(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "openrec.db"))
	ctx := context.Background()
	id, err := db.AppendAudit(ctx, store.AuditEntry{User: "alice", Action: store.AuditPlayback, RecordingID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE audit SET user_name = 'mallory' WHERE id = ?`,
		`DELETE FROM audit WHERE id = ?`,
	} {
		_, err := db.sql.ExecContext(ctx, q, id)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want the append-only trigger's refusal", q, err)
		}
	}
	got, err := db.ListAudit(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].User != "alice" {
		t.Errorf("audit after refused changes = %+v, want the original entry", got)
	}
}

// Zero times are filled from the injected clock.
func TestUsersAuditClock(t *testing.T) {
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	db := open(t, filepath.Join(t.TempDir(), "openrec.db"), WithClock(func() time.Time { return now }))
	ctx := context.Background()
	u := &store.User{Name: "alice", Role: "admin"}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if !u.CreatedAt.Equal(now) {
		t.Errorf("CreatedAt = %v, want the clock's %v", u.CreatedAt, now)
	}
	if err := db.CreateSession(ctx, store.Session{TokenHash: "h", User: "alice", Kind: store.SessionUI, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	s, err := db.GetSession(ctx, "h", now)
	if err != nil {
		t.Fatal(err)
	}
	if !s.CreatedAt.Equal(now) {
		t.Errorf("session CreatedAt = %v, want the clock's %v", s.CreatedAt, now)
	}
	if _, err := db.AppendAudit(ctx, store.AuditEntry{User: "alice", Action: store.AuditLogin}); err != nil {
		t.Fatal(err)
	}
	got, err := db.ListAudit(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].At.Equal(now) {
		t.Errorf("audit At = %+v, want the clock's %v", got, now)
	}
}

// Methods called after Close fail with ErrClosed.
func TestUsersAfterClose(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "openrec.db"))
	ctx := context.Background()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CountUsers(ctx); err != ErrClosed {
		t.Errorf("CountUsers after Close = %v, want ErrClosed", err)
	}
	if _, err := db.AppendAudit(ctx, store.AuditEntry{Action: store.AuditLogin}); err != ErrClosed {
		t.Errorf("AppendAudit after Close = %v, want ErrClosed", err)
	}
}

package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/sqlite"
)

// A session the store cannot write (here: a closed database) is kept in
// memory, found, expired and deleted there; the store's own answers pass
// through.
func TestDegradedSessions(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "openrec.db"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d := newDegradedSessions(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := d.CreateUser(ctx, &store.User{Name: "u", Role: "admin", PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	stored := store.Session{TokenHash: "h-stored", User: "u", Kind: store.SessionAPI, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := d.CreateSession(ctx, stored); err != nil {
		t.Fatal(err)
	}
	if len(d.mem) != 0 {
		t.Fatal("a session the store wrote is kept in memory too")
	}
	_ = db.Close() // every write fails from now on
	mem := store.Session{TokenHash: "h-mem", User: "u", Kind: store.SessionAPI, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := d.CreateSession(ctx, mem); err != nil {
		t.Fatalf("CreateSession with the store failing: %v", err)
	}
	if s, err := d.GetSession(ctx, "h-mem", now.Add(time.Minute)); err != nil || s.User != "u" {
		t.Fatalf("GetSession = %+v, %v", s, err)
	}
	if _, err := d.GetSession(ctx, "h-mem", now.Add(2*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired memory session: %v, want ErrNotFound", err)
	}
	if err := d.CreateSession(ctx, mem); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteSession(ctx, "h-mem"); err != nil {
		t.Errorf("DeleteSession: %v", err)
	}
	if _, err := d.GetSession(ctx, "h-mem", now); err == nil {
		t.Error("deleted session still found")
	}
}

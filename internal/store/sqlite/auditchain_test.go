package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
)

// Issue 13: the audit log is a hash chain; a changed, removed or inserted
// entry is found by VerifyAudit even by someone who can write the database
// file (and so drop the append-only triggers).
func TestAuditHashChain(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) *DB {
		db, err := Open(ctx, filepath.Join(t.TempDir(), "openrec.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
		for i, a := range []string{store.AuditLogin, store.AuditPlayback, store.AuditDownload, store.AuditView, store.AuditSearch} {
			if _, err := db.AppendAudit(ctx, store.AuditEntry{At: at.Add(time.Duration(i) * time.Second), User: "sue", Action: a, RecordingID: "r1", Detail: "d"}); err != nil {
				t.Fatal(err)
			}
		}
		return db
	}
	exec := func(t *testing.T, db *DB, q ...string) {
		for _, s := range q {
			if _, err := db.sql.ExecContext(ctx, s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
	const dropGuards = "DROP TRIGGER audit_no_update"
	const dropGuards2 = "DROP TRIGGER audit_no_delete"

	t.Run("intact", func(t *testing.T) {
		db := setup(t)
		c, err := db.VerifyAudit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		id, head, _ := db.AuditHead(ctx)
		if c.Entries != 5 || c.Broken != 0 || c.Unchained != 0 || c.HeadID != id || c.Head != head || len(head) != 64 {
			t.Errorf("check = %+v, head %d %s", c, id, head)
		}
	})
	for _, tc := range []struct {
		name  string
		sql   []string
		entry string // the entry the problem names
	}{
		{"one byte of a detail changed", []string{dropGuards, "UPDATE audit SET detail = 'D' WHERE id = 3"}, "entry 3 "},
		{"user renamed", []string{dropGuards, "UPDATE audit SET user_name = 'bob' WHERE id = 2"}, "entry 2 "},
		{"time moved", []string{dropGuards, "UPDATE audit SET at = '2026-12-07T08:00:00.000000000Z' WHERE id = 4"}, "entry 4 "},
		{"entry removed", []string{dropGuards2, "DELETE FROM audit WHERE id = 2"}, "entry 3 "},
		{"entry inserted with a copied hash", []string{"INSERT INTO audit (id, at, action, hash) SELECT 100, at, 'login', hash FROM audit WHERE id = 5", dropGuards2}, "entry 100 "},
		{"entry inserted without hash", []string{"INSERT INTO audit (at, action) VALUES ('2026-12-07T09:00:10.000000000Z', 'login')"}, "no hash inside the chain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := setup(t)
			exec(t, db, tc.sql...)
			c, err := db.VerifyAudit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if c.Broken != 1 || len(c.Problems) != 1 || !strings.Contains(c.Problems[0], tc.entry) {
				t.Errorf("check = %+v, want one problem naming %q", c, tc.entry)
			}
		})
	}
	t.Run("entries from before the chain", func(t *testing.T) {
		// A database upgraded from before migration 0006: its entries have
		// no hash; the chain starts at the first entry appended after.
		db, err := Open(ctx, filepath.Join(t.TempDir(), "openrec.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		exec(t, db, "INSERT INTO audit (at, action) VALUES ('2026-12-01T09:00:00.000000000Z', 'login')",
			"INSERT INTO audit (at, action) VALUES ('2026-12-01T09:00:01.000000000Z', 'playback')")
		for i := 0; i < 3; i++ {
			if _, err := db.AppendAudit(ctx, store.AuditEntry{Action: store.AuditView}); err != nil {
				t.Fatal(err)
			}
		}
		c, _ := db.VerifyAudit(ctx)
		if c.Entries != 5 || c.Unchained != 2 || c.Broken != 0 {
			t.Errorf("check = %+v", c)
		}
	})
}

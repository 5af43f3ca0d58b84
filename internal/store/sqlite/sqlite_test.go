package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/storetest"
	"github.com/openrec/openrec/internal/testtool"
)

var _ storetest.Store = (*DB)(nil)

func open(t *testing.T, path string, opts ...Option) *DB {
	t.Helper()
	db, err := Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		return open(t, filepath.Join(t.TempDir(), "sub", "dir", "openrec.db"))
	})
}

func TestConcurrentHandles(t *testing.T) {
	storetest.RunConcurrent(t, func(t *testing.T) (storetest.Store, storetest.Store) {
		path := filepath.Join(t.TempDir(), "openrec.db")
		return open(t, path), open(t, path)
	})
}

func TestPragmas(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "openrec.db"))
	ctx := context.Background()
	// One connection, so every pragma is read from the same one.
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, tt := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"busy_timeout", "5000"},
		{"foreign_keys", "1"},
		{"secure_delete", "1"}, // deleted rows overwritten: an erasure leaves no copy in free pages
	} {
		var got string
		if err := conn.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("PRAGMA %s = %q, want %q", tt.pragma, got, tt.want)
		}
	}
}

func TestReopenMigrationsIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "openrec.db")
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no embedded migrations")
	}
	db := open(t, path)
	r := &store.Recording{ID: "keep", Mode: store.ModeMSR, Status: store.StatusCompleted, StartedAt: time.Now()}
	if err := db.CreateRecording(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		db := open(t, path)
		if _, err := db.GetRecording(ctx, "keep"); err != nil {
			t.Fatalf("after reopen: %v", err)
		}
		var n, maxV int
		if err := db.sql.QueryRowContext(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &maxV); err != nil {
			t.Fatal(err)
		}
		if n != len(ms) || maxV != ms[len(ms)-1].version {
			t.Errorf("schema_migrations has %d rows up to %d, want %d up to %d", n, maxV, len(ms), ms[len(ms)-1].version)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// Two processes starting at once on a fresh file apply each migration once.
// The first migration to be applied (its clock is read inside the write
// transaction) waits until all n Opens are in progress: the others are
// then held at the write lock for certain, not run after it.
func TestConcurrentOpenFreshFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "openrec.db")
	const n = 4
	var once, released sync.Once
	inMigration, release := make(chan struct{}), make(chan struct{})
	free := func() { released.Do(func() { close(release) }) }
	clock := WithClock(func() time.Time {
		once.Do(func() {
			close(inMigration)
			<-release
		})
		return time.Now()
	})
	var wg sync.WaitGroup
	errs := make([]error, n)
	dbs := make([]*DB, n)
	for i := range n {
		wg.Go(func() { dbs[i], errs[i] = Open(context.Background(), path, clock) })
	}
	func() {
		defer free() // on failure too: the Opens must end
		select {
		case <-inMigration:
		case <-time.After(10 * time.Second):
			t.Fatal("no migration applied")
		}
		testtool.Eventually(t, 10*time.Second, func() bool { return testtool.CountGoroutines("internal/store/sqlite.Open") == n },
			"all %d Opens in progress while the first migration holds the write lock", n)
	}()
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Open %d: %v", i, errs[i])
		}
		defer dbs[i].Close()
	}
	var count int
	if err := dbs[0].sql.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&count); err != nil {
		t.Fatal(err)
	}
	ms, _ := loadMigrations(migrationFS)
	if count != len(ms) {
		t.Fatalf("schema_migrations rows = %d, want %d", count, len(ms))
	}
}

func TestSchemaTooNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "openrec.db")
	db := open(t, path)
	if _, err := db.sql.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 'x')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err := Open(context.Background(), path)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open of a newer schema = %v, want ErrSchemaTooNew", err)
	}
}

func TestLoadMigrations(t *testing.T) {
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    []int
		wantErr bool
	}{
		{"sorted by number", fstest.MapFS{
			"migrations/0010_b.sql": {Data: []byte("x")},
			"migrations/0002_a.sql": {Data: []byte("y")},
		}, []int{2, 10}, false},
		{"no number", fstest.MapFS{"migrations/init.sql": {}}, nil, true},
		{"zero", fstest.MapFS{"migrations/0000_x.sql": {}}, nil, true},
		{"duplicate", fstest.MapFS{"migrations/1_a.sql": {}, "migrations/01_b.sql": {}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := loadMigrations(tt.files)
			if tt.wantErr {
				if !errors.Is(err, ErrBadMigration) {
					t.Fatalf("err = %v, want ErrBadMigration", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.version)
			}
			if len(got) != len(tt.want) || got[0] != tt.want[0] || got[1] != tt.want[1] {
				t.Fatalf("versions = %v, want %v", got, tt.want)
			}
		})
	}
}

// Stored times are fixed-width UTC text so that text order is time order;
// the clock option drives CreatedAt / UpdatedAt.
func TestTimeStorageAndClock(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	db := open(t, filepath.Join(t.TempDir(), "openrec.db"), WithClock(func() time.Time { return now }))
	zone := time.FixedZone("X", 2*3600)
	r := &store.Recording{ID: "t", Mode: store.ModeMSR, Status: store.StatusRecording,
		StartedAt: time.Date(2026, 5, 6, 9, 0, 0, 500, zone)}
	if err := db.CreateRecording(ctx, r); err != nil {
		t.Fatal(err)
	}
	if !r.CreatedAt.Equal(now) || !r.UpdatedAt.Equal(now) {
		t.Errorf("CreatedAt/UpdatedAt = %v/%v, want the clock's %v", r.CreatedAt, r.UpdatedAt, now)
	}
	var started, created string
	var ended sql.NullString
	if err := db.sql.QueryRow(`SELECT started_at, ended_at, created_at FROM recordings WHERE id = 't'`).Scan(&started, &ended, &created); err != nil {
		t.Fatal(err)
	}
	if want := "2026-05-06T07:00:00.000000500Z"; started != want {
		t.Errorf("started_at = %q, want %q", started, want)
	}
	if want := "2026-01-02T03:04:05.000000000Z"; created != want {
		t.Errorf("created_at = %q, want %q", created, want)
	}
	if ended.Valid {
		t.Errorf("ended_at = %q, want NULL while recording", ended.String)
	}
	got, err := db.GetRecording(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if !got.StartedAt.Equal(r.StartedAt) {
		t.Errorf("StartedAt = %v, want %v (nanoseconds kept)", got.StartedAt, r.StartedAt)
	}
	now = now.Add(time.Hour)
	if err := db.UpdateRecording(ctx, got); err != nil {
		t.Fatal(err)
	}
	if !got.UpdatedAt.Equal(now) || !got.CreatedAt.Equal(now.Add(-time.Hour)) {
		t.Errorf("after update CreatedAt/UpdatedAt = %v/%v", got.CreatedAt, got.UpdatedAt)
	}
}

func TestClosedStore(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "openrec.db"))
	db.Close()
	ctx := context.Background()
	checks := map[string]error{
		"create":        db.CreateRecording(ctx, &store.Recording{ID: "x"}),
		"update":        db.UpdateRecording(ctx, &store.Recording{ID: "x"}),
		"events":        db.AddEvents(ctx, "x"),
		"set retention": db.SetRetention(ctx, "x", store.RetentionPending, time.Time{}, ""),
		"keep":          db.KeepRecording(ctx, "x", ""),
		"discard":       db.DiscardRecording(ctx, "x", ""),
		"delete":        db.DeleteRecording(ctx, store.Deletion{RecordingID: "x"}),
	}
	_, checks["get"] = db.GetRecording(ctx, "x")
	_, checks["list"] = db.ListRecordings(ctx, store.Filter{})
	_, checks["list deletions"] = db.ListDeletions(ctx, time.Time{}, 0)
	for name, err := range checks {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

func TestCascadeKeepsNoOrphans(t *testing.T) {
	// Foreign keys are enforced: a child row for an unknown recording fails.
	db := open(t, filepath.Join(t.TempDir(), "openrec.db"))
	_, err := db.sql.Exec(`INSERT INTO segments (recording_id, pos, type, channel, start_ms, end_ms) VALUES ('none', 0, 'x', 0, 0, 0)`)
	if err == nil {
		t.Fatal("insert of an orphan segment succeeded: foreign keys are off")
	}
}

// DeleteRecording leaves no child rows behind (the foreign keys cascade)
// and logs exactly one deletion.
func TestDeleteLeavesNoChildRows(t *testing.T) {
	ctx := context.Background()
	db := open(t, filepath.Join(t.TempDir(), "openrec.db"))
	r := &store.Recording{ID: "gone", Mode: store.ModeSIPREC, Status: store.StatusCompleted, StartedAt: time.Now(),
		SIPCallIDs: []string{"c1"}, Parties: []store.Party{{Channel: 0, DN: "7001"}},
		Segments: []store.Segment{{Type: store.SegmentRecording}}, Couples: []store.Couple{{EndMS: -1}},
		Events: []store.Event{{Type: "bye"}}, ExternalData: map[string]string{"GEN_CFG_Tenant": "Acme"}}
	keep := *r
	keep.ID = "stays"
	for _, rec := range []*store.Recording{r, &keep} {
		if err := db.CreateRecording(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteRecording(ctx, store.Deletion{RecordingID: "gone", Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"recordings", "sip_call_ids", "parties", "segments", "couples", "events", "external_data"} {
		col := "recording_id"
		if table == "recordings" {
			col = "id"
		}
		var gone, stays int
		if err := db.sql.QueryRow(`SELECT count(*) FILTER (WHERE `+col+` = 'gone'), count(*) FILTER (WHERE `+col+` = 'stays') FROM `+table).
			Scan(&gone, &stays); err != nil {
			t.Fatal(err)
		}
		if gone != 0 || stays != 1 {
			t.Errorf("%s: %d rows of the deleted recording (want 0), %d of the other (want 1)", table, gone, stays)
		}
	}
	var n int
	var tenant string
	if err := db.sql.QueryRow(`SELECT count(*), max(tenant) FROM deletions WHERE recording_id = 'gone'`).Scan(&n, &tenant); err != nil {
		t.Fatal(err)
	}
	if n != 1 || tenant != "Acme" {
		t.Errorf("deletions: %d rows, tenant %q; want 1, Acme", n, tenant)
	}
}

// A database created by an openrec before 0003 is upgraded in place: its
// recordings become ordinary ones (no retention state).
func TestMigrateFrom0002(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "openrec.db")
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	var upTo2 []migration
	for _, m := range ms {
		if m.version <= 2 {
			upTo2 = append(upTo2, m)
		}
	}
	old, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, old, upTo2, time.Now); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`INSERT INTO recordings (id, mode, status, started_at, created_at, updated_at)
		VALUES ('old', 'msr', 'completed', '2026-01-02T03:04:05.000000000Z', '2026-01-02T03:04:05.000000000Z', '2026-01-02T03:04:05.000000000Z')`); err != nil {
		t.Fatal(err)
	}
	old.Close()

	db := open(t, path)
	r, err := db.GetRecording(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if r.Retention != store.RetentionNone || !r.KeepUntil.IsZero() || r.RetentionReason != "" {
		t.Errorf("migrated row: retention %q keep until %v reason %q, want none", r.Retention, r.KeepUntil, r.RetentionReason)
	}
	if err := db.KeepRecording(ctx, "old", "x"); !errors.Is(err, store.ErrNotPending) {
		t.Errorf("keep of a migrated ordinary recording = %v, want ErrNotPending", err)
	}
	if err := db.DiscardRecording(ctx, "old", "x"); err != nil {
		t.Fatal(err)
	}
	if ds, err := db.ListDeletions(ctx, time.Time{}, 0); err != nil || len(ds) != 0 {
		t.Errorf("deletions of a migrated database = %v, %v; want none", ds, err)
	}
}

// The schema itself refuses unknown retention states, whoever writes them.
func TestRetentionCheckConstraint(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "openrec.db"))
	if err := db.CreateRecording(context.Background(), &store.Recording{ID: "x", Mode: store.ModeMSR, Status: store.StatusCompleted}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.sql.Exec(`UPDATE recordings SET retention = 'bogus' WHERE id = 'x'`); err == nil {
		t.Fatal("the schema accepted retention 'bogus'")
	}
}

// DiscardRecording stamps KeepUntil with the store clock.
func TestDiscardUsesClock(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 4, 5, 6, 7, 800, time.UTC)
	db := open(t, filepath.Join(t.TempDir(), "openrec.db"), WithClock(func() time.Time { return now }))
	if err := db.CreateRecording(ctx, &store.Recording{ID: "p", Mode: store.ModeMSR, Status: store.StatusRecording,
		Retention: store.RetentionPending}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	if err := db.DiscardRecording(ctx, "p", "not kept"); err != nil {
		t.Fatal(err)
	}
	r, err := db.GetRecording(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if !r.KeepUntil.Equal(now) || !r.UpdatedAt.Equal(now) {
		t.Errorf("KeepUntil / UpdatedAt = %v / %v, want the clock's %v", r.KeepUntil, r.UpdatedAt, now)
	}
	now = now.Add(time.Minute)
	if err := db.DeleteRecording(ctx, store.Deletion{RecordingID: "p"}); err != nil {
		t.Fatal(err)
	}
	ds, err := db.ListDeletions(ctx, time.Time{}, 0)
	if err != nil || len(ds) != 1 || !ds[0].At.Equal(now) {
		t.Errorf("deletions = %+v, %v; want one at the clock's %v", ds, err, now)
	}
}

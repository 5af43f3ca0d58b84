package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/storetest"
	"github.com/openrec/openrec/internal/testtool/pgtest"
)

var _ storetest.Store = (*DB)(nil)

func open(t *testing.T, url string, opts ...Option) *DB {
	t.Helper()
	db, err := Open(context.Background(), url, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", Redact(url), err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		return open(t, pgtest.NewDatabase(t))
	})
}

func TestHoldConformance(t *testing.T) {
	storetest.RunHolds(t, func(t *testing.T) storetest.HoldStore {
		return open(t, pgtest.NewDatabase(t))
	})
}

func TestConcurrentHandles(t *testing.T) {
	storetest.RunConcurrent(t, func(t *testing.T) (storetest.Store, storetest.Store) {
		url := pgtest.NewDatabase(t)
		return open(t, url), open(t, url)
	})
}

// Several processes starting at once against a fresh database apply each
// migration once (the advisory lock), and all of them open it.
func TestConcurrentOpenFreshDatabase(t *testing.T) {
	url := pgtest.NewDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			db, err := Open(context.Background(), url)
			if err == nil {
				err = db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d: %v", i, err)
		}
	}
	db := open(t, url)
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	var n, max int
	if err := db.pool.QueryRow(context.Background(), `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || max != ms[len(ms)-1].version {
		t.Errorf("schema_migrations: %d rows up to %d, want %d up to %d", n, max, len(ms), ms[len(ms)-1].version)
	}
}

// The PostgreSQL migrations mirror the SQLite store's one for one: same
// versions, same names, so a schema change is made in both.
func TestMigrationsMirrorSQLite(t *testing.T) {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"0001_init", "0002_couples", "0003_retention", "0004_search", "0005_users", "0006_audit_chain", "0007_legal_hold", "0008_call_holds"}
	var got []string
	for _, m := range ms {
		got = append(got, m.name)
	}
	if !slices.Equal(got[:min(len(got), len(want))], want) {
		t.Errorf("migrations %v, want %v first (as internal/store/sqlite/migrations)", got, want)
	}
}

func TestSchemaTooNew(t *testing.T) {
	url := pgtest.NewDatabase(t)
	db := open(t, url)
	if _, err := db.pool.Exec(context.Background(), `INSERT INTO schema_migrations VALUES (9999, '9999_future', 'x')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(context.Background(), url); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("Open after a newer binary: %v, want ErrSchemaTooNew", err)
	}
}

func TestOpenErrors(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, bad := range []string{
		strings.Replace(url, "/openrec_test_", "/no_such_db_", 1),
		"postgres://postgres@127.0.0.1:1/x?connect_timeout=2",
		"postgres://%zz",
	} {
		if db, err := Open(ctx, bad); err == nil {
			db.Close()
			t.Errorf("Open(%s) worked", bad)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:secret@h:5432/db":      "postgres://u:xxxxx@h:5432/db",
		"postgres://u@h/db":                  "postgres://u@h/db",
		"postgresql://u:p@h/db?sslmode=none": "postgresql://u:xxxxx@h/db?sslmode=none",
		"host=h user=u":                      "host=h user=u",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// Times keep their nanoseconds and are stored in the SQLite store's text
// form, and the store clock sets CreatedAt and UpdatedAt.
func TestTimeStorageAndClock(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 12, 7, 10, 0, 0, 123456789, time.UTC)
	db := open(t, pgtest.NewDatabase(t), WithClock(func() time.Time { return clock }))
	started := time.Date(2026, 12, 7, 9, 59, 0, 987654321, time.FixedZone("X", 3600))
	r := &store.Recording{ID: "t1", Mode: store.ModeMSR, Status: store.StatusRecording, StartedAt: started}
	if err := db.CreateRecording(ctx, r); err != nil {
		t.Fatal(err)
	}
	var raw, created string
	if err := db.pool.QueryRow(ctx, `SELECT started_at, created_at FROM recordings WHERE id = 't1'`).Scan(&raw, &created); err != nil {
		t.Fatal(err)
	}
	if raw != "2026-12-07T08:59:00.987654321Z" || created != "2026-12-07T10:00:00.123456789Z" {
		t.Errorf("stored %q, %q", raw, created)
	}
	got, err := db.GetRecording(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if !got.StartedAt.Equal(started) || !got.CreatedAt.Equal(clock) || got.StartedAt.Location() != time.UTC {
		t.Errorf("read back %v %v", got.StartedAt, got.CreatedAt)
	}
}

func TestClosedStore(t *testing.T) {
	db := open(t, pgtest.NewDatabase(t))
	db.Close()
	if _, err := db.GetRecording(context.Background(), "x"); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// The audit log refuses UPDATE, DELETE and TRUNCATE sent by hand; the
// hash chain finds an entry changed by someone who dropped the triggers.
func TestAuditAppendOnlyAndChain(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) *DB {
		db := open(t, pgtest.NewDatabase(t))
		at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
		for i, a := range []string{store.AuditLogin, store.AuditPlayback, store.AuditDownload, store.AuditView, store.AuditSearch} {
			if _, err := db.AppendAudit(ctx, store.AuditEntry{At: at.Add(time.Duration(i) * time.Second), User: "sue", Action: a, RecordingID: "r1", Detail: "d"}); err != nil {
				t.Fatal(err)
			}
		}
		return db
	}
	db := setup(t)
	for _, q := range []string{`UPDATE audit SET detail = 'x' WHERE id = 2`, `DELETE FROM audit WHERE id = 2`, `TRUNCATE audit`} {
		_, err := db.pool.Exec(ctx, q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused as append-only", q, err)
		}
	}
	c, err := db.VerifyAudit(ctx)
	id, head, _ := db.AuditHead(ctx)
	if err != nil || c.Entries != 5 || c.Broken != 0 || c.HeadID != id || c.Head != head || len(head) != 64 {
		t.Errorf("check = %+v %v, head %d %s", c, err, id, head)
	}
	if h, err := db.AuditHashAt(ctx, id); err != nil || h != head {
		t.Errorf("AuditHashAt(%d) = %s, %v", id, h, err)
	}
	if _, err := db.AuditHashAt(ctx, 999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AuditHashAt(999): %v", err)
	}
	for _, tc := range []struct {
		name  string
		sql   []string
		entry string
	}{
		{"detail changed", []string{`ALTER TABLE audit DISABLE TRIGGER audit_no_update`, `UPDATE audit SET detail = 'D' WHERE id = 3`}, "entry 3 "},
		{"entry removed", []string{`ALTER TABLE audit DISABLE TRIGGER audit_no_delete`, `DELETE FROM audit WHERE id = 2`}, "entry 3 "},
		{"entry inserted without hash", []string{`INSERT INTO audit (at, action) VALUES ('2026-12-07T09:00:10.000000000Z', 'login')`}, "no hash inside the chain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := setup(t)
			for _, q := range tc.sql {
				if _, err := db.pool.Exec(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			c, err := db.VerifyAudit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if c.Broken != 1 || len(c.Problems) != 1 || !strings.Contains(c.Problems[0], tc.entry) {
				t.Errorf("check = %+v, want one problem naming %q", c, tc.entry)
			}
		})
	}
}

// Several processes appending at once still make one chain in id order
// (SQLite had one writer; here the table lock serialises the appends).
func TestAuditChainConcurrentAppends(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	dbs := []*DB{open(t, url), open(t, url), open(t, url)}
	const per = 30
	var wg sync.WaitGroup
	errc := make(chan error, len(dbs)*per)
	for i, db := range dbs {
		wg.Go(func() {
			for j := range per {
				if _, err := db.AppendAudit(ctx, store.AuditEntry{User: fmt.Sprintf("p%d", i), Action: store.AuditView, Detail: fmt.Sprint(j)}); err != nil {
					errc <- err
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	c, err := dbs[0].VerifyAudit(ctx)
	if err != nil || c.Entries != len(dbs)*per || c.Broken != 0 {
		t.Errorf("check = %+v, %v", c, err)
	}
}

// Issue 13's call hold, as the SQLite store's TestCallHold; and a hold
// refuses a DELETE sent by hand (the trigger).
func TestCallHold(t *testing.T) {
	ctx := context.Background()
	db := open(t, pgtest.NewDatabase(t))
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	add := func(id, call string) *store.Recording {
		r := &store.Recording{ID: id, CallUUID: call, Mode: store.ModeSIPREC, Status: store.StatusRecording, StartedAt: t0}
		if err := db.CreateRecording(ctx, r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	held := func(id string) (store.Hold, bool) {
		h, ok, err := db.LegalHold(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return h, ok
	}
	add("a1", "CALL-A")
	add("a2", "CALL-A")
	add("b1", "CALL-B")
	if err := db.SetLegalHold(ctx, store.Hold{RecordingID: "nope", Reason: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("hold of an unknown recording: %v", err)
	}
	if err := db.SetLegalHold(ctx, store.Hold{RecordingID: "a2", Reason: "own", SetBy: "sue", SetAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM recordings WHERE id = 'a2'`); err == nil || !strings.Contains(err.Error(), "legal hold") {
		t.Errorf("DELETE of a held recording by hand: %v", err)
	}
	if err := db.DeleteRecording(ctx, store.Deletion{RecordingID: "a2"}); !errors.Is(err, store.ErrLegalHold) {
		t.Errorf("DeleteRecording of a held recording: %v", err)
	}
	if _, err := db.SetCallHold(ctx, store.CallHold{CallUUID: "NONE", Reason: "x", SetBy: "sue", SetAt: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("hold of a call without recordings: %v, want ErrNotFound", err)
	}
	ids, err := db.SetCallHold(ctx, store.CallHold{CallUUID: "CALL-A", Reason: "case 5", SetBy: "boss", SetAt: t0})
	if err != nil || !slices.Equal(ids, []string{"a1", "a2"}) {
		t.Fatalf("SetCallHold = %v, %v; want a1 a2", ids, err)
	}
	if h, ok := held("a1"); !ok || h.Reason != "case 5" || h.CallUUID != "CALL-A" || !h.SetAt.Equal(t0) {
		t.Errorf("a1: %+v %v", h, ok)
	}
	if h, _ := held("a2"); h.Reason != "own" || h.CallUUID != "" {
		t.Errorf("a2's own hold replaced: %+v", h)
	}
	if _, ok := held("b1"); ok {
		t.Error("another call's recording held")
	}
	add("a3", "CALL-A")
	late := add("x1", "")
	late.CallUUID = "CALL-A"
	if err := db.UpdateRecording(ctx, late); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a3", "x1"} {
		if h, ok := held(id); !ok || h.CallUUID != "CALL-A" || h.Reason != "case 5" {
			t.Errorf("%s, made after the call's hold: %+v %v", id, h, ok)
		}
		if err := db.DeleteRecording(ctx, store.Deletion{RecordingID: id, Reason: "test"}); !errors.Is(err, store.ErrLegalHold) {
			t.Errorf("%s deleted while its call is held: %v", id, err)
		}
	}
	hs, err := db.ListLegalHolds(ctx)
	if err != nil || len(hs) != 4 {
		t.Errorf("ListLegalHolds = %+v, %v", hs, err)
	}
	chs, err := db.ListCallHolds(ctx)
	if err != nil || len(chs) != 1 || chs[0].CallUUID != "CALL-A" || chs[0].Reason != "case 5" || chs[0].SetBy != "boss" {
		t.Errorf("ListCallHolds = %+v, %v", chs, err)
	}
	ids, err = db.ReleaseCallHold(ctx, "CALL-A")
	if err != nil || !slices.Equal(ids, []string{"a1", "a3", "x1"}) {
		t.Errorf("ReleaseCallHold = %v, %v; want a1 a3 x1 (a2 keeps its own hold)", ids, err)
	}
	if _, ok := held("a2"); !ok {
		t.Error("a2's own hold released with the call's")
	}
	if _, err := db.ReleaseCallHold(ctx, "CALL-A"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second release: %v, want ErrNotFound", err)
	}
	add("a4", "CALL-A")
	if _, ok := held("a4"); ok {
		t.Error("a recording made after the release is held")
	}
	if err := db.ReleaseLegalHold(ctx, "a2"); err != nil {
		t.Error(err)
	}
	if err := db.ReleaseLegalHold(ctx, "a2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second release of a2: %v", err)
	}
	if err := db.DeleteRecording(ctx, store.Deletion{RecordingID: "a2"}); err != nil {
		t.Errorf("delete after release: %v", err)
	}
	if err := db.Scrub(ctx); err != nil {
		t.Errorf("Scrub: %v", err)
	}
}

// A call hold set in one process while another creates recordings of the
// call holds every one of them: none slips between the hold's snapshot and
// the trigger (the advisory lock per call).
func TestCallHoldRacesCreate(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	a, b := open(t, url), open(t, url)
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	if err := a.CreateRecording(ctx, &store.Recording{ID: "r000", CallUUID: "C", Mode: store.ModeMSR, Status: store.StatusRecording, StartedAt: t0}); err != nil {
		t.Fatal(err)
	}
	const n = 60
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1; i <= n; i++ {
			if err := b.CreateRecording(ctx, &store.Recording{ID: fmt.Sprintf("r%03d", i), CallUUID: "C", Mode: store.ModeMSR, Status: store.StatusRecording, StartedAt: t0}); err != nil {
				t.Error(err)
			}
		}
	})
	if _, err := a.SetCallHold(ctx, store.CallHold{CallUUID: "C", Reason: "race", SetBy: "t"}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	hs, err := a.ListLegalHolds(ctx)
	if err != nil || len(hs) != n+1 {
		t.Errorf("%d recordings held, want %d (%v)", len(hs), n+1, err)
	}
}

// Text PostgreSQL cannot hold (invalid UTF-8, NUL bytes: SQLite takes
// them) is stored with U+FFFD in their place instead of losing the row,
// and an audit entry with such text still verifies.
func TestUnstorableText(t *testing.T) {
	ctx := context.Background()
	db := open(t, pgtest.NewDatabase(t))
	bad := "caller \xff\xfe M\x00ller"
	want := "caller \uFFFD M\uFFFDller" // a run of invalid bytes is one U+FFFD
	r := &store.Recording{ID: "u1", Mode: store.ModeSIPREC, Status: store.StatusRecording, StartedAt: time.Now(),
		Metadata: bad, Parties: []store.Party{{Name: bad}}, ExternalData: map[string]string{"GEN_TEV_UserData": bad},
		Events: []store.Event{{Type: "metadata", Detail: bad}}}
	if err := db.CreateRecording(ctx, r); err != nil {
		t.Fatalf("CreateRecording with invalid UTF-8 and NUL: %v", err)
	}
	got, err := db.GetRecording(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Metadata != want || got.Parties[0].Name != want || got.ExternalData["GEN_TEV_UserData"] != want || got.Events[0].Detail != want {
		t.Errorf("stored %q %q %q %q, want %q", got.Metadata, got.Parties[0].Name, got.ExternalData["GEN_TEV_UserData"], got.Events[0].Detail, want)
	}
	if n, err := db.CountRecordings(ctx, store.Filter{External: []store.KV{{Key: "GEN_TEV_UserData", Value: bad}}}); err != nil || n != 1 {
		t.Errorf("search by the same bytes: %d, %v", n, err)
	}
	if _, err := db.AppendAudit(ctx, store.AuditEntry{Action: store.AuditLoginFailed, User: bad, Detail: bad}); err != nil {
		t.Fatal(err)
	}
	if c, err := db.VerifyAudit(ctx); err != nil || c.Broken != 0 || c.Entries != 1 {
		t.Errorf("chain: %+v %v", c, err)
	}
	for _, tc := range []struct{ in, want string }{{"plain", "plain"}, {"", ""}, {"ä\x00", "ä\uFFFD"}, {"\xc3", "\uFFFD"}} {
		if got := storable(tc.in); got != tc.want {
			t.Errorf("storable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestProbe(t *testing.T) {
	db := open(t, pgtest.NewDatabase(t))
	if err := db.Probe(context.Background()); err != nil {
		t.Errorf("Probe of a primary: %v", err)
	}
	db.Close()
	if err := db.Probe(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Probe after Close: %v", err)
	}
}

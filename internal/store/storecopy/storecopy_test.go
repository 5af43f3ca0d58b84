package storecopy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/backend"
	"github.com/openrec/openrec/internal/store/postgres"
	"github.com/openrec/openrec/internal/store/sqlite"
	"github.com/openrec/openrec/internal/testtool/pgtest"
)

var t0 = time.Date(2026, 12, 7, 9, 0, 0, 123456789, time.UTC)

// fill writes n recordings with every kind of child, users, sessions, an
// audit log, deletions and holds through the store API.
func fill(t testing.TB, path string, n int) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range n {
		r := &store.Recording{
			ID: fmt.Sprintf("rec-%04d", i), Mode: store.ModeSIPREC, Status: store.StatusCompleted,
			CallUUID: fmt.Sprintf("CALL-%d", i%7), RecordID: fmt.Sprint(i), SIPCallIDs: []string{"a@x", "b@x"},
			RecordedDN: "5001", OtherDN: fmt.Sprintf("+4930%04d", i),
			Parties:   []store.Party{{Channel: 0, Role: store.RoleRecorded, DN: "5001", Name: "Ägent"}, {Channel: 1, Role: store.RoleOther, DN: "+49"}},
			StartedAt: t0.Add(time.Duration(i) * time.Minute), EndedAt: t0.Add(time.Duration(i)*time.Minute + 30*time.Second), DurationMS: 30000 + int64(i),
			Channels: 2, Codecs: []string{"PCMU"}, Format: "ulaw", MediaPath: fmt.Sprintf("media/2026/12/07/rec-%04d.wav", i),
			SizeBytes: 480000, SHA256: "ab", NeedsTranscode: i%5 == 0, Metadata: "<x/>",
			Segments:     []store.Segment{{Type: store.SegmentRecording, Channel: store.AllChannels, StartMS: 0, EndMS: 30000}},
			Couples:      []store.Couple{{StartMS: 0, EndMS: -1, ThisDN: "5001", ConnID: "006f02a2c1b3d4e5", ExternalData: map[string]string{"k": "v"}}},
			Events:       []store.Event{{Type: "dtmf", AtMS: 100, Detail: "5", At: t0}, {Type: "bye", AtMS: 30000}},
			ExternalData: map[string]string{store.TenantKey: "Acme", store.AgentIDKey: fmt.Sprintf("agent%d", i%3)},
			Retention:    []store.Retention{store.RetentionNone, store.RetentionPending, store.RetentionKept}[i%3],
			KeepUntil:    t0.Add(time.Hour),
		}
		if r.Retention == store.RetentionNone {
			r.KeepUntil = time.Time{}
		}
		if err := db.CreateRecording(ctx, r); err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			if err := db.AddEvents(ctx, r.ID, store.Event{Type: "reinvite", AtMS: 200}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range n / 10 {
		if err := db.DeleteRecording(ctx, store.Deletion{RecordingID: fmt.Sprintf("rec-%04d", i*10+9), Reason: "retention", At: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	for i, name := range []string{"Alice", "bob", "Zed", "carol"} {
		u := &store.User{Name: name, Role: "agent", Tenant: "Acme", AgentID: fmt.Sprint(i), PasswordHash: "h", Disabled: i == 2}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateSession(ctx, store.Session{TokenHash: fmt.Sprintf("tok%d", i), User: name, Kind: store.SessionUI, CSRF: "c", ExpiresAt: t0.Add(24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 * n {
		if _, err := db.AppendAudit(ctx, store.AuditEntry{At: t0.Add(time.Duration(i) * time.Second), User: "Alice", Role: "admin", Tenant: "Acme",
			Action: store.AuditPlayback, RecordingID: fmt.Sprintf("rec-%04d", i%n), Detail: "d", Remote: "127.0.0.1:1"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetLegalHold(ctx, store.Hold{RecordingID: "rec-0001", Reason: "case 1", SetBy: "sue", SetAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetCallHold(ctx, store.CallHold{CallUUID: "CALL-3", Reason: "case 2", SetBy: "sue", SetAt: t0}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 6 { // rec-0000, rec-0006, ...: none of them deleted above
		id := fmt.Sprintf("rec-%04d", i)
		if err := db.SetMediaObject(ctx, id, "s3://bucket/site/"+id+".wav"); err != nil {
			t.Fatal(err)
		}
		sc := &store.Screen{RecordingID: id, Agent: "agent1", StartedAt: t0, EndedAt: t0.Add(time.Minute), Width: 1280, Height: 720,
			Codec: "vp9", Total: 1000, Held: store.Ranges{}.Add(0, 499), Encrypted: i%12 == 0, UpdatedAt: t0}
		if i%4 == 0 {
			sc.Held, sc.Complete = sc.Held.Add(500, 999), true
		}
		if err := db.PutScreen(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
}

// Every column of every table of the SQLite schema is copied: a migration
// that adds one must add it to the copy too.
func TestCopyCoversSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "openrec.db")
	fill(t, path, 12)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	listed := map[string]map[string]bool{}
	for _, tb := range tables {
		listed[tb.name] = map[string]bool{}
		for _, c := range tb.cols {
			listed[tb.name][c.name] = true
		}
	}
	rows, err := db.QueryContext(ctx, `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'schema_migrations' ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		n++
		src := col
		if table == "sessions" && col == "user_name" {
			src = "user_key" // copied folded, see tables
		}
		if !listed[table][src] {
			t.Errorf("column %s.%s is not copied by store migrate (storecopy.tables)", table, col)
		}
	}
	if err := rows.Err(); err != nil || n < 50 {
		t.Fatalf("%d columns read, %v", n, err)
	}
}

// same compares the two stores through the store API.
func same(t *testing.T, a, b backend.Store) {
	t.Helper()
	ctx := context.Background()
	all := store.Filter{Limit: 100000, Sort: store.SortStartedAsc}
	ra, err := a.ListRecordings(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.ListRecordings(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	if len(ra) == 0 || !reflect.DeepEqual(ra, rb) {
		t.Errorf("recordings differ: %d in the source, %d in the target", len(ra), len(rb))
		for i := range min(len(ra), len(rb)) {
			if !reflect.DeepEqual(ra[i], rb[i]) {
				t.Errorf("first difference:\n%+v\n%+v", ra[i], rb[i])
				break
			}
		}
	}
	eq := func(what string, x, y any, errs ...error) {
		t.Helper()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		if !reflect.DeepEqual(x, y) {
			t.Errorf("%s differ:\n%+v\n%+v", what, x, y)
		}
	}
	ua, e1 := a.ListUsers(ctx)
	ub, e2 := b.ListUsers(ctx)
	eq("users", ua, ub, e1, e2)
	aa, e1 := a.ListAudit(ctx, store.AuditFilter{Limit: store.MaxAuditLimit})
	ab, e2 := b.ListAudit(ctx, store.AuditFilter{Limit: store.MaxAuditLimit})
	eq("audit", aa, ab, e1, e2)
	ids := make([]string, len(ra))
	for i, r := range ra {
		ids[i] = r.ID
	}
	sa, e1 := a.Screens(ctx, ids)
	sb, e2 := b.Screens(ctx, ids)
	if len(sa) == 0 {
		t.Error("no screen rows to compare")
	}
	eq("screen rows", sa, sb, e1, e2)
	ca, e1 := a.VerifyAudit(ctx)
	cb, e2 := b.VerifyAudit(ctx)
	eq("audit chain", ca, cb, e1, e2)
	da, e1 := a.ListDeletions(ctx, time.Time{}, 1000)
	db, e2 := b.ListDeletions(ctx, time.Time{}, 1000)
	eq("deletions", da, db, e1, e2)
	ha, e1 := a.ListLegalHolds(ctx)
	hb, e2 := b.ListLegalHolds(ctx)
	eq("legal holds", ha, hb, e1, e2)
	cha, e1 := a.ListCallHolds(ctx)
	chb, e2 := b.ListCallHolds(ctx)
	eq("call holds", cha, chb, e1, e2)
	for i := range 4 {
		sa, e1 := a.GetSession(ctx, fmt.Sprintf("tok%d", i), t0)
		sb, e2 := b.GetSession(ctx, fmt.Sprintf("tok%d", i), t0)
		eq("session", sa, sb, e1, e2)
	}
	for _, f := range []store.Filter{{Agent: "AGENT1"}, {Tenant: "acme", ConnID: "006F02A2C1B3D4E5"}, {DN: "+4930*"}, {Retention: store.RetentionPending}} {
		na, e1 := a.CountRecordings(ctx, f)
		nb, e2 := b.CountRecordings(ctx, f)
		eq(fmt.Sprintf("count %+v", f), na, nb, e1, e2)
	}
}

func open(t *testing.T, url string) backend.Store {
	t.Helper()
	s, err := backend.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestCopyEndToEnd(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "openrec.db")
	fill(t, path, 120)
	to := pgtest.NewDatabase(t)
	var calls int
	rep, err := Copy(ctx, "sqlite:"+path, to, Options{Batch: 50, Progress: func(table string, done, total int64) {
		calls++
		if done > total {
			t.Errorf("progress %s: %d of %d", table, done, total)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || rep.AuditHead == "" {
		t.Errorf("progress calls %d, report %+v", calls, rep)
	}
	copied := map[string]int64{}
	for _, tc := range rep.Tables {
		copied[tc.Table] = tc.Copied
		if tc.Source != tc.Target || tc.Copied != tc.Source {
			t.Errorf("%+v", tc)
		}
	}
	if copied["recordings"] != 108 || copied["audit"] != 360 || copied["deletions"] != 12 || copied["users"] != 4 || copied["legal_holds"] == 0 || copied["call_holds"] != 1 {
		t.Errorf("copied %v", copied)
	}
	src, dst := open(t, "sqlite:"+path), open(t, to)
	same(t, src, dst)

	// The target works on: ids and the chain continue after the copied ones.
	id, err := dst.AppendAudit(ctx, store.AuditEntry{Action: store.AuditView, User: "x"})
	if err != nil || id != 361 {
		t.Errorf("AppendAudit after the copy: id %d, %v; want 361", id, err)
	}
	if c, err := dst.VerifyAudit(ctx); err != nil || c.Broken != 0 || c.Entries != 361 {
		t.Errorf("chain after a new entry: %+v %v", c, err)
	}
	if err := dst.AddEvents(ctx, "rec-0000", store.Event{Type: "x"}); err != nil {
		t.Error(err)
	}
	if err := dst.DeleteRecording(ctx, store.Deletion{RecordingID: "rec-0001"}); !errors.Is(err, store.ErrLegalHold) {
		t.Errorf("delete of a held recording after the copy: %v", err)
	}
}

// A copy killed half way (its context cancelled inside a batch) continues
// where it stopped when run again, copies no row twice, and a third run
// copies nothing.
func TestCopyResumes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "openrec.db")
	fill(t, path, 60)
	to := pgtest.NewDatabase(t)
	for _, stopIn := range []string{"recordings", "events", "audit"} {
		cctx, cancel := context.WithCancel(ctx)
		batches := 0
		_, err := Copy(cctx, "sqlite:"+path, to, Options{Batch: 7, Progress: func(table string, done, total int64) {
			if table == stopIn {
				if batches++; batches == 2 {
					cancel() // the next batch of this table fails: a kill mid-copy
				}
			}
		}})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted in %s: %v, want context.Canceled", stopIn, err)
		}
	}
	rep, err := Copy(ctx, "sqlite:"+path, to, Options{Batch: 7})
	if err != nil {
		t.Fatal(err)
	}
	var resumed int64
	for _, tc := range rep.Tables {
		if tc.Source != tc.Target {
			t.Errorf("%+v", tc)
		}
		resumed += tc.Copied
	}
	if resumed == 0 {
		t.Error("the resumed run copied nothing")
	}
	rep, err = Copy(ctx, "sqlite:"+path, to, Options{Batch: 7})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range rep.Tables {
		if tc.Copied != 0 {
			t.Errorf("third run copied %d rows of %s", tc.Copied, tc.Table)
		}
	}
	same(t, open(t, "sqlite:"+path), open(t, to))
}

// A target holding rows the source does not have is found by the counts.
func TestCopyCountMismatch(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "openrec.db")
	fill(t, path, 10)
	to := pgtest.NewDatabase(t)
	db, err := postgres.Open(ctx, to)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateRecording(ctx, &store.Recording{ID: "aaa-other", Mode: store.ModeMSR, Status: store.StatusCompleted}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Copy(ctx, "sqlite:"+path, to, Options{}); !errors.Is(err, ErrCountMismatch) {
		t.Errorf("copy into a target with other rows: %v, want ErrCountMismatch", err)
	}
}

func TestCopyBadURLs(t *testing.T) {
	ctx := context.Background()
	sqliteURL := "sqlite:" + filepath.Join(t.TempDir(), "x.db")
	for _, tc := range []struct {
		from, to string
		want     error
	}{
		{"mysql://x", "postgres://h/db", backend.ErrBadURL},
		{sqliteURL, "http://h/db", backend.ErrBadURL},
		{"sqlite:", "postgres://h/db", backend.ErrBadURL},
		{"postgres://h/a", "postgres://h/b", ErrUnsupported},
		{sqliteURL, sqliteURL, ErrUnsupported},
		{"sqlite:" + filepath.Join(t.TempDir(), "missing", "openrec.db"), "postgres://h/db", fs.ErrNotExist},
	} {
		if _, err := Copy(ctx, tc.from, tc.to, Options{}); !errors.Is(err, tc.want) {
			t.Errorf("Copy(%s, %s) = %v, want %v", tc.from, tc.to, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Dir(sqliteURL[len("sqlite:"):])); err != nil {
		t.Fatal(err)
	}
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(sqliteURL[len("sqlite:"):]), "*")); len(matches) != 0 {
		t.Errorf("a refused copy created %v", matches)
	}
}

package expire

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediastore"
	"github.com/openrec/openrec/internal/store/sqlite"
)

var testKey = []byte("test fingerprint key")

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

type fixture struct {
	db  *sqlite.DB
	dir string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "openrec.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &fixture{db: db, dir: dir}
}

// add stores a finished recording that ended `ago` before now, with its
// media, sidecar and manifest files.
func (f *fixture) add(t *testing.T, id, tenant, ani, dn string, ended time.Time, status store.Status) *store.Recording {
	t.Helper()
	media := filepath.Join(f.dir, "media", id+".wav")
	if err := os.MkdirAll(filepath.Dir(media), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{media, mediastore.Manifest(media), filepath.Join(f.dir, "media", id+".sdp")} {
		if err := os.WriteFile(p, []byte(id), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := &store.Recording{ID: id, Mode: store.ModeMSR, Status: status, RecordedDN: dn, StartedAt: ended.Add(-time.Minute),
		EndedAt: ended, DurationMS: 60000, Channels: 2, MediaPath: media,
		ExternalData: map[string]string{store.TenantKey: tenant, "GEN_TEV_ANI": ani}}
	if status == store.StatusRecording {
		r.EndedAt = time.Time{}
	}
	if err := f.db.CreateRecording(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *fixture) exists(t *testing.T, id string) (row, media bool) {
	t.Helper()
	_, err := f.db.GetRecording(context.Background(), id)
	_, ferr := os.Stat(filepath.Join(f.dir, "media", id+".wav"))
	return err == nil, ferr == nil
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestSweepRetentionPerTenantAndLegalHold(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	now := t0.Add(100 * 24 * time.Hour)
	f.add(t, "old-default", "", "+331", "5001", now.Add(-31*24*time.Hour), store.StatusCompleted)
	f.add(t, "young-default", "", "+332", "5001", now.Add(-29*24*time.Hour), store.StatusCompleted)
	f.add(t, "old-acme", "Acme", "+333", "5002", now.Add(-31*24*time.Hour), store.StatusPartial)    // Acme keeps a year
	f.add(t, "old-short", "Short", "+334", "5003", now.Add(-8*24*time.Hour), store.StatusCompleted) // Short keeps a week
	f.add(t, "held", "", "+335", "5004", now.Add(-90*24*time.Hour), store.StatusCompleted)
	f.add(t, "live", "", "+336", "5005", now.Add(-90*24*time.Hour), store.StatusRecording)
	if err := f.db.SetLegalHold(ctx, store.Hold{RecordingID: "held", Reason: "case 42", SetBy: "sue"}); err != nil {
		t.Fatal(err)
	}
	s := &Sweeper{Store: f.db, DataDir: f.dir, Now: func() time.Time { return now }, Log: quiet(),
		Policy: Policy{Default: 30 * 24 * time.Hour, Tenants: map[string]time.Duration{"acme": 365 * 24 * time.Hour, "Short": 7 * 24 * time.Hour}}}
	n, err := s.Sweep(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Sweep = %d, %v; want 2 deleted", n, err)
	}
	for id, want := range map[string]bool{"old-default": false, "old-short": false, "young-default": true, "old-acme": true, "held": true, "live": true} {
		row, media := f.exists(t, id)
		if row != want || media != want {
			t.Errorf("%s: row %v media %v, want both %v", id, row, media, want)
		}
	}
	if _, err := os.Stat(mediastore.Manifest(filepath.Join(f.dir, "media", "old-default.wav"))); !os.IsNotExist(err) {
		t.Error("the manifest of a deleted recording was left behind")
	}
	dels, _ := f.db.ListDeletions(ctx, time.Time{}, 10)
	audit, _ := f.db.ListAudit(ctx, store.AuditFilter{Action: store.AuditExpire})
	if len(dels) != 2 || len(audit) != 2 {
		t.Errorf("deletions %d, audit entries %d; want 2 and 2", len(dels), len(audit))
	}
	// Released, the held recording goes at the next sweep.
	if err := f.db.ReleaseLegalHold(ctx, "held"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Sweep(ctx); n != 1 {
		t.Errorf("after release: %d deleted, want 1", n)
	}
	// No period configured: nothing expires.
	s.Policy = Policy{}
	if n, _ := s.Sweep(ctx); n != 0 {
		t.Errorf("without a policy: %d deleted", n)
	}
}

func TestLegalHoldBlocksEveryDeletion(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	r := f.add(t, "R1", "", "+331", "5001", t0, store.StatusCompleted)
	if err := f.db.SetLegalHold(ctx, store.Hold{RecordingID: "R1", Reason: "dispute"}); err != nil {
		t.Fatal(err)
	}
	if err := Delete(ctx, f.db, Media{DataDir: f.dir}, r, "test"); !errors.Is(err, store.ErrLegalHold) {
		t.Errorf("Delete of a held recording: %v", err)
	}
	if row, media := f.exists(t, "R1"); !row || !media {
		t.Errorf("held recording touched: row %v media %v", row, media)
	}
	// The store refuses the row even to a caller that skips the check.
	if err := f.db.DeleteRecording(ctx, store.Deletion{RecordingID: "R1"}); !errors.Is(err, store.ErrLegalHold) {
		t.Errorf("store DeleteRecording of a held recording: %v", err)
	}
	if err := f.db.SetLegalHold(ctx, store.Hold{RecordingID: "nope"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("hold of an unknown recording: %v", err)
	}
	if err := f.db.ReleaseLegalHold(ctx, "R1"); err != nil {
		t.Fatal(err)
	}
	if err := f.db.ReleaseLegalHold(ctx, "R1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second release: %v", err)
	}
	if err := Delete(ctx, f.db, Media{DataDir: f.dir}, r, "test"); err != nil {
		t.Errorf("Delete after release: %v", err)
	}
}

func TestErase(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.add(t, "a1", "Acme", "+33123", "5001", t0, store.StatusCompleted)
	f.add(t, "a2", "Acme", "+33123", "5002", t0.Add(time.Hour), store.StatusPartial)
	f.add(t, "a3", "Acme", "+331234", "5001", t0, store.StatusCompleted) // another number: kept
	f.add(t, "b1", "Beta", "+33123", "6001", t0, store.StatusCompleted)  // another tenant
	f.add(t, "hold", "Acme", "+33123", "5003", t0, store.StatusCompleted)
	f.add(t, "live", "Acme", "+33123", "5004", t0, store.StatusRecording)
	if err := f.db.SetLegalHold(ctx, store.Hold{RecordingID: "hold"}); err != nil {
		t.Fatal(err)
	}
	rep, err := Erase(ctx, f.db, Media{DataDir: f.dir}, Query{ANI: "+33123", Tenant: "Acme"}, "sue", testKey, t0, quiet())
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(rep.Erased)
	if len(rep.Erased) != 2 || rep.Erased[0] != "a1" || rep.Erased[1] != "a2" || len(rep.Held) != 1 || len(rep.InProgress) != 1 {
		t.Errorf("report %+v", rep)
	}
	for id, want := range map[string]bool{"a1": false, "a2": false, "a3": true, "b1": true, "hold": true, "live": true} {
		if row, _ := f.exists(t, id); row != want {
			t.Errorf("%s: row %v, want %v", id, row, want)
		}
	}
	all, _ := f.db.ListAudit(ctx, store.AuditFilter{})
	for _, e := range all {
		if e.Action == store.AuditErasure && (e.Detail == "" || containsAny(e.Detail, "+33123", "33123")) {
			t.Errorf("erasure audit keeps the number: %q", e.Detail)
		}
	}
	for _, q := range []Query{{}, {ANI: "+33*"}, {ANI: "1", DN: "2"}} {
		if _, err := Erase(ctx, f.db, Media{DataDir: f.dir}, q, "sue", testKey, t0, quiet()); !errors.Is(err, ErrQuery) {
			t.Errorf("query %+v: %v", q, err)
		}
	}
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		for i := 0; i+len(x) <= len(s); i++ {
			if s[i:i+len(x)] == x {
				return true
			}
		}
	}
	return false
}

// holdAfterCheck is the store as a hold placed in the gap between
// Delete's hold check and its deletion sees it: LegalHold answers "not
// held", then the hold lands (an API request racing the sweeper).
type holdAfterCheck struct{ *sqlite.DB }

func (h holdAfterCheck) LegalHold(ctx context.Context, id string) (store.Hold, bool, error) {
	hold, ok, err := h.DB.LegalHold(ctx, id)
	if err == nil && !ok {
		err = h.DB.SetLegalHold(ctx, store.Hold{RecordingID: id, Reason: "set while the sweep ran"})
	}
	return hold, ok, err
}

// A hold that lands while a deletion is under way must leave the recording
// whole: its row and its files (before, the files went and the row stayed,
// a held recording without audio).
func TestLegalHoldRacingDeleteKeepsFiles(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	r := f.add(t, "R1", "", "+331", "5001", t0, store.StatusCompleted)
	if err := Delete(ctx, holdAfterCheck{f.db}, Media{DataDir: f.dir}, r, "test"); !errors.Is(err, store.ErrLegalHold) {
		t.Errorf("Delete with a hold landing meanwhile: %v, want ErrLegalHold", err)
	}
	row, media := f.exists(t, "R1")
	if !row || !media {
		t.Fatalf("held recording torn: row %v media %v", row, media)
	}
	for _, p := range mediastore.Files(r, f.dir)[2:4] { // sdp, manifest
		if _, err := os.Stat(p); err != nil {
			t.Errorf("held recording lost %s: %v", filepath.Base(p), err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(f.dir, "media", "*"+mediastore.DeletingSuffix)); len(left) != 0 {
		t.Errorf("files left aside: %v", left)
	}
	// Released, it goes whole.
	if err := f.db.ReleaseLegalHold(ctx, "R1"); err != nil {
		t.Fatal(err)
	}
	if err := Delete(ctx, f.db, Media{DataDir: f.dir}, r, "test"); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(f.dir, "media", "*")); len(left) != 0 {
		t.Errorf("files left after deletion: %v", left)
	}
}

// Files set aside by a deletion that never finished (a crash between the
// files and the row) come back at the next attempt on that recording.
func TestDeleteRestoresFilesSetAside(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	r := f.add(t, "R1", "", "+331", "5001", t0, store.StatusCompleted)
	if err := f.db.SetLegalHold(ctx, store.Hold{RecordingID: "R1", Reason: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(r.MediaPath, r.MediaPath+mediastore.DeletingSuffix); err != nil {
		t.Fatal(err)
	}
	if err := Delete(ctx, f.db, Media{DataDir: f.dir}, r, "test"); !errors.Is(err, store.ErrLegalHold) {
		t.Errorf("Delete of a held recording: %v", err)
	}
	if _, media := f.exists(t, "R1"); !media {
		t.Errorf("media set aside by an unfinished deletion not restored")
	}
}

// An erased party's number must not survive in the database file: SQLite
// leaves deleted rows' bytes in free pages (and the WAL) unless it
// overwrites them, where `strings openrec.db` finds them.
func TestEraseLeavesNoTraceInTheDatabaseFile(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	const ani = "+33177755501"
	for i, id := range []string{"E1", "E2", "E3"} {
		f.add(t, id, "", ani, "500"+string(rune('1'+i)), t0, store.StatusCompleted)
	}
	f.add(t, "K1", "", "+33100000000", "5009", t0, store.StatusCompleted)
	rep, err := Erase(ctx, f.db, Media{DataDir: f.dir}, Query{ANI: ani}, "root", testKey, t0, quiet())
	if err != nil || len(rep.Erased) != 3 {
		t.Fatalf("erase: %v %+v", err, rep)
	}
	for _, name := range []string{"openrec.db", "openrec.db-wal"} {
		b, err := os.ReadFile(filepath.Join(f.dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), ani); n > 0 {
			t.Errorf("%s still holds the erased number %d times", name, n)
		}
	}
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(f.dir, "openrec.db"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), ani); n > 0 {
		t.Errorf("openrec.db holds the erased number %d times after close", n)
	}
}

// The audit log's fingerprint of an erased party is keyed with a server
// secret: an unkeyed hash of a phone number is undone by hashing every
// number of the plan (10^9 hashes, seconds), which would put the erased
// number back in the log. With the key it stays comparable (the same
// number, the same fingerprint), so an auditor holding the key can check
// a given number was erased.
func TestErasureFingerprintIsKeyed(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	const ani = "+33612345678"
	f.add(t, "a1", "", ani, "5001", t0, store.StatusCompleted)
	key1, key2 := []byte("server secret one"), []byte("server secret two")
	if _, err := Erase(ctx, f.db, Media{DataDir: f.dir}, Query{ANI: ani}, "sue", key1, t0, quiet()); err != nil {
		t.Fatal(err)
	}
	if _, err := Erase(ctx, f.db, Media{DataDir: f.dir}, Query{ANI: ani}, "sue", key2, t0, quiet()); err != nil {
		t.Fatal(err)
	}
	if _, err := Erase(ctx, f.db, Media{DataDir: f.dir}, Query{ANI: ani}, "sue", key1, t0, quiet()); err != nil {
		t.Fatal(err)
	}
	all, _ := f.db.ListAudit(ctx, store.AuditFilter{Action: store.AuditErasure})
	if len(all) != 3 {
		t.Fatalf("%d erasure entries, want 3", len(all))
	}
	sum := sha256.Sum256([]byte(ani))
	for _, unkeyed := range []string{fmt.Sprintf("%x", sum[:4]), fmt.Sprintf("%x", sum[28:])} {
		for _, e := range all {
			if strings.Contains(e.Detail, unkeyed) {
				t.Errorf("erasure audit %q holds an unkeyed hash of the number", e.Detail)
			}
		}
	}
	fp := func(e store.AuditEntry) string { return strings.Fields(e.Detail)[2] } // "ani fingerprint <fp>: ..."
	// newest first: key1, key2, key1
	if fp(all[0]) != fp(all[2]) || fp(all[0]) == fp(all[1]) {
		t.Errorf("fingerprints %q %q %q: want the same for one key, another for another key", fp(all[0]), fp(all[1]), fp(all[2]))
	}
	if want := store.Fingerprint(key1, ani); !strings.HasPrefix(all[0].Detail, "ani fingerprint "+want+":") {
		t.Errorf("detail %q, want it to carry store.Fingerprint(key, number) %s", all[0].Detail, want)
	}
}

// An erased recording's audio must not live on as a cached MP3 (the
// server prunes its cache only every few minutes, and not at all while it
// is stopped, when `openrec recordings erase` runs alone). Another
// recording's cached MP3 stays.
func TestEraseRemovesCachedMP3(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.add(t, "a1", "", "+33155500001", "5001", t0, store.StatusCompleted)
	f.add(t, "a10", "", "+33155500002", "5002", t0, store.StatusCompleted)
	cache := filepath.Join(f.dir, mediastore.MP3CacheDir)
	if err := os.MkdirAll(cache, 0o700); err != nil {
		t.Fatal(err)
	}
	mp3s := []string{"a1-0123abcd.all.16k.mp3", "a1-0123abcd.ch0.8k.mp3", "a10-4567ef01.all.16k.mp3"}
	for _, n := range mp3s {
		if err := os.WriteFile(filepath.Join(cache, n), []byte("mp3"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if rep, err := Erase(ctx, f.db, Media{DataDir: f.dir}, Query{ANI: "+33155500001"}, "sue", testKey, t0, quiet()); err != nil || len(rep.Erased) != 1 {
		t.Fatalf("erase: %v %+v", err, rep)
	}
	for i, n := range mp3s {
		_, err := os.Stat(filepath.Join(cache, n))
		if kept := err == nil; kept != (i == 2) {
			t.Errorf("%s: kept %v, want %v", n, kept, i == 2)
		}
	}
}

// Issue 13: retention periods per rule. The winning rule (GEN_REC_RULE)
// decides before the tenant and the default; 0 keeps for ever; the rules
// in force are read at every sweep; a recording whose rule is gone falls
// back to its tenant's period, then the default.
func TestSweepRetentionPerRule(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	now := t0.Add(400 * 24 * time.Hour)
	withRule := func(id, tenant, rule string, ago time.Duration) {
		r := f.add(t, id, tenant, "+33"+id, "5001", now.Add(-ago), store.StatusCompleted)
		if rule != "" {
			r.ExternalData[store.RuleKey] = rule
			if err := f.db.UpdateRecording(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	day := 24 * time.Hour
	withRule("short-rule", "Acme", "Short", 3*day)       // rule: 2 days, tenant a year
	withRule("young-rule", "", "short", 1*day)           // rule names match case-insensitively
	withRule("forever-rule", "", "Complaints", 300*day)  // rule 0: for ever, default 30 days
	withRule("no-period-rule", "", "All", 31*day)        // the rule sets none: the default
	withRule("acme-no-rule", "Acme", "", 31*day)         // tenant: a year
	withRule("gone-rule", "Acme", "Removed", 31*day)     // the rule is gone: the tenant's year
	withRule("gone-rule-default", "", "Removed", 31*day) // ... or the default
	rules := map[string]time.Duration{"Short": 2 * day, "Complaints": 0}
	s := &Sweeper{Store: f.db, DataDir: f.dir, Now: func() time.Time { return now }, Log: quiet(),
		Policy: Policy{Default: 30 * day, Tenants: map[string]time.Duration{"Acme": 365 * day}},
		Rules:  func() map[string]time.Duration { return rules }}
	if n, err := s.Sweep(ctx); err != nil || n != 3 {
		t.Fatalf("Sweep = %d, %v; want 3 deleted", n, err)
	}
	for id, want := range map[string]bool{"short-rule": false, "young-rule": true, "forever-rule": true, "no-period-rule": false,
		"acme-no-rule": true, "gone-rule": true, "gone-rule-default": false} {
		if row, media := f.exists(t, id); row != want || media != want {
			t.Errorf("%s: row %v media %v, want both %v", id, row, media, want)
		}
	}
	audit, _ := f.db.ListAudit(ctx, store.AuditFilter{Action: store.AuditExpire, RecordingID: "short-rule"})
	if len(audit) != 1 || !strings.Contains(audit[0].Detail, `rule "Short"`) {
		t.Errorf("audit of a rule's expiry: %+v, want the rule named", audit)
	}
	// A rule's period changes: the next sweep follows it, even with no
	// default or tenant period at all.
	rules = map[string]time.Duration{"Complaints": 100 * day}
	s.Policy = Policy{}
	if n, _ := s.Sweep(ctx); n != 1 {
		t.Errorf("after the rule changed: %d deleted, want 1", n)
	}
	if row, _ := f.exists(t, "forever-rule"); row {
		t.Error("forever-rule kept after its rule got a period")
	}
}

// Issue 18: a recording's screen video (complete or still uploading) and
// its row go with the recording.
func TestDeleteRemovesScreenVideo(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	r := f.add(t, "S1", "", "+331", "5001", t0, store.StatusCompleted)
	video := mediastore.Screen(r.MediaPath)
	for _, p := range []string{video, mediastore.Part(video)} {
		if err := os.WriteFile(p, []byte("webm"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.db.PutScreen(ctx, &store.Screen{RecordingID: "S1", Total: 4, Held: store.Ranges{}.Add(0, 3), Complete: true}); err != nil {
		t.Fatal(err)
	}
	if err := Delete(ctx, f.db, Media{DataDir: f.dir}, r, "test"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{video, mediastore.Part(video)} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left after deletion: %v", filepath.Base(p), err)
		}
	}
	if _, err := f.db.GetScreen(ctx, "S1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("screen row left: %v", err)
	}
}

package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/seal"
)

// Issue 13: legal hold and erasure from the command line.
func TestRecordingsHoldAndErase(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, id := range []string{"r1", "r2"} {
		media := filepath.Join(dir, "media", id+".wav")
		if err := os.MkdirAll(filepath.Dir(media), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(media, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateRecording(ctx, &store.Recording{ID: id, Mode: store.ModeMSR, Status: store.StatusCompleted, StartedAt: t0,
			EndedAt: t0.Add(time.Minute), MediaPath: media, ExternalData: map[string]string{"GEN_TEV_ANI": "+4420000"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := runAdmin(t, "", "recordings", "erase", "--ani", "+4420000", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "no server key") {
		t.Errorf("erase in a data dir the server never ran in: %v, want no server key", err)
	}
	key, err := seal.LoadOrCreateKey(filepath.Join(dir, "keys")) // what the server makes at its first start
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := runAdmin(t, "", "recordings", "hold", "r1", "--reason", "case 1\nr2  forged row", "--data-dir", dir); !errors.Is(err, store.ErrHoldReason) {
		t.Errorf("hold with a two-line reason: %v, want ErrHoldReason", err)
	}
	if _, _, err := runAdmin(t, "", "recordings", "hold", "r1", "--data-dir", dir); !errors.Is(err, errNoReason) {
		t.Errorf("hold without a reason: %v", err)
	}
	if _, _, err := runAdmin(t, "", "recordings", "hold", "nope", "--reason", "x", "--data-dir", dir); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("hold of an unknown recording: %v", err)
	}
	if out, _, err := runAdmin(t, "", "recordings", "hold", "r1", "--reason", "case 12", "--data-dir", dir); err != nil || !strings.Contains(out, "legal hold") {
		t.Fatalf("hold: %v %q", err, out)
	}
	if out, _, _ := runAdmin(t, "", "recordings", "holds", "--data-dir", dir); !strings.Contains(out, "r1") || !strings.Contains(out, "case 12") {
		t.Errorf("holds: %q", out)
	}
	out, _, err := runAdmin(t, "", "recordings", "erase", "--ani", "+4420000", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "erased r2") || !strings.Contains(out, "kept r1: on legal hold") {
		t.Errorf("erase: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "media", "r1.wav")); err != nil {
		t.Errorf("held media: %v", err)
	}
	if _, _, err := runAdmin(t, "", "recordings", "erase", "--ani", "+44*", "--data-dir", dir); err == nil {
		t.Error("erase by pattern accepted")
	}
	if _, _, err := runAdmin(t, "", "recordings", "release", "r1", "--data-dir", dir); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runAdmin(t, "", "recordings", "release", "r1", "--data-dir", dir); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second release: %v", err)
	}
	if out, _, err := runAdmin(t, "", "recordings", "erase", "--ani", "+4420000", "--data-dir", dir); err != nil || !strings.Contains(out, "erased r1") {
		t.Errorf("erase after release: %v %q", err, out)
	}
	audit, _ := db.ListAudit(ctx, store.AuditFilter{})
	got := map[string]int{}
	for _, e := range audit {
		got[e.Action]++
		if strings.Contains(e.Detail, "4420000") {
			t.Errorf("audit keeps the number: %+v", e)
		}
	}
	if got[store.AuditLegalHold] != 1 || got[store.AuditHoldRelease] != 1 || got[store.AuditErase] != 2 || got[store.AuditErasure] != 2 {
		t.Errorf("audit: %v", got)
	}
	// The same keyed fingerprint as the server's API writes.
	want := "ani fingerprint " + store.Fingerprint(seal.FingerprintKey(key), "+4420000") + ":"
	for _, e := range audit {
		if e.Action == store.AuditErasure && !strings.HasPrefix(e.Detail, want) {
			t.Errorf("erasure audit %q, want it to start %q", e.Detail, want)
		}
	}
}

// Issue 13: a legal hold on a whole call from the command line, as the API
// does: every recording of the call is held (and audited), and released.
func TestRecordingsHoldCall(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, r := range []struct{ id, call string }{{"c1a", "CALL-1"}, {"c1b", "CALL-1"}, {"c2", "CALL-2"}} {
		if err := db.CreateRecording(ctx, &store.Recording{ID: r.id, CallUUID: r.call, Mode: store.ModeMSR, Status: store.StatusCompleted,
			StartedAt: t0, EndedAt: t0.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := runAdmin(t, "", "recordings", "hold", "c2", "--call", "CALL-1", "--reason", "x", "--data-dir", dir); !errors.Is(err, errHoldTarget) {
		t.Errorf("hold of an id and a call: %v, want errHoldTarget", err)
	}
	if _, _, err := runAdmin(t, "", "recordings", "hold", "--reason", "x", "--data-dir", dir); !errors.Is(err, errHoldTarget) {
		t.Errorf("hold of nothing: %v, want errHoldTarget", err)
	}
	if _, _, err := runAdmin(t, "", "recordings", "hold", "--call", "NOPE", "--reason", "x", "--data-dir", dir); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("hold of an unknown call: %v, want ErrNotFound", err)
	}
	out, _, err := runAdmin(t, "", "recordings", "hold", "--call", "CALL-1", "--reason", "case 7", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "c1a is on legal hold") || !strings.Contains(out, "c1b is on legal hold") || strings.Contains(out, "c2") {
		t.Fatalf("hold --call: %v\n%s", err, out)
	}
	// The call goes on: its next recording is held too.
	if err := db.CreateRecording(ctx, &store.Recording{ID: "c1c", CallUUID: "CALL-1", Mode: store.ModeMSR, Status: store.StatusRecording, StartedAt: t0}); err != nil {
		t.Fatal(err)
	}
	hs, _ := db.ListLegalHolds(ctx)
	if len(hs) != 3 {
		t.Fatalf("holds: %+v", hs)
	}
	if out, _, _ := runAdmin(t, "", "recordings", "holds", "--data-dir", dir); !strings.Contains(out, "CALL-1") || !strings.Contains(out, "c1c") {
		t.Errorf("holds list: %q", out)
	}
	out, _, err = runAdmin(t, "", "recordings", "release", "--call", "CALL-1", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "released the legal hold on c1a") || !strings.Contains(out, "released the legal hold on c1c") {
		t.Fatalf("release --call: %v\n%s", err, out)
	}
	if _, _, err := runAdmin(t, "", "recordings", "release", "--call", "CALL-1", "--data-dir", dir); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second release of the call: %v, want ErrNotFound", err)
	}
	audit, _ := db.ListAudit(ctx, store.AuditFilter{})
	got := map[string]int{}
	for _, e := range audit {
		got[e.Action]++
	}
	// one entry per recording held (two) and released (three), one per call hold and release
	if got[store.AuditLegalHold] != 3 || got[store.AuditHoldRelease] != 4 {
		t.Errorf("audit: %v", got)
	}
}

// Issue 13: every view of call metadata is audited, from the command line
// too: recordings show (view) and recordings list (search, with its
// filters).
func TestRecordingsListAndShowAudited(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	if err := db.CreateRecording(ctx, &store.Recording{ID: "v1", Mode: store.ModeMSR, Status: store.StatusCompleted, RecordedDN: "5001",
		StartedAt: t0, EndedAt: t0.Add(time.Minute), ExternalData: map[string]string{store.TenantKey: "Acme"}}); err != nil {
		t.Fatal(err)
	}
	if out, _, err := runAdmin(t, "", "recordings", "show", "v1", "--data-dir", dir); err != nil || !strings.Contains(out, "v1") {
		t.Fatalf("show: %v %q", err, out)
	}
	if out, _, err := runAdmin(t, "", "recordings", "list", "--dn", "5001", "--limit", "5", "--data-dir", dir); err != nil || !strings.Contains(out, "v1") {
		t.Fatalf("list: %v %q", err, out)
	}
	audit, _ := db.ListAudit(ctx, store.AuditFilter{})
	got := map[string]string{}
	for _, e := range audit {
		if !strings.HasPrefix(e.User, "cli") {
			t.Errorf("audit user %q", e.User)
		}
		got[e.Action] = e.RecordingID + "|" + e.Detail + "|" + e.Tenant
	}
	if got[store.AuditView] != "v1||Acme" || got[store.AuditSearch] != "|dn=5001 limit=5|" {
		t.Errorf("audit %v", got)
	}
}

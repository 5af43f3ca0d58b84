package api_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/expire"
	"github.com/openrec/openrec/internal/store/sqlite"
	"github.com/openrec/openrec/internal/web/api"
)

// eraser runs expire.Erase on the test store (what internal/app does).
type eraser struct {
	db  *sqlite.DB
	dir string
}

func (e eraser) Erase(ctx context.Context, q expire.Query, actor string) (expire.Report, error) {
	return expire.Erase(ctx, e.db, expire.Media{DataDir: e.dir}, q, actor, []byte("test key"), time.Now(), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// Issue 13: legal hold on a recording or a call (API), which blocks every
// deletion, and erasure of a party's recordings with an audited report.
func TestLegalHoldAndErasureAPI(t *testing.T) {
	var e *env
	e = newEnv(t, func(c *api.Config) {
		c.Holds = c.Store.(*sqlite.DB)
		c.Eraser = eraser{db: c.Store.(*sqlite.DB), dir: c.DataDir}
	})
	sup, root, agent := e.token("supa"), e.token("root"), e.token("agent1")
	if code := e.do(agent, "POST", "/api/v1/holds", map[string]string{"recording_id": "rec-a1", "reason": "x"}, nil); code != 403 {
		t.Errorf("agent sets a hold: %d, want 403", code)
	}
	if code := e.do(sup, "POST", "/api/v1/holds", map[string]string{"recording_id": "rec-b1", "reason": "x"}, nil); code != 404 {
		t.Errorf("supervisor holds another tenant's recording: %d, want 404", code)
	}
	for _, bad := range []map[string]string{{"recording_id": "rec-a1"}, {"reason": "x"}, {"recording_id": "rec-a1", "call_uuid": "UUID-rec-a1", "reason": "x"}} {
		if code := e.do(sup, "POST", "/api/v1/holds", bad, nil); code != 400 {
			t.Errorf("hold %v: %d, want 400", bad, code)
		}
	}
	var held struct{ Held []string }
	if code := e.do(sup, "POST", "/api/v1/holds", map[string]string{"call_uuid": "UUID-rec-a1", "reason": "complaint 7"}, &held); code != 200 || len(held.Held) != 1 || held.Held[0] != "rec-a1" {
		t.Fatalf("hold by call: %d %+v", code, held)
	}
	var detail struct {
		LegalHold *struct {
			Reason string
			SetBy  string `json:"set_by"`
		} `json:"legal_hold"`
	}
	e.do(sup, "GET", "/api/v1/recordings/rec-a1", nil, &detail)
	if detail.LegalHold == nil || detail.LegalHold.Reason != "complaint 7" || detail.LegalHold.SetBy != "supa" {
		t.Errorf("detail legal_hold = %+v", detail.LegalHold)
	}
	var list struct {
		Items []struct {
			RecordingID string `json:"recording_id"`
		}
	}
	if e.do(e.token("supb"), "GET", "/api/v1/holds", nil, &list); len(list.Items) != 0 {
		t.Errorf("another tenant's supervisor sees holds: %+v", list)
	}
	// Erasure of the customer +33123456789 (rec-a1, held) and +33999000111 (rec-a2).
	if code := e.do(sup, "POST", "/api/v1/admin/erasure", map[string]string{"ani": "+33123456789"}, nil); code != 403 {
		t.Errorf("supervisor erases: %d, want 403", code)
	}
	if code := e.do(root, "POST", "/api/v1/admin/erasure", map[string]string{"ani": "+33*"}, nil); code != 400 {
		t.Errorf("erasure by pattern: %d, want 400", code)
	}
	var rep struct{ Erased, Held []string }
	if code := e.do(root, "POST", "/api/v1/admin/erasure", map[string]string{"ani": "+33123456789"}, &rep); code != 200 || len(rep.Erased) != 0 || len(rep.Held) != 1 {
		t.Errorf("erasure of a held recording's party: %d %+v", code, rep)
	}
	if _, err := os.Stat(e.recs["rec-a1"].MediaPath); err != nil {
		t.Errorf("held media touched: %v", err)
	}
	if code := e.do(root, "POST", "/api/v1/admin/erasure", map[string]string{"ani": "+33999000111"}, &rep); code != 200 || len(rep.Erased) != 1 || rep.Erased[0] != "rec-a2" {
		t.Errorf("erasure: %d %+v", code, rep)
	}
	if code := e.do(root, "GET", "/api/v1/recordings/rec-a2", nil, nil); code != 404 {
		t.Errorf("erased recording still served: %d", code)
	}
	if _, err := os.Stat(e.recs["rec-a2"].MediaPath); !os.IsNotExist(err) {
		t.Errorf("erased media still on disk: %v", err)
	}
	// Release, then the erasure goes through.
	if code := e.do(sup, "DELETE", "/api/v1/holds/rec-a1", nil, nil); code != 204 {
		t.Errorf("release: %d", code)
	}
	if code := e.do(sup, "DELETE", "/api/v1/holds/rec-a1", nil, nil); code != 404 {
		t.Errorf("second release: %d, want 404", code)
	}
	e.do(root, "POST", "/api/v1/admin/erasure", map[string]string{"ani": "+33123456789"}, &rep)
	if len(rep.Erased) != 1 {
		t.Errorf("erasure after release: %+v", rep)
	}
	var audit struct {
		Items []struct{ Action, Detail string }
	}
	e.do(root, "GET", "/api/v1/audit?limit=1000", nil, &audit)
	seen := map[string]int{}
	for _, it := range audit.Items {
		seen[it.Action]++
		if it.Action == "erasure" && (it.Detail == "" || contains(it.Detail, "33123456789")) {
			t.Errorf("erasure audit: %q", it.Detail)
		}
	}
	if seen["legal_hold"] != 2 || seen["hold_release"] != 1 || seen["erase"] != 2 || seen["erasure"] != 3 {
		t.Errorf("audit actions %v", seen)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// A hold's reason is shown by `openrec recordings holds` in an admin's
// terminal and in the audit log: control characters (newlines that forge
// table rows, ESC sequences that drive the terminal) are refused, and the
// 500-character limit counts characters, not bytes.
func TestLegalHoldReasonRefusesControlCharacters(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.Holds = c.Store.(*sqlite.DB) })
	sup := e.token("supa")
	for _, reason := range []string{"case 7\nrec-b1  2026-01-01  root  forged", "\x1b[2J\x1b[31mred", "nul\x00", "del\x7f", "c1\u0085x", "bidi\u202eevil"} {
		if code := e.do(sup, "POST", "/api/v1/holds", map[string]string{"recording_id": "rec-a1", "reason": reason}, nil); code != 400 {
			t.Errorf("reason %q: %d, want 400", reason, code)
		}
	}
	if code := e.do(sup, "POST", "/api/v1/holds", map[string]string{"recording_id": "rec-a1", "reason": strings.Repeat("é", 500)}, nil); code != 200 {
		t.Errorf("500 two-byte characters: %d, want 200", code)
	}
	if code := e.do(sup, "POST", "/api/v1/holds", map[string]string{"recording_id": "rec-a1", "reason": "Beschwerde Nr. 7 — Müller"}, nil); code != 200 {
		t.Errorf("plain reason: %d, want 200", code)
	}
}

// Issue 13: a hold on a call also holds the recordings the call makes
// afterwards, is listed, and is released as a whole (by a user who sees
// the call), audited.
func TestCallHoldAPI(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.Holds = c.Store.(*sqlite.DB) })
	sup, supb, root := e.token("supa"), e.token("supb"), e.token("root")
	var held struct {
		Held     []string
		CallUUID string `json:"call_uuid"`
	}
	if code := e.do(sup, "POST", "/api/v1/holds", map[string]string{"call_uuid": "UUID-rec-a1", "reason": "case 8"}, &held); code != 200 || len(held.Held) != 1 || held.CallUUID != "UUID-rec-a1" {
		t.Fatalf("hold by call: %d %+v", code, held)
	}
	// The call goes on: a consultation recorded afterwards is held too.
	later := *e.recs["rec-a1"]
	later.ID, later.Status, later.EndedAt = "rec-a1-later", store.StatusRecording, time.Time{}
	later.ExternalData = map[string]string{store.TenantKey: "TenantA"}
	if err := e.db.CreateRecording(context.Background(), &later); err != nil {
		t.Fatal(err)
	}
	var detail struct {
		LegalHold *struct {
			Reason   string
			CallUUID string `json:"call_uuid"`
		} `json:"legal_hold"`
	}
	e.do(sup, "GET", "/api/v1/recordings/rec-a1-later", nil, &detail)
	if detail.LegalHold == nil || detail.LegalHold.Reason != "case 8" || detail.LegalHold.CallUUID != "UUID-rec-a1" {
		t.Errorf("later recording of the held call: legal_hold %+v", detail.LegalHold)
	}
	var list struct {
		Items []struct {
			RecordingID string `json:"recording_id"`
		}
		Calls []struct {
			CallUUID string `json:"call_uuid"`
			Reason   string
		}
	}
	e.do(sup, "GET", "/api/v1/holds", nil, &list)
	if len(list.Items) != 2 || len(list.Calls) != 1 || list.Calls[0].CallUUID != "UUID-rec-a1" || list.Calls[0].Reason != "case 8" {
		t.Errorf("holds: %+v", list)
	}
	list.Calls = nil
	if e.do(supb, "GET", "/api/v1/holds", nil, &list); len(list.Calls) != 0 {
		t.Errorf("another tenant's supervisor sees the call hold: %+v", list.Calls)
	}
	if code := e.do(supb, "DELETE", "/api/v1/holds/call/UUID-rec-a1", nil, nil); code != 404 {
		t.Errorf("another tenant's supervisor releases the call: %d, want 404", code)
	}
	var rel struct{ Released []string }
	if code := e.do(sup, "DELETE", "/api/v1/holds/call/UUID-rec-a1", nil, &rel); code != 200 || len(rel.Released) != 2 {
		t.Errorf("release the call: %d %+v", code, rel)
	}
	if code := e.do(sup, "DELETE", "/api/v1/holds/call/UUID-rec-a1", nil, nil); code != 404 {
		t.Errorf("second release of the call: %d, want 404", code)
	}
	var audit struct {
		Items []struct {
			Action, Detail string
			RecordingID    string `json:"recording_id"`
		}
	}
	e.do(root, "GET", "/api/v1/audit?limit=1000", nil, &audit)
	got := map[string]int{}
	for _, it := range audit.Items {
		if it.Action == "legal_hold" || it.Action == "hold_release" {
			key := it.Action + " " + it.RecordingID
			if it.RecordingID == "" {
				key = it.Action + " " + it.Detail
			}
			got[key]++
		}
	}
	want := map[string]int{"legal_hold rec-a1": 1, "legal_hold call UUID-rec-a1: case 8": 1,
		"hold_release rec-a1": 1, "hold_release rec-a1-later": 1, "hold_release call UUID-rec-a1": 1}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("audit %q: %d, want %d (all %v)", k, got[k], n, got)
		}
	}
}

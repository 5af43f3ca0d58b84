package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
)

// Conformance tests of legal holds and of the audit log's hash chain: what
// `openrec recordings hold`, erasure, retention and `openrec verify` rely
// on, in every store.

// HoldStore is a Store with legal holds and the audit chain's checks.
type HoldStore interface {
	Store
	SetLegalHold(ctx context.Context, h store.Hold) error
	ReleaseLegalHold(ctx context.Context, id string) error
	LegalHold(ctx context.Context, id string) (store.Hold, bool, error)
	ListLegalHolds(ctx context.Context) ([]store.Hold, error)
	SetCallHold(ctx context.Context, h store.CallHold) ([]string, error)
	ReleaseCallHold(ctx context.Context, callUUID string) ([]string, error)
	ListCallHolds(ctx context.Context) ([]store.CallHold, error)

	AuditHead(ctx context.Context) (id int64, hash string, err error)
	VerifyAudit(ctx context.Context) (store.AuditCheck, error)
	AuditHashAt(ctx context.Context, id int64) (string, error)
}

// RunHolds runs the legal hold and audit chain tests; newStore returns a
// fresh, empty store for each.
func RunHolds(t *testing.T, newStore func(t *testing.T) HoldStore) {
	for _, tt := range []struct {
		name string
		fn   func(t *testing.T, s HoldStore)
	}{
		{"LegalHold", testLegalHold},
		{"CallHold", testCallHold},
		{"AuditChain", testAuditChain},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { _ = s.Close() })
			tt.fn(t, s)
		})
	}
}

func holdRec(t *testing.T, s HoldStore, id, call string) *store.Recording {
	t.Helper()
	r := &store.Recording{ID: id, CallUUID: call, Mode: store.ModeSIPREC, Status: store.StatusRecording, StartedAt: base}
	create(t, s, r)
	return r
}

func isHeld(t *testing.T, s HoldStore, id string) (store.Hold, bool) {
	t.Helper()
	h, ok, err := s.LegalHold(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return h, ok
}

// A held recording cannot be deleted until the hold is released; setting
// a hold again updates it; unknown recordings and holds are ErrNotFound.
func testLegalHold(t *testing.T, s HoldStore) {
	ctx := context.Background()
	holdRec(t, s, "r1", "")
	holdRec(t, s, "r2", "")
	if err := s.SetLegalHold(ctx, store.Hold{RecordingID: "nope", Reason: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("hold of an unknown recording: %v, want ErrNotFound", err)
	}
	if err := s.SetLegalHold(ctx, store.Hold{RecordingID: "r1", Reason: "case 1", SetBy: "sue", SetAt: base}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLegalHold(ctx, store.Hold{RecordingID: "r1", Reason: "case 2", SetBy: "bob", SetAt: base.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if h, ok := isHeld(t, s, "r1"); !ok || h.Reason != "case 2" || h.SetBy != "bob" || !h.SetAt.Equal(base.Add(time.Minute)) || h.CallUUID != "" {
		t.Errorf("hold after setting it again: %+v %v", h, ok)
	}
	if _, ok := isHeld(t, s, "r2"); ok {
		t.Error("r2 held")
	}
	if err := s.DeleteRecording(ctx, store.Deletion{RecordingID: "r1", Reason: "retention"}); !errors.Is(err, store.ErrLegalHold) {
		t.Errorf("delete of a held recording: %v, want ErrLegalHold", err)
	}
	get(t, s, "r1")
	if ds := listDeletions(t, s, time.Time{}, 0); len(ds) != 0 {
		t.Errorf("a refused deletion was logged: %+v", ds)
	}
	hs, err := s.ListLegalHolds(ctx)
	if err != nil || len(hs) != 1 || hs[0].RecordingID != "r1" {
		t.Errorf("ListLegalHolds = %+v, %v", hs, err)
	}
	if err := s.ReleaseLegalHold(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseLegalHold(ctx, "r1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second release: %v, want ErrNotFound", err)
	}
	if err := s.DeleteRecording(ctx, store.Deletion{RecordingID: "r1", Reason: "retention"}); err != nil {
		t.Errorf("delete after the release: %v", err)
	}
}

// A call's hold holds every recording of the call, also those it makes
// later, and releasing it releases only what it held.
func testCallHold(t *testing.T, s HoldStore) {
	ctx := context.Background()
	holdRec(t, s, "a1", "CALL-A")
	holdRec(t, s, "a2", "CALL-A")
	holdRec(t, s, "b1", "CALL-B")
	if err := s.SetLegalHold(ctx, store.Hold{RecordingID: "a2", Reason: "own", SetBy: "sue", SetAt: base}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetCallHold(ctx, store.CallHold{CallUUID: "NONE", Reason: "x", SetBy: "sue", SetAt: base}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("hold of a call without recordings: %v, want ErrNotFound", err)
	}
	ids, err := s.SetCallHold(ctx, store.CallHold{CallUUID: "CALL-A", Reason: "case 5", SetBy: "boss", SetAt: base})
	if err != nil || !slices.Equal(ids, []string{"a1", "a2"}) {
		t.Fatalf("SetCallHold = %v, %v; want a1 a2", ids, err)
	}
	if h, ok := isHeld(t, s, "a1"); !ok || h.Reason != "case 5" || h.CallUUID != "CALL-A" {
		t.Errorf("a1: %+v %v", h, ok)
	}
	if h, _ := isHeld(t, s, "a2"); h.Reason != "own" || h.CallUUID != "" {
		t.Errorf("a2's own hold replaced: %+v", h)
	}
	if _, ok := isHeld(t, s, "b1"); ok {
		t.Error("another call's recording held")
	}
	holdRec(t, s, "a3", "CALL-A")
	late := holdRec(t, s, "x1", "")
	late.CallUUID = "CALL-A"
	if err := s.UpdateRecording(ctx, late); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a3", "x1"} {
		if h, ok := isHeld(t, s, id); !ok || h.CallUUID != "CALL-A" || h.Reason != "case 5" {
			t.Errorf("%s, made after the call's hold: %+v %v", id, h, ok)
		}
		if err := s.DeleteRecording(ctx, store.Deletion{RecordingID: id}); !errors.Is(err, store.ErrLegalHold) {
			t.Errorf("%s deleted while its call is held: %v", id, err)
		}
	}
	chs, err := s.ListCallHolds(ctx)
	if err != nil || len(chs) != 1 || chs[0].CallUUID != "CALL-A" || chs[0].Reason != "case 5" || chs[0].SetBy != "boss" || !chs[0].SetAt.Equal(base) {
		t.Errorf("ListCallHolds = %+v, %v", chs, err)
	}
	ids, err = s.ReleaseCallHold(ctx, "CALL-A")
	if err != nil || !slices.Equal(ids, []string{"a1", "a3", "x1"}) {
		t.Errorf("ReleaseCallHold = %v, %v; want a1 a3 x1 (a2 keeps its own hold)", ids, err)
	}
	if _, ok := isHeld(t, s, "a2"); !ok {
		t.Error("a2's own hold released with the call's")
	}
	if _, err := s.ReleaseCallHold(ctx, "CALL-A"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second release: %v, want ErrNotFound", err)
	}
	holdRec(t, s, "a4", "CALL-A")
	if _, ok := isHeld(t, s, "a4"); ok {
		t.Error("a recording made after the release is held")
	}
}

// Appends chain: VerifyAudit finds the log intact, its head is AuditHead,
// and AuditHashAt reads any entry's hash.
func testAuditChain(t *testing.T, s HoldStore) {
	ctx := context.Background()
	if id, head, err := s.AuditHead(ctx); err != nil || id != 0 || head != "" {
		t.Errorf("head of an empty log: %d %q %v", id, head, err)
	}
	var ids []int64
	for i, a := range []string{store.AuditLogin, store.AuditPlayback, store.AuditDownload, store.AuditView} {
		ids = append(ids, appendAudit(t, s, store.AuditEntry{At: base.Add(time.Duration(i) * time.Second), User: "sue", Action: a, RecordingID: "r1", Detail: "d"}))
	}
	c, err := s.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, head, err := s.AuditHead(ctx)
	if err != nil || c.Entries != 4 || c.Broken != 0 || c.Unchained != 0 || len(c.Problems) != 0 || c.HeadID != id || c.Head != head || id != ids[3] || len(head) != 64 {
		t.Errorf("check = %+v; head %d %q %v", c, id, head, err)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		h, err := s.AuditHashAt(ctx, id)
		if err != nil || len(h) != 64 || seen[h] {
			t.Errorf("AuditHashAt(%d) = %q, %v", id, h, err)
		}
		seen[h] = true
	}
	if _, err := s.AuditHashAt(ctx, ids[3]+100); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AuditHashAt of no entry: %v, want ErrNotFound", err)
	}
}

package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/storetest"
)

// Issue 13: a legal hold on a call holds every recording of the call —
// those it has and those it makes later (a transfer, a consultation, a
// call UUID learnt from metadata) — until the call's hold is released; a
// recording's own hold is neither replaced nor released with the call's.
func TestCallHold(t *testing.T) {
	ctx := context.Background()
	db := open(t, filepath.Join(t.TempDir(), "openrec.db"))
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
	if err := db.SetLegalHold(ctx, store.Hold{RecordingID: "a2", Reason: "own", SetBy: "sue", SetAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetCallHold(ctx, store.CallHold{CallUUID: "NONE", Reason: "x", SetBy: "sue", SetAt: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("hold of a call without recordings: %v, want ErrNotFound", err)
	}
	ids, err := db.SetCallHold(ctx, store.CallHold{CallUUID: "CALL-A", Reason: "case 5", SetBy: "boss", SetAt: t0})
	if err != nil || !slices.Equal(ids, []string{"a1", "a2"}) {
		t.Fatalf("SetCallHold = %v, %v; want a1 a2", ids, err)
	}
	if h, ok := held("a1"); !ok || h.Reason != "case 5" || h.CallUUID != "CALL-A" {
		t.Errorf("a1: %+v %v", h, ok)
	}
	if h, _ := held("a2"); h.Reason != "own" || h.CallUUID != "" {
		t.Errorf("a2's own hold replaced: %+v", h)
	}
	if _, ok := held("b1"); ok {
		t.Error("another call's recording held")
	}
	// Later recordings of the call: created with it, or told it later.
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
		if err := db.DeleteRecording(ctx, store.Deletion{RecordingID: id, Reason: "test"}); err == nil {
			t.Errorf("%s deleted while its call is held", id)
		}
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
}

func TestHoldConformance(t *testing.T) {
	storetest.RunHolds(t, func(t *testing.T) storetest.HoldStore {
		return open(t, filepath.Join(t.TempDir(), "openrec.db"))
	})
}

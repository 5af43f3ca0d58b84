package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
)

// Issue 18: a recording's screen video row round-trips, a search filters
// on it (has_screen), and it goes with the recording's row.
func testScreenRows(t *testing.T, db Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for _, id := range []string{"r1", "r2", "r3"} {
		if err := db.CreateRecording(ctx, &store.Recording{ID: id, Mode: store.ModeMSR, Status: store.StatusRecording, StartedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.PutScreen(ctx, &store.Screen{RecordingID: "nope"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("screen of an unknown recording: %v", err)
	}
	in := &store.Screen{RecordingID: "r1", Agent: "1004", StartedAt: t0, EndedAt: t0.Add(time.Minute), Width: 1280, Height: 720,
		Codec: "vp8", Total: 300, Held: store.Ranges{}.Add(0, 99).Add(200, 299), Encrypted: true}
	if err := db.PutScreen(ctx, in); err != nil {
		t.Fatal(err)
	}
	// r2: a row with nothing held yet does not count as having a screen.
	if err := db.PutScreen(ctx, &store.Screen{RecordingID: "r2", Total: -1}); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetScreen(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Agent != "1004" || !got.StartedAt.Equal(t0) || got.Width != 1280 || got.Codec != "vp8" || got.Total != 300 ||
		got.Held.String() != "0-99,200-299" || got.Size() != 200 || got.Complete || !got.Encrypted {
		t.Fatalf("GetScreen = %+v", got)
	}
	got.Held = got.Held.Add(100, 199)
	got.Complete = got.Held.Covers(got.Total)
	if err := db.PutScreen(ctx, got); err != nil {
		t.Fatal(err)
	}
	if again, _ := db.GetScreen(ctx, "r1"); !again.Complete || again.Held.String() != "0-299" {
		t.Fatalf("after the missing range: %+v", again)
	}
	yes, no := true, false
	for _, tt := range []struct {
		has  *bool
		want []string
	}{{&yes, []string{"r1"}}, {&no, []string{"r2", "r3"}}, {nil, []string{"r1", "r2", "r3"}}} {
		page, err := db.SearchRecordings(ctx, store.Filter{HasScreen: tt.has, Sort: store.SortStartedAsc})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range page.Items {
			ids = append(ids, r.ID)
		}
		if len(ids) != len(tt.want) {
			t.Fatalf("has_screen %v: %v, want %v", tt.has, ids, tt.want)
		}
		for i := range ids {
			if ids[i] != tt.want[i] {
				t.Fatalf("has_screen %v: %v, want %v", tt.has, ids, tt.want)
			}
		}
	}
	if err := db.DeleteRecording(ctx, store.Deletion{RecordingID: "r1", Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetScreen(ctx, "r1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("screen row outlived its recording: %v", err)
	}
}

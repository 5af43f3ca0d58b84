package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
)

// testMediaObject: SetMediaObject writes only media_object; every read
// returns it; UpdateRecording (the recorder rewriting its row) neither
// clears it nor needs to know it.
func testMediaObject(t *testing.T, s Store) {
	ctx := context.Background()
	r := fullRecording("M1", time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
	create(t, s, r)
	if got := get(t, s, "M1"); got.MediaObject != "" {
		t.Fatalf("new recording: MediaObject %q, want empty", got.MediaObject)
	}
	const obj = "s3://rec/p/2026/12/07/M1.wav"
	if err := s.SetMediaObject(ctx, "M1", obj); err != nil {
		t.Fatal(err)
	}
	got := get(t, s, "M1")
	if got.MediaObject != obj {
		t.Fatalf("MediaObject %q, want %q", got.MediaObject, obj)
	}
	got.MediaObject = ""
	want := *r
	want.MediaObject = ""
	want.UpdatedAt = got.UpdatedAt // SetMediaObject is a change of the row
	mustEqual(t, "after SetMediaObject", *got, want)

	upd := *r
	upd.MediaObject = ""
	upd.StatusReason = "rewritten"
	if err := s.UpdateRecording(ctx, &upd); err != nil {
		t.Fatal(err)
	}
	if upd.MediaObject != obj {
		t.Errorf("UpdateRecording read back MediaObject %q, want %q", upd.MediaObject, obj)
	}
	if got := get(t, s, "M1"); got.MediaObject != obj || got.StatusReason != "rewritten" {
		t.Errorf("after UpdateRecording: MediaObject %q reason %q", got.MediaObject, got.StatusReason)
	}
	rs, err := s.ListRecordings(ctx, store.Filter{})
	if err != nil || len(rs) != 1 || rs[0].MediaObject != obj {
		t.Errorf("ListRecordings: %v %+v", err, rs)
	}
	if err := s.SetMediaObject(ctx, "nope", obj); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}
}

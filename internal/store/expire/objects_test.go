package expire

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediastore"
	"github.com/openrec/openrec/internal/store/s3media"
	"github.com/openrec/openrec/internal/testtool/s3test"
)

// TestSweepDeletesObjects: a recording whose media moved to the bucket is
// deleted by retention there too (every object of it, the audit entry as
// for local files); a legal hold keeps the objects; without a bucket
// configured nothing is touched.
func TestSweepDeletesObjects(t *testing.T) {
	srv := s3test.Start(t, "rec")
	b, err := s3media.New(s3media.Config{Bucket: "rec", Prefix: "p", Endpoint: srv.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	f := newFixture(t)
	now := t0.Add(100 * 24 * time.Hour)
	upload := func(id string) *store.Recording {
		r := f.add(t, id, "", "+331", "5001", now.Add(-40*24*time.Hour), store.StatusCompleted)
		for _, p := range mediastore.Finished(r.MediaPath) {
			d, err := s3media.DigestFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Put(ctx, b.Key(p), p, d); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.db.SetMediaObject(ctx, id, b.URL(b.Key(r.MediaPath))); err != nil {
			t.Fatal(err)
		}
		return r
	}
	gone := upload("gone")
	upload("held")
	if err := f.db.SetLegalHold(ctx, store.Hold{RecordingID: "held", Reason: "case 1", SetBy: "sue", SetAt: now}); err != nil {
		t.Fatal(err)
	}
	objects := func(id string, r *store.Recording) []string {
		keys, err := b.List(ctx, b.RecordingPrefix(mediastore.Final(r.MediaPath)))
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	if n := len(objects("gone", gone)); n != 3 {
		t.Fatalf("%d objects uploaded, want 3", n)
	}

	// No bucket configured: refused, row and objects kept.
	r, _ := f.db.GetRecording(ctx, "gone")
	if err := Delete(ctx, f.db, Media{DataDir: f.dir}, r, "test"); !errors.Is(err, ErrNoObjectStore) {
		t.Fatalf("without a bucket: %v, want ErrNoObjectStore", err)
	}
	if row, _ := f.exists(t, "gone"); !row || len(objects("gone", gone)) != 3 {
		t.Fatal("refused deletion touched the recording")
	}

	s := &Sweeper{Store: f.db, DataDir: f.dir, Objects: b, Now: func() time.Time { return now }, Log: quiet(),
		Policy: Policy{Default: 30 * 24 * time.Hour}}
	n, err := s.Sweep(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1 deletion", n, err)
	}
	if row, _ := f.exists(t, "gone"); row {
		t.Error("row of the expired recording kept")
	}
	if keys := objects("gone", gone); len(keys) != 0 {
		t.Errorf("objects of the expired recording kept: %v", keys)
	}
	held, _ := f.db.GetRecording(ctx, "held")
	if held == nil || len(objects("held", held)) != 3 {
		t.Error("recording on legal hold lost its objects")
	}
	es, err := f.db.ListAudit(ctx, store.AuditFilter{RecordingID: "gone"})
	if err != nil || len(es) != 1 || es[0].Action != store.AuditExpire {
		t.Errorf("audit of the expiry: %+v %v", es, err)
	}
}

package s3media_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediastore"
	"github.com/openrec/openrec/internal/store/s3media"
	"github.com/openrec/openrec/internal/store/sqlite"
	"github.com/openrec/openrec/internal/testtool"
	"github.com/openrec/openrec/internal/testtool/s3test"
)

func newBucket(t *testing.T, srv *s3test.Server, prefix string) *s3media.Bucket {
	t.Helper()
	b, err := s3media.New(s3media.Config{Bucket: srv.Bucket, Prefix: prefix, Endpoint: srv.Endpoint,
		AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func TestNewRefuses(t *testing.T) {
	for _, c := range []s3media.Config{
		{Endpoint: "http://127.0.0.1:1", AccessKey: "a", SecretKey: "s"},
		{Bucket: "b", Endpoint: "127.0.0.1:1", AccessKey: "a", SecretKey: "s"},
		{Bucket: "b", Endpoint: "http://127.0.0.1:1"},
	} {
		if _, err := s3media.New(c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

// TestBucket: put with sha256, stat, ranged reads, list and delete of a
// recording's objects, against a real versitygw.
func TestBucket(t *testing.T) {
	srv := s3test.Start(t, "rec")
	b := newBucket(t, srv, "calls")
	ctx := context.Background()
	dir := t.TempDir()
	media := filepath.Join(dir, "media", "2026", "12", "07", "R1.wav")
	if err := os.MkdirAll(filepath.Dir(media), 0o700); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 700<<10+13)
	rand.Read(body)
	if err := os.WriteFile(media, body, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mediastore.SDP(media), []byte("v=0\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := b.Key(media)
	if key != "calls/2026/12/07/R1.wav" {
		t.Fatalf("Key = %s", key)
	}
	d, err := s3media.DigestFile(media)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(body); d.Hex() != hex.EncodeToString(sum[:]) || d.Size != int64(len(body)) {
		t.Fatalf("digest %+v", d)
	}
	if _, err := b.Stat(ctx, key); !errors.Is(err, s3media.ErrNotFound) {
		t.Fatalf("Stat before Put: %v", err)
	}
	for _, f := range []string{media, mediastore.SDP(media)} {
		fd, err := s3media.DigestFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Put(ctx, b.Key(f), f, fd); err != nil {
			t.Fatal(err)
		}
	}
	// A digest the body does not have is refused by the server.
	bad := d
	bad.SHA256[0] ^= 1
	if err := b.Put(ctx, "calls/other.wav", media, bad); err == nil {
		t.Error("Put with a wrong sha256 accepted")
	}
	got, err := b.Stat(ctx, key)
	if err != nil || got != d {
		t.Fatalf("Stat = %+v %v, want %+v", got, err, d)
	}
	o, err := b.Open(ctx, b.URL(key))
	if err != nil {
		t.Fatal(err)
	}
	if o.Size() != int64(len(body)) {
		t.Fatalf("Size %d", o.Size())
	}
	for _, r := range []struct{ off, n int }{{0, 44}, {1000, 32 << 10}, {300 << 10, 1}, {len(body) - 10, 10}, {5, 600 << 10}} {
		p := make([]byte, r.n)
		if n, err := o.ReadAt(p, int64(r.off)); err != nil || n != r.n || !bytes.Equal(p, body[r.off:r.off+r.n]) {
			t.Errorf("ReadAt(%d, %d) = %d, %v", r.off, r.n, n, err)
		}
	}
	p := make([]byte, 20)
	if n, err := o.ReadAt(p, int64(len(body)-10)); n != 10 || err != io.EOF {
		t.Errorf("ReadAt past the end = %d, %v", n, err)
	}
	o.Close()
	if _, err := o.ReadAt(p, 0); err == nil {
		t.Error("ReadAt after Close: no error")
	}
	if _, err := b.Open(ctx, "s3://elsewhere/"+key); !errors.Is(err, s3media.ErrOtherBucket) {
		t.Errorf("another bucket: %v", err)
	}
	r := &store.Recording{ID: "R1", MediaPath: media}
	if p := b.RecordingPrefix(media); p != "calls/2026/12/07/R1." {
		t.Errorf("RecordingPrefix = %s", p)
	}
	keys, err := b.List(ctx, b.RecordingPrefix(media))
	if err != nil || !slices.Equal(keys, []string{"calls/2026/12/07/R1.sdp", "calls/2026/12/07/R1.wav"}) {
		t.Fatalf("List = %v %v", keys, err)
	}
	if err := b.DeleteRecording(ctx, r); err != nil {
		t.Fatal(err)
	}
	if keys, err := b.List(ctx, "calls/"); err != nil || len(keys) != 0 {
		t.Errorf("after DeleteRecording: %v %v", keys, err)
	}
	if err := b.Delete(ctx, key); err != nil {
		t.Errorf("Delete of an absent object: %v", err)
	}
}

// spoolRecording writes a finished recording (media, SDP, manifest) into
// the spool and its row into the store.
func spoolRecording(t *testing.T, db *sqlite.DB, spool, id string, size int) *store.Recording {
	t.Helper()
	media := mediastore.Layout{Root: spool}.NewMedia(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), id)
	if err := os.MkdirAll(filepath.Dir(media), 0o700); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, size)
	rand.Read(body)
	for f, b := range map[string][]byte{media: body, mediastore.SDP(media): []byte("v=0\r\n"), mediastore.Manifest(media): []byte(`{"id":"` + id + `"}`)} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256(body)
	r := &store.Recording{ID: id, Mode: store.ModeSIPREC, Status: store.StatusCompleted, MediaPath: media,
		StartedAt: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), SizeBytes: int64(size), SHA256: hex.EncodeToString(sum[:])}
	if err := db.CreateRecording(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

func openDB(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "openrec.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newUploader(t *testing.T, objs s3media.Objects, db *sqlite.DB, spool string) *s3media.Uploader {
	t.Helper()
	u := s3media.NewUploader(s3media.UploaderConfig{Objects: objs, Store: db, Spool: spool, Workers: 2,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	t.Cleanup(func() { u.Close() })
	return u
}

func local(r *store.Recording) []string { return mediastore.Finished(r.MediaPath) }

// waitUploaded waits until r's media object is recorded and its spool
// files are gone.
func waitUploaded(t *testing.T, db *sqlite.DB, r *store.Recording, timeout time.Duration) *store.Recording {
	t.Helper()
	var got *store.Recording
	testtool.Poll(t, timeout, func() (bool, string) {
		var err error
		got, err = db.GetRecording(context.Background(), r.ID)
		if err != nil {
			return false, err.Error()
		}
		if got.MediaObject == "" || len(local(r)) > 0 {
			return false, "media_object " + got.MediaObject + ", local " + string(rune('0'+len(local(r))))
		}
		return true, ""
	}, "recording %s uploaded", r.ID)
	return got
}

// TestUploadVerifyDelete: files are uploaded, verified, recorded in the
// store, then removed locally; the objects hold exactly the local bytes.
func TestUploadVerifyDelete(t *testing.T) {
	srv := s3test.Start(t, "rec")
	b := newBucket(t, srv, "p")
	db := openDB(t)
	spool := filepath.Join(t.TempDir(), "media")
	r := spoolRecording(t, db, spool, "01JUP0000000000000000000A1", 300<<10)
	want, _ := os.ReadFile(r.MediaPath)
	u := newUploader(t, b, db, spool)
	if err := u.Start(); err != nil {
		t.Fatal(err)
	}
	u.Enqueue(r.ID)
	got := waitUploaded(t, db, r, 20*time.Second)
	if got.MediaObject != "s3://rec/p/2026/12/07/"+r.ID+".wav" {
		t.Errorf("MediaObject %s", got.MediaObject)
	}
	obj, err := os.ReadFile(srv.ObjectPath("p/2026/12/07/" + r.ID + ".wav"))
	if err != nil || !bytes.Equal(obj, want) {
		t.Fatalf("object: %d bytes, %v", len(obj), err)
	}
	for _, ext := range []string{".sdp", ".manifest.json"} {
		if _, err := os.Stat(srv.ObjectPath("p/2026/12/07/" + r.ID + ext)); err != nil {
			t.Errorf("sidecar %s: %v", ext, err)
		}
	}
	testtool.Eventually(t, 5*time.Second, func() bool { return u.Stats().Pending == 0 }, "backlog empty")
	if s := u.Stats(); s.Uploaded != 1 || s.UploadedBytes < 300<<10 || s.Failures != 0 {
		t.Errorf("stats %+v", s)
	}
	// A manifest re-sealed later goes up too and leaves the spool.
	man := mediastore.Manifest(r.MediaPath)
	if err := os.WriteFile(man, []byte(`{"resealed":true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	u.Enqueue(r.ID)
	testtool.Eventually(t, 10*time.Second, func() bool {
		_, err := os.Stat(man)
		return errors.Is(err, os.ErrNotExist)
	}, "re-sealed manifest uploaded")
	if b, _ := os.ReadFile(srv.ObjectPath("p/2026/12/07/" + r.ID + ".manifest.json")); string(b) != `{"resealed":true}` {
		t.Errorf("manifest object %q", b)
	}
}

// TestUploadBucketDown: with the server stopped the recording stays in
// the spool (retried, counted); when the server returns it is uploaded.
// A new Uploader over the same spool (a restart) finds what is pending.
func TestUploadBucketDownAndRestart(t *testing.T) {
	srv := s3test.Start(t, "rec")
	b := newBucket(t, srv, "")
	db := openDB(t)
	spool := filepath.Join(t.TempDir(), "media")
	srv.Stop()
	r1 := spoolRecording(t, db, spool, "01JDOWN00000000000000000A1", 64<<10)
	u := newUploader(t, b, db, spool)
	if err := u.Start(); err != nil {
		t.Fatal(err)
	}
	u.Enqueue(r1.ID)
	testtool.Eventually(t, 20*time.Second, func() bool { return u.Stats().Failures >= 2 }, "failed attempts while the bucket is down")
	if n := len(local(r1)); n != 3 {
		t.Fatalf("bucket down: %d local files, want 3", n)
	}
	if s := u.Stats(); s.Pending != 1 || s.PendingBytes == 0 || s.LastError == "" {
		t.Errorf("backlog while down: %+v", s)
	}
	// Restart of openrec while the bucket is down: a new uploader over
	// the same spool, with a second recording finished meanwhile.
	u.Close()
	r2 := spoolRecording(t, db, spool, "01JDOWN00000000000000000A2", 32<<10)
	u2 := newUploader(t, b, db, spool)
	if err := u2.Start(); err != nil {
		t.Fatal(err)
	}
	if s := u2.Stats(); s.Pending != 2 {
		t.Fatalf("after rescan: %d pending, want 2", s.Pending)
	}
	srv.Restart()
	waitUploaded(t, db, r1, 30*time.Second)
	waitUploaded(t, db, r2, 30*time.Second)
}

// truncating puts a shorter body than the file (a broken proxy, a server
// that lost a tail): the server accepts it, the verification must not.
type truncating struct{ *s3media.Bucket }

func (t truncating) Put(ctx context.Context, key, path string, d s3media.Digest) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	short := filepath.Join(os.TempDir(), filepath.Base(path)+".short")
	if err := os.WriteFile(short, b[:len(b)/2], 0o600); err != nil {
		return err
	}
	defer os.Remove(short)
	sd, err := s3media.DigestFile(short)
	if err != nil {
		return err
	}
	return t.Bucket.Put(ctx, key, short, sd)
}

func TestUploadCorruptNotTrusted(t *testing.T) {
	srv := s3test.Start(t, "rec")
	b := newBucket(t, srv, "")
	db := openDB(t)
	spool := filepath.Join(t.TempDir(), "media")
	r := spoolRecording(t, db, spool, "01JBAD000000000000000000A1", 40<<10)
	u := newUploader(t, truncating{b}, db, spool)
	if err := u.Start(); err != nil {
		t.Fatal(err)
	}
	u.Enqueue(r.ID)
	testtool.Eventually(t, 20*time.Second, func() bool { return u.Stats().Unverified >= 2 }, "size mismatch detected")
	u.Close()
	got, err := db.GetRecording(context.Background(), r.ID)
	if err != nil || got.MediaObject != "" {
		t.Fatalf("media object recorded for a corrupt upload: %q %v", got.MediaObject, err)
	}
	if n := len(local(r)); n != 3 {
		t.Fatalf("%d local files after a corrupt upload, want 3", n)
	}
	// With an honest bucket the same spool goes up.
	u2 := newUploader(t, b, db, spool)
	if err := u2.Start(); err != nil {
		t.Fatal(err)
	}
	waitUploaded(t, db, r, 20*time.Second)
}

// TestUploadDeletedMeanwhile: a recording deleted (retention) before its
// upload is recorded leaves no object behind.
func TestUploadRowGone(t *testing.T) {
	srv := s3test.Start(t, "rec")
	b := newBucket(t, srv, "")
	db := openDB(t)
	spool := filepath.Join(t.TempDir(), "media")
	r := spoolRecording(t, db, spool, "01JGONE00000000000000000A1", 8<<10)
	if err := db.DeleteRecording(context.Background(), store.Deletion{RecordingID: r.ID, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	u := newUploader(t, b, db, spool)
	if err := u.Start(); err != nil {
		t.Fatal(err)
	}
	testtool.Eventually(t, 10*time.Second, func() bool { return u.Stats().Pending == 0 }, "nothing pending")
	if keys, err := b.List(context.Background(), ""); err != nil || len(keys) != 0 {
		t.Errorf("objects of a deleted recording: %v %v", keys, err)
	}
}

// TestUploadWaitsForKeyRotation: a recording whose key is being rotated
// in place (.rewrap journal beside it) is not uploaded until the rotation
// ends.
func TestUploadWaitsForKeyRotation(t *testing.T) {
	srv := s3test.Start(t, "rec")
	b := newBucket(t, srv, "")
	db := openDB(t)
	spool := filepath.Join(t.TempDir(), "media")
	r := spoolRecording(t, db, spool, "01JROT000000000000000000A1", 8<<10)
	journal := r.MediaPath + mediastore.RewrapSuffix
	if err := os.WriteFile(journal, []byte("j"), 0o600); err != nil {
		t.Fatal(err)
	}
	u := newUploader(t, b, db, spool)
	if err := u.Start(); err != nil {
		t.Fatal(err)
	}
	testtool.Eventually(t, 10*time.Second, func() bool { return u.Stats().Failures >= 1 }, "upload held back")
	if keys, _ := b.List(context.Background(), ""); len(keys) != 0 {
		t.Fatalf("uploaded during a key rotation: %v", keys)
	}
	if err := os.Remove(journal); err != nil {
		t.Fatal(err)
	}
	waitUploaded(t, db, r, 20*time.Second)
}

// TestDeleteQueuedWhileBucketDown: a recording deleted while the bucket
// is unreachable has its objects deletion queued on disk; a new uploader
// (a restart) finds the queue and deletes them once the bucket is back.
func TestDeleteQueuedWhileBucketDown(t *testing.T) {
	srv := s3test.Start(t, "rec")
	b := newBucket(t, srv, "")
	db := openDB(t)
	spool := filepath.Join(t.TempDir(), "media")
	r := spoolRecording(t, db, spool, "01JDEL000000000000000000A1", 16<<10)
	u := newUploader(t, b, db, spool)
	if err := u.Start(); err != nil {
		t.Fatal(err)
	}
	u.Enqueue(r.ID)
	waitUploaded(t, db, r, 20*time.Second)
	ctx := context.Background()
	if keys, _ := b.List(ctx, ""); len(keys) != 3 {
		t.Fatalf("uploaded %v", keys)
	}
	srv.Stop()
	if err := u.DeleteRecording(ctx, r); err != nil {
		t.Fatalf("DeleteRecording with the bucket down: %v (want it queued)", err)
	}
	queued := filepath.Join(filepath.Dir(spool), "s3-deletes", r.ID)
	if _, err := os.Stat(queued); err != nil {
		t.Fatalf("deletion not queued: %v", err)
	}
	testtool.Eventually(t, 10*time.Second, func() bool { return u.Stats().Failures >= 1 }, "retried while down")
	if s := u.Stats(); s.PendingDeletes != 1 || s.Pending != 0 {
		t.Errorf("stats %+v", s)
	}
	u.Close()
	srv.Restart()
	u2 := newUploader(t, b, db, spool)
	if err := u2.Start(); err != nil {
		t.Fatal(err)
	}
	testtool.Eventually(t, 20*time.Second, func() bool {
		keys, err := b.List(ctx, "")
		_, qerr := os.Stat(queued)
		return err == nil && len(keys) == 0 && errors.Is(qerr, os.ErrNotExist)
	}, "queued deletion done after the restart")
	testtool.Eventually(t, 5*time.Second, func() bool { return u2.Stats().PendingDeletes == 0 }, "queue empty")
}

// TestSuccessReleasesBackoff: uploads waiting out a long backoff after an
// outage go as soon as another upload shows the bucket is back.
func TestSuccessReleasesBackoff(t *testing.T) {
	srv := s3test.Start(t, "rec")
	b := newBucket(t, srv, "")
	db := openDB(t)
	spool := filepath.Join(t.TempDir(), "media")
	srv.Stop()
	r1 := spoolRecording(t, db, spool, "01JREL000000000000000000A1", 8<<10)
	r2 := spoolRecording(t, db, spool, "01JREL000000000000000000A2", 8<<10)
	u := s3media.NewUploader(s3media.UploaderConfig{Objects: b, Store: db, Spool: spool, MinBackoff: time.Hour, MaxBackoff: time.Hour})
	t.Cleanup(func() { u.Close() })
	if err := u.Start(); err != nil {
		t.Fatal(err)
	}
	testtool.Eventually(t, 20*time.Second, func() bool { return u.Stats().Failures >= 2 }, "both failed once (next try in an hour)")
	srv.Restart()
	r3 := spoolRecording(t, db, spool, "01JREL000000000000000000A3", 8<<10)
	u.Enqueue(r3.ID) // new: tried at once, succeeds, releases the others
	for _, r := range []*store.Recording{r3, r1, r2} {
		waitUploaded(t, db, r, 20*time.Second)
	}
}

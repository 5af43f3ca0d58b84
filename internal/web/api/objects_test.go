package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openrec/openrec/internal/web/api"
)

// memObjects holds objects in memory (the real bucket is exercised by
// internal/app's TestMediaInS3 against versitygw); it counts the ranged
// reads.
type memObjects struct {
	objs  map[string][]byte
	reads atomic.Int64
}

type memObject struct {
	*bytes.Reader
	o *memObjects
}

func (m memObject) ReadAt(p []byte, off int64) (int, error) {
	m.o.reads.Add(1)
	return m.Reader.ReadAt(p, off)
}
func (m memObject) Close() error { return nil }

func (o *memObjects) OpenObject(_ context.Context, object string) (api.MediaObject, error) {
	b, ok := o.objs[object]
	if !ok {
		return nil, errors.New("no such object")
	}
	return memObject{bytes.NewReader(b), o}, nil
}

// A recording whose media moved to the object store (media_object set,
// local file gone) is replayed from it (Range → 206, peaks); without an
// object store configured it is a 409 naming what to configure; the
// object's location is shown to admins only.
func TestMediaFromObjectStore(t *testing.T) {
	objs := &memObjects{objs: map[string][]byte{}}
	e := newEnv(t, nil) // no object store configured
	rec := e.recs["rec-a1"]
	const object = "s3://rec/calls/2026/11/20/rec-a1.wav"
	body, err := os.ReadFile(rec.MediaPath)
	if err != nil {
		t.Fatal(err)
	}
	objs.objs[object] = body
	if err := e.db.SetMediaObject(context.Background(), rec.ID, object); err != nil {
		t.Fatal(err)
	}
	root := e.token("root")
	// While the local copy exists it is the one served.
	resp := e.raw(root, "GET", "/api/v1/recordings/rec-a1/media", nil, nil)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("with the local copy: %d", resp.StatusCode)
	}
	if err := os.Remove(rec.MediaPath); err != nil {
		t.Fatal(err)
	}
	resp = e.raw(root, "GET", "/api/v1/recordings/rec-a1/media", nil, nil)
	var p struct{ Title, Detail string }
	json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || !strings.Contains(p.Detail, object) || !strings.Contains(p.Detail, "--media s3://") {
		t.Errorf("no object store: %d %+v", resp.StatusCode, p)
	}

	e = newEnv(t, func(c *api.Config) { c.Objects = objs })
	rec = e.recs["rec-a1"]
	if err := os.Remove(rec.MediaPath); err != nil {
		t.Fatal(err)
	}
	if err := e.db.SetMediaObject(context.Background(), rec.ID, object); err != nil {
		t.Fatal(err)
	}
	root = e.token("root")
	resp = e.raw(root, "GET", "/api/v1/recordings/rec-a1/media", nil, nil)
	full, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(full) < 30000 {
		t.Fatalf("from the object store: %d, %d bytes", resp.StatusCode, len(full))
	}
	before := objs.reads.Load()
	resp = e.raw(root, "GET", "/api/v1/recordings/rec-a1/media", nil, http.Header{"Range": {"bytes=20000-20999"}})
	part, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, full[20000:21000]) {
		t.Errorf("Range: %d, %d bytes", resp.StatusCode, len(part))
	}
	if objs.reads.Load() == before {
		t.Error("the Range was not read from the object")
	}
	if code := e.do(root, "GET", "/api/v1/recordings/rec-a1/peaks?buckets=10", nil, nil); code != 200 {
		t.Errorf("peaks: %d", code)
	}
	var view struct {
		MediaObject string `json:"media_object"`
	}
	e.do(root, "GET", "/api/v1/recordings/rec-a1", nil, &view)
	if view.MediaObject != object {
		t.Errorf("admin sees media_object %q", view.MediaObject)
	}
	view.MediaObject = ""
	e.do(e.token("supa"), "GET", "/api/v1/recordings/rec-a1", nil, &view)
	if view.MediaObject != "" {
		t.Errorf("supervisor sees media_object %q", view.MediaObject)
	}
}

package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediacrypt"
	"github.com/openrec/openrec/internal/store/mediastore"
	"github.com/openrec/openrec/internal/testtool"
	"github.com/openrec/openrec/internal/testtool/s3test"
)

// s3Media configures a test recorder for media in srv's bucket.
func s3Media(t *testing.T, srv *s3test.Server, dataDir string, more func(*config.Serve)) func(*config.Serve) {
	t.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)
	t.Setenv("AWS_REGION", "us-east-1")
	return func(c *config.Serve) {
		c.DataDir = dataDir
		c.Media = "s3://" + srv.Bucket + "/calls"
		c.S3Endpoint = srv.Endpoint
		if more != nil {
			more(c)
		}
	}
}

// waitInBucket waits until recording id's media object is recorded and
// its local files are gone, and returns its row.
func waitInBucket(t *testing.T, a *app.App, id string, timeout time.Duration) *store.Recording {
	t.Helper()
	var r *store.Recording
	testtool.Poll(t, timeout, func() (bool, string) {
		var err error
		if r, err = a.Store().GetRecording(context.Background(), id); err != nil {
			return false, err.Error()
		}
		local := mediastore.Finished(r.MediaPath)
		return r.MediaObject != "" && len(local) == 0, fmt.Sprintf("media_object %q, local files %v", r.MediaObject, local)
	}, "recording %s moved to the bucket", id)
	return r
}

func get(t *testing.T, c *apiClient, path, rangeHdr string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	if rangeHdr != "" {
		req.Header.Set("Range", rangeHdr)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func bucketObjects(t *testing.T, srv *s3test.Server) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(srv.Dir, srv.Bucket), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, strings.TrimPrefix(p, filepath.Join(srv.Dir, srv.Bucket)+"/"))
		}
		return nil
	})
	return out
}

// Issue 16, media in S3: a recording goes to the local spool, is uploaded
// after finalise and verified, its local copy deleted; the API replays it
// straight from the bucket (Range → 206, waveform, MP3); with the bucket
// down the spool keeps the next recording (health shows the backlog) and
// uploads it when the bucket returns; one left pending across a restart is
// uploaded by the new process; retention deletes the objects.
func TestMediaInS3(t *testing.T) {
	srv := s3test.Start(t, "rec")
	dataDir := t.TempDir()
	a := startApp(t, s3Media(t, srv, dataDir, nil))
	addUser(t, a, "root", "admin", "")
	c := signIn(t, a, "root")
	call := func(a *app.App, uuid string) {
		t.Helper()
		if _, err := newDialer(t).Call(context.Background(), dial.Spec{Target: a.SIPAddr().String(), Mode: dial.ModeMSR, DN: "5001", OtherDN: "+15550100",
			RecordID: "rec-" + uuid, CallUUID: uuid, Codec: "PCMU", Duration: 2 * time.Second,
			Sources: []dial.Source{dial.Tone(440, 0.3), dial.Tone(1000, 0.3)}}); err != nil {
			t.Fatal(err)
		}
	}

	call(a, "00M2V3L4A58BV0LJ3C8G4A0AAS3001")
	r1 := waitFinished(t, a, 1)[0]
	r1 = *waitInBucket(t, a, r1.ID, 30*time.Second)
	if want := "s3://rec/calls/" + mediastore.ObjectName(r1.MediaPath); r1.MediaObject != want {
		t.Errorf("media_object %s, want %s", r1.MediaObject, want)
	}
	objs := bucketObjects(t, srv)
	base := "calls/" + strings.TrimSuffix(mediastore.ObjectName(r1.MediaPath), ".wav")
	if strings.Join(objs, " ") != base+".manifest.json "+base+".wav" { // media and signed manifest
		t.Fatalf("bucket holds %v", objs)
	}
	stored, err := os.ReadFile(filepath.Join(srv.Dir, srv.Bucket, "calls", mediastore.ObjectName(r1.MediaPath)))
	if err != nil || int64(len(stored)) != r1.SizeBytes {
		t.Fatalf("media object: %d bytes (%v), row says %d", len(stored), err, r1.SizeBytes)
	}

	// Replay from the bucket: the whole WAV, a Range of it, peaks, MP3.
	code, h, full := get(t, c, "/api/v1/recordings/"+r1.ID+"/media?format=wav", "")
	if code != 200 || h.Get("Content-Type") != "audio/wav" || len(full) < 60000 {
		t.Fatalf("wav from S3: %d %s %d bytes", code, h.Get("Content-Type"), len(full))
	}
	wavPath := filepath.Join(t.TempDir(), "replay.wav")
	if err := os.WriteFile(wavPath, full, 0o600); err != nil {
		t.Fatal(err)
	}
	checkTones(t, wavPath, []float64{440, 1000}, 2*time.Second)
	code, h, part := get(t, c, "/api/v1/recordings/"+r1.ID+"/media?format=wav", "bytes=1000-40999")
	if code != http.StatusPartialContent || !bytes.Equal(part, full[1000:41000]) ||
		h.Get("Content-Range") != fmt.Sprintf("bytes 1000-40999/%d", len(full)) {
		t.Errorf("Range from S3: %d %q, %d bytes", code, h.Get("Content-Range"), len(part))
	}
	if code, _, body := get(t, c, "/api/v1/recordings/"+r1.ID+"/peaks?buckets=50", ""); code != 200 || !bytes.Contains(body, []byte(`"buckets":50`)) {
		t.Errorf("peaks from S3: %d %s", code, body)
	}
	if testtool.Lookup("OPENREC_TEST_LAME", "lame") != "" {
		code, h, mp3 := get(t, c, "/api/v1/recordings/"+r1.ID+"/media?format=mp3", "")
		if code != 200 || h.Get("Content-Type") != "audio/mpeg" || len(mp3) < 1000 || mp3[0] != 0xFF {
			t.Errorf("mp3 from S3: %d %s %d bytes", code, h.Get("Content-Type"), len(mp3))
		}
	}
	var audit []store.AuditEntry
	audit, err = a.Store().ListAudit(context.Background(), store.AuditFilter{Action: store.AuditPlayback, RecordingID: r1.ID})
	if err != nil || len(audit) == 0 {
		t.Errorf("playback from S3 not audited: %v %v", audit, err)
	}

	// The bucket goes down: the recording stays in the spool, health says so.
	srv.Stop()
	call(a, "00M2V3L4A58BV0LJ3C8G4A0AAS3002")
	recs := waitFinished(t, a, 2)
	var r2 store.Recording
	for _, r := range recs {
		if r.ID != r1.ID {
			r2 = r
		}
	}
	var hb struct {
		Upload struct {
			Pending  int   `json:"pending_recordings"`
			Failures int64 `json:"failures"`
		} `json:"media_upload"`
	}
	testtool.Poll(t, 20*time.Second, func() (bool, string) {
		resp, err := http.Get("http://" + a.HTTPAddr() + "/healthz")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(&hb)
		return hb.Upload.Pending == 1 && hb.Upload.Failures > 0, fmt.Sprintf("%+v", hb)
	}, "health shows the upload backlog")
	if row, _ := a.Store().GetRecording(context.Background(), r2.ID); row == nil || row.MediaObject != "" || len(mediastore.Finished(row.MediaPath)) != 2 {
		t.Fatalf("bucket down: recording not kept locally: %+v", row)
	}
	resp, err := http.Get("http://" + a.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"openrec_media_upload_backlog 1", "openrec_media_uploads_total 1"} {
		if !bytes.Contains(metrics, []byte(m)) {
			t.Errorf("/metrics lacks %q", m)
		}
	}
	// The bucket comes back: the running server uploads what waited.
	srv.Restart()
	waitInBucket(t, a, r2.ID, 30*time.Second)

	// Down again, a recording waits, the server restarts: the new process
	// finds it in the spool and uploads it once the bucket is back.
	srv.Stop()
	call(a, "00M2V3L4A58BV0LJ3C8G4A0AAS3003")
	var r3 store.Recording
	for _, r := range waitFinished(t, a, 3) {
		if r.ID != r1.ID && r.ID != r2.ID {
			r3 = r
		}
	}
	if row, err := a.Store().GetRecording(context.Background(), r3.ID); err != nil || row.MediaObject != "" {
		t.Fatalf("bucket down: %v %+v", err, row)
	}
	a.Close()
	if n := len(mediastore.Finished(r3.MediaPath)); n != 2 {
		t.Fatalf("bucket down, server stopped: %d local files, want 2", n)
	}
	srv.Restart()
	a2 := startApp(t, s3Media(t, srv, dataDir, nil))
	waitInBucket(t, a2, r3.ID, 30*time.Second)
	a2.Close()

	// Retention deletes the objects of both.
	a3 := startApp(t, s3Media(t, srv, dataDir, func(c *config.Serve) { c.RetentionPeriod = time.Millisecond }))
	testtool.Poll(t, 20*time.Second, func() (bool, string) {
		objs := bucketObjects(t, srv)
		audit, err := a3.Store().ListAudit(context.Background(), store.AuditFilter{Action: store.AuditExpire})
		return len(objs) == 0 && err == nil && len(audit) == 3, fmt.Sprintf("objects left: %v, expiry audit entries %d (%v)", objs, len(audit), err)
	}, "retention deleting the objects, audited")
	for _, id := range []string{r1.ID, r2.ID, r3.ID} {
		if _, err := a3.Store().GetRecording(context.Background(), id); err == nil {
			t.Errorf("%s: row kept after retention", id)
		}
	}
}

// media: file:DIR puts the YYYY/MM/DD tree under DIR; replay finds it there.
func TestMediaFileDir(t *testing.T) {
	mediaDir := filepath.Join(t.TempDir(), "recordings")
	a := startApp(t, func(c *config.Serve) { c.Media = "file:" + mediaDir })
	addUser(t, a, "root", "admin", "")
	c := signIn(t, a, "root")
	if _, err := newDialer(t).Call(context.Background(), dial.Spec{Target: a.SIPAddr().String(), Mode: dial.ModeSIPREC, Duration: time.Second}); err != nil {
		t.Fatal(err)
	}
	r := waitFinished(t, a, 1)[0]
	if !strings.HasPrefix(r.MediaPath, mediaDir+string(filepath.Separator)) || r.MediaObject != "" {
		t.Fatalf("media at %s (object %q), want under %s", r.MediaPath, r.MediaObject, mediaDir)
	}
	if _, err := os.Stat(r.MediaPath); err != nil {
		t.Fatal(err)
	}
	if code, _, body := get(t, c, "/api/v1/recordings/"+r.ID+"/media?format=wav", "bytes=0-99"); code != http.StatusPartialContent || len(body) != 100 {
		t.Errorf("replay: %d, %d bytes", code, len(body))
	}
	if entries, _ := os.ReadDir(filepath.Join(a.DataDir(), "media")); len(entries) != 0 {
		t.Errorf("data dir's media holds %d entries with media: file:DIR", len(entries))
	}
}

// Encrypted at rest and in S3: the object is the age file as stored
// (never plaintext in the bucket), and replay decrypts the ranges it reads
// from the bucket.
func TestEncryptedMediaInS3(t *testing.T) {
	srv := s3test.Start(t, "rec")
	rcp, ids := ageKeys(t)
	a := startApp(t, s3Media(t, srv, t.TempDir(), func(c *config.Serve) {
		c.Encryption = config.Encryption{Enabled: true, EncryptTo: rcp, DecryptKeys: ids}
	}))
	addUser(t, a, "root", "admin", "")
	c := signIn(t, a, "root")
	if _, err := newDialer(t).Call(context.Background(), dial.Spec{Target: a.SIPAddr().String(), Mode: dial.ModeMSR, DN: "5001", OtherDN: "+15550100",
		RecordID: "rec-enc", CallUUID: "00M2V3L4A58BV0LJ3C8G4A0AAS3E01", Codec: "PCMU", Duration: 2 * time.Second,
		Sources: []dial.Source{dial.Tone(440, 0.3), dial.Tone(1000, 0.3)}}); err != nil {
		t.Fatal(err)
	}
	r := waitInBucket(t, a, waitFinished(t, a, 1)[0].ID, 30*time.Second)
	obj, err := os.ReadFile(filepath.Join(srv.Dir, srv.Bucket, "calls", mediastore.ObjectName(r.MediaPath)))
	if err != nil || !mediacrypt.Encrypted(bytes.NewReader(obj)) || bytes.Contains(obj, []byte("WAVE")) {
		t.Fatalf("object in the bucket is not the encrypted file (%v)", err)
	}
	code, _, full := get(t, c, "/api/v1/recordings/"+r.ID+"/media?format=wav", "")
	if code != 200 {
		t.Fatalf("encrypted replay from S3: %d", code)
	}
	wavPath := filepath.Join(t.TempDir(), "replay.wav")
	if err := os.WriteFile(wavPath, full, 0o600); err != nil {
		t.Fatal(err)
	}
	checkTones(t, wavPath, []float64{440, 1000}, 2*time.Second)
	code, _, part := get(t, c, "/api/v1/recordings/"+r.ID+"/media?format=wav", "bytes=30000-40000")
	if code != http.StatusPartialContent || !bytes.Equal(part, full[30000:40001]) {
		t.Errorf("encrypted Range from S3: %d, %d bytes", code, len(part))
	}
}

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediastore"
	"github.com/openrec/openrec/internal/store/s3media"
	"github.com/openrec/openrec/internal/store/seal"
	"github.com/openrec/openrec/internal/store/sqlite"
	"github.com/openrec/openrec/internal/testtool"
	"github.com/openrec/openrec/internal/testtool/s3test"
)

// The command line on a recording uploaded to S3: export and verify read
// it back with --media/--s3-endpoint (and say so without them), erase
// deletes its objects.
func TestCLIWithMediaInS3(t *testing.T) {
	srv := s3test.Start(t, "rec")
	t.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)
	ctx := context.Background()
	data := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(data, dbFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key, err := seal.LoadOrCreateKey(filepath.Join(data, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	media := mediastore.Layout{Root: filepath.Join(data, "media")}.NewMedia(recT0, "01S3CLI0000000000000000001")
	if err := os.MkdirAll(filepath.Dir(media), 0o700); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 90<<10)
	rand.Read(body)
	if err := os.WriteFile(media, body, 0o600); err != nil {
		t.Fatal(err)
	}
	sum, size, err := seal.HashFile(media)
	if err != nil {
		t.Fatal(err)
	}
	r := &store.Recording{ID: "01S3CLI0000000000000000001", Mode: store.ModeMSR, Status: store.StatusCompleted, StartedAt: recT0,
		EndedAt: recT0.Add(time.Minute), Channels: 2, MediaPath: media, SizeBytes: size, SHA256: sum,
		ExternalData: map[string]string{"GEN_TEV_ANI": "+33155501234"}}
	if err := db.CreateRecording(ctx, r); err != nil {
		t.Fatal(err)
	}
	m := seal.New(r, recT0.Add(time.Minute))
	m.Sign(key)
	if err := seal.Write(mediastore.Manifest(media), m); err != nil {
		t.Fatal(err)
	}
	b, err := s3media.New(s3media.Config{Bucket: "rec", Prefix: "calls", Endpoint: srv.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	u := s3media.NewUploader(s3media.UploaderConfig{Objects: b, Store: db, Spool: filepath.Join(data, "media")})
	if err := u.Start(); err != nil {
		t.Fatal(err)
	}
	testtool.Eventually(t, 20*time.Second, func() bool {
		got, err := db.GetRecording(ctx, r.ID)
		return err == nil && got.MediaObject != "" && len(mediastore.Finished(media)) == 0
	}, "recording uploaded")
	u.Close()
	s3flags := []string{"--media", "s3://rec/calls", "--s3-endpoint", srv.Endpoint}

	out := filepath.Join(t.TempDir(), "out.wav")
	if _, _, err := runCLI(t, "recordings", "export", "--data-dir", data, r.ID, "--out", out); err == nil || !strings.Contains(err.Error(), "--media s3://") {
		t.Errorf("export without --media: %v", err)
	}
	if _, _, err := runCLI(t, append([]string{"recordings", "export", "--data-dir", data, r.ID, "--out", out}, s3flags...)...); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, body) {
		t.Errorf("export from S3: %d bytes, want the %d recorded", len(got), len(body))
	}

	runVerify := func(args ...string) (string, error) {
		root := &cobra.Command{Use: "openrec", SilenceUsage: true, SilenceErrors: true}
		root.AddCommand(newVerifyCmd())
		var o bytes.Buffer
		root.SetOut(&o)
		root.SetErr(&o)
		root.SetArgs(append([]string{"verify", "--data-dir", data}, args...))
		err := root.ExecuteContext(ctx)
		return o.String(), err
	}
	if o, err := runVerify("--all"); err != nil || !strings.Contains(o, "recordings in S3, not checked: 1") {
		t.Errorf("verify without --media: %v\n%s", err, o)
	}
	if o, err := runVerify(append([]string{"--all"}, s3flags...)...); err != nil || !strings.Contains(o, "1 intact") {
		t.Errorf("verify with --media: %v\n%s", err, o)
	}
	// A changed object is found.
	obj := srv.ObjectPath("calls/" + mediastore.ObjectName(media))
	changed := bytes.Clone(body)
	changed[len(changed)-1] ^= 0xff // a byte that differs whatever it was ('x' was the last byte now and then)
	if err := os.WriteFile(obj, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	if o, err := runVerify(append([]string{r.ID}, s3flags...)...); err == nil || !strings.Contains(o, "CHANGED "+r.ID) {
		t.Errorf("verify of a changed object: %v\n%s", err, o)
	}

	if _, _, err := runCLI(t, append([]string{"recordings", "erase", "--data-dir", data, "--ani", "+33155501234"}, s3flags...)...); err != nil {
		t.Fatal(err)
	}
	if keys, err := b.List(ctx, "calls/"); err != nil || len(keys) != 0 {
		t.Errorf("objects left after erase: %v %v", keys, err)
	}
}

// kill -9 mid-call with media in S3: the restarted server repairs the
// spool's file, marks the recording partial and uploads it; what was
// recorded before the kill is in the bucket and exports from it.
func TestKill9WithMediaInS3(t *testing.T) {
	srv := s3test.Start(t, "rec")
	t.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)
	s3flags := []string{"--media", "s3://rec/calls", "--s3-endpoint", srv.Endpoint}
	data := t.TempDir()
	s := startServe(t, data, "35000-35199", s3flags...)
	dial := exec.Command(binPath, "dial", "--target", s.sipAddr, "--duration", "1m", "--tones", "440,1000")
	dial.Stdout, dial.Stderr = io.Discard, io.Discard
	if err := dial.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = dial.Process.Kill(); _ = dial.Wait() }()
	testtool.Poll(t, 15*time.Second, func() (bool, string) {
		var size int64
		_ = filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".wav.part") {
				if fi, err := d.Info(); err == nil {
					size = max(size, fi.Size())
				}
			}
			return nil
		})
		return size >= 44+5*16000/2, fmt.Sprintf("largest WAV %d bytes", size)
	}, "2.5 s of audio in the spool")
	s.stop(t, syscall.SIGKILL)

	s2 := startServe(t, data, "35200-35399", s3flags...)
	defer s2.stop(t, syscall.SIGINT)
	var r struct {
		ID, Status, MediaObject string
	}
	testtool.Poll(t, 30*time.Second, func() (bool, string) {
		recs := listJSON(t, data)
		if len(recs) != 1 {
			return false, fmt.Sprintf("%+v", recs)
		}
		out, err := run(t, "recordings", "show", recs[0].ID, "--data-dir", data, "--json")
		if err != nil {
			return false, out
		}
		var v struct {
			ID          string `json:"id"`
			Status      string `json:"status"`
			MediaObject string `json:"media_object"`
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			return false, out
		}
		r.ID, r.Status, r.MediaObject = v.ID, v.Status, v.MediaObject
		return v.MediaObject != "", fmt.Sprintf("%+v\n%s", v, s2.logs.String())
	}, "the recovered recording uploaded")
	if r.Status != "partial" {
		t.Errorf("status %s, want partial", r.Status)
	}
	out := filepath.Join(t.TempDir(), "recovered.wav")
	if o, err := run(t, append([]string{"recordings", "export", r.ID, "--data-dir", data, "--out", out}, s3flags...)...); err != nil {
		t.Fatalf("export from S3: %v\n%s", err, o)
	}
	f, err := wav.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if d := f.Duration(); d < 1500*time.Millisecond {
		t.Errorf("recovered %v of audio from the bucket, want >= 1.5s", d)
	}
}

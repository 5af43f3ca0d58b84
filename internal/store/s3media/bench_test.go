package s3media_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediastore"
	"github.com/openrec/openrec/internal/store/s3media"
	"github.com/openrec/openrec/internal/testtool/s3test"
)

// recordedSecond is the bytes of one second of a stereo µ-law recording,
// openrec's default format (8 kHz, 2 channels, 1 byte per sample).
const recordedSecond = 8000 * 2

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkUpload moves finished recordings (5 min stereo µ-law each,
// with SDP and manifest sidecars) from the spool to a local versitygw:
// put with sha256, verify, record in SQLite, delete locally. It reports
// the upload throughput and openrec's CPU (this process: the SDK, hashing,
// the store; not versitygw's) per hour of recorded audio uploaded.
func BenchmarkUpload(b *testing.B) {
	for _, workers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			srv := s3test.Start(b, "rec")
			bk, err := s3media.New(s3media.Config{Bucket: "rec", Endpoint: srv.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey})
			if err != nil {
				b.Fatal(err)
			}
			defer bk.Close()
			const recs, seconds = 16, 300
			body := make([]byte, seconds*recordedSecond)
			rand.Read(body)
			var elapsed, cpu time.Duration
			var total int64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				db := openDB(b)
				spool := filepath.Join(b.TempDir(), "media")
				ids := make([]string, recs)
				for j := range ids {
					ids[j] = fmt.Sprintf("01BENCH%03d%016d", i, j)
					spoolBench(b, db, spool, ids[j], body)
				}
				u := s3media.NewUploader(s3media.UploaderConfig{Objects: bk, Store: db, Spool: spool, Workers: workers})
				c0, t0 := cpuTime(), time.Now()
				b.StartTimer()
				if err := u.Start(); err != nil {
					b.Fatal(err)
				}
				for u.Stats().Pending > 0 {
					time.Sleep(5 * time.Millisecond) // polling the backlog; bounded by the b.N loop
				}
				b.StopTimer()
				elapsed += time.Since(t0)
				cpu += cpuTime() - c0
				if s := u.Stats(); s.Uploaded != recs || s.Failures != 0 {
					b.Fatalf("stats %+v", s)
				}
				total += u.Stats().UploadedBytes
				u.Close()
				db.Close()
			}
			b.ReportMetric(float64(total)/1e6/elapsed.Seconds(), "MB/s")
			hours := float64(b.N*recs*seconds) / 3600
			b.ReportMetric(cpu.Seconds()/hours, "cpu-s/recorded-h")
		})
	}
}

func spoolBench(tb testing.TB, db interface {
	CreateRecording(context.Context, *store.Recording) error
}, spool, id string, body []byte) {
	media := mediastore.Layout{Root: spool}.NewMedia(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), id)
	if err := os.MkdirAll(filepath.Dir(media), 0o700); err != nil {
		tb.Fatal(err)
	}
	for f, b := range map[string][]byte{media: body, mediastore.SDP(media): []byte("v=0\r\n"), mediastore.Manifest(media): []byte(`{"id":"` + id + `"}`)} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	if err := db.CreateRecording(context.Background(), &store.Recording{ID: id, Mode: store.ModeSIPREC, Status: store.StatusCompleted, MediaPath: media}); err != nil {
		tb.Fatal(err)
	}
}

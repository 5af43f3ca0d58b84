package api_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/web/api"
)

// cpuTime is the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkScreenUpload: one op is one 1-second chunk of a screen video
// (the browser client's timeslice) through the real HTTP server and SQLite
// store: authentication, Content-Range checks, the write at its offset,
// fsync, the row update. cpu-ms/op is the whole process's CPU per chunk
// (client included), so the server's CPU per screen session is at most
// that many ms per second of video.
func BenchmarkScreenUpload(b *testing.B) {
	for _, kbit := range []int{150, 500, 1500} {
		b.Run(fmt.Sprintf("%dkbit", kbit), func(b *testing.B) {
			fs := &fakeScreen{recs: map[string]api.ScreenRecording{"rec-a2": {Agent: "7001"}}}
			e := newEnv(b, func(c *api.Config) {
				c.Screen = fs
				c.ScreenStore = c.Store.(api.ScreenStore)
				c.ScreenMaxBytes = 1 << 40
			})
			tok := e.token("agent1")
			chunk := make([]byte, kbit*1000/8)
			_, _ = rand.Read(chunk)
			client := &http.Client{}
			b.SetBytes(int64(len(chunk)))
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				start := i * len(chunk)
				req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/recordings/rec-a2/screen", bytes.NewReader(chunk))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", "video/webm;codecs=vp8")
				req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/*", start, start+len(chunk)-1))
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusPermanentRedirect {
					b.Fatalf("chunk %d: %d", i, resp.StatusCode)
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

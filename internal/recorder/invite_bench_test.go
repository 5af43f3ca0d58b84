package recorder

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/rtpin"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/sip/sdpoa"
	"github.com/openrec/openrec/internal/sip/sipsrv"
	"github.com/openrec/openrec/internal/store/sqlite"
)

// BenchmarkMSRInvitePairs measures how many two-session MSR calls the
// recorder answers per second when both legs of a call arrive at once, as
// Genesys sends them: each op is one call (two INVITEs handled
// concurrently, each answered), with inflight calls being set up at the
// same time (the SIP server runs each INVITE in its own goroutine). The
// store is the real SQLite store and the WAV files real files in the temp
// dir; calls stay up until the end (no BYE in the measured time). Run with
// a fixed count, e.g. -benchtime 1000x: every call holds two port pairs
// and five descriptors.
func BenchmarkMSRInvitePairs(b *testing.B) {
	for _, inflight := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) {
			benchInvitePairs(b, inflight)
		})
	}
}

func benchInvitePairs(b *testing.B, inflight int) {
	dir := b.TempDir()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "openrec.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ports, err := rtpin.NewPortAllocator(40000, 59999, 0, nil)
	if err != nil {
		b.Fatal(err)
	}
	if 2*b.N > 9000 {
		b.Fatalf("b.N = %d: too many calls for the port range (use -benchtime Nx with N <= 4500)", b.N)
	}
	r, err := New(Config{
		DataDir: dir, Format: wav.FormatULaw, MaxCalls: b.N + 10, MediaTimeout: time.Hour, LegWindow: time.Hour,
		ReorderWindow: 100 * time.Millisecond, FlushInterval: time.Second, RTPIP: netip.MustParseAddr("127.0.0.1"),
		Ports: ports, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, db)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	sdp := func(port int) *sdpoa.Session {
		s, err := sdpoa.ParseOffer(fmt.Appendf(nil, "v=0\r\no=MCP 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n", port))
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	invs := make([][2]*sipsrv.Invite, b.N)
	for i := range invs {
		for k, dn := range []string{"5001", "6001"} {
			invs[i][k] = &sipsrv.Invite{
				CallID: fmt.Sprintf("bench-%d-%d", i, k), Kind: sipsrv.KindMSR, SDP: sdp(30000 + 2*k), LocalIP: netip.MustParseAddr("127.0.0.1"),
				MSR: sipsrv.MSRParams{RecordID: fmt.Sprintf("rec-%d", i), CallUUID: fmt.Sprintf("UUID-%d", i), DN: dn, RecordDN: "5001"},
			}
		}
	}
	var next, failed atomic.Int64
	var firstErr atomic.Value
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				var legs sync.WaitGroup
				for k := range 2 {
					legs.Add(1)
					go func() {
						defer legs.Done()
						if _, err := r.Invite(ctx, invs[i][k]); err != nil {
							failed.Add(1)
							firstErr.CompareAndSwap(nil, err)
						}
					}()
				}
				legs.Wait()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d INVITEs refused, first: %v", n, firstErr.Load())
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "pairs/s")
}

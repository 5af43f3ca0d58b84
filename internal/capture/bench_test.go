package capture

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/openrec/openrec/internal/capture/capturetest"
	"github.com/openrec/openrec/internal/capture/follow"
	"github.com/openrec/openrec/internal/media/rtpin"
	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/store"
)

// memStore is the smallest recorder.Store.
type memStore struct {
	mu   sync.Mutex
	recs map[string]store.Recording
}

func (m *memStore) CreateRecording(_ context.Context, r *store.Recording) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs[r.ID] = *r
	return nil
}
func (m *memStore) UpdateRecording(ctx context.Context, r *store.Recording) error {
	return m.CreateRecording(ctx, r)
}
func (m *memStore) AddEvents(context.Context, string, ...store.Event) error { return nil }
func (m *memStore) GetRecording(_ context.Context, id string) (*store.Recording, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &r, nil
}
func (m *memStore) ListRecordings(context.Context, store.Filter) ([]store.Recording, error) {
	return nil, nil
}

type frame struct {
	at   time.Time
	data []byte
}

// callsPcap returns the frames of n overlapping calls of talk each (SIP
// over TCP for every third one when tcp is set).
func callsPcap(tb testing.TB, n int, talk time.Duration, tcp bool) []frame {
	var buf bytes.Buffer
	w, err := capturetest.NewWriter(&buf, capturetest.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	var calls []capturetest.Call
	for i := range n {
		a := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		b := netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)})
		calls = append(calls, capturetest.Call{
			ID:     fmt.Sprintf("bench-%d", i),
			Caller: capturetest.Party{DN: fmt.Sprint(5000 + i), SIP: netip.AddrPortFrom(a, 5060), RTP: netip.AddrPortFrom(a, 20000), Tone: 1000},
			Callee: capturetest.Party{DN: fmt.Sprint(7000 + i), SIP: netip.AddrPortFrom(b, 5060), RTP: netip.AddrPortFrom(b, 30000), Tone: 1600},
			Start:  t0.Add(time.Duration(i) * 7 * time.Millisecond),
			Talk:   talk,
			TCP:    tcp && i%3 == 1,
		})
	}
	if err := w.Write(calls...); err != nil {
		tb.Fatal(err)
	}
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		tb.Fatal(err)
	}
	var out []frame
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, frame{ci.Timestamp, data})
	}
}

func newBenchRecorder(tb testing.TB, clock *Clock) (*recorder.Recorder, *memStore) {
	ports, err := rtpin.NewPortAllocator(40000, 40001, 0, time.Now)
	if err != nil {
		tb.Fatal(err)
	}
	st := &memStore{recs: map[string]store.Recording{}}
	rec, err := recorder.New(recorder.Config{DataDir: tb.TempDir(), Ports: ports, Now: clock.Now,
		ReorderWindow: 200 * time.Millisecond, FsyncInterval: time.Hour, Logger: slog.New(slog.DiscardHandler)}, st)
	if err != nil {
		tb.Fatal(err)
	}
	return rec, st
}

// TestEngineRecordsEveryCall: 20 overlapping calls (some with SIP over
// TCP between the same two ports) replayed through the engine and a real
// recorder all end completed with both channels and their own duration.
func TestEngineRecordsEveryCall(t *testing.T) {
	frames := callsPcap(t, 20, time.Second, true)
	clock := &Clock{}
	rec, st := newBenchRecorder(t, clock)
	e := New(Config{Recorder: rec, Clock: clock, Logger: slog.New(slog.DiscardHandler), Follow: follow.Config{Linger: 200 * time.Millisecond}}, 1)
	for _, f := range frames {
		e.Frame(f.at, f.data)
	}
	stats := e.Close("end of capture")
	_ = rec.Close()
	if len(st.recs) != 20 || stats.Follow.Recordings != 20 || stats.Follow.RTPUnmatched != 0 {
		t.Fatalf("%d recordings, stats %+v", len(st.recs), stats)
	}
	for _, r := range st.recs {
		if r.Status != store.StatusCompleted || r.DurationMS < 950 || r.DurationMS > 1200 {
			t.Errorf("%s: %s (%s) %d ms", r.ID, r.Status, r.StatusReason, r.DurationMS)
		}
	}
}

// BenchmarkReplay: packets per second one core decodes, classifies and
// records (mixer + WAV on disk) replaying concurrent calls of 10 s at
// rising concurrency (rate): 25, 100 and 400 calls, 2,500 to 40,000
// packets per second of traffic (one fsync per finished call included).
func BenchmarkReplay(b *testing.B) {
	for _, calls := range []int{25, 100, 400} {
		b.Run(fmt.Sprintf("calls=%d", calls), func(b *testing.B) {
			frames := callsPcap(b, calls, 10*time.Second, false)
			var bytesTotal int
			for _, f := range frames {
				bytesTotal += len(f.data)
			}
			b.SetBytes(int64(bytesTotal))
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for range b.N {
				clock := &Clock{}
				rec, _ := newBenchRecorder(b, clock)
				e := New(Config{Recorder: rec, Clock: clock, Logger: slog.New(slog.DiscardHandler)}, 1)
				for _, f := range frames {
					e.Frame(f.at, f.data)
				}
				st := e.Close("end")
				_ = rec.Close()
				if st.Follow.Recordings != uint64(calls) {
					b.Fatalf("%d recordings, want %d", st.Follow.Recordings, calls)
				}
			}
			b.ReportMetric(float64(len(frames)*b.N)/time.Since(start).Seconds(), "packets/s")
			// per CPU second: the pipeline is one goroutine, so this is
			// what one core sustains when the disk keeps up (the wall
			// figure above also waits on the fsync of every finished call
			// on a shared disk)
			b.ReportMetric(float64(len(frames)*b.N)/(cpuTime()-cpu0).Seconds(), "packets/cpu-s")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

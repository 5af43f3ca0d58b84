package mixer

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/g711"
)

// fakeTap records what a mixer taps.
type fakeTap struct {
	on     atomic.Bool
	asked  atomic.Int64
	mu     sync.Mutex
	frames []tapped
}

type tapped struct {
	ch  int
	at  time.Time
	pcm []int16
}

func (f *fakeTap) Listening() bool { f.asked.Add(1); return f.on.Load() }
func (f *fakeTap) Publish(ch int, at time.Time, pcm []int16) {
	f.mu.Lock()
	f.frames = append(f.frames, tapped{ch, at, append([]int16(nil), pcm...)})
	f.mu.Unlock()
}

// The tap gets each placed G.711 packet decoded to PCM16 in arrival order,
// at its timeline time, for the channel it was placed on; paused and held
// audio (silence in the file) is not tapped; nothing is decoded while
// nobody listens.
func TestTapDecodedAudio(t *testing.T) {
	tap := &fakeTap{}
	a := leg{ch: 0, ssrc: 0xA}                                               // PCMU
	b := leg{ch: 1, ssrc: 0xB, pt: 8, content: func(s int64, n int) []byte { // PCMA
		out := make([]byte, n)
		for i := range out {
			out[i] = g711.EncodeALaw(int16(s+int64(i)) * 8)
		}
		return out
	}}
	steps := []step{
		{arr: ms(100), fn: func(*Mixer, time.Time) { tap.on.Store(true) }},
		{arr: ms(300), fn: func(m *Mixer, now time.Time) { m.Track(1).SetHeld(true, now) }},
		{arr: ms(400), fn: func(m *Mixer, now time.Time) { m.Track(1).SetHeld(false, now) }},
		{arr: ms(500), fn: func(m *Mixer, now time.Time) { m.SetPaused(true, now) }},
		{arr: ms(600), fn: func(m *Mixer, now time.Time) { m.SetPaused(false, now) }},
	}
	steps = append(steps, append(a.packets(0, 40), b.packets(0, 40)...)...)
	// a reordered pair on channel 0: 41 arrives before 40
	steps = append(steps, a.packet(41, 0), a.packet(40, 40*time.Millisecond))
	m, _ := newTestMixer(t, Config{Channels: 2, Tap: tap})
	drive(t, m, steps, ms(1000))

	count := map[int]int{}
	var order0 []time.Duration
	for _, f := range tap.frames {
		count[f.ch]++
		off := f.at.Sub(t0)
		if off < ms(100) {
			t.Errorf("frame at %v tapped before anybody listened", off)
		}
		if len(f.pcm) != 160 {
			t.Fatalf("frame of %d samples", len(f.pcm))
		}
		s := int64(off / (125 * time.Microsecond)) // sample position = sender sample (no offset here)
		switch f.ch {
		case 0:
			order0 = append(order0, off)
			want := ramp(s, 160)
			if f.pcm[7] != g711.DecodeULaw(want[7]) {
				t.Errorf("channel 0 at %v: sample %d, want %d", off, f.pcm[7], g711.DecodeULaw(want[7]))
			}
		case 1:
			if off >= ms(300) && off < ms(400) {
				t.Errorf("held audio tapped at %v", off)
			}
			if want := g711.DecodeALaw(g711.EncodeALaw(int16(s+7) * 8)); f.pcm[7] != want {
				t.Errorf("channel 1 at %v: sample %d, want %d", off, f.pcm[7], want)
			}
		}
		if off >= ms(500) && off < ms(600) {
			t.Errorf("paused audio tapped at %v (channel %d)", off, f.ch)
		}
	}
	// 100..800 ms on channel 0 = 35 packets, less 5 paused, plus the pair;
	// channel 1: 35 minus 5 held minus 5 paused.
	if count[0] != 32 || count[1] != 25 {
		t.Errorf("tapped %d frames on channel 0, %d on channel 1; want 32, 25", count[0], count[1])
	}
	if n := len(order0); n < 2 || order0[n-2] != ms(820) || order0[n-1] != ms(800) {
		t.Errorf("channel 0 order ends %v, want arrival order (820 ms then 800 ms)", order0[max(0, n-2):])
	}
	if tap.asked.Load() == 0 {
		t.Error("Listening never asked")
	}
}

// An idle tap costs no allocation on the packet path.
func TestHandleRTPIdleTapAllocs(t *testing.T) {
	tap := &fakeTap{}
	m, _ := newTestMixer(t, Config{Channels: 1, Tap: tap})
	s := leg{ssrc: 1}.packet(0, 0)
	p := *s.p
	i := 0
	allocs := testing.AllocsPerRun(2000, func() {
		p.Seq = uint16(i)
		p.Timestamp = uint32(i * 160)
		p.Arrival = at(time.Duration(i) * 20 * time.Millisecond)
		m.Track(0).HandleRTP(&p)
		if i%50 == 49 {
			_ = m.Flush(p.Arrival)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("HandleRTP with an idle tap allocates %v times per packet", allocs)
	}
	if tap.asked.Load() == 0 || len(tap.frames) != 0 {
		t.Errorf("idle tap: asked %d times, got %d frames", tap.asked.Load(), len(tap.frames))
	}
}

// BenchmarkHandleRTPIdleTap is BenchmarkHandleRTP with a tap nobody
// listens to: the same cost, no allocation.
func BenchmarkHandleRTPIdleTap(b *testing.B) {
	m, err := New(Config{Channels: 2, Format: FormatULaw, Start: t0, Tap: &fakeTap{}}, discardWriter{})
	if err != nil {
		b.Fatal(err)
	}
	tr := m.Track(0)
	p := leg{ssrc: 1}.packet(0, 0).p
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.Seq = uint16(i)
		p.Timestamp = uint32(i * 160)
		p.Arrival = t0.Add(time.Duration(i) * 20 * time.Millisecond)
		tr.HandleRTP(p)
		if i%50 == 49 {
			_ = m.Flush(p.Arrival)
		}
		i++
	}
}

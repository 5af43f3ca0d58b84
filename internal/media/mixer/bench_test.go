package mixer

import (
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media"
)

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (discardWriter) Sync() error                 { return nil }

// BenchmarkHandleRTP measures one in-order 20 ms PCMU packet into µ-law
// storage, including a Flush every 50 packets (1 s) so the ring keeps
// moving as in production.
func BenchmarkHandleRTP(b *testing.B) {
	benchHandleRTP(b, Config{Channels: 2, Format: FormatULaw, Start: t0})
}

// BenchmarkHandleRTPWide is BenchmarkHandleRTP on a 16 kHz PCM16
// timeline: each PCMU packet is decoded and doubled (polyphase
// interpolator) before it is placed.
func BenchmarkHandleRTPWide(b *testing.B) {
	benchHandleRTP(b, Config{Channels: 2, Format: FormatPCM16, SampleRate: WideRate, Start: t0})
}

func benchHandleRTP(b *testing.B, cfg Config) {
	m, err := New(cfg, discardWriter{})
	if err != nil {
		b.Fatal(err)
	}
	tr := m.Track(0)
	p := media.Packet{SSRC: 1, PayloadType: 0, Payload: ramp(0, 160)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.Seq = uint16(i)
		p.Timestamp = uint32(i * 160)
		p.Arrival = t0.Add(time.Duration(i) * 20 * time.Millisecond)
		tr.HandleRTP(&p)
		if i%50 == 49 {
			_ = m.Flush(p.Arrival)
		}
		i++
	}
}

// BenchmarkFlush measures writing 1 s of two channels (8000 frames).
func BenchmarkFlush(b *testing.B) {
	m, err := New(Config{Channels: 2, Format: FormatULaw, Start: t0}, discardWriter{})
	if err != nil {
		b.Fatal(err)
	}
	p := media.Packet{PayloadType: 0, Payload: ramp(0, 160)}
	b.ReportAllocs()
	sec := 0
	for b.Loop() {
		b.StopTimer()
		for ch := range 2 {
			for k := range 50 {
				i := sec*50 + k
				p.SSRC = uint32(ch + 1)
				p.Seq = uint16(i)
				p.Timestamp = uint32(i * 160)
				p.Arrival = t0.Add(time.Duration(i) * 20 * time.Millisecond)
				m.Track(ch).HandleRTP(&p)
			}
		}
		sec++
		b.StartTimer()
		if err := m.Flush(t0.Add(time.Duration(sec) * time.Second)); err != nil {
			b.Fatal(err)
		}
	}
}

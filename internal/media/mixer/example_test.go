package mixer_test

import (
	"fmt"
	"time"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/mixer"
)

type frames struct{ n int }

func (f *frames) Write(p []byte) (int, error) { f.n += len(p); return len(p), nil }
func (f *frames) Sync() error                 { return nil }

// A two-channel MSR recording: each leg's receiver hands packets to its
// track, the recorder flushes once a second and closes at BYE.
func Example() {
	start := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	out := &frames{}
	m, err := mixer.New(mixer.Config{Channels: 2, Format: mixer.FormatALaw, Start: start}, out)
	if err != nil {
		panic(err)
	}
	pcmu := []media.Codec{{PT: 0, Name: media.PCMU, ClockRate: 8000}}
	m.Track(0).SetCodecs(pcmu, nil, nil)
	m.Track(1).SetCodecs(pcmu, nil, nil)
	payload := make([]byte, 160)
	for i := range 100 { // 2 s of 20 ms packets on both legs
		for ch := range 2 {
			m.Track(ch).HandleRTP(&media.Packet{
				SSRC: uint32(ch + 1), Seq: uint16(i), Timestamp: uint32(i * 160),
				Payload: payload, Arrival: start.Add(time.Duration(i) * 20 * time.Millisecond),
			})
		}
		if now := start.Add(time.Duration(i+1) * 20 * time.Millisecond); (i+1)%50 == 0 {
			_ = m.Flush(now) // writes up to now - 200 ms
		}
	}
	_ = m.Close(start.Add(2 * time.Second))
	fmt.Println(m.Frames(), "frames,", out.n, "bytes,", m.Stats(1).Packets, "packets on channel 1")
	// Output: 16000 frames, 32000 bytes, 100 packets on channel 1
}

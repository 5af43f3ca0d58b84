package capture

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/openrec/openrec/internal/capture/follow"
	"github.com/openrec/openrec/internal/store"
)

// pacedSource plays frames at their capture time (a live socket).
type pacedSource struct {
	frames []frame
	i      int
}

func (p *pacedSource) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	if p.i >= len(p.frames) {
		time.Sleep(5 * time.Millisecond) // models time: a live source idles once its frames are out
		return nil, gopacket.CaptureInfo{}, ErrTimeout
	}
	f := p.frames[p.i]
	if d := time.Until(f.at); d > 0 {
		time.Sleep(min(d, 5*time.Millisecond)) // models time: frames are handed over at their capture time (live pacing)
		return nil, gopacket.CaptureInfo{}, ErrTimeout
	}
	p.i++
	return f.data, gopacket.CaptureInfo{Timestamp: f.at}, nil
}

func (p *pacedSource) LinkType() layers.LinkType { return layers.LinkTypeEthernet }

// TestRunFanout: SIP on one socket, RTP spread over two (as a fanout
// group hashes flows), decoded on three goroutines: every call recorded
// whole, with both channels, as with one socket.
func TestRunFanout(t *testing.T) {
	frames := callsPcap(t, 6, time.Second, true)
	base := time.Now().Add(100 * time.Millisecond)
	shift := base.Sub(frames[0].at)
	srcs := []*pacedSource{{}, {}, {}}
	for _, f := range frames {
		f.at = f.at.Add(shift)
		// as a fanout hash does, by flow: SIP (UDP and TCP) on socket 0,
		// the callers' RTP on 1, the callees' on 2
		p := gopacket.NewPacket(f.data, layers.LinkTypeEthernet, gopacket.Default)
		n := 0
		if u, ok := p.TransportLayer().(*layers.UDP); ok && u.SrcPort != 5060 {
			n = 1 + int(p.NetworkLayer().(*layers.IPv4).SrcIP[1]-1)
		}
		srcs[n].frames = append(srcs[n].frames, f)
	}
	clock := &Clock{}
	clock.Advance(time.Now())
	rec, st := newBenchRecorder(t, clock)
	e := New(Config{Recorder: rec, Clock: clock, Live: true, Logger: slog.New(slog.DiscardHandler),
		Follow: follow.Config{Linger: 200 * time.Millisecond}}, layers.LinkTypeEthernet)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Stats, 1)
	go func() {
		s, err := e.RunFanout(ctx, []Source{srcs[0], srcs[1], srcs[2]})
		if err != nil {
			t.Error(err)
		}
		done <- s
	}()
	time.Sleep(time.Until(frames[len(frames)-1].at.Add(shift)) + 500*time.Millisecond) // models time: the paced frames are all handed over, plus the linger
	cancel()
	stats := <-done
	_ = rec.Close()
	if stats.Decode.Frames != uint64(len(frames)) || stats.Follow.Recordings != 6 {
		t.Fatalf("stats %+v", stats)
	}
	if lost := stats.Follow.RTPBeforeOpen + stats.Follow.RTPUnmatched; lost > 6 {
		t.Errorf("%d RTP packets not recorded", lost)
	}
	for _, r := range st.recs {
		if r.Status != store.StatusCompleted || r.DurationMS < 950 || r.DurationMS > 1400 {
			t.Errorf("%s: %s (%s) %d ms", r.ID, r.Status, r.StatusReason, r.DurationMS)
		}
	}
}

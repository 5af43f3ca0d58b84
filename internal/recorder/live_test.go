package recorder

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/g711"
	"github.com/openrec/openrec/internal/media/live"
	"github.com/openrec/openrec/internal/media/mixer"
	"github.com/openrec/openrec/internal/testtool"
)

// sendTone sends n 20 ms packets of a µ-law sine of freq Hz.
func (s *sender) sendTone(t *testing.T, freq float64, n int) {
	t.Helper()
	pcm := audiotest.Tone(freq, 8000, 8000, n*160)
	for i := 0; i < n; i++ {
		p := make([]byte, 12+160)
		p[0] = 0x80
		binary.BigEndian.PutUint16(p[2:], s.seq)
		binary.BigEndian.PutUint32(p[4:], s.ts)
		binary.BigEndian.PutUint32(p[8:], s.ssrc)
		for k, v := range pcm[i*160 : (i+1)*160] {
			p[12+k] = g711.EncodeULaw(v)
		}
		if _, err := s.c.WriteToUDP(p, s.to); err != nil {
			t.Fatal(err)
		}
		s.seq++
		s.ts += 160
	}
}

// collect reads frames from sub until it has n samples (failing after a
// generous bound: the frames come straight from the RTP ingest).
func collect(t *testing.T, sub *live.Subscription, n int) []live.Frame {
	t.Helper()
	var out []live.Frame
	got := 0
	timeout := time.After(10 * time.Second)
	for got < n {
		select {
		case f, ok := <-sub.C():
			if !ok {
				t.Fatalf("subscription closed after %d samples, want %d", got, n)
			}
			out = append(out, f)
			got += len(f.PCM)
		case <-timeout:
			t.Fatalf("live audio: %d samples received, want %d", got, n)
		}
	}
	return out
}

func samplesOf(frames []live.Frame) []int16 {
	var out []int16
	for _, f := range frames {
		out = append(out, f.PCM...)
	}
	return out
}

// A listener subscribed during a call gets each channel's audio decoded to
// PCM from the RTP ingest (no flush, nothing written yet), the right tone
// on the right channel; Live shows the call and its channels; when the
// call ends the recording is no longer live and the subscription closes.
func TestLiveListenDuringCall(t *testing.T) {
	hub := live.NewHub()
	f := newFixture(t, func(c *Config) { c.LiveHub = hub })
	ctx := context.Background()
	a := newSender(t, 0, 0xA1) // the recorded DN 5001: channel 0
	b := newSender(t, 0, 0xB1) // the other party: channel 1
	ansA, err := f.invite(ctx, msrInvite(t, "leg-a", "5001", a.port(), "sendonly"))
	if err != nil {
		t.Fatal(err)
	}
	ansB, err := f.invite(ctx, msrInvite(t, "leg-b", "+15550100", b.port(), "sendonly"))
	if err != nil {
		t.Fatal(err)
	}
	a.to.Port, b.to.Port = answerPort(t, ansA), answerPort(t, ansB)

	calls := f.r.Live()
	if len(calls) != 1 {
		t.Fatalf("Live() = %d calls, want 1", len(calls))
	}
	lc := calls[0]
	if lc.RecordID != "r1" || lc.CallUUID != "UUID1" || lc.RecordedDN != "5001" || lc.OtherDN != "+15550100" ||
		len(lc.Channels) != 2 || lc.Channels[0].DN != "5001" || lc.Channels[1].DN != "+15550100" {
		t.Fatalf("live call = %+v", lc)
	}
	if lc.Channels[0].Packets != 0 || !lc.Channels[0].LastPacketAt.IsZero() || lc.Channels[0].AudioArriving ||
		lc.Channels[0].Codec != "PCMU" {
		t.Errorf("channel before audio = %+v", lc.Channels[0])
	}
	id := lc.RecordingID
	if !f.r.IsLive(id) || f.r.IsLive("nope") {
		t.Fatalf("IsLive(%s) = %v, IsLive(nope) = %v", id, f.r.IsLive(id), f.r.IsLive("nope"))
	}

	ch1 := hub.Subscribe(id, 1, 200)
	all := hub.Subscribe(id, -1, 200)
	defer ch1.Close()
	defer all.Close()
	if hub.Listeners(id) != 2 {
		t.Fatalf("listeners = %d", hub.Listeners(id))
	}
	a.sendTone(t, 1000, 50)
	b.sendTone(t, 400, 50)

	got1 := collect(t, ch1, 50*160)
	for _, fr := range got1 {
		if fr.Channel != 1 {
			t.Fatalf("channel-1 subscription got a frame of channel %d", fr.Channel)
		}
	}
	if s := samplesOf(got1); !audiotest.HasTone(s, 8000, 400, []float64{1000}) {
		t.Error("channel 1 does not carry the other party's 400 Hz tone")
	}
	var by [2][]live.Frame
	for _, fr := range collect(t, all, 100*160) {
		by[fr.Channel] = append(by[fr.Channel], fr)
	}
	if !audiotest.HasTone(samplesOf(by[0]), 8000, 1000, []float64{400}) || !audiotest.HasTone(samplesOf(by[1]), 8000, 400, []float64{1000}) {
		t.Errorf("all-channel subscription: channel 0 %d frames, channel 1 %d frames, tones not where expected", len(by[0]), len(by[1]))
	}
	for i := 1; i < len(by[0]); i++ {
		if by[0][i].At.Before(by[0][i-1].At) {
			t.Errorf("channel 0 frames out of order at %d", i)
		}
	}
	if ch1.Dropped() != 0 || all.Dropped() != 0 {
		t.Errorf("frames dropped: %d, %d", ch1.Dropped(), all.Dropped())
	}

	lc = f.r.Live()[0]
	for ch, c := range lc.Channels {
		if c.Packets != 50 || c.LastPacketAt.IsZero() || !c.AudioArriving || c.Held || c.Codec != "PCMU" {
			t.Errorf("channel %d during audio = %+v", ch, c)
		}
	}
	f.clk.Add(3 * time.Second)
	if lc = f.r.Live()[0]; lc.Channels[0].AudioArriving {
		t.Errorf("audio still arriving 3 s after the last packet: %+v", lc.Channels[0])
	}

	f.r.Bye("leg-a", "bye")
	f.r.Bye("leg-b", "bye")
	if f.r.IsLive(id) || len(f.r.Live()) != 0 {
		t.Error("recording still live after both BYEs")
	}
	for range ch1.C() { // drains, then the channel is closed
	}
	late := hub.Subscribe(id, -1, 0)
	if _, ok := <-late.C(); ok {
		t.Error("a subscription after the call ended got a frame")
	}
}

// Live, like Stats, must not stall SIP handling of other calls while one
// call is busy on disk.
func TestLiveDoesNotStallInvitesBehindBusyCall(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.invite(ctx, msrInvite(t, "busy", "5001", 40900, "sendonly")); err != nil {
		t.Fatal(err)
	}
	f.r.mu.Lock()
	busy := f.r.legs["busy"].c
	f.r.mu.Unlock()
	busy.mu.Lock() // the busy call's flush or finalise
	liveDone := make(chan []LiveCall, 1)
	go func() { liveDone <- f.r.Live() }()
	testtool.WaitBlocked(t, 5*time.Second, "recorder.(*Recorder).Live") // Live is waiting for the busy call now
	other := msrInvite(t, "other", "6001", 40910, "sendonly")
	other.MSR.RecordID, other.MSR.RecordDN = "r-other", "6001"
	invDone := make(chan error, 1)
	go func() {
		_, err := f.invite(ctx, other)
		invDone <- err
	}()
	select {
	case err := <-invDone:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(5 * time.Second):
		t.Error("INVITE of another call stalled behind Live waiting for a busy call")
		busy.mu.Unlock()
		<-invDone
		<-liveDone
		return
	}
	busy.mu.Unlock()
	if got := <-liveDone; len(got) < 1 {
		t.Errorf("Live() = %d calls", len(got))
	}
}

// The packet path with a live tap nobody listens to allocates nothing:
// the mixer's track with the hub's stream as its tap.
func TestLiveTapIdleAllocatesNothing(t *testing.T) {
	tr, p, flush := idleTapTrack(t)
	i := 0
	allocs := testing.AllocsPerRun(2000, func() {
		step(tr, p, flush, i)
		i++
	})
	if allocs != 0 {
		t.Errorf("packet path with an idle live tap: %v allocations per packet, want 0", allocs)
	}
}

func BenchmarkLiveTapIdle(b *testing.B) {
	tr, p, flush := idleTapTrack(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		step(tr, p, flush, i)
		i++
	}
}

var tapT0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (nopWriter) Sync() error                 { return nil }

// idleTapTrack returns a mixer track tapped by a live stream that had a
// listener once and has none now.
func idleTapTrack(t testing.TB) (*mixer.Track, *media.Packet, func(time.Time) error) {
	t.Helper()
	hub := live.NewHub()
	s := hub.Open("R")
	hub.Subscribe("R", -1, 0).Close()
	m, err := mixer.New(mixer.Config{Channels: 2, Format: mixer.FormatULaw, Start: tapT0, Tap: s}, nopWriter{})
	if err != nil {
		t.Fatal(err)
	}
	return m.Track(0), &media.Packet{SSRC: 1, Payload: make([]byte, 160)}, m.Flush
}

func step(tr *mixer.Track, p *media.Packet, flush func(time.Time) error, i int) {
	p.Seq = uint16(i)
	p.Timestamp = uint32(i * 160)
	p.Arrival = tapT0.Add(time.Duration(i) * 20 * time.Millisecond)
	tr.HandleRTP(p)
	if i%50 == 49 {
		_ = flush(p.Arrival)
	}
}

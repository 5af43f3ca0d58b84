package dial_test

// Re-INVITE tests against the real recorder (internal/app on loopback):
// the recorder answers re-INVITEs (internal/sip/sipsrv) and relocks its RTP
// receivers to the new source (internal/recorder via rtpin SetRemote).

import (
	"context"
	"errors"
	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/testtool"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
)

// startRecorder runs the recorder on loopback with port 0 and a temp data
// dir (internal/app/apptest).
func startRecorder(t *testing.T) *app.App {
	t.Helper()
	a, _ := startRecorderWatched(t)
	return a
}

// lockWatch collects the recorder's "rtp source locked" log records: which
// receiver port locked to which source address.
type lockWatch struct {
	slog.Handler
	mu    *sync.Mutex
	locks *map[int64][]string // receiver port -> sources, in order
}

func (w lockWatch) Enabled(context.Context, slog.Level) bool { return true }

func (w lockWatch) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "rtp source locked" {
		var port int64
		var src string
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "port":
				port = a.Value.Int64()
			case "source":
				src = a.Value.String()
			}
			return true
		})
		w.mu.Lock()
		(*w.locks)[port] = append((*w.locks)[port], src)
		w.mu.Unlock()
	}
	if w.Handler.Enabled(ctx, r.Level) {
		return w.Handler.Handle(ctx, r)
	}
	return nil
}

func (w lockWatch) WithAttrs(as []slog.Attr) slog.Handler {
	w.Handler = w.Handler.WithAttrs(as)
	return w
}

func (w lockWatch) WithGroup(g string) slog.Handler {
	w.Handler = w.Handler.WithGroup(g)
	return w
}

// relocks returns, per receiver port, the distinct sources it locked to.
func (w lockWatch) relocks() map[int64][]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[int64][]string{}
	for p, srcs := range *w.locks {
		out[p] = slices.Compact(slices.Clone(srcs))
	}
	return out
}

func startRecorderWatched(t *testing.T) (*app.App, lockWatch) {
	t.Helper()
	w := lockWatch{Handler: apptest.Logger(t).Handler(), mu: &sync.Mutex{}, locks: &map[int64][]string{}}
	return apptest.Start(t, nil, slog.New(w)), w
}

func newDialer(t *testing.T) *dial.Dialer {
	t.Helper()
	d, err := dial.NewDialer(dial.Options{LocalIP: netip.MustParseAddr("127.0.0.1"), Logger: apptest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// finishedRecording waits until the recorder has exactly one recording and
// it is finalised, and returns it with its segments and events.
func finishedRecording(t *testing.T, a *app.App) store.Recording {
	t.Helper()
	ctx := context.Background()
	var rec store.Recording
	testtool.Eventually(t, 10*time.Second, func() bool {
		recs, err := a.Store().ListRecordings(ctx, store.Filter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) > 1 {
			t.Fatalf("%d recordings, want ONE", len(recs))
		}
		if len(recs) == 1 && recs[0].Status != store.StatusRecording && a.Recorder().Active() == 0 {
			full, err := a.Store().GetRecording(ctx, recs[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			rec = *full
			return true
		}
		return false
	}, "no finished recording")
	return rec
}

// span returns where freq is present in channel ch of the WAV, as
// durations from the start of the file.
func span(t *testing.T, f *wav.File, ch int, freq float64) (start, end time.Duration) {
	t.Helper()
	s, e := audiotest.ToneSpan(f.Channel(ch), f.SampleRate, freq, 160)
	if s < 0 {
		t.Fatalf("channel %d: no %v Hz tone", ch, freq)
	}
	rate := time.Duration(f.SampleRate)
	return time.Duration(s) * time.Second / rate, time.Duration(e) * time.Second / rate
}

func near(got, want time.Duration) bool {
	d := got - want
	return d > -250*time.Millisecond && d < 250*time.Millisecond
}

// sendAt sends r on ch after d (from the test goroutine's clock) and
// returns its result channel.
func sendAt(ctx context.Context, ch chan<- dial.Reinvite, d time.Duration, r dial.Reinvite) <-chan dial.ReinviteResult {
	done := make(chan dial.ReinviteResult, 1)
	r.Done = done
	go func() {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			select {
			case ch <- r:
			case <-ctx.Done():
				done <- dial.ReinviteResult{Err: ctx.Err()}
			}
		case <-ctx.Done():
			done <- dial.ReinviteResult{Err: ctx.Err()}
		}
	}()
	return done
}

func result(t *testing.T, ch <-chan dial.ReinviteResult) dial.ReinviteResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(15 * time.Second):
		t.Fatal("no re-INVITE result")
		return dial.ReinviteResult{}
	}
}

func TestReinviteNewMediaKeepsOneRecording(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mode   string
		single bool
		rtcp   bool
	}{
		{"msr two legs", dial.ModeMSR, false, true},
		{"msr single session", dial.ModeMSR, true, false},
		{"siprec", dial.ModeSIPREC, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, watch := startRecorderWatched(t)
			d := newDialer(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			reinv := make(chan dial.Reinvite)
			// The other party is transferred at 1.2 s: a new party (1500 Hz)
			// from a new socket and SSRC, on the same recording session.
			done := sendAt(ctx, reinv, 1200*time.Millisecond,
				dial.Reinvite{Party: 1, NewMedia: true, Source: dial.Tone(1500, 0.3)})
			res, err := d.Call(ctx, dial.Spec{
				Target: a.SIPAddr().String(), Mode: tc.mode, DN: "5001", OtherDN: "+15550100", SingleSession: tc.single,
				Duration: 3 * time.Second, RTCP: tc.rtcp, Reinvites: reinv,
				Sources: []dial.Source{dial.Tone(440, 0.3), dial.Tone(1000, 0.3)},
			})
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			out := result(t, done)
			if out.Err != nil || len(out.Statuses) != 1 || out.Statuses[0] != 200 {
				t.Fatalf("re-INVITE result %+v", out)
			}
			if res.Reinvites != 1 || res.RemoteBye[0] {
				t.Errorf("result %+v", res)
			}
			// Nearly every packet was sent, before and after the switch.
			if res.PacketsSent[1] < 145 {
				t.Errorf("party 1 sent %d packets, want ~150", res.PacketsSent[1])
			}

			// The recorder's receiver of the other party relocked to the new
			// source (another local port); the recorded party's did not move.
			moved := 0
			for port, srcs := range watch.relocks() {
				switch len(srcs) {
				case 1:
				case 2:
					moved++
				default:
					t.Errorf("receiver %d locked to %v", port, srcs)
				}
			}
			if moved != 1 {
				t.Errorf("sources locked per receiver %v: want one receiver relocked to a new source", watch.relocks())
			}
			r := finishedRecording(t, a)
			if r.Status != store.StatusCompleted || r.Channels != 2 {
				t.Fatalf("recording %+v", r)
			}
			reinvites := 0
			for _, e := range r.Events {
				if e.Type == "reinvite" {
					reinvites++
				}
			}
			if reinvites != 1 {
				t.Errorf("%d reinvite events, want 1: %+v", reinvites, r.Events)
			}
			f, err := wav.ReadFile(r.MediaPath)
			if err != nil {
				t.Fatal(err)
			}
			// The recorded side is untouched for the whole call.
			if s, e := span(t, f, 0, 440); !near(s, 0) || !near(e, 3*time.Second) {
				t.Errorf("channel 0: 440 Hz over %v..%v, want 0..3s", s, e)
			}
			// The other channel carries the first party, then the new one.
			s1, e1 := span(t, f, 1, 1000)
			s2, e2 := span(t, f, 1, 1500)
			if !near(s1, 0) || !near(e1, 1200*time.Millisecond) {
				t.Errorf("channel 1: 1000 Hz over %v..%v, want 0..1.2s", s1, e1)
			}
			if !near(s2, 1200*time.Millisecond) || !near(e2, 3*time.Second) {
				t.Errorf("channel 1: 1500 Hz over %v..%v, want 1.2..3s", s2, e2)
			}
			if gap := s2 - e1; gap > 200*time.Millisecond {
				t.Errorf("channel 1: %v without audio across the switch", gap)
			}
		})
	}
}

func TestReinviteHoldMakesHoldSegment(t *testing.T) {
	a := startRecorder(t)
	d := newDialer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	reinv := make(chan dial.Reinvite)
	hold := sendAt(ctx, reinv, time.Second, dial.Reinvite{Party: dial.AllParties, Direction: dial.DirInactive})
	retrieve := sendAt(ctx, reinv, 2*time.Second, dial.Reinvite{Party: dial.AllParties, Direction: dial.DirSendOnly})
	res, err := d.Call(ctx, dial.Spec{
		Target: a.SIPAddr().String(), DN: "5001", Duration: 3 * time.Second, Reinvites: reinv,
		Sources: []dial.Source{dial.Tone(440, 0.3), dial.Tone(1000, 0.3)},
	})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	for _, ch := range []<-chan dial.ReinviteResult{hold, retrieve} {
		if out := result(t, ch); out.Err != nil || len(out.Statuses) != 2 {
			t.Fatalf("re-INVITE result %+v, want 200 on both legs", out)
		}
	}
	if res.Reinvites != 4 {
		t.Errorf("%d re-INVITEs answered, want 4", res.Reinvites)
	}
	// About a third of the packets were withheld by the hold.
	for i, n := range res.PacketsSent {
		if n < 90 || n > 110 {
			t.Errorf("party %d sent %d packets, want ~100 (1 s of 3 on hold)", i, n)
		}
	}

	r := finishedRecording(t, a)
	held := map[int]store.Segment{}
	for _, s := range r.Segments {
		if s.Type == store.SegmentHold {
			held[s.Channel] = s
		}
	}
	for ch := range 2 {
		s, ok := held[ch]
		if !ok {
			t.Errorf("channel %d: no hold segment in %+v", ch, r.Segments)
			continue
		}
		if !near(time.Duration(s.StartMS)*time.Millisecond, time.Second) || !near(time.Duration(s.EndMS)*time.Millisecond, 2*time.Second) {
			t.Errorf("channel %d: hold %d..%d ms, want ~1000..2000", ch, s.StartMS, s.EndMS)
		}
	}
	f, err := wav.ReadFile(r.MediaPath)
	if err != nil {
		t.Fatal(err)
	}
	// The audio resumes after the hold on the same channels.
	if s, e := span(t, f, 0, 440); !near(s, 0) || !near(e, 3*time.Second) {
		t.Errorf("channel 0: 440 Hz over %v..%v, want 0..3s (with the hold inside)", s, e)
	}
}

func TestReinviteErrors(t *testing.T) {
	a := startRecorder(t)
	d := newDialer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	reinv := make(chan dial.Reinvite)
	tests := []struct {
		r    dial.Reinvite
		want error
	}{
		{dial.Reinvite{Party: 2}, dial.ErrInvalidSpec},
		{dial.Reinvite{Party: 0, Direction: "recvonly"}, dial.ErrInvalidSpec},
		{dial.Reinvite{Party: dial.AllParties, Source: dial.Tone(500, 0.3)}, dial.ErrInvalidSpec},
		{dial.Reinvite{Party: 1, NewMedia: true}, dial.ErrNotEstablished}, // SingleLeg: party 1 has no session
	}
	results := make([]chan dial.ReinviteResult, len(tests))
	for i := range tests {
		results[i] = make(chan dial.ReinviteResult, 1)
		tests[i].r.Done = results[i]
	}
	go func() {
		for _, tc := range tests {
			select {
			case reinv <- tc.r:
			case <-ctx.Done():
				return
			}
		}
		close(reinv) // allowed: the call goes on
	}()
	res, err := d.Call(ctx, dial.Spec{Target: a.SIPAddr().String(), SingleLeg: true, Duration: time.Second, Reinvites: reinv})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if res.Reinvites != 0 || res.PacketsSent[0] < 45 {
		t.Errorf("result %+v", res)
	}
	for i, tc := range tests {
		if out := result(t, results[i]); !errors.Is(out.Err, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.r, out.Err, tc.want)
		}
	}
}

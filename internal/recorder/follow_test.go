package recorder

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/sip/sdpoa"
	"github.com/openrec/openrec/internal/sip/sipsrv"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
)

// twoStreamOffer is a SIPREC offer with one labelled stream per port; ip
// "0.0.0.0" is an old-style hold.
func twoStreamOffer(t *testing.T, ip string, ports [2]int, dir string) *sdpoa.Session {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\no=SBC 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 %s\nt=0 0\n", ip)
	for i, p := range ports {
		fmt.Fprintf(&b, "m=audio %d RTP/AVP 0\na=rtpmap:0 PCMU/8000\na=label:%d\na=%s\n", p, i+1, dir)
	}
	return parseSDP(t, b.String())
}

// Media follows signalling (issue 12): re-INVITEs that move the offered
// m= ports — with the SBC sending from the same source, or from the new
// port, or around a hold — keep both streams recorded without a gap and
// without a false media timeout; each channel carries its own tone for
// the whole call.
func TestReinviteMovingPortKeepsRecording(t *testing.T) {
	type step struct {
		ip    string // offer address
		shift int    // added to the senders' ports in the offered m= ports
		dir   string
		move  bool // the senders move to new sockets at the new offered ports
		wait  time.Duration
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "same source, offered port moves", steps: []step{{ip: "127.0.0.1", shift: 100, dir: "sendonly"}}},
		{name: "same source, two moves", steps: []step{{ip: "127.0.0.1", shift: 100, dir: "sendonly"}, {ip: "127.0.0.1", shift: 200, dir: "sendonly"}}},
		{name: "source follows the new port", steps: []step{{ip: "127.0.0.1", dir: "sendonly", move: true}}},
		{name: "hold then resume on a new port, same source", steps: []step{
			{ip: "0.0.0.0", shift: 100, dir: "sendonly", wait: 40 * time.Second},
			{ip: "127.0.0.1", shift: 300, dir: "sendonly"},
		}},
		{name: "inactive hold then resume", steps: []step{
			{ip: "127.0.0.1", shift: 100, dir: "inactive", wait: 40 * time.Second},
			{ip: "127.0.0.1", shift: 200, dir: "sendonly"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			s := [2]*sender{newSender(t, 0, 0xA1), newSender(t, 0, 0xB2)}
			ans, err := f.invite(ctx, &sipsrv.Invite{CallID: "mv", Kind: sipsrv.KindSIPREC,
				SDP: twoStreamOffer(t, "127.0.0.1", [2]int{s[0].port(), s[1].port()}, "sendonly")})
			if err != nil {
				t.Fatal(err)
			}
			ports := answerPorts(t, ans)
			s[0].to.Port, s[1].to.Port = ports[0], ports[1]
			tones := [2]float64{440, 1000}
			var sent uint64
			talk := func() { // one second of audio per channel, the clock following
				for k := 0; k < 5; k++ {
					s[0].sendTone(t, tones[0], 10)
					s[1].sendTone(t, tones[1], 10)
					sent += 20
					waitPackets(t, f.r, sent)
					f.clk.Add(200 * time.Millisecond)
					f.r.Tick(f.clk.Now())
				}
			}
			talk()
			for _, st := range tt.steps {
				if st.move {
					for i := range s {
						n := newSender(t, ports[i], s[i].ssrc+1)
						n.seq, n.ts = s[i].seq, s[i].ts
						s[i] = n
					}
				}
				body, err := f.r.Reinvite(ctx, &sipsrv.Invite{CallID: "mv", Kind: sipsrv.KindSIPREC,
					SDP: twoStreamOffer(t, st.ip, [2]int{s[0].port() + st.shift, s[1].port() + st.shift}, st.dir)})
				if err != nil {
					t.Fatal(err)
				}
				if got := answerPorts(t, body); got[0] != ports[0] || got[1] != ports[1] {
					t.Fatalf("answer ports moved: %v -> %v", ports, got)
				}
				for w := time.Duration(0); w < st.wait; w += 5 * time.Second {
					f.clk.Add(5 * time.Second)
					f.r.Tick(f.clk.Now())
				}
				if st.dir != "inactive" && st.ip != "0.0.0.0" {
					talk()
				}
			}
			// Longer than the media timeout with RTP flowing: never a BYE.
			for k := 0; k < 7; k++ {
				f.clk.Add(4 * time.Second)
				talk()
			}
			f.hup.mu.Lock()
			byes := append([]string(nil), f.hup.ids...)
			f.hup.mu.Unlock()
			if len(byes) != 0 || f.r.Active() != 1 {
				t.Fatalf("call ended while RTP flowed: BYEs %v, active %d", byes, f.r.Active())
			}
			f.r.Bye("mv", "bye")
			rec := onlyRecording(t, f.db)
			if rec.Status != store.StatusCompleted || strings.Contains(rec.StatusReason, "dropped") {
				t.Errorf("status %s %q", rec.Status, rec.StatusReason)
			}
			for _, e := range rec.Events {
				if e.Type == "packets-dropped" {
					t.Errorf("packets dropped: %+v", e)
				}
			}
			wf, err := wav.ReadFile(rec.MediaPath)
			if err != nil {
				t.Fatal(err)
			}
			for ch, freq := range tones {
				samples := wf.Channel(ch)
				// The last second: audio after every move.
				tail := samples[len(samples)-8000:]
				if !audiotest.HasTone(tail, 8000, freq, tones[:]) {
					t.Errorf("channel %d: no %v Hz tone at the end of the call", ch, freq)
				}
				if !audiotest.HasTone(samples[:8000], 8000, freq, tones[:]) {
					t.Errorf("channel %d: no %v Hz tone at the start of the call", ch, freq)
				}
			}
		})
	}
}

// A recording that dropped packets says so: packets from a source other
// than the locked one are counted, stored as an event and named in the
// status reason, never "0 lost".
func TestDroppedPacketsAreReported(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, stray := newSender(t, 0, 0xA1), newSender(t, 0, 0xEE)
	ans, err := f.invite(ctx, msrInvite(t, "dr", "5001", a.port(), "sendonly"))
	if err != nil {
		t.Fatal(err)
	}
	a.to.Port = answerPort(t, ans)
	stray.to.Port = a.to.Port
	a.send(t, 20, 0x10)
	waitPackets(t, f.r, 20)
	stray.send(t, 7, 0x20)
	testtool.Eventually(t, 5*time.Second, func() bool { return f.r.PacketsDropped() >= 7 }, "dropped = %d, want 7", f.r.PacketsDropped())
	f.r.Bye("dr", "bye")
	rec := onlyRecording(t, f.db)
	if !strings.Contains(rec.StatusReason, "7 RTP packets dropped") {
		t.Errorf("status reason %q does not say packets were dropped", rec.StatusReason)
	}
	found := false
	for _, e := range rec.Events {
		found = found || e.Type == "packets-dropped" && e.Channel == 0 && strings.HasPrefix(e.Detail, "7 ")
	}
	if !found {
		t.Errorf("no packets-dropped event: %+v", rec.Events)
	}
}

// A stray multipart boundary inside the SDP part (an SBC bug) does not
// refuse the session: the line is skipped and flagged as a problem on the
// recording.
func TestStraySDPLineFlagged(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	body := strings.Replace(siprecSDP(2, 41900, "sendonly"), "m=audio 41902", "--OSS-boundary-1\nm=audio 41902", 1)
	if _, err := f.invite(ctx, &sipsrv.Invite{CallID: "stray", Kind: sipsrv.KindSIPREC, SDP: parseSDP(t, body)}); err != nil {
		t.Fatalf("stray line refused the session: %v", err)
	}
	f.r.Bye("stray", "bye")
	rec := onlyRecording(t, f.db)
	if rec.Channels != 2 || !strings.Contains(rec.MetadataProblem, "SDP line 10 skipped") {
		t.Errorf("channels %d, problem %q", rec.Channels, rec.MetadataProblem)
	}
}

// Packets the network lost (sequence gaps) are an event per channel with
// the count.
func TestLostPacketsAreAnEvent(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := newSender(t, 0, 0xA1)
	ans, err := f.invite(ctx, msrInvite(t, "lost", "5001", a.port(), "sendonly"))
	if err != nil {
		t.Fatal(err)
	}
	a.to.Port = answerPort(t, ans)
	a.send(t, 20, 0x10)
	a.seq += 5 // five packets never sent
	a.ts += 5 * 160
	a.send(t, 20, 0x10)
	waitPackets(t, f.r, 40)
	f.clk.Add(time.Second)
	f.r.Bye("lost", "bye")
	rec := onlyRecording(t, f.db)
	found := false
	for _, e := range rec.Events {
		found = found || e.Type == "packets-lost" && e.Channel == 0 && strings.HasPrefix(e.Detail, "5 ")
	}
	if !found {
		t.Errorf("no packets-lost event with the count: %+v", rec.Events)
	}
}

// RTP of a payload type the SDP did not offer (here PCMA and G.729 on a
// PCMU offer) is not decoded as noise: dropped, counted per channel in
// an event, named in the status reason and in the counters.
func TestUnofferedPayloadTypeDropped(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := newSender(t, 0, 0xA1)
	ans, err := f.invite(ctx, msrInvite(t, "pt", "5001", a.port(), "sendonly"))
	if err != nil {
		t.Fatal(err)
	}
	a.to.Port = answerPort(t, ans)
	a.send(t, 20, 0x10)
	waitPackets(t, f.r, 20)
	a.sendPT(t, 5, 8, 0x20)
	a.sendPT(t, 2, 18, 0x30)
	a.send(t, 20, 0x10)
	waitPackets(t, f.r, 40)
	f.r.Bye("pt", "bye")
	rec := onlyRecording(t, f.db)
	if rec.Status == store.StatusFailed || !strings.Contains(rec.StatusReason, "7 RTP packets dropped (payload type not offered") {
		t.Errorf("status %s %q: want a recording naming the dropped packets", rec.Status, rec.StatusReason)
	}
	found := false
	for _, e := range rec.Events {
		found = found || e.Type == "payload-type-dropped" && e.Channel == 0 && strings.HasPrefix(e.Detail, "7 ") && strings.Contains(e.Detail, "payload type 18")
	}
	if !found {
		t.Errorf("no payload-type-dropped event: %+v", rec.Events)
	}
	if st := f.r.Stats(); st.PacketsUnofferedPT != 7 || st.PacketsReceived != 40 {
		t.Errorf("stats: unoffered %d, received %d", st.PacketsUnofferedPT, st.PacketsReceived)
	}
}

// A stream whose every packet had a payload type nobody offered failed,
// and says why.
func TestOnlyUnofferedPayloadTypeFails(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := newSender(t, 0, 0xA1)
	ans, err := f.invite(ctx, msrInvite(t, "pt0", "5001", a.port(), "sendonly"))
	if err != nil {
		t.Fatal(err)
	}
	a.to.Port = answerPort(t, ans)
	a.sendPT(t, 9, 8, 0x20)
	testtool.Eventually(t, 5*time.Second, func() bool { return f.r.Stats().PacketsUnofferedPT >= 9 }, "packets counted")
	f.r.Bye("pt0", "bye")
	rec := onlyRecording(t, f.db)
	if rec.Status != store.StatusFailed || !strings.Contains(rec.StatusReason, "9 RTP packets dropped (payload type not offered") {
		t.Errorf("status %s %q", rec.Status, rec.StatusReason)
	}
}

package recorder

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/store"
)

// TestPassiveRecording: a call handed in packet by packet (openrec
// capture) goes through the mixer, the store row and finalise like an
// active one; the correlator sees it (the monitored DN as recorded DN),
// a CTI pause reaches it through its record id, an excluded DN is
// refused, and a channel without packets makes it partial.
func TestPassiveRecording(t *testing.T) {
	cor := &fakeCorrelator{}
	f := newFixture(t, func(c *Config) { c.Correlator = cor })
	if _, err := f.r.OpenPassive(PassiveSpec{CallerDN: "+1555", CalleeDN: "9999", RecordedDN: "9999"}); !errors.Is(err, ErrExcluded) {
		t.Fatalf("excluded DN: %v", err)
	}
	p, err := f.r.OpenPassive(PassiveSpec{SIPCallID: "c1@h", CallUUID: "U1", CallerDN: "+1555", CalleeDN: "5004",
		RecordedDN: "5004", RecordID: "epr-1", Source: "192.0.2.1:5060"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.r.OpenPassive(PassiveSpec{CallerDN: "+1555", CalleeDN: "5004", RecordedDN: "5004", RecordID: "epr-1"}); err == nil {
		t.Fatal("a second call with the same record id and DN opened")
	}
	p.SetCodecs(0, []media.Codec{{PT: 0, Name: media.PCMU, ClockRate: 8000}}, nil, nil)
	start := f.clk.Now()
	pkt := &media.Packet{SSRC: 1, PayloadType: 0, Payload: make([]byte, 160), Source: netip.MustParseAddrPort("192.0.2.1:20000")}
	for i := range 100 { // 2 s on the caller's channel only
		pkt.Seq, pkt.Timestamp, pkt.Arrival = uint16(i), uint32(i*160), start.Add(time.Duration(i)*20*time.Millisecond)
		p.AudioStarted(pkt.Arrival)
		p.Track(0).HandleRTP(pkt)
		if i == 50 {
			f.clk.Add(time.Second)
			f.r.Tick(f.clk.Now())
			if err := f.r.SetPaused("epr-1", "5004", true); err != nil {
				t.Fatalf("pause through the record id: %v", err)
			}
		}
	}
	f.clk.Add(time.Second)
	p.Close("bye")
	p.Close("bye again") // idempotent
	rec, err := f.db.GetRecording(context.Background(), p.ID())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Mode != store.ModePassive || rec.Status != store.StatusPartial || rec.RecordedDN != "5004" || rec.OtherDN != "+1555" ||
		rec.RecordID != "epr-1" || rec.CallUUID != "U1" || rec.Correlation != "matched" || len(rec.SIPCallIDs) != 1 {
		t.Fatalf("row: %+v", rec)
	}
	if rec.DurationMS < 1900 || rec.DurationMS > 2100 || len(rec.Codecs) != 1 || rec.Codecs[0] != "PCMU" {
		t.Errorf("duration %d codecs %v", rec.DurationMS, rec.Codecs)
	}
	paused := false
	for _, s := range rec.Segments {
		paused = paused || s.Type == store.SegmentPause
	}
	if !paused {
		t.Errorf("no pause segment: %+v", rec.Segments)
	}
	cor.mu.Lock()
	if len(cor.started) != 1 || cor.started[0].RecordedDN != "5004" || cor.started[0].Mode != store.ModePassive || len(cor.audio) != 1 {
		t.Errorf("correlator: started %+v audio %v", cor.started, cor.audio)
	}
	cor.mu.Unlock()
	if f.r.Active() != 0 {
		t.Errorf("%d calls still active", f.r.Active())
	}
	// max_calls (4 in the fixture) bounds passive calls too
	var open []*Passive
	for i := range 5 {
		p, err := f.r.OpenPassive(PassiveSpec{CallerDN: "+1555", CalleeDN: fmt.Sprint(6000 + i)})
		if i < 4 && err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if i == 4 && err == nil {
			t.Fatal("a fifth call over max_calls opened")
		}
		if p != nil {
			open = append(open, p)
		}
	}
	for _, p := range open {
		p.Close("end")
	}
}

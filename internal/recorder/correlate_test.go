package recorder

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/sip/sipsrv"
	"github.com/openrec/openrec/internal/store"
)

type fakeCorrelator struct {
	mu      sync.Mutex
	started []Session
	joined  []Session
	audio   []string
}

func (f *fakeCorrelator) LegJoined(s Session, _ time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.joined = append(f.joined, s)
}

func (f *fakeCorrelator) Admit(dn string) error {
	if dn == "9999" {
		return ErrExcluded
	}
	return nil
}
func (f *fakeCorrelator) Started(s Session) {
	f.mu.Lock()
	f.started = append(f.started, s)
	f.mu.Unlock()
}
func (f *fakeCorrelator) AudioStarted(id string, at time.Time) {
	f.mu.Lock()
	f.audio = append(f.audio, id)
	f.mu.Unlock()
}
func (f *fakeCorrelator) Finished(s Session, end time.Time) ([]store.Couple, map[string]string, string) {
	return []store.Couple{{StartMS: 0, EndMS: end.Sub(s.Start).Milliseconds(), ThisDN: s.RecordedDN, OtherDN: "+1555", ConnID: "006502a8c4e1b001",
			ExternalData: map[string]string{"GEN_TEV_ThisDN": s.RecordedDN}}},
		map[string]string{"GEN_TEV_CallUuid": s.CallUUID}, "matched"
}

func TestCorrelatorHooks(t *testing.T) {
	cor := &fakeCorrelator{}
	f := newFixture(t, func(c *Config) { c.Correlator = cor })
	ctx := context.Background()

	excluded := msrInvite(t, "ex", "9999", 41600, "sendonly")
	excluded.MSR.RecordDN = "9999"
	_, err := f.invite(ctx, excluded)
	var se *sipsrv.StatusError
	if !errors.As(err, &se) || se.Code != 603 {
		t.Fatalf("excluded DN: %v, want 603 Decline", err)
	}

	a := newSender(t, 0, 0xC)
	ans, err := f.invite(ctx, msrInvite(t, "ok", "5001", a.port(), "sendonly"))
	if err != nil {
		t.Fatal(err)
	}
	a.to.Port = answerPort(t, ans)
	a.send(t, 5, 0x10)
	waitPackets(t, f.r, 5)
	if err := f.r.SetPaused("r1", "5001", true); err != nil {
		t.Fatal(err)
	}
	f.clk.Add(2 * time.Second)
	f.r.Bye("ok", "bye")

	cor.mu.Lock()
	if len(cor.started) != 1 || cor.started[0].CallUUID != "UUID1" || len(cor.audio) != 1 {
		t.Errorf("started=%+v audio=%v", cor.started, cor.audio)
	}
	cor.mu.Unlock()
	rec := onlyRecording(t, f.db)
	if rec.Correlation != "matched" || len(rec.Couples) != 1 || rec.Couples[0].EndMS != 2000 ||
		rec.ExternalData["GEN_TEV_CallUuid"] != "UUID1" || rec.Couples[0].ExternalData["GEN_TEV_ThisDN"] != "5001" {
		t.Errorf("couples=%+v ext=%v corr=%q", rec.Couples, rec.ExternalData, rec.Correlation)
	}
	if !hasEvent(rec, "pause") {
		t.Errorf("CTI pause not recorded: %+v", rec.Events)
	}
}

// The correlator hears of every MSR leg: the CTI side counts legs to tell
// a whole recording from a one-legged one (a second leg it never heard of
// raised a false "one-leg" alert on every call longer than the detection
// timeout).
func TestCorrelatorHearsEveryLeg(t *testing.T) {
	cor := &fakeCorrelator{}
	f := newFixture(t, func(c *Config) { c.Correlator = cor })
	ctx := context.Background()
	if _, err := f.invite(ctx, msrInvite(t, "leg1", "5001", 41700, "sendonly")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.invite(ctx, msrInvite(t, "leg2", "+15551234", 41702, "sendonly")); err != nil {
		t.Fatal(err)
	}
	f.r.Bye("leg1", "bye")
	f.r.Bye("leg2", "bye")
	cor.mu.Lock()
	defer cor.mu.Unlock()
	if len(cor.started) != 1 || len(cor.joined) != 1 || cor.started[0].RecordingID != cor.joined[0].RecordingID || cor.joined[0].RecordID != "r1" {
		t.Errorf("Started %+v, LegJoined %+v: want the first leg started and the second joined, same recording", cor.started, cor.joined)
	}
}

// Late CTI data reaches a finished recording only through the recorder:
// Recorrelate replaces its couples and merges its external data; a
// recording still in progress is refused (its couples come at finalise).
func TestRecorrelate(t *testing.T) {
	cor := &fakeCorrelator{}
	f := newFixture(t, func(c *Config) { c.Correlator = cor })
	ctx := context.Background()
	if _, err := f.invite(ctx, msrInvite(t, "leg1", "5001", 41800, "sendonly")); err != nil {
		t.Fatal(err)
	}
	live := onlyRecording(t, f.db)
	if err := f.r.Recorrelate(ctx, live.ID, nil, nil); !errors.Is(err, ErrInProgress) {
		t.Errorf("Recorrelate of a live recording = %v, want ErrInProgress", err)
	}
	f.clk.Add(3 * time.Second)
	f.r.Bye("leg1", "bye")
	late := []store.Couple{{StartMS: 0, EndMS: 3000, ThisDN: "5001", OtherDN: "+1555", ConnID: "006502a8c4e1b001",
		ExternalData: map[string]string{"GEN_USR_Segment": "Gold"}}}
	if err := f.r.Recorrelate(ctx, live.ID, late, map[string]string{"GEN_USR_Segment": "Gold"}); err != nil {
		t.Fatal(err)
	}
	rec := onlyRecording(t, f.db)
	if len(rec.Couples) != 1 || rec.Couples[0].ExternalData["GEN_USR_Segment"] != "Gold" ||
		rec.ExternalData["GEN_USR_Segment"] != "Gold" || rec.ExternalData["GEN_TEV_CallUuid"] != "UUID1" {
		t.Errorf("after Recorrelate: couples %+v, external data %v", rec.Couples, rec.ExternalData)
	}
	if err := f.r.Recorrelate(ctx, "no-such-id", late, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Recorrelate of an unknown recording = %v, want store.ErrNotFound", err)
	}
}

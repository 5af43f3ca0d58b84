package callcore

import (
	"errors"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/cti/dnfilter"
	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/recorder"
)

// Couples maps CTI couple times onto media offsets: clipped to the file,
// only the recorded DN's couples, ordered; the recording's external data
// merges the couples' (later ones win).
func TestCouplesOffsets(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	call := &conversation.Call{CallUUID: "U", Couples: []conversation.Couple{
		{Start: at(-2), End: at(10), ThisDN: "5001", OtherDN: "+1555", ConnID: 7, ExternalData: map[string]string{"GEN_TEV_OtherDN": "+1555", "empty": ""}},
		{Start: at(10), ThisDN: "5001", OtherDN: "5002", ConnID: 7, ExternalData: map[string]string{"GEN_TEV_OtherDN": "5002"}},
		{Start: at(1), End: at(4), ThisDN: "5009", OtherDN: "x"},
	}}
	got, ext := Couples([]*conversation.Call{call}, "5001", at(0), at(25))
	if len(got) != 2 {
		t.Fatalf("couples = %+v", got)
	}
	if got[0].StartMS != 0 || got[0].EndMS != 10000 || got[1].StartMS != 10000 || got[1].EndMS != 25000 {
		t.Errorf("offsets = %+v", got)
	}
	if got[0].ConnID != "0000000000000007" || got[0].CallUUID != "U" {
		t.Errorf("identifiers = %+v", got[0])
	}
	if ext["GEN_TEV_OtherDN"] != "5002" || len(ext) != 1 { // later couples win
		t.Errorf("recording external data = %v", ext)
	}
}

func TestFilterOnlyAdmits(t *testing.T) {
	c := FilterOnly(dnfilter.MustParse("", "7000-7999"))
	if err := c.Admit("7001"); err == nil {
		t.Error("excluded DN admitted")
	}
	if err := c.Admit("5001"); err != nil {
		t.Errorf("DN refused: %v", err)
	}
	var _ recorder.Correlator = c
}

// A last couple whose end is only the time the CTI link went down lasts as
// long as the recording (the recorded side's session ended with its BYE).
func TestCouplesUncertainEndExtends(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	call := &conversation.Call{CallUUID: "U", Couples: []conversation.Couple{
		{Start: t0, End: t0.Add(5 * time.Second), ThisDN: "5001", OtherDN: "+1", EndUncertain: true},
	}}
	got, _ := Couples([]*conversation.Call{call}, "5001", t0, t0.Add(30*time.Second))
	if len(got) != 1 || got[0].EndMS != 30000 {
		t.Errorf("couples = %+v, want one ending at 30 s", got)
	}
}

// Admit refuses excluded DNs (603 at the SIP side): through Exclude when
// set (a tenant's dn_exclude, with its reason), else through Filter.
func TestAdmit(t *testing.T) {
	eng := conversation.New(conversation.Config{})
	byFilter, _ := New(Config{Engine: eng, Filter: dnfilter.MustParse("", "7000-7999")})
	byTenant, _ := New(Config{Engine: eng, Filter: dnfilter.MustParse("", "7000-7999"), Exclude: func(dn string) string {
		if dn == "5009" {
			return "tenant Acme dn_exclude"
		}
		return ""
	}})
	cases := []struct {
		c        *Core
		dn       string
		excluded bool
	}{
		{byFilter, "7001", true}, {byFilter, "5001", false},
		{byTenant, "5009", true}, {byTenant, "7001", false}, {byTenant, "5001", false},
	}
	for _, tc := range cases {
		err := tc.c.Admit(tc.dn)
		if got := errors.Is(err, recorder.ErrExcluded); got != tc.excluded {
			t.Errorf("Admit(%s) = %v, want excluded %v", tc.dn, err, tc.excluded)
		}
	}
}

// A link going down keeps the calls; the engine hears of it.
func TestLinkState(t *testing.T) {
	c := newIdleCore(t, Config{})
	c.HandleEvent(server, tlib.New(tlib.EventEstablished).SetStr(tlib.AttrThisDN, "5001").
		SetConn(tlib.AttrConnID, conn1).SetStr(tlib.AttrCallUUID, uuid1))
	c.LinkState(server, false)
	if calls := c.LiveCalls(); len(calls) != 1 || calls[0].CallUUID != uuid1 {
		t.Errorf("live calls while the link is down = %+v, want the call kept", calls)
	}
	c.LinkState(server, true)
	if calls := c.LiveCalls(); len(calls) != 1 {
		t.Errorf("live calls after reconnect = %+v, want the call kept until resynchronised", calls)
	}
	_ = c.Close()
}

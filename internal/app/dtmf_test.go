package app_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/sim"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
)

// Issue 21: with no dtmf setting the digits of a call are masked (events
// keep time and channel, not the digit); a tenant known from the SIP source
// (source_tenants) with dtmf: keep gets its digits.
func TestDTMFMaskedByDefaultKeptPerTenant(t *testing.T) {
	a := startApp(t, func(c *config.Serve) {
		c.SourceTenants = map[string]string{"127.0.0.2/32": "Sales"}
		c.Tenants = []config.Tenant{{Name: "Sales", DTMF: "keep"}}
	})
	cases := []struct {
		local      string
		wantDigit  string
		wantMasked bool
	}{
		{"127.0.0.1", "", true},
		{"127.0.0.2", "7", false},
	}
	for i, tc := range cases {
		d, err := dial.NewDialer(dial.Options{LocalIP: netip.MustParseAddr(tc.local), Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Close() })
		res, err := d.Call(context.Background(), dial.Spec{
			Target: a.SIPAddr().String(), Mode: dial.ModeSIPREC, DN: "5001", OtherDN: "+15550100",
			Codec: "PCMU", Duration: 2 * time.Second, DTMF: "7",
			Sources: []dial.Source{dial.Tone(440, 0.3), dial.Tone(1000, 0.3)},
		})
		if err != nil {
			t.Fatalf("call from %s: %v", tc.local, err)
		}
		recs := waitFinished(t, a, i+1)
		var r *store.Recording
		for j := range recs {
			if slices.Contains(recs[j].SIPCallIDs, res.CallIDs[0]) {
				r = &recs[j]
			}
		}
		if r == nil {
			t.Fatalf("from %s: no recording of SIP call %s", tc.local, res.CallIDs[0])
		}
		digits, masked, _ := dtmfEvents(t, a, r.ID)
		if len(digits) != 1 || digits[0] != tc.wantDigit {
			t.Errorf("from %s: dtmf event details %q, want one %q", tc.local, digits, tc.wantDigit)
		}
		if (masked > 0) != tc.wantMasked {
			t.Errorf("from %s: %d masked spans, want masked=%v", tc.local, masked, tc.wantMasked)
		}
	}
}

// Issue 21: with CTI, the dtmf setting of a recording comes from the rule
// that started it, else from its call's tenant (tenants:), else from the
// SIP source / default — decided when the Media Server's session arrives.
// The simulator's Media Server sends the digit 5 as an RFC 4733 event on
// every recording: Acme's own setting (keep) stores it on 5001; the rule
// for 5002 (mask-and-drop-events) masks it and stores no dtmf event.
func TestCTIDTMFByRuleAndTenant(t *testing.T) {
	env := startContactCenterWith(t, func(c *sim.Config) { c.Media.(*sim.DialMedia).DTMF = "5" }, func(c *config.Serve) {
		c.Tenants = []config.Tenant{{Name: "Acme", DTMF: "keep"}}
		c.Rules = mustRules(t, `
rules:
  groups:
    - name: Admin
      rules:
        - {name: cards, action: record, mask: ">5002", dtmf: mask-and-drop-events}
`)
	})
	step(t, env.sim, `
name: dtmf
steps:
  - {at: 0s, action: login, dn: "5001", agent: "1001"}
  - {at: 0s, action: login, dn: "5002", agent: "1002"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15550000011", rp: "7000", to: "5001"}
  - {at: 50ms, action: answer, call: c1, dn: "5001"}
  - {at: 60ms, action: inbound, call: c2, ani: "+15550000012", rp: "7000", to: "5002"}
  - {at: 100ms, action: answer, call: c2, dn: "5002"}
  - {at: 2500ms, action: release, call: c1, dn: "5001"}
  - {at: 2500ms, action: release, call: c2, dn: "5002"}
`)
	recs := waitFinished(t, env.a, 2)
	checked := 0
	for _, r := range recs {
		digits, masked, full := dtmfEvents(t, env.a, r.ID)
		switch r.RecordedDN {
		case "5001":
			checked++
			if len(digits) != 1 || digits[0] != "5" || masked != 0 {
				t.Errorf("5001 (tenant Acme, dtmf: keep): dtmf events %q, %d masked spans; want [5], 0", digits, masked)
			}
		case "5002":
			checked++
			if len(digits) != 0 || masked == 0 || full.ExternalData["GEN_REC_RULE"] != "cards" {
				t.Errorf("5002 (rule cards, mask-and-drop-events): dtmf events %q, %d masked spans, rule %q; want none, >0, cards",
					digits, masked, full.ExternalData["GEN_REC_RULE"])
			}
		}
	}
	if checked != 2 {
		t.Fatalf("recordings of 5001 and 5002: %d of %+v", checked, recs)
	}
}

// dtmfEvents returns the details of a recording's dtmf events and how many
// dtmf-masked spans it has (each with a known detail), and the recording.
func dtmfEvents(t *testing.T, a *app.App, id string) (digits []string, masked int, full *store.Recording) {
	t.Helper()
	full, err := a.Store().GetRecording(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range full.Events {
		switch e.Type {
		case "dtmf":
			digits = append(digits, e.Detail)
		case "dtmf-masked":
			masked++
			if e.Detail != "rfc4733" && e.Detail != "in-band" {
				t.Errorf("%s: dtmf-masked detail %q", id, e.Detail)
			}
		}
	}
	return digits, masked, full
}

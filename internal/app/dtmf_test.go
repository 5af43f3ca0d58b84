package app_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/config"
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
		full, err := a.Store().GetRecording(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		var digits []string
		masked := 0
		for _, e := range full.Events {
			switch e.Type {
			case "dtmf":
				digits = append(digits, e.Detail)
			case "dtmf-masked":
				masked++
				if e.Detail != "rfc4733" && e.Detail != "in-band" {
					t.Errorf("from %s: dtmf-masked detail %q", tc.local, e.Detail)
				}
			}
		}
		if len(digits) != 1 || digits[0] != tc.wantDigit {
			t.Errorf("from %s: dtmf event details %q, want one %q", tc.local, digits, tc.wantDigit)
		}
		if (masked > 0) != tc.wantMasked {
			t.Errorf("from %s: %d masked spans, want masked=%v", tc.local, masked, tc.wantMasked)
		}
	}
}

package app_test

import (
	"context"
	"testing"

	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/store"
)

// Issue 21: the automatic PCI pause over the simulator's SIP Server and
// Media Server: a call whose attached data says PCI=start then stop, and a
// call conferenced with a payment IVR DN that later leaves, each get one
// pause segment while the payment phase lasts; the notification of
// recording says the call is no longer recorded meanwhile.
func TestCTIAutomaticPCIPause(t *testing.T) {
	env := startContactCenter(t, func(c *config.Serve) {
		c.RecordDNs = "5004"
		c.PCIPauseKey = "PCI"
		c.PCIPauseDNs = "5100"
	})
	step(t, env.sim, `
name: pci
steps:
  - {at: 0s, action: login, dn: "5004", agent: "1004"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15551237777", rp: "7000", to: "5004"}
  - {at: 50ms, action: answer, call: c1, dn: "5004"}
  - {at: 1200ms, action: update, call: c1, dn: "5004", data: {PCI: start}}
  - {at: 2400ms, action: update, call: c1, dn: "5004", data: {PCI: stop}}
  - {at: 3400ms, action: release, call: c1, dn: "5004"}
`)
	env.waitNotification(t, "RECORDING_STATUS_GIM=RECORDING_NO_LONGER", "no notification of the PCI pause")
	step(t, env.sim, `
name: pci-ivr
steps:
  - {at: 0s, action: inbound, call: c2, ani: "+15551238888", rp: "7000", to: "5004"}
  - {at: 50ms, action: answer, call: c2, dn: "5004"}
  - {at: 900ms, action: consult, call: c2, dn: "5004", to: "5100", consult: k2}
  - {at: 1000ms, action: answer, call: k2, dn: "5100"}
  - {at: 1100ms, action: conference, call: c2, consult: k2}
  - {at: 2300ms, action: release, call: c2, dn: "5100"}
  - {at: 3400ms, action: release, call: c2, dn: "5004"}
`)
	recs := waitFinished(t, env.a, 2)
	checked := 0
	for _, r := range recs {
		if r.RecordedDN != "5004" {
			continue
		}
		checked++
		full, err := env.a.Store().GetRecording(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		var pauses []store.Segment
		for _, s := range full.Segments {
			if s.Type == store.SegmentPause {
				pauses = append(pauses, s)
			}
		}
		if len(pauses) != 1 || pauses[0].EndMS-pauses[0].StartMS < 700 || pauses[0].EndMS-pauses[0].StartMS > 1800 {
			t.Errorf("recording %s (call %s): pause segments %+v, want one of ~1.2 s", r.ID, r.CallUUID, pauses)
		}
	}
	if checked != 2 {
		t.Errorf("%d recordings of 5004, want 2: %+v", checked, recs)
	}
}

// An IVR that ends the payment phase by deleting the PCI key (or all the
// call's attached data) instead of setting stop: the recording resumes.
func TestCTIAutomaticPCIPauseKeyDeleted(t *testing.T) {
	env := startContactCenter(t, func(c *config.Serve) {
		c.RecordDNs = "5004"
		c.PCIPauseKey = "PCI"
	})
	step(t, env.sim, `
name: pci-delete
steps:
  - {at: 0s, action: login, dn: "5004", agent: "1004"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15551237777", rp: "7000", to: "5004"}
  - {at: 50ms, action: answer, call: c1, dn: "5004"}
  - {at: 1200ms, action: update, call: c1, dn: "5004", data: {PCI: start, Lang: en}}
  - {at: 2400ms, action: delete-data, call: c1, dn: "5004", data: {PCI: ""}}
  - {at: 3400ms, action: release, call: c1, dn: "5004"}
`)
	recs := waitFinished(t, env.a, 1)
	full, err := env.a.Store().GetRecording(context.Background(), recs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var pauses []store.Segment
	for _, s := range full.Segments {
		if s.Type == store.SegmentPause {
			pauses = append(pauses, s)
		}
	}
	if len(pauses) != 1 || pauses[0].EndMS-pauses[0].StartMS > 1800 || pauses[0].EndMS >= full.DurationMS {
		t.Errorf("pause segments %+v (recording of %d ms), want one of ~1.2 s ended before the call", pauses, full.DurationMS)
	}
}

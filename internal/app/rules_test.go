package app_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/cti/rules"
	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/sim"
	"github.com/openrec/openrec/internal/store"
)

// byCall returns the recordings of the simulator's call handle.
func byCall(t testing.TB, a *app.App, csim *sim.Sim, handle string) []store.Recording {
	t.Helper()
	ci, ok := csim.Call(handle)
	if !ok {
		t.Fatalf("no simulator call %s", handle)
	}
	recs, err := a.Store().ListRecordings(context.Background(), store.Filter{CallUUID: ci.CallUUID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// finished reports whether recs are n recordings, none still recording.
func finished(recs []store.Recording, n int) bool {
	if len(recs) != n {
		return false
	}
	for _, r := range recs {
		if r.Status == store.StatusRecording {
			return false
		}
	}
	return true
}

func deletions(t testing.TB, a *app.App) []store.Deletion {
	t.Helper()
	d, err := a.Store().ListDeletions(context.Background(), time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustRules(t testing.TB, yaml string) rules.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := rules.LoadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A do-not-record rule stops a DN configured record=true (SIP Server
// records it without our request): openrec sends STOP and the contact
// center is told the call is not recorded; nothing of the call stays
// stored. When the decision comes after audio was captured (attached data
// set mid-call), that audio is deleted (not kept as a fragment) and the
// deletion is logged. A call no do-not-record rule matches is recorded
// with the winning rule stored.
func TestRulesDoNotRecordStopsRecordTrueDN(t *testing.T) {
	tracePath := filepath.Join(t.TempDir(), "cti.trace")
	env := startContactCenter(t, func(c *config.Serve) {
		c.CTITrace = tracePath
		c.Rules = mustRules(t, `
rules:
  groups:
    - name: Admin
      rules:
        - {name: pci-line, action: do_not_record, mask: ">5001"}
        - {name: pci-data, action: do_not_record, userdata: {Segment: PCI}}
    - name: Sales
      rules:
        - {name: everyone, action: record, mask: "*"}
`)
	})
	step(t, env.sim, `
name: dnr
steps:
  - {at: 0s, action: login, dn: "5001", agent: "1001"}
  - {at: 0s, action: login, dn: "5002", agent: "1002"}
  - {at: 0s, action: login, dn: "5003", agent: "1003"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15550000001", rp: "7000", to: "5001"}
  - {at: 50ms, action: answer, call: c1, dn: "5001"}
  - {at: 60ms, action: inbound, call: c2, ani: "+15550000002", rp: "7000", to: "5002"}
  - {at: 100ms, action: answer, call: c2, dn: "5002"}
  - {at: 110ms, action: inbound, call: c3, ani: "+15550000003", rp: "7000", to: "5003"}
  - {at: 150ms, action: answer, call: c3, dn: "5003"}
  - {at: 1500ms, action: attach, call: c3, dn: "5003", data: {Segment: PCI}}
  - {at: 2500ms, action: release, call: c1, dn: "5001"}
  - {at: 2500ms, action: release, call: c2, dn: "5002"}
  - {at: 2500ms, action: release, call: c3, dn: "5003"}
`)
	waitFor(t, 15*time.Second, "the other call's recording finished", func() bool { return finished(byCall(t, env.a, env.sim, "c2"), 1) })
	c3, _ := env.sim.Call("c3")
	var del []store.Deletion
	waitFor(t, 15*time.Second, "the audio captured before the do-not-record decision deleted", func() bool {
		del = deletions(t, env.a)
		return len(byCall(t, env.a, env.sim, "c3")) == 0 && len(del) > 0
	})
	for _, d := range del {
		if d.CallUUID == c3.CallUUID && (!strings.Contains(d.Reason, `do-not-record rule "pci-data"`) || d.RecordedDN != "5003" || d.Tenant != "Acme") {
			t.Errorf("deletion %+v", d)
		}
		if _, err := os.Stat(d.MediaPath); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("media %s still on disk: %v", d.MediaPath, err)
		}
	}
	time.Sleep(1500 * time.Millisecond) // models time (negative check): a sweep after c1's session (if any) ended
	if r := byCall(t, env.a, env.sim, "c1"); len(r) != 0 {
		t.Errorf("do-not-record call c1 still stored: %+v", r)
	}
	kept := byCall(t, env.a, env.sim, "c2")
	if len(kept) != 1 || kept[0].ExternalData["GEN_REC_RULE"] != "everyone" || kept[0].ExternalData["GEN_REC_RULE_GROUP"] != "Sales" ||
		kept[0].ExternalData["GEN_REC_RULE_ACTION"] != "record" || kept[0].Retention != store.RetentionNone {
		t.Errorf("recording of the other call: %+v", kept)
	}
	env.waitNotification(t, "RECORDING_STATUS_GIM=RECORDING_NO", "the contact center was not told the do-not-record call is not recorded")
	trace, err := os.ReadFile(tracePath)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := tlib.ParseTrace(strings.NewReader(string(trace)))
	if err != nil {
		t.Fatal(err)
	}
	stops := map[string]bool{}
	for _, e := range entries {
		if id, _ := e.Msg.Int(tlib.AttrPrivateMsgID); e.Msg.Type == tlib.RequestPrivateService && id == 3014 {
			stops[e.Msg.ThisDN()] = true
		}
	}
	if !stops["5001"] || !stops["5003"] || stops["5002"] {
		t.Errorf("STOP (RequestPrivateService 3014) sent for %v, want 5001 and 5003", stops)
	}
}

// Pre-recording: every matching call is recorded; a keep request after
// the call (attached data during wrap-up) keeps one, the other is deleted
// when the grace period passes. Pending decisions survive a restart of
// the recorder: after the restart a keep request for a call the recorder
// never saw keeps it, and an undecided one is deleted at its deadline.
func TestRulesPrerecordKeepDiscardAcrossRestart(t *testing.T) {
	dataDir := t.TempDir()
	prerec := func(c *config.Serve) {
		c.DataDir = dataDir
		c.PrerecordGrace = 6 * time.Second
		c.Rules = mustRules(t, `
rules:
  groups:
    - name: Quality
      rules:
        - {name: vip, action: prerecord, mask: ">5004"}
`)
	}
	env := startContactCenter(t, prerec)
	step(t, env.sim, `
name: prerecord
steps:
  - {at: 0s, action: login, dn: "5004", agent: "1004"}
  - {at: 10ms, action: inbound, call: c1, ani: "+15550000011", rp: "7000", to: "5004"}
  - {at: 50ms, action: answer, call: c1, dn: "5004"}
  - {at: 1500ms, action: release, call: c1, dn: "5004"}
  - {at: 1600ms, action: attach, call: c1, dn: "5004", data: {RECORDING_KEEP: "true"}}
  - {at: 1700ms, action: inbound, call: c2, ani: "+15550000012", rp: "7000", to: "5004"}
  - {at: 1750ms, action: answer, call: c2, dn: "5004"}
  - {at: 3s, action: release, call: c2, dn: "5004"}
`)
	env.waitNotification(t, "RECORDING_STATUS_GIM=RECORDING_PRERECORD", "RECORDING_PRERECORD not notified while undecided")
	waitFor(t, 10*time.Second, "c1 kept", func() bool {
		r := byCall(t, env.a, env.sim, "c1")
		return finished(r, 1) && r[0].Retention == store.RetentionKept
	})
	waitFor(t, 10*time.Second, "c2 pending", func() bool {
		r := byCall(t, env.a, env.sim, "c2")
		return finished(r, 1) && r[0].Retention == store.RetentionPending && !r[0].KeepUntil.IsZero()
	})
	waitFor(t, 20*time.Second, "c2 deleted after the grace period", func() bool {
		return len(byCall(t, env.a, env.sim, "c2")) == 0
	})
	if d := deletions(t, env.a); len(d) != 1 || !strings.Contains(d[0].Reason, "pre-recording not kept") {
		t.Fatalf("deletions %+v", d)
	}
	if r := byCall(t, env.a, env.sim, "c1"); r[0].ExternalData["GEN_REC_RULE"] != "vip" || r[0].ExternalData["GEN_REC_RULE_ACTION"] != "prerecord" {
		t.Errorf("kept recording external data %v", r[0].ExternalData)
	}

	// Two more pre-recordings, then the recorder stops before anyone decides.
	step(t, env.sim, `
name: prerecord-2
steps:
  - {at: 0s, action: inbound, call: c3, ani: "+15550000013", rp: "7000", to: "5004"}
  - {at: 50ms, action: answer, call: c3, dn: "5004"}
  - {at: 1200ms, action: release, call: c3, dn: "5004"}
  - {at: 1300ms, action: inbound, call: c4, ani: "+15550000014", rp: "7000", to: "5004"}
  - {at: 1350ms, action: answer, call: c4, dn: "5004"}
  - {at: 2500ms, action: release, call: c4, dn: "5004"}
`)
	waitFor(t, 10*time.Second, "c3 and c4 pending", func() bool {
		r3, r4 := byCall(t, env.a, env.sim, "c3"), byCall(t, env.a, env.sim, "c4")
		return finished(r3, 1) && finished(r4, 1) && r3[0].Retention == store.RetentionPending && r4[0].Retention == store.RetentionPending
	})
	c3 := byCall(t, env.a, env.sim, "c3")[0]
	env.a.Close()

	// A new recorder process on the same data directory.
	b := startApp(t, func(c *config.Serve) {
		c.CTI = env.sim.Addr()
		c.CTISwitch = "SIP_Switch"
		c.CTIReconnect = 200 * time.Millisecond
		c.ConfigURL = "http://" + env.sim.ConfigAddr() + "/config"
		prerec(c)
	})
	env.sim.SetRecorders([]string{b.SIPAddr().String()})
	waitFor(t, 10*time.Second, "cti link of the restarted recorder", func() bool {
		return strings.Contains(metrics(t, b), "openrec_cti_links_up 1")
	})
	step(t, env.sim, `
name: keep-after-restart
steps:
  - {at: 0s, action: attach, call: c3, dn: "5004", data: {RECORDING_KEEP: "yes"}}
`)
	waitFor(t, 10*time.Second, "c3 kept after the restart", func() bool {
		r, err := b.Store().GetRecording(context.Background(), c3.ID)
		return err == nil && r.Retention == store.RetentionKept
	})
	waitFor(t, 20*time.Second, "c4 deleted by the restarted recorder", func() bool {
		return len(byCall(t, b, env.sim, "c4")) == 0
	})
	if _, err := os.Stat(c3.MediaPath); err != nil {
		t.Errorf("kept media: %v", err)
	}
}

package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/sim"
	"github.com/openrec/openrec/internal/store"
)

// twoTenants is the configuration data of a hosted contact center: tenant
// Acme on SIP Server switch SW_A, tenant Globex on switch SW_B.
const twoTenants = `
tenants:
  - {dbid: 1, name: Acme}
  - {dbid: 2, name: Globex}
switches:
  - {dbid: 101, name: SW_A, tenant_dbid: 1}
  - {dbid: 102, name: SW_B, tenant_dbid: 2}
dns:
  - {number: "5001", switch: SW_A, type: Extension, options: {record: "true"}}
  - {number: "5004", switch: SW_A, type: Extension}
  - {number: "7000", switch: SW_A, type: RoutingPoint}
  - {number: "6001", switch: SW_B, type: Extension, options: {record: "true"}}
  - {number: "6002", switch: SW_B, type: Extension, options: {record: "true"}}
  - {number: "6003", switch: SW_B, type: Extension}
  - {number: "6004", switch: SW_B, type: Extension}
  - {number: "8000", switch: SW_B, type: RoutingPoint}
persons:
  - {dbid: 11, employee_id: A1, first_name: Ann, last_name: Lee, user_name: ann, is_agent: true, tenant_dbid: 1,
     logins: [{dbid: 21, login_code: "1001", wrapup_time: 0}]}
  - {dbid: 12, employee_id: G1, first_name: Gus, last_name: Moe, user_name: gus, is_agent: true, tenant_dbid: 2,
     logins: [{dbid: 22, login_code: "2001", wrapup_time: 0}]}
`

type tenantSim struct {
	sim    *sim.Sim
	mu     sync.Mutex
	values []string // KEY=VALUE of every attached-data change
}

func (s *tenantSim) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.values...)
}

func startTenantSim(t *testing.T, sw string, data *ccdata.Data) *tenantSim {
	t.Helper()
	ts := &tenantSim{}
	csim, err := sim.New(sim.Config{
		Listen: "127.0.0.1:0", Switch: sw, Config: data,
		Media:  &sim.DialMedia{Dialer: newDialer(t), Transport: "udp", Codec: "PCMU"},
		Logger: testLogger(t),
		OnEvent: func(m *tlib.Message) {
			if m.Type != tlib.EventAttachedDataChanged {
				return
			}
			ts.mu.Lock()
			defer ts.mu.Unlock()
			for _, kv := range m.UserData() {
				ts.values = append(ts.values, kv.Key+"="+kv.Str)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := csim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = csim.Close() })
	ts.sim = csim
	return ts
}

// One recorder serves two tenants on two SIP Servers, each tenant with its
// own client identification and password, DN ranges, notification key and
// values and recording-request extensions; every recording carries its
// tenant and switch, and store queries are isolated by tenant.
func TestTenantsTwoSIPServers(t *testing.T) {
	data, err := ccdata.Parse([]byte(twoTenants))
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(twoTenants), 0o644); err != nil {
		t.Fatal(err)
	}
	simA, simB := startTenantSim(t, "SW_A", data), startTenantSim(t, "SW_B", data)
	tracePath := filepath.Join(t.TempDir(), "cti.trace")
	a := startApp(t, func(c *config.Serve) {
		c.CTIServers = []config.CTIServer{
			{Name: "sipA", Switch: "SW_A", Primary: simA.sim.Addr()},
			{Name: "sipB", Switch: "SW_B", Primary: simB.sim.Addr()},
		}
		c.CTIReconnect = 200 * time.Millisecond
		c.ConfigFile = cfgPath
		c.CTITrace = tracePath
		c.ConsentToneSilence = "10"
		c.TenantsOnly = true
		c.Tenants = []config.Tenant{
			{Name: "Acme", ClientName: "rec-acme", Password: "acme-pw", DNInclude: "5000-5999",
				Notify: config.NotifyTenant{Key: "ACME_REC"}},
			{Name: "Globex", ClientName: "rec-globex", Password: "globex-pw", DNInclude: "6001-6003", DNExclude: "6002",
				Notify:    config.NotifyTenant{Values: map[string]string{"yes": "GLOBEX_ON"}},
				RecordGeo: "destination", ConsentToneSilence: "25"},
		}
		c.Rules = mustRules(t, `
rules:
  groups:
    - name: Admin
      rules:
        - {name: all, action: record, mask: "*"}
`)
	})
	simA.sim.SetRecorders([]string{a.SIPAddr().String()})
	simB.sim.SetRecorders([]string{a.SIPAddr().String()})
	waitFor(t, 10*time.Second, "both CTI links up", func() bool {
		return strings.Contains(metrics(t, a), "openrec_cti_links_up 2")
	})
	// per-tenant client identification and DN ranges at registration
	for _, tc := range []struct {
		s          *tenantSim
		name, pass string
		dns        []string
	}{{simA, "rec-acme", "acme-pw", []string{"5001", "5004"}}, {simB, "rec-globex", "globex-pw", []string{"6001", "6003"}}} {
		cl := tc.s.sim.Clients()
		if len(cl) != 1 || cl[0].Name != tc.name || cl[0].Password != tc.pass || strings.Join(cl[0].DNs, ",") != strings.Join(tc.dns, ",") {
			t.Errorf("clients of %s: %+v, want %s/%s registering %v", cl[0].Switch, cl, tc.name, tc.pass, tc.dns)
		}
	}

	step(t, simA.sim, `
name: acme
steps:
  - {at: 0s, action: login, dn: "5001", agent: "1001"}
  - {at: 10ms, action: inbound, call: a1, ani: "+15551110001", rp: "7000", to: "5001"}
  - {at: 50ms, action: answer, call: a1, dn: "5001"}
  - {at: 100ms, action: inbound, call: a2, ani: "+15551110002", rp: "7000", to: "5004"}
  - {at: 150ms, action: answer, call: a2, dn: "5004"}
  - {at: 2s, action: release, call: a1, dn: "5001"}
  - {at: 2s, action: release, call: a2, dn: "5004"}
`)
	step(t, simB.sim, `
name: globex
steps:
  - {at: 0s, action: login, dn: "6001", agent: "2001"}
  - {at: 10ms, action: inbound, call: b1, ani: "+15552220001", rp: "8000", to: "6001"}
  - {at: 50ms, action: answer, call: b1, dn: "6001"}
  - {at: 60ms, action: inbound, call: b2, ani: "+15552220002", rp: "8000", to: "6002"}
  - {at: 100ms, action: answer, call: b2, dn: "6002"}
  - {at: 110ms, action: inbound, call: b3, ani: "+15552220003", rp: "8000", to: "6003"}
  - {at: 150ms, action: answer, call: b3, dn: "6003"}
  - {at: 2s, action: release, call: b1, dn: "6001"}
  - {at: 2s, action: release, call: b2, dn: "6002"}
  - {at: 2s, action: release, call: b3, dn: "6003"}
`)
	waitFor(t, 15*time.Second, "four recordings (6002 is excluded)", func() bool {
		return finished(byCall(t, a, simA.sim, "a1"), 1) && finished(byCall(t, a, simA.sim, "a2"), 1) &&
			finished(byCall(t, a, simB.sim, "b1"), 1) && finished(byCall(t, a, simB.sim, "b3"), 1)
	})
	if r := byCall(t, a, simB.sim, "b2"); len(r) != 0 {
		t.Errorf("excluded DN 6002 of tenant Globex recorded: %+v", r)
	}
	for _, c := range []struct {
		s              *sim.Sim
		handle, tenant string
		sw             string
	}{{simA.sim, "a1", "Acme", "SW_A"}, {simA.sim, "a2", "Acme", "SW_A"}, {simB.sim, "b1", "Globex", "SW_B"}, {simB.sim, "b3", "Globex", "SW_B"}} {
		r := byCall(t, a, c.s, c.handle)[0]
		if r.ExternalData["GEN_CFG_Tenant"] != c.tenant || r.ExternalData["GEN_CFG_Switch"] != c.sw || r.Correlation != "matched" {
			t.Errorf("%s: tenant %q switch %q correlation %q", c.handle, r.ExternalData["GEN_CFG_Tenant"], r.ExternalData["GEN_CFG_Switch"], r.Correlation)
		}
	}
	for tenant, want := range map[string]int{"Acme": 2, "globex": 2, "Initech": 0} {
		recs, err := a.Store().ListRecordings(context.Background(), store.Filter{Tenant: tenant})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != want {
			t.Errorf("tenant %s: %d recordings, want %d", tenant, len(recs), want)
		}
		for _, r := range recs {
			if !strings.EqualFold(r.ExternalData["GEN_CFG_Tenant"], tenant) {
				t.Errorf("tenant %s query returned a recording of %q", tenant, r.ExternalData["GEN_CFG_Tenant"])
			}
		}
	}
	// per-tenant notification key and values
	waitFor(t, 5*time.Second, "notifications", func() bool {
		return contains(simA.seen(), "ACME_REC=RECORDING_YES") && contains(simB.seen(), "RECORDING_STATUS_GIM=GLOBEX_ON")
	})
	if contains(simA.seen(), "RECORDING_STATUS_GIM=RECORDING_YES") {
		t.Errorf("tenant Acme got the default notification key: %v", simA.seen())
	}
	// per-tenant START extensions, as SIP Server saw them in the trace
	f, err := os.Open(tracePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, err := tlib.ParseTrace(f)
	if err != nil {
		t.Fatal(err)
	}
	starts := map[string]tlib.KVList{}
	for _, e := range entries {
		if id, _ := e.Msg.Int(tlib.AttrPrivateMsgID); e.Msg.Type == tlib.RequestPrivateService && id == 3013 {
			starts[e.Msg.ThisDN()] = e.Msg.List(tlib.AttrExtensions)
		}
	}
	if x := starts["5004"]; x.String("tonesilenceduration") != "10" || x.String("record") != "" {
		t.Errorf("Acme START extensions %v", x)
	}
	if x := starts["6003"]; x.String("tonesilenceduration") != "25" || x.String("record") != "destination" {
		t.Errorf("Globex START extensions %v", x)
	}
	if _, ok := starts["6001"]; ok {
		t.Error("START sent for a record=true DN (SIP Server records it by itself)")
	}
}

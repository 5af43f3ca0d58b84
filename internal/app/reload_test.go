package app_test

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/sim"
	"github.com/openrec/openrec/internal/store"
)

// Changes apply without a restart: a DN added in the configuration
// service is registered at once (change notification by long poll), and
// rules edited in the configuration file take effect for the next call.
func TestReloadConfigurationAndRules(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "openrec.yaml")
	if err := os.WriteFile(cfgFile, []byte("rules: {groups: []}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := startContactCenter(t, func(c *config.Serve) {
		c.Path = cfgFile
		c.Rules = mustRules(t, "rules: {groups: []}\n")
	})
	registered := func(dn string) bool {
		for _, cl := range env.sim.Clients() {
			if slices.Contains(cl.DNs, dn) {
				return true
			}
		}
		return false
	}
	if registered("5005") {
		t.Fatal("5005 registered before it exists")
	}
	_, src, err := sim.DemoConfig()
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(src), "dns:\n", "dns:\n  - {number: \"5005\", switch: SIP_Switch, type: Extension}\n", 1)
	req, err := http.NewRequest(http.MethodPut, "http://"+env.sim.ConfigAddr()+"/config", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT /config: %s", res.Status)
	}
	waitFor(t, 10*time.Second, "DN 5005 registered after the configuration changed", func() bool { return registered("5005") })

	// no rule: a call to the plain DN 5004 is not recorded
	step(t, env.sim, `
name: before
steps:
  - {at: 0s, action: inbound, call: r1, ani: "+15553330001", rp: "7000", to: "5004"}
  - {at: 50ms, action: answer, call: r1, dn: "5004"}
  - {at: 800ms, action: release, call: r1, dn: "5004"}
`)
	if r := byCall(t, env.a, env.sim, "r1"); len(r) != 0 {
		t.Fatalf("recorded without a rule: %+v", r)
	}
	before, err := os.Stat(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgFile, []byte("rules:\n  groups:\n    - name: Admin\n      rules:\n        - {name: new, action: record, mask: \">5004\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// a distinct mtime whatever the file system's timestamp granularity
	later := before.ModTime().Add(time.Second)
	if err := os.Chtimes(cfgFile, later, later); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for n := 2; ; n++ {
		h := "r" + string(rune('0'+n))
		step(t, env.sim, `
name: after
steps:
  - {at: 0s, action: inbound, call: `+h+`, ani: "+15553330002", rp: "7000", to: "5004"}
  - {at: 50ms, action: answer, call: `+h+`, dn: "5004"}
  - {at: 1s, action: release, call: `+h+`, dn: "5004"}
`)
		var recs []store.Recording
		waitFor(t, 5*time.Second, "recording settles", func() bool {
			recs = byCall(t, env.a, env.sim, h)
			return len(recs) == 0 || finished(recs, 1)
		})
		if len(recs) == 1 {
			if recs[0].ExternalData["GEN_REC_RULE"] != "new" {
				t.Errorf("rule %q", recs[0].ExternalData["GEN_REC_RULE"])
			}
			return
		}
		if time.Now().After(deadline) || n > 8 {
			t.Fatal("edited rules never applied")
		}
	}
}

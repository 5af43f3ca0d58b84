package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openrec/openrec/internal/config"
)

// The Rules page's Validate: POST /api/v1/admin/rules/check compiles the
// rules and answers their counts and warnings, or 422 with the compile
// error — and saves nothing either way.
func TestRulesCheckValidatesWithoutSaving(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "serve.yaml")
	const original = "# kept as is\nlog_level: info\n"
	if err := os.WriteFile(cfgFile, []byte(original), 0o644); err != nil {
		t.Fatal(err)
	}
	env := startContactCenter(t, func(c *config.Serve) { c.Path = cfgFile })
	addUser(t, env.a, "boss", "admin", "")
	addUser(t, env.a, "sup", "supervisor", "Acme")
	boss := signIn(t, env.a, "boss")
	var doc struct {
		Groups, Rules int
		Warnings      []string
	}
	good := "groups:\n  - name: Admin\n    rules:\n      - {name: no-ivr, action: do_not_record, mask: '7*'}\n      - {name: all, action: record, mask: '*'}\n"
	if code := boss.call("POST", "/api/v1/admin/rules/check", map[string]string{"yaml": good}, &doc); code != 200 || doc.Groups != 1 || doc.Rules != 2 {
		t.Errorf("check of valid rules: %d %+v, want 200 with 1 group and 2 rules", code, doc)
	}
	var prob struct{ Detail string }
	bad := "groups:\n  - name: G\n    rules:\n      - {name: r, action: shout, mask: '5*'}\n"
	if code := boss.call("POST", "/api/v1/admin/rules/check", map[string]string{"yaml": bad}, &prob); code != 422 || !strings.Contains(prob.Detail, "shout") {
		t.Errorf("check of invalid rules: %d %q, want 422 naming the bad action", code, prob.Detail)
	}
	if code := signIn(t, env.a, "sup").call("POST", "/api/v1/admin/rules/check", map[string]string{"yaml": good}, nil); code != 403 {
		t.Errorf("supervisor checking rules: %d, want 403", code)
	}
	if b, _ := os.ReadFile(cfgFile); string(b) != original {
		t.Errorf("check changed the configuration file:\n%s", b)
	}
}

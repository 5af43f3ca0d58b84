package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openrec/openrec/internal/cti/rules"
)

// rulesServeYAML is a serve file with the documented rules block.
const rulesServeYAML = `sip_listen: 0.0.0.0:5060
data_dir: ./openrec-data
rules:
  groups:                      # first group has the highest priority (Admin)
    - name: Admin
      rules:
        - {name: no-ivr, action: do_not_record, mask: "7*"}
    - name: Sales
      rules:
        - {name: sales-out, action: record, mask: "20??>"}
        - {name: vip, action: prerecord, mask: "*", userdata: {Segment: "VIP*"}}
`

func writeRulesConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "openrec.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// runRulesCmd runs `openrec rules ARGS` as main would.
func runRulesCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRulesCmd()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestRulesExplainJSON(t *testing.T) {
	cfg := writeRulesConfig(t, rulesServeYAML)
	tests := []struct {
		name               string
		args               []string
		action, rule, grp  string
		steps              int
		lastMatched        bool
		lastReasonContains string
	}{
		{"outgoing from sales", []string{"--from", "2001", "--to", "5551234"},
			"record", "sales-out", "Sales", 2, true, `caller "2001" matches "20??"`},
		{"from ivr", []string{"--from", "7001"},
			"do_not_record", "no-ivr", "Admin", 1, true, `party "7001" matches`},
		{"vip", []string{"--from", "3001", "--to", "4001", "--userdata", "Segment=VIP-gold"},
			"prerecord", "vip", "Sales", 3, true, `userdata Segment="VIP-gold" matches "VIP*"`},
		{"none", []string{"--from", "3001", "--to", "4001"},
			"none", "", "", 3, false, "userdata Segment: not attached"},
		{"repeated to and parties", []string{"--from", "3001", "--to", "4001", "--to", "4002", "--party", "7100"},
			"do_not_record", "no-ivr", "Admin", 1, true, `party "7100" matches`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"explain", "--config", cfg, "--json"}, tt.args...)
			stdout, stderr, err := runRulesCmd(t, args...)
			if err != nil {
				t.Fatalf("%v (stderr %q)", err, stderr)
			}
			var got struct {
				Action   string `json:"action"`
				Rule     string `json:"rule"`
				Group    string `json:"group"`
				Trace    []map[string]any
				Warnings []string `json:"warnings"`
			}
			dec := json.NewDecoder(strings.NewReader(stdout))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("%v in %s", err, stdout)
			}
			if dec.More() {
				t.Fatalf("more than one JSON value: %s", stdout)
			}
			if got.Action != tt.action || got.Rule != tt.rule || got.Group != tt.grp {
				t.Errorf("got %s %q %q, want %s %q %q", got.Action, got.Rule, got.Group, tt.action, tt.rule, tt.grp)
			}
			if len(got.Trace) != tt.steps {
				t.Fatalf("trace: %d steps, want %d: %s", len(got.Trace), tt.steps, stdout)
			}
			last := got.Trace[len(got.Trace)-1]
			for _, k := range []string{"group", "rule", "action", "matched", "reason"} {
				if _, ok := last[k]; !ok {
					t.Errorf("trace step without %q: %v", k, last)
				}
			}
			if last["matched"] != tt.lastMatched || !strings.Contains(last["reason"].(string), tt.lastReasonContains) {
				t.Errorf("last step %v, want matched=%v and reason with %q", last, tt.lastMatched, tt.lastReasonContains)
			}
			if got.Warnings == nil || len(got.Warnings) != 0 {
				t.Errorf("warnings = %#v, want []", got.Warnings)
			}
		})
	}
}

func TestRulesExplainText(t *testing.T) {
	cfg := writeRulesConfig(t, rulesServeYAML+`        - {name: late-dnr, action: do_not_record, mask: "2999"}
`)
	stdout, _, err := runRulesCmd(t, "explain", "--config", cfg, "--from", "2001", "--to", "5551234")
	if err != nil {
		t.Fatal(err)
	}
	want := `Admin/no-ivr (do_not_record): no: mask "7*": no party matches ("2001", "5551234")
Sales/sales-out (record): MATCH: mask "20??>": caller "2001" matches "20??"
=> record (rule sales-out, group Sales)
warning: group "Sales": do_not_record rule 3 ("late-dnr") is below record rule 1 ("sales-out"): a call matching both is recorded; put do-not-record rules above record rules
`
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
}

func TestRulesExplainPerson(t *testing.T) {
	cfg := writeRulesConfig(t, `rules:
  groups:
    - name: Team
      agents: ["10??"]
      rules:
        - {name: ann, action: record, person: "Ann L*", call_type: inbound, tenant: Acme}
`)
	stdout, _, err := runRulesCmd(t, "explain", "--config", cfg, "--json", "--from", "5551234", "--to", "1001",
		"--agent", "1001", "--person", "ann", "--full-name", "Ann Lee", "--call-type", "inbound", "--tenant", "acme")
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Action, Rule string }
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.Action != "record" || got.Rule != "ann" {
		t.Errorf("got %+v\n%s", got, stdout)
	}
}

func TestRulesExplainErrors(t *testing.T) {
	good := writeRulesConfig(t, rulesServeYAML)
	bad := writeRulesConfig(t, `rules:
  groups:
    - name: Sales
      rules:
        - {name: ok, action: record}
        - {name: vip, action: record, mask: "20?>>"}
`)
	unknown := writeRulesConfig(t, "rules:\n  groups:\n    - name: A\n      rulez: []\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"userdata without =", []string{"explain", "--config", good, "--from", "1", "--userdata", "Segment"}, `--userdata "Segment": want KEY=VALUE`},
		{"userdata empty key", []string{"explain", "--config", good, "--userdata", "=x"}, `--userdata "=x": want KEY=VALUE`},
		{"invalid rules", []string{"explain", "--config", bad, "--from", "1"}, `rules: group "Sales" rule 2 ("vip"): mask "20?>>": more than one ">" or "=" in a term`},
		{"unknown key", []string{"explain", "--config", unknown}, "field rulez not found"},
		{"missing file", []string{"explain", "--config", filepath.Join(t.TempDir(), "nope.yaml")}, "no such file"},
		{"no config", []string{"explain", "--from", "1"}, `required flag(s) "config" not set`},
		{"check invalid", []string{"check", "--config", bad}, `mask "20?>>"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := runRulesCmd(t, tt.args...)
			if err == nil {
				t.Fatalf("no error; stdout %q", stdout)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want %q", err, tt.want)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q, want the error", stderr)
			}
			if strings.Contains(stderr, "Usage:") {
				t.Errorf("usage printed on a run error: %q", stderr)
			}
			if strings.Contains(tt.name, "rules") && !errors.Is(err, rules.ErrInvalid) {
				t.Errorf("%v does not wrap rules.ErrInvalid", err)
			}
		})
	}
}

func TestRulesCheck(t *testing.T) {
	stdout, _, err := runRulesCmd(t, "check", "--config", writeRulesConfig(t, rulesServeYAML))
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "3 rules in 2 groups\n" {
		t.Errorf("stdout %q", stdout)
	}
	withWarning := writeRulesConfig(t, `rules:
  groups:
    - name: Admin
      rules:
        - {name: all, action: record}
        - {name: never, action: prerecord, mask: "2001"}
`)
	stdout, _, err = runRulesCmd(t, "check", "--config", withWarning)
	if err != nil {
		t.Fatal(err)
	}
	want := "2 rules in 1 group\n" +
		`warning: group "Admin" rule 2 ("never") is unreachable: group "Admin" rule 1 ("all") above it matches every call` + "\n"
	if stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	stdout, _, err = runRulesCmd(t, "check", "--config", writeRulesConfig(t, "sip_listen: :5060\n"))
	if err != nil || stdout != "0 rules in 0 groups\n" {
		t.Errorf("no rules: %q %v", stdout, err)
	}
}

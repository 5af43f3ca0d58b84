package conversation

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/cti/tlib"
)

// Contract tests: testdata/contract/*.trace are the call models of the
// public Genesys Events and Models Reference (each file names its source
// and says which events are transcribed and which are reconstructed),
// written as T-Library traces. A site bridge that replays real SIP Server
// traffic has a known target: these inputs must give the couples in
// testdata/contract/<name>.golden.json. Regenerate with
// go test ./internal/conversation -run TestContract -update, and review
// the diff by hand.

// contractCouple is the part of a couple a contract pins: who, with whom,
// on which ConnID, from when to when, and why.
type contractCouple struct {
	ThisDN  string   `json:"this_dn"`
	OtherDN string   `json:"other_dn"`
	ConnID  string   `json:"conn_id"`
	Start   string   `json:"start"`
	End     string   `json:"end"`
	Reason  string   `json:"reason"`
	Members []string `json:"members,omitempty"`
	Events  []string `json:"events,omitempty"`
}

type contractCall struct {
	CallUUID string           `json:"call_uuid"`
	Type     string           `json:"type"`
	ConnIDs  []string         `json:"conn_ids"`
	Released string           `json:"released"`
	Couples  []contractCouple `json:"couples"`
}

func contractGolden(r *runner) []contractCall {
	g := toGolden(r)
	out := make([]contractCall, 0, len(g.Calls))
	for _, c := range g.Calls {
		cc := contractCall{CallUUID: c.CallUUID, Type: c.Type, ConnIDs: c.ConnIDs, Released: c.Released,
			Couples: []contractCouple{}}
		for _, cp := range c.Couples {
			cc.Couples = append(cc.Couples, contractCouple{ThisDN: cp.ThisDN, OtherDN: cp.OtherDN, ConnID: cp.ConnID,
				Start: cp.Start, End: cp.End, Reason: cp.Reason, Members: cp.Members, Events: cp.Events})
		}
		// couples opened at one instant come out in event order, which the
		// reference leaves open: sort them
		sort.SliceStable(cc.Couples, func(i, j int) bool {
			a, b := cc.Couples[i], cc.Couples[j]
			if a.Start != b.Start {
				return base.Add(mustDur(a.Start)).Before(base.Add(mustDur(b.Start)))
			}
			return a.ThisDN < b.ThisDN
		})
		out = append(out, cc)
	}
	return out
}

func mustDur(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return d
}

func playContract(t *testing.T, steps []step) []byte {
	t.Helper()
	r := &runner{e: New(scenarioConfig(t)), calls: map[string]*Call{}}
	r.play(t, steps)
	b, err := json.MarshalIndent(contractGolden(r), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// reorderInstants reverses every run of consecutive events that share one
// offset. The reference says the order of events shown in one table cell
// may vary; the couples must not depend on it.
func reorderInstants(steps []step) []step {
	out := append([]step(nil), steps...)
	for i := 0; i < len(out); {
		j := i
		for j < len(out) && out[j].msg != nil && out[j].at == out[i].at {
			j++
		}
		if j-i > 1 {
			for a, b := i, j-1; a < b; a, b = a+1, b-1 {
				out[a], out[b] = out[b], out[a]
			}
			i = j
			continue
		}
		i++
	}
	return out
}

func TestContract(t *testing.T) {
	files, err := filepath.Glob("testdata/contract/*.trace")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"inbound_answered", "internal_call", "routing_point_inbound", "hold_retrieve",
		"single_step_transfer", "two_step_transfer", "conference_release", "conference_delete"}
	have := map[string]bool{}
	for _, f := range files {
		have[strings.TrimSuffix(filepath.Base(f), ".trace")] = true
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("contract %s.trace is missing", w)
		}
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".trace")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(raw), "https://") {
				t.Errorf("%s does not cite its source", file)
			}
			steps, err := loadScenario(file)
			if err != nil {
				t.Fatal(err)
			}
			got := playContract(t, steps)
			gf := strings.TrimSuffix(file, ".trace") + ".golden.json"
			if *update {
				if err := os.WriteFile(gf, got, 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				wantB, err := os.ReadFile(gf)
				if err != nil {
					t.Fatalf("%v (run with -update)", err)
				}
				if string(got) != string(wantB) {
					t.Errorf("%s differs from %s (run with -update and review the diff):\n%s", name, gf, got)
				}
			}
			if re := playContract(t, reorderInstants(steps)); string(re) != string(got) {
				t.Errorf("%s: couples depend on the order of events at one instant:\n%s", name, re)
			}
		})
	}
}

func TestRoleParty(t *testing.T) {
	msg := func(other string, otherRole int64, third string, thirdRole int64) *tlib.Message {
		m := tlib.New(tlib.EventPartyDeleted)
		if other != "" {
			m.SetStr(tlib.AttrOtherDN, other)
		}
		if otherRole != 0 {
			m.SetInt(tlib.AttrOtherDNRole, otherRole)
		}
		if third != "" {
			m.SetStr(tlib.AttrThirdPartyDN, third)
		}
		if thirdRole != 0 {
			m.SetInt(tlib.AttrThirdPartyDNRole, thirdRole)
		}
		return m
	}
	tests := []struct {
		name  string
		m     *tlib.Message
		actor int64
		want  string
	}{
		{"delete: A deleted B (GenEM delete from conference)", msg("5001", tlib.RoleDeletedParty, "5003", tlib.RoleDeletedBy), tlib.RoleDeletedBy, "5001"},
		{"release: B left by itself", msg("5001", tlib.RoleDeletedParty, "5001", tlib.RoleDeletedBy), tlib.RoleDeletedBy, "5001"},
		{"deleted party role only", msg("5001", tlib.RoleDeletedParty, "5003", 0), tlib.RoleDeletedBy, "5001"},
		{"actor in OtherDN", msg("5003", tlib.RoleDeletedBy, "5001", 0), tlib.RoleDeletedBy, "5001"},
		{"added by B", msg("5002", 0, "5001", tlib.RoleAddedBy), tlib.RoleAddedBy, "5002"},
		{"new party role", msg("5002", tlib.RoleNewParty, "5001", 0), tlib.RoleAddedBy, "5002"},
		{"no roles: ThirdPartyDN", msg("+420601000555", 0, "5003", 0), tlib.RoleAddedBy, "5003"},
		{"no roles, no ThirdPartyDN: OtherDN", msg("5003", 0, "", 0), tlib.RoleDeletedBy, "5003"},
		{"nothing", msg("", 0, "", 0), tlib.RoleDeletedBy, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := roleParty(tt.m, tt.actor); got != tt.want {
				t.Errorf("roleParty = %q, want %q", got, tt.want)
			}
		})
	}
}

package rules

import (
	"fmt"
	"testing"
)

// benchConfig is 20 rules in 4 groups; benchFacts matches the last one, so
// Evaluate goes through all of them.
func benchConfig() Config {
	var c Config
	for g := range 4 {
		gc := GroupConfig{Name: fmt.Sprintf("G%d", g)}
		if g == 2 {
			gc.DNs = "3*"
		}
		for r := range 5 {
			rc := RuleConfig{Name: fmt.Sprintf("g%d-r%d", g, r), Action: "record"}
			switch r {
			case 0:
				rc.Mask, rc.Action = "7*,8*,9000-9099", "do_not_record"
			case 1:
				rc.Mask = fmt.Sprintf("%d0??>", g+1)
			case 2:
				rc.Mask = "2501=2525"
			case 3:
				rc.Agent, rc.Mask = "agent.x*", ">4*"
			case 4:
				rc.UserData, rc.Action = map[string]string{"Segment": fmt.Sprintf("G%d*", g)}, "prerecord"
			}
			gc.Rules = append(gc.Rules, rc)
		}
		c.Groups = append(c.Groups, gc)
	}
	return c
}

func benchFacts() Facts {
	return Facts{
		From: "5551234", To: []string{"6001"}, Parties: []string{"6002"},
		Agents:   []Agent{{ID: "6001", UserName: "ann", FullName: "Ann Lee"}},
		UserData: map[string]string{"Segment": "G3-gold", "Account": "A1"},
		CallType: "inbound",
	}
}

func BenchmarkEvaluate(b *testing.B) {
	s, err := Compile(benchConfig())
	if err != nil {
		b.Fatal(err)
	}
	if s.Len() != 20 {
		b.Fatalf("%d rules", s.Len())
	}
	f := benchFacts()
	if res := s.Evaluate(f); res.Rule != "g3-r4" || len(res.Trace) != 20 {
		b.Fatalf("benchmark facts: %s", res)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Evaluate(f)
	}
}

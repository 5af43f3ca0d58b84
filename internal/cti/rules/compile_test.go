package rules

import (
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func oneRule(r RuleConfig) Config {
	return Config{Groups: []GroupConfig{{Name: "Sales", Rules: []RuleConfig{{Name: "ok", Action: "record"}, r}}}}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // the whole message, or its prefix when it ends in "..."
		mask bool   // also wraps ErrBadMask
	}{
		{"bad mask", oneRule(RuleConfig{Name: "vip", Action: "record", Mask: "20?>>"}),
			`rules: group "Sales" rule 2 ("vip"): mask "20?>>": more than one ">" or "=" in a term`, true},
		{"unknown action", oneRule(RuleConfig{Name: "x", Action: "archive"}),
			`rules: group "Sales" rule 2 ("x"): action "archive": want record, prerecord or do_not_record`, false},
		{"missing action", oneRule(RuleConfig{Name: "x"}),
			`rules: group "Sales" rule 2 ("x"): action is required (record, prerecord or do_not_record)`, false},
		{"missing rule name", oneRule(RuleConfig{Action: "record"}),
			`rules: group "Sales" rule 2: name is required`, false},
		{"name with spaces around", oneRule(RuleConfig{Name: " x", Action: "record"}),
			`rules: group "Sales" rule 2 (" x"): name " x": leading or trailing spaces`, false},
		{"duplicate rule name in group", oneRule(RuleConfig{Name: "OK", Action: "record"}),
			`rules: group "Sales" rule 2 ("OK"): name "OK" is already used by group "Sales" rule 1 ("ok")`, false},
		{"duplicate rule name across groups", Config{Groups: []GroupConfig{
			{Name: "Admin", Rules: []RuleConfig{{Name: "a", Action: "record"}}},
			{Name: "Sales", Rules: []RuleConfig{{Name: "a", Action: "prerecord"}}},
		}}, `rules: group "Sales" rule 1 ("a"): name "a" is already used by group "Admin" rule 1 ("a")`, false},
		{"missing group name", Config{Groups: []GroupConfig{{Rules: []RuleConfig{{Name: "a", Action: "record"}}}}},
			`rules: group 1: name is required`, false},
		{"duplicate group", Config{Groups: []GroupConfig{{Name: "Sales"}, {Name: "sales"}}},
			`rules: group 2: name "sales" is already used by group 1`, false},
		{"bad geo", oneRule(RuleConfig{Name: "x", Action: "record", Geo: "north"}),
			`rules: group "Sales" rule 2 ("x"): geo "north": want none, source or destination`, false},
		{"bad call type", oneRule(RuleConfig{Name: "x", Action: "record", CallType: "external"}),
			`rules: group "Sales" rule 2 ("x"): call_type "external": want inbound, outbound, internal or consult`, false},
		{"bad agent mask", oneRule(RuleConfig{Name: "x", Action: "record", Agent: "10??>"}),
			`rules: group "Sales" rule 2 ("x"): agent "10??>": agent masks are lists of patterns...`, true},
		{"bad person mask", oneRule(RuleConfig{Name: "x", Action: "record", Person: "a,,b"}),
			`rules: group "Sales" rule 2 ("x"): person "a,,b": term 2 "": empty term...`, true},
		{"bad range", oneRule(RuleConfig{Name: "x", Action: "record", Mask: "2999-2000"}),
			`rules: group "Sales" rule 2 ("x"): mask "2999-2000": range "2999-2000": start is above end`, true},
		{"empty userdata key", oneRule(RuleConfig{Name: "x", Action: "record", UserData: map[string]string{"": "a"}}),
			`rules: group "Sales" rule 2 ("x"): userdata: empty key`, false},
		{"tone silence", oneRule(RuleConfig{Name: "x", Action: "record", ToneSilence: "30s"}),
			`rules: group "Sales" rule 2 ("x"): tone_silence "30s": want milliseconds (digits only)`, false},
		{"dest with space", oneRule(RuleConfig{Name: "x", Action: "record", Dest: "sip:a b"}),
			`rules: group "Sales" rule 2 ("x"): dest "sip:a b": spaces and control characters are not allowed`, false},
		{"bad retention", oneRule(RuleConfig{Name: "x", Action: "record", Retention: "90 days"}),
			`rules: group "Sales" rule 2 ("x"): retention "90 days": want a duration such as 2160h (90 days), or 0 to keep for ever`, false},
		{"negative retention", oneRule(RuleConfig{Name: "x", Action: "record", Retention: "-1h"}),
			`rules: group "Sales" rule 2 ("x"): retention "-1h": want a duration such as 2160h (90 days), or 0 to keep for ever`, false},
		{"retention of do-not-record", oneRule(RuleConfig{Name: "x", Action: "do_not_record", Retention: "24h"}),
			`rules: group "Sales" rule 2 ("x"): retention "24h": a do_not_record rule keeps no recordings`, false},
		{"bad dtmf", oneRule(RuleConfig{Name: "x", Action: "record", DTMF: "hide"}),
			`rules: group "Sales" rule 2 ("x"): dtmf "hide": want keep, mask or mask-and-drop-events`, false},
		{"dtmf of do-not-record", oneRule(RuleConfig{Name: "x", Action: "do_not_record", DTMF: "keep"}),
			`rules: group "Sales" rule 2 ("x"): dtmf "keep": a do_not_record rule records nothing`, false},
		{"screen of do-not-record", oneRule(RuleConfig{Name: "x", Action: "do_not_record", Screen: ptrTo(true)}),
			`rules: group "Sales" rule 2 ("x"): screen: true: a do_not_record rule records nothing`, false},
		{"group dns", Config{Groups: []GroupConfig{{Name: "Sales", DNs: "20??="}}},
			`rules: group "Sales": dns "20??=": "=" (calls between) needs a pattern on both sides`, true},
		{"group agents", Config{Groups: []GroupConfig{{Name: "Sales", Agents: []string{"10??", ""}}}},
			`rules: group "Sales": agents[1] "": empty mask`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile(tt.cfg)
			if err == nil {
				t.Fatalf("Compile: no error, set of %d rules", s.Len())
			}
			got := err.Error()
			if want, ok := strings.CutSuffix(tt.want, "..."); ok {
				if !strings.HasPrefix(got, want) {
					t.Errorf("error %q, want prefix %q", got, want)
				}
			} else if got != tt.want {
				t.Errorf("error %q\nwant      %q", got, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
			if errors.Is(err, ErrBadMask) != tt.mask {
				t.Errorf("errors.Is(%v, ErrBadMask) = %v, want %v", err, !tt.mask, tt.mask)
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	for _, a := range []struct {
		in   string
		want Action
	}{
		{"record", ActionRecord}, {"RECORD", ActionRecord},
		{"prerecord", ActionPrerecord}, {"pre-record", ActionPrerecord}, {"Pre-Record", ActionPrerecord},
		{"do_not_record", ActionDoNotRecord}, {"do-not-record", ActionDoNotRecord},
		{"do not record", ActionDoNotRecord}, {"Do Not Record", ActionDoNotRecord},
	} {
		s, err := Compile(Config{Groups: []GroupConfig{{Name: "G", Rules: []RuleConfig{{Name: "r", Action: a.in, Geo: "Destination", CallType: "INBOUND"}}}}})
		if err != nil {
			t.Errorf("action %q: %v", a.in, err)
			continue
		}
		res := s.Evaluate(Facts{From: "1", CallType: "inbound"})
		if res.Action != a.want || res.Geo != "destination" {
			t.Errorf("action %q: got %s geo %q, want %s geo destination", a.in, res.Action, res.Geo, a.want)
		}
	}
}

func TestEmptySet(t *testing.T) {
	for _, c := range []Config{{}, {Groups: []GroupConfig{{Name: "Admin"}}}} {
		s, err := Compile(c)
		if err != nil {
			t.Fatal(err)
		}
		res := s.Evaluate(Facts{From: "2001", To: []string{"2002"}})
		if res.Action != ActionNone || res.Rule != "" || res.Group != "" || len(res.Trace) != 0 {
			t.Errorf("empty set: %+v", res)
		}
		if got := res.String(); got != "=> none (no rule matched)" {
			t.Errorf("String() = %q", got)
		}
		if s.Len() != 0 || len(s.Warnings()) != 0 {
			t.Errorf("Len %d, warnings %q", s.Len(), s.Warnings())
		}
	}
}

func TestConfigIsDeepCopy(t *testing.T) {
	cfg := Config{Groups: []GroupConfig{{
		Name: "Sales", Agents: []string{"10??"},
		Rules: []RuleConfig{{Name: "vip", Action: "prerecord", UserData: map[string]string{"Segment": "VIP*"}}},
	}}}
	s, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Changing the input after Compile changes neither the set nor Config().
	cfg.Groups[0].Agents[0] = "99??"
	cfg.Groups[0].Rules[0].UserData["Segment"] = "x"
	cfg.Groups[0].Rules[0].Name = "changed"
	got := s.Config()
	want := Config{Groups: []GroupConfig{{
		Name: "Sales", Agents: []string{"10??"},
		Rules: []RuleConfig{{Name: "vip", Action: "prerecord", UserData: map[string]string{"Segment": "VIP*"}}},
	}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Config() = %+v, want %+v", got, want)
	}
	// Nor does changing what Config() returned.
	got.Groups[0].Rules[0].UserData["Segment"] = "y"
	got.Groups[0].Agents[0] = "y"
	if again := s.Config(); !reflect.DeepEqual(again, want) {
		t.Fatalf("Config() after changing a copy = %+v", again)
	}
	res := s.Evaluate(Facts{Agents: []Agent{{ID: "1001"}}, UserData: map[string]string{"Segment": "VIP1"}})
	if res.Rule != "vip" {
		t.Fatalf("the set changed with its input: %s", res)
	}
	if s.Len() != 1 {
		t.Errorf("Len() = %d", s.Len())
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"record above do-not-record", Config{Groups: []GroupConfig{{Name: "Sales", Rules: []RuleConfig{
			{Name: "rec", Action: "record", Mask: "20??"},
			{Name: "pre", Action: "prerecord", Mask: "30??"},
			{Name: "dnr", Action: "do_not_record", Mask: "2005"},
		}}}}, []string{`group "Sales": do_not_record rule 3 ("dnr") is below record rule 1 ("rec"): a call matching both is recorded; put do-not-record rules above record rules`}},
		{"prerecord above do-not-record", Config{Groups: []GroupConfig{{Name: "Sales", Rules: []RuleConfig{
			{Name: "pre", Action: "prerecord", Mask: "30??"},
			{Name: "dnr", Action: "do_not_record", Mask: "3005"},
		}}}}, []string{`group "Sales": do_not_record rule 2 ("dnr") is below prerecord rule 1 ("pre"): a call matching both is recorded; put do-not-record rules above record rules`}},
		{"do-not-record in a later group is fine", Config{Groups: []GroupConfig{
			{Name: "Admin", Rules: []RuleConfig{{Name: "rec", Action: "record", Mask: "20??"}}},
			{Name: "Sales", Rules: []RuleConfig{{Name: "dnr", Action: "do_not_record", Mask: "2005"}}},
		}}, nil},
		{"disabled rules are ignored", Config{Groups: []GroupConfig{{Name: "Sales", Rules: []RuleConfig{
			{Name: "all", Action: "record", Disabled: true},
			{Name: "dnr", Action: "do_not_record", Mask: "2005"},
		}}}}, nil},
		{"catch-all with a condition is not a catch-all", Config{Groups: []GroupConfig{{Name: "Sales", Rules: []RuleConfig{
			{Name: "in", Action: "record", Mask: "*", CallType: "inbound"},
			{Name: "other", Action: "prerecord", Mask: "2*"},
		}}}}, nil},
		{"catch-all in a list", Config{Groups: []GroupConfig{
			{Name: "Admin", Rules: []RuleConfig{{Name: "all", Action: "record", Mask: "2001, *"}}},
			{Name: "Sales", Rules: []RuleConfig{{Name: "x", Action: "prerecord", Mask: "2*"}}},
		}}, []string{`group "Sales" rule 1 ("x") is unreachable: group "Admin" rule 1 ("all") above it matches every call`}},
		{"scoped catch-all hides only its group", Config{Groups: []GroupConfig{
			{Name: "Team", Tenant: "Acme", Rules: []RuleConfig{{Name: "all", Action: "record"}, {Name: "x", Action: "prerecord", Mask: "2*"}}},
			{Name: "Sales", Rules: []RuleConfig{{Name: "y", Action: "prerecord", Mask: "2*"}}},
		}}, []string{`group "Team" rule 2 ("x") is unreachable: group "Team" rule 1 ("all") above it matches every call`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Warnings(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Warnings() =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestResultStringOptions(t *testing.T) {
	r := Result{Action: ActionRecord, Rule: "r", Group: "G", Geo: "source", ToneSilence: "30000",
		Trace: []Step{{Group: "G", Rule: "r", Action: ActionRecord, Matched: true, Reason: "no condition: every call"}}}
	want := "G/r (record): MATCH: no condition: every call\n=> record (rule r, group G) geo=source tone_silence=30000"
	if got := r.String(); got != want {
		t.Errorf("String() =\n%s\nwant\n%s", got, want)
	}
}

// TestConcurrentEvaluate runs Evaluate from several goroutines in
// lockstep: every round has four Evaluate calls in flight at once
// (meaningful with -race).
func TestConcurrentEvaluate(t *testing.T) {
	s, err := Compile(benchConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := s.Evaluate(benchFacts())
	// (testtool.Lockstep, written out: this package's tests import only
	// the standard library, see deps_test.go)
	const n, rounds = 4, 100
	var all, round sync.WaitGroup
	release := make([]chan struct{}, rounds)
	for i := range release {
		release[i] = make(chan struct{})
	}
	for range n {
		all.Go(func() {
			for r := range rounds {
				<-release[r]
				if got := s.Evaluate(benchFacts()); got.Rule != want.Rule || len(got.Trace) != len(want.Trace) {
					t.Errorf("got %s, want %s", got.Rule, want.Rule)
				}
				round.Done()
			}
		})
	}
	for r := range rounds {
		round.Add(n)
		close(release[r])
		round.Wait()
	}
	all.Wait()
}

// Issue 13: retention periods per rule, by rule name.
func TestRetentions(t *testing.T) {
	s, err := Compile(Config{Groups: []GroupConfig{
		{Name: "Admin", Rules: []RuleConfig{{Name: "Complaints", Action: "record", Retention: "0"}}},
		{Name: "Sales", Rules: []RuleConfig{
			{Name: "vip", Action: "prerecord", Retention: "2160h", Disabled: true},
			{Name: "all", Action: "record"},
			{Name: "short", Action: "record", Retention: " 36h "},
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{"Complaints": 0, "vip": 2160 * time.Hour, "short": 36 * time.Hour}
	if got := s.Retentions(); !reflect.DeepEqual(got, want) {
		t.Errorf("Retentions = %v, want %v", got, want)
	}
	if got := (&Set{}).Retentions(); len(got) != 0 {
		t.Errorf("empty set: %v", got)
	}
}

func TestRuleDTMF(t *testing.T) {
	s, err := Compile(Config{Groups: []GroupConfig{{Name: "Sales", Rules: []RuleConfig{
		{Name: "Lab", Action: "record", DTMF: "keep"},
		{Name: "Cards", Action: "record", DTMF: "mask-and-drop-events", Disabled: true},
		{Name: "all", Action: "record"},
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"Lab": "keep", "lab": "keep", "Cards": "mask-and-drop-events", "all": "", "nope": ""} {
		if got := s.DTMF(name); got != want {
			t.Errorf("DTMF(%q) = %q, want %q", name, got, want)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestRuleScreen(t *testing.T) {
	s, err := Compile(Config{Groups: []GroupConfig{{Name: "Sales", Rules: []RuleConfig{
		{Name: "Desk", Action: "record", Screen: ptrTo(true)},
		{Name: "Quiet", Action: "record", Screen: ptrTo(false)},
		{Name: "Off", Action: "do_not_record", Screen: ptrTo(false)},
		{Name: "all", Action: "record"},
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name        string
		screen, set bool
	}{{"Desk", true, true}, {"desk", true, true}, {"Quiet", false, true}, {"Off", false, true}, {"all", false, false}, {"nope", false, false}} {
		if screen, set := s.Screen(tt.name); screen != tt.screen || set != tt.set {
			t.Errorf("Screen(%q) = %v, %v; want %v, %v", tt.name, screen, set, tt.screen, tt.set)
		}
	}
}

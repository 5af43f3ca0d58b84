package rules

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// goldenFile is testdata/cases.yaml.
type goldenFile struct {
	Sets []struct {
		Name     string   `yaml:"name"`
		Rules    Config   `yaml:"rules"`
		Warnings []string `yaml:"warnings"` // each must be a prefix of one warning, in order
		Cases    []struct {
			Name  string    `yaml:"name"`
			Facts factsYAML `yaml:"facts"`
			Want  struct {
				Action      Action `yaml:"action"`
				Rule        string `yaml:"rule"`
				Group       string `yaml:"group"`
				Geo         string `yaml:"geo"`
				Dest        string `yaml:"dest"`
				Dest2       string `yaml:"dest2"`
				AudioSrc    string `yaml:"audiosrc"`
				ToneSilence string `yaml:"tone_silence"`
			} `yaml:"want"`
		} `yaml:"cases"`
	} `yaml:"sets"`
}

type factsYAML struct {
	From     string            `yaml:"from"`
	To       []string          `yaml:"to"`
	Parties  []string          `yaml:"parties"`
	UserData map[string]string `yaml:"userdata"`
	CallType string            `yaml:"call_type"`
	Tenant   string            `yaml:"tenant"`
	Agents   []struct {
		ID         string `yaml:"id"`
		UserName   string `yaml:"user_name"`
		EmployeeID string `yaml:"employee_id"`
		FullName   string `yaml:"full_name"`
	} `yaml:"agents"`
}

func (y factsYAML) facts() Facts {
	f := Facts{From: y.From, To: y.To, Parties: y.Parties, UserData: y.UserData, CallType: y.CallType, Tenant: y.Tenant}
	for _, a := range y.Agents {
		f.Agents = append(f.Agents, Agent(a))
	}
	return f
}

func TestGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/cases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var gf goldenFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&gf); err != nil {
		t.Fatal(err)
	}
	if len(gf.Sets) < 5 {
		t.Fatalf("cases.yaml: %d sets, want at least 5", len(gf.Sets))
	}
	for _, set := range gf.Sets {
		t.Run(set.Name, func(t *testing.T) {
			s, err := Compile(set.Rules)
			if err != nil {
				t.Fatal(err)
			}
			ws := s.Warnings()
			if len(ws) != len(set.Warnings) {
				t.Errorf("warnings: got %d %q, want %d", len(ws), ws, len(set.Warnings))
			}
			for i, w := range set.Warnings {
				if i < len(ws) && !strings.HasPrefix(ws[i], w) {
					t.Errorf("warning %d: got %q, want prefix %q", i, ws[i], w)
				}
			}
			var out strings.Builder
			out.WriteString("# rules: " + set.Name + "\n")
			for _, w := range ws {
				out.WriteString("warning: " + w + "\n")
			}
			for _, c := range set.Cases {
				res := s.Evaluate(c.Facts.facts())
				w := c.Want
				if res.Action != w.Action || res.Rule != w.Rule || res.Group != w.Group {
					t.Errorf("%s: got %s %q %q, want %s %q %q\n%s", c.Name, res.Action, res.Rule, res.Group, w.Action, w.Rule, w.Group, res)
				}
				if res.Geo != w.Geo || res.Dest != w.Dest || res.Dest2 != w.Dest2 || res.AudioSrc != w.AudioSrc || res.ToneSilence != w.ToneSilence {
					t.Errorf("%s: options got %q %q %q %q %q", c.Name, res.Geo, res.Dest, res.Dest2, res.AudioSrc, res.ToneSilence)
				}
				checkTrace(t, c.Name, res)
				out.WriteString("\n## " + c.Name + "\n" + res.String() + "\n")
			}
			golden := filepath.Join("testdata", set.Name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got := out.String(); got != string(want) {
				t.Errorf("%s differs (run with -update after checking):\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}

// checkTrace verifies the invariants of a trace: only the last step may
// match, it is the winner, and every step has a reason.
func checkTrace(t *testing.T, name string, res Result) {
	t.Helper()
	for i, st := range res.Trace {
		if st.Reason == "" {
			t.Errorf("%s: step %d has no reason", name, i)
		}
		last := i == len(res.Trace)-1
		if st.Matched && !last {
			t.Errorf("%s: step %d matched but is not the last", name, i)
		}
		if last && st.Matched != (res.Action != ActionNone) {
			t.Errorf("%s: last step matched=%v, action %s", name, st.Matched, res.Action)
		}
		if last && st.Matched && (st.Rule != res.Rule || st.Group != res.Group || st.Action != res.Action) {
			t.Errorf("%s: last step %+v is not the winner %s/%s", name, st, res.Group, res.Rule)
		}
	}
}

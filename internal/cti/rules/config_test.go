package rules

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// serveYAML is a serve file with other keys around the documented rules block.
const serveYAML = `# openrec serve
sip_listen: 0.0.0.0:5060
data_dir: ./openrec-data
cti_servers:
  - {name: sip1, addr: "127.0.0.1:3000"}
rules:
  groups:                      # first group has the highest priority (Admin)
    - name: Admin
      rules:
        - {name: no-ivr, action: do_not_record, mask: "7*"}
    - name: Sales
      rules:
        - {name: sales-out, action: record, mask: "20??>"}
        - {name: vip, action: prerecord, mask: "*", userdata: {Segment: "VIP*"}}
log_level: info
`

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "openrec.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFile(t *testing.T) {
	cfg, err := LoadFile(writeTemp(t, serveYAML))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Groups) != 2 || cfg.Groups[0].Name != "Admin" || len(cfg.Groups[1].Rules) != 2 {
		t.Fatalf("LoadFile: %+v", cfg)
	}
	if got := cfg.Groups[1].Rules[1]; got.Name != "vip" || got.Action != "prerecord" || got.Mask != "*" || got.UserData["Segment"] != "VIP*" {
		t.Fatalf("vip rule: %+v", got)
	}
	s, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 3 || len(s.Warnings()) != 0 {
		t.Fatalf("Len %d, warnings %q", s.Len(), s.Warnings())
	}
	for _, tt := range []struct {
		f    Facts
		want string
	}{
		{Facts{From: "2001", To: []string{"5551234"}}, "record sales-out Sales"},
		{Facts{From: "7001", To: []string{"5551234"}}, "do_not_record no-ivr Admin"},
		{Facts{From: "3001", To: []string{"4001"}, UserData: map[string]string{"Segment": "VIP-gold"}}, "prerecord vip Sales"},
		{Facts{From: "3001", To: []string{"4001"}}, "none  "},
	} {
		res := s.Evaluate(tt.f)
		if got := string(res.Action) + " " + res.Rule + " " + res.Group; got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestLoadFileEmpty(t *testing.T) {
	for _, content := range []string{"", "sip_listen: 0.0.0.0:5060\n", "rules:\n", "rules: {}\n", "rules:\n  groups: []\n"} {
		cfg, err := LoadFile(writeTemp(t, content))
		if err != nil {
			t.Errorf("%q: %v", content, err)
			continue
		}
		if len(cfg.Groups) != 0 {
			t.Errorf("%q: %+v", content, cfg)
		}
		s, err := Compile(cfg)
		if err != nil || s.Len() != 0 || s.Evaluate(Facts{From: "1"}).Action != ActionNone {
			t.Errorf("%q: compile %v", content, err)
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	tests := []struct {
		name, content string
		want          string
	}{
		{"unknown rule key", "rules:\n  groups:\n    - name: A\n      rules:\n        - {name: a, action: record, musk: \"7*\"}\n",
			"line 5: field musk not found"},
		{"unknown group key", "a: 1\nrules:\n  groups:\n    - name: A\n      priority: 1\n", "line 5: field priority not found"},
		{"unknown rules key", "rules:\n  group: []\n", "line 2: field group not found"},
		{"wrong type", "rules: [1, 2]\n", "cannot unmarshal"},
		{"not yaml", "rules: {groups: [\n", "yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeTemp(t, tt.content)
			_, err := LoadFile(p)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %q: want ErrInvalid, the path and %q", err, tt.want)
			}
		})
	}
	_, err := LoadFile(filepath.Join(t.TempDir(), "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrInvalid) {
		t.Errorf("missing file: %v", err)
	}
}

// The serve file may be replaced by anything while openrec runs: a file
// too large to be a configuration (or /dev/zero) is an error on reload,
// not a crash for want of memory.
func TestLoadFileTooLarge(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err == nil {
		if _, err := LoadFile("/dev/zero"); err == nil || !strings.Contains(err.Error(), "not a configuration file") {
			t.Errorf("/dev/zero: %v", err)
		}
	}
	old := maxFileBytes
	maxFileBytes = 1 << 10
	defer func() { maxFileBytes = old }()
	if _, err := LoadFile(writeTemp(t, strings.Repeat("# comment\n", 200))); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a 2 KiB file over a 1 KiB limit: %v", err)
	}
}

// A serve file whose rules: sits below a --- (a second YAML document) is
// invalid, not a file without rules: a reload keeps the rules in force
// instead of replacing them by none. A trailing --- alone is harmless.
func TestLoadFileSecondDocument(t *testing.T) {
	_, err := LoadFile(writeTemp(t, "max_calls: 5\n---\n"+serveYAML))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "second YAML document") {
		t.Errorf("rules below ---: %v, want ErrInvalid naming the second document", err)
	}
	if cfg, err := LoadFile(writeTemp(t, serveYAML+"---\n")); err != nil || len(cfg.Groups) == 0 {
		t.Errorf("trailing ---: %+v %v", cfg, err)
	}
}

package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.yaml.in/yaml/v3"
)

const holderFile = `# site settings
max_calls: 50 # kept
rules:
  groups:
    - name: Admin
      rules:
        - {name: all, action: record}
`

func newTestHolder(t *testing.T) (*Holder, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "openrec.yaml")
	if err := os.WriteFile(p, []byte(holderFile), 0o640); err != nil {
		t.Fatal(err)
	}
	c, err := LoadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHolder(c, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

func yamlDoc(t *testing.T, text string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(text), &n); err != nil {
		t.Fatal(err)
	}
	return &n
}

// Save replaces only the rules: key (other keys and comments stay, the
// file's mode too), puts the rules in force, and refuses rules the file
// would not load with a RejectedError, changing nothing.
func TestHolderSave(t *testing.T) {
	h, p := newTestHolder(t)
	if err := h.Save(yamlDoc(t, "groups:\n  - name: Sales\n    rules:\n      - {name: vip, action: prerecord, mask: \"5*\"}\n      - {name: rest, action: record}\n")); err != nil {
		t.Fatal(err)
	}
	if n := h.Set().Len(); n != 2 {
		t.Errorf("rules in force after Save: %d, want 2", n)
	}
	b, _ := os.ReadFile(p)
	for _, want := range []string{"# site settings", "max_calls: 50 # kept", "name: vip"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("saved file lacks %q:\n%s", want, b)
		}
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640 kept", fi.Mode().Perm())
	}
	err := h.Save(yamlDoc(t, "groups:\n  - name: Sales\n    rules:\n      - {name: x, action: explode}\n"))
	var rej *RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("invalid rules: %v, want a RejectedError", err)
	}
	if after, _ := os.ReadFile(p); string(after) != string(b) || h.Set().Len() != 2 {
		t.Error("a rejected Save changed the file or the rules in force")
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".*.tmp")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// Watch reloads a changed file once, keeps the rules in force when the
// change does not load, and stops when done closes.
func TestHolderWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, p := newTestHolder(t)
		done := make(chan struct{})
		stopped := make(chan struct{})
		go func() { h.Watch(done, time.Second); close(stopped) }()
		write := func(text string) {
			if err := os.WriteFile(p, []byte(text), 0o640); err != nil {
				t.Fatal(err)
			}
		}
		write(strings.Replace(holderFile, "- {name: all, action: record}", "- {name: all, action: record}\n        - {name: two, action: record, mask: \"6*\"}", 1))
		time.Sleep(1500 * time.Millisecond) // bubble time: one tick
		synctest.Wait()
		if n := h.Set().Len(); n != 2 {
			t.Fatalf("rules after the file changed: %d, want 2", n)
		}
		write(holderFile + "      - {name: bad, action: nope}\n")
		time.Sleep(time.Second) // bubble time (synctest)
		synctest.Wait()
		if n := h.Set().Len(); n != 2 {
			t.Errorf("an invalid file replaced the rules in force: %d rules", n)
		}
		close(done)
		<-stopped
	})
}

func TestHolderWithoutFile(t *testing.T) {
	h, err := NewHolder(Config{}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Reload(); err != nil {
		t.Errorf("Reload without a file: %v", err)
	}
	if err := h.Save(yamlDoc(t, "groups: []\n")); err == nil {
		t.Error("Save without a file: no error")
	}
	h.Watch(nil, time.Second) // returns at once
}

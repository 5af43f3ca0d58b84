package rules

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// The editor's view of the holder: the document shows the file's rules:
// key, Check compiles without saving, SaveText saves and installs, and
// every refusal is classified (ErrInvalid, ErrNotEditable) with the file
// left as it was.
func TestHolderDocument(t *testing.T) {
	h, path := newTestHolder(t)
	doc, err := h.Document()
	if err != nil || doc.Path != path || !doc.Editable() || doc.Groups != 1 || doc.Rules != 1 || !strings.Contains(doc.YAML, "name: Admin") {
		t.Fatalf("Document = %+v, %v", doc, err)
	}

	const two = "groups:\n  - name: Sales\n    rules:\n      - {name: vip, action: prerecord, mask: \"5*\"}\n      - {name: rest, action: record}\n"
	checked, err := h.Check(two)
	if err != nil || checked.Groups != 1 || checked.Rules != 2 || h.Set().Len() != 1 {
		t.Fatalf("Check = %+v, %v; rules in force %d (Check must not install)", checked, err, h.Set().Len())
	}

	before, _ := os.ReadFile(path)
	for _, bad := range []struct{ name, text, want string }{
		{"unknown action", "groups:\n  - name: G\n    rules:\n      - {name: r, action: shout}\n", "shout"},
		{"unknown key", "groups: []\nextra: 1\n", "extra"},
		{"not yaml", "groups: [\n", "rules"},
		{"bad mask", "groups:\n  - name: G\n    rules:\n      - {name: r, action: record, mask: \"5[\"}\n", "mask"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			for op, f := range map[string]func(string) (Document, error){"Check": h.Check, "SaveText": h.SaveText} {
				if _, err := f(bad.text); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), bad.want) {
					t.Errorf("%s: %v, want ErrInvalid naming %q", op, err, bad.want)
				}
			}
		})
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatalf("a refused save changed the file:\n%s", after)
	}

	saved, err := h.SaveText(two)
	if err != nil || saved.Rules != 2 || saved.Groups != 1 || !strings.Contains(saved.YAML, "vip") || h.Set().Len() != 2 {
		t.Fatalf("SaveText = %+v, %v; rules in force %d", saved, err, h.Set().Len())
	}
	if data, _ := os.ReadFile(path); !strings.Contains(string(data), "max_calls: 50 # kept") {
		t.Errorf("other keys lost:\n%s", data)
	}
	if saved, err := h.SaveText(""); err != nil || saved.Rules != 0 {
		t.Errorf("SaveText(empty) = %+v, %v; want no rules", saved, err)
	}
}

func TestHolderDocumentWithoutFile(t *testing.T) {
	h, err := NewHolder(Config{Groups: []GroupConfig{{Name: "G", Rules: []RuleConfig{{Name: "r", Action: "record"}}}}}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := h.Document()
	if err != nil || doc.Editable() || doc.Rules != 1 || doc.YAML != "" {
		t.Errorf("Document = %+v, %v", doc, err)
	}
	if _, err := h.SaveText("groups: []\n"); !errors.Is(err, ErrNotEditable) {
		t.Errorf("SaveText without a file: %v, want ErrNotEditable", err)
	}
	if doc, err := h.Check("groups: []\n"); err != nil || doc.Editable() {
		t.Errorf("Check without a file = %+v, %v", doc, err)
	}
}

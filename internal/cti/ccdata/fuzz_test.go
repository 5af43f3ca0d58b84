package ccdata

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParse checks that the YAML loader never panics, that what it accepts
// is valid, indexable and survives a marshal/parse round trip, and that
// every error wraps a sentinel.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(""))
	f.Add([]byte("tenants: [{dbid: 1, name: T}]\nswitches: [{dbid: 2, name: S, tenant_dbid: 1}]\ndns: [{number: '1', switch: S, type: Trunk, options: {record: 'true'}}]\n"))
	f.Add([]byte("persons: [{dbid: 1, tenant_dbid: 1, logins: [{dbid: 1, login_code: a}]}]"))
	f.Add([]byte("a: &x [*x]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 16<<10 {
			return
		}
		d, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("accepted data does not validate: %v", err)
		}
		s := NewSnapshot(d)
		for _, dn := range d.DNs {
			if got, ok := s.DN(dn.Switch, dn.Number); !ok || got.Type != dn.Type {
				t.Fatalf("DN %s/%s not indexed", dn.Switch, dn.Number)
			}
		}
		for _, p := range d.Persons {
			_ = AgentData(p, AgentKeys{Keys: AllAgentKeys})
			if got, ok := s.Person(p.DBID); !ok || got.UserName != p.UserName {
				t.Fatalf("person %d not indexed", p.DBID)
			}
		}
		out, err := yaml.Marshal(d)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		d2, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse of\n%s\n: %v", out, err)
		}
		out2, err := yaml.Marshal(d2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("round trip differs:\n%s\n---\n%s", out, out2)
		}
	})
}

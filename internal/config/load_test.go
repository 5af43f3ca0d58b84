package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// Every setting has a yaml key: a field without one would silently never
// be read from the file (yaml's default name drops the underscores).
func TestEveryFieldHasAYAMLKey(t *testing.T) {
	var walk func(t2 reflect.Type, where string)
	seen := map[reflect.Type]bool{}
	walk = func(typ reflect.Type, where string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] || typ.PkgPath() == "time" {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() {
				continue
			}
			tag, ok := f.Tag.Lookup("yaml")
			if !ok || tag == "" {
				t.Errorf("%s.%s has no yaml key", where, f.Name)
				continue
			}
			if strings.HasPrefix(tag, "-") {
				continue
			}
			walk(f.Type, where+"."+f.Name)
		}
	}
	walk(reflect.TypeFor[Serve](), "Serve")
}

// Every flag names a setting the loader can set.
func TestEveryFlagSetsItsKey(t *testing.T) {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	AddFlags(fs)
	for name, key := range flagKeys {
		f := fs.Lookup(name)
		if f == nil {
			t.Errorf("flagKeys names --%s, which AddFlags does not declare", name)
			continue
		}
		cfg := Defaults()
		if err := setKey(&cfg, key, f.DefValue); err != nil {
			t.Errorf("--%s (%s) = %q: %v", name, key, f.DefValue, err)
		}
		if !reflect.DeepEqual(cfg, Defaults()) && f.DefValue != "" {
			t.Errorf("--%s at its default changed the configuration", name)
		}
	}
}

func TestFileKeys(t *testing.T) {
	// Attached-data keys with a dot (koanf used to split them) reach the
	// rules as written.
	c, err := load(t, "rules:\n  groups:\n    - name: Admin\n      rules:\n        - {name: vip, action: record, userdata: {cust.tier: gold}}\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Rules.Groups[0].Rules[0].UserData["cust.tier"]; got != "gold" {
		t.Errorf("userdata key with a dot: %v", c.Rules.Groups[0].Rules[0].UserData)
	}
	for _, tc := range []struct{ file, want string }{
		{"max_calls: 5\nrtp_portz: 1-2\n", `line 2: unknown key "rtp_portz"`},
		{"tenants:\n  - name: A\n    dtmff: keep\n", `line 3: unknown key "tenants.dtmff"`},
		{"media_timeout: 30\n", "time.Duration"},
		{"max_calls: many\n", "max_calls"},
	} {
		if _, err := load(t, tc.file); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want %q", tc.file, err, tc.want)
		}
	}
}

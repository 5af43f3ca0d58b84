package config

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

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

// Keys reached through an alias, a merge key or a second document are
// checked like any other: none is silently ignored.
func TestFileKeysThroughAliasesMergesAndDocuments(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		// An anchor defined where any key is valid (attached data),
		// used where only settings are.
		{"rules:\n  groups:\n    - name: g\n      rules:\n        - {name: r, action: record, userdata: &u {name: A, dtmff: keep}}\ntenants:\n  - *u\n",
			`unknown key "tenants.dtmff"`},
		{"tenants:\n  - <<: {name: A, dtmff: keep}\n", `unknown key "tenants.dtmff"`},
		{"tenants:\n  - <<: [{name: A}, {dtmff: keep}]\n", `unknown key "tenants.dtmff"`},
		{"dtmf: keep\n---\ndtmf: mask\n", "line 2: a second YAML document"},
		{"max_calls: 5\n---\nbogus: 1\n", "second YAML document"},
		// An alias of its own ancestor must not recurse for ever.
		{"tenants: &a [*a]\n", "cannot unmarshal"},
	} {
		if _, err := load(t, tc.file); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want %q", tc.file, err, tc.want)
		}
	}
	// A trailing --- (an empty second document) holds no setting.
	for _, f := range []string{"dtmf: keep\n---\n", "dtmf: keep\n---\n# a comment\n---\n"} {
		if c, err := load(t, f); err != nil || c.DTMF != "keep" {
			t.Errorf("%q: dtmf %q, err %v", f, c.DTMF, err)
		}
	}
	// Merge keys and aliases of known keys work.
	c, err := load(t, "tenants:\n  - &t {name: A, dtmf: keep}\n  - <<: *t\n    name: B\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Tenants) != 2 || c.Tenants[1].Name != "B" || c.Tenants[1].DTMF != "keep" {
		t.Errorf("merged tenant: %+v", c.Tenants)
	}
	// Aliases of aliases are checked once each, not once per path
	// (2^40 paths here).
	var b strings.Builder
	b.WriteString("rules:\n  groups:\n    - name: g\n      rules:\n        - {name: r0, action: record, userdata: &a0 {k: v}}\n")
	for i := 1; i < 40; i++ {
		fmt.Fprintf(&b, "        - {name: r%d, action: record, userdata: &a%d {<<: [*a%d, *a%d]}}\n", i, i, i-1, i-1)
	}
	done := make(chan error, 1)
	go func() { _, err := load(t, b.String()); done <- err }()
	select {
	case err := <-done:
		t.Logf("chained aliases: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("chained aliases: still checking after 10s")
	}
}

// A file too large to be a configuration (a log file, /dev/zero given by
// mistake) is an error, not a crash for want of memory.
func TestFileTooLarge(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err == nil {
		fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		AddFlags(fs)
		if err := fs.Parse([]string{"--config", "/dev/zero"}); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(fs); err == nil || !strings.Contains(err.Error(), "not a configuration file") {
			t.Errorf("--config /dev/zero: %v", err)
		}
	}
	old := maxFileBytes
	maxFileBytes = 1 << 10
	defer func() { maxFileBytes = old }()
	if _, err := load(t, strings.Repeat("# comment\n", 200)+"max_calls: 5\n"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a 2 KiB file over a 1 KiB limit: %v", err)
	}
	if _, err := load(t, "max_calls: 5\n"); err != nil {
		t.Errorf("a small file: %v", err)
	}
}

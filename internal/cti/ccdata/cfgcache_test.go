package ccdata

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func loadExample(t *testing.T) *Data {
	t.Helper()
	d, err := LoadFile(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestLoadExample(t *testing.T) {
	d := loadExample(t)
	if len(d.Tenants) != 2 || len(d.Switches) != 2 || len(d.DNs) != 9 || len(d.Persons) != 4 {
		t.Fatalf("counts: %d tenants, %d switches, %d dns, %d persons", len(d.Tenants), len(d.Switches), len(d.DNs), len(d.Persons))
	}
	types := map[string]bool{}
	for _, dn := range d.DNs {
		types[dn.Type] = true
	}
	for _, ty := range []string{TypeExtension, TypeACDPosition, TypeRoutingPoint, TypeTrunk, TypeVoiceTreatmentPort} {
		if !types[ty] {
			t.Errorf("example has no DN of type %s", ty)
		}
	}
	s := NewSnapshot(d)

	dn, ok := s.DN("SIP_Switch_A", "5001")
	if !ok || !dn.Recorded() || dn.Options[OptionGeoLocation] != "prague" || dn.TenantDBID != 101 || dn.Type != TypeExtension {
		t.Errorf("DN A/5001 = %+v, %v", dn, ok)
	}
	dn, ok = s.DN("SIP_Switch_B", "5001")
	if !ok || dn.Recorded() || dn.TenantDBID != 102 {
		t.Errorf("DN B/5001 = %+v, %v (tenant must default to the switch's)", dn, ok)
	}
	if dn, ok := s.DN("SIP_Switch_B", "agent@desk-7"); !ok || dn.Recorded() || dn.Options[OptionGeoLocation] != "london" {
		t.Errorf("alphanumeric DN = %+v, %v", dn, ok)
	}
	if _, ok := s.DN("SIP_Switch_B", "5002"); ok {
		t.Error("DN 5002 is on switch A only")
	}
	if got := len(s.DNs("SIP_Switch_A")); got != 6 {
		t.Errorf("DNs(A) = %d, want 6", got)
	}
	if got := len(s.DNs("")); got != 9 {
		t.Errorf("DNs(\"\") = %d, want 9", got)
	}

	logins := []struct {
		sw, code string
		person   int
	}{
		{"SIP_Switch_A", "AG_3017", 1001},
		{"SIP_Switch_A", "7002", 1001}, // tenant-wide login of tenant 101
		{"SIP_Switch_B", "7002", 2001}, // same code, other tenant's switch
		{"SIP_Switch_A", "7003", 1002},
		{"SIP_Switch_B", "AG_3017", 0},
		{"SIP_Switch_B", "7003", 0},
		{"nope", "7002", 0},
	}
	for _, l := range logins {
		p, ok := s.PersonByLogin(l.sw, l.code)
		if (l.person == 0) == ok || (ok && p.DBID != l.person) {
			t.Errorf("PersonByLogin(%s, %s) = %d, %v; want %d", l.sw, l.code, p.DBID, ok, l.person)
		}
	}
	if p, ok := s.Person(1002); !ok || p.LastName != "Nováková" || !p.IsAdmin || p.PlaceDBID != 502 {
		t.Errorf("Person(1002) = %+v, %v", p, ok)
	}
	if p, ok := s.PersonByUserName("admin"); !ok || p.DBID != 2002 || p.State != "Disabled" {
		t.Errorf("PersonByUserName(admin) = %+v, %v", p, ok)
	}
	if tn, ok := s.Tenant(102); !ok || tn.Name != "Retail" {
		t.Errorf("Tenant(102) = %+v, %v", tn, ok)
	}
	if tn, ok := s.TenantByName("Environment"); !ok || tn.DBID != 101 {
		t.Errorf("TenantByName = %+v, %v", tn, ok)
	}
	if sw, ok := s.Switch("SIP_Switch_B"); !ok || sw.DBID != 202 || sw.TenantDBID != 102 {
		t.Errorf("Switch(B) = %+v, %v", sw, ok)
	}
	if _, ok := s.Switch("SIP_Switch_C"); ok {
		t.Error("Switch(C) found")
	}
	if len(s.Tenants()) != 2 || len(s.Switches()) != 2 {
		t.Error("Tenants/Switches lists wrong")
	}
}

func TestParseErrors(t *testing.T) {
	base := `
tenants: [{dbid: 1, name: T1}]
switches: [{dbid: 10, name: SW, tenant_dbid: 1}]
`
	tests := []struct {
		name, yaml string
		want       error
		mentions   []string
	}{
		{"unknown field", base + "dns: [{number: '1', switch: SW, type: Extension, colour: red}]", ErrSyntax, []string{"colour"}},
		{"wrong type", "tenants: [{dbid: one, name: T}]", ErrSyntax, []string{"one"}},
		{"not a mapping", "- a\n- b\n", ErrSyntax, nil},
		{"tenant dbid", "tenants: [{dbid: 0, name: T}]", ErrInvalid, []string{"tenants[0]", "dbid must be a positive"}},
		{"duplicate tenant", "tenants: [{dbid: 1, name: T}, {dbid: 1, name: T}]", ErrInvalid, []string{"tenants[1] (dbid 1, name \"T\")", "duplicate dbid", "duplicate name"}},
		{"tenant without name", "tenants: [{dbid: 1}]", ErrInvalid, []string{"tenants[0]", "name is empty"}},
		{"switch unknown tenant", "tenants: [{dbid: 1, name: T}]\nswitches: [{dbid: 10, name: SW, tenant_dbid: 2}]", ErrInvalid, []string{`switches[0] (dbid 10, name "SW")`, "tenant_dbid 2"}},
		{"duplicate switch", "tenants: [{dbid: 1, name: T1}]\nswitches: [{dbid: 10, name: SW, tenant_dbid: 1}, {dbid: 11, name: SW, tenant_dbid: 1}]", ErrInvalid, []string{"switches[1]", "duplicate name"}},
		{"dn bad char", base + "dns: [{number: '50 01', switch: SW, type: Extension}]", ErrInvalid, []string{`dns[0] (switch "SW", number "50 01")`, "' '"}},
		{"dn empty", base + "dns: [{number: '', switch: SW, type: Extension}]", ErrInvalid, []string{"dns[0]", "empty DN"}},
		{"dn unknown switch", base + "dns: [{number: '1', switch: SW2, type: Extension}]", ErrInvalid, []string{"dns[0]", `switch "SW2" is not configured`}},
		{"dn duplicate", base + "dns: [{number: '1', switch: SW, type: Extension}, {number: '1', switch: SW, type: Trunk}]", ErrInvalid, []string{"dns[1]", "duplicate number"}},
		{"dn type", base + "dns: [{number: '1', switch: SW, type: Phone}]", ErrInvalid, []string{"dns[0]", `type "Phone"`}},
		{"dn tenant", base + "dns: [{number: '1', switch: SW, type: Trunk, tenant_dbid: 9}]", ErrInvalid, []string{"dns[0]", "tenant_dbid 9"}},
		{"dn record option", base + "dns: [{number: '1', switch: SW, type: Trunk, options: {record: yes}}]", ErrInvalid, []string{"dns[0]", `record="yes"`}},
		{"dn empty option", base + "dns: [{number: '1', switch: SW, type: Trunk, options: {'': x}}]", ErrInvalid, []string{"dns[0]", "empty name"}},
		{"person tenant", base + "persons: [{dbid: 5, user_name: u, tenant_dbid: 3}]", ErrInvalid, []string{`persons[0] (dbid 5, user_name "u")`, "tenant_dbid 3"}},
		{"person dup", base + "persons: [{dbid: 5, tenant_dbid: 1}, {dbid: 5, tenant_dbid: 1}]", ErrInvalid, []string{"persons[1]", "duplicate dbid"}},
		{"place dbid", base + "persons: [{dbid: 5, tenant_dbid: 1, place_dbid: -1}]", ErrInvalid, []string{"persons[0]", "place_dbid"}},
		{"login wrapup", base + "persons: [{dbid: 5, tenant_dbid: 1, logins: [{dbid: 7, login_code: a1, wrapup_time: -1}]}]", ErrInvalid, []string{`persons[0] (dbid 5, user_name ""): logins[0] (dbid 7, login_code "a1")`, "wrapup_time"}},
		{"login code", base + "persons: [{dbid: 5, tenant_dbid: 1, logins: [{dbid: 7, login_code: 'a*1'}]}]", ErrInvalid, []string{"logins[0]", "login_code", "'*'"}},
		{"login dbid", base + "persons: [{dbid: 5, tenant_dbid: 1, logins: [{dbid: 0, login_code: a}]}]", ErrInvalid, []string{"logins[0]", "dbid must be"}},
		{"login switch", base + "persons: [{dbid: 5, tenant_dbid: 1, logins: [{dbid: 7, login_code: a, switch: X}]}]", ErrInvalid, []string{"logins[0]", `switch "X"`}},
		{"login switch of other tenant", "tenants: [{dbid: 1, name: T1}, {dbid: 2, name: T2}]\nswitches: [{dbid: 10, name: SW, tenant_dbid: 2}]\npersons: [{dbid: 5, tenant_dbid: 1, logins: [{dbid: 7, login_code: a, switch: SW}]}]", ErrInvalid, []string{"logins[0]", "belongs to tenant 2"}},
		{"login code twice", base + "persons: [{dbid: 5, tenant_dbid: 1, logins: [{dbid: 7, login_code: a}]}, {dbid: 6, tenant_dbid: 1, logins: [{dbid: 8, login_code: a}]}]", ErrInvalid, []string{"persons[1]", "already used by person 5"}},
		{"login dbid twice", base + "persons: [{dbid: 5, tenant_dbid: 1, logins: [{dbid: 7, login_code: a}, {dbid: 7, login_code: b}]}]", ErrInvalid, []string{"logins[1]", "duplicate login dbid"}},
		{"skill level", base + "persons: [{dbid: 5, tenant_dbid: 1, skills: [{dbid: 3, name: S, level: -2}]}]", ErrInvalid, []string{`skills[0] (dbid 3, name "S")`, "level"}},
		{"skill names", base + "persons: [{dbid: 5, tenant_dbid: 1, skills: [{dbid: 3, name: S}]}, {dbid: 6, tenant_dbid: 1, skills: [{dbid: 3, name: X}]}]", ErrInvalid, []string{"persons[1]", `named "S" elsewhere`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatalf("Parse = %+v, want error", d)
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v does not wrap %v", err, tc.want)
			}
			for _, m := range tc.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

func TestParseEmptyAndLimits(t *testing.T) {
	for _, in := range []string{"", "# nothing\n", "{}"} {
		d, err := Parse([]byte(in))
		if err != nil || len(d.Tenants)+len(d.Switches)+len(d.DNs)+len(d.Persons) != 0 {
			t.Errorf("Parse(%q) = %+v, %v", in, d, err)
		}
	}
	var b strings.Builder
	b.WriteString("tenants:\n")
	for i := 0; i < 50; i++ {
		b.WriteString("  - {dbid: 0, name: T}\n")
	}
	_, err := Parse([]byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "more errors not shown") {
		t.Errorf("many errors not bounded: %v", err)
	}
}

func TestLoadFileErrorNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(p, []byte("tenants: [{dbid: -1, name: X}]"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(p)
	if err == nil || !strings.Contains(err.Error(), p) || !errors.Is(err, ErrInvalid) {
		t.Errorf("LoadFile error = %v", err)
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file error = %v", err)
	}
}

func TestSnapshotIsImmutable(t *testing.T) {
	d := loadExample(t)
	s := NewSnapshot(d)
	before := s.Data()

	// Changing the input after NewSnapshot does not reach the snapshot.
	d.DNs[0].Options[OptionRecord] = "false"
	d.Persons[0].Logins[0].DBID = 9
	d.Tenants[0].Name = "changed"
	// Nor does changing what the snapshot returned.
	dn, _ := s.DN("SIP_Switch_A", "5001")
	dn.Options[OptionRecord] = "false"
	p, _ := s.PersonByLogin("SIP_Switch_A", "AG_3017")
	p.Logins[0].DBID = 9
	p.Skills[0].Level = 0
	s.Tenants()[0].Name = "changed"
	s.Data().Persons[0].FirstName = "changed"
	s.DNs("")[0].Options[OptionRecord] = "false"

	if !reflect.DeepEqual(before, s.Data()) {
		t.Error("snapshot changed through its input or its results")
	}
}

func TestNewSnapshotDuplicatesFirstWins(t *testing.T) {
	d := &Data{
		Tenants:  []Tenant{{DBID: 1, Name: "a"}, {DBID: 1, Name: "b"}},
		Switches: []Switch{{DBID: 1, Name: "S", TenantDBID: 1}, {DBID: 2, Name: "S", TenantDBID: 1}},
		DNs:      []DN{{Number: "1", Switch: "S", Type: "x"}, {Number: "1", Switch: "S", Type: "y"}},
		Persons: []Person{
			{DBID: 1, TenantDBID: 1, UserName: "u", Logins: []AgentLogin{{LoginCode: "L"}}},
			{DBID: 2, TenantDBID: 1, UserName: "u", Logins: []AgentLogin{{LoginCode: "L", Switch: "S"}}},
		},
	}
	if d.Validate() == nil {
		t.Fatal("duplicates validate")
	}
	s := NewSnapshot(d)
	if tn, _ := s.Tenant(1); tn.Name != "a" {
		t.Errorf("Tenant = %v", tn)
	}
	if sw, _ := s.Switch("S"); sw.DBID != 1 {
		t.Errorf("Switch = %v", sw)
	}
	if dn, _ := s.DN("S", "1"); dn.Type != "x" || dn.TenantDBID != 1 {
		t.Errorf("DN = %v", dn)
	}
	if p, _ := s.PersonByUserName("u"); p.DBID != 1 {
		t.Errorf("PersonByUserName = %v", p.DBID)
	}
	// An explicit switch login wins over a tenant-wide one.
	if p, _ := s.PersonByLogin("S", "L"); p.DBID != 2 {
		t.Errorf("PersonByLogin = %v", p.DBID)
	}
	if NewSnapshot(nil).Version() != 0 || len(NewSnapshot(nil).Tenants()) != 0 {
		t.Error("empty snapshot")
	}
}

// generation builds a configuration whose every part names generation g,
// so a reader can tell whether all it saw came from one snapshot.
func generation(g int) *Data {
	name := fmt.Sprintf("gen%d", g)
	return &Data{
		Tenants:  []Tenant{{DBID: 1, Name: name}},
		Switches: []Switch{{DBID: 1, Name: "SW", TenantDBID: 1}},
		DNs:      []DN{{Number: "5001", Switch: "SW", Type: TypeExtension, Options: map[string]string{"gen": name}}},
		Persons: []Person{{DBID: 1, TenantDBID: 1, FirstName: name,
			Logins: []AgentLogin{{DBID: 1, LoginCode: "7001", WrapupTime: g}}}},
	}
}

func TestCacheReplaceIsAtomic(t *testing.T) {
	c := NewCache(generation(0))
	if c.Snapshot().Version() != 1 {
		t.Fatalf("first version = %d", c.Snapshot().Version())
	}
	const writers, readers, rounds = 2, 4, 300
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= rounds; i++ {
				c.Replace(generation(i))
			}
		}()
	}
	errs := make(chan error, readers)
	for r := 0; r < readers; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last uint64
			for i := 0; i < rounds*2; i++ {
				s := c.Snapshot() // one snapshot per unit of work
				if s.Version() < last {
					errs <- fmt.Errorf("version went back from %d to %d", last, s.Version())
					return
				}
				last = s.Version()
				tn, _ := s.Tenant(1)
				dn, _ := s.DN("SW", "5001")
				p, _ := s.PersonByLogin("SW", "7001")
				keys := AgentData(p, AgentKeys{Keys: []string{KeyFirstName, KeyWrapupTime}})
				want := tn.Name
				if dn.Options["gen"] != want || p.FirstName != want || keys["GEN_CFG_FirstName"] != want ||
					"gen"+keys["GEN_CFG_AgentLoginInfo_1_WrapupTime"] != want {
					errs <- fmt.Errorf("mixed snapshot: tenant %s, dn %s, person %s, keys %v", want, dn.Options["gen"], p.FirstName, keys)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := c.Snapshot().Version(); got != 1+writers*rounds {
		t.Errorf("final version = %d, want %d", got, 1+writers*rounds)
	}
}

func TestCacheReloadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	src, err := os.ReadFile(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("tenants: [{dbid: 1}]"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := NewCache(nil)
	if _, ok := c.Snapshot().Tenant(101); ok {
		t.Fatal("empty cache has a tenant")
	}
	if err := c.ReloadFile(good); err != nil {
		t.Fatal(err)
	}
	s := c.Snapshot()
	if _, ok := s.Tenant(101); !ok || s.Version() != 2 {
		t.Fatalf("after reload: version %d", s.Version())
	}
	if err := c.ReloadFile(bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad reload error = %v", err)
	}
	if c.Snapshot() != s {
		t.Error("failed reload replaced the snapshot")
	}
}

func TestOptionsAcceptUnquotedScalars(t *testing.T) {
	// Quoting is documented, but an unquoted boolean must not silently
	// turn into something else.
	d, err := Parse([]byte(`
tenants: [{dbid: 1, name: T}]
switches: [{dbid: 1, name: S, tenant_dbid: 1}]
dns: [{number: 1, switch: S, type: Extension, options: {record: true}}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if !d.DNs[0].Recorded() || d.DNs[0].Number != "1" {
		t.Errorf("DN = %+v", d.DNs[0])
	}
}

package ccdata

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var john = Person{
	DBID: 1001, EmployeeID: "E1001", FirstName: "John", LastName: "Smith", UserName: "jsmith",
	IsAgent: true, State: "Enabled", TenantDBID: 101, Place: "Place_5001", PlaceDBID: 501,
	Logins: []AgentLogin{{DBID: 3001, LoginCode: "AG_3017", WrapupTime: 30}, {DBID: 3002, LoginCode: "7002"}},
	Skills: []Skill{{DBID: 401, Name: "Sales", Level: 5}, {DBID: 402, Name: "English", Level: 9}},
}

// TestAgentDataGolden renders AgentData for a set of persons and key
// configurations into testdata/agentdata.golden (go test -update rewrites it).
func TestAgentDataGolden(t *testing.T) {
	partial := Person{DBID: 7, FirstName: "Cher", UserName: "cher", IsAdmin: true}
	all := append([]string(nil), AllAgentKeys...)
	cases := []struct {
		name string
		p    Person
		k    AgentKeys
	}{
		{"defaults", john, AgentKeys{}},
		{"defaults, last-first, comma", john, AgentKeys{NameOrder: LastFirst, Delimiter: DelimiterComma}},
		{"defaults, last-first, custom ' - '", john, AgentKeys{NameOrder: LastFirst, Delimiter: " - "}},
		{"defaults renamed", john, AgentKeys{Rename: map[string]string{KeyEmployeeID: "EmpNo", KeyUserName: "Login"}}},
		{"one key turns defaults off", john, AgentKeys{Keys: []string{KeyEmployeeID}}},
		{"every key", john, AgentKeys{Keys: all}},
		{"indexed keys, <n> spelling, renamed", john, AgentKeys{
			Keys:   []string{"AgentLoginInfo_<n>_LoginDbid", "AgentSkillLevels_<index>_Level", KeySkillDbid},
			Rename: map[string]string{"AgentLoginInfo_<n>_LoginDbid": "Login_:_Id", KeySkillDbid: "Skill"},
		}},
		{"full name disabled", john, AgentKeys{DisableFullName: true}},
		{"empty values are not stored", partial, AgentKeys{Keys: all}},
		{"nothing at all", Person{}, AgentKeys{}},
		{"unknown key ignored", john, AgentKeys{Keys: []string{"Shoe", KeyState}}},
		{"delimiter cut to 5 characters", john, AgentKeys{Delimiter: " <-> -"}},
	}
	var b strings.Builder
	for _, tc := range cases {
		m := AgentData(tc.p, tc.k)
		fmt.Fprintf(&b, "== %s\n", tc.name)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if m[k] == "" {
				t.Errorf("%s: empty value stored for %s", tc.name, k)
			}
			if !strings.HasPrefix(k, Prefix) {
				t.Errorf("%s: key %s lacks %s", tc.name, k, Prefix)
			}
			fmt.Fprintf(&b, "%s=%s\n", k, m[k])
		}
	}
	golden := filepath.Join("testdata", "agentdata.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("AgentData differs from %s (run go test -update and review the diff):\n%s", golden, got)
	}
}

func TestFullName(t *testing.T) {
	tests := []struct {
		first, last string
		order       NameOrder
		delim, want string
	}{
		// The three samples of seed 002 table 3.
		{"John", "Smith", FirstLast, DelimiterSpace, "John Smith"},
		{"John", "Smith", LastFirst, DelimiterComma, "Smith, John"},
		{"John", "Smith", LastFirst, " - ", "Smith - John"},
		{"John", "Smith", FirstLast, "", "John Smith"},
		{"John", "Smith", LastFirst, "", "Smith John"},
		{"John", "Smith", FirstLast, "/", "John/Smith"},
		{"John", "Smith", FirstLast, "123456", "John12345Smith"},
		{"Jana", "Nováková", LastFirst, " · ", "Nováková · Jana"},
		{"John", "", LastFirst, ", ", "John"},
		{"", "Smith", FirstLast, ", ", "Smith"},
		{" ", " ", FirstLast, " ", ""},
		{"", "", FirstLast, " ", ""},
	}
	for _, tc := range tests {
		got := FullName(Person{FirstName: tc.first, LastName: tc.last}, tc.order, tc.delim)
		if got != tc.want {
			t.Errorf("FullName(%q, %q, %d, %q) = %q, want %q", tc.first, tc.last, tc.order, tc.delim, got, tc.want)
		}
	}
}

func TestTenantKeys(t *testing.T) {
	tests := []struct {
		t    Tenant
		sw   Switch
		want map[string]string
	}{
		{Tenant{DBID: 101, Name: "Environment"}, Switch{DBID: 201, Name: "SIP_Switch_A", TenantDBID: 101},
			map[string]string{"GEN_CFG_TENANT": "101", "GEN_CFG_SWITCH": "201", "GEN_CFG_Tenant": "Environment", "GEN_CFG_Switch": "SIP_Switch_A"}},
		{Tenant{}, Switch{Name: "SW"}, map[string]string{"GEN_CFG_Switch": "SW"}},
		{Tenant{}, Switch{}, map[string]string{}},
	}
	for _, tc := range tests {
		got := TenantKeys(tc.t, tc.sw)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("TenantKeys(%+v, %+v) = %v, want %v", tc.t, tc.sw, got, tc.want)
		}
	}
}

func TestAgentKeysValidate(t *testing.T) {
	good := []AgentKeys{
		{},
		{Keys: AllAgentKeys, NameOrder: LastFirst, Delimiter: " - "},
		{Keys: []string{"AgentLoginInfo_<n>_LoginDbid", "AgentSkillLevels_<index>_Level"}, Rename: map[string]string{KeyState: "Status"}},
		{Delimiter: "ěščřž"},
	}
	for _, k := range good {
		if err := k.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", k, err)
		}
	}
	bad := []struct {
		k       AgentKeys
		mention string
	}{
		{AgentKeys{Keys: []string{"Shoe"}}, `"Shoe"`},
		{AgentKeys{Rename: map[string]string{"Shoe": "x"}}, `"Shoe"`},
		{AgentKeys{Rename: map[string]string{KeyState: ""}}, "empty name"},
		{AgentKeys{Delimiter: "123456"}, "at most 5"},
		{AgentKeys{NameOrder: 7}, "name order 7"},
	}
	for _, tc := range bad {
		err := tc.k.Validate()
		if !errors.Is(err, ErrAgentKeys) || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("Validate(%+v) = %v, want ErrAgentKeys mentioning %s", tc.k, err, tc.mention)
		}
	}
}

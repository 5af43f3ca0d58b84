package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
)

// Conformance tests of recording search: every Filter field alone and
// combined (SearchRecordings, ListRecordings and CountRecordings agree),
// patterns with literal '%' and '_', the OwnerAgent restriction, keyset
// pages in every Sort, and invalid filters and cursors.

// searchRec returns a minimal completed recording for the search tests.
func searchRec(id string, started time.Time, durationMS int64, ext map[string]string) *store.Recording {
	return &store.Recording{ID: id, Mode: store.ModeMSR, Status: store.StatusCompleted, StartedAt: started,
		DurationMS: durationMS, ExternalData: ext}
}

// kvs returns External pairs from key, value, key, value ...
func kvs(kv ...string) []store.KV {
	var out []store.KV
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, store.KV{Key: kv[i], Value: kv[i+1]})
	}
	return out
}

func recIDs(rs []store.Recording) []string {
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	return ids
}

// checkSearch asserts that SearchRecordings (one page, no next cursor),
// ListRecordings and CountRecordings all find want, in order.
func checkSearch(t *testing.T, s Store, f store.Filter, want []string) {
	t.Helper()
	ctx := context.Background()
	f.Limit = 1000
	page, err := s.SearchRecordings(ctx, f)
	if err != nil {
		t.Fatalf("SearchRecordings(%+v): %v", f, err)
	}
	if got := recIDs(page.Items); !reflect.DeepEqual(got, want) {
		t.Errorf("SearchRecordings(%+v) = %v, want %v", f, got, want)
	}
	if page.NextCursor != "" {
		t.Errorf("SearchRecordings(%+v): next cursor %q on the only page", f, page.NextCursor)
	}
	list, err := s.ListRecordings(ctx, f)
	if err != nil {
		t.Fatalf("ListRecordings(%+v): %v", f, err)
	}
	if got := recIDs(list); !reflect.DeepEqual(got, want) {
		t.Errorf("ListRecordings(%+v) = %v, want %v", f, got, want)
	}
	n, err := s.CountRecordings(ctx, f)
	if err != nil {
		t.Fatalf("CountRecordings(%+v): %v", f, err)
	}
	if n != len(want) {
		t.Errorf("CountRecordings(%+v) = %d, want %d", f, n, len(want))
	}
}

func testSearchFilters(t *testing.T, s Store) {
	min := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	s1 := searchRec("s1", min(0), 10_000, map[string]string{
		store.AgentIDKey: "agent01", store.UserNameKey: "jnova", store.EmployeeIDKey: "E1",
		store.FullNameKey: "Jana Nová", store.FirstNameKey: "Jana", store.LastNameKey: "Nová",
		store.ANIKey: "+33111000", store.DNISKey: "8000", store.CallTypeKey: "Inbound",
		store.ConnIDKey: "006502a8c4e1b001", store.TenantKey: "Acme", "GEN_USR_Account": "ACME-42",
	})
	s1.RecordedDN, s1.OtherDN = "7001", "+33111000"
	s1.Couples = []store.Couple{{StartMS: 0, EndMS: 10_000, ThisDN: "7001", ConnID: "006502a8c4e1b001"}}
	s2 := searchRec("s2", min(1), 30_000, map[string]string{
		store.AgentIDKey: "agent02", store.UserNameKey: "pdvorak", store.FullNameKey: "Petr Dvořák",
		store.FirstNameKey: "Petr", store.LastNameKey: "Dvořák",
		store.ANIKey: "+33222000", store.DNISKey: "8001", store.CallTypeKey: "Outbound",
		store.ConnIDKey: "006502a8c4e1b002", store.TenantKey: "Acme", "GEN_USR_Account": "ACME-43",
		"GEN_USR_Note": "100%_sure",
	})
	s2.RecordedDN, s2.OtherDN = "7002", "+33222000"
	s3 := searchRec("s3", min(2), 60_000, map[string]string{
		store.AgentIDKey: "agent01", store.UserNameKey: "jnova",
		store.ANIKey: "+33111999", store.DNISKey: "8000", store.CallTypeKey: "Inbound",
		store.TenantKey: "Globex", "GEN_USR_Note": "100 percent",
	})
	s3.RecordedDN, s3.OtherDN = "7003", "+33111999"
	// The connection id only in a couple (after a transfer, say).
	s3.Couples = []store.Couple{
		{StartMS: 0, EndMS: 1000, ThisDN: "7003", ConnID: "0000000000000001"},
		{StartMS: 1000, EndMS: 60_000, ThisDN: "7003", ConnID: "00AABBCCDDEEFF03"},
	}
	s4 := searchRec("s4", min(3), 0, nil)
	s4.Status, s4.RecordedDN = store.StatusRecording, "7004"
	s5 := searchRec("s5", min(4), 45_000, map[string]string{
		store.AgentIDKey: "AGENT05", store.UserNameKey: "a_b",
		store.ANIKey: "+33555000", store.DNISKey: "8_00", store.CallTypeKey: "Consult",
		store.TenantKey: "Acme", "GEN_USR_Note": "100x_sure",
	})
	s5.RecordedDN, s5.OtherDN = "7005", "+33555000"
	s6 := searchRec("s6", min(5), 20_000, map[string]string{
		store.UserNameKey: "axb", store.ANIKey: "+33%6001", store.CallTypeKey: "Internal", store.TenantKey: "Globex",
	})
	s6.RecordedDN, s6.OtherDN = "7006", "+33666001"
	for _, r := range []*store.Recording{s1, s2, s3, s4, s5, s6} {
		create(t, s, r)
	}
	all := []string{"s6", "s5", "s4", "s3", "s2", "s1"}
	tests := []struct {
		name string
		f    store.Filter
		want []string
	}{
		{"none", store.Filter{}, all},
		{"min duration inclusive", store.Filter{MinDurationMS: 30_000}, []string{"s5", "s3", "s2"}},
		{"max duration inclusive", store.Filter{MaxDurationMS: 20_000}, []string{"s6", "s4", "s1"}},
		{"duration range", store.Filter{MinDurationMS: 20_000, MaxDurationMS: 45_000}, []string{"s6", "s5", "s2"}},
		{"duration exact", store.Filter{MinDurationMS: 60_000, MaxDurationMS: 60_000}, []string{"s3"}},

		{"agent id", store.Filter{Agent: "agent01"}, []string{"s3", "s1"}},
		{"agent id other case", store.Filter{Agent: "AGENT01"}, []string{"s3", "s1"}},
		{"agent user name", store.Filter{Agent: "JNova"}, []string{"s3", "s1"}},
		{"agent employee id", store.Filter{Agent: "e1"}, []string{"s1"}},
		{"agent full name", store.Filter{Agent: "jana nová"}, []string{"s1"}},
		{"agent first name", store.Filter{Agent: "petr"}, []string{"s2"}},
		{"agent last name", store.Filter{Agent: "nová"}, []string{"s1"}},
		{"agent prefix", store.Filter{Agent: "agent0*"}, []string{"s5", "s3", "s2", "s1"}},
		{"agent suffix", store.Filter{Agent: "*dvořák"}, []string{"s2"}},
		{"agent infix", store.Filter{Agent: "*a N*"}, []string{"s1"}},
		{"agent any", store.Filter{Agent: "*"}, []string{"s6", "s5", "s3", "s2", "s1"}},
		{"agent no prefix match", store.Filter{Agent: "agent0"}, nil},
		{"agent literal underscore", store.Filter{Agent: "a_*"}, []string{"s5"}},

		{"ani exact", store.Filter{ANI: "+33111000"}, []string{"s1"}},
		{"ani prefix", store.Filter{ANI: "+33111*"}, []string{"s3", "s1"}},
		{"ani suffix", store.Filter{ANI: "*000"}, []string{"s5", "s2", "s1"}},
		{"ani literal percent", store.Filter{ANI: "+33%*"}, []string{"s6"}},
		{"ani no prefix match", store.Filter{ANI: "+33111"}, nil},
		{"dnis", store.Filter{DNIS: "8000"}, []string{"s3", "s1"}},
		{"dnis literal underscore", store.Filter{DNIS: "8_0*"}, []string{"s5"}},
		{"dnis pattern", store.Filter{DNIS: "80*"}, []string{"s3", "s2", "s1"}},

		{"conn id external data", store.Filter{ConnID: "006502a8c4e1b002"}, []string{"s2"}},
		{"conn id both, other case", store.Filter{ConnID: "006502A8C4E1B001"}, []string{"s1"}},
		{"conn id couple only", store.Filter{ConnID: "00aabbccddeeff03"}, []string{"s3"}},
		{"conn id first couple", store.Filter{ConnID: "0000000000000001"}, []string{"s3"}},
		{"conn id no wildcard", store.Filter{ConnID: "006502a8c4e1b00*"}, nil},

		{"direction", store.Filter{Direction: "inbound"}, []string{"s3", "s1"}},
		{"direction upper", store.Filter{Direction: "OUTBOUND"}, []string{"s2"}},
		{"direction consult", store.Filter{Direction: "Consult"}, []string{"s5"}},
		{"direction no wildcard", store.Filter{Direction: "in*"}, nil},

		{"external pattern", store.Filter{External: kvs("GEN_USR_Account", "acme-4*")}, []string{"s2", "s1"}},
		{"external every pair", store.Filter{External: kvs("GEN_USR_Account", "ACME-42", store.TenantKey, "acme")}, []string{"s1"}},
		{"external pairs disagree", store.Filter{External: kvs("GEN_USR_Account", "ACME-42", store.TenantKey, "globex")}, nil},
		{"external key exact", store.Filter{External: kvs("gen_usr_account", "ACME-42")}, nil},
		{"external suffix", store.Filter{External: kvs("GEN_USR_Note", "*sure")}, []string{"s5", "s2"}},
		{"external literal percent", store.Filter{External: kvs("GEN_USR_Note", "100%*")}, []string{"s2"}},
		{"external any value", store.Filter{External: kvs("GEN_USR_Note", "*")}, []string{"s5", "s3", "s2"}},

		{"dn exact", store.Filter{DN: "7001"}, []string{"s1"}},
		{"dn exact other", store.Filter{DN: "+33222000"}, []string{"s2"}},
		{"dn no prefix match", store.Filter{DN: "700"}, nil},
		{"dn prefix", store.Filter{DN: "700*"}, []string{"s6", "s5", "s4", "s3", "s2", "s1"}},
		{"dn suffix other", store.Filter{DN: "*000"}, []string{"s5", "s2", "s1"}},
		{"dn infix", store.Filter{DN: "*111*"}, []string{"s3", "s1"}},

		{"tenant and agent", store.Filter{Tenant: "globex", Agent: "agent01"}, []string{"s3"}},
		{"numbers, direction, duration", store.Filter{ANI: "+33111*", DNIS: "8000", Direction: "inbound", MinDurationMS: 30_000}, []string{"s3"}},
		{"tenant, direction, agent", store.Filter{Tenant: "ACME", Direction: "consult", Agent: "A_B"}, []string{"s5"}},
		{"status and agent", store.Filter{Status: store.StatusRecording, Agent: "*"}, nil},
		{"status recording", store.Filter{Status: store.StatusRecording, DN: "7*"}, []string{"s4"}},
		{"range and external", store.Filter{Since: min(1), Until: min(5), External: kvs("GEN_USR_Note", "*")}, []string{"s5", "s3", "s2"}},
		{"conn id and agent", store.Filter{ConnID: "00aabbccddeeff03", Agent: "jnova", Tenant: "Globex"}, []string{"s3"}},
		{"conn id and wrong tenant", store.Filter{ConnID: "00aabbccddeeff03", Tenant: "Acme"}, nil},
		{"dn and duration", store.Filter{DN: "700*", MaxDurationMS: 10_000}, []string{"s4", "s1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkSearch(t, s, tt.f, tt.want) })
	}
	// A limit cuts the page; the count does not change.
	t.Run("limit", func(t *testing.T) {
		f := store.Filter{ANI: "*", Limit: 2}
		page, err := s.SearchRecordings(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		if got := recIDs(page.Items); !reflect.DeepEqual(got, []string{"s6", "s5"}) || page.NextCursor == "" {
			t.Errorf("SearchRecordings(%+v) = %v next %q, want [s6 s5] and a next cursor", f, got, page.NextCursor)
		}
		if n, err := s.CountRecordings(context.Background(), f); err != nil || n != 5 {
			t.Errorf("CountRecordings(%+v) = %d, %v; want 5 (limit ignored)", f, n, err)
		}
	})
	// Items carry their children, as ListRecordings' do.
	t.Run("children", func(t *testing.T) {
		page, err := s.SearchRecordings(context.Background(), store.Filter{ConnID: "00aabbccddeeff03"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 1 {
			t.Fatalf("got %d items, want 1", len(page.Items))
		}
		mustEqual(t, "search item", page.Items[0], *s3)
	})
}

// testSearchPatternsLiteral checks that only '*' is a wildcard: the
// wildcards of SQL LIKE ('%', '_') and GLOB ('?', '[...]') and the LIKE
// escape '\' in the user's text match themselves.
func testSearchPatternsLiteral(t *testing.T, s Store) {
	values := []string{"100%", "100%_sure", "1000", "100x", "100_", `a\b`, "A_B_c", "a?b", "[ab]"}
	dns := []string{"70_1", "7%01", "7?01", "7[0]1", "7001", `7\01`, "SIP-Alice"}
	for i, v := range values {
		create(t, s, searchRec(fmt.Sprintf("v%d", i), base.Add(time.Duration(-i)*time.Minute), 1000,
			map[string]string{"GEN_USR_Code": v, store.ANIKey: v}))
	}
	for i, dn := range dns {
		r := searchRec(fmt.Sprintf("d%d", i), base.Add(time.Duration(-i)*time.Minute-time.Hour), 1000, nil)
		r.RecordedDN = dn
		create(t, s, r)
	}
	// v0 is the newest value, d0 the newest DN.
	pick := func(prefix string, idx ...int) []string {
		var out []string
		for _, i := range idx {
			out = append(out, fmt.Sprintf("%s%d", prefix, i))
		}
		return out
	}
	tests := []struct {
		pattern string
		want    []int // indexes into values
	}{
		{"100%", []int{0}},
		{"100%*", []int{0, 1}},
		{"*%", []int{0}},
		{"100_", []int{4}},
		{"100_*", []int{4}},
		{"*_*", []int{1, 4, 6}},
		{`a\b`, []int{5}},
		{`a\*`, []int{5}},
		{`*\*`, []int{5}},
		{"a_b*", []int{6}},
		{"1*0", []int{2}},
		{"a?b", []int{7}},
		{"a?*", []int{7}},
		{"[ab]", []int{8}},
		{"[a*", []int{8}},
		{"*", []int{0, 1, 2, 3, 4, 5, 6, 7, 8}},
		{"**", []int{0, 1, 2, 3, 4, 5, 6, 7, 8}},
		{"10*0", []int{2}},
	}
	for _, tt := range tests {
		t.Run("external "+tt.pattern, func(t *testing.T) {
			checkSearch(t, s, store.Filter{External: kvs("GEN_USR_Code", tt.pattern)}, pick("v", tt.want...))
		})
		t.Run("ani "+tt.pattern, func(t *testing.T) {
			checkSearch(t, s, store.Filter{ANI: tt.pattern}, pick("v", tt.want...))
		})
	}
	dnTests := []struct {
		pattern string
		want    []int // indexes into dns
	}{
		{"70_1", []int{0}},
		{"70_*", []int{0}},
		{"7%*", []int{1}},
		{"7?01", []int{2}},
		{"7?*", []int{2}},
		{"7[0]1", []int{3}},
		{"7[*", []int{3}},
		{`7\*`, []int{5}},
		{"7*1", []int{0, 1, 2, 3, 4, 5}},
		{"SIP-Ali*", []int{6}},
		{"sip-ali*", nil}, // DN is case-sensitive
		{"7*", []int{0, 1, 2, 3, 4, 5}},
	}
	for _, tt := range dnTests {
		t.Run("dn "+tt.pattern, func(t *testing.T) {
			checkSearch(t, s, store.Filter{DN: tt.pattern}, pick("d", tt.want...))
		})
	}
}

func testSearchOwnerAgent(t *testing.T, s Store) {
	min := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	for _, r := range []*store.Recording{
		searchRec("o1", min(0), 1000, map[string]string{store.AgentIDKey: "agent01", store.TenantKey: "Acme"}),
		searchRec("o2", min(1), 1000, map[string]string{store.UserNameKey: "AGENT01", store.TenantKey: "Globex"}),
		searchRec("o3", min(2), 1000, map[string]string{store.AgentIDKey: "agent02", store.UserNameKey: "agent01x",
			store.FirstNameKey: "agent01", store.EmployeeIDKey: "agent01", store.TenantKey: "Acme"}),
		searchRec("o4", min(3), 1000, map[string]string{store.AgentIDKey: "agent%1", store.TenantKey: "Acme"}),
		searchRec("o5", min(4), 1000, nil),
		searchRec("o6", min(5), 1000, map[string]string{"GEN_USR_Owner": "agent01", store.TenantKey: "Acme"}),
	} {
		create(t, s, r)
	}
	tests := []struct {
		name string
		f    store.Filter
		want []string
	}{
		{"agent id or user name", store.Filter{OwnerAgent: "agent01"}, []string{"o2", "o1"}},
		{"ignores case", store.Filter{OwnerAgent: "Agent01"}, []string{"o2", "o1"}},
		{"no wildcard", store.Filter{OwnerAgent: "agent0*"}, nil},
		{"star alone", store.Filter{OwnerAgent: "*"}, nil},
		{"underscore literal", store.Filter{OwnerAgent: "agent_1"}, nil},
		{"percent literal", store.Filter{OwnerAgent: "agent%"}, nil},
		{"percent value", store.Filter{OwnerAgent: "agent%1"}, []string{"o4"}},
		{"agent id only", store.Filter{OwnerAgent: "agent02"}, []string{"o3"}},
		{"unknown agent", store.Filter{OwnerAgent: "nobody"}, nil},
		{"with tenant", store.Filter{OwnerAgent: "agent01", Tenant: "acme"}, []string{"o1"}},
		{"with other tenant", store.Filter{OwnerAgent: "agent01", Tenant: "GLOBEX"}, []string{"o2"}},
		{"with tenant, no match", store.Filter{OwnerAgent: "agent02", Tenant: "globex"}, nil},
		// The restriction is ANDed with the search: an agent searching for
		// another agent finds only recordings that are its own too.
		{"search other agent", store.Filter{OwnerAgent: "agent01", Agent: "agent02"}, nil},
		{"search by first name", store.Filter{OwnerAgent: "agent02", Agent: "agent01"}, []string{"o3"}},
		{"search wildcard", store.Filter{OwnerAgent: "agent01", Agent: "*"}, []string{"o2", "o1"}},
		{"external data cannot widen", store.Filter{OwnerAgent: "agent01", External: kvs("GEN_USR_Owner", "agent01")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkSearch(t, s, tt.f, tt.want) })
	}
	// Every page of a restricted walk holds only the agent's recordings.
	for _, sort := range allSorts {
		t.Run("pages "+string(sort), func(t *testing.T) {
			f := store.Filter{OwnerAgent: "AGENT01", Sort: sort, Limit: 1}
			got := walkPages(t, s, f)
			slices.Sort(got)
			if want := []string{"o1", "o2"}; !reflect.DeepEqual(got, want) {
				t.Errorf("pages of %+v hold %v, want %v", f, got, want)
			}
		})
	}
}

var allSorts = []store.Sort{"", store.SortStartedDesc, store.SortStartedAsc, store.SortDurationDesc, store.SortDurationAsc}

// walkPages follows f's cursors from the first page to the last and
// returns every id in page order. It checks that only the last page is
// short and that no page is empty unless the whole result is.
func walkPages(t *testing.T, s Store, f store.Filter) []string {
	t.Helper()
	var ids []string
	f.Cursor = ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("walk of %+v: more than 1000 pages", f)
		}
		page, err := s.SearchRecordings(context.Background(), f)
		if err != nil {
			t.Fatalf("SearchRecordings(%+v): %v", f, err)
		}
		if len(page.Items) > f.EffectiveLimit() {
			t.Fatalf("page of %d items, limit %d", len(page.Items), f.EffectiveLimit())
		}
		if page.NextCursor != "" && len(page.Items) < f.EffectiveLimit() {
			t.Fatalf("short page (%d of %d) with a next cursor", len(page.Items), f.EffectiveLimit())
		}
		if len(page.Items) == 0 && pages > 0 {
			t.Fatalf("walk of %+v: empty page %d", f, pages)
		}
		ids = append(ids, recIDs(page.Items)...)
		if page.NextCursor == "" {
			return ids
		}
		f.Cursor = page.NextCursor
	}
}

// sortRecordings orders rs as a store must for sort: by StartedAt (a zero
// time is before every other) or DurationMS, ties by ID, both in the
// sort's direction.
func sortRecordings(rs []*store.Recording, sort store.Sort) []string {
	sort = sort.Normal()
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b *store.Recording) int {
		var c int
		if sort.ByDuration() {
			c = cmp.Compare(a.DurationMS, b.DurationMS)
		} else {
			c = a.StartedAt.Compare(b.StartedAt)
		}
		if c == 0 {
			c = strings.Compare(a.ID, b.ID)
		}
		if sort.Desc() {
			c = -c
		}
		return c
	})
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	return ids
}

func testSearchPagination(t *testing.T, s Store) {
	const n = 25
	var recs []*store.Recording
	for i := range n {
		// Ids in another order than creation; five start times and four
		// durations shared by many recordings; some without a start time.
		id := fmt.Sprintf("p%02d", (i*7)%n)
		started := base.Add(time.Duration(i%5) * time.Minute)
		if i%8 == 3 {
			started = time.Time{}
		}
		tenant := "Acme"
		if i%3 == 0 {
			tenant = "Globex"
		}
		r := searchRec(id, started, int64(i%4)*1000, map[string]string{store.TenantKey: tenant})
		create(t, s, r)
		recs = append(recs, r)
	}
	filters := []struct {
		name string
		f    store.Filter
		keep func(*store.Recording) bool
	}{
		{"all", store.Filter{}, func(*store.Recording) bool { return true }},
		{"tenant", store.Filter{Tenant: "acme"}, func(r *store.Recording) bool { return r.ExternalData[store.TenantKey] == "Acme" }},
		{"duration", store.Filter{MinDurationMS: 1000, MaxDurationMS: 2000},
			func(r *store.Recording) bool { return r.DurationMS >= 1000 && r.DurationMS <= 2000 }},
	}
	for _, ft := range filters {
		var match []*store.Recording
		for _, r := range recs {
			if ft.keep(r) {
				match = append(match, r)
			}
		}
		for _, sort := range allSorts {
			want := sortRecordings(match, sort)
			for _, limit := range []int{1, 2, 3, 7, len(match) - 1, len(match), len(match) + 1} {
				f := ft.f
				f.Sort, f.Limit = sort, limit
				t.Run(fmt.Sprintf("%s/%q/limit %d", ft.name, sort, limit), func(t *testing.T) {
					got := walkPages(t, s, f)
					if !reflect.DeepEqual(got, want) {
						t.Errorf("pages of %+v = %v, want %v", f, got, want)
					}
					count, err := s.CountRecordings(context.Background(), f)
					if err != nil {
						t.Fatal(err)
					}
					if count != len(got) {
						t.Errorf("CountRecordings = %d, pages hold %d", count, len(got))
					}
					list, err := s.ListRecordings(context.Background(), store.Filter{Tenant: f.Tenant,
						MinDurationMS: f.MinDurationMS, MaxDurationMS: f.MaxDurationMS, Sort: sort})
					if err != nil {
						t.Fatal(err)
					}
					if got := recIDs(list); !reflect.DeepEqual(got, want) {
						t.Errorf("ListRecordings in sort %q = %v, want %v", sort, got, want)
					}
				})
			}
		}
	}
	// A cursor of the default sort is a cursor of "-started_at".
	t.Run("default sort cursor", func(t *testing.T) {
		ctx := context.Background()
		p1, err := s.SearchRecordings(ctx, store.Filter{Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		p2, err := s.SearchRecordings(ctx, store.Filter{Limit: 5, Sort: store.SortStartedDesc, Cursor: p1.NextCursor})
		if err != nil {
			t.Fatal(err)
		}
		if want := sortRecordings(recs, "")[5:10]; !reflect.DeepEqual(recIDs(p2.Items), want) {
			t.Errorf("second page = %v, want %v", recIDs(p2.Items), want)
		}
	})
}

// Pages are keyset pages: recordings created or deleted between two
// requests do not shift the pages that follow, even when the recording a
// cursor points at is gone.
func testSearchPaginationStable(t *testing.T, s Store) {
	ctx := context.Background()
	min := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	for _, tt := range []struct {
		sort        store.Sort
		first, rest []string
		before      *store.Recording // sorts before the cursor: never seen
		after       *store.Recording // sorts after it: seen in the rest
		gone        string           // deleted: the cursor's own recording
	}{
		{store.SortStartedDesc, []string{"m5", "m4"}, []string{"m3", "new", "m2", "m1", "m0"},
			searchRec("top", min(100), 1, nil), searchRec("new", min(25), 1, nil), "m4"},
		{store.SortDurationAsc, []string{"m0", "m1"}, []string{"m2", "new", "m3", "m4", "m5"},
			searchRec("low", min(1), 5, nil), searchRec("new", min(1), 25, nil), "m1"},
	} {
		t.Run(string(tt.sort), func(t *testing.T) {
			// Each case in its own tenant.
			tenant := string(tt.sort)
			for _, r := range []*store.Recording{tt.before, tt.after} {
				r.ID = tenant + "/" + r.ID
				r.ExternalData = map[string]string{store.TenantKey: tenant}
			}
			for i := range 6 {
				create(t, s, searchRec(fmt.Sprintf("%s/m%d", tenant, i), min(10*i), int64(10*i),
					map[string]string{store.TenantKey: tenant}))
			}
			ids := func(rs []store.Recording) []string {
				var out []string
				for _, id := range recIDs(rs) {
					out = append(out, strings.TrimPrefix(id, tenant+"/"))
				}
				return out
			}
			f := store.Filter{Tenant: tenant, Sort: tt.sort, Limit: 2}
			p1, err := s.SearchRecordings(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(p1.Items); !reflect.DeepEqual(got, tt.first) {
				t.Fatalf("first page = %v, want %v", got, tt.first)
			}
			create(t, s, tt.before)
			create(t, s, tt.after)
			if err := s.DeleteRecording(ctx, store.Deletion{RecordingID: tenant + "/" + tt.gone, Reason: "test"}); err != nil {
				t.Fatal(err)
			}
			var rest []string
			for f.Cursor = p1.NextCursor; f.Cursor != ""; {
				p, err := s.SearchRecordings(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				rest = append(rest, ids(p.Items)...)
				f.Cursor = p.NextCursor
			}
			if !reflect.DeepEqual(rest, tt.rest) {
				t.Errorf("pages after the first = %v, want %v", rest, tt.rest)
			}
		})
	}
}

func testSearchInvalid(t *testing.T, s Store) {
	ctx := context.Background()
	for i := range 3 {
		create(t, s, searchRec(fmt.Sprintf("i%d", i), base.Add(time.Duration(i)*time.Minute), int64(i), nil))
	}
	cursorOf := func(sort store.Sort) string {
		p, err := s.SearchRecordings(ctx, store.Filter{Sort: sort, Limit: 1})
		if err != nil || p.NextCursor == "" {
			t.Fatalf("SearchRecordings(sort %q, limit 1) = next %q, %v", sort, p.NextCursor, err)
		}
		return p.NextCursor
	}
	started, duration := cursorOf(store.SortStartedDesc), cursorOf(store.SortDurationDesc)
	tests := []struct {
		name      string
		f         store.Filter
		countToo  bool // CountRecordings ignores Sort and Cursor only
		wantCount int
	}{
		{"negative min duration", store.Filter{MinDurationMS: -1}, true, 0},
		{"negative max duration", store.Filter{MaxDurationMS: -5}, true, 0},
		{"min above max", store.Filter{MinDurationMS: 10, MaxDurationMS: 5}, true, 0},
		{"external empty key", store.Filter{External: kvs("", "x")}, true, 0},
		{"external empty value", store.Filter{External: kvs("GEN_USR_A", "a", "GEN_USR_B", "")}, true, 0},
		{"unknown retention", store.Filter{Retention: "maybe"}, true, 0},
		{"unknown sort", store.Filter{Sort: "newest"}, false, 3},
		{"garbage cursor", store.Filter{Cursor: "garbage!"}, false, 3},
		{"base64 garbage cursor", store.Filter{Cursor: "Z2FyYmFnZQ"}, false, 3},
		{"truncated cursor", store.Filter{Cursor: started[:len(started)-3]}, false, 3},
		{"started cursor, duration sort", store.Filter{Sort: store.SortDurationDesc, Cursor: started}, false, 3},
		{"started desc cursor, asc sort", store.Filter{Sort: store.SortStartedAsc, Cursor: started}, false, 3},
		{"duration cursor, default sort", store.Filter{Cursor: duration}, false, 3},
		{"duration desc cursor, asc sort", store.Filter{Sort: store.SortDurationAsc, Cursor: duration}, false, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.SearchRecordings(ctx, tt.f); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("SearchRecordings(%+v) = %v, want ErrInvalid", tt.f, err)
			}
			if _, err := s.ListRecordings(ctx, tt.f); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("ListRecordings(%+v) = %v, want ErrInvalid", tt.f, err)
			}
			n, err := s.CountRecordings(ctx, tt.f)
			if tt.countToo {
				if !errors.Is(err, store.ErrInvalid) {
					t.Errorf("CountRecordings(%+v) = %d, %v; want ErrInvalid", tt.f, n, err)
				}
			} else if err != nil || n != tt.wantCount {
				t.Errorf("CountRecordings(%+v) = %d, %v; want %d (sort and cursor ignored)", tt.f, n, err, tt.wantCount)
			}
		})
	}
}

package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
)

func TestPatterns(t *testing.T) {
	tests := []struct{ in, like, glob string }{
		{"7001", "7001", "7001"},
		{"70*", "70%", "70*"},
		{"*a*b*", "%a%b%", "*a*b*"},
		{"100%_x*", `100\%\_x%`, "100%_x*"},
		{`a\b*`, `a\\b%`, `a\b*`},
		{"a?[b]*", "a?[b]%", "a[?][[]b]*"},
		{"Nová*", "Nová%", "Nová*"},
	}
	for _, tt := range tests {
		if got := likePattern(tt.in); got != tt.like {
			t.Errorf("likePattern(%q) = %q, want %q", tt.in, got, tt.like)
		}
		if got := globPattern(tt.in); got != tt.glob {
			t.Errorf("globPattern(%q) = %q, want %q", tt.in, got, tt.glob)
		}
	}
}

// TestSearchPlans pins the query plans migration 0004 was made for, so a
// change of query or SQLite version that loses them fails here: pages in
// any order walk an index (no sort of the whole result), a tenant or
// direction is checked row by row on that walk, and searches by agent,
// number or connection id start from the NOCASE value indexes.
func TestSearchPlans(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "openrec.db"))
	cursor := func(s store.Sort, r store.Recording) string { return store.CursorAfter(s, r).String() }
	r := store.Recording{ID: "01J", StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), DurationMS: 5}
	tests := []struct {
		name     string
		f        store.Filter
		want     []string // in the plan
		dontWant []string
	}{
		{"default order", store.Filter{}, []string{"recordings_started_id"}, []string{"TEMP B-TREE"}},
		{"started asc page 2", store.Filter{Sort: store.SortStartedAsc, Cursor: cursor(store.SortStartedAsc, r)},
			[]string{"recordings_started_id"}, []string{"TEMP B-TREE"}},
		{"duration desc", store.Filter{Sort: store.SortDurationDesc}, []string{"recordings_duration_id"}, []string{"TEMP B-TREE"}},
		{"duration asc page 2", store.Filter{Sort: store.SortDurationAsc, Cursor: cursor(store.SortDurationAsc, r)},
			[]string{"recordings_duration_id"}, []string{"TEMP B-TREE"}},
		{"tenant", store.Filter{Tenant: "Acme"}, []string{"recordings_started_id"}, []string{"TEMP B-TREE"}},
		{"tenant and direction", store.Filter{Tenant: "Acme", Direction: "Inbound"}, []string{"recordings_started_id"}, []string{"TEMP B-TREE"}},
		{"owner agent", store.Filter{Tenant: "Acme", OwnerAgent: "agent01"}, []string{"external_data_key_value_nocase"}, nil},
		{"agent", store.Filter{Agent: "agent01"}, []string{"external_data_key_value_nocase (key=? AND value=?)"}, nil},
		{"agent prefix", store.Filter{Agent: "agent0*"}, []string{"external_data_key_value_nocase (key=? AND value>? AND value<?)"}, nil},
		{"ani prefix", store.Filter{ANI: "+33111*"}, []string{"external_data_key_value_nocase (key=? AND value>? AND value<?)"}, nil},
		{"external", store.Filter{External: []store.KV{{Key: "GEN_USR_Account", Value: "ACME-42"}}}, []string{"external_data_key_value_nocase"}, nil},
		{"conn id", store.Filter{ConnID: "006502a8c4e1b001"}, []string{"external_data_key_value_nocase", "couples_conn_id_nocase"}, nil},
		{"dn prefix", store.Filter{DN: "70*"}, []string{"recordings_recorded_dn", "recordings_other_dn"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sq, err := buildSearch(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := db.sql.Query(`EXPLAIN QUERY PLAN `+sq.query, sq.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			all := strings.Join(plan, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("plan lacks %q:\n%s", w, all)
				}
			}
			for _, w := range tt.dontWant {
				if strings.Contains(all, w) {
					t.Errorf("plan has %q:\n%s", w, all)
				}
			}
		})
	}
}

// A database created before 0004 is upgraded in place: its recordings are
// found by the new filters and walked in pages (the indexes cover old rows).
func TestMigrateFrom0003(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "openrec.db")
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	var upTo3 []migration
	for _, m := range ms {
		if m.version <= 3 {
			upTo3 = append(upTo3, m)
		}
	}
	old, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, old, upTo3, time.Now); err != nil {
		t.Fatal(err)
	}
	const at = `'2026-01-02T03:04:05.000000000Z'`
	for _, q := range []string{
		`INSERT INTO recordings (id, mode, status, started_at, duration_ms, created_at, updated_at) VALUES
			('a', 'msr', 'completed', '2026-01-02T03:04:05.000000000Z', 1000, ` + at + `, ` + at + `),
			('b', 'msr', 'completed', NULL, 3000, ` + at + `, ` + at + `),
			('c', 'msr', 'completed', '2026-01-02T03:04:06.000000000Z', 2000, ` + at + `, ` + at + `)`,
		`INSERT INTO external_data (recording_id, key, value) VALUES ('a', 'GEN_TEV_AgentID', 'Agent01'), ('c', 'GEN_TEV_AgentID', 'agent02')`,
		`INSERT INTO couples (recording_id, pos, start_ms, end_ms, conn_id) VALUES ('c', 0, 0, 2000, '00AB')`,
	} {
		if _, err := old.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db := open(t, path)
	for _, tt := range []struct {
		f    store.Filter
		want string
	}{
		{store.Filter{Agent: "AGENT0*"}, "c,a"},
		{store.Filter{ConnID: "00ab"}, "c"},
		{store.Filter{Limit: 1}, "c,a,b"},
		{store.Filter{Limit: 1, Sort: store.SortStartedAsc}, "b,a,c"},
		{store.Filter{Limit: 2, Sort: store.SortDurationDesc}, "b,c,a"},
	} {
		var got []string
		f := tt.f
		for {
			p, err := db.SearchRecordings(ctx, f)
			if err != nil {
				t.Fatalf("SearchRecordings(%+v): %v", f, err)
			}
			for _, r := range p.Items {
				got = append(got, r.ID)
			}
			if f.Cursor = p.NextCursor; f.Cursor == "" {
				break
			}
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("after upgrade, %+v finds %v, want %s", tt.f, got, tt.want)
		}
	}
}

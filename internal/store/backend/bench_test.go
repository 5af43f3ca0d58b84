package backend

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool/pgtest"
)

// Insert and search on both stores. Run:
//
//	go test -run '^$' -bench . -benchtime 2000x ./internal/store/backend/
//
// BENCHMARKS.md has the figures.

var benchT0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

// benchRecording is a typical finished MSR recording: two parties, one
// segment, one couple, three events, eight external data pairs.
func benchRecording(i int) *store.Recording {
	return &store.Recording{
		ID: fmt.Sprintf("bench-%08d", i), Mode: store.ModeMSR, Status: store.StatusCompleted,
		CallUUID: fmt.Sprintf("CALL%012d", i/2), RecordID: fmt.Sprint(i), SIPCallIDs: []string{fmt.Sprintf("%d@sip", i)},
		RecordedDN: fmt.Sprintf("5%03d", i%1000), OtherDN: fmt.Sprintf("+4930%06d", i),
		Parties:   []store.Party{{Channel: 0, Role: store.RoleRecorded, DN: "5001"}, {Channel: 1, Role: store.RoleOther, DN: "+4930"}},
		StartedAt: benchT0.Add(time.Duration(i) * time.Second), EndedAt: benchT0.Add(time.Duration(i)*time.Second + time.Minute),
		DurationMS: 60000 + int64(i%600)*100, Channels: 2, Codecs: []string{"PCMU"}, Format: "ulaw",
		MediaPath: fmt.Sprintf("media/2026/12/01/bench-%08d.wav", i), SizeBytes: 960000,
		Segments: []store.Segment{{Type: store.SegmentRecording, Channel: store.AllChannels, EndMS: 60000}},
		Couples:  []store.Couple{{EndMS: -1, ThisDN: "5001", ConnID: fmt.Sprintf("%016x", i)}},
		Events:   []store.Event{{Type: "dtmf", AtMS: 1000, Detail: "1"}, {Type: "reinvite", AtMS: 2000}, {Type: "bye", AtMS: 60000}},
		ExternalData: map[string]string{
			store.TenantKey: fmt.Sprintf("Tenant%d", i%4), store.AgentIDKey: fmt.Sprintf("agent%04d", i%500),
			store.UserNameKey: fmt.Sprintf("user%04d", i%500), store.ANIKey: fmt.Sprintf("+4930%06d", i),
			store.DNISKey: "8001", store.ConnIDKey: fmt.Sprintf("%016x", i), store.CallTypeKey: "Inbound", "GEN_CFG_Queue": "sales",
		},
	}
}

// analyze refreshes the PostgreSQL planner's statistics after the bulk
// fill, as autovacuum would soon after (it did not run yet here).
func analyze(b *testing.B) {
	b.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, benchPG)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
}

// benchPG is the URL of the newest PostgreSQL store of benchStores.
var benchPG string

// benchStores returns a fresh store of each kind (PostgreSQL skipped
// without a server).
func benchStores(b *testing.B) map[string]Store {
	b.Helper()
	ctx := context.Background()
	out := map[string]Store{}
	benchPG = pgtest.NewDatabase(b)
	for name, url := range map[string]string{
		"sqlite":   "sqlite:" + filepath.Join(b.TempDir(), "openrec.db"),
		"postgres": benchPG,
	} {
		s, err := Open(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		out[name] = s
	}
	return out
}

// fillBench writes recordings 0..n-1 with 4 writers (several recorder
// processes, or one recorder's calls ending at once).
func fillBench(b *testing.B, s Store, n int) {
	b.Helper()
	var wg sync.WaitGroup
	const writers = 4
	for w := range writers {
		wg.Go(func() {
			for i := w; i < n; i += writers {
				if err := s.CreateRecording(context.Background(), benchRecording(i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkCreateRecording(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			s := benchStores(b)[name]
			ctx := context.Background()
			i := 0
			for b.Loop() {
				if err := s.CreateRecording(ctx, benchRecording(i)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkSearch: one page of 50 at N stored recordings, the searches of
// the web UI: the newest of a tenant, an agent (a pattern), a number, the
// next page of a tenant's list, and a count.
func BenchmarkSearch(b *testing.B) {
	const n = 20000
	for _, name := range []string{"sqlite", "postgres"} {
		s := benchStores(b)[name]
		fillBench(b, s, n)
		ctx := context.Background()
		if name == "postgres" {
			analyze(b)
		}
		first, err := s.SearchRecordings(ctx, store.Filter{Tenant: "tenant1", Limit: 50})
		if err != nil || first.NextCursor == "" {
			b.Fatal(first.NextCursor, err)
		}
		for _, q := range []struct {
			name  string
			f     store.Filter
			count bool
		}{
			{"tenant-first-page", store.Filter{Tenant: "tenant1", Limit: 50}, false},
			{"tenant-next-page", store.Filter{Tenant: "tenant1", Limit: 50, Cursor: first.NextCursor}, false},
			{"agent-pattern", store.Filter{Agent: "AGENT01*", Limit: 50}, false},
			{"ani-exact", store.Filter{ANI: "+4930012345", Limit: 50}, false},
			{"duration-sort", store.Filter{Sort: store.SortDurationDesc, MinDurationMS: 90000, Limit: 50}, false},
			{"count-tenant", store.Filter{Tenant: "tenant2"}, true},
		} {
			b.Run(fmt.Sprintf("%s/n=%d/%s", name, n, q.name), func(b *testing.B) {
				for b.Loop() {
					var err error
					if q.count {
						_, err = s.CountRecordings(ctx, q.f)
					} else {
						_, err = s.SearchRecordings(ctx, q.f)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

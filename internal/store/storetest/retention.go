package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
)

// Conformance tests of the retention state (pre-recording keep/discard),
// deletions and the tenant / retention filters.

func setRetention(t *testing.T, s Store, id string, r store.Retention, keepUntil time.Time, reason string) {
	t.Helper()
	if err := s.SetRetention(context.Background(), id, r, keepUntil, reason); err != nil {
		t.Fatalf("SetRetention(%s, %q): %v", id, r, err)
	}
}

func stateName(r store.Retention) string {
	if r == store.RetentionNone {
		return "none"
	}
	return string(r)
}

func listIDs(t *testing.T, s Store, f store.Filter) []string {
	t.Helper()
	got, err := s.ListRecordings(context.Background(), f)
	if err != nil {
		t.Fatalf("ListRecordings(%+v): %v", f, err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	return ids
}

func testRetentionRoundTrip(t *testing.T, s Store) {
	ctx := context.Background()
	deadline := base.Add(2 * time.Minute).In(time.FixedZone("EST", -5*3600))
	pending := fullRecording("ret-1", base)
	pending.Retention, pending.KeepUntil, pending.RetentionReason = store.RetentionPending, deadline, `rule "vip" (prerecord)`
	create(t, s, pending)
	got := get(t, s, "ret-1")
	mustEqual(t, "pending round trip", *got, *pending)
	if !got.KeepUntil.Equal(deadline) || got.KeepUntil.Location() != time.UTC {
		t.Errorf("KeepUntil = %v, want %v in UTC", got.KeepUntil, deadline)
	}

	// A pre-recording whose call still runs: deadline not known yet.
	running := &store.Recording{ID: "ret-2", Mode: store.ModeMSR, Status: store.StatusRecording, StartedAt: base.Add(time.Minute),
		Retention: store.RetentionPending, RetentionReason: `rule "vip" (prerecord)`}
	create(t, s, running)
	got = get(t, s, "ret-2")
	mustEqual(t, "pending without deadline", *got, *running)
	if !got.KeepUntil.IsZero() {
		t.Errorf("KeepUntil = %v, want zero (not known yet)", got.KeepUntil)
	}

	// The list returns the same state.
	list, err := s.ListRecordings(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("listed %d recordings, want 2", len(list))
	}
	mustEqual(t, "list[0]", list[0], *running)
	mustEqual(t, "list[1]", list[1], *pending)

	// An unknown retention is refused and stores nothing.
	bad := &store.Recording{ID: "ret-bad", Mode: store.ModeMSR, Status: store.StatusRecording, Retention: "maybe"}
	if err := s.CreateRecording(ctx, bad); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("CreateRecording with retention %q = %v, want ErrInvalid", bad.Retention, err)
	}
	if _, err := s.GetRecording(ctx, "ret-bad"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("refused recording was stored: %v", err)
	}
}

func testSetRetention(t *testing.T, s Store) {
	ctx := context.Background()
	r := fullRecording("set-1", base)
	create(t, s, r)
	deadline := base.Add(5 * time.Minute)
	steps := []struct {
		retention store.Retention
		keepUntil time.Time
		reason    string
	}{
		{store.RetentionPending, time.Time{}, `rule "vip" (prerecord)`},
		{store.RetentionPending, deadline, `rule "vip" (prerecord)`},
		{store.RetentionKept, deadline, "kept by request (cti)"},
		{store.RetentionDiscard, deadline.Add(time.Second), `do-not-record rule "no-ivr"`},
		{store.RetentionNone, time.Time{}, ""},
	}
	for _, st := range steps {
		setRetention(t, s, "set-1", st.retention, st.keepUntil, st.reason)
		got := get(t, s, "set-1")
		want := *r
		want.Retention, want.KeepUntil, want.RetentionReason = st.retention, st.keepUntil, st.reason
		want.UpdatedAt = got.UpdatedAt // only the retention state and updated_at change
		mustEqual(t, fmt.Sprintf("after SetRetention(%q)", st.retention), *got, want)
		if got.UpdatedAt.Before(r.UpdatedAt) {
			t.Errorf("UpdatedAt went back: %v < %v", got.UpdatedAt, r.UpdatedAt)
		}
	}
	if err := s.SetRetention(ctx, "nope", store.RetentionPending, deadline, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetRetention(nope) = %v, want ErrNotFound", err)
	}
	setRetention(t, s, "set-1", store.RetentionPending, deadline, "p")
	if err := s.SetRetention(ctx, "set-1", "later", deadline, "x"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("SetRetention(later) = %v, want ErrInvalid", err)
	}
	if got := get(t, s, "set-1"); got.Retention != store.RetentionPending || got.RetentionReason != "p" {
		t.Errorf("refused SetRetention changed the row to %q (%q)", got.Retention, got.RetentionReason)
	}
}

// The recorder rewrites whole rows when it finalises a recording while the
// CTI side sets the retention state: UpdateRecording must leave it alone.
func testUpdateKeepsRetention(t *testing.T, s Store) {
	ctx := context.Background()
	r := fullRecording("upret-1", base)
	r.Status, r.EndedAt, r.DurationMS = store.StatusRecording, time.Time{}, 0
	create(t, s, r)
	stale := *get(t, s, "upret-1") // the recorder's copy, read before the decision
	deadline := base.Add(3 * time.Minute)
	setRetention(t, s, "upret-1", store.RetentionPending, deadline, `rule "vip" (prerecord)`)

	for _, claimed := range []store.Retention{store.RetentionNone, store.RetentionKept, store.RetentionDiscard} {
		u := stale
		u.Status, u.EndedAt, u.DurationMS = store.StatusCompleted, base.Add(time.Minute), 60000
		u.Retention, u.KeepUntil, u.RetentionReason = claimed, base, "from a stale copy"
		if err := s.UpdateRecording(ctx, &u); err != nil {
			t.Fatalf("UpdateRecording: %v", err)
		}
		if u.Retention != store.RetentionPending || !u.KeepUntil.Equal(deadline) || u.RetentionReason != `rule "vip" (prerecord)` {
			t.Errorf("UpdateRecording wrote back retention %q %v %q, want the stored pending state",
				u.Retention, u.KeepUntil, u.RetentionReason)
		}
		got := get(t, s, "upret-1")
		if got.Status != store.StatusCompleted || got.DurationMS != 60000 {
			t.Errorf("update not applied: %s %d", got.Status, got.DurationMS)
		}
		if got.Retention != store.RetentionPending || !got.KeepUntil.Equal(deadline) || got.RetentionReason != `rule "vip" (prerecord)` {
			t.Errorf("UpdateRecording with retention %q clobbered the state: %q %v %q",
				claimed, got.Retention, got.KeepUntil, got.RetentionReason)
		}
	}
}

func testKeepRules(t *testing.T, s Store) {
	ctx := context.Background()
	deadline := base.Add(time.Minute)
	tests := []struct {
		from       store.Retention
		wantErr    error
		want       store.Retention
		wantReason string
	}{
		{store.RetentionPending, nil, store.RetentionKept, "kept by request (cti)"},
		{store.RetentionKept, nil, store.RetentionKept, "first keep"}, // idempotent: the first reason stays
		{store.RetentionNone, store.ErrNotPending, store.RetentionNone, "before"},
		{store.RetentionDiscard, store.ErrNotPending, store.RetentionDiscard, "before"},
	}
	for i, tt := range tests {
		t.Run("from "+stateName(tt.from), func(t *testing.T) {
			id := fmt.Sprintf("keep-%d", i)
			create(t, s, &store.Recording{ID: id, Mode: store.ModeMSR, Status: store.StatusCompleted, StartedAt: base})
			before := "before"
			if tt.from == store.RetentionKept {
				before = "first keep"
			}
			setRetention(t, s, id, tt.from, deadline, before)
			err := s.KeepRecording(ctx, id, "kept by request (cti)")
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("KeepRecording from %q = %v, want %v", tt.from, err, tt.wantErr)
			}
			got := get(t, s, id)
			if got.Retention != tt.want || got.RetentionReason != tt.wantReason {
				t.Errorf("after keep from %q: %q (%q), want %q (%q)", tt.from, got.Retention, got.RetentionReason, tt.want, tt.wantReason)
			}
			if !got.KeepUntil.Equal(deadline) {
				t.Errorf("KeepUntil = %v, want unchanged %v", got.KeepUntil, deadline)
			}
		})
	}
	if err := s.KeepRecording(ctx, "nope", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("KeepRecording(nope) = %v, want ErrNotFound", err)
	}
}

func testDiscardRules(t *testing.T, s Store) {
	ctx := context.Background()
	deadline := base.Add(time.Minute)
	tests := []struct {
		from         store.Retention
		wantErr      error
		want         store.Retention
		wantReason   string
		markedNow    bool // KeepUntil set to the store's now
		wantDeadline time.Time
	}{
		{store.RetentionPending, nil, store.RetentionDiscard, "not kept", true, time.Time{}},
		{store.RetentionNone, nil, store.RetentionDiscard, "not kept", true, time.Time{}},
		{store.RetentionDiscard, nil, store.RetentionDiscard, "before", false, deadline}, // idempotent
		{store.RetentionKept, store.ErrNotPending, store.RetentionKept, "before", false, deadline},
	}
	for i, tt := range tests {
		t.Run("from "+stateName(tt.from), func(t *testing.T) {
			id := fmt.Sprintf("disc-%d", i)
			create(t, s, &store.Recording{ID: id, Mode: store.ModeMSR, Status: store.StatusCompleted, StartedAt: base})
			setRetention(t, s, id, tt.from, deadline, "before")
			err := s.DiscardRecording(ctx, id, "not kept")
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("DiscardRecording from %q = %v, want %v", tt.from, err, tt.wantErr)
			}
			got := get(t, s, id)
			if got.Retention != tt.want || got.RetentionReason != tt.wantReason {
				t.Errorf("after discard from %q: %q (%q), want %q (%q)", tt.from, got.Retention, got.RetentionReason, tt.want, tt.wantReason)
			}
			if tt.markedNow {
				// Store clock: compare with UpdatedAt, set in the same change.
				if got.KeepUntil.IsZero() || got.KeepUntil.Sub(got.UpdatedAt).Abs() > time.Minute {
					t.Errorf("KeepUntil = %v, want the time of the discard (UpdatedAt %v)", got.KeepUntil, got.UpdatedAt)
				}
			} else if !got.KeepUntil.Equal(tt.wantDeadline) {
				t.Errorf("KeepUntil = %v, want unchanged %v", got.KeepUntil, tt.wantDeadline)
			}
		})
	}
	if err := s.DiscardRecording(ctx, "nope", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DiscardRecording(nope) = %v, want ErrNotFound", err)
	}
	// A discarded recording can no longer be kept.
	if err := s.KeepRecording(ctx, "disc-0", "late"); !errors.Is(err, store.ErrNotPending) {
		t.Errorf("KeepRecording after discard = %v, want ErrNotPending", err)
	}
}

func listDeletions(t *testing.T, s Store, since time.Time, limit int) []store.Deletion {
	t.Helper()
	ds, err := s.ListDeletions(context.Background(), since, limit)
	if err != nil {
		t.Fatalf("ListDeletions(%v, %d): %v", since, limit, err)
	}
	return ds
}

func testDeleteCascadesAndLogs(t *testing.T, s Store) {
	ctx := context.Background()
	r := fullRecording("del-1", base)
	r.Retention, r.KeepUntil, r.RetentionReason = store.RetentionDiscard, base.Add(time.Minute), "not kept"
	create(t, s, r)
	if err := s.AddEvents(ctx, "del-1", store.Event{Type: "bye", AtMS: 95000}); err != nil {
		t.Fatal(err)
	}
	other := fullRecording("del-2", base.Add(time.Minute))
	create(t, s, other)

	if err := s.DeleteRecording(ctx, store.Deletion{RecordingID: "del-1", Reason: "pre-recording not kept"}); err != nil {
		t.Fatalf("DeleteRecording: %v", err)
	}
	if _, err := s.GetRecording(ctx, "del-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetRecording after delete = %v, want ErrNotFound", err)
	}
	if ids := listIDs(t, s, store.Filter{}); !reflect.DeepEqual(ids, []string{"del-2"}) {
		t.Errorf("after delete the list is %v, want [del-2]", ids)
	}
	mustEqual(t, "other recording", *get(t, s, "del-2"), *other)

	ds := listDeletions(t, s, time.Time{}, 0)
	if len(ds) != 1 {
		t.Fatalf("%d deletions logged, want 1", len(ds))
	}
	d := ds[0]
	if d.At.IsZero() {
		t.Error("Deletion.At not set by the store")
	}
	d.At = time.Time{}
	want := store.Deletion{RecordingID: "del-1", CallUUID: r.CallUUID, RecordID: r.RecordID, RecordedDN: r.RecordedDN,
		Tenant: "Environment", MediaPath: r.MediaPath, Reason: "pre-recording not kept", StartedAt: r.StartedAt.UTC()}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("deletion = %+v, want (filled from the row) %+v", d, want)
	}

	// The children went with the row: the id can be reused and starts empty.
	fresh := &store.Recording{ID: "del-1", Mode: store.ModeMSR, Status: store.StatusRecording, StartedAt: base,
		ExternalData: map[string]string{"GEN_CFG_Tenant": "Other"}}
	create(t, s, fresh)
	mustEqual(t, "recreated after delete", *get(t, s, "del-1"), *fresh)

	// Unknown and empty ids: an error, nothing logged.
	if err := s.DeleteRecording(ctx, store.Deletion{RecordingID: "nope", Reason: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteRecording(nope) = %v, want ErrNotFound", err)
	}
	if err := s.DeleteRecording(ctx, store.Deletion{Reason: "x"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("DeleteRecording(empty id) = %v, want ErrInvalid", err)
	}
	if n := len(listDeletions(t, s, time.Time{}, 0)); n != 1 {
		t.Errorf("%d deletions after failed deletes, want 1", n)
	}
}

func testDeleteKeepsCallerFields(t *testing.T, s Store) {
	ctx := context.Background()
	create(t, s, fullRecording("delc-1", base))
	at := base.Add(time.Hour).In(time.FixedZone("CET", 3600))
	in := store.Deletion{RecordingID: "delc-1", CallUUID: "C", RecordID: "R", RecordedDN: "D", Tenant: "T",
		MediaPath: "/m.wav", Reason: `do-not-record rule "no-ivr"`, StartedAt: base.Add(-time.Hour), At: at}
	if err := s.DeleteRecording(ctx, in); err != nil {
		t.Fatal(err)
	}
	ds := listDeletions(t, s, time.Time{}, 0)
	if len(ds) != 1 {
		t.Fatalf("%d deletions, want 1", len(ds))
	}
	want := in
	want.StartedAt, want.At = in.StartedAt.UTC(), at.UTC()
	if !reflect.DeepEqual(ds[0], want) {
		t.Errorf("deletion = %+v, want the caller's %+v", ds[0], want)
	}
}

func testListDeletionsOrder(t *testing.T, s Store) {
	ctx := context.Background()
	if ds := listDeletions(t, s, time.Time{}, 0); len(ds) != 0 {
		t.Fatalf("empty store lists %d deletions", len(ds))
	}
	// Deleted out of order; d3 and d4 at the same instant (d4 logged last).
	at := map[string]time.Time{
		"d1": base.Add(1 * time.Minute), "d2": base.Add(2 * time.Minute), "d0": base,
		"d3": base.Add(3 * time.Minute), "d4": base.Add(3 * time.Minute),
	}
	for _, id := range []string{"d2", "d0", "d3", "d1", "d4"} {
		create(t, s, &store.Recording{ID: id, Mode: store.ModeMSR, Status: store.StatusCompleted, StartedAt: base})
		if err := s.DeleteRecording(ctx, store.Deletion{RecordingID: id, Reason: "r-" + id, At: at[id]}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		since time.Time
		limit int
		want  []string
	}{
		{"all newest first", time.Time{}, 0, []string{"d4", "d3", "d2", "d1", "d0"}},
		{"since inclusive", base.Add(2 * time.Minute), 0, []string{"d4", "d3", "d2"}},
		{"since in another zone", base.Add(2 * time.Minute).In(time.FixedZone("X", -7*3600)), 0, []string{"d4", "d3", "d2"}},
		{"limit", time.Time{}, 2, []string{"d4", "d3"}},
		{"since after all", base.Add(time.Hour), 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ids []string
			for _, d := range listDeletions(t, s, tt.since, tt.limit) {
				ids = append(ids, d.RecordingID)
				if d.Reason != "r-"+d.RecordingID || !d.At.Equal(at[d.RecordingID]) {
					t.Errorf("%s: reason %q at %v", d.RecordingID, d.Reason, d.At)
				}
			}
			if !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("ListDeletions(%v, %d) = %v, want %v", tt.since, tt.limit, ids, tt.want)
			}
		})
	}
}

func testListTenantIsolation(t *testing.T, s Store) {
	seed := []struct {
		id, tenant string
		retention  store.Retention
		extra      map[string]string // more recording-level external data
		coupleTen  string            // GEN_CFG_Tenant of its couple's external data
	}{
		{"ta1", "Acme", "", nil, ""},
		{"ta2", "ACME", store.RetentionKept, nil, ""},
		{"ta3", "acme", store.RetentionPending, nil, ""},
		{"ta4", "Acme", store.RetentionDiscard, nil, ""},
		{"tb1", "Globex", "", nil, ""},
		// Tenant B with "Acme" everywhere but the recording's tenant key.
		{"tb2", "Globex", "", map[string]string{"GEN_USR_Tenant": "Acme", "gen_cfg_tenant": "Acme"}, "Acme"},
		{"tn", "", "", map[string]string{"GEN_USR_Account": "Acme"}, "Acme"},
		{"tx", "Acme Corp", "", nil, ""},
		{"tl", "A_me", "", nil, ""},
	}
	for i, sd := range seed {
		ed := map[string]string{}
		if sd.tenant != "" {
			ed[store.TenantKey] = sd.tenant
		}
		for k, v := range sd.extra {
			ed[k] = v
		}
		r := &store.Recording{ID: sd.id, Mode: store.ModeMSR, Status: store.StatusCompleted,
			StartedAt: base.Add(time.Duration(i) * time.Minute), ExternalData: ed, Retention: sd.retention}
		if sd.coupleTen != "" {
			r.Couples = []store.Couple{{EndMS: -1, ExternalData: map[string]string{store.TenantKey: sd.coupleTen}}}
		}
		create(t, s, r)
	}
	tests := []struct {
		name string
		f    store.Filter
		want []string
	}{
		{"tenant A, any case", store.Filter{Tenant: "acme"}, []string{"ta4", "ta3", "ta2", "ta1"}},
		{"tenant A as stored", store.Filter{Tenant: "Acme"}, []string{"ta4", "ta3", "ta2", "ta1"}},
		{"tenant A upper case", store.Filter{Tenant: "ACME"}, []string{"ta4", "ta3", "ta2", "ta1"}},
		{"tenant B", store.Filter{Tenant: "globex"}, []string{"tb2", "tb1"}},
		{"no pattern matching", store.Filter{Tenant: "A_me"}, []string{"tl"}},
		{"no prefix matching", store.Filter{Tenant: "Acme%"}, nil},
		{"whole value only", store.Filter{Tenant: "Acme Corp"}, []string{"tx"}},
		{"unknown tenant", store.Filter{Tenant: "Initech"}, nil},
		{"tenant and retention", store.Filter{Tenant: "Acme", Retention: store.RetentionPending}, []string{"ta3"}},
		{"tenant without discard", store.Filter{Tenant: "Acme", ExcludeDiscard: true}, []string{"ta3", "ta2", "ta1"}},
		{"tenant and limit", store.Filter{Tenant: "Acme", Limit: 1}, []string{"ta4"}},
		{"no tenant: all", store.Filter{}, []string{"tl", "tx", "tn", "tb2", "tb1", "ta4", "ta3", "ta2", "ta1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ids := listIDs(t, s, tt.f); !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("ListRecordings(%+v) = %v, want %v", tt.f, ids, tt.want)
			}
		})
	}
	// Isolation as a property: a tenant's list holds only its own rows.
	for _, tenant := range []string{"Acme", "globex", "A_me", "acme corp"} {
		got, err := s.ListRecordings(context.Background(), store.Filter{Tenant: tenant})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			if !strings.EqualFold(r.ExternalData[store.TenantKey], tenant) {
				t.Errorf("tenant %q list returned %s of tenant %q", tenant, r.ID, r.ExternalData[store.TenantKey])
			}
		}
	}
}

func testListRetentionFilters(t *testing.T, s Store) {
	for i, r := range []store.Retention{store.RetentionNone, store.RetentionPending, store.RetentionKept, store.RetentionDiscard} {
		create(t, s, &store.Recording{ID: fmt.Sprintf("rf-%d-%s", i, r), Mode: store.ModeMSR, Status: store.StatusCompleted,
			StartedAt: base.Add(time.Duration(i) * time.Minute), Retention: r})
	}
	tests := []struct {
		name string
		f    store.Filter
		want []string
	}{
		{"any", store.Filter{}, []string{"rf-3-discard", "rf-2-kept", "rf-1-pending", "rf-0-"}},
		{"pending", store.Filter{Retention: store.RetentionPending}, []string{"rf-1-pending"}},
		{"kept", store.Filter{Retention: store.RetentionKept}, []string{"rf-2-kept"}},
		{"discard", store.Filter{Retention: store.RetentionDiscard}, []string{"rf-3-discard"}},
		{"exclude discard", store.Filter{ExcludeDiscard: true}, []string{"rf-2-kept", "rf-1-pending", "rf-0-"}},
		{"discard excluded", store.Filter{Retention: store.RetentionDiscard, ExcludeDiscard: true}, nil},
		{"with other filters", store.Filter{Retention: store.RetentionKept, Status: store.StatusCompleted, Mode: store.ModeMSR}, []string{"rf-2-kept"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ids := listIDs(t, s, tt.f); !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("ListRecordings(%+v) = %v, want %v", tt.f, ids, tt.want)
			}
		})
	}
	if _, err := s.ListRecordings(context.Background(), store.Filter{Retention: "soon"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("ListRecordings with retention %q = %v, want ErrInvalid", "soon", err)
	}
}

// testKeepDiscardRace races a keep (one handle, the CTI side) against a
// discard (the other handle, the sweeper) on each of n pending recordings:
// exactly one wins, the loser gets ErrNotPending, and the row ends in the
// winner's state.
func testKeepDiscardRace(t *testing.T, a, b Store) {
	ctx := context.Background()
	const n = 20
	for i := range n {
		create(t, a, &store.Recording{ID: fmt.Sprintf("race-%02d", i), Mode: store.ModeMSR, Status: store.StatusCompleted,
			StartedAt: base, Retention: store.RetentionPending, KeepUntil: base})
	}
	keepErr, discardErr := make([]error, n), make([]error, n)
	// In lockstep: the keep and the discard of one recording are released
	// together, so they race for certain (two loops could as well run one
	// after the other, and every keep would win uncontested).
	lockstep(2, n, func(g, i int) {
		id := fmt.Sprintf("race-%02d", i)
		if g == 0 {
			keepErr[i] = a.KeepRecording(ctx, id, "kept by request (cti)")
		} else {
			discardErr[i] = b.DiscardRecording(ctx, id, "not kept")
		}
	})
	for i := range n {
		id := fmt.Sprintf("race-%02d", i)
		got := get(t, a, id)
		switch {
		case keepErr[i] == nil && errors.Is(discardErr[i], store.ErrNotPending):
			if got.Retention != store.RetentionKept {
				t.Errorf("%s: keep won but the row is %q", id, got.Retention)
			}
		case discardErr[i] == nil && errors.Is(keepErr[i], store.ErrNotPending):
			if got.Retention != store.RetentionDiscard {
				t.Errorf("%s: discard won but the row is %q", id, got.Retention)
			}
		default:
			t.Errorf("%s: keep = %v, discard = %v; want exactly one to win, the other ErrNotPending", id, keepErr[i], discardErr[i])
		}
	}
}

// lockstep runs f in n goroutines for the given number of rounds; each
// round releases the n goroutines at once and the next starts when all
// have returned (testtool.Lockstep, which this package may not import).
func lockstep(n, rounds int, f func(g, round int)) {
	release := make([]chan struct{}, rounds)
	for i := range release {
		release[i] = make(chan struct{})
	}
	var round, all sync.WaitGroup
	for g := range n {
		all.Go(func() {
			for r := range rounds {
				<-release[r]
				f(g, r)
				round.Done()
			}
		})
	}
	for r := range rounds {
		round.Add(n)
		close(release[r])
		round.Wait()
	}
	all.Wait()
}

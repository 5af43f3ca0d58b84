// Package storetest is the conformance suite every recording store
// (store/sqlite, store/postgres) must pass.
//
// An implementation's tests call Run with a constructor that returns a fresh,
// empty store, and RunConcurrent with one that returns two handles on the
// same database. Stores must keep times to at least millisecond precision.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
)

// Store is what the recorder, CLI and API need from a recording store.
type Store interface {
	CreateRecording(ctx context.Context, r *store.Recording) error
	UpdateRecording(ctx context.Context, r *store.Recording) error
	AddEvents(ctx context.Context, id string, events ...store.Event) error
	GetRecording(ctx context.Context, id string) (*store.Recording, error)
	ListRecordings(ctx context.Context, f store.Filter) ([]store.Recording, error)
	SearchRecordings(ctx context.Context, f store.Filter) (store.Page, error)
	CountRecordings(ctx context.Context, f store.Filter) (int, error)

	SetRetention(ctx context.Context, id string, r store.Retention, keepUntil time.Time, reason string) error
	KeepRecording(ctx context.Context, id, reason string) error
	DiscardRecording(ctx context.Context, id, reason string) error
	DeleteRecording(ctx context.Context, d store.Deletion) error
	ListDeletions(ctx context.Context, since time.Time, limit int) ([]store.Deletion, error)
	SetMediaObject(ctx context.Context, id, object string) error

	// Screen video rows (issue 18).
	PutScreen(ctx context.Context, s *store.Screen) error
	GetScreen(ctx context.Context, recordingID string) (*store.Screen, error)
	Screens(ctx context.Context, ids []string) (map[string]*store.Screen, error)

	UserStore
	TranscodeStore

	Close() error
}

// Run runs the conformance suite. newStore must return a fresh, empty store
// for each call; the suite closes it (Close must be idempotent, so the
// constructor may also register its own cleanup).
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"CreateGetRoundTrip", testRoundTrip},
		{"CreateMinimal", testCreateMinimal},
		{"CreateConflict", testConflict},
		{"GetNotFound", testGetNotFound},
		{"UpdateReplaces", testUpdateReplaces},
		{"UpdateNotFound", testUpdateNotFound},
		{"EventsAppend", testEventsAppend},
		{"EmptyExternalDataNotStored", testEmptyExternalData},
		{"ListFilters", testListFilters},
		{"ListChildren", testListChildren},
		{"ListEmpty", testListEmpty},
		{"ListDefaultLimit", testListDefaultLimit},
		{"RetentionRoundTrip", testRetentionRoundTrip},
		{"SetRetention", testSetRetention},
		{"UpdateKeepsRetention", testUpdateKeepsRetention},
		{"KeepRules", testKeepRules},
		{"DiscardRules", testDiscardRules},
		{"DeleteCascadesAndLogs", testDeleteCascadesAndLogs},
		{"DeleteKeepsCallerFields", testDeleteKeepsCallerFields},
		{"ListDeletionsOrder", testListDeletionsOrder},
		{"ListTenantIsolation", testListTenantIsolation},
		{"ListRetentionFilters", testListRetentionFilters},
		{"MediaObject", testMediaObject},
		{"ScreenRows", testScreenRows},
		{"UserRoundTrip", testUserRoundTrip},
		{"UserCreateErrors", testUserCreateErrors},
		{"UserNotFound", testUserNotFound},
		{"UserList", testUserList},
		{"UserUpdate", testUserUpdate},
		{"UserDeleteSessions", testUserDeleteSessions},
		{"SessionRoundTrip", testSessionRoundTrip},
		{"SessionCreateErrors", testSessionCreateErrors},
		{"DeleteExpiredSessions", testDeleteExpiredSessions},
		{"DeleteUserSessions", testDeleteUserSessions},
		{"AuditRoundTrip", testAuditRoundTrip},
		{"AuditListFilters", testAuditListFilters},
		{"AuditListLimits", testAuditListLimits},
		{"SearchFilters", testSearchFilters},
		{"SearchPatternsLiteral", testSearchPatternsLiteral},
		{"SearchOwnerAgent", testSearchOwnerAgent},
		{"SearchPagination", testSearchPagination},
		{"SearchPaginationStable", testSearchPaginationStable},
		{"SearchInvalid", testSearchInvalid},
		{"TranscodeEnqueue", testTranscodeEnqueue},
		{"TranscodeClaim", testTranscodeClaim},
		{"TranscodeRetryAndWait", testTranscodeRetryAndWait},
		{"TranscodeFinish", testTranscodeFinish},
		{"CloseIdempotent", testCloseIdempotent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { _ = s.Close() })
			tt.fn(t, s)
		})
	}
}

// RunConcurrent checks that two handles on the same database (a writer, as
// `openrec serve`, and a reader, as the CLI) work at the same time, and
// that a keep and a discard racing on two handles have exactly one winner.
func RunConcurrent(t *testing.T, openPair func(t *testing.T) (writer, reader Store)) {
	w, r := openPair(t)
	t.Cleanup(func() { _ = w.Close(); _ = r.Close() })
	ctx := context.Background()
	const n = 40
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	done := make(chan struct{})
	// The writer waits for a read after each recording, so reads and writes
	// alternate for certain (the reader could otherwise be scheduled only
	// after the writer is done, and check nothing).
	readDone := make(chan struct{}, 1)
	var partial atomic.Bool // a read saw some recordings completed, not all
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := range n {
			select { // a read that ended before this write does not count
			case <-readDone:
			default:
			}
			rec := fullRecording(fmt.Sprintf("conc-%03d", i), base.Add(time.Duration(i)*time.Second))
			rec.Status = store.StatusRecording
			rec.EndedAt = time.Time{}
			if err := w.CreateRecording(ctx, rec); err != nil {
				errc <- fmt.Errorf("create %s: %w", rec.ID, err)
				return
			}
			if err := w.AddEvents(ctx, rec.ID, store.Event{Type: "bye", AtMS: 1000}); err != nil {
				errc <- fmt.Errorf("add events %s: %w", rec.ID, err)
				return
			}
			rec.Status, rec.EndedAt = store.StatusCompleted, rec.StartedAt.Add(time.Minute)
			if err := w.UpdateRecording(ctx, rec); err != nil {
				errc <- fmt.Errorf("update %s: %w", rec.ID, err)
				return
			}
			select {
			case <-readDone:
			case <-time.After(10 * time.Second):
				errc <- fmt.Errorf("no read while the writer waited after %s", rec.ID)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			list, err := r.ListRecordings(ctx, store.Filter{Limit: n})
			if err != nil {
				errc <- fmt.Errorf("reader list: %w", err)
				return
			}
			completed := 0
			for _, rec := range list {
				if rec.Status == store.StatusCompleted {
					completed++
				}
				// A row and its children are read in one snapshot: a
				// completed recording always has its bye event.
				if rec.Status == store.StatusCompleted && len(rec.Events) < 2 {
					errc <- fmt.Errorf("reader saw %s completed with %d events", rec.ID, len(rec.Events))
					return
				}
				if len(rec.Parties) != 2 {
					errc <- fmt.Errorf("reader saw %s with %d parties", rec.ID, len(rec.Parties))
					return
				}
			}
			if completed > 0 && completed < n {
				partial.Store(true)
			}
			select {
			case readDone <- struct{}{}:
			default:
			}
		}
	}()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if !partial.Load() {
		t.Error("the reader never saw the writer half way")
	}
	list, err := r.ListRecordings(ctx, store.Filter{Limit: 2 * n})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != n {
		t.Fatalf("reader sees %d recordings after the writer finished, want %d", len(list), n)
	}
	for _, rec := range list {
		if rec.Status != store.StatusCompleted || len(rec.Events) != 2 {
			t.Fatalf("reader sees %s %s with %d events, want completed with 2", rec.ID, rec.Status, len(rec.Events))
		}
	}
	t.Run("KeepDiscardRace", func(t *testing.T) { testKeepDiscardRace(t, w, r) })
}

var base = time.Date(2026, 11, 3, 9, 30, 15, 123_000_000, time.UTC)

// fullRecording returns a recording with every field set. Times are in a
// non-UTC zone and millisecond precision.
func fullRecording(id string, started time.Time) *store.Recording {
	zone := time.FixedZone("CET", 3600)
	started = started.In(zone)
	return &store.Recording{
		ID:              id,
		Mode:            store.ModeSIPREC,
		Status:          store.StatusCompleted,
		StatusReason:    "bye",
		CallUUID:        "0123456789ABCDEFGHIJKLMNOPQRSTUV",
		RecordID:        "rec-" + id,
		SIPRECSessionID: "ZnVubnkgc2Vzc2lvbg==",
		SIPCallIDs:      []string{"a84b4c76e66710@pc33", "second-call-id@sbc"},
		RecordedDN:      "7001",
		OtherDN:         "+33123456789",
		Parties: []store.Party{
			{Channel: 0, Role: store.RoleRecorded, DN: "7001", Label: "1", AOR: "sip:7001@cc.example", Name: "Agent Smith", ParticipantID: "p-1", SIPCallID: "a84b4c76e66710@pc33"},
			{Channel: 1, Role: store.RoleOther, DN: "+33123456789", Label: "2", AOR: "sip:+33123456789@carrier", Name: "Caller", ParticipantID: "p-2", SIPCallID: "second-call-id@sbc"},
		},
		StartedAt:       started,
		EndedAt:         started.Add(95*time.Second + 250*time.Millisecond),
		DurationMS:      95250,
		Channels:        2,
		Codecs:          []string{"PCMU", "PCMA"},
		Format:          "ulaw",
		MediaPath:       "media/2026/11/03/" + id + ".wav",
		SizeBytes:       1524058,
		SHA256:          "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		NeedsTranscode:  true,
		Metadata:        `<recording xmlns="urn:ietf:params:xml:ns:recording:1"><session session_id="x"/></recording>`,
		MetadataProblem: "participant p-3 has no stream",
		Segments: []store.Segment{
			{Type: store.SegmentRecording, Channel: store.AllChannels, StartMS: 0, EndMS: 30000},
			{Type: store.SegmentPause, Channel: store.AllChannels, StartMS: 30000, EndMS: 40000},
			{Type: store.SegmentHold, Channel: 1, StartMS: 50000, EndMS: 60000},
		},
		Couples: []store.Couple{
			{StartMS: 0, EndMS: 40000, ThisDN: "7001", OtherDN: "+33123456789", ConnID: "006502a8c4e1b001", CallUUID: "CALLUUID0000000000000000000000A",
				ExternalData: map[string]string{"GEN_TEV_ThisDN": "7001", "GEN_USR_Account": "ACME-42"}},
			{StartMS: 40000, EndMS: 95250, ThisDN: "7001", OtherDN: "7002", ConnID: "006502a8c4e1b001", CallUUID: "CALLUUID0000000000000000000000A",
				ExternalData: map[string]string{"GEN_TEV_OtherDN": "7002"}},
		},
		Correlation: "matched",
		Events: []store.Event{
			{Type: "metadata", AtMS: 0, Channel: -1, Detail: "initial", At: started},
		},
		ExternalData: map[string]string{
			"GEN_TEV_ConnID":  "006502a8c4e1b001",
			"GEN_USR_Account": "ACME-42",
			"GEN_CFG_Tenant":  "Environment",
		},
	}
}

// canon returns r in a form comparable with reflect.DeepEqual: times in UTC,
// empty slices nil, external data non-nil without empty values.
func canon(r store.Recording) store.Recording {
	utc := func(t time.Time) time.Time {
		if t.IsZero() {
			return time.Time{}
		}
		return t.UTC()
	}
	r.StartedAt, r.EndedAt, r.CreatedAt, r.UpdatedAt = utc(r.StartedAt), utc(r.EndedAt), utc(r.CreatedAt), utc(r.UpdatedAt)
	r.KeepUntil = utc(r.KeepUntil)
	r.ExternalData = store.CleanExternalData(r.ExternalData)
	if len(r.SIPCallIDs) == 0 {
		r.SIPCallIDs = nil
	}
	if len(r.Parties) == 0 {
		r.Parties = nil
	}
	if len(r.Codecs) == 0 {
		r.Codecs = nil
	}
	if len(r.Segments) == 0 {
		r.Segments = nil
	}
	if len(r.Couples) == 0 {
		r.Couples = nil
	}
	for i := range r.Couples {
		r.Couples[i].ExternalData = store.CleanExternalData(r.Couples[i].ExternalData)
	}
	var ev []store.Event
	for _, e := range r.Events {
		e.At = utc(e.At)
		ev = append(ev, e)
	}
	r.Events = ev
	return r
}

func mustEqual(t *testing.T, what string, got, want store.Recording) {
	t.Helper()
	g, w := canon(got), canon(want)
	if reflect.DeepEqual(g, w) {
		return
	}
	gv, wv := reflect.ValueOf(g), reflect.ValueOf(w)
	for i := range gv.NumField() {
		if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
			t.Errorf("%s: %s = %#v, want %#v", what, gv.Type().Field(i).Name, gv.Field(i).Interface(), wv.Field(i).Interface())
		}
	}
}

func create(t *testing.T, s Store, r *store.Recording) {
	t.Helper()
	if err := s.CreateRecording(context.Background(), r); err != nil {
		t.Fatalf("CreateRecording(%s): %v", r.ID, err)
	}
}

func get(t *testing.T, s Store, id string) *store.Recording {
	t.Helper()
	r, err := s.GetRecording(context.Background(), id)
	if err != nil {
		t.Fatalf("GetRecording(%s): %v", id, err)
	}
	return r
}

func testRoundTrip(t *testing.T, s Store) {
	r := fullRecording("rt-1", base)
	create(t, s, r)
	if r.CreatedAt.IsZero() || r.UpdatedAt.IsZero() {
		t.Fatalf("CreateRecording did not set CreatedAt/UpdatedAt: %v / %v", r.CreatedAt, r.UpdatedAt)
	}
	got := get(t, s, "rt-1")
	mustEqual(t, "round trip", *got, *r)
	if got.StartedAt.Location() != time.UTC {
		t.Errorf("StartedAt location = %v, want UTC", got.StartedAt.Location())
	}
	if got.ExternalData == nil {
		t.Error("ExternalData is nil, want a map")
	}
}

func testCreateMinimal(t *testing.T, s Store) {
	r := &store.Recording{ID: "min-1", Mode: store.ModeMSR, Status: store.StatusRecording, StartedAt: base}
	create(t, s, r)
	got := get(t, s, "min-1")
	mustEqual(t, "minimal", *got, *r)
	if !got.EndedAt.IsZero() {
		t.Errorf("EndedAt = %v, want zero while recording", got.EndedAt)
	}
	if got.ExternalData == nil {
		t.Error("ExternalData is nil, want an empty map")
	}
	// A caller-set CreatedAt is kept.
	at := base.Add(-time.Hour)
	r2 := &store.Recording{ID: "min-2", Mode: store.ModeMSR, Status: store.StatusRecording, CreatedAt: at}
	create(t, s, r2)
	if got := get(t, s, "min-2"); !got.CreatedAt.Equal(at) {
		t.Errorf("CreatedAt = %v, want the caller's %v", got.CreatedAt, at)
	}
}

func testConflict(t *testing.T, s Store) {
	r := fullRecording("dup", base)
	create(t, s, r)
	again := fullRecording("dup", base.Add(time.Hour))
	again.Status = store.StatusFailed
	err := s.CreateRecording(context.Background(), again)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second CreateRecording = %v, want ErrConflict", err)
	}
	mustEqual(t, "after conflict", *get(t, s, "dup"), *r)
}

func testGetNotFound(t *testing.T, s Store) {
	_, err := s.GetRecording(context.Background(), "nope")
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetRecording(nope) = %v, want ErrNotFound", err)
	}
}

func testUpdateReplaces(t *testing.T, s Store) {
	ctx := context.Background()
	r := fullRecording("up-1", base)
	create(t, s, r)
	created := r.CreatedAt
	if err := s.AddEvents(ctx, "up-1", store.Event{Type: "dtmf", AtMS: 500, Channel: 1, Detail: "5"}); err != nil {
		t.Fatal(err)
	}
	u := &store.Recording{
		ID:           "up-1",
		Mode:         store.ModeMSR,
		Status:       store.StatusPartial,
		StatusReason: "media timeout",
		CallUUID:     "VUTSRQPONMLKJIHGFEDCBA9876543210",
		RecordID:     "r2",
		SIPCallIDs:   []string{"only-one"},
		RecordedDN:   "7002",
		OtherDN:      "7003",
		Parties:      []store.Party{{Channel: 0, Role: store.RoleRecorded, DN: "7002"}},
		StartedAt:    base.Add(time.Minute),
		DurationMS:   1,
		Channels:     1,
		Format:       "pcm16",
		MediaPath:    "other.wav",
		Segments:     []store.Segment{{Type: store.SegmentRecording, Channel: 0, StartMS: 1, EndMS: 2}},
		ExternalData: map[string]string{"GEN_USR_Account": "ACME-43", "GEN_USR_Empty": ""},
		CreatedAt:    base.Add(-48 * time.Hour), // ignored: CreatedAt is immutable
	}
	if err := s.UpdateRecording(ctx, u); err != nil {
		t.Fatalf("UpdateRecording: %v", err)
	}
	if !u.CreatedAt.Equal(created) {
		t.Errorf("UpdateRecording wrote back CreatedAt %v, want the stored %v", u.CreatedAt, created)
	}
	if u.UpdatedAt.Before(created) {
		t.Errorf("UpdatedAt %v before CreatedAt %v", u.UpdatedAt, created)
	}
	got := get(t, s, "up-1")
	want := *u
	want.Events = append(append([]store.Event{}, r.Events...), store.Event{Type: "dtmf", AtMS: 500, Channel: 1, Detail: "5"})
	mustEqual(t, "after update", *got, want)
	if _, ok := got.ExternalData["GEN_USR_Empty"]; ok {
		t.Error("empty external data value was stored")
	}
	if len(got.ExternalData) != 1 {
		t.Errorf("external data = %v, want only GEN_USR_Account (old keys removed)", got.ExternalData)
	}
}

func testUpdateNotFound(t *testing.T, s Store) {
	err := s.UpdateRecording(context.Background(), &store.Recording{ID: "ghost", Mode: store.ModeMSR, Status: store.StatusFailed})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateRecording(ghost) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetRecording(context.Background(), "ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of unknown id created it: %v", err)
	}
}

func testEventsAppend(t *testing.T, s Store) {
	ctx := context.Background()
	r := fullRecording("ev-1", base)
	create(t, s, r)
	at := base.Add(2 * time.Second)
	batch1 := []store.Event{
		{Type: "reinvite", AtMS: 2000, Channel: 0, Detail: "new media", At: at},
		{Type: "ssrc-change", AtMS: 2000, Channel: 0, Detail: "0x1234 -> 0x5678"},
	}
	batch2 := []store.Event{{Type: "bye", AtMS: 9000, Channel: -1, At: at.Add(7 * time.Second)}}
	if err := s.AddEvents(ctx, "ev-1", batch1...); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEvents(ctx, "ev-1", batch2...); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEvents(ctx, "ev-1"); err != nil {
		t.Fatalf("AddEvents with no events: %v", err)
	}
	got := get(t, s, "ev-1")
	want := *r
	want.Events = append(append(append([]store.Event{}, r.Events...), batch1...), batch2...)
	mustEqual(t, "events", *got, want)
	// Update does not touch events.
	got.Events = nil
	if err := s.UpdateRecording(ctx, got); err != nil {
		t.Fatal(err)
	}
	if n := len(get(t, s, "ev-1").Events); n != 4 {
		t.Errorf("after update: %d events, want 4", n)
	}
	if err := s.AddEvents(ctx, "nope", batch2...); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AddEvents(nope) = %v, want ErrNotFound", err)
	}
}

func testEmptyExternalData(t *testing.T, s Store) {
	r := &store.Recording{ID: "ext", Mode: store.ModeMSR, Status: store.StatusRecording, StartedAt: base,
		ExternalData: map[string]string{"GEN_USR_A": "a", "GEN_USR_B": "", "": "no key"}}
	create(t, s, r)
	got := get(t, s, "ext")
	if want := map[string]string{"GEN_USR_A": "a"}; !maps.Equal(got.ExternalData, want) {
		t.Errorf("external data = %v, want %v", got.ExternalData, want)
	}
}

func testListFilters(t *testing.T, s Store) {
	ctx := context.Background()
	seed := []struct {
		id         string
		mode       store.Mode
		status     store.Status
		callUUID   string
		recordID   string
		recDN, oDN string
		startMin   int
	}{
		{"a", store.ModeMSR, store.StatusCompleted, "CALL1", "r1", "7001", "5551000", 0},
		{"b", store.ModeMSR, store.StatusCompleted, "CALL1", "r1", "7002", "7001", 10},
		{"c", store.ModeSIPREC, store.StatusRecording, "CALL2", "", "7003", "5552000", 20},
		{"d", store.ModeSIPREC, store.StatusFailed, "CALL3", "", "7001", "5553000", 30},
		{"e", store.ModeMSR, store.StatusPartial, "CALL4", "r4", "7004", "5554000", 40},
	}
	for _, sd := range seed {
		r := &store.Recording{ID: sd.id, Mode: sd.mode, Status: sd.status, CallUUID: sd.callUUID, RecordID: sd.recordID,
			RecordedDN: sd.recDN, OtherDN: sd.oDN, StartedAt: base.Add(time.Duration(sd.startMin) * time.Minute)}
		create(t, s, r)
	}
	tests := []struct {
		name string
		f    store.Filter
		want []string
	}{
		{"all newest first", store.Filter{}, []string{"e", "d", "c", "b", "a"}},
		{"status", store.Filter{Status: store.StatusCompleted}, []string{"b", "a"}},
		{"mode siprec", store.Filter{Mode: store.ModeSIPREC}, []string{"d", "c"}},
		{"mode msr", store.Filter{Mode: store.ModeMSR}, []string{"e", "b", "a"}},
		{"call uuid", store.Filter{CallUUID: "CALL1"}, []string{"b", "a"}},
		{"record id", store.Filter{RecordID: "r4"}, []string{"e"}},
		{"dn recorded or other", store.Filter{DN: "7001"}, []string{"d", "b", "a"}},
		{"dn other only", store.Filter{DN: "5552000"}, []string{"c"}},
		{"dn unknown", store.Filter{DN: "9999"}, nil},
		{"since inclusive", store.Filter{Since: base.Add(20 * time.Minute)}, []string{"e", "d", "c"}},
		{"until exclusive", store.Filter{Until: base.Add(20 * time.Minute)}, []string{"b", "a"}},
		{"range", store.Filter{Since: base.Add(5 * time.Minute), Until: base.Add(35 * time.Minute)}, []string{"d", "c", "b"}},
		{"range in another zone", store.Filter{Since: base.Add(5 * time.Minute).In(time.FixedZone("X", -5*3600))}, []string{"e", "d", "c", "b"}},
		{"limit", store.Filter{Limit: 2}, []string{"e", "d"}},
		{"combined", store.Filter{Mode: store.ModeMSR, DN: "7001", Status: store.StatusCompleted, Limit: 1}, []string{"b"}},
		{"no match", store.Filter{Status: store.StatusCompleted, Mode: store.ModeSIPREC}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListRecordings(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			if !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("ListRecordings(%+v) = %v, want %v", tt.f, ids, tt.want)
			}
		})
	}
}

func testListChildren(t *testing.T, s Store) {
	ctx := context.Background()
	r1 := fullRecording("lc-1", base)
	r2 := fullRecording("lc-2", base.Add(time.Minute))
	r2.ExternalData = map[string]string{"GEN_USR_X": "x"}
	r2.Parties = r2.Parties[:1]
	create(t, s, r1)
	create(t, s, r2)
	if err := s.AddEvents(ctx, "lc-1", store.Event{Type: "bye", AtMS: 95000}); err != nil {
		t.Fatal(err)
	}
	r1.Events = append(r1.Events, store.Event{Type: "bye", AtMS: 95000})
	got, err := s.ListRecordings(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d recordings, want 2", len(got))
	}
	mustEqual(t, "list[0]", got[0], *r2)
	mustEqual(t, "list[1]", got[1], *r1)
}

func testListEmpty(t *testing.T, s Store) {
	got, err := s.ListRecordings(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("empty store lists %d recordings", len(got))
	}
}

func testListDefaultLimit(t *testing.T, s Store) {
	for i := range store.DefaultLimit + 5 {
		create(t, s, &store.Recording{ID: fmt.Sprintf("lim-%03d", i), Mode: store.ModeMSR, Status: store.StatusCompleted,
			StartedAt: base.Add(time.Duration(i) * time.Second)})
	}
	got, err := s.ListRecordings(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != store.DefaultLimit {
		t.Fatalf("default limit: got %d, want %d", len(got), store.DefaultLimit)
	}
	if first := fmt.Sprintf("lim-%03d", store.DefaultLimit+4); got[0].ID != first {
		t.Errorf("first = %s, want newest %s", got[0].ID, first)
	}
	got, err = s.ListRecordings(context.Background(), store.Filter{Limit: store.DefaultLimit + 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != store.DefaultLimit+5 {
		t.Errorf("limit above default: got %d, want %d", len(got), store.DefaultLimit+5)
	}
}

func testCloseIdempotent(t *testing.T, s Store) {
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.GetRecording(context.Background(), "x"); err == nil {
		t.Fatal("GetRecording after Close succeeded")
	}
}

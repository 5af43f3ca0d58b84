package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/store"
)

// Conformance tests of users, sessions and the audit log.

// UserStore is what the API and the CLI need to manage users, sessions
// and the audit log (append-only: no update or delete of an entry).
type UserStore interface {
	CreateUser(ctx context.Context, u *store.User) error
	GetUser(ctx context.Context, name string) (*store.User, error)
	ListUsers(ctx context.Context) ([]store.User, error)
	UpdateUser(ctx context.Context, u *store.User) error
	DeleteUser(ctx context.Context, name string) error
	CountUsers(ctx context.Context) (int, error)

	CreateSession(ctx context.Context, s store.Session) error
	GetSession(ctx context.Context, tokenHash string, now time.Time) (*store.Session, error)
	DeleteSession(ctx context.Context, tokenHash string) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
	DeleteUserSessions(ctx context.Context, name string) (int, error)

	AppendAudit(ctx context.Context, e store.AuditEntry) (int64, error)
	ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error)
}

func utcUser(u store.User) store.User {
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u
}

func mustEqualUser(t *testing.T, what string, got, want store.User) {
	t.Helper()
	if g, w := utcUser(got), utcUser(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, g, w)
	}
}

func createUser(t *testing.T, s Store, u *store.User) {
	t.Helper()
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", u.Name, err)
	}
}

func getUser(t *testing.T, s Store, name string) *store.User {
	t.Helper()
	u, err := s.GetUser(context.Background(), name)
	if err != nil {
		t.Fatalf("GetUser(%s): %v", name, err)
	}
	return u
}

func createSession(t *testing.T, s Store, sess store.Session) {
	t.Helper()
	if err := s.CreateSession(context.Background(), sess); err != nil {
		t.Fatalf("CreateSession(%s for %s): %v", sess.TokenHash, sess.User, err)
	}
}

func fullUser(name string) *store.User {
	return &store.User{
		Name: name, Role: "supervisor", Tenant: "Environment", AgentID: "agent-42",
		PasswordHash: "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", Disabled: true,
	}
}

func testUserRoundTrip(t *testing.T, s Store) {
	u := fullUser("Alice.Smith@acme")
	createUser(t, s, u)
	if u.CreatedAt.IsZero() || !u.UpdatedAt.Equal(u.CreatedAt) {
		t.Fatalf("CreateUser set CreatedAt %v, UpdatedAt %v: want both set and equal", u.CreatedAt, u.UpdatedAt)
	}
	for _, name := range []string{"Alice.Smith@acme", "alice.smith@ACME"} {
		got := getUser(t, s, name)
		mustEqualUser(t, "GetUser("+name+")", *got, *u)
		if got.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt location = %v, want UTC", got.CreatedAt.Location())
		}
	}

	// A preset CreatedAt is kept; an admin without tenant nor password is fine.
	created := base.In(time.FixedZone("EST", -5*3600))
	admin := &store.User{Name: "root", Role: "admin", CreatedAt: created}
	createUser(t, s, admin)
	got := getUser(t, s, "root")
	if !got.CreatedAt.Equal(created) || !got.UpdatedAt.Equal(created) {
		t.Errorf("preset CreatedAt: got %v / %v, want %v", got.CreatedAt, got.UpdatedAt, created)
	}
	mustEqualUser(t, "admin", *got, *admin)
}

func testUserCreateErrors(t *testing.T, s Store) {
	ctx := context.Background()
	createUser(t, s, fullUser("bob"))
	tests := []struct {
		name string
		u    store.User
		want error
	}{
		{"same name", store.User{Name: "bob", Role: "admin"}, store.ErrExists},
		{"same name other case", store.User{Name: "BoB", Role: "agent", Tenant: "t"}, store.ErrExists},
		{"empty name", store.User{Role: "admin"}, store.ErrInvalid},
		{"empty role", store.User{Name: "carol"}, store.ErrInvalid},
	}
	for _, tt := range tests {
		if err := s.CreateUser(ctx, &tt.u); !errors.Is(err, tt.want) {
			t.Errorf("%s: CreateUser = %v, want %v", tt.name, err, tt.want)
		}
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 1 {
		t.Errorf("CountUsers after failed creates = %d, %v; want 1", n, err)
	}
	if got := getUser(t, s, "bob"); got.Role != "supervisor" {
		t.Errorf("a failed create changed the user: role %q", got.Role)
	}
}

func testUserNotFound(t *testing.T, s Store) {
	ctx := context.Background()
	if _, err := s.GetUser(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUser(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.UpdateUser(ctx, &store.User{Name: "nobody", Role: "admin"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateUser(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.DeleteUser(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteUser(unknown) = %v, want ErrNotFound", err)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 0 {
		t.Errorf("CountUsers on an empty store = %d, %v; want 0", n, err)
	}
	users, err := s.ListUsers(ctx)
	if err != nil || len(users) != 0 {
		t.Errorf("ListUsers on an empty store = %v, %v; want none", users, err)
	}
}

func testUserList(t *testing.T, s Store) {
	ctx := context.Background()
	for _, n := range []string{"carol", "Bob", "alice", "dave"} {
		createUser(t, s, &store.User{Name: n, Role: "agent", Tenant: "t1"})
	}
	users, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.Name)
	}
	if want := []string{"alice", "Bob", "carol", "dave"}; !reflect.DeepEqual(names, want) {
		t.Errorf("ListUsers names = %v, want %v (by name, ignoring case)", names, want)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 4 {
		t.Errorf("CountUsers = %d, %v; want 4", n, err)
	}
}

func testUserUpdate(t *testing.T, s Store) {
	ctx := context.Background()
	u := &store.User{Name: "Erin", Role: "agent", Tenant: "t1", AgentID: "a1", PasswordHash: "old"}
	createUser(t, s, u)
	created := u.CreatedAt

	upd := &store.User{Name: "ERIN", Role: "supervisor", Tenant: "t2", AgentID: "a2", PasswordHash: "new", Disabled: true,
		CreatedAt: created.Add(-time.Hour)}
	if err := s.UpdateUser(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if upd.Name != "Erin" || !upd.CreatedAt.Equal(created) || upd.UpdatedAt.Before(created) {
		t.Errorf("UpdateUser wrote back name %q, CreatedAt %v, UpdatedAt %v; want Erin, %v, not before it",
			upd.Name, upd.CreatedAt, upd.UpdatedAt, created)
	}
	got := getUser(t, s, "erin")
	want := store.User{Name: "Erin", Role: "supervisor", Tenant: "t2", AgentID: "a2", PasswordHash: "new", Disabled: true,
		CreatedAt: created, UpdatedAt: upd.UpdatedAt}
	mustEqualUser(t, "after update", *got, want)

	// Back to enabled, admin without tenant.
	upd = &store.User{Name: "erin", Role: "admin", PasswordHash: "new"}
	if err := s.UpdateUser(ctx, upd); err != nil {
		t.Fatal(err)
	}
	got = getUser(t, s, "Erin")
	if got.Disabled || got.Tenant != "" || got.AgentID != "" || got.Role != "admin" {
		t.Errorf("after second update: %+v", got)
	}
	if err := s.UpdateUser(ctx, &store.User{Name: "erin"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("UpdateUser with empty role = %v, want ErrInvalid", err)
	}
}

func testUserDeleteSessions(t *testing.T, s Store) {
	ctx := context.Background()
	createUser(t, s, &store.User{Name: "Frank", Role: "admin"})
	createUser(t, s, &store.User{Name: "grace", Role: "admin"})
	exp := base.Add(time.Hour)
	createSession(t, s, store.Session{TokenHash: "f-ui", User: "Frank", Kind: store.SessionUI, CSRF: "c1", ExpiresAt: exp})
	createSession(t, s, store.Session{TokenHash: "f-api", User: "frank", Kind: store.SessionAPI, ExpiresAt: exp})
	createSession(t, s, store.Session{TokenHash: "g-ui", User: "grace", Kind: store.SessionUI, ExpiresAt: exp})
	if _, err := s.AppendAudit(ctx, store.AuditEntry{User: "Frank", Action: store.AuditLogin}); err != nil {
		t.Fatal(err)
	}

	if err := s.DeleteUser(ctx, "FRANK"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUser(ctx, "Frank"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUser after delete = %v, want ErrNotFound", err)
	}
	for _, h := range []string{"f-ui", "f-api"} {
		if _, err := s.GetSession(ctx, h, base); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session %s of a deleted user: %v, want ErrNotFound", h, err)
		}
	}
	if _, err := s.GetSession(ctx, "g-ui", base); err != nil {
		t.Errorf("another user's session after delete: %v", err)
	}
	// A new user of the same name does not inherit the old sessions.
	createUser(t, s, &store.User{Name: "frank", Role: "agent", Tenant: "t"})
	if _, err := s.GetSession(ctx, "f-ui", base); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session of a deleted user revived by a new user of that name: %v", err)
	}
	// The audit log keeps the deleted user's entries.
	if got := auditIDs(t, s, store.AuditFilter{User: "frank"}); len(got) != 1 {
		t.Errorf("audit entries of a deleted user = %v, want 1", got)
	}
	if err := s.DeleteUser(ctx, "grace"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "grace"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteUser = %v, want ErrNotFound", err)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 1 {
		t.Errorf("CountUsers = %d, %v; want 1", n, err)
	}
}

func testSessionRoundTrip(t *testing.T, s Store) {
	ctx := context.Background()
	createUser(t, s, &store.User{Name: "Heidi", Role: "supervisor", Tenant: "t1"})
	zone := time.FixedZone("CET", 3600)
	sess := store.Session{TokenHash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", User: "heidi",
		Kind: store.SessionUI, CSRF: "csrf-token", CreatedAt: base.In(zone), ExpiresAt: base.Add(12 * time.Hour).In(zone)}
	createSession(t, s, sess)
	api := store.Session{TokenHash: "api-1", User: "Heidi", Kind: store.SessionAPI, ExpiresAt: base.Add(time.Minute)}
	createSession(t, s, api)

	got, err := s.GetSession(ctx, sess.TokenHash, base)
	if err != nil {
		t.Fatal(err)
	}
	want := sess
	want.User = "Heidi" // the user's name as stored
	want.CreatedAt, want.ExpiresAt = want.CreatedAt.UTC(), want.ExpiresAt.UTC()
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("GetSession:\n got  %+v\n want %+v", *got, want)
	}
	gotAPI, err := s.GetSession(ctx, "api-1", base)
	if err != nil {
		t.Fatal(err)
	}
	if gotAPI.Kind != store.SessionAPI || gotAPI.CSRF != "" || gotAPI.CreatedAt.IsZero() {
		t.Errorf("API session = %+v: want kind api, no CSRF, CreatedAt set by the store", *gotAPI)
	}

	// Expiry: valid strictly before ExpiresAt.
	for _, tt := range []struct {
		now  time.Time
		want error
	}{
		{base.Add(time.Minute - time.Millisecond), nil},
		{base.Add(time.Minute), store.ErrNotFound},
		{base.Add(time.Hour), store.ErrNotFound},
	} {
		if _, err := s.GetSession(ctx, "api-1", tt.now); !errors.Is(err, tt.want) {
			t.Errorf("GetSession(api-1) at %v = %v, want %v", tt.now, err, tt.want)
		}
	}
	if _, err := s.GetSession(ctx, "unknown", base); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSession(unknown) = %v, want ErrNotFound", err)
	}

	// Logout, twice.
	for range 2 {
		if err := s.DeleteSession(ctx, sess.TokenHash); err != nil {
			t.Fatalf("DeleteSession: %v", err)
		}
	}
	if _, err := s.GetSession(ctx, sess.TokenHash, base); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSession after logout = %v, want ErrNotFound", err)
	}
	if _, err := s.GetSession(ctx, "api-1", base); err != nil {
		t.Errorf("the other session after logout: %v", err)
	}
}

func testSessionCreateErrors(t *testing.T, s Store) {
	ctx := context.Background()
	createUser(t, s, &store.User{Name: "ivan", Role: "admin"})
	exp := base.Add(time.Hour)
	createSession(t, s, store.Session{TokenHash: "taken", User: "ivan", Kind: store.SessionUI, ExpiresAt: exp})
	tests := []struct {
		name string
		s    store.Session
		want error
	}{
		{"unknown user", store.Session{TokenHash: "h1", User: "nobody", Kind: store.SessionUI, ExpiresAt: exp}, store.ErrNotFound},
		{"hash taken", store.Session{TokenHash: "taken", User: "ivan", Kind: store.SessionAPI, ExpiresAt: exp}, store.ErrExists},
		{"empty hash", store.Session{User: "ivan", Kind: store.SessionUI, ExpiresAt: exp}, store.ErrInvalid},
		{"bad kind", store.Session{TokenHash: "h2", User: "ivan", Kind: "cookie", ExpiresAt: exp}, store.ErrInvalid},
		{"no expiry", store.Session{TokenHash: "h3", User: "ivan", Kind: store.SessionUI}, store.ErrInvalid},
	}
	for _, tt := range tests {
		if err := s.CreateSession(ctx, tt.s); !errors.Is(err, tt.want) {
			t.Errorf("%s: CreateSession = %v, want %v", tt.name, err, tt.want)
		}
	}
	if got, err := s.GetSession(ctx, "taken", base); err != nil || got.Kind != store.SessionUI {
		t.Errorf("a failed create changed the session: %+v, %v", got, err)
	}
}

func testDeleteExpiredSessions(t *testing.T, s Store) {
	ctx := context.Background()
	createUser(t, s, &store.User{Name: "judy", Role: "admin"})
	for i, d := range []time.Duration{-time.Hour, -time.Second, 0, time.Second, time.Hour} {
		createSession(t, s, store.Session{TokenHash: fmt.Sprintf("s%d", i), User: "judy", Kind: store.SessionAPI,
			CreatedAt: base.Add(-2 * time.Hour), ExpiresAt: base.Add(d)})
	}
	n, err := s.DeleteExpiredSessions(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("DeleteExpiredSessions = %d, want 3 (expired before or at now)", n)
	}
	for i, live := range []bool{false, false, false, true, true} {
		// Read at a time when all would be valid: only deletion hides them.
		_, err := s.GetSession(ctx, fmt.Sprintf("s%d", i), base.Add(-3*time.Hour))
		if live && err != nil {
			t.Errorf("s%d: %v, want kept", i, err)
		}
		if !live && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("s%d: %v, want deleted", i, err)
		}
	}
	if n, err := s.DeleteExpiredSessions(ctx, base); err != nil || n != 0 {
		t.Errorf("second DeleteExpiredSessions = %d, %v; want 0", n, err)
	}
}

func testDeleteUserSessions(t *testing.T, s Store) {
	ctx := context.Background()
	createUser(t, s, &store.User{Name: "Kim", Role: "admin"})
	createUser(t, s, &store.User{Name: "lee", Role: "admin"})
	exp := base.Add(time.Hour)
	createSession(t, s, store.Session{TokenHash: "k1", User: "kim", Kind: store.SessionUI, ExpiresAt: exp})
	createSession(t, s, store.Session{TokenHash: "k2", User: "Kim", Kind: store.SessionAPI, ExpiresAt: exp})
	createSession(t, s, store.Session{TokenHash: "l1", User: "lee", Kind: store.SessionUI, ExpiresAt: exp})
	n, err := s.DeleteUserSessions(ctx, "KIM")
	if err != nil || n != 2 {
		t.Errorf("DeleteUserSessions(KIM) = %d, %v; want 2", n, err)
	}
	for _, h := range []string{"k1", "k2"} {
		if _, err := s.GetSession(ctx, h, base); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session %s after DeleteUserSessions: %v, want ErrNotFound", h, err)
		}
	}
	if _, err := s.GetSession(ctx, "l1", base); err != nil {
		t.Errorf("another user's session: %v", err)
	}
	if _, err := s.GetUser(ctx, "kim"); err != nil {
		t.Errorf("DeleteUserSessions removed the user: %v", err)
	}
	if n, err := s.DeleteUserSessions(ctx, "nobody"); err != nil || n != 0 {
		t.Errorf("DeleteUserSessions(unknown) = %d, %v; want 0, nil", n, err)
	}
}

func appendAudit(t *testing.T, s Store, e store.AuditEntry) int64 {
	t.Helper()
	id, err := s.AppendAudit(context.Background(), e)
	if err != nil {
		t.Fatalf("AppendAudit(%+v): %v", e, err)
	}
	return id
}

func auditIDs(t *testing.T, s Store, f store.AuditFilter) []int64 {
	t.Helper()
	got, err := s.ListAudit(context.Background(), f)
	if err != nil {
		t.Fatalf("ListAudit(%+v): %v", f, err)
	}
	ids := []int64{}
	for _, e := range got {
		ids = append(ids, e.ID)
	}
	return ids
}

func testAuditRoundTrip(t *testing.T, s Store) {
	ctx := context.Background()
	e := store.AuditEntry{At: base.In(time.FixedZone("CET", 3600)), User: "kate", Role: "supervisor", Tenant: "Environment",
		Action: store.AuditDownload, RecordingID: "01JC0000000000000000000000", Detail: "format=mp3", Remote: "192.0.2.7:51234",
		ID: 999}
	id := appendAudit(t, s, e)
	if id <= 0 {
		t.Fatalf("AppendAudit id = %d, want > 0", id)
	}
	got, err := s.ListAudit(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	want := e
	want.ID, want.At = id, e.At.UTC()
	if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("ListAudit = %+v, want [%+v]", got, want)
	}

	// A zero At is the store's clock.
	id2 := appendAudit(t, s, store.AuditEntry{User: "cli", Action: store.AuditExport})
	if id2 <= id {
		t.Errorf("second id %d not after first %d", id2, id)
	}
	got, err = s.ListAudit(ctx, store.AuditFilter{Action: store.AuditExport})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].At.IsZero() || got[0].At.Location() != time.UTC {
		t.Errorf("entry appended with zero At: %+v, want At set by the store, in UTC", got)
	}
	if _, err := s.AppendAudit(ctx, store.AuditEntry{User: "x"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("AppendAudit without action = %v, want ErrInvalid", err)
	}
}

func testAuditListFilters(t *testing.T, s Store) {
	at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	entries := []store.AuditEntry{
		{At: at(0), User: "Alice", Tenant: "T1", Action: store.AuditLogin},
		{At: at(1), User: "alice", Tenant: "t1", Action: store.AuditPlayback, RecordingID: "r1"},
		{At: at(2), User: "bob", Tenant: "T2", Action: store.AuditPlayback, RecordingID: "r2"},
		{At: at(3), User: "bob", Tenant: "T2", Action: store.AuditDownload, RecordingID: "r2"},
		{At: at(4), User: "root", Action: store.AuditUserChange, Detail: "created bob"},
		// Appended later with an earlier time: order is append order.
		{At: at(-10), User: "cli:ops", Tenant: "T1", Action: store.AuditExport, RecordingID: "r1"},
	}
	ids := make([]int64, len(entries))
	for i, e := range entries {
		ids[i] = appendAudit(t, s, e)
	}
	pick := func(idx ...int) []int64 {
		out := []int64{}
		for _, i := range idx {
			out = append(out, ids[i])
		}
		return out
	}
	tests := []struct {
		name string
		f    store.AuditFilter
		want []int64
	}{
		{"all, newest first", store.AuditFilter{}, pick(5, 4, 3, 2, 1, 0)},
		{"user, any case", store.AuditFilter{User: "ALICE"}, pick(1, 0)},
		{"action", store.AuditFilter{Action: store.AuditPlayback}, pick(2, 1)},
		{"tenant, any case", store.AuditFilter{Tenant: "t1"}, pick(5, 1, 0)},
		{"recording", store.AuditFilter{RecordingID: "r2"}, pick(3, 2)},
		{"since", store.AuditFilter{Since: at(3)}, pick(4, 3)},
		{"until", store.AuditFilter{Until: at(1)}, pick(5, 0)},
		{"since and until", store.AuditFilter{Since: at(1), Until: at(3)}, pick(2, 1)},
		{"combined", store.AuditFilter{User: "bob", Action: store.AuditDownload}, pick(3)},
		{"limit", store.AuditFilter{Limit: 2}, pick(5, 4)},
		{"before id", store.AuditFilter{BeforeID: ids[4], Limit: 2}, pick(3, 2)},
		{"before id, last page", store.AuditFilter{BeforeID: ids[1]}, pick(0)},
		{"before id with filter", store.AuditFilter{BeforeID: ids[3], User: "bob"}, pick(2)},
		{"no match", store.AuditFilter{User: "nobody"}, pick()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := auditIDs(t, s, tt.f); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ListAudit(%+v) ids = %v, want %v", tt.f, got, tt.want)
			}
		})
	}
}

func testAuditListLimits(t *testing.T, s Store) {
	const n = store.MaxAuditLimit + 1
	for i := range n {
		appendAudit(t, s, store.AuditEntry{At: base.Add(time.Duration(i) * time.Second), User: "u", Action: store.AuditPlayback})
	}
	for _, tt := range []struct {
		limit, want int
	}{
		{0, store.DefaultAuditLimit},
		{-1, store.DefaultAuditLimit},
		{7, 7},
		{store.MaxAuditLimit, store.MaxAuditLimit},
		{store.MaxAuditLimit + 500, store.MaxAuditLimit},
	} {
		if got := auditIDs(t, s, store.AuditFilter{Limit: tt.limit}); len(got) != tt.want {
			t.Errorf("ListAudit(Limit %d) returned %d entries, want %d", tt.limit, len(got), tt.want)
		}
	}
	// Paging with BeforeID visits every entry once, newest first.
	seen := 0
	var before int64
	for {
		page := auditIDs(t, s, store.AuditFilter{BeforeID: before, Limit: 300})
		if len(page) == 0 {
			break
		}
		for i, id := range page {
			if (before > 0 && id >= before) || (i > 0 && id >= page[i-1]) {
				t.Fatalf("page after %d not strictly descending below it: %v", before, page)
			}
		}
		seen += len(page)
		before = page[len(page)-1]
	}
	if seen != n {
		t.Errorf("paging visited %d entries, want %d", seen, n)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/bcrypt"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/sqlite"
	"github.com/openrec/openrec/internal/web/auth"
)

func init() { auth.Cost = bcrypt.MinCost } // fast hashes in tests

// runAdmin runs the admin (and recordings) commands in-process with stdin.
func runAdmin(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := &cobra.Command{Use: "openrec", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(newAdminCmd(), newRecordingsCmd())
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func openDB(t *testing.T, dir string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, dbFileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestAdminCreateUser(t *testing.T) {
	t.Setenv("USER", "ops")
	dir := filepath.Join(t.TempDir(), "fresh") // does not exist yet
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"admin, no tenant", "", []string{"--name", "root", "--password", "s3cret-pass", "--role", "admin"},
			"created user root (role admin)\n"},
		{"supervisor", "", []string{"--name", "Sue", "--password", "s3cret-pass", "--role", "supervisor", "--tenant", "Environment"},
			"created user Sue (role supervisor, tenant Environment)\n"},
		{"agent, password on stdin", "agent-pass-1\n", []string{"--name", "agent.7001@acme", "--password", "-", "--role", "Agent",
			"--tenant", "Environment", "--agent-id", "7001"},
			"created user agent.7001@acme (role agent, tenant Environment)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"admin", "create-user", "--data-dir", dir}, tt.args...)
			out, _, err := runAdmin(t, tt.stdin, args...)
			if err != nil {
				t.Fatal(err)
			}
			if out != tt.want {
				t.Errorf("stdout = %q, want %q", out, tt.want)
			}
		})
	}

	db := openDB(t, dir)
	ctx := context.Background()
	for _, tt := range []struct{ name, pw, role, tenant, agentID string }{
		{"ROOT", "s3cret-pass", "admin", "", ""},
		{"sue", "s3cret-pass", "supervisor", "Environment", ""},
		{"agent.7001@acme", "agent-pass-1", "agent", "Environment", "7001"},
	} {
		u, err := db.GetUser(ctx, tt.name)
		if err != nil {
			t.Fatalf("GetUser(%s): %v", tt.name, err)
		}
		if u.Role != tt.role || u.Tenant != tt.tenant || u.AgentID != tt.agentID || u.Disabled {
			t.Errorf("%s stored as %+v", tt.name, u)
		}
		if u.PasswordHash == tt.pw || !auth.CheckPassword(u.PasswordHash, tt.pw) {
			t.Errorf("%s: stored hash does not check the password", tt.name)
		}
	}
	entries, err := db.ListAudit(ctx, store.AuditFilter{Action: store.AuditUserChange})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 || entries[0].User != "cli:ops" || !strings.Contains(entries[0].Detail, "agent.7001@acme") {
		t.Errorf("user_change audit entries = %+v, want 3 by cli:ops, newest the agent", entries)
	}
}

func TestAdminCreateUserErrors(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := runAdmin(t, "", "admin", "create-user", "--data-dir", dir, "--name", "alice", "--password", "s3cret-pass",
		"--role", "admin"); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	emptyFile := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(emptyFile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dir     string
		stdin   string
		args    []string
		wantErr error
		wantMsg string
	}{
		{"duplicate", dir, "", []string{"--name", "alice", "--password", "other-pass", "--role", "admin"}, errUserExists, "already exists"},
		{"duplicate other case", dir, "", []string{"--name", "ALICE", "--password", "other-pass", "--role", "admin"}, errUserExists, "already exists"},
		{"bad role", fresh, "", []string{"--name", "bob", "--password", "s3cret-pass", "--role", "root"}, auth.ErrBadRole, "want admin, supervisor or agent"},
		{"weak password", fresh, "", []string{"--name", "bob", "--password", "short", "--role", "admin"}, auth.ErrWeakPassword, "at least 8"},
		{"long password", fresh, "", []string{"--name", "bob", "--password", strings.Repeat("x", 73), "--role", "admin"}, auth.ErrPasswordTooLong, "too long"},
		{"supervisor without tenant", fresh, "", []string{"--name", "bob", "--password", "s3cret-pass", "--role", "supervisor"}, errTenantNeeded, "--tenant is required"},
		{"agent with blank tenant", fresh, "", []string{"--name", "bob", "--password", "s3cret-pass", "--role", "agent", "--tenant", " "}, errTenantNeeded, "--tenant is required"},
		{"bad name", fresh, "", []string{"--name", "bob smith", "--password", "s3cret-pass", "--role", "admin"}, auth.ErrBadUserName, "invalid user name"},
		{"empty stdin", fresh, "", []string{"--name", "bob", "--password", "-", "--role", "admin"}, errEmptyPassword, "standard input"},
		{"weak stdin", fresh, "abc\n", []string{"--name", "bob", "--password", "-", "--role", "admin"}, auth.ErrWeakPassword, "at least 8"},
		{"no password", fresh, "", []string{"--name", "bob", "--role", "admin"}, errNoPassword, "--password-file"},
		{"two passwords", fresh, "", []string{"--name", "bob", "--password", "-", "--password-file", "x", "--role", "admin"}, errTwoPasswords, "one of them"},
		{"missing password file", fresh, "", []string{"--name", "bob", "--password-file", filepath.Join(fresh, "nope"), "--role", "admin"}, os.ErrNotExist, "--password-file"},
		{"empty password file", fresh, "", []string{"--name", "bob", "--password-file", emptyFile, "--role", "admin"}, errEmptyPwFile, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"admin", "create-user", "--data-dir", tt.dir}, tt.args...)
			_, _, err := runAdmin(t, tt.stdin, args...)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to say %q", err, tt.wantMsg)
			}
		})
	}
	// Rejected command lines leave no database behind.
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Errorf("a rejected create-user created %s: %v", fresh, err)
	}
	db := openDB(t, dir)
	if n, err := db.CountUsers(context.Background()); err != nil || n != 1 {
		t.Errorf("CountUsers = %d, %v; want 1", n, err)
	}
}

func TestAdminListUsers(t *testing.T) {
	dir := t.TempDir()
	out, stderr, err := runAdmin(t, "", "admin", "list-users", "--data-dir", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != "[]" || !strings.Contains(stderr, "no recordings database") {
		t.Errorf("list-users without a database: stdout %q, stderr %q; want [] and a note", out, stderr)
	}
	for _, args := range [][]string{
		{"--name", "zoe", "--password", "s3cret-pass", "--role", "agent", "--tenant", "T1", "--agent-id", "7001"},
		{"--name", "Adam", "--password", "s3cret-pass", "--role", "admin"},
	} {
		if _, _, err := runAdmin(t, "", append([]string{"admin", "create-user", "--data-dir", dir}, args...)...); err != nil {
			t.Fatal(err)
		}
	}
	out, _, err = runAdmin(t, "", "admin", "list-users", "--data-dir", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "$2") || strings.Contains(strings.ToLower(out), "password") {
		t.Errorf("list-users --json shows password material:\n%s", out)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, out)
	}
	if len(list) != 2 || list[0]["name"] != "Adam" || list[1]["name"] != "zoe" {
		t.Fatalf("list = %v, want Adam then zoe", list)
	}
	for _, k := range []string{"name", "role", "tenant", "agent_id", "disabled", "created_at", "updated_at"} {
		if _, ok := list[1][k]; !ok {
			t.Errorf("key %q missing", k)
		}
	}
	if list[1]["role"] != "agent" || list[1]["tenant"] != "T1" || list[1]["agent_id"] != "7001" || list[1]["disabled"] != false {
		t.Errorf("zoe = %v", list[1])
	}

	out, _, err = runAdmin(t, "", "admin", "list-users", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") ||
		!strings.HasPrefix(lines[1], "Adam") || !strings.Contains(lines[1], "admin") ||
		!strings.HasPrefix(lines[2], "zoe") || !strings.Contains(lines[2], "T1") || !strings.Contains(lines[2], "enabled") {
		t.Errorf("table:\n%s", out)
	}
}

func TestAdminSetPassword(t *testing.T) {
	t.Setenv("USER", "ops")
	dir := t.TempDir()
	if _, _, err := runAdmin(t, "", "admin", "create-user", "--data-dir", dir, "--name", "Sue", "--password", "old-password",
		"--role", "supervisor", "--tenant", "T1"); err != nil {
		t.Fatal(err)
	}
	db := openDB(t, dir)
	ctx := context.Background()
	tok, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSession(ctx, store.Session{TokenHash: auth.HashToken(tok), User: "Sue", Kind: store.SessionUI,
		ExpiresAt: recT0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	out, _, err := runAdmin(t, "new-password\r\n", "admin", "set-password", "--data-dir", dir, "--name", "sue", "--password", "-")
	if err != nil {
		t.Fatal(err)
	}
	if want := "password set for user Sue (1 sessions ended)\n"; out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	u, err := db.GetUser(ctx, "Sue")
	if err != nil {
		t.Fatal(err)
	}
	if !auth.CheckPassword(u.PasswordHash, "new-password") || auth.CheckPassword(u.PasswordHash, "old-password") {
		t.Error("password not changed")
	}
	if u.Role != "supervisor" || u.Tenant != "T1" {
		t.Errorf("set-password changed other fields: %+v", u)
	}
	if _, err := db.GetSession(ctx, auth.HashToken(tok), recT0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session after set-password: %v, want ended", err)
	}
	entries, err := db.ListAudit(ctx, store.AuditFilter{User: "cli:ops", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Action != store.AuditUserChange || entries[0].Detail != "set password of Sue" {
		t.Errorf("newest audit entry = %+v", entries)
	}

	for _, tt := range []struct {
		name    string
		dir     string
		args    []string
		wantErr error
	}{
		{"unknown user", dir, []string{"--name", "nobody", "--password", "new-password"}, errUserNotFound},
		{"weak password", dir, []string{"--name", "Sue", "--password", "short"}, auth.ErrWeakPassword},
		{"no database", filepath.Join(t.TempDir(), "none"), []string{"--name", "Sue", "--password", "new-password"}, errNoDatabase},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runAdmin(t, "", append([]string{"admin", "set-password", "--data-dir", tt.dir}, tt.args...)...)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestExportWritesAudit(t *testing.T) {
	media := wavFile{formatTag: 7, channels: 2, bits: 8, declared: 8000, data: make([]byte, 8000)}.bytes()
	r := completedRecording()
	r.ExternalData[store.TenantKey] = "Environment"
	dir := seedDataDir(t, r)
	writeMedia(t, dir, r.MediaPath, media)
	out := filepath.Join(t.TempDir(), "call.wav")

	for _, tt := range []struct {
		user, want string
	}{{"ops", "cli:ops"}, {"", "cli"}} {
		t.Setenv("USER", tt.user)
		if _, _, err := runAdmin(t, "", "recordings", "export", r.ID, "--data-dir", dir, "--out", out, "--force"); err != nil {
			t.Fatal(err)
		}
		db := openDB(t, dir)
		entries, err := db.ListAudit(context.Background(), store.AuditFilter{Action: store.AuditExport, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		_ = db.Close()
		want := store.AuditEntry{User: tt.want, Tenant: "Environment", Action: store.AuditExport, RecordingID: r.ID, Detail: out}
		if len(entries) != 1 {
			t.Fatalf("export audit entries = %+v, want one", entries)
		}
		got := entries[0]
		if got.At.IsZero() || got.ID == 0 {
			t.Errorf("entry %+v: want At and ID set", got)
		}
		got.ID, got.At = 0, want.At
		if got != want {
			t.Errorf("export audit entry = %+v, want %+v", got, want)
		}
	}

	// A failed export is not logged as one.
	db := openDB(t, dir)
	before, err := db.ListAudit(context.Background(), store.AuditFilter{Action: store.AuditExport})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	if _, _, err := runAdmin(t, "", "recordings", "export", r.ID, "--data-dir", dir, "--out", out); !errors.Is(err, errOutExists) {
		t.Fatalf("export over an existing file = %v, want errOutExists", err)
	}
	db = openDB(t, dir)
	after, err := db.ListAudit(context.Background(), store.AuditFilter{Action: store.AuditExport})
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("a failed export added an audit entry: %d → %d", len(before), len(after))
	}
}

// Issue 13: passwords from a file (never needed on a command line); one
// given on the command line still works but warns.
func TestAdminPasswordFile(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("from-a-file-pw\nignored second line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runAdmin(t, "", "admin", "create-user", "--data-dir", dir, "--name", "carol", "--password-file", pw, "--role", "admin")
	if err != nil || stderr != "" {
		t.Fatalf("create-user --password-file: %v, stderr %q", err, stderr)
	}
	u, err := openDB(t, dir).GetUser(context.Background(), "carol")
	if err != nil || !auth.CheckPassword(u.PasswordHash, "from-a-file-pw") {
		t.Fatalf("password from the file not set: %v", err)
	}
	if err := os.WriteFile(pw, []byte("second-file-pw\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runAdmin(t, "", "admin", "set-password", "--data-dir", dir, "--name", "carol", "--password-file", pw); err != nil {
		t.Fatal(err)
	}
	u, _ = openDB(t, dir).GetUser(context.Background(), "carol")
	if !auth.CheckPassword(u.PasswordHash, "second-file-pw") {
		t.Error("set-password --password-file did not set the file's first line")
	}
	_, stderr, err = runAdmin(t, "", "admin", "set-password", "--data-dir", dir, "--name", "carol", "--password", "on-the-command-line")
	if err != nil || !strings.Contains(stderr, "visible in the process list") {
		t.Errorf("--password VALUE: %v, stderr %q: want a warning", err, stderr)
	}
}

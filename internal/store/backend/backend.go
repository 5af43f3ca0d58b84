// Package backend picks the metadata store by URL: "sqlite:PATH" (the
// embedded default, store/sqlite) or "postgres://..." / "postgresql://..."
// (the shared store, store/postgres). Store is everything either
// implements: what `openrec serve`, the CLI and `openrec store migrate`
// use, whichever database is behind it.
package backend

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/postgres"
	"github.com/openrec/openrec/internal/store/sqlite"
)

// Store is a metadata store: recordings, retention, legal holds, users,
// sessions and the audit log.
type Store interface {
	CreateRecording(ctx context.Context, r *store.Recording) error
	UpdateRecording(ctx context.Context, r *store.Recording) error
	AddEvents(ctx context.Context, id string, events ...store.Event) error
	GetRecording(ctx context.Context, id string) (*store.Recording, error)
	ListRecordings(ctx context.Context, f store.Filter) ([]store.Recording, error)
	SearchRecordings(ctx context.Context, f store.Filter) (store.Page, error)
	SetMediaObject(ctx context.Context, id, object string) error
	TranscodeJob(ctx context.Context, id string) (*store.TranscodeJob, error)
	EnqueueTranscode(ctx context.Context, id string, now time.Time) (*store.TranscodeJob, error)
	EnqueueTranscodes(ctx context.Context, now time.Time, again ...store.TranscodeState) (int, error)
	ClaimTranscode(ctx context.Context, id string, now time.Time, lease time.Duration) (*store.TranscodeJob, error)
	FinishTranscode(ctx context.Context, id string, res store.TranscodeResult) error
	EndTranscodeAttempt(ctx context.Context, id string, state store.TranscodeState, lastError string, next time.Time) error
	CountTranscodeJobs(ctx context.Context) (map[store.TranscodeState]int, error)
	PutScreen(ctx context.Context, s *store.Screen) error
	GetScreen(ctx context.Context, recordingID string) (*store.Screen, error)
	Screens(ctx context.Context, ids []string) (map[string]*store.Screen, error)
	CountRecordings(ctx context.Context, f store.Filter) (int, error)

	SetRetention(ctx context.Context, id string, r store.Retention, keepUntil time.Time, reason string) error
	KeepRecording(ctx context.Context, id, reason string) error
	DiscardRecording(ctx context.Context, id, reason string) error
	DeleteRecording(ctx context.Context, d store.Deletion) error
	ListDeletions(ctx context.Context, since time.Time, limit int) ([]store.Deletion, error)
	Scrub(ctx context.Context) error

	SetLegalHold(ctx context.Context, h store.Hold) error
	ReleaseLegalHold(ctx context.Context, id string) error
	LegalHold(ctx context.Context, id string) (store.Hold, bool, error)
	ListLegalHolds(ctx context.Context) ([]store.Hold, error)
	SetCallHold(ctx context.Context, h store.CallHold) ([]string, error)
	ReleaseCallHold(ctx context.Context, callUUID string) ([]string, error)
	ListCallHolds(ctx context.Context) ([]store.CallHold, error)

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
	AuditHead(ctx context.Context) (id int64, hash string, err error)
	VerifyAudit(ctx context.Context) (store.AuditCheck, error)
	AuditHashAt(ctx context.Context, id int64) (string, error)

	Close() error
}

var (
	_ Store = (*sqlite.DB)(nil)
	_ Store = (*postgres.DB)(nil)
)

// ErrBadURL: a store URL of no known kind.
var ErrBadURL = errors.New("store URL: want sqlite:PATH, postgres://... or postgresql://...")

// DBFile is the SQLite database's name in a data directory.
const DBFile = "openrec.db"

// Default is the store of a data directory: its SQLite file.
func Default(dataDir string) string { return "sqlite:" + filepath.Join(dataDir, DBFile) }

// Kind says which store a URL names.
type Kind int

// Store kinds.
const (
	SQLite Kind = iota + 1
	Postgres
)

// Parse checks url and returns its kind and, for SQLite, the file path.
// A URL of no known kind, or "sqlite:" without a path, is ErrBadURL.
func Parse(url string) (Kind, string, error) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//")
		if path == "" {
			return 0, "", fmt.Errorf("%w: %q has no path", ErrBadURL, url)
		}
		return SQLite, path, nil
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return Postgres, "", nil
	}
	return 0, "", fmt.Errorf("%w: got %q", ErrBadURL, Redact(url))
}

// Open opens the store url names, creating the SQLite file (and its
// directories) or the PostgreSQL schema if needed. The PostgreSQL
// database itself must exist.
func Open(ctx context.Context, url string) (Store, error) {
	kind, path, err := Parse(url)
	if err != nil {
		return nil, err
	}
	if kind == SQLite {
		return sqlite.Open(ctx, path)
	}
	return postgres.Open(ctx, url)
}

// Redact returns url with any password replaced, for messages and logs.
func Redact(url string) string { return postgres.Redact(url) }

// Package sqlite is the embedded store: recording metadata in one SQLite
// file (modernc.org/sqlite, pure Go) at <data-dir>/openrec.db.
//
// The database runs in WAL mode with a 5 s busy timeout and foreign keys on;
// write transactions start with BEGIN IMMEDIATE, read transactions are
// deferred, so the CLI can open and read the file while `openrec serve`
// writes it. The schema is created and upgraded by the migrations embedded
// from migrations/*.sql; applied versions are kept in schema_migrations.
//
// Times are stored as TEXT, UTC, in the fixed-width RFC 3339 form
// 2006-01-02T15:04:05.000000000Z (text order = time order); a zero time is
// NULL. Codecs are a JSON array in recordings.codecs.
//
// Searches (search.go) share one WHERE builder and page by keyset:
// ListRecordings, SearchRecordings, CountRecordings.
//
// Retention state changes (retention.go) check and change a row in one
// write transaction; DeleteRecording deletes a row (its children cascade)
// and logs it in the deletions table in one transaction.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/openrec/openrec/internal/store"
)

// timeLayout is RFC 3339 with a fixed nine-digit fraction.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// DB is a recording store in one SQLite file. It is safe for concurrent use.
type DB struct {
	sql  *sql.DB
	path string
	now  func() time.Time

	closeOnce sync.Once
	closeErr  error
	mu        sync.RWMutex // guards closed
	closed    bool
}

// Option configures Open.
type Option func(*DB)

// WithClock sets the clock used for CreatedAt, UpdatedAt and
// schema_migrations.applied_at (default time.Now).
func WithClock(now func() time.Time) Option { return func(db *DB) { db.now = now } }

// Open opens (creating the file and its directories if needed) the
// database at path and applies pending migrations. Several processes may
// open the same file.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite: open %q: path must not contain '?'", path)
	}
	db := &DB{path: path, now: time.Now}
	for _, o := range opts {
		o(db)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
	}
	if err := privateFiles(path); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	dsn := path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)&_pragma=secure_delete(1)&_txlock=immediate"
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.sql = sdb
	if err := pingBusy(ctx, sdb); err != nil {
		_ = sdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		_ = sdb.Close()
		return nil, err
	}
	if err := migrate(ctx, sdb, ms, db.now); err != nil {
		_ = sdb.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	return db, nil
}

// pingBusy opens the first connection. Switching a fresh file to WAL needs
// an exclusive lock and SQLite reports SQLITE_BUSY at once, without its busy
// handler, when another process is switching it at the same moment: retry
// for up to five seconds.
func pingBusy(ctx context.Context, sdb *sql.DB) error {
	deadline := time.Now().Add(5 * time.Second)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := sdb.PingContext(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait + time.Duration(rand.Int64N(int64(wait)))):
		}
	}
}

func isBusy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

// Path returns the file the store was opened on.
func (db *DB) Path() string { return db.path }

// Close closes the database. It is idempotent and waits for running
// queries' connections to be released.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.mu.Lock()
		db.closed = true
		db.mu.Unlock()
		db.closeErr = db.sql.Close()
	})
	return db.closeErr
}

// enter guards a method against use after Close; leave with the returned func.
func (db *DB) enter() (func(), error) {
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return nil, ErrClosed
	}
	return db.mu.RUnlock, nil
}

// CreateRecording inserts r with its sip call ids, parties, segments,
// events, external data (empty values dropped) and retention state.
// CreatedAt is set from the clock unless already set; UpdatedAt is set to
// CreatedAt. Both are written back to r. A duplicate id is
// store.ErrConflict; an empty id or unknown Retention is store.ErrInvalid.
func (db *DB) CreateRecording(ctx context.Context, r *store.Recording) error {
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	if r.ID == "" {
		return fmt.Errorf("create recording: empty id: %w", store.ErrInvalid)
	}
	if !r.Retention.Valid() {
		return fmt.Errorf("create recording %s: retention %q: %w", r.ID, r.Retention, store.ErrInvalid)
	}
	created := r.CreatedAt
	if created.IsZero() {
		created = db.now()
	}
	codecs, err := encodeCodecs(r.Codecs)
	if err != nil {
		return err
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO recordings (
			id, mode, status, status_reason, call_uuid, record_id, siprec_session_id,
			recorded_dn, other_dn, started_at, ended_at, duration_ms, channels, codecs,
			format, media_path, size_bytes, sha256, needs_transcode, metadata,
			metadata_problem, correlation, retention, keep_until, retention_reason, created_at, updated_at, sample_rate)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, string(r.Mode), string(r.Status), r.StatusReason, r.CallUUID, r.RecordID, r.SIPRECSessionID,
			r.RecordedDN, r.OtherDN, nullTime(r.StartedAt), nullTime(r.EndedAt), r.DurationMS, r.Channels, codecs,
			r.Format, r.MediaPath, r.SizeBytes, r.SHA256, r.NeedsTranscode, r.Metadata,
			r.MetadataProblem, r.Correlation, string(r.Retention), nullTime(r.KeepUntil), r.RetentionReason,
			formatTime(created), formatTime(created), r.SampleRate)
		if err != nil {
			if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
				return fmt.Errorf("create recording %s: %w", r.ID, store.ErrConflict)
			}
			return fmt.Errorf("create recording %s: %w", r.ID, err)
		}
		if err := insertChildren(ctx, tx, r); err != nil {
			return fmt.Errorf("create recording %s: %w", r.ID, err)
		}
		return insertEvents(ctx, tx, r.ID, r.Events)
	})
	if err != nil {
		return err
	}
	r.CreatedAt, r.UpdatedAt = created.UTC(), created.UTC()
	return nil
}

// UpdateRecording replaces every scalar of the stored recording and its sip
// call ids, parties, segments and external data with r's. Events,
// CreatedAt and the retention state (Retention, KeepUntil,
// RetentionReason: decided concurrently by the CTI side) are not touched;
// their stored values are read back into r. UpdatedAt is set from the clock
// and written back to r. An unknown id is store.ErrNotFound.
func (db *DB) UpdateRecording(ctx context.Context, r *store.Recording) error {
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	codecs, err := encodeCodecs(r.Codecs)
	if err != nil {
		return err
	}
	updated := db.now()
	var (
		created, retention, reason, mediaObject string
		keepUntil                               sql.NullString
	)
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE recordings SET
			mode = ?, status = ?, status_reason = ?, call_uuid = ?, record_id = ?, siprec_session_id = ?,
			recorded_dn = ?, other_dn = ?, started_at = ?, ended_at = ?, duration_ms = ?, channels = ?,
			codecs = ?, format = ?, media_path = ?, size_bytes = ?, sha256 = ?, needs_transcode = ?,
			metadata = ?, metadata_problem = ?, correlation = ?, updated_at = ?, sample_rate = ?
			WHERE id = ? RETURNING created_at, retention, keep_until, retention_reason, media_object`,
			string(r.Mode), string(r.Status), r.StatusReason, r.CallUUID, r.RecordID, r.SIPRECSessionID,
			r.RecordedDN, r.OtherDN, nullTime(r.StartedAt), nullTime(r.EndedAt), r.DurationMS, r.Channels,
			codecs, r.Format, r.MediaPath, r.SizeBytes, r.SHA256, r.NeedsTranscode,
			r.Metadata, r.MetadataProblem, r.Correlation, formatTime(updated), r.SampleRate, r.ID).Scan(&created, &retention, &keepUntil, &reason, &mediaObject)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("update recording %s: %w", r.ID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("update recording %s: %w", r.ID, err)
		}
		for _, table := range []string{"sip_call_ids", "parties", "segments", "couples", "external_data"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE recording_id = ?`, r.ID); err != nil {
				return fmt.Errorf("update recording %s: %w", r.ID, err)
			}
		}
		if err := insertChildren(ctx, tx, r); err != nil {
			return fmt.Errorf("update recording %s: %w", r.ID, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c, err := parseTime(created)
	if err != nil {
		return err
	}
	ku, err := parseNullTime(keepUntil)
	if err != nil {
		return err
	}
	r.CreatedAt, r.UpdatedAt = c, updated.UTC()
	r.Retention, r.KeepUntil, r.RetentionReason = store.Retention(retention), ku, reason
	r.MediaObject = mediaObject
	return nil
}

// SetMediaObject records that the media of recording id now lives at
// object ("s3://BUCKET/KEY"; "" = back on local disk). It touches nothing
// else of the row. An unknown id is store.ErrNotFound.
func (db *DB) SetMediaObject(ctx context.Context, id, object string) error {
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE recordings SET media_object = ?, updated_at = ? WHERE id = ?`, object, formatTime(db.now()), id)
		if err != nil {
			return fmt.Errorf("set media object of %s: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("set media object of %s: %w", id, err)
		} else if n == 0 {
			return fmt.Errorf("set media object of %s: %w", id, store.ErrNotFound)
		}
		return nil
	})
}

// AddEvents appends events to recording id. An unknown id is
// store.ErrNotFound.
func (db *DB) AddEvents(ctx context.Context, id string, events ...store.Event) error {
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM recordings WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("add events to %s: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("add events to %s: %w", id, err)
		}
		return insertEvents(ctx, tx, id, events)
	})
}

// GetRecording returns recording id with its sip call ids, parties,
// segments, events (in append order) and external data. An unknown id is
// store.ErrNotFound.
func (db *DB) GetRecording(ctx context.Context, id string) (*store.Recording, error) {
	leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	var out []store.Recording
	err = db.inReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = queryRecordings(ctx, tx, `SELECT `+recordingColumns+` FROM recordings WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get recording %s: %w", id, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("get recording %s: %w", id, store.ErrNotFound)
	}
	return &out[0], nil
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE: the write lock is
// taken up front, waiting up to the busy timeout, so the transaction never
// fails half way on an upgrade from a read lock).
func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// inReadTx runs fn in a deferred read transaction: one consistent snapshot
// for a recording and its children, without blocking writers (WAL).
func (db *DB) inReadTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}

func isConstraint(err error, code int) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == code
}

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: bad stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

func parseNullTime(s sql.NullString) (time.Time, error) {
	if !s.Valid || s.String == "" {
		return time.Time{}, nil
	}
	return parseTime(s.String)
}

func encodeCodecs(c []string) (string, error) {
	if len(c) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("sqlite: encode codecs: %w", err)
	}
	return string(b), nil
}

// privateFiles creates the database file readable by its owner only, so
// that SQLite, which gives its WAL and shared-memory files the mode of the
// database file, creates those private too; files left wider by an older
// version are narrowed.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
				return err
			}
		}
	}
	return nil
}

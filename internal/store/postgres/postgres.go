// Package postgres is the shared store: recording metadata in PostgreSQL
// (github.com/jackc/pgx/v5, pgxpool), for several recorder, core and API
// processes on one database. It implements exactly what store/sqlite does
// and passes the same conformance suite (store/storetest).
//
// The schema is created and upgraded by the migrations embedded from
// migrations/*.sql, numbered and named as the SQLite store's (one schema,
// two dialects); applied versions are kept in schema_migrations, and a
// transaction-scoped advisory lock makes processes starting at once apply
// each step once.
//
// Dialect choices that keep the SQLite store's semantics:
//   - every text column is COLLATE "C": byte order as SQLite's BINARY, for
//     ORDER BY and keyset pages; lower() then folds ASCII only, which is
//     SQLite's NOCASE (searches, user names, audit filters);
//   - times are TEXT in the same fixed-width RFC 3339 form (nanoseconds,
//     UTC; NULL = zero), so values, cursors and the audit hash chain are the
//     same text in both stores and `openrec store migrate` copies them
//     verbatim;
//   - GLOB (case-sensitive DN patterns) is LIKE under "C" with '%', '_' and
//     '\' escaped.
//
// Several processes write at once (SQLite had one writer at a time): state
// checks read their row FOR UPDATE, audit appends lock the audit table
// against other writers so the hash chain follows id order, and call holds
// take an advisory lock per call shared with the recordings triggers.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openrec/openrec/internal/store"
)

// timeLayout is RFC 3339 with a fixed nine-digit fraction (as store/sqlite).
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// defaultConnectTimeout bounds a connection attempt without
// connect_timeout in the URL.
const defaultConnectTimeout = 10 * time.Second

// DB is a recording store in one PostgreSQL database. It is safe for
// concurrent use, also by several processes.
type DB struct {
	pool cleanPool // every query's strings made storable (text.go)
	url  string
	now  func() time.Time

	closeOnce sync.Once
	mu        sync.RWMutex // guards closed
	closed    bool
}

// Option configures Open.
type Option func(*DB)

// WithClock sets the clock used for CreatedAt, UpdatedAt and
// schema_migrations.applied_at (default time.Now).
func WithClock(now func() time.Time) Option { return func(db *DB) { db.now = now } }

// Open connects to the database at url (postgres://... or
// postgresql://..., libpq keyword/value strings too) and applies pending
// migrations. The database must exist.
func Open(ctx context.Context, url string, opts ...Option) (*DB, error) {
	db := &DB{url: url, now: time.Now}
	for _, o := range opts {
		o(db)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open %s: %w", Redact(url), err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// A server that drops packets fails a start (or a probe) in
		// seconds, not after the kernel's SYN retries (connect_timeout in
		// the URL overrides this).
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open %s: %w", Redact(url), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open %s: %w", Redact(url), err)
	}
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		pool.Close()
		return nil, err
	}
	if err := migrate(ctx, pool, ms, db.now); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate %s: %w", Redact(url), err)
	}
	db.pool = cleanPool{pool}
	return db, nil
}

// Redact returns url with its password replaced by "xxxxx", for messages
// and logs.
func Redact(url string) string {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return url
	}
	creds, host, ok := strings.Cut(rest, "@")
	if !ok {
		return url
	}
	if user, _, hasPw := strings.Cut(creds, ":"); hasPw {
		return scheme + "://" + user + ":xxxxx@" + host
	}
	return url
}

// URL returns the connection string the store was opened with, password
// redacted.
func (db *DB) URL() string { return Redact(db.url) }

// Close closes the pool. It is idempotent and waits for connections in use
// to be released.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.mu.Lock()
		db.closed = true
		db.mu.Unlock()
		db.pool.Close()
	})
	return nil
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

// inTx runs fn in a read-committed write transaction; rows whose state
// decides a change are read FOR UPDATE by fn.
func (db *DB) inTx(ctx context.Context, fn func(cleanTx) error) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error { return fn(cleanTx{tx}) })
}

// inReadTx runs fn in a read-only REPEATABLE READ transaction: one
// consistent snapshot for a page of recordings and their children.
func (db *DB) inReadTx(ctx context.Context, fn func(cleanTx) error) error {
	return pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error { return fn(cleanTx{tx}) })
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
	out := r
	r = storableRecording(r)
	codecs, err := encodeCodecs(r.Codecs)
	if err != nil {
		return err
	}
	err = db.inTx(ctx, func(tx cleanTx) error {
		_, err := tx.Exec(ctx, `INSERT INTO recordings (`+recordingColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
			$21, $22, $23, $24, $25, $26, $27, $28, $29)`,
			r.ID, string(r.Mode), string(r.Status), r.StatusReason, r.CallUUID, r.RecordID, r.SIPRECSessionID,
			r.RecordedDN, r.OtherDN, nullTime(r.StartedAt), nullTime(r.EndedAt), r.DurationMS, r.Channels, codecs,
			r.Format, r.MediaPath, r.SizeBytes, r.SHA256, r.NeedsTranscode, r.Metadata,
			r.MetadataProblem, r.Correlation, string(r.Retention), nullTime(r.KeepUntil), r.RetentionReason,
			formatTime(created), formatTime(created), "", r.SampleRate) // media_object: only SetMediaObject writes it
		if err != nil {
			if isCode(err, codeUniqueViolation, "recordings_pkey") {
				return fmt.Errorf("create recording %s: %w", r.ID, store.ErrConflict)
			}
			return fmt.Errorf("create recording %s: %w", r.ID, err)
		}
		b := &pgx.Batch{}
		queueChildren(b, r)
		queueEvents(b, r.ID, r.Events)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("create recording %s: %w", r.ID, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	out.CreatedAt, out.UpdatedAt = created.UTC(), created.UTC()
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
	out := r
	r = storableRecording(r)
	codecs, err := encodeCodecs(r.Codecs)
	if err != nil {
		return err
	}
	updated := db.now()
	var (
		created, retention, reason, mediaObject string
		keepUntil                               *string
	)
	err = db.inTx(ctx, func(tx cleanTx) error {
		// The UPDATE locks the row: concurrent updates of one recording
		// replace its children one after the other.
		err := tx.QueryRow(ctx, `UPDATE recordings SET
			mode = $1, status = $2, status_reason = $3, call_uuid = $4, record_id = $5, siprec_session_id = $6,
			recorded_dn = $7, other_dn = $8, started_at = $9, ended_at = $10, duration_ms = $11, channels = $12,
			codecs = $13, format = $14, media_path = $15, size_bytes = $16, sha256 = $17, needs_transcode = $18,
			metadata = $19, metadata_problem = $20, correlation = $21, updated_at = $22, sample_rate = $24
			WHERE id = $23 RETURNING created_at, retention, keep_until, retention_reason, media_object`,
			string(r.Mode), string(r.Status), r.StatusReason, r.CallUUID, r.RecordID, r.SIPRECSessionID,
			r.RecordedDN, r.OtherDN, nullTime(r.StartedAt), nullTime(r.EndedAt), r.DurationMS, r.Channels,
			codecs, r.Format, r.MediaPath, r.SizeBytes, r.SHA256, r.NeedsTranscode,
			r.Metadata, r.MetadataProblem, r.Correlation, formatTime(updated), r.ID, r.SampleRate).Scan(&created, &retention, &keepUntil, &reason, &mediaObject)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("update recording %s: %w", r.ID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("update recording %s: %w", r.ID, err)
		}
		b := &pgx.Batch{}
		for _, table := range []string{"sip_call_ids", "parties", "segments", "couples", "external_data"} {
			b.Queue(`DELETE FROM `+table+` WHERE recording_id = $1`, r.ID)
		}
		queueChildren(b, r)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
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
	out.CreatedAt, out.UpdatedAt = c, updated.UTC()
	out.Retention, out.KeepUntil, out.RetentionReason = store.Retention(retention), ku, reason
	out.MediaObject = mediaObject
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
	return db.inTx(ctx, func(tx cleanTx) error {
		tag, err := tx.Exec(ctx, `UPDATE recordings SET media_object = $1, updated_at = $2 WHERE id = $3`, storable(object), formatTime(db.now()), storable(id))
		if err != nil {
			return fmt.Errorf("set media object of %s: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
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
	return db.inTx(ctx, func(tx cleanTx) error {
		// FOR KEY SHARE: the recording cannot be deleted before the events
		// are in (as their foreign key would do), other writers go on.
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM recordings WHERE id = $1 FOR KEY SHARE`, id).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("add events to %s: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("add events to %s: %w", id, err)
		}
		b := &pgx.Batch{}
		queueEvents(b, storable(id), storableEvents(events))
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("add events to %s: %w", id, err)
		}
		return nil
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
	err = db.inReadTx(ctx, func(tx cleanTx) error {
		var err error
		out, err = queryRecordings(ctx, tx, `SELECT `+recordingColumns+` FROM recordings WHERE id = $1`, id)
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

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// nullTime is t's stored form, nil (NULL) for the zero time.
func nullTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := formatTime(t)
	return &s
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("postgres: bad stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

func parseNullTime(s *string) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, nil
	}
	return parseTime(*s)
}

func encodeCodecs(c []string) (string, error) {
	if len(c) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("postgres: encode codecs: %w", err)
	}
	return string(b), nil
}

// foldASCII lowers ASCII letters only: the argument side of a comparison
// with lower(column) under COLLATE "C" (SQLite's NOCASE).
func foldASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// Probe checks that the database takes writes now: it answers, and it is
// not a read-only standby (after a failover to one, or during recovery).
// The recorder's resource guard calls it with its data directory probe.
func (db *DB) Probe(ctx context.Context) error {
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	var standby bool
	if err := db.pool.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&standby); err != nil {
		return fmt.Errorf("postgres %s: %w", db.URL(), err)
	}
	if standby {
		return fmt.Errorf("postgres %s: the database is a read-only standby", db.URL())
	}
	return nil
}

// Package storecopy is `openrec store migrate`: it copies every table of a
// SQLite store into a PostgreSQL store — recordings and their children,
// deletions, users, sessions, the audit log (ids and hashes as they are:
// the hash chain stays valid), legal holds and call holds — in batches, and
// checks the row counts at the end.
//
// The copy is resumable: each batch is one target transaction, written in
// primary key order, so the target always holds a prefix of each table;
// run again, a table continues after the largest key the target has, and
// no row is copied twice. Rows are copied as stored (both stores keep the
// same text for times), not through the store API, so nothing is
// recomputed or renumbered. The source's rows are only read (its schema is
// brought to this binary's version first, as any openrec command does; a
// missing source file is an error, never created); stop `openrec serve`
// (or point it at the target) before the final run, or the counts will
// differ and say so.
package storecopy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/openrec/openrec/internal/store/backend"
	"github.com/openrec/openrec/internal/store/postgres"
	"github.com/openrec/openrec/internal/store/sqlite"
)

// DefaultBatch is the number of rows of one batch when Options.Batch is
// not positive.
const DefaultBatch = 1000

// Options tune a copy.
type Options struct {
	Batch int // rows per target transaction; default DefaultBatch
	// Progress, if set, is called after every batch with the table, the
	// rows it has in the target now and the rows of the source.
	Progress func(table string, done, total int64)
}

// TableCount is one table's row counts at the end of a copy.
type TableCount struct {
	Table  string `json:"table"`
	Source int64  `json:"source"`
	Target int64  `json:"target"`
	Copied int64  `json:"copied"` // by this run
}

// Report is what a copy did.
type Report struct {
	Tables    []TableCount `json:"tables"`
	AuditHead string       `json:"audit_head"` // the target's audit chain head, "ID:HASH"
}

// ErrCountMismatch: after the copy a table has a different number of rows
// in the target than in the source (the source was written during the
// copy, or the target held other rows).
var ErrCountMismatch = errors.New("row counts differ after the copy")

// ErrAuditChain: the target's audit hash chain does not end where the
// source's does.
var ErrAuditChain = errors.New("audit hash chain differs after the copy")

// ErrUnsupported: a copy between stores of these kinds is not supported.
var ErrUnsupported = errors.New("store migrate copies from sqlite:PATH to postgres://... only")

// column is one copied column; boolean ones are INTEGER 0/1 in SQLite.
type column struct {
	name string
	bool bool
}

// table is one table to copy: its columns (the target's names; a
// session's user_key is the source's user_name, folded), its primary key
// (the copy order), and its identity column whose sequence must follow
// the copied ids.
type table struct {
	name     string
	cols     []column
	key      []string
	identity string
	// srcExpr overrides a target column's source expression.
	srcExpr map[string]string
}

func cols(names ...string) []column {
	out := make([]column, len(names))
	for i, n := range names {
		out[i] = column{name: n}
	}
	return out
}

// tables in copy order: parents before children (foreign keys), and
// recordings before legal and call holds (the call-hold trigger finds no
// call hold while recordings are copied, so it makes no rows the copy of
// legal_holds would then meet).
var tables = []table{
	{name: "users", key: []string{"name"},
		cols: append(cols("name", "role", "tenant", "agent_id", "password_hash"), column{"disabled", true}, column{name: "created_at"}, column{name: "updated_at"})},
	{name: "sessions", key: []string{"token_hash"}, cols: cols("token_hash", "user_key", "kind", "csrf", "created_at", "expires_at"),
		srcExpr: map[string]string{"user_key": "lower(user_name)"}},
	{name: "recordings", key: []string{"id"}, cols: append(append(cols("id", "mode", "status", "status_reason", "call_uuid", "record_id", "siprec_session_id",
		"recorded_dn", "other_dn", "started_at", "ended_at", "duration_ms", "channels", "codecs",
		"format", "media_path", "size_bytes", "sha256"), column{"needs_transcode", true}), cols("metadata",
		"metadata_problem", "correlation", "retention", "keep_until", "retention_reason", "created_at", "updated_at", "media_object", "sample_rate")...)},
	{name: "sip_call_ids", key: []string{"recording_id", "pos"}, cols: cols("recording_id", "pos", "sip_call_id")},
	{name: "parties", key: []string{"recording_id", "pos"}, cols: cols("recording_id", "pos", "channel", "role", "dn", "label", "aor", "name", "participant_id", "sip_call_id")},
	{name: "segments", key: []string{"recording_id", "pos"}, cols: cols("recording_id", "pos", "type", "channel", "start_ms", "end_ms")},
	{name: "events", key: []string{"seq"}, identity: "seq", cols: cols("seq", "recording_id", "type", "at_ms", "channel", "detail", "at")},
	{name: "external_data", key: []string{"recording_id", "key"}, cols: cols("recording_id", "key", "value")},
	{name: "couples", key: []string{"recording_id", "pos"}, cols: cols("recording_id", "pos", "start_ms", "end_ms", "this_dn", "other_dn", "conn_id", "call_uuid", "external_data")},
	{name: "deletions", key: []string{"seq"}, identity: "seq", cols: cols("seq", "recording_id", "call_uuid", "record_id", "recorded_dn", "tenant", "media_path", "reason", "started_at", "deleted_at")},
	{name: "audit", key: []string{"id"}, identity: "id", cols: cols("id", "at", "user_name", "role", "tenant", "action", "recording_id", "detail", "remote", "hash")},
	{name: "screen_media", key: []string{"recording_id"}, cols: append(cols("recording_id", "agent", "started_at", "ended_at", "width", "height", "codec",
		"total_bytes", "held_bytes", "held"), column{"complete", true}, column{"encrypted", true}, column{name: "updated_at"})},
	{name: "transcode_jobs", key: []string{"recording_id"}, cols: cols("recording_id", "state", "attempts", "last_error", "next_attempt_at", "created_at", "updated_at")},
	{name: "legal_holds", key: []string{"recording_id"}, cols: cols("recording_id", "reason", "set_by", "set_at", "call_uuid")},
	{name: "call_holds", key: []string{"call_uuid"}, cols: cols("call_uuid", "reason", "set_by", "set_at")},
}

// Copy copies the store at from (sqlite:PATH) into the store at to
// (postgres://...), creating or upgrading both schemas first. Run again
// after an interruption it continues where the last run stopped.
func Copy(ctx context.Context, from, to string, opt Options) (Report, error) {
	var rep Report
	fromKind, path, err := backend.Parse(from)
	if err != nil {
		return rep, fmt.Errorf("--from: %w", err)
	}
	toKind, _, err := backend.Parse(to)
	if err != nil {
		return rep, fmt.Errorf("--to: %w", err)
	}
	if fromKind != backend.SQLite || toKind != backend.Postgres {
		return rep, ErrUnsupported
	}
	if opt.Batch <= 0 {
		opt.Batch = DefaultBatch
	}
	// A mistyped source must not become a new empty database (and an
	// empty copy).
	if _, err := os.Stat(path); err != nil {
		return rep, fmt.Errorf("source: %w", err)
	}
	// Opening through the stores brings both schemas to this binary's
	// version, so the tables and columns below exist on both sides.
	src, err := sqlite.Open(ctx, path)
	if err != nil {
		return rep, fmt.Errorf("source: %w", err)
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, to)
	if err != nil {
		return rep, fmt.Errorf("target: %w", err)
	}
	defer dst.Close()
	// The driver "sqlite" is modernc.org/sqlite's, registered by
	// store/sqlite. The copy only reads the source's rows.
	sdb, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return rep, fmt.Errorf("source: %w", err)
	}
	defer sdb.Close()
	conn, err := pgx.Connect(ctx, to)
	if err != nil {
		return rep, fmt.Errorf("target %s: %w", backend.Redact(to), err)
	}
	defer conn.Close(context.Background())
	for _, t := range tables {
		tc, err := copyTable(ctx, sdb, conn, t, opt)
		if err != nil {
			return rep, fmt.Errorf("copy %s: %w", t.name, err)
		}
		rep.Tables = append(rep.Tables, tc)
	}
	// Fresh statistics: the planner of a database just filled knows none
	// (autovacuum would analyze it only later), and without them searches
	// collect every match instead of walking the sort index.
	if _, err := conn.Exec(ctx, `ANALYZE`); err != nil {
		return rep, fmt.Errorf("target: analyze: %w", err)
	}
	var bad []string
	for _, tc := range rep.Tables {
		if tc.Source != tc.Target {
			bad = append(bad, fmt.Sprintf("%s: source %d, target %d", tc.Table, tc.Source, tc.Target))
		}
	}
	if len(bad) > 0 {
		return rep, fmt.Errorf("%w: %s", ErrCountMismatch, strings.Join(bad, "; "))
	}
	// The chain is checked on both sides: the copy must neither break it
	// nor hide that the source's was broken already.
	want, err := src.VerifyAudit(ctx)
	if err != nil {
		return rep, fmt.Errorf("source: %w", err)
	}
	check, err := dst.VerifyAudit(ctx)
	if err != nil {
		return rep, fmt.Errorf("target: %w", err)
	}
	if check.Broken != want.Broken || check.Head != want.Head || check.HeadID != want.HeadID {
		return rep, fmt.Errorf("%w: target audit chain head %d:%s with %d broken entries, source %d:%s with %d",
			ErrAuditChain, check.HeadID, check.Head, check.Broken, want.HeadID, want.Head, want.Broken)
	}
	if check.HeadID > 0 {
		rep.AuditHead = fmt.Sprintf("%d:%s", check.HeadID, check.Head)
	}
	return rep, nil
}

// copyTable copies the rows of t the target does not have yet, after the
// largest key it has, in batches of opt.Batch rows.
func copyTable(ctx context.Context, src *sql.DB, dst *pgx.Conn, t table, opt Options) (TableCount, error) {
	tc := TableCount{Table: t.name}
	if err := src.QueryRowContext(ctx, `SELECT count(*) FROM `+t.name).Scan(&tc.Source); err != nil {
		return tc, fmt.Errorf("count source: %w", err)
	}
	if err := dst.QueryRow(ctx, `SELECT count(*) FROM `+t.name).Scan(&tc.Target); err != nil {
		return tc, fmt.Errorf("count target: %w", err)
	}
	last, err := lastKey(ctx, dst, t)
	if err != nil {
		return tc, err
	}
	names := make([]string, len(t.cols))
	exprs := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = c.name
		exprs[i] = c.name
		if e, ok := t.srcExpr[c.name]; ok {
			exprs[i] = e
		}
	}
	// Keys compare and sort as bytes on both sides (COLLATE BINARY here,
	// "C" there), so "after the target's last key" means the same rows.
	order := make([]string, len(t.key))
	for i, k := range t.key {
		order[i] = k + ` COLLATE BINARY`
	}
	keyTuple := `(` + strings.Join(order, `, `) + `)`
	marks := `(` + strings.TrimSuffix(strings.Repeat(`?, `, len(t.key)), `, `) + `)`
	for {
		q := `SELECT ` + strings.Join(exprs, `, `) + ` FROM ` + t.name
		var args []any
		if last != nil {
			q += ` WHERE ` + keyTuple + ` > ` + marks
			args = append(args, last...)
		}
		q += ` ORDER BY ` + strings.Join(order, `, `) + ` LIMIT ?`
		args = append(args, opt.Batch)
		rows, err := readRows(ctx, src, q, args, t)
		if err != nil {
			return tc, fmt.Errorf("read source: %w", err)
		}
		if len(rows) == 0 {
			break
		}
		err = pgx.BeginFunc(ctx, dst, func(tx pgx.Tx) error {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, names, pgx.CopyFromRows(rows))
			return err
		})
		if err != nil {
			return tc, fmt.Errorf("write target (rows after key %v): %w", last, err)
		}
		tc.Copied += int64(len(rows))
		tc.Target += int64(len(rows))
		last = keyOf(t, rows[len(rows)-1])
		if opt.Progress != nil {
			opt.Progress(t.name, tc.Target, tc.Source)
		}
		if len(rows) < opt.Batch {
			break
		}
	}
	if t.identity != "" {
		// Ids copied as they were: the identity's sequence continues
		// after the largest one.
		if _, err := dst.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), coalesce((SELECT max(`+t.identity+`) FROM `+t.name+`), 0) + 1, false)`,
			t.name, t.identity); err != nil {
			return tc, fmt.Errorf("advance the %s sequence: %w", t.identity, err)
		}
	}
	return tc, nil
}

// lastKey returns the key of the target's last row of t in key order, nil
// when it has none.
func lastKey(ctx context.Context, dst *pgx.Conn, t table) ([]any, error) {
	desc := make([]string, len(t.key))
	for i, k := range t.key {
		desc[i] = k + ` DESC`
	}
	rows, err := dst.Query(ctx, `SELECT `+strings.Join(t.key, `, `)+` FROM `+t.name+` ORDER BY `+strings.Join(desc, `, `)+` LIMIT 1`)
	if err != nil {
		return nil, fmt.Errorf("last copied key: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	vals, err := rows.Values()
	if err != nil {
		return nil, fmt.Errorf("last copied key: %w", err)
	}
	return vals, rows.Err()
}

// keyOf picks t's key values out of a copied row.
func keyOf(t table, row []any) []any {
	out := make([]any, len(t.key))
	for i, k := range t.key {
		for j, c := range t.cols {
			if c.name == k {
				out[i] = row[j]
			}
		}
	}
	return out
}

// readRows runs q on the source and returns its rows with SQLite's values
// turned into the target's types: 0/1 into booleans, text PostgreSQL
// cannot hold (invalid UTF-8, NUL) made storable as the store does.
func readRows(ctx context.Context, src *sql.DB, q string, args []any, t table) ([][]any, error) {
	rows, err := src.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(t.cols))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, c := range t.cols {
			switch v := vals[i].(type) {
			case int64:
				if c.bool {
					vals[i] = v != 0
				}
			case []byte:
				vals[i] = postgres.Storable(string(v))
			case string:
				vals[i] = postgres.Storable(v)
			}
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}

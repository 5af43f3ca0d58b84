package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/openrec/openrec/internal/store"
)

// The audit log (migration 0005) is append-only: there is no method to
// change or delete an entry, and triggers refuse an UPDATE, DELETE or
// TRUNCATE of the audit table done by hand. Its hash chain (0006) is the
// SQLite store's, byte for byte: a log copied by `openrec store migrate`
// verifies in either store.

// AppendAudit appends e to the audit log and returns its id (increasing in
// append order). A zero e.At is the store clock's now; e.ID is ignored. An
// empty Action is store.ErrInvalid.
//
// The append locks the audit table IN EXCLUSIVE MODE (readers go on,
// other appends wait) until it commits: with several processes writing,
// the newest entry read is still the newest when this one is inserted, and
// ids are handed out in commit order, so the chain follows id order.
func (db *DB) AppendAudit(ctx context.Context, e store.AuditEntry) (int64, error) {
	leave, err := db.enter()
	if err != nil {
		return 0, err
	}
	defer leave()
	if e.Action == "" {
		return 0, fmt.Errorf("append audit: empty action: %w", store.ErrInvalid)
	}
	if e.At.IsZero() {
		e.At = db.now()
	}
	// The hash commits to the text as stored (text.go).
	for _, f := range []*string{&e.User, &e.Role, &e.Tenant, &e.Action, &e.RecordingID, &e.Detail, &e.Remote} {
		*f = storable(*f)
	}
	var id int64
	err = db.inTx(ctx, func(tx cleanTx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE audit IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		var prev string
		err := tx.QueryRow(ctx, `SELECT hash FROM audit ORDER BY id DESC LIMIT 1`).Scan(&prev)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		at := formatTime(e.At)
		h := store.AuditChainHash(prev, at, e.User, e.Role, e.Tenant, e.Action, e.RecordingID, e.Detail, e.Remote)
		return tx.QueryRow(ctx, `INSERT INTO audit (at, user_name, role, tenant, action, recording_id, detail, remote, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			at, e.User, e.Role, e.Tenant, e.Action, e.RecordingID, e.Detail, e.Remote, h).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("append audit %s: %w", e.Action, err)
	}
	return id, nil
}

// ListAudit returns the audit entries matching f, newest first (ID
// descending), at most f.EffectiveLimit(). User and Tenant compare ignoring
// ASCII case; BeforeID > 0 returns only entries older than that id (the
// next page after the last entry seen).
func (db *DB) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	if !f.Since.IsZero() {
		add(`at >= ?`, formatTime(f.Since))
	}
	if !f.Until.IsZero() {
		add(`at < ?`, formatTime(f.Until))
	}
	if f.User != "" {
		add(`lower(user_name) = ?`, foldASCII(f.User))
	}
	if f.Action != "" {
		add(`action = ?`, f.Action)
	}
	if f.Tenant != "" {
		add(`lower(tenant) = ?`, foldASCII(f.Tenant))
	}
	if f.RecordingID != "" {
		add(`recording_id = ?`, f.RecordingID)
	}
	if f.BeforeID > 0 {
		add(`id < ?`, f.BeforeID)
	}
	q := `SELECT id, at, user_name, role, tenant, action, recording_id, detail, remote FROM audit`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.EffectiveLimit())
	rows, err := db.pool.Query(ctx, rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var (
			e  store.AuditEntry
			at string
		)
		if err := rows.Scan(&e.ID, &at, &e.User, &e.Role, &e.Tenant, &e.Action, &e.RecordingID, &e.Detail, &e.Remote); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}

// AuditHead returns the newest audit entry's id and hash: written to the log
// now and then, so that removing the newest entries (which leaves a valid
// shorter chain) is found by comparing with a head seen before.
func (db *DB) AuditHead(ctx context.Context) (id int64, hash string, err error) {
	leave, err := db.enter()
	if err != nil {
		return 0, "", err
	}
	defer leave()
	err = db.pool.QueryRow(ctx, `SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1`).Scan(&id, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("audit head: %w", err)
	}
	return id, hash, nil
}

// VerifyAudit walks the audit log in append order and recomputes its hash
// chain. Every entry whose stored hash does not follow from the entry
// before it and its own fields is a problem (it was changed, or entries
// before it were removed or inserted); entries written before the chain
// existed (no hash) are counted, and one without a hash inside the chain is
// a problem too.
func (db *DB) VerifyAudit(ctx context.Context) (store.AuditCheck, error) {
	var out store.AuditCheck
	leave, err := db.enter()
	if err != nil {
		return out, err
	}
	defer leave()
	rows, err := db.pool.Query(ctx, `SELECT id, at, user_name, role, tenant, action, recording_id, detail, remote, hash
		FROM audit ORDER BY id`)
	if err != nil {
		return out, fmt.Errorf("verify audit: %w", err)
	}
	defer rows.Close()
	var walk store.AuditChainWalk
	for rows.Next() {
		var id int64
		var at, user, role, tenant, action, rec, detail, remote, hash string
		if err := rows.Scan(&id, &at, &user, &role, &tenant, &action, &rec, &detail, &remote, &hash); err != nil {
			return out, fmt.Errorf("verify audit: %w", err)
		}
		walk.Add(id, at, user, role, tenant, action, rec, detail, remote, hash)
	}
	out = walk.Check
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("verify audit: %w", err)
	}
	return out, nil
}

// AuditHashAt returns the stored hash of audit entry id; store.ErrNotFound
// when there is no such entry.
func (db *DB) AuditHashAt(ctx context.Context, id int64) (string, error) {
	leave, err := db.enter()
	if err != nil {
		return "", err
	}
	defer leave()
	var hash string
	err = db.pool.QueryRow(ctx, `SELECT hash FROM audit WHERE id = $1`, id).Scan(&hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("audit entry %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("audit entry %d: %w", id, err)
	}
	return hash, nil
}

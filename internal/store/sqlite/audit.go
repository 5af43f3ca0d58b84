package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/openrec/openrec/internal/store"
)

// The audit log (migration 0005) is append-only: there is no method to
// change or delete an entry, and triggers refuse an UPDATE or DELETE of the
// audit table done by hand.

// AppendAudit appends e to the audit log and returns its id (increasing in
// append order). A zero e.At is the store clock's now; e.ID is ignored. An
// empty Action is store.ErrInvalid.
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
	var id int64
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO audit (at, user_name, role, tenant, action, recording_id, detail, remote)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			formatTime(e.At), e.User, e.Role, e.Tenant, e.Action, e.RecordingID, e.Detail, e.Remote).Scan(&id)
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
		add(`user_name = ? COLLATE NOCASE`, f.User)
	}
	if f.Action != "" {
		add(`action = ?`, f.Action)
	}
	if f.Tenant != "" {
		add(`tenant = ? COLLATE NOCASE`, f.Tenant)
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
	var out []store.AuditEntry
	err = db.inReadTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				e  store.AuditEntry
				at string
			)
			if err := rows.Scan(&e.ID, &at, &e.User, &e.Role, &e.Tenant, &e.Action, &e.RecordingID, &e.Detail, &e.Remote); err != nil {
				return err
			}
			if e.At, err = parseTime(at); err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/openrec/openrec/internal/store"
)

// SetLegalHold puts recording id on legal hold (again: the reason and who
// are updated). An unknown recording is store.ErrNotFound.
func (db *DB) SetLegalHold(ctx context.Context, h store.Hold) error {
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	if h.SetAt.IsZero() {
		h.SetAt = db.now()
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM recordings WHERE id = ?`, h.RecordingID).Scan(&n); err != nil {
			return fmt.Errorf("legal hold %s: %w", h.RecordingID, err)
		}
		if n == 0 {
			return fmt.Errorf("legal hold %s: %w", h.RecordingID, store.ErrNotFound)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO legal_holds (recording_id, reason, set_by, set_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (recording_id) DO UPDATE SET reason = excluded.reason, set_by = excluded.set_by, set_at = excluded.set_at`,
			h.RecordingID, h.Reason, h.SetBy, formatTime(h.SetAt))
		if err != nil {
			return fmt.Errorf("legal hold %s: %w", h.RecordingID, err)
		}
		return nil
	})
}

// ReleaseLegalHold ends the hold on recording id; store.ErrNotFound when it
// was not on hold.
func (db *DB) ReleaseLegalHold(ctx context.Context, id string) error {
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM legal_holds WHERE recording_id = ?`, id)
		if err != nil {
			return fmt.Errorf("release legal hold %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("release legal hold %s: not on hold: %w", id, store.ErrNotFound)
		}
		return nil
	})
}

// LegalHold returns the hold on recording id; ok false when there is none.
func (db *DB) LegalHold(ctx context.Context, id string) (h store.Hold, ok bool, err error) {
	leave, err := db.enter()
	if err != nil {
		return h, false, err
	}
	defer leave()
	var at string
	err = db.sql.QueryRowContext(ctx, `SELECT recording_id, reason, set_by, set_at FROM legal_holds WHERE recording_id = ?`, id).
		Scan(&h.RecordingID, &h.Reason, &h.SetBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return h, false, nil
	}
	if err != nil {
		return h, false, fmt.Errorf("legal hold %s: %w", id, err)
	}
	if h.SetAt, err = time.Parse(timeLayout, at); err != nil {
		return h, false, fmt.Errorf("legal hold %s: %w", id, err)
	}
	return h, true, nil
}

// ListLegalHolds returns every hold, newest first.
func (db *DB) ListLegalHolds(ctx context.Context) ([]store.Hold, error) {
	leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	rows, err := db.sql.QueryContext(ctx, `SELECT recording_id, reason, set_by, set_at FROM legal_holds ORDER BY set_at DESC, recording_id`)
	if err != nil {
		return nil, fmt.Errorf("list legal holds: %w", err)
	}
	defer rows.Close()
	var out []store.Hold
	for rows.Next() {
		var h store.Hold
		var at string
		if err := rows.Scan(&h.RecordingID, &h.Reason, &h.SetBy, &at); err != nil {
			return nil, fmt.Errorf("list legal holds: %w", err)
		}
		if h.SetAt, err = time.Parse(timeLayout, at); err != nil {
			return nil, fmt.Errorf("list legal holds: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/openrec/openrec/internal/store"
)

// PutScreen inserts or replaces the screen video row of a recording (the
// recording must exist: store.ErrNotFound).
func (db *DB) PutScreen(ctx context.Context, s *store.Screen) error {
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	if s.UpdatedAt.IsZero() {
		s.UpdatedAt = db.now()
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM recordings WHERE id = ?`, s.RecordingID).Scan(&n); err != nil {
			return fmt.Errorf("screen of %s: %w", s.RecordingID, err)
		}
		if n == 0 {
			return fmt.Errorf("screen of %s: %w", s.RecordingID, store.ErrNotFound)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO screen_media (recording_id, agent, started_at, ended_at, width, height, codec,
			total_bytes, held_bytes, held, complete, encrypted, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (recording_id) DO UPDATE SET agent = excluded.agent, started_at = excluded.started_at,
			ended_at = excluded.ended_at, width = excluded.width, height = excluded.height, codec = excluded.codec,
			total_bytes = excluded.total_bytes, held_bytes = excluded.held_bytes, held = excluded.held,
			complete = excluded.complete, encrypted = excluded.encrypted, updated_at = excluded.updated_at`,
			s.RecordingID, s.Agent, optTime(s.StartedAt), optTime(s.EndedAt), s.Width, s.Height, s.Codec,
			s.Total, s.Held.Len(), s.Held.String(), boolInt(s.Complete), boolInt(s.Encrypted), formatTime(s.UpdatedAt))
		if err != nil {
			return fmt.Errorf("screen of %s: %w", s.RecordingID, err)
		}
		return nil
	})
}

// GetScreen returns the screen video row of a recording (store.ErrNotFound
// when it has none).
func (db *DB) GetScreen(ctx context.Context, recordingID string) (*store.Screen, error) {
	out, err := db.Screens(ctx, []string{recordingID})
	if err != nil {
		return nil, err
	}
	s, ok := out[recordingID]
	if !ok {
		return nil, fmt.Errorf("screen of %s: %w", recordingID, store.ErrNotFound)
	}
	return s, nil
}

// Screens returns the screen video rows of the recordings ids that have one.
func (db *DB) Screens(ctx context.Context, ids []string) (map[string]*store.Screen, error) {
	out := map[string]*store.Screen{}
	if len(ids) == 0 {
		return out, nil
	}
	leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT recording_id, agent, started_at, ended_at, width, height, codec, total_bytes,
		held, complete, encrypted, updated_at FROM screen_media WHERE recording_id IN (?`+strings.Repeat(`, ?`, len(ids)-1)+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("screens: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			s                       store.Screen
			started, ended, updated string
			held                    string
			complete, encrypted     int
		)
		if err := rows.Scan(&s.RecordingID, &s.Agent, &started, &ended, &s.Width, &s.Height, &s.Codec, &s.Total,
			&held, &complete, &encrypted, &updated); err != nil {
			return nil, fmt.Errorf("screens: %w", err)
		}
		if s.Held, err = store.ParseRanges(held); err != nil {
			return nil, fmt.Errorf("screen of %s: %w", s.RecordingID, err)
		}
		for _, t := range []struct {
			txt string
			dst *time.Time
		}{{started, &s.StartedAt}, {ended, &s.EndedAt}, {updated, &s.UpdatedAt}} {
			if t.txt == "" {
				continue
			}
			v, err := parseTime(t.txt)
			if err != nil {
				return nil, fmt.Errorf("screen of %s: %w", s.RecordingID, err)
			}
			*t.dst = v
		}
		s.Complete, s.Encrypted = complete != 0, encrypted != 0
		out[s.RecordingID] = &s
	}
	if err := rows.Err(); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("screens: %w", err)
	}
	return out, nil
}

func optTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatTime(t)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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
	return db.inTx(ctx, func(tx cleanTx) error {
		// FOR KEY SHARE: the recording cannot be deleted before the row is in.
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM recordings WHERE id = $1 FOR KEY SHARE`, storable(s.RecordingID)).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("screen of %s: %w", s.RecordingID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("screen of %s: %w", s.RecordingID, err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO screen_media (recording_id, agent, started_at, ended_at, width, height, codec,
			total_bytes, held_bytes, held, complete, encrypted, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT (recording_id) DO UPDATE SET agent = excluded.agent, started_at = excluded.started_at,
			ended_at = excluded.ended_at, width = excluded.width, height = excluded.height, codec = excluded.codec,
			total_bytes = excluded.total_bytes, held_bytes = excluded.held_bytes, held = excluded.held,
			complete = excluded.complete, encrypted = excluded.encrypted, updated_at = excluded.updated_at`,
			storable(s.RecordingID), storable(s.Agent), optTime(s.StartedAt), optTime(s.EndedAt), s.Width, s.Height, storable(s.Codec),
			s.Total, s.Held.Len(), s.Held.String(), s.Complete, s.Encrypted, formatTime(s.UpdatedAt))
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
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = storable(id)
	}
	rows, err := db.pool.Query(ctx, `SELECT recording_id, agent, started_at, ended_at, width, height, codec, total_bytes,
		held, complete, encrypted, updated_at FROM screen_media WHERE recording_id = ANY($1)`, keys)
	if err != nil {
		return nil, fmt.Errorf("screens: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			s                       store.Screen
			started, ended, updated string
			held                    string
		)
		if err := rows.Scan(&s.RecordingID, &s.Agent, &started, &ended, &s.Width, &s.Height, &s.Codec, &s.Total,
			&held, &s.Complete, &s.Encrypted, &updated); err != nil {
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
		out[s.RecordingID] = &s
	}
	if err := rows.Err(); err != nil {
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

package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openrec/openrec/internal/store"
)

const recordingColumns = `id, mode, status, status_reason, call_uuid, record_id, siprec_session_id,
	recorded_dn, other_dn, started_at, ended_at, duration_ms, channels, codecs,
	format, media_path, size_bytes, sha256, needs_transcode, metadata,
	metadata_problem, correlation, retention, keep_until, retention_reason, created_at, updated_at, media_object, sample_rate`

// queryRecordings runs q (which selects recordingColumns) and loads the
// children of every row.
func queryRecordings(ctx context.Context, tx cleanTx, q string, args ...any) ([]store.Recording, error) {
	out, err := scanRecordings(ctx, tx, q, args...)
	if err != nil {
		return nil, err
	}
	if err := loadChildren(ctx, tx, out); err != nil {
		return nil, err
	}
	return out, nil
}

func scanRecordings(ctx context.Context, tx cleanTx, q string, args ...any) ([]store.Recording, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Recording
	for rows.Next() {
		var (
			r                               store.Recording
			mode, status, codecs, retention string
			started, ended, keepUntil       *string
			created, updated                string
		)
		if err := rows.Scan(&r.ID, &mode, &status, &r.StatusReason, &r.CallUUID, &r.RecordID, &r.SIPRECSessionID,
			&r.RecordedDN, &r.OtherDN, &started, &ended, &r.DurationMS, &r.Channels, &codecs,
			&r.Format, &r.MediaPath, &r.SizeBytes, &r.SHA256, &r.NeedsTranscode, &r.Metadata,
			&r.MetadataProblem, &r.Correlation, &retention, &keepUntil, &r.RetentionReason, &created, &updated, &r.MediaObject, &r.SampleRate); err != nil {
			return nil, err
		}
		r.Mode, r.Status, r.Retention = store.Mode(mode), store.Status(status), store.Retention(retention)
		if codecs != "" && codecs != "[]" {
			if err := json.Unmarshal([]byte(codecs), &r.Codecs); err != nil {
				return nil, fmt.Errorf("recording %s: bad codecs %q: %w", r.ID, codecs, err)
			}
		}
		for _, t := range []struct {
			dst *time.Time
			src *string
		}{{&r.StartedAt, started}, {&r.EndedAt, ended}, {&r.KeepUntil, keepUntil}, {&r.CreatedAt, &created}, {&r.UpdatedAt, &updated}} {
			if *t.dst, err = parseNullTime(t.src); err != nil {
				return nil, fmt.Errorf("recording %s: %w", r.ID, err)
			}
		}
		r.ExternalData = map[string]string{}
		out = append(out, r)
	}
	return out, rows.Err()
}

// loadChildren loads the children of every recording of out: one query per
// child table for the whole page (id = ANY($1)), sent in one batch.
func loadChildren(ctx context.Context, tx cleanTx, out []store.Recording) error {
	if len(out) == 0 {
		return nil
	}
	byID := make(map[string]*store.Recording, len(out))
	ids := make([]string, len(out))
	for i := range out {
		byID[out[i].ID] = &out[i]
		ids[i] = out[i].ID
	}
	var id string
	b := &pgx.Batch{}
	b.Queue(`SELECT recording_id, sip_call_id FROM sip_call_ids WHERE recording_id = ANY($1) ORDER BY recording_id, pos`, ids).
		Query(func(rows pgx.Rows) error {
			return each(rows, func() error {
				var c string
				if err := rows.Scan(&id, &c); err != nil {
					return err
				}
				byID[id].SIPCallIDs = append(byID[id].SIPCallIDs, c)
				return nil
			}, "load sip call ids")
		})
	b.Queue(`SELECT recording_id, channel, role, dn, label, aor, name, participant_id, sip_call_id
		FROM parties WHERE recording_id = ANY($1) ORDER BY recording_id, pos`, ids).
		Query(func(rows pgx.Rows) error {
			return each(rows, func() error {
				var p store.Party
				if err := rows.Scan(&id, &p.Channel, &p.Role, &p.DN, &p.Label, &p.AOR, &p.Name, &p.ParticipantID, &p.SIPCallID); err != nil {
					return err
				}
				byID[id].Parties = append(byID[id].Parties, p)
				return nil
			}, "load parties")
		})
	b.Queue(`SELECT recording_id, type, channel, start_ms, end_ms
		FROM segments WHERE recording_id = ANY($1) ORDER BY recording_id, pos`, ids).
		Query(func(rows pgx.Rows) error {
			return each(rows, func() error {
				var s store.Segment
				if err := rows.Scan(&id, &s.Type, &s.Channel, &s.StartMS, &s.EndMS); err != nil {
					return err
				}
				byID[id].Segments = append(byID[id].Segments, s)
				return nil
			}, "load segments")
		})
	b.Queue(`SELECT recording_id, type, at_ms, channel, detail, at
		FROM events WHERE recording_id = ANY($1) ORDER BY recording_id, seq`, ids).
		Query(func(rows pgx.Rows) error {
			return each(rows, func() error {
				var (
					e  store.Event
					at *string
				)
				if err := rows.Scan(&id, &e.Type, &e.AtMS, &e.Channel, &e.Detail, &at); err != nil {
					return err
				}
				var err error
				if e.At, err = parseNullTime(at); err != nil {
					return err
				}
				byID[id].Events = append(byID[id].Events, e)
				return nil
			}, "load events")
		})
	b.Queue(`SELECT recording_id, start_ms, end_ms, this_dn, other_dn, conn_id, call_uuid, external_data
		FROM couples WHERE recording_id = ANY($1) ORDER BY recording_id, pos`, ids).
		Query(func(rows pgx.Rows) error {
			return each(rows, func() error {
				var (
					c  store.Couple
					ed string
				)
				if err := rows.Scan(&id, &c.StartMS, &c.EndMS, &c.ThisDN, &c.OtherDN, &c.ConnID, &c.CallUUID, &ed); err != nil {
					return err
				}
				if err := json.Unmarshal([]byte(ed), &c.ExternalData); err != nil {
					return fmt.Errorf("couple external data: %w", err)
				}
				c.ExternalData = store.CleanExternalData(c.ExternalData)
				byID[id].Couples = append(byID[id].Couples, c)
				return nil
			}, "load couples")
		})
	b.Queue(`SELECT recording_id, key, value FROM external_data WHERE recording_id = ANY($1)`, ids).
		Query(func(rows pgx.Rows) error {
			return each(rows, func() error {
				var k, v string
				if err := rows.Scan(&id, &k, &v); err != nil {
					return err
				}
				byID[id].ExternalData[k] = v
				return nil
			}, "load external data")
		})
	return tx.SendBatch(ctx, b).Close()
}

// each calls scan for every row of rows.
func each(rows pgx.Rows, scan func() error, what string) error {
	defer rows.Close()
	for rows.Next() {
		if err := scan(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// queueChildren queues the inserts of r's sip call ids, parties, segments,
// couples and external data (empty keys and values are dropped).
func queueChildren(b *pgx.Batch, r *store.Recording) {
	for i, c := range r.SIPCallIDs {
		b.Queue(`INSERT INTO sip_call_ids (recording_id, pos, sip_call_id) VALUES ($1, $2, $3)`, r.ID, i, c)
	}
	for i, p := range r.Parties {
		b.Queue(`INSERT INTO parties (recording_id, pos, channel, role, dn, label, aor,
			name, participant_id, sip_call_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			r.ID, i, p.Channel, p.Role, p.DN, p.Label, p.AOR, p.Name, p.ParticipantID, p.SIPCallID)
	}
	for i, s := range r.Segments {
		b.Queue(`INSERT INTO segments (recording_id, pos, type, channel, start_ms, end_ms)
			VALUES ($1, $2, $3, $4, $5, $6)`, r.ID, i, s.Type, s.Channel, s.StartMS, s.EndMS)
	}
	for i, c := range r.Couples {
		ed, _ := json.Marshal(store.CleanExternalData(c.ExternalData)) // a map[string]string always encodes
		b.Queue(`INSERT INTO couples (recording_id, pos, start_ms, end_ms, this_dn, other_dn,
			conn_id, call_uuid, external_data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			r.ID, i, c.StartMS, c.EndMS, c.ThisDN, c.OtherDN, c.ConnID, c.CallUUID, string(ed))
	}
	for k, v := range r.ExternalData {
		if k == "" || v == "" {
			continue
		}
		b.Queue(`INSERT INTO external_data (recording_id, key, value) VALUES ($1, $2, $3)`, r.ID, k, v)
	}
}

func queueEvents(b *pgx.Batch, id string, events []store.Event) {
	for _, e := range events {
		b.Queue(`INSERT INTO events (recording_id, type, at_ms, channel, detail, at)
			VALUES ($1, $2, $3, $4, $5, $6)`, id, e.Type, e.AtMS, e.Channel, e.Detail, nullTime(e.At))
	}
}

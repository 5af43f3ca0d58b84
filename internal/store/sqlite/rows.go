package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/openrec/openrec/internal/store"
)

const recordingColumns = `id, mode, status, status_reason, call_uuid, record_id, siprec_session_id,
	recorded_dn, other_dn, started_at, ended_at, duration_ms, channels, codecs,
	format, media_path, size_bytes, sha256, needs_transcode, metadata,
	metadata_problem, correlation, retention, keep_until, retention_reason, created_at, updated_at, media_object, sample_rate`

// childChunk bounds the number of ids in one IN (...) list, far below
// SQLite's limit on bound parameters.
const childChunk = 500

// queryRecordings runs q (which selects recordingColumns) and loads the
// children of every row.
func queryRecordings(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]store.Recording, error) {
	out, err := scanRecordings(ctx, tx, q, args...)
	if err != nil {
		return nil, err
	}
	if err := loadAllChildren(ctx, tx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// loadAllChildren loads the children of every recording of out.
func loadAllChildren(ctx context.Context, tx *sql.Tx, out []store.Recording) error {
	if len(out) == 0 {
		return nil
	}
	byID := make(map[string]*store.Recording, len(out))
	ids := make([]any, len(out))
	for i := range out {
		byID[out[i].ID] = &out[i]
		ids[i] = out[i].ID
	}
	for start := 0; start < len(ids); start += childChunk {
		chunk := ids[start:min(start+childChunk, len(ids))]
		if err := loadChildren(ctx, tx, chunk, byID); err != nil {
			return err
		}
	}
	return nil
}

func scanRecordings(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]store.Recording, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Recording
	for rows.Next() {
		var (
			r                                           store.Recording
			mode, status, codecs, retention             string
			started, ended, keepUntil, created, updated sql.NullString
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
			src sql.NullString
		}{{&r.StartedAt, started}, {&r.EndedAt, ended}, {&r.KeepUntil, keepUntil}, {&r.CreatedAt, created}, {&r.UpdatedAt, updated}} {
			if *t.dst, err = parseNullTime(t.src); err != nil {
				return nil, fmt.Errorf("recording %s: %w", r.ID, err)
			}
		}
		r.ExternalData = map[string]string{}
		out = append(out, r)
	}
	return out, rows.Err()
}

func loadChildren(ctx context.Context, tx *sql.Tx, ids []any, byID map[string]*store.Recording) error {
	in := `(` + strings.TrimSuffix(strings.Repeat(`?,`, len(ids)), `,`) + `)`
	each := func(q string, scan func(*sql.Rows) error) error {
		rows, err := tx.QueryContext(ctx, q, ids...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	var id string
	err := each(`SELECT recording_id, sip_call_id FROM sip_call_ids WHERE recording_id IN `+in+` ORDER BY recording_id, pos`,
		func(rows *sql.Rows) error {
			var c string
			if err := rows.Scan(&id, &c); err != nil {
				return err
			}
			r := byID[id]
			r.SIPCallIDs = append(r.SIPCallIDs, c)
			return nil
		})
	if err != nil {
		return fmt.Errorf("load sip call ids: %w", err)
	}
	err = each(`SELECT recording_id, channel, role, dn, label, aor, name, participant_id, sip_call_id
		FROM parties WHERE recording_id IN `+in+` ORDER BY recording_id, pos`,
		func(rows *sql.Rows) error {
			var p store.Party
			if err := rows.Scan(&id, &p.Channel, &p.Role, &p.DN, &p.Label, &p.AOR, &p.Name, &p.ParticipantID, &p.SIPCallID); err != nil {
				return err
			}
			r := byID[id]
			r.Parties = append(r.Parties, p)
			return nil
		})
	if err != nil {
		return fmt.Errorf("load parties: %w", err)
	}
	err = each(`SELECT recording_id, type, channel, start_ms, end_ms
		FROM segments WHERE recording_id IN `+in+` ORDER BY recording_id, pos`,
		func(rows *sql.Rows) error {
			var s store.Segment
			if err := rows.Scan(&id, &s.Type, &s.Channel, &s.StartMS, &s.EndMS); err != nil {
				return err
			}
			r := byID[id]
			r.Segments = append(r.Segments, s)
			return nil
		})
	if err != nil {
		return fmt.Errorf("load segments: %w", err)
	}
	err = each(`SELECT recording_id, type, at_ms, channel, detail, at
		FROM events WHERE recording_id IN `+in+` ORDER BY recording_id, seq`,
		func(rows *sql.Rows) error {
			var (
				e  store.Event
				at sql.NullString
			)
			if err := rows.Scan(&id, &e.Type, &e.AtMS, &e.Channel, &e.Detail, &at); err != nil {
				return err
			}
			var err error
			if e.At, err = parseNullTime(at); err != nil {
				return err
			}
			r := byID[id]
			r.Events = append(r.Events, e)
			return nil
		})
	if err != nil {
		return fmt.Errorf("load events: %w", err)
	}
	err = each(`SELECT recording_id, start_ms, end_ms, this_dn, other_dn, conn_id, call_uuid, external_data
		FROM couples WHERE recording_id IN `+in+` ORDER BY recording_id, pos`,
		func(rows *sql.Rows) error {
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
			r := byID[id]
			r.Couples = append(r.Couples, c)
			return nil
		})
	if err != nil {
		return fmt.Errorf("load couples: %w", err)
	}
	err = each(`SELECT recording_id, key, value FROM external_data WHERE recording_id IN `+in,
		func(rows *sql.Rows) error {
			var k, v string
			if err := rows.Scan(&id, &k, &v); err != nil {
				return err
			}
			byID[id].ExternalData[k] = v
			return nil
		})
	if err != nil {
		return fmt.Errorf("load external data: %w", err)
	}
	return nil
}

// insertChildren writes r's sip call ids, parties, segments and external
// data (empty keys and values are dropped).
func insertChildren(ctx context.Context, tx *sql.Tx, r *store.Recording) error {
	for i, c := range r.SIPCallIDs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sip_call_ids (recording_id, pos, sip_call_id) VALUES (?, ?, ?)`,
			r.ID, i, c); err != nil {
			return fmt.Errorf("insert sip call id: %w", err)
		}
	}
	for i, p := range r.Parties {
		if _, err := tx.ExecContext(ctx, `INSERT INTO parties (recording_id, pos, channel, role, dn, label, aor,
			name, participant_id, sip_call_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, i, p.Channel, p.Role, p.DN, p.Label, p.AOR, p.Name, p.ParticipantID, p.SIPCallID); err != nil {
			return fmt.Errorf("insert party: %w", err)
		}
	}
	for i, s := range r.Segments {
		if _, err := tx.ExecContext(ctx, `INSERT INTO segments (recording_id, pos, type, channel, start_ms, end_ms)
			VALUES (?, ?, ?, ?, ?, ?)`, r.ID, i, s.Type, s.Channel, s.StartMS, s.EndMS); err != nil {
			return fmt.Errorf("insert segment: %w", err)
		}
	}
	for i, c := range r.Couples {
		ed, err := json.Marshal(store.CleanExternalData(c.ExternalData))
		if err != nil {
			return fmt.Errorf("encode couple external data: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO couples (recording_id, pos, start_ms, end_ms, this_dn, other_dn,
			conn_id, call_uuid, external_data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, i, c.StartMS, c.EndMS, c.ThisDN, c.OtherDN, c.ConnID, c.CallUUID, string(ed)); err != nil {
			return fmt.Errorf("insert couple: %w", err)
		}
	}
	for k, v := range r.ExternalData {
		if k == "" || v == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO external_data (recording_id, key, value) VALUES (?, ?, ?)`,
			r.ID, k, v); err != nil {
			return fmt.Errorf("insert external data %s: %w", k, err)
		}
	}
	return nil
}

func insertEvents(ctx context.Context, tx *sql.Tx, id string, events []store.Event) error {
	for _, e := range events {
		if _, err := tx.ExecContext(ctx, `INSERT INTO events (recording_id, type, at_ms, channel, detail, at)
			VALUES (?, ?, ?, ?, ?, ?)`, id, e.Type, e.AtMS, e.Channel, e.Detail, nullTime(e.At)); err != nil {
			return fmt.Errorf("insert event: %w", err)
		}
	}
	return nil
}

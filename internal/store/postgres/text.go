package postgres

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openrec/openrec/internal/store"
)

// PostgreSQL text holds valid UTF-8 without NUL bytes; SQLite's holds any
// bytes. The recorder stores what signalling and CTI give it (SIP
// headers, SIPREC metadata, user data in a legacy encoding), and a row
// PostgreSQL refused would lose a recording's metadata. So every string
// bound to a text parameter is made storable on the way in: invalid UTF-8
// sequences and NUL bytes become U+FFFD, in what the methods write and in
// the keys and patterns they look up (which then match what was stored).
// Valid text (all the conformance suite writes) is stored unchanged; this
// is the one place where the two stores may differ.

// storable returns s with invalid UTF-8 and NUL bytes replaced by U+FFFD.
func storable(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// Storable is storable for other packages (`openrec store migrate`
// copies rows with it).
func Storable(s string) string { return storable(s) }

// cleanPool and cleanTx are the pool and a transaction with the arguments
// of Exec, Query and QueryRow made storable: every query of the store
// goes through them. (Batches are queued from storableRecording and
// storableEvents.)
type cleanPool struct{ *pgxpool.Pool }

func (p cleanPool) Exec(ctx context.Context, sql string, a ...any) (pgconn.CommandTag, error) {
	return p.Pool.Exec(ctx, sql, storableArgs(a...)...)
}

func (p cleanPool) Query(ctx context.Context, sql string, a ...any) (pgx.Rows, error) {
	return p.Pool.Query(ctx, sql, storableArgs(a...)...)
}

func (p cleanPool) QueryRow(ctx context.Context, sql string, a ...any) pgx.Row {
	return p.Pool.QueryRow(ctx, sql, storableArgs(a...)...)
}

type cleanTx struct{ pgx.Tx }

func (t cleanTx) Exec(ctx context.Context, sql string, a ...any) (pgconn.CommandTag, error) {
	return t.Tx.Exec(ctx, sql, storableArgs(a...)...)
}

func (t cleanTx) Query(ctx context.Context, sql string, a ...any) (pgx.Rows, error) {
	return t.Tx.Query(ctx, sql, storableArgs(a...)...)
}

func (t cleanTx) QueryRow(ctx context.Context, sql string, a ...any) pgx.Row {
	return t.Tx.QueryRow(ctx, sql, storableArgs(a...)...)
}

// storableArgs returns a with every string (and *string) made storable.
func storableArgs(a ...any) []any {
	for i, v := range a {
		switch v := v.(type) {
		case string:
			a[i] = storable(v)
		case *string:
			if v != nil {
				s := storable(*v)
				a[i] = &s
			}
		}
	}
	return a
}

// storableRecording returns a copy of r whose strings are storable.
func storableRecording(r *store.Recording) *store.Recording {
	c := *r
	for _, p := range []*string{&c.ID, &c.StatusReason, &c.CallUUID, &c.RecordID, &c.SIPRECSessionID, &c.RecordedDN,
		&c.OtherDN, &c.Format, &c.MediaPath, &c.SHA256, &c.Metadata, &c.MetadataProblem, &c.Correlation, &c.RetentionReason} {
		*p = storable(*p)
	}
	c.Mode, c.Status = store.Mode(storable(string(c.Mode))), store.Status(storable(string(c.Status)))
	c.SIPCallIDs = storableStrings(c.SIPCallIDs)
	c.Codecs = storableStrings(c.Codecs)
	c.Parties = append([]store.Party(nil), c.Parties...)
	for i := range c.Parties {
		p := &c.Parties[i]
		for _, f := range []*string{&p.Role, &p.DN, &p.Label, &p.AOR, &p.Name, &p.ParticipantID, &p.SIPCallID} {
			*f = storable(*f)
		}
	}
	c.Segments = append([]store.Segment(nil), c.Segments...)
	for i := range c.Segments {
		c.Segments[i].Type = storable(c.Segments[i].Type)
	}
	c.Couples = append([]store.Couple(nil), c.Couples...)
	for i := range c.Couples {
		cp := &c.Couples[i]
		for _, f := range []*string{&cp.ThisDN, &cp.OtherDN, &cp.ConnID, &cp.CallUUID} {
			*f = storable(*f)
		}
		cp.ExternalData = storableMap(cp.ExternalData)
	}
	c.Events = storableEvents(c.Events)
	c.ExternalData = storableMap(c.ExternalData)
	return &c
}

func storableStrings(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = storable(s)
	}
	return out
}

func storableMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[storable(k)] = storable(v)
	}
	return out
}

func storableEvents(es []store.Event) []store.Event {
	out := append([]store.Event(nil), es...)
	for i := range out {
		out[i].Type, out[i].Detail = storable(out[i].Type), storable(out[i].Detail)
	}
	return out
}

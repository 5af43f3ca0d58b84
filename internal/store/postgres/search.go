package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/openrec/openrec/internal/store"
)

// Recording search: the SQLite store's search.go in PostgreSQL's dialect.
// ListRecordings, SearchRecordings and CountRecordings share one WHERE
// builder (buildWhere), so every store.Filter field means the same
// everywhere, and the same as in the SQLite store (storetest checks both).
//
// Pages are keyset pages on (coalesce(started_at, ''), id) or
// (duration_ms, id), row comparisons that the indexes of migration 0004
// serve in both directions.
//
// Case: every column is COLLATE "C", whose lower() folds ASCII only; the
// argument is folded the same way in Go (foldASCII), so "ignoring ASCII
// case" is exactly SQLite's NOCASE. Patterns: '*' becomes '%' of LIKE with
// ESCAPE '\' ('%', '_' and '\' escaped: they match themselves), on
// lower(value) for external data (case-insensitive) and on the DN columns
// themselves (case-sensitive, as SQLite's GLOB).

// customPlan runs a search as an unnamed statement, planned for its
// arguments every time. A cached prepared statement gets a generic plan
// after five runs, and the best plan of a search depends on its values: a
// tenant most recordings share is found by walking the sort index, a rare
// agent by collecting its few matches. Measured (BENCHMARKS.md): the
// generic plan made a tenant's first page 5 to 10 times slower.
const customPlan = pgx.QueryExecModeExec

// startedKey is the sort key of the started orders.
const startedKey = `coalesce(started_at, '')`

// ListRecordings returns the recordings matching f in f.Sort order (newest
// StartedAt first by default), at most f.EffectiveLimit(), each with its
// children: the items of SearchRecordings. An invalid filter (unknown
// Retention or Sort, bad Cursor ...) is store.ErrInvalid.
func (db *DB) ListRecordings(ctx context.Context, f store.Filter) ([]store.Recording, error) {
	p, err := db.search(ctx, "list recordings", f)
	if err != nil {
		return nil, err
	}
	return p.Items, nil
}

// SearchRecordings returns one page: at most f.EffectiveLimit() recordings
// matching f in f.Sort order, with their children, and the cursor of the
// next page ("" when this is the last page). A cursor that does not decode,
// or was made for another sort, is store.ErrInvalid.
func (db *DB) SearchRecordings(ctx context.Context, f store.Filter) (store.Page, error) {
	return db.search(ctx, "search recordings", f)
}

// CountRecordings counts the recordings matching f; f.Limit, f.Cursor and
// f.Sort are ignored.
func (db *DB) CountRecordings(ctx context.Context, f store.Filter) (int, error) {
	leave, err := db.enter()
	if err != nil {
		return 0, err
	}
	defer leave()
	w, err := buildWhere(f)
	if err != nil {
		return 0, fmt.Errorf("count recordings: %w", err)
	}
	var n int
	if err := db.pool.QueryRow(ctx, rebind(`SELECT count(*) FROM recordings`+w.sql()), append([]any{customPlan}, w.args...)...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count recordings: %w", err)
	}
	return n, nil
}

func (db *DB) search(ctx context.Context, op string, f store.Filter) (store.Page, error) {
	leave, err := db.enter()
	if err != nil {
		return store.Page{}, err
	}
	defer leave()
	sq, err := buildSearch(f)
	if err != nil {
		return store.Page{}, fmt.Errorf("%s: %w", op, err)
	}
	var page store.Page
	err = db.inReadTx(ctx, func(tx cleanTx) error {
		page = store.Page{}
		out, err := scanRecordings(ctx, tx, sq.query, append([]any{customPlan}, sq.args...)...)
		if err != nil {
			return err
		}
		if len(out) > sq.limit {
			out = out[:sq.limit]
			page.NextCursor = store.CursorAfter(sq.sort, out[sq.limit-1]).String()
		}
		page.Items = out
		return loadChildren(ctx, tx, out)
	})
	if err != nil {
		return store.Page{}, fmt.Errorf("%s: %w", op, err)
	}
	return page, nil
}

// searchQuery is the query of one page: it selects recordingColumns of at
// most limit+1 rows (one more than the page tells whether another page
// follows).
type searchQuery struct {
	query string
	args  []any
	sort  store.Sort
	limit int
}

func buildSearch(f store.Filter) (searchQuery, error) {
	w, err := buildWhere(f)
	if err != nil {
		return searchQuery{}, err
	}
	sort, err := store.ParseSort(string(f.Sort))
	if err != nil {
		return searchQuery{}, err
	}
	key, dir, cmp := startedKey, "DESC", "<"
	if sort.ByDuration() {
		key = `duration_ms`
	}
	if !sort.Desc() {
		dir, cmp = "ASC", ">"
	}
	if f.Cursor != "" {
		c, err := store.ParseCursor(f.Cursor)
		if err != nil {
			return searchQuery{}, err
		}
		if c.Sort != sort {
			return searchQuery{}, fmt.Errorf("cursor of sort %s used with sort %s: %w", c.Sort, sort, store.ErrInvalid)
		}
		var after any = c.DurationMS
		if !sort.ByDuration() {
			after = ""
			if !c.StartedAt.IsZero() {
				after = formatTime(c.StartedAt)
			}
		}
		w.add(`(`+key+`, id) `+cmp+` (?, ?)`, after, c.ID)
	}
	limit := f.EffectiveLimit()
	return searchQuery{
		query: rebind(`SELECT ` + recordingColumns + ` FROM recordings` + w.sql() +
			` ORDER BY ` + key + ` ` + dir + `, id ` + dir + ` LIMIT ?`),
		args:  append(w.args, int64(limit)+1),
		sort:  sort,
		limit: limit,
	}, nil
}

// rebind numbers the '?' placeholders of q as $1, $2 ... (the builders
// write '?' so conditions compose without counting; no query text has a
// literal '?').
func rebind(q string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// where is a conjunction of conditions and their arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// addAll adds cond with args given as a slice.
func (w *where) addAll(cond string, args []any) { w.add(cond, args...) }

// sql returns " WHERE c1 AND c2 ...", or "" without conditions.
func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return ` WHERE ` + strings.Join(w.conds, ` AND `)
}

// buildWhere translates every filtering field of f (not Limit, Sort,
// Cursor). An invalid field is store.ErrInvalid.
func buildWhere(f store.Filter) (*where, error) {
	if !f.Retention.Valid() {
		return nil, fmt.Errorf("retention %q: %w", f.Retention, store.ErrInvalid)
	}
	if f.MinDurationMS < 0 || f.MaxDurationMS < 0 || (f.MaxDurationMS > 0 && f.MinDurationMS > f.MaxDurationMS) {
		return nil, fmt.Errorf("duration range [%d, %d] ms: %w", f.MinDurationMS, f.MaxDurationMS, store.ErrInvalid)
	}
	for _, kv := range f.External {
		if kv.Key == "" || kv.Value == "" {
			return nil, fmt.Errorf("external data filter %q=%q: empty key or value: %w", kv.Key, kv.Value, store.ErrInvalid)
		}
	}
	w := &where{}
	if f.Status != "" {
		w.add(`status = ?`, string(f.Status))
	}
	if f.Mode != "" {
		w.add(`mode = ?`, string(f.Mode))
	}
	if f.CallUUID != "" {
		w.add(`call_uuid = ?`, f.CallUUID)
	}
	if f.RecordID != "" {
		w.add(`record_id = ?`, f.RecordID)
	}
	if f.DN != "" {
		if strings.Contains(f.DN, "*") {
			p := likePattern(f.DN)
			w.add(`(recorded_dn LIKE ? ESCAPE '\' OR other_dn LIKE ? ESCAPE '\')`, p, p)
		} else {
			w.add(`(recorded_dn = ? OR other_dn = ?)`, f.DN, f.DN)
		}
	}
	if !f.Since.IsZero() {
		w.add(`started_at >= ?`, formatTime(f.Since))
	}
	if !f.Until.IsZero() {
		w.add(`started_at < ?`, formatTime(f.Until))
	}
	if f.MinDurationMS > 0 {
		w.add(`duration_ms >= ?`, f.MinDurationMS)
	}
	if f.MaxDurationMS > 0 {
		w.add(`duration_ms <= ?`, f.MaxDurationMS)
	}
	if f.Tenant != "" {
		w.addAll(externalCheck([]string{store.TenantKey}, exact(f.Tenant)))
	}
	if f.HasScreen != nil {
		not := ""
		if !*f.HasScreen {
			not = "NOT "
		}
		w.add(`id ` + not + `IN (SELECT s.recording_id FROM screen_media s WHERE s.held_bytes > 0)`)
	}
	if f.OwnerAgent != "" {
		w.addAll(external(store.OwnerKeys(), exact(f.OwnerAgent)))
	}
	if f.Agent != "" {
		w.addAll(external(store.AgentKeys(), pattern(f.Agent)))
	}
	if f.ANI != "" {
		w.addAll(external([]string{store.ANIKey}, pattern(f.ANI)))
	}
	if f.DNIS != "" {
		w.addAll(external([]string{store.DNISKey}, pattern(f.DNIS)))
	}
	if f.Direction != "" {
		w.addAll(externalCheck([]string{store.CallTypeKey}, exact(f.Direction)))
	}
	if f.ConnID != "" {
		cond, args := external([]string{store.ConnIDKey}, exact(f.ConnID))
		w.add(`(`+cond+` OR id IN (SELECT c.recording_id FROM couples c WHERE lower(c.conn_id) = ?))`, append(args, foldASCII(f.ConnID))...)
	}
	for _, kv := range f.External {
		w.addAll(external([]string{kv.Key}, pattern(kv.Value)))
	}
	if f.Retention != store.RetentionNone {
		w.add(`retention = ?`, string(f.Retention))
	}
	if f.ExcludeDiscard {
		w.add(`retention <> ?`, string(store.RetentionDiscard))
	}
	return w, nil
}

// valueMatch is a condition on external_data.value and its argument.
type valueMatch struct {
	cond string
	arg  string
}

// exact matches the value ignoring ASCII case.
func exact(v string) valueMatch { return valueMatch{`lower(x.value) = ?`, foldASCII(v)} }

// pattern matches the value ignoring ASCII case, '*' matching any run of
// characters; without '*' it is exact.
func pattern(p string) valueMatch {
	if !strings.Contains(p, "*") {
		return exact(p)
	}
	return valueMatch{`lower(x.value) LIKE ? ESCAPE '\'`, foldASCII(likePattern(p))}
}

// external returns the condition "the recording has external data under
// one of keys whose value matches m", driven from the external_data index
// (id IN (...)): right for values that pick few recordings.
func external(keys []string, m valueMatch) (string, []any) {
	cond, args := externalData(keys, m)
	return `id IN (SELECT x.recording_id FROM external_data x WHERE ` + cond + `)`, args
}

// externalCheck is external as a check of each row (EXISTS on the primary
// key): right for values most recordings share (a tenant, a call type).
func externalCheck(keys []string, m valueMatch) (string, []any) {
	cond, args := externalData(keys, m)
	return `EXISTS (SELECT 1 FROM external_data x WHERE x.recording_id = recordings.id AND ` + cond + `)`, args
}

func externalData(keys []string, m valueMatch) (string, []any) {
	args := make([]any, 0, len(keys)+1)
	for _, k := range keys {
		args = append(args, k)
	}
	keyCond := `x.key = ?`
	if len(keys) > 1 {
		keyCond = `x.key IN (?` + strings.Repeat(`, ?`, len(keys)-1) + `)`
	}
	return keyCond + ` AND ` + m.cond, append(args, m.arg)
}

// likePattern turns a user pattern into a LIKE pattern with ESCAPE '\':
// '*' → '%', and '%', '_', '\' escaped.
func likePattern(p string) string {
	var b strings.Builder
	for _, r := range p {
		switch r {
		case '*':
			b.WriteByte('%')
		case '%', '_', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

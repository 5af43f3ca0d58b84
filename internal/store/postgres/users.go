package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openrec/openrec/internal/store"
)

// Users and sessions (migration 0005). A user's key is lower(name) under
// COLLATE "C" (ASCII case folded, as SQLite's NOCASE): names are unique
// and looked up ignoring ASCII case; a session references the key and is
// deleted with its user (ON DELETE CASCADE).

const userColumns = `name, role, tenant, agent_id, password_hash, disabled, created_at, updated_at`

// CreateUser inserts u. CreatedAt is set from the clock unless already set;
// UpdatedAt is set to CreatedAt; both are written back to u. A name taken
// (ignoring ASCII case) is store.ErrExists; an empty name or role
// store.ErrInvalid.
func (db *DB) CreateUser(ctx context.Context, u *store.User) error {
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	if u.Name == "" || u.Role == "" {
		return fmt.Errorf("create user %q: empty name or role: %w", u.Name, store.ErrInvalid)
	}
	created := u.CreatedAt
	if created.IsZero() {
		created = db.now()
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		u.Name, u.Role, u.Tenant, u.AgentID, u.PasswordHash, u.Disabled, formatTime(created), formatTime(created))
	if isCode(err, codeUniqueViolation, "users_pkey") {
		return fmt.Errorf("create user %q: %w", u.Name, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Name, err)
	}
	u.CreatedAt, u.UpdatedAt = created.UTC(), created.UTC()
	return nil
}

// GetUser returns the user called name, ignoring ASCII case. An unknown
// name is store.ErrNotFound.
func (db *DB) GetUser(ctx context.Context, name string) (*store.User, error) {
	leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	out, err := db.scanUsers(ctx, `SELECT `+userColumns+` FROM users WHERE name_key = $1`, foldASCII(name))
	if err != nil {
		return nil, fmt.Errorf("get user %q: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("get user %q: %w", name, store.ErrNotFound)
	}
	return &out[0], nil
}

// ListUsers returns every user, by name (ignoring ASCII case).
func (db *DB) ListUsers(ctx context.Context) ([]store.User, error) {
	leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	out, err := db.scanUsers(ctx, `SELECT `+userColumns+` FROM users ORDER BY name_key`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// UpdateUser replaces the role, tenant, agent id, password hash and
// disabled flag of the user called u.Name (ignoring ASCII case); the name
// and CreatedAt are not changed. UpdatedAt is set from the clock, and the
// stored Name and CreatedAt are read back into u. An unknown name is
// store.ErrNotFound, an empty role store.ErrInvalid.
func (db *DB) UpdateUser(ctx context.Context, u *store.User) error {
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	if u.Role == "" {
		return fmt.Errorf("update user %q: empty role: %w", u.Name, store.ErrInvalid)
	}
	updated := db.now()
	var name, created string
	err = db.pool.QueryRow(ctx, `UPDATE users SET role = $1, tenant = $2, agent_id = $3, password_hash = $4,
		disabled = $5, updated_at = $6 WHERE name_key = $7 RETURNING name, created_at`,
		u.Role, u.Tenant, u.AgentID, u.PasswordHash, u.Disabled, formatTime(updated), foldASCII(u.Name)).Scan(&name, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("update user %q: %w", u.Name, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("update user %q: %w", u.Name, err)
	}
	c, err := parseTime(created)
	if err != nil {
		return err
	}
	u.Name, u.CreatedAt, u.UpdatedAt = name, c, updated.UTC()
	return nil
}

// DeleteUser deletes the user called name (ignoring ASCII case) and its
// sessions and API tokens (the foreign key cascades). Its audit entries
// stay. An unknown name is store.ErrNotFound.
func (db *DB) DeleteUser(ctx context.Context, name string) error {
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	tag, err := db.pool.Exec(ctx, `DELETE FROM users WHERE name_key = $1`, foldASCII(name))
	if err != nil {
		return fmt.Errorf("delete user %q: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete user %q: %w", name, store.ErrNotFound)
	}
	return nil
}

// CountUsers returns the number of users (disabled ones included): zero on
// a fresh install, when the first admin is still to be created.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	leave, err := db.enter()
	if err != nil {
		return 0, err
	}
	defer leave()
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

func (db *DB) scanUsers(ctx context.Context, q string, args ...any) ([]store.User, error) {
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		var (
			u                store.User
			created, updated string
		)
		if err := rows.Scan(&u.Name, &u.Role, &u.Tenant, &u.AgentID, &u.PasswordHash, &u.Disabled, &created, &updated); err != nil {
			return nil, err
		}
		if u.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if u.UpdatedAt, err = parseTime(updated); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CreateSession stores s. A zero CreatedAt is the store clock's now. An
// empty token hash, an unknown kind or a zero ExpiresAt is
// store.ErrInvalid; a user that does not exist store.ErrNotFound; a token
// hash already stored store.ErrExists.
func (db *DB) CreateSession(ctx context.Context, s store.Session) error {
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	if s.TokenHash == "" || (s.Kind != store.SessionUI && s.Kind != store.SessionAPI) || s.ExpiresAt.IsZero() {
		return fmt.Errorf("create session for %q: token hash, kind %q or expiry missing: %w", s.User, s.Kind, store.ErrInvalid)
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = db.now()
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO sessions (token_hash, user_key, kind, csrf, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, s.TokenHash, foldASCII(s.User), s.Kind, s.CSRF, formatTime(s.CreatedAt), formatTime(s.ExpiresAt))
	switch {
	case err == nil:
		return nil
	case isCode(err, codeForeignKeyViolation, ""):
		return fmt.Errorf("create session: user %q: %w", s.User, store.ErrNotFound)
	case isCode(err, codeUniqueViolation, "sessions_pkey"):
		return fmt.Errorf("create session for %q: token hash: %w", s.User, store.ErrExists)
	}
	return fmt.Errorf("create session for %q: %w", s.User, err)
}

// GetSession returns the session with tokenHash if it has not expired at
// now (ExpiresAt > now). Session.User is the user's name as stored. A
// missing or expired session is store.ErrNotFound.
func (db *DB) GetSession(ctx context.Context, tokenHash string, now time.Time) (*store.Session, error) {
	leave, err := db.enter()
	if err != nil {
		return nil, err
	}
	defer leave()
	var (
		s                store.Session
		created, expires string
	)
	err = db.pool.QueryRow(ctx, `SELECT s.token_hash, u.name, s.kind, s.csrf, s.created_at, s.expires_at
		FROM sessions s JOIN users u ON u.name_key = s.user_key
		WHERE s.token_hash = $1 AND s.expires_at > $2`, tokenHash, formatTime(now)).
		Scan(&s.TokenHash, &s.User, &s.Kind, &s.CSRF, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("get session: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get session: %w", err)
	}
	if s.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if s.ExpiresAt, err = parseTime(expires); err != nil {
		return nil, err
	}
	return &s, nil
}

// DeleteSession deletes the session with tokenHash (a logout, a revoked
// API token). Deleting one that does not exist is no error.
func (db *DB) DeleteSession(ctx context.Context, tokenHash string) error {
	leave, err := db.enter()
	if err != nil {
		return err
	}
	defer leave()
	if _, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions deletes every session and API token of the user
// called name (ignoring ASCII case) and returns how many there were. An
// unknown user has none: 0, no error.
func (db *DB) DeleteUserSessions(ctx context.Context, name string) (int, error) {
	leave, err := db.enter()
	if err != nil {
		return 0, err
	}
	defer leave()
	tag, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE user_key = $1`, foldASCII(name))
	if err != nil {
		return 0, fmt.Errorf("delete sessions of %q: %w", name, err)
	}
	return int(tag.RowsAffected()), nil
}

// DeleteExpiredSessions deletes the sessions expired at now (ExpiresAt <=
// now) and returns how many there were.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	leave, err := db.enter()
	if err != nil {
		return 0, err
	}
	defer leave()
	tag, err := db.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, formatTime(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

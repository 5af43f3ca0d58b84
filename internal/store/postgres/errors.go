package postgres

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

var (
	// ErrClosed is returned by methods called after Close.
	ErrClosed = errors.New("postgres: store is closed")
	// ErrSchemaTooNew is returned by Open when the database was migrated by
	// a newer openrec than this one.
	ErrSchemaTooNew = errors.New("postgres: database schema is newer than this binary")
	// ErrBadMigration reports an embedded migration file with a bad name.
	ErrBadMigration = errors.New("postgres: bad migration")
)

// SQLSTATE codes the store maps to store errors.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeRestrictViolation   = "23001" // raised by the audit and legal hold triggers
)

// isCode reports whether err is a PostgreSQL error with SQLSTATE code
// (and, when constraint is not "", on that constraint).
func isCode(err error, code, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code && (constraint == "" || pe.ConstraintName == constraint)
}

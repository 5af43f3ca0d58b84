package sqlite

import "errors"

var (
	// ErrClosed is returned by methods called after Close.
	ErrClosed = errors.New("sqlite: store is closed")
	// ErrSchemaTooNew is returned by Open when the database was migrated by
	// a newer openrec than this one.
	ErrSchemaTooNew = errors.New("sqlite: database schema is newer than this binary")
	// ErrBadMigration reports an embedded migration file with a bad name.
	ErrBadMigration = errors.New("sqlite: bad migration")
)

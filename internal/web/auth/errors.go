package auth

import "errors"

var (
	// ErrWeakPassword: a password shorter than MinPasswordLength bytes (the
	// empty password included).
	ErrWeakPassword = errors.New("auth: password too short")
	// ErrPasswordTooLong: a password longer than MaxPasswordLength bytes,
	// which bcrypt would silently truncate.
	ErrPasswordTooLong = errors.New("auth: password too long")
	// ErrBadRole: a role name that is not admin, supervisor or agent.
	ErrBadRole = errors.New("auth: unknown role")
	// ErrBadUserName: a user name that is empty, too long or holds a
	// character outside [A-Za-z0-9._@-].
	ErrBadUserName = errors.New("auth: invalid user name")
)

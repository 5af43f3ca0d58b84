package store

import "errors"

// Errors returned (wrapped) by every store implementation.
var (
	// ErrNotFound: no recording with that id.
	ErrNotFound = errors.New("store: recording not found")
	// ErrConflict: a recording with that id already exists.
	ErrConflict = errors.New("store: recording already exists")
)

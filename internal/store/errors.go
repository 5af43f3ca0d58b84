package store

import "errors"

// Errors returned (wrapped) by every store implementation.
var (
	// ErrNotFound: no recording with that id (no user with that name, no
	// live session with that token hash).
	ErrNotFound = errors.New("store: recording not found")
	// ErrConflict: a recording with that id already exists.
	ErrConflict = errors.New("store: recording already exists")
	// ErrExists: a user with that name (ignoring ASCII case) already
	// exists.
	ErrExists = errors.New("store: already exists")
	// ErrInvalid: an argument the store cannot accept (an empty id, an
	// unknown Retention).
	ErrInvalid = errors.New("store: invalid argument")
	// ErrNotPending: KeepRecording or DiscardRecording on a recording whose
	// retention state does not allow it: keeping one that is not a
	// pre-recording awaiting a decision (none or discard), or discarding
	// one that was kept.
	ErrNotPending = errors.New("store: recording is not a pre-recording awaiting a decision")
	// ErrLegalHold: the recording is on legal hold and cannot be deleted.
	ErrLegalHold = errors.New("store: recording on legal hold")
	// ErrNoMedia: a recording has no media file (none was written, or it
	// is gone); see mediastore.Locate.
	ErrNoMedia = errors.New("store: recording has no media file")
	// ErrBusy: the recording's transcode job is claimed by another worker
	// (or process) whose lease has not run out.
	ErrBusy = errors.New("store: transcode job running elsewhere")
	// ErrNoTranscode: the recording has nothing to transcode (it does not
	// need it, or is not finished yet).
	ErrNoTranscode = errors.New("store: recording has nothing to transcode")
)

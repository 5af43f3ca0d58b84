package mixer

import "errors"

var (
	// ErrConfig is returned by New for an invalid Config or a nil writer.
	ErrConfig = errors.New("mixer: invalid config")

	// ErrWrite wraps an error of the FrameWriter's Write or Sync.
	ErrWrite = errors.New("mixer: write frames")

	// ErrRaw wraps an error opening or writing a raw payload sidecar.
	ErrRaw = errors.New("mixer: raw sidecar")

	// ErrShortRecord is returned by ReadRawRecord for a truncated record.
	ErrShortRecord = errors.New("mixer: truncated raw record")
)

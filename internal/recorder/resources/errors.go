package resources

import "errors"

// Refusals: the text of each is a short fixed English reason, fit for a SIP
// reason phrase and a health body.
var (
	ErrNoPorts   = errors.New("no free RTP port pair")
	ErrDiskLow   = errors.New("disk below low watermark")
	ErrDiskFull  = errors.New("disk below critical watermark")
	ErrDisk      = errors.New("disk space unknown")
	ErrStore     = errors.New("store not writable")
	ErrFDs       = errors.New("file descriptors exhausted")
	ErrWatermark = errors.New("resources: bad watermark")
)

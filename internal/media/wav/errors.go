package wav

import "errors"

var (
	// ErrInvalid marks input that is not a well-formed WAV file. Every
	// parse error returned by Decode, ReadFile and Recover wraps it.
	ErrInvalid = errors.New("wav: invalid file")

	// ErrUnsupported marks a well-formed WAV file whose sample format is not
	// one of PCM16, A-law or µ-law. Errors wrapping it also wrap ErrInvalid.
	ErrUnsupported = errors.New("wav: unsupported sample format")

	// ErrUnknownFormat is returned by ParseFormat for an unknown name.
	ErrUnknownFormat = errors.New("wav: unknown format")

	// ErrInvalidParams is returned by Create and NewWith for a bad format,
	// channel count or sample rate.
	ErrInvalidParams = errors.New("wav: invalid parameters")

	// ErrPartialFrame is returned by Write when p is not a whole number of
	// interleaved frames. Nothing is written.
	ErrPartialFrame = errors.New("wav: write is not a whole number of frames")

	// ErrTooLarge is returned by Write when the data chunk would exceed what
	// a RIFF/WAVE file can describe (4 GiB - 1 minus the header; about 74 h of
	// 8 kHz stereo G.711 or 37 h of 8 kHz stereo PCM16). Nothing is written.
	ErrTooLarge = errors.New("wav: data exceeds the 4 GiB WAV limit")

	// ErrClosed is returned by Write and Sync after Close.
	ErrClosed = errors.New("wav: writer closed")
)

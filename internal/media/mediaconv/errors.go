package mediaconv

import "errors"

var (
	// ErrInvalid marks a file that is not a readable WAV recording: not
	// RIFF/RF64 WAVE, no fmt or data chunk, or an inconsistent fmt chunk.
	ErrInvalid = errors.New("mediaconv: invalid recording file")

	// ErrUnsupported marks a well-formed WAV file this package cannot
	// convert: a sample format other than PCM16, A-law or µ-law, more than
	// MaxChannels channels or a sample rate above MaxSampleRate. Errors
	// wrapping it also wrap ErrInvalid.
	ErrUnsupported = errors.New("mediaconv: unsupported recording format")

	// ErrChannel is returned for a channel that the recording does not
	// have (valid: -1 for all, 0..Channels()-1), and by EncodeMP3 for all
	// channels of a recording with more than two (MP3 holds at most two).
	ErrChannel = errors.New("mediaconv: no such channel")

	// ErrBuckets is returned by Peaks for a bucket count outside
	// 1..MaxBuckets.
	ErrBuckets = errors.New("mediaconv: bucket count out of range")

	// ErrBitrate is returned by EncodeMP3 and Cache.MP3 for a bitrate that
	// is not offered for the output's channel count.
	ErrBitrate = errors.New("mediaconv: unsupported MP3 bitrate")

	// ErrNoEncoder is returned when the LAME binary cannot be found or is
	// not executable. An HTTP API answers it with 501 Not Implemented.
	ErrNoEncoder = errors.New("mediaconv: MP3 encoder (lame) is not installed")

	// ErrEncoder is returned when the encoder ran and failed; the error
	// carries the end of its standard error.
	ErrEncoder = errors.New("mediaconv: MP3 encoder failed")

	// ErrKey is returned by Cache.MP3 for a key that is not usable in a
	// file name (empty, too long, or with characters other than ASCII
	// letters, digits, '-', '_' and '.', or starting with '.').
	ErrKey = errors.New("mediaconv: invalid cache key")

	// ErrNoPlace is returned by Cache.MP3 when the Cache has no Place.
	ErrNoPlace = errors.New("mediaconv: cache has no Place")

	// ErrSeek is returned by PCMReader.Seek for a negative offset or an
	// unknown whence.
	ErrSeek = errors.New("mediaconv: invalid seek")

	// ErrClosed is returned by the methods of a Source after Close and by
	// reads of its PCMReaders, and by Cache.MP3 after Cache.Close.
	ErrClosed = errors.New("mediaconv: source closed")
)

package mediacrypt

import "errors"

// Errors returned by this package, wrapped with context; test with errors.Is.
var (
	// ErrHeader: the file does not start with a readable age header (not an
	// encrypted recording, or its header was destroyed by Shred).
	ErrHeader = errors.New("mediacrypt: no readable encryption header")
	// ErrWrongKey: none of the identities unwraps the recording's file key.
	ErrWrongKey = errors.New("mediacrypt: no identity matches the recording's recipients")
	// ErrCorrupt: the header MAC or a chunk failed authentication where a
	// truncation cannot explain it.
	ErrCorrupt = errors.New("mediacrypt: authentication failed (corrupt or tampered)")
	// ErrNoKeys: no recipients to encrypt to, or no identities to decrypt with.
	ErrNoKeys = errors.New("mediacrypt: no keys")
	// ErrIncompatibleRecipients: post-quantum and classic recipients in one
	// list (the file would be no safer than its weakest recipient).
	ErrIncompatibleRecipients = errors.New("mediacrypt: incompatible recipients")
	// ErrHeaderFull: the new recipient stanzas do not fit in the header slot
	// reserved when the file was created.
	ErrHeaderFull = errors.New("mediacrypt: recipients do not fit in the header slot")
	// ErrRewrite: a write would change bytes that are already encrypted
	// (only the WAV size fields may be rewritten; they are synthesised on read).
	ErrRewrite = errors.New("mediacrypt: already encrypted bytes cannot be rewritten")
	// ErrNotSeekable: the Writer only appends.
	ErrNotSeekable = errors.New("mediacrypt: the encrypting writer only appends")
	// ErrClosed: Write after Close.
	ErrClosed = errors.New("mediacrypt: writer closed")
	// ErrNotWAV: the decrypted plaintext does not start with a RIFF/WAVE
	// header with a data chunk.
	ErrNotWAV = errors.New("mediacrypt: plaintext is not a WAV stream")
	// ErrKeyFile: a recipients or identities file could not be used.
	ErrKeyFile = errors.New("mediacrypt: bad key file")
)

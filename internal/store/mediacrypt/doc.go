// Package mediacrypt encrypts recordings at rest: a random file key per
// recording, the audio encrypted in independently authenticated chunks as
// it is written, the file key wrapped to one or more age X25519 recipients
// per tenant, rotation that re-wraps the key without touching the audio,
// and crypto-shredding. A media store wraps its file writer in a Writer
// and serves playback through Open / OpenWAV: the recorder
// (internal/recorder, crypt.go) writes every recording so when the
// `encryption:` section is on, the API plays back through Keys.OpenMedia,
// deletion shreds (internal/store/expire) and the command line exports and
// rotates (`recordings export --decrypt-keys`, `recordings rewrap`).
//
// # Format
//
// An encrypted file is a standard age v1 file (https://c2sp.org/age), so
// `age -d -i identities.txt FILE` decrypts a finished one:
//
//	header   "age-encryption.org/v1", one X25519 stanza per recipient, an
//	         "openrec-pad" stanza filling the slot to Options.HeaderSize
//	         (4 KiB), "--- " HMAC(file key) — see header.go
//	nonce    16 random bytes
//	payload  64 KiB plaintext chunks, ChaCha20-Poly1305 (age STREAM); the
//	         chunk index and a last-chunk flag are the AEAD nonce
//
// The header is written by this package rather than by age.Encrypt because
// age has no API to wrap a known file key (rotation needs it) and cannot
// reserve room. age does the rest: X25519 wrapping (Recipient.Wrap),
// header parsing (age.ExtractHeader) and unwrapping with MAC check
// (age.DecryptHeader). The payload is age's STREAM, reimplemented here
// (age keeps it internal) so the reader can accept truncated files;
// tests check age decrypts what Writer writes and Open reads what age
// writes.
//
// # Killed writers
//
// age's readers refuse a file whose last chunk does not authenticate as
// last, and a killed recorder leaves exactly that. Open instead finds the
// longest prefix of whole chunks that authenticate (each carries its own
// tag, so the prefix is as trustworthy as a finished file's chunks), serves
// it and reports Truncated, ignoring an incomplete tail (Trailing bytes).
//
// Sealed chunks alone would lose up to 64 KiB on a kill — 2 s of 8 kHz
// stereo PCM16 (32,000 B/s), 8 s of mono G.711 — where a plaintext WAV
// loses one flush interval. So, when the destination is a file
// (io.WriterAt + Truncate), Writer.Checkpoint seals the bytes of the chunk
// being filled that are not yet on disk as a checkpoint record, written
// where the chunk will go; the chunk overwrites the records when it is
// full, and Close truncates leftovers, so a finished file is plain age.
// Records carry their own tag under nonces STREAM never uses, and Open
// appends the contiguous run of records that authenticate to the prefix.
// The WAV writer's header rewrite (every flush) and Sync checkpoint, so a
// kill loses only what was written after the last flush, as in plaintext.
// The price is writing each byte twice (record, then chunk) and 20 bytes
// per record. Repair needs no key: the recorder, which holds only public
// keys, renames the file and marks the recording partial; Open at
// playback does the rest.
//
// # WAV
//
// A WAV writer patches sizes in its header, which encrypted chunks cannot
// take. Writer accepts rewrites of exactly those fields (and identical
// bytes), so media/wav.NewWith(writer) works unchanged, and WAV serves
// the plaintext with the RIFF, data and fact sizes synthesised from the
// authenticated length: a valid WAV whatever the stored header says, with
// io.ReaderAt and Size for HTTP Range replay that decrypts only the chunks
// a range touches.
//
// # Keys
//
// Recipients files (--encrypt-to, per tenant) and identities files
// (--decrypt-keys) use age's one-key-per-line syntax (ParseRecipientsFile,
// ParseIdentitiesFile; Config is the `encryption:` section). Rewrap
// rotates a file's keys in place: the header MAC is keyed by the file key,
// so rotation unwraps with an identity and writes a new header of the same
// slot size; RewrapFile journals it. Shred overwrites the header (the only
// wrapped copies of the file key) with noise.
//
// Open takes age.Identity values, so the private keys can stay out of the
// playback process: an Identity whose Unwrap asks a separate crypto
// service (over mutual TLS) for the file key of the stanzas it is given
// fits unchanged. Nothing here does that yet.
package mediacrypt

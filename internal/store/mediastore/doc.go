// Package mediastore is the one home of the media layout: which files make
// up a recording, where they live, and how a file is written so that a
// reader or a crash never sees half of it.
//
// A recording's files sit in a day directory under the media root
// (<data-dir>/media/YYYY/MM/DD, UTC) and share its base name:
//
//	<id>.wav           the media (plain, or age-encrypted by mediacrypt)
//	<id>.wav.part      the media while it is being written
//	<id>.mp3, <id>.opus the media stored compressed (media_format); the WAV
//	                   is removed once the row names it
//	<id>.mp3.part      the compressed file being made, or (empty) the
//	                   marker that it is to be made (also .opus.part)
//	<id>.wav.rewrap    a key rotation's journal (mediacrypt)
//	<id>.chN.rtpraw    payloads of channel N the mixer could not decode
//	<id>.sdp           the negotiated SDP
//	<id>.manifest.json the signed manifest (store/seal)
//
// and the server's MP3 cache (<data-dir>/cache/mp3) names its entries
// "<id>-<sha256 prefix>.<variant>.mp3" (".mp3.age" when encrypted), so a
// recording's cached copies are found by its id; a compressed recording's
// decoded WAV is cached as <data-dir>/cache/pcm/<id>-<sha256>.wav.
//
// WriteFile is the one atomic writer: temporary file in the target's
// directory, fsync, rename, directory fsync.
//
// # Another back end
//
// The functions here name files on a local disk, and callers use them
// directly. An object store (S3) is added without touching the callers'
// logic this way: each consumer declares the few operations it needs as an
// interface of its own (expire: the files of a recording and remove; the
// API: open for reading with Range; the MP3 cache: Place, already a
// function field of mediaconv.Cache; the recorder: create, sync, finish),
// this package provides a Disk type implementing them with the functions
// below, and an S3 type implements them with keys made of the same layout
// (the day prefix and base name, the suffixes above), WriteFile becoming a
// single PUT (objects are replaced atomically) and a finished .part a
// multipart upload completed on finish. The wiring (app, cmd) picks one.
// Not done yet: only the MP3 cache takes its writer as a value today.
package mediastore

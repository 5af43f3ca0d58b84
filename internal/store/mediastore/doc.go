// Package mediastore is the one home of the media layout: which files make
// up a recording, where they live, and how a file is written so that a
// reader or a crash never sees half of it.
//
// A recording's files sit in a day directory under the media root
// (<data-dir>/media/YYYY/MM/DD, UTC) and share its base name:
//
//	<id>.wav           the media (plain, or age-encrypted by mediacrypt)
//	<id>.wav.part      the media while it is being written
//	<id>.wav.rewrap    a key rotation's journal (mediacrypt)
//	<id>.chN.rtpraw    payloads of channel N the mixer could not decode
//	<id>.sdp           the negotiated SDP
//	<id>.manifest.json the signed manifest (store/seal)
//
// and the server's MP3 cache (<data-dir>/cache/mp3) names its entries
// "<id>-<sha256 prefix>.<variant>.mp3" (".mp3.age" when encrypted), so a
// recording's cached copies are found by its id.
//
// WriteFile is the one atomic writer: temporary file in the target's
// directory, fsync, rename, directory fsync.
//
// # Another back end
//
// The functions here name files on a local disk. Callers that only need to
// find, read or delete a recording's objects keep to the names this package
// gives (Locate, Files, WriteFile); an object store (S3) would be added as a
// second implementation of the small interfaces those callers declare for
// themselves (a Deleter in store/expire, a media opener in web/api), with
// keys built from the same layout — the day prefix and base name — so no
// caller spells a path or a suffix of its own.
package mediastore

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
//	<id>.screen.webm   the screen video the agent's screen client uploaded
//	                   (".part" while incomplete; age-encrypted when the
//	                   media is)
//	<id>.transcode.json a transcode's journal (recorder/transcode)
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
// Local files are the spool and the default. Media in an S3 bucket
// (store/s3media) keeps this layout as object keys (ObjectName:
// "YYYY/MM/DD/<file>" under the bucket's prefix) and moves a recording's
// Finished files there after finalise; each consumer declares the few
// operations it needs as an interface of its own: expire.Objects
// (delete a recording's objects), api.MediaObjects (open for ranged
// reads), s3media.Objects (put, verify); the MP3 cache takes an opener
// (mediaconv.Cache.MP3Open). The recorder writes only local files.
package mediastore

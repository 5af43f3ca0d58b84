// Package s3media keeps finished recordings in an S3-compatible bucket.
//
// Recording never depends on the bucket: the recorder writes to the local
// spool (the media directory under the data dir, crash-safe WAV, as
// without S3). After a recording is finalised the Uploader puts its files
// (the media and the sidecars that belong to it: SDP, raw RTP, signed
// manifest — encrypted or not, exactly as stored) into the bucket with
// retry and exponential backoff, verifies every object (size and sha256:
// the checksum the server computed, else the object read back), records
// in the store that the media now lives in the bucket (store.Recording.
// MediaObject) and only then deletes the local copy. Pending uploads are
// the files in the spool: a restart rescans it. An unreachable bucket
// keeps recordings in the spool, bounded by the disk watermarks of
// recorder/resources.
//
// Keys follow the local layout (store/mediastore.ObjectName):
// <prefix>/YYYY/MM/DD/<file>, so a recording's objects share the prefix
// <prefix>/YYYY/MM/DD/<id>. and are listed and deleted together.
//
// Bucket talks to the server with aws-sdk-go-v2 (path-style addressing,
// static credentials given by the caller, AWS_* in the environment for
// openrec serve); Object is a ranged reader (io.ReaderAt) over GetObject
// for Range replay straight from the bucket.
package s3media

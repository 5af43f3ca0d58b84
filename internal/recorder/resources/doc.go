// Package resources watches what a new call needs besides a call slot —
// free RTP port pairs (quarantined pairs are not free), disk space above the
// low watermark, a writable store, file descriptors under RLIMIT_NOFILE with
// a reserve kept for the HTTP API, the store and health — so that admission
// answers 503 before anything runs out and OPTIONS and /healthz never say
// "ok" when a new call could not be recorded. It also says when free space
// falls below the critical watermark, at which point calls in progress must
// end cleanly.
//
// The file system, the file-descriptor table and the port allocator are
// behind small interfaces (Disk, FDs, Ports) so tests inject fakes; the
// defaults read statfs(2), /proc/self/fd and getrlimit(2).
package resources

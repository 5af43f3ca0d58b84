package store

import "time"

// TranscodeState is the state of a recording's transcode job: the
// background decoding of payloads a recording kept raw (NeedsTranscode)
// into its media file.
type TranscodeState string

// Transcode job states. A job is queued, claimed (running, with a lease),
// and ends done or failed; a failed attempt that may succeed later goes
// back to queued with a later NextAttemptAt (backoff). Waiting means this
// build has no decoder for a codec of the recording: a process with one
// (another build) queues it again.
const (
	TranscodeQueued  TranscodeState = "queued"
	TranscodeRunning TranscodeState = "running"
	TranscodeDone    TranscodeState = "done"
	TranscodeFailed  TranscodeState = "failed"
	TranscodeWaiting TranscodeState = "waiting"
)

// Valid reports whether s is one of the known states.
func (s TranscodeState) Valid() bool {
	switch s {
	case TranscodeQueued, TranscodeRunning, TranscodeDone, TranscodeFailed, TranscodeWaiting:
		return true
	}
	return false
}

// TranscodeStates lists every state, in life-cycle order.
var TranscodeStates = []TranscodeState{TranscodeQueued, TranscodeRunning, TranscodeWaiting, TranscodeDone, TranscodeFailed}

// TranscodeJob is the persisted state of one recording's transcoding; a
// recording has at most one (deleted with it).
type TranscodeJob struct {
	RecordingID string
	State       TranscodeState
	Attempts    int    // claims so far (a reset by EnqueueTranscode starts again at 0)
	LastError   string // of the last failed attempt; "" once done
	// NextAttemptAt: queued, not before this time (backoff); running, the
	// end of the claim's lease, after which another worker may take it
	// over (the process holding it died).
	NextAttemptAt time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// TranscodeResult is what a finished transcode changes in its recording:
// the media file's new size, digest and duration and the codecs now
// decoded into it. NeedsTranscode becomes false.
type TranscodeResult struct {
	SizeBytes    int64
	SHA256       string
	DurationMS   int64
	Codecs       []string
	StatusReason string
	// Events are added to the recording in the same transaction
	// (EventTranscoded, key tones found in the decoded audio).
	Events []Event
}

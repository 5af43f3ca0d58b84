package tlib

// ProtocolVersion is the value openrec puts in AttributeProtocolVersion of
// RequestRegisterClient and EventServerInfo (docs/cti-link.md, "Connection").
const ProtocolVersion = "openrec-tlib/1"

// Recording control through RequestPrivateService (AttributePrivateMsgID).
// These are SIP Server's defaults; sites can renumber them, so callers should
// take the ids from configuration and use these only as defaults.
const (
	PrivateMsgRecordStart  = 3013 // GSIP_RECORD_START
	PrivateMsgRecordStop   = 3014 // GSIP_RECORD_STOP
	PrivateMsgRecordPause  = 3015 // GSIP_RECORD_PAUSE
	PrivateMsgRecordResume = 3016 // GSIP_RECORD_RESUME
)

// AttributeExtensions keys of the recording-control requests.
const (
	ExtRecord              = "record"              // "source" | "destination" (also in RequestRouteCall: disable_source | disable_destination)
	ExtID                  = "id"                  // unique recording id, comes back in the MSR Request-URI record=<id>
	ExtDest                = "dest"                // recorder destination (SIP URI)
	ExtDest2               = "dest2"               // second destination (duplicate recording)
	ExtAudioSrc            = "audiosrc"            // consent tone / announcement source
	ExtToneSilenceDuration = "tonesilenceduration" // consent tone cadence
)

// Values of ExtRecord.
const (
	RecordSource             = "source"
	RecordDestination        = "destination"
	RecordDisableSource      = "disable_source"
	RecordDisableDestination = "disable_destination"
)

// UserDataRecord is the attached-data key in which SIP Server reports the
// recording state of a call; its values are RecordOn, RecordPaused, RecordOff.
const (
	UserDataRecord = "GSIP_RECORD"
	RecordOn       = "ON"
	RecordPaused   = "PAUSED"
	RecordOff      = "OFF"
)

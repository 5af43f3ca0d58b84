// Package mixer is the per-recording timeline of the call recorder: it
// receives RTP from N legs or streams (one Track per channel), reorders it,
// places every packet on one sample timeline, fills gaps with silence,
// converts it to the storage format and writes interleaved frames to a
// FrameWriter (the WAV writer) in one Write per Flush, followed by Sync.
//
// # Timeline
//
// Positions are samples since Config.Start at Config.SampleRate: 8 kHz,
// or 16 kHz for a wideband recording (PCM16 only). On a 16 kHz timeline,
// G.711 payloads are decoded and doubled by a polyphase low-pass
// interpolator (internal/media/resample) and Decoders render 16 kHz; the
// DTMF masker still works at 8 kHz (the audio is halved through a low-pass
// filter for detection, spans scaled back) and the Tap gets 8 kHz audio. A track anchors at its
// first packet: the packet goes at the position of its arrival time, and
// every later packet of the same stream at anchor + (RTP timestamp - anchor
// timestamp), with 32-bit timestamps and 16-bit sequence numbers unwrapped.
// During the stream's first second, a packet that arrives after the first
// one and more than 10 ms earlier than the anchor implies moves the anchor
// back to it, 250 ms at most (and the samples placed so far with it): the
// first packets were delayed (a busy receiver, jitter), and arrival
// alignment follows the least-delayed packet. That stops once a sender
// report aligns the track or an event (DTMF, comfort noise, codec change)
// was placed by position.
// Missing packets therefore become silence of exactly the right length; a
// single lost packet between two received ones is concealed by repeating the
// previous packet at half amplitude (TrackStats.ConcealedSamples), and the
// concealment is undone if the packet turns up inside the reorder window.
//
// Each track owns a ring of output samples in the storage format covering
// [written, written+MaxAhead), pre-filled with the storage format's silence
// (0xFF µ-law, 0xD5 A-law, 0 PCM16). A packet is decoded straight into its
// slot, so reordering costs nothing. Flush(now) releases
// [written, now-ReorderWindow): a packet placed before written is late
// (dropped and counted). A new SSRC, a sequence restart (a step of more
// than 3000 forward or 1000 back), or a timestamp jump that would place a
// newer packet outside [written-ReorderWindow, written+MaxAhead) re-anchors
// the track at the packet's arrival time. Older packets of the replaced
// SSRC arriving within the reorder window after a change are late, not a
// change back. If Flush falls behind by more than MaxAhead, packets that
// do not fit the ring are dropped as late.
//
// # RTCP alignment
//
// Without RTCP, channels are aligned by the arrival time of their first
// packets (the least-delayed of their first second). Once a track has a sender report for its SSRC, its RTP
// timestamps map to the sender's wall clock. The mixer keeps one offset
// between that sender clock and the timeline, taken from the first track
// that has both an arrival anchor and a sender report; every other track
// with a sender report is re-anchored on the common sender clock when that
// moves it by more than 10 ms (and less than MaxAhead: a larger
// disagreement means the streams do not share a clock, and arrival
// alignment is kept). Samples already placed but not yet written
// move with it: moving forward leaves a silence gap, moving backward drops
// what would land before the already written part of the file.
//
// # Payloads
//
// PCMU and PCMA are copied (same law), converted with the internal/media/g711
// tables (other law) or decoded (PCM16 storage). The storage format never
// changes, also when a re-INVITE changes the codec (SetCodecs); a
// "codec-change" event is recorded when the payload's codec changes.
// RFC 4733 telephone-events become one "dtmf" Event per tone and write no
// audio. Comfort noise (RFC 3389, CN or static payload type 13) leaves
// silence for the span it covers and counts no loss.
//
// Payloads of any other codec (also payload types neither negotiated nor
// statically assigned to PCMU, PCMA or CN) cannot be decoded here: the
// channel stays silent, NeedsTranscode reports true (whether or not a
// sidecar keeps them), and when Config.Raw is set the
// payloads are appended, during Flush, to the writer Raw(channel) returns
// (opened on first use, never closed by the mixer) as records of
//
//	offset size field
//	0      4    arrival, milliseconds since Config.Start (uint32)
//	4      2    RTP sequence number
//	6      4    RTP timestamp
//	10     1    RTP payload type
//	11     2    payload length n
//	13     n    payload
//
// all integers big-endian. ReadRawRecord parses one record.
//
// # Pause and hold
//
// SetPaused (compliance pause, all channels) and Track.SetHeld (one
// channel) open and close Segments in milliseconds on the timeline. Flush
// writes silence for every paused or held span, whatever arrived, and RTP
// (audio, DTMF and undecodable payloads) arriving while paused is
// discarded. Spans apply to what is not yet written, which is why the
// recorder passes the current time: the reorder window keeps the last
// ReorderWindow of audio unwritten. Close ends open segments at the end of
// the file.
//
// # Concurrency
//
// Track.HandleRTP and Track.HandleSenderReport are called by the receive
// goroutine of each leg, Flush and Close by the recorder; they may run
// concurrently. HandleRTP takes only its track's mutex in the steady state,
// copies what it keeps, does no I/O and does not allocate.
package mixer

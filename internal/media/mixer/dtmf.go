package mixer

// telephoneEvent is one RFC 4733 §2.3 named telephone event:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     event     |E|R| volume    |          duration             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// All packets of one event carry the event's start timestamp; the end
// packet (E set) is usually sent three times.
type telephoneEvent struct {
	Event    uint8
	End      bool
	Volume   uint8  // dBm0 below 0, 0-63
	Duration uint16 // in RTP timestamp units since the event's timestamp
}

// parseTelephoneEvent parses the first event block of an RFC 4733 payload.
// Further blocks (redundant earlier events, RFC 4733 §2.5.1.5) are ignored.
func parseTelephoneEvent(p []byte) (telephoneEvent, bool) {
	if len(p) < 4 {
		return telephoneEvent{}, false
	}
	return telephoneEvent{
		Event:    p[0],
		End:      p[1]&0x80 != 0,
		Volume:   p[1] & 0x3F,
		Duration: uint16(p[2])<<8 | uint16(p[3]),
	}, true
}

// dtmfDigits maps RFC 4733 §3.2 event codes 0-15 to their digits.
var dtmfDigits = [16]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#", "A", "B", "C", "D"}

// digit returns the DTMF digit of the event, or false for other events
// (flash, fax and modem tones ...).
func (e telephoneEvent) digit() (string, bool) {
	if int(e.Event) < len(dtmfDigits) {
		return dtmfDigits[e.Event], true
	}
	return "", false
}

package mixer

import (
	"encoding/binary"
	"fmt"
)

// rawHeaderLen is the size of a raw record header (see the package doc).
const rawHeaderLen = 13

// RawRecord is one record of a raw payload sidecar.
type RawRecord struct {
	ArrivalMS   uint32 // milliseconds since Config.Start
	Seq         uint16
	Timestamp   uint32
	PayloadType uint8
	Payload     []byte // aliases the input of ReadRawRecord
}

// appendRawRecord appends one record to b.
func appendRawRecord(b []byte, arrivalMS uint32, seq uint16, ts uint32, pt uint8, payload []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, arrivalMS)
	b = binary.BigEndian.AppendUint16(b, seq)
	b = binary.BigEndian.AppendUint32(b, ts)
	b = append(b, pt)
	b = binary.BigEndian.AppendUint16(b, uint16(len(payload)))
	return append(b, payload...)
}

// ReadRawRecord parses the record at the start of b and returns it and the
// rest of b. It returns an error wrapping ErrShortRecord when b holds less
// than one whole record.
func ReadRawRecord(b []byte) (RawRecord, []byte, error) {
	if len(b) < rawHeaderLen {
		return RawRecord{}, b, fmt.Errorf("%w: %d header bytes", ErrShortRecord, len(b))
	}
	n := int(binary.BigEndian.Uint16(b[11:]))
	if len(b) < rawHeaderLen+n {
		return RawRecord{}, b, fmt.Errorf("%w: payload %d of %d bytes", ErrShortRecord, len(b)-rawHeaderLen, n)
	}
	r := RawRecord{
		ArrivalMS:   binary.BigEndian.Uint32(b),
		Seq:         binary.BigEndian.Uint16(b[4:]),
		Timestamp:   binary.BigEndian.Uint32(b[6:]),
		PayloadType: b[10],
		Payload:     b[rawHeaderLen : rawHeaderLen+n],
	}
	return r, b[rawHeaderLen+n:], nil
}

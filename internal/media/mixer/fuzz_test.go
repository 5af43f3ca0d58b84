package mixer

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media"
)

func FuzzParseTelephoneEvent(f *testing.F) {
	f.Add([]byte{5, 0x8a, 0x03, 0xc0})
	f.Add([]byte{11, 10, 0, 160, 1, 2, 3, 4})
	f.Add([]byte{1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, ok := parseTelephoneEvent(b)
		if ok != (len(b) >= 4) {
			t.Fatalf("ok = %v for %d bytes", ok, len(b))
		}
		if !ok {
			return
		}
		if ev.Event != b[0] || ev.End != (b[1]&0x80 != 0) || ev.Volume != b[1]&0x3F ||
			ev.Duration != binary.BigEndian.Uint16(b[2:]) || ev.Volume > 63 {
			t.Fatalf("parse(%x) = %+v", b[:4], ev)
		}
		d, isDigit := ev.digit()
		if isDigit != (ev.Event < 16) || (isDigit && len(d) != 1) {
			t.Fatalf("digit(%d) = %q, %v", ev.Event, d, isDigit)
		}
	})
}

func FuzzReadRawRecord(f *testing.F) {
	f.Add(appendRawRecord(nil, 20, 7, 160, 18, []byte{1, 2, 3}))
	f.Add([]byte{0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, rest, err := ReadRawRecord(b)
		if err != nil {
			return
		}
		again := appendRawRecord(nil, r.ArrivalMS, r.Seq, r.Timestamp, r.PayloadType, r.Payload)
		if !bytes.Equal(again, b[:len(b)-len(rest)]) {
			t.Fatalf("round trip %x != %x", again, b[:len(b)-len(rest)])
		}
	})
}

// FuzzHandleRTP feeds arbitrary packet sequences (7 bytes each: channel
// and payload type selector, sequence step, timestamp step, arrival step,
// payload length) to a two-channel mixer and checks it neither panics nor
// writes a timeline that does not match Frames.
func FuzzHandleRTP(f *testing.F) {
	f.Add([]byte{0, 1, 0, 160, 20, 160, 0, 1, 1, 0, 160, 20, 160, 0})
	f.Add([]byte{0x11, 0xff, 0xff, 0x80, 0x00, 0x04, 0x10, 0x02, 0x05, 0x00, 0x01, 0xff, 0x20, 0x03})
	f.Fuzz(func(t *testing.T, b []byte) {
		w := &fakeWriter{}
		m, err := New(Config{Channels: 2, Format: FormatPCM16, Start: t0, Raw: func(int) (io.Writer, error) { return &bytes.Buffer{}, nil }}, w)
		if err != nil {
			t.Fatal(err)
		}
		for ch := range 2 {
			m.Track(ch).SetCodecs([]media.Codec{{PT: 0, Name: media.PCMU}, {PT: 8, Name: media.PCMA}, {PT: 96, Name: "OPUS", ClockRate: 48000, Channels: 2}},
				&media.Codec{PT: 101, Name: media.TelephoneEvent, ClockRate: 8000}, &media.Codec{PT: 13, Name: media.CN})
		}
		pts := []uint8{0, 8, 101, 13, 96, 0, 0, 8}
		var seq [2]uint16
		var ts [2]uint32
		arr := time.Duration(0)
		payload := make([]byte, 400)
		for i := range payload {
			payload[i] = byte(i * 7)
		}
		n := 0
		for ; len(b) >= 7; b = b[7:] {
			ch := int(b[0] & 1)
			seq[ch] += uint16(int8(b[1]))
			ts[ch] += uint32(int16(binary.BigEndian.Uint16(b[2:])))
			arr += time.Duration(int8(b[4])) * time.Millisecond * 5
			p := media.Packet{SSRC: uint32(1 + ch + int(b[0]>>7)), Seq: seq[ch], Timestamp: ts[ch],
				PayloadType: pts[(b[0]>>1)&7], Payload: payload[:int(b[5])+int(b[6]&1)*144], Arrival: t0.Add(arr)}
			m.Track(ch).HandleRTP(&p)
			n++
			switch b[6] >> 5 {
			case 1:
				_ = m.Flush(t0.Add(arr))
			case 2:
				m.Track(ch).HandleSenderReport(&media.SenderReport{SSRC: p.SSRC, NTPTime: uint64(b[3]) << 40, RTPTime: p.Timestamp})
			case 3:
				m.SetPaused(b[3]&1 == 1, t0.Add(arr))
			case 4:
				m.Track(ch).SetHeld(b[3]&1 == 1, t0.Add(arr))
			}
		}
		if err := m.Close(t0.Add(arr + time.Second)); err != nil {
			t.Fatal(err)
		}
		if got := int64(len(w.bytes())); got != m.Frames()*4 {
			t.Fatalf("%d bytes for %d frames", got, m.Frames())
		}
		if st0, st1 := m.Stats(0), m.Stats(1); int(st0.Packets+st1.Packets) != n {
			t.Fatalf("packets %d+%d != %d", st0.Packets, st1.Packets, n)
		}
	})
}

package tlib

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzDecodeFrame: DecodeFrame never panics; whatever it accepts encodes
// back to the same bytes and survives a trace round trip.
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range samples() {
		b, err := AppendFrame(nil, s.msg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0, 0, 0, 4, 0, 64, 0, 0})
	f.Add([]byte{0, 0, 0, 13, 0, 64, 0, 1, 0, 51, 4, 0, 0, 0, 1, 3, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeFrame(b)
		if err != nil {
			return
		}
		again, err := AppendFrame(nil, m)
		if err != nil {
			t.Fatalf("decoded message does not encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoded frame differs:\n%x\n%x", again, b)
		}
		entries, err := ParseTrace(strings.NewReader(m.Trace()))
		if err != nil {
			t.Fatalf("trace of a decoded message does not parse: %v\n%s", err, m.Trace())
		}
		if len(entries) != 1 || !entries[0].Msg.Equal(m) {
			t.Fatalf("trace round trip differs:\n%s", m.Trace())
		}
	})
}

// FuzzParseTrace: ParseTrace never panics; whatever it accepts is written
// back to text that parses to the same entries, and every message that
// can be framed survives the binary round trip.
func FuzzParseTrace(f *testing.F) {
	for _, s := range samples() {
		f.Add(s.msg.Trace())
	}
	f.Add("@+1.5s\nmessage EventRinging\n\tAttributeThisDN\t'5001'\n# comment\n")
	f.Add("message EventEstablished\n\tAttributeUserData\t[1]\n\t\t'k'\t[1]\n\t\t\t'b'\tx'00ff'\n")
	f.Fuzz(func(t *testing.T, text string) {
		entries, err := ParseTrace(strings.NewReader(text))
		if err != nil {
			return
		}
		var b strings.Builder
		if err := WriteTrace(&b, entries); err != nil {
			t.Fatal(err)
		}
		again, err := ParseTrace(strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("written trace does not parse: %v\n%s", err, b.String())
		}
		if len(again) != len(entries) {
			t.Fatalf("got %d entries, want %d", len(again), len(entries))
		}
		for i := range entries {
			if again[i].At != entries[i].At || !again[i].Msg.Equal(entries[i].Msg) {
				t.Fatalf("entry %d differs after a round trip:\n%s", i, b.String())
			}
			frame, err := AppendFrame(nil, entries[i].Msg)
			if err != nil {
				continue // e.g. larger than MaxFrame
			}
			m, err := DecodeFrame(frame)
			if err != nil {
				t.Fatalf("entry %d: frame does not decode: %v", i, err)
			}
			if !m.Equal(entries[i].Msg) {
				t.Fatalf("entry %d: binary round trip differs", i)
			}
		}
	})
}

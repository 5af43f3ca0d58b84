package tlib

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hexDump renders a frame as the golden files hold it: 16 bytes a line,
// prefixed with the offset.
func hexDump(b []byte) string {
	var s strings.Builder
	for off := 0; off < len(b); off += 16 {
		end := min(off+16, len(b))
		fmt.Fprintf(&s, "%06x  % x\n", off, b[off:end])
	}
	return s.String()
}

func parseHexDump(t testing.TB, s string) []byte {
	var out []byte
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		_, bytesPart, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("bad hex dump line %q", line)
		}
		b, err := hex.DecodeString(strings.ReplaceAll(bytesPart, " ", ""))
		if err != nil {
			t.Fatalf("bad hex dump line %q: %v", line, err)
		}
		out = append(out, b...)
	}
	return out
}

func golden(t *testing.T, path string, got string) string {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create)", err)
	}
	return string(want)
}

func TestFrameGolden(t *testing.T) {
	for _, s := range samples() {
		t.Run(s.name, func(t *testing.T) {
			b, err := AppendFrame(nil, s.msg)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "frames", s.name+".hex")
			want := golden(t, path, hexDump(b))
			if got := hexDump(b); got != want {
				t.Errorf("frame differs from %s\ngot:\n%s\nwant:\n%s", path, got, want)
			}
			// The golden bytes decode to the sample (they are the spec).
			m, err := DecodeFrame(parseHexDump(t, want))
			if err != nil {
				t.Fatal(err)
			}
			if !m.Equal(s.msg) {
				t.Errorf("decoded golden frame:\n%s\nwant:\n%s", m.Trace(), s.msg.Trace())
			}
		})
	}
}

// TestFrameBytes pins the layout documented byte by byte in docs/cti-link.md.
func TestFrameBytes(t *testing.T) {
	tests := []struct {
		name string
		msg  *Message
		want string
	}{
		{"EventACK ReferenceID 7", New(EventACK).SetInt(AttrReferenceID, 7),
			"0000000f 008a 0001 0002 01 0000000000000007"},
		{"ConnID and string", New(EventRinging).SetConn(AttrConnID, 0x006502a8c4e1b001).SetStr(AttrThisDN, "5001"),
			"0000001a 003c 0002 0009 03 006502a8c4e1b001 0014 02 00000004 35303031"},
		{"user data", New(RequestUpdateUserData).SetList(AttrUserData, KVList{
			{Key: "GSIP_RECORD", Type: KVString, Str: "ON"},
			{Key: "n", Type: KVInt, Int: -2},
			{Key: "b", Type: KVBinary, Bin: []byte{0xca, 0xfe}},
			{Key: "l", Type: KVNested, List: KVList{{Key: "u", Type: KVUnicode, Str: "é"}}},
		}),
			"0000004d 001f 0001 0033 04 00000004" +
				" 00 0000000b 475349505f5245434f5244 00000002 4f4e" +
				" 01 00000001 6e fffffffe" +
				" 02 00000001 62 00000002 cafe" +
				" 03 00000001 6c 00000001 04 00000001 75 00000002 c3a9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := hex.DecodeString(strings.ReplaceAll(tt.want, " ", ""))
			if err != nil {
				t.Fatal(err)
			}
			got, err := AppendFrame(nil, tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got  %x\nwant %x", got, want)
			}
		})
	}
}

func TestRoundTripSamples(t *testing.T) {
	for _, s := range samples() {
		t.Run(s.name, func(t *testing.T) {
			prefix := []byte("prefix")
			b, err := AppendFrame(prefix, s.msg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, prefix) {
				t.Fatal("AppendFrame lost dst")
			}
			m, err := DecodeFrame(b[len(prefix):])
			if err != nil {
				t.Fatal(err)
			}
			if !m.Equal(s.msg) {
				t.Errorf("round trip:\n%s\nwant:\n%s", m.Trace(), s.msg.Trace())
			}
		})
	}
}

func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var stream bytes.Buffer
	var sent []*Message
	for i := range 2000 {
		m := randomMessage(r)
		b, err := AppendFrame(nil, m)
		if err != nil {
			t.Fatalf("message %d: %v\n%s", i, err, m.Trace())
		}
		got, err := DecodeFrame(b)
		if err != nil {
			t.Fatalf("message %d: %v\n%s", i, err, m.Trace())
		}
		if !got.Equal(m) {
			t.Fatalf("message %d: round trip:\n%s\nwant:\n%s", i, got.Trace(), m.Trace())
		}
		if err := WriteMessage(&stream, m); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
	}
	// The same messages back through ReadMessage, with a small buffer so
	// that some frames take the path that allocates.
	br := bufio.NewReaderSize(&stream, 16)
	for i, want := range sent {
		got, err := ReadMessage(br)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !got.Equal(want) {
			t.Fatalf("message %d: stream round trip:\n%s\nwant:\n%s", i, got.Trace(), want.Trace())
		}
	}
	if _, err := ReadMessage(br); err != io.EOF {
		t.Fatalf("at end: got %v, want io.EOF", err)
	}
}

func TestReadMessageErrors(t *testing.T) {
	ack, _ := AppendFrame(nil, New(EventACK).SetInt(AttrReferenceID, 7))
	tests := []struct {
		name      string
		in        []byte
		unexpEOF  bool
		wantFrame bool
	}{
		{"partial length", ack[:2], true, true},
		{"partial body", ack[:len(ack)-1], true, true},
		{"length over MaxFrame", []byte{0x00, 0x10, 0x00, 0x01}, false, true},
		{"HTTP reply on the port", []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), false, true},
		{"bad body", []byte{0, 0, 0, 5, 0, 1, 0, 1, 0}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadMessage(bufio.NewReader(bytes.NewReader(tt.in)))
			if errors.Is(err, ErrFrame) != tt.wantFrame {
				t.Errorf("err = %v, want ErrFrame", err)
			}
			if errors.Is(err, io.ErrUnexpectedEOF) != tt.unexpEOF {
				t.Errorf("err = %v, unexpected EOF want %v", err, tt.unexpEOF)
			}
		})
	}
	if _, err := ReadMessage(bufio.NewReader(bytes.NewReader(nil))); err != io.EOF {
		t.Errorf("empty input: got %v, want io.EOF", err)
	}
}

func TestReadMessageLargeFrame(t *testing.T) {
	big := New(EventUserEvent).SetList(AttrUserData, KVList{{Key: "blob", Type: KVBinary, Bin: bytes.Repeat([]byte{7}, MaxFrame-100)}})
	var buf bytes.Buffer
	if err := WriteMessage(&buf, big); err != nil {
		t.Fatal(err)
	}
	got, err := ReadMessage(bufio.NewReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(big) {
		t.Error("large frame differs")
	}
}

func TestDecodeFrameErrors(t *testing.T) {
	frame := func(typ, count uint16, body ...byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(4+len(body)))
		b = binary.BigEndian.AppendUint16(b, typ)
		b = binary.BigEndian.AppendUint16(b, count)
		return append(b, body...)
	}
	listAttr := func(list ...byte) []byte { return append([]byte{0, 51, byte(KindList)}, list...) }
	deep := []byte{}
	for range MaxDepth + 1 {
		deep = append(deep, 0, 0, 0, 1, byte(KVNested), 0, 0, 0, 0)
	}
	deep = append(deep, 0, 0, 0, 0)
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"short header", []byte{0, 0, 0, 4, 0, 1}},
		{"length says more", []byte{0, 0, 0, 5, 0, 64, 0, 0}},
		{"trailing bytes", append(frame(64, 0), 0)},
		{"length over MaxFrame", []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}},
		{"count cannot fit", frame(64, 0xffff)},
		{"truncated int", frame(64, 1, 0, 2, byte(KindInt), 0, 0, 0)},
		{"unknown kind", frame(64, 1, 0, 2, 9, 0, 0, 0, 0)},
		{"kind zero", frame(64, 1, 0, 2, 0, 0, 0, 0, 0)},
		{"string length beyond frame", frame(64, 1, 0, 20, byte(KindString), 0xff, 0xff, 0xff, 0xff)},
		{"attribute after the end", frame(64, 2, 0, 20, byte(KindString), 0, 0, 0, 0)},
		{"pair count cannot fit", frame(64, 1, listAttr(0x7f, 0xff, 0xff, 0xff)...)},
		{"pair count overflow", frame(64, 1, listAttr(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0)...)},
		{"unknown pair type", frame(64, 1, listAttr(0, 0, 0, 1, 9, 0, 0, 0, 0, 0, 0, 0, 0)...)},
		{"key length beyond frame", frame(64, 1, listAttr(0, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0)...)},
		{"invalid Unicode", frame(64, 1, listAttr(0, 0, 0, 1, byte(KVUnicode), 0, 0, 0, 0, 0, 0, 0, 1, 0xff)...)},
		{"nested too deep", frame(64, 1, listAttr(deep...)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeFrame(tt.in)
			if !errors.Is(err, ErrFrame) {
				t.Fatalf("DecodeFrame = %v, %v; want ErrFrame", m, err)
			}
		})
	}
}

func TestAppendFrameErrors(t *testing.T) {
	tooDeep := KVList{{Key: "x", Type: KVNested, List: nested(1)}} // MaxDepth+1 levels
	tests := []struct {
		name string
		msg  *Message
	}{
		{"nil", nil},
		{"unknown kind", &Message{Type: EventRinging, Attrs: []Attr{{ID: AttrThisDN, Kind: 7}}}},
		{"unknown pair type", New(EventRinging).SetList(AttrUserData, KVList{{Key: "k", Type: 9}})},
		{"invalid Unicode", New(EventRinging).SetList(AttrUserData, KVList{{Key: "k", Type: KVUnicode, Str: "\xff"}})},
		{"nested too deep", New(EventRinging).SetList(AttrUserData, tooDeep)},
		{"string over MaxFrame", New(EventRinging).SetStr(AttrThisDN, strings.Repeat("x", MaxFrame))},
		{"list over MaxFrame", New(EventRinging).SetList(AttrUserData, KVList{
			{Key: "a", Type: KVBinary, Bin: make([]byte, MaxFrame/2)},
			{Key: "b", Type: KVBinary, Bin: make([]byte, MaxFrame/2)}})},
		{"too many attributes", &Message{Type: EventRinging, Attrs: make([]Attr, 0x10000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("keep")
			got, err := AppendFrame(dst, tt.msg)
			if !errors.Is(err, ErrFrame) {
				t.Fatalf("err = %v, want ErrFrame", err)
			}
			if string(got) != "keep" {
				t.Errorf("dst changed to %q", got)
			}
			if err := WriteMessage(io.Discard, tt.msg); !errors.Is(err, ErrFrame) {
				t.Errorf("WriteMessage err = %v, want ErrFrame", err)
			}
		})
	}
	// Exactly MaxDepth levels is allowed (the max_nesting sample), and a
	// frame whose length field is exactly MaxFrame too.
	exact := New(EventRinging).SetStr(AttrThisDN, strings.Repeat("x", MaxFrame-4-3-4))
	b, err := AppendFrame(nil, exact)
	if err != nil {
		t.Fatalf("frame of exactly MaxFrame: %v", err)
	}
	if binary.BigEndian.Uint32(b) != MaxFrame {
		t.Fatalf("length field %d, want %d", binary.BigEndian.Uint32(b), MaxFrame)
	}
	if _, err := DecodeFrame(b); err != nil {
		t.Fatalf("decode frame of exactly MaxFrame: %v", err)
	}
}

func BenchmarkAppendFrame(b *testing.B) {
	m := samples()[0].msg
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendFrame(buf[:0], m); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkWriteMessage(b *testing.B) {
	m := samples()[0].msg
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteMessage(io.Discard, m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeFrame(b *testing.B) {
	frame, _ := AppendFrame(nil, samples()[0].msg)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeFrame(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadMessage(b *testing.B) {
	frame, _ := AppendFrame(nil, samples()[0].msg)
	r := bytes.NewReader(frame)
	br := bufio.NewReader(r)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(frame)
		br.Reset(r)
		if _, err := ReadMessage(br); err != nil {
			b.Fatal(err)
		}
	}
}

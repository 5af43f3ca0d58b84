package codec

import (
	"bytes"
	"errors"
	"testing"
)

// frameOf is a storage-format frame of type ft whose speech bits count up.
func frameOf(ft uint8, q bool) []byte {
	hdr := ft << 3
	if q {
		hdr |= 4
	}
	bits := max(amrwbFrameBits[ft], 0)
	fr := []byte{hdr}
	for i := 0; i < (bits+7)/8; i++ {
		fr = append(fr, byte(17*i+int(ft)))
	}
	if bits%8 != 0 { // bits past the frame's end are zero in the storage format
		fr[len(fr)-1] &= byte(0xFF << (8 - bits%8))
	}
	return fr
}

// RFC 4867 payloads: hand-built ones of both formats, and the packer's
// output parsed back.
func TestAMRWBPayloads(t *testing.T) {
	oa, be := amrwbFormat{octetAligned: true}, amrwbFormat{}
	// Octet-aligned, one 6.60 kbit/s frame (FT 0, 132 bits = 17 octets):
	// CMR 15, ToC F=0 FT=0 Q=1.
	one := append([]byte{0xF0, 0x04}, frameOf(0, true)[1:]...)
	frames, _, err := parseAMRWB(one, oa, nil, nil)
	if err != nil || len(frames) != 1 || !bytes.Equal(frames[0], frameOf(0, true)) {
		t.Fatalf("octet-aligned single frame: %x, %v", frames, err)
	}
	// Bandwidth-efficient, the same frame: CMR 1111, ToC 0 0000 1, then
	// the 132 bits straight after the 10 header bits.
	var w bitWriter
	w.write(0xF, 4)
	w.write(0x01, 6)
	for i := range 132 {
		w.write(uint32(frameOf(0, true)[1+i/8]>>(7-i%8)&1), 1)
	}
	frames, _, err = parseAMRWB(w.b, be, nil, nil)
	if err != nil || len(frames) != 1 || !bytes.Equal(frames[0], frameOf(0, true)) {
		t.Fatalf("bandwidth-efficient single frame: %x, %v", frames, err)
	}
	for _, f := range []amrwbFormat{oa, be} {
		for _, set := range [][][]byte{
			{frameOf(8, true)},
			{frameOf(2, true), frameOf(2, false), frameOf(9, true)}, // two frames and a SID
			{frameOf(15, false)}, // no data
			{frameOf(1, true), frameOf(14, false), frameOf(7, true)},
		} {
			p := packAMRWB(set, f)
			got, _, err := parseAMRWB(p, f, nil, nil)
			if err != nil || len(got) != len(set) {
				t.Fatalf("%+v: %d frames back, %v", f, len(got), err)
			}
			for i := range set {
				if !bytes.Equal(got[i], set[i]) {
					t.Errorf("%+v frame %d: %x, want %x", f, i, got[i], set[i])
				}
			}
		}
	}
	for _, tc := range []struct {
		name string
		p    []byte
		f    amrwbFormat
	}{
		{"empty", nil, be},
		{"octet-aligned CMR only", []byte{0xF0}, oa},
		{"ToC never ends", []byte{0xF0, 0x84, 0x84}, oa},
		{"frame cut short", []byte{0xF0, 0x44, 1, 2, 3}, oa},
		{"reserved frame type", []byte{0xF0, 0x50}, oa},
		{"bandwidth-efficient cut short", []byte{0xF0, 0x40, 0}, be},
	} {
		if _, _, err := parseAMRWB(tc.p, tc.f, nil, nil); !errors.Is(err, ErrPayload) {
			t.Errorf("%s: %v, want ErrPayload", tc.name, err)
		}
	}
	for _, tc := range []struct {
		fmtp string
		oa   bool
		err  bool
	}{
		{"", false, false}, {"octet-align=1", true, false}, {"mode-set=0,1,2; octet-align=1", true, false},
		{"octet-align=0", false, false}, {"octet-align=1;crc=1", true, true}, {"interleaving=4", false, true},
		{"octet-align=1; robust-sorting=1", true, true},
	} {
		f, err := parseAMRWBFmtp(tc.fmtp)
		if (err != nil) != tc.err || err == nil && f.octetAligned != tc.oa {
			t.Errorf("fmtp %q: %+v, %v", tc.fmtp, f, err)
		}
	}
}

// FuzzAMRWBPayload: any bytes parse or fail with ErrPayload, never panic;
// what parses packs back to a payload that parses to the same frames.
func FuzzAMRWBPayload(f *testing.F) {
	f.Add(packAMRWB([][]byte{frameOf(8, true)}, amrwbFormat{}), false)
	f.Add(packAMRWB([][]byte{frameOf(2, true), frameOf(9, true)}, amrwbFormat{octetAligned: true}), true)
	f.Add([]byte{0xF0, 0xFC, 0x7C}, true)
	f.Fuzz(func(t *testing.T, p []byte, octet bool) {
		fm := amrwbFormat{octetAligned: octet}
		frames, _, err := parseAMRWB(p, fm, nil, nil)
		if err != nil {
			if !errors.Is(err, ErrPayload) {
				t.Fatalf("error %v does not wrap ErrPayload", err)
			}
			return
		}
		again, _, err := parseAMRWB(packAMRWB(frames, fm), fm, nil, nil)
		if err != nil || len(again) != len(frames) {
			t.Fatalf("repacked: %d frames, %v", len(again), err)
		}
		for i := range frames {
			// Bits past a frame's length may differ (the input's padding).
			bits := amrwbFrameBits[frames[i][0]>>3&0xF]
			if !sameBits(frames[i][1:], again[i][1:], bits) || frames[i][0] != again[i][0] {
				t.Fatalf("frame %d: %x, repacked %x", i, frames[i], again[i])
			}
		}
	})
}

func sameBits(a, b []byte, n int) bool {
	for i := range n {
		if a[i/8]>>(7-i%8)&1 != b[i/8]>>(7-i%8)&1 {
			return false
		}
	}
	return true
}

// BenchmarkParseAMRWB: the RFC 4867 payload parser alone, on a
// bandwidth-efficient packet of one 23.85 kbit/s frame.
func BenchmarkParseAMRWB(b *testing.B) {
	payload := packAMRWB([][]byte{frameOf(8, true)}, amrwbFormat{})
	var frames [][]byte
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		frames, buf, _ = parseAMRWB(payload, amrwbFormat{}, frames, buf)
	}
}

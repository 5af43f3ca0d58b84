package g711

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// The reference below is written from the definition in ITU-T G.711
// rather than from the bit tricks in g711.go. A code word's magnitude part
// is a segment e (0..7) and a step m (0..15); k = 16e+m orders the 128
// magnitudes.
//
// µ-law (Table 2a, 14-bit units, 8159 = overload): output value
// y = (2m+33)*2^e - 33, decision interval [(2m+32)*2^e - 33, (2m+34)*2^e - 33).
// A-law (Table 1a, 12-bit magnitude units, 4096 = overload): output value
// 2m+1 in segment 0 and (2m+33)*2^(e-1) above; decision interval
// [2m, 2m+2) in segment 0 and [(2m+32)*2^(e-1), (2m+34)*2^(e-1)) above.
// 16-bit linear = 14-bit µ-law units * 4 = 12-bit A-law units * 8.

func refULawValue(k int) int { // magnitude, 16-bit
	e, m := k>>4, k&15
	return ((2*m+33)<<e - 33) * 4
}

func refULawLower(k int) int { // lower decision value, 16-bit
	e, m := k>>4, k&15
	return ((2*m+32)<<e - 33) * 4
}

func refALawValue(k int) int {
	e, m := k>>4, k&15
	if e == 0 {
		return (2*m + 1) * 8
	}
	return (2*m + 33) << (e - 1) * 8
}

func refALawLower(k int) int {
	e, m := k>>4, k&15
	if e == 0 {
		return 2 * m * 8
	}
	return (2*m + 32) << (e - 1) * 8
}

// µ-law bytes are the complement of sign(1 = positive)|k; A-law bytes are
// sign(1 = positive)|k with the even bits inverted (XOR 0x55).
func refDecodeULaw(b byte) int16 {
	c := ^b
	v := refULawValue(int(c & 0x7F))
	if c&0x80 != 0 {
		return int16(-v)
	}
	return int16(v)
}

func refDecodeALaw(b byte) int16 {
	c := b ^ 0x55
	v := refALawValue(int(c & 0x7F))
	if c&0x80 == 0 {
		return int16(-v)
	}
	return int16(v)
}

// search returns the largest k whose lower decision value is <= x.
func search(x int, lower func(int) int) int {
	k := 0
	for k < 127 && lower(k+1) <= x {
		k++
	}
	return k
}

// refEncodeULaw quantises |s| (sign and magnitude, so -1 gives "-0").
func refEncodeULaw(s int16) byte {
	x, sign := int(s), byte(0)
	if x < 0 {
		x, sign = -x, 0x80
	}
	return ^(sign | byte(search(x, refULawLower)))
}

// refEncodeALaw quantises the one's complement magnitude of negative
// values (-1 - s), as the ITU-T G.191 reference coder does: A-law has no
// zero level, so -1..-16 map to the smallest negative level like 0..15.
func refEncodeALaw(s int16) byte {
	x, sign := int(s), byte(0x80)
	if x < 0 {
		x, sign = -x-1, 0
	}
	return (sign | byte(search(x, refALawLower))) ^ 0x55
}

func TestWellKnownValues(t *testing.T) {
	decode := []struct {
		name string
		fn   func(byte) int16
		in   byte
		want int16
	}{
		{"µ-law +0", DecodeULaw, 0xFF, 0},
		{"µ-law -0", DecodeULaw, 0x7F, 0},
		{"µ-law min", DecodeULaw, 0x00, -32124},
		{"µ-law max", DecodeULaw, 0x80, 32124},
		{"µ-law +8", DecodeULaw, 0xFE, 8},
		{"A-law +8", DecodeALaw, 0xD5, 8},
		{"A-law -8", DecodeALaw, 0x55, -8},
		{"A-law max", DecodeALaw, 0xAA, 32256},
		{"A-law min", DecodeALaw, 0x2A, -32256},
	}
	for _, tt := range decode {
		if got := tt.fn(tt.in); got != tt.want {
			t.Errorf("%s: decode(%#02x) = %d, want %d", tt.name, tt.in, got, tt.want)
		}
	}
	encode := []struct {
		name string
		fn   func(int16) byte
		in   int16
		want byte
	}{
		{"µ-law 0", EncodeULaw, 0, 0xFF},
		{"µ-law -1", EncodeULaw, -1, 0x7F},
		{"µ-law max", EncodeULaw, 32767, 0x80},
		{"µ-law min", EncodeULaw, -32768, 0x00},
		{"A-law 0", EncodeALaw, 0, 0xD5},
		{"A-law -1", EncodeALaw, -1, 0x55},
		{"A-law max", EncodeALaw, 32767, 0xAA},
		{"A-law min", EncodeALaw, -32768, 0x2A},
	}
	for _, tt := range encode {
		if got := tt.fn(tt.in); got != tt.want {
			t.Errorf("%s: encode(%d) = %#02x, want %#02x", tt.name, tt.in, got, tt.want)
		}
	}
	if DecodeULaw(ULawSilence) != 0 || DecodeALaw(ALawSilence) != 8 {
		t.Error("silence bytes do not decode to the smallest level")
	}
	conv := []struct {
		name string
		fn   func(byte) byte
		in   byte
		want byte
	}{
		{"µ→A +0", ULawToALaw, 0xFF, 0xD5},
		{"µ→A -0 keeps sign", ULawToALaw, 0x7F, 0x55},
		{"µ→A max", ULawToALaw, 0x80, 0xAA},
		{"µ→A min", ULawToALaw, 0x00, 0x2A},
		{"A→µ +8", ALawToULaw, 0xD5, 0xFE},
		{"A→µ -8", ALawToULaw, 0x55, 0x7E},
		{"A→µ max", ALawToULaw, 0xAA, 0x80},
		{"A→µ min", ALawToULaw, 0x2A, 0x00},
	}
	for _, tt := range conv {
		if got := tt.fn(tt.in); got != tt.want {
			t.Errorf("%s: convert(%#02x) = %#02x, want %#02x", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestDecodeMatchesReference(t *testing.T) {
	for i := range 256 {
		b := byte(i)
		if got, want := DecodeULaw(b), refDecodeULaw(b); got != want {
			t.Errorf("DecodeULaw(%#02x) = %d, reference %d", b, got, want)
		}
		if got, want := DecodeALaw(b), refDecodeALaw(b); got != want {
			t.Errorf("DecodeALaw(%#02x) = %d, reference %d", b, got, want)
		}
	}
}

func TestEncodeMatchesReference(t *testing.T) {
	for s := -32768; s <= 32767; s++ {
		v := int16(s)
		if got, want := EncodeULaw(v), refEncodeULaw(v); got != want {
			t.Fatalf("EncodeULaw(%d) = %#02x, reference %#02x", v, got, want)
		}
		if got, want := EncodeALaw(v), refEncodeALaw(v); got != want {
			t.Fatalf("EncodeALaw(%d) = %#02x, reference %#02x", v, got, want)
		}
	}
}

func abs(x int) int { return max(x, -x) }

func TestRoundTrip(t *testing.T) {
	// Decoding a code word and encoding the value gives a code word with
	// the same value (µ-law "-0" becomes "+0").
	for i := range 256 {
		b := byte(i)
		if got := DecodeULaw(EncodeULaw(DecodeULaw(b))); got != DecodeULaw(b) {
			t.Errorf("µ-law %#02x: value %d re-encodes to %d", b, DecodeULaw(b), got)
		}
		if got := EncodeALaw(DecodeALaw(b)); got != b {
			t.Errorf("A-law %#02x re-encodes to %#02x", b, got)
		}
	}
	// Quantisation error is at most half a step (the µ-law overload
	// region above 32635 clips to the top level).
	for s := -32768; s <= 32767; s++ {
		v := int16(s)
		u := EncodeULaw(v)
		if e := int(^u>>4) & 7; abs(s) <= 32635 && abs(int(DecodeULaw(u))-s) > 4<<e {
			t.Fatalf("µ-law error at %d: decoded %d, step %d", s, DecodeULaw(u), 8<<e)
		}
		a := EncodeALaw(v)
		half := 8 << max(int((a^0x55)>>4&7)-1, 0)
		if abs(int(DecodeALaw(a))-s) > half {
			t.Fatalf("A-law error at %d: decoded %d, half step %d", s, DecodeALaw(a), half)
		}
	}
}

func TestConversion(t *testing.T) {
	for i := range 256 {
		b := byte(i)
		// Sign kept: bit 7 set means positive in both laws (µ-law is
		// transmitted complemented, bit 7 included).
		if a := ULawToALaw(b); a&0x80 != b&0x80 {
			t.Errorf("ULawToALaw(%#02x) = %#02x changes sign", b, a)
		}
		if u := ALawToULaw(b); u&0x80 != b&0x80 {
			t.Errorf("ALawToULaw(%#02x) = %#02x changes sign", b, u)
		}
		// Within one step of the target law of re-encoding the value.
		ua, ra := ULawToALaw(b), refEncodeALaw(DecodeULaw(b))
		if d := abs(int((ua^0x55)&0x7F) - int((ra^0x55)&0x7F)); d > 1 {
			t.Errorf("ULawToALaw(%#02x) = %#02x, %d steps from re-encoding %#02x", b, ua, d, ra)
		}
		au, ru := ALawToULaw(b), refEncodeULaw(DecodeALaw(b))
		if d := abs(int(^au&0x7F) - int(^ru&0x7F)); d > 1 {
			t.Errorf("ALawToULaw(%#02x) = %#02x, %d steps from re-encoding %#02x", b, au, d, ru)
		}
	}
	// Monotonic in magnitude.
	for k := 1; k < 128; k++ {
		if ulawToAlawMag[k] < ulawToAlawMag[k-1] || alawToUlawMag[k] < alawToUlawMag[k-1] {
			t.Errorf("conversion not monotonic at magnitude %d", k)
		}
	}
}

func TestSliceHelpers(t *testing.T) {
	lin := []int16{0, 1000, -1000, 32767, -32768}
	ub, ab := make([]byte, 5), make([]byte, 5)
	if n := EncodeULawTo(ub, lin); n != 5 {
		t.Fatalf("EncodeULawTo = %d", n)
	}
	if n := EncodeALawTo(ab[:3], lin); n != 3 {
		t.Fatalf("EncodeALawTo into 3 = %d", n)
	}
	EncodeALawTo(ab, lin)
	ud, ad := make([]int16, 5), make([]int16, 6)
	if n := DecodeULawTo(ud, ub); n != 5 {
		t.Fatalf("DecodeULawTo = %d", n)
	}
	if n := DecodeALawTo(ad, ab); n != 5 {
		t.Fatalf("DecodeALawTo = %d", n)
	}
	for i, s := range lin {
		if ub[i] != EncodeULaw(s) || ab[i] != EncodeALaw(s) || ud[i] != DecodeULaw(ub[i]) || ad[i] != DecodeALaw(ab[i]) {
			t.Errorf("slice helper differs from the scalar function at %d", i)
		}
	}
}

// sweep is the linear input of the encode golden file: every 97th value
// plus the edges and the segment boundaries' neighbourhoods.
func sweep() []int16 {
	var out []int16
	for s := -32768; s <= 32767; s += 97 {
		out = append(out, int16(s))
	}
	for _, s := range []int{-32768, -32636, -32635, -1, 0, 1, 4, 5, 7, 8, 15, 16, 17, 31612, 32635, 32636, 32767} {
		out = append(out, int16(s))
	}
	return out
}

func TestGolden(t *testing.T) {
	files := map[string]func(*bytes.Buffer){
		"ulaw_decode.golden": func(b *bytes.Buffer) {
			for i := range 256 {
				fmt.Fprintf(b, "%#02x %d\n", i, DecodeULaw(byte(i)))
			}
		},
		"alaw_decode.golden": func(b *bytes.Buffer) {
			for i := range 256 {
				fmt.Fprintf(b, "%#02x %d\n", i, DecodeALaw(byte(i)))
			}
		},
		"encode_sweep.golden": func(b *bytes.Buffer) {
			b.WriteString("# linear ulaw alaw\n")
			for _, s := range sweep() {
				fmt.Fprintf(b, "%d %#02x %#02x\n", s, EncodeULaw(s), EncodeALaw(s))
			}
		},
		"ulaw_to_alaw.golden": func(b *bytes.Buffer) {
			for i := range 256 {
				fmt.Fprintf(b, "%#02x %#02x\n", i, ULawToALaw(byte(i)))
			}
		},
		"alaw_to_ulaw.golden": func(b *bytes.Buffer) {
			for i := range 256 {
				fmt.Fprintf(b, "%#02x %#02x\n", i, ALawToULaw(byte(i)))
			}
		},
	}
	for name, gen := range files {
		t.Run(name, func(t *testing.T) {
			var got bytes.Buffer
			gen(&got)
			path := filepath.Join("testdata", name)
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				gl, wl := bytes.Split(got.Bytes(), []byte("\n")), bytes.Split(want, []byte("\n"))
				for i := range min(len(gl), len(wl)) {
					if !bytes.Equal(gl[i], wl[i]) {
						t.Fatalf("%s line %d: got %q, want %q", path, i+1, gl[i], wl[i])
					}
				}
				t.Fatalf("%s: %d lines, want %d", path, len(gl), len(wl))
			}
		})
	}
}

func TestDecodeNoAllocs(t *testing.T) {
	src := make([]byte, 160)
	dst := make([]int16, 160)
	if n := testing.AllocsPerRun(100, func() { DecodeULawTo(dst, src) }); n != 0 {
		t.Errorf("DecodeULawTo allocates %.1f times", n)
	}
}

// BenchmarkDecodeULaw160 decodes one 20 ms 8 kHz packet.
func BenchmarkDecodeULaw160(b *testing.B) {
	src := make([]byte, 160)
	for i := range src {
		src[i] = byte(i * 37)
	}
	dst := make([]int16, 160)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		DecodeULawTo(dst, src)
	}
}

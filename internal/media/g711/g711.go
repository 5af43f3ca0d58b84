// Package g711 converts between 16-bit linear PCM and ITU-T G.711 µ-law
// (PCMU) and A-law (PCMA), and between the two laws.
//
// Decoding and law conversion use 256-entry tables built once at init, so
// the per-packet path is a table lookup per byte with no allocation.
// Reference: ITU-T Recommendation G.711 (11/88), tables 1a/1b and 2a/2b
// (coding) and tables 3 and 4 (law conversion).
package g711

// Silence bytes: the code word that decodes to (near) zero in each law.
const (
	ULawSilence byte = 0xFF
	ALawSilence byte = 0xD5
)

var (
	ulawToLinear [256]int16
	alawToLinear [256]int16
	ulawToAlaw   [256]byte
	alawToUlaw   [256]byte
)

func init() {
	for i := 0; i < 256; i++ {
		ulawToLinear[i] = decodeULaw(byte(i))
		alawToLinear[i] = decodeALaw(byte(i))
	}
	for i := 0; i < 256; i++ {
		b := byte(i)
		if b&0x80 != 0 { // positive
			ulawToAlaw[i] = 0xD5 ^ ulawToAlawMag[0xFF^b]
			alawToUlaw[i] = 0xFF ^ alawToUlawMag[0xD5^b]
		} else {
			ulawToAlaw[i] = 0x55 ^ ulawToAlawMag[0x7F^b]
			alawToUlaw[i] = 0x7F ^ alawToUlawMag[0x55^b]
		}
	}
}

// Law conversion by magnitude code (sign, segment and step, 0 = smallest
// magnitude, 127 = largest; the transmitted byte is this code with the sign
// bit, complemented for µ-law and XOR 0x55 for A-law), from ITU-T G.711
// Table 3 (µ-law to A-law) and Table 4 (A-law to µ-law), which are
// normative for transcoding and differ by one step in places from decoding
// and re-encoding.
var ulawToAlawMag = [128]byte{
	0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7,
	8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
	24, 26, 28, 30, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43,
	45, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61,
	63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78,
	80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95,
	96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
	112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127,
}

var alawToUlawMag = [128]byte{
	1, 3, 5, 7, 9, 11, 13, 15, 16, 17, 18, 19, 20, 21, 22, 23,
	24, 25, 26, 27, 28, 29, 30, 31, 32, 32, 33, 33, 34, 34, 35, 35,
	36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 48, 49, 49,
	50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 64,
	65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 79,
	80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95,
	96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
	112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127,
}

const (
	ulawBias = 0x84
	ulawClip = 32635
)

// EncodeULaw encodes one linear sample as µ-law.
func EncodeULaw(s int16) byte {
	v := int(s)
	sign := 0
	if v < 0 {
		v = -v
		sign = 0x80
	}
	if v > ulawClip {
		v = ulawClip
	}
	v += ulawBias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (v >> (exp + 3)) & 0x0F
	return ^byte(sign | exp<<4 | mant)
}

func decodeULaw(b byte) int16 {
	b = ^b
	sign := b & 0x80
	exp := int(b>>4) & 0x07
	mant := int(b & 0x0F)
	v := ((mant << 3) + ulawBias) << exp
	v -= ulawBias
	if sign != 0 {
		return int16(-v)
	}
	return int16(v)
}

// EncodeALaw encodes one linear sample as A-law.
func EncodeALaw(s int16) byte {
	v := int(s)
	sign := 0x80
	if v < 0 {
		v = -v - 1
		sign = 0
	}
	if v > 32767 {
		v = 32767
	}
	var out int
	if v < 256 {
		out = v >> 4
	} else {
		exp := 1
		for t := v >> 8; t > 1; t >>= 1 {
			exp++
		}
		out = exp<<4 | (v>>(exp+3))&0x0F
	}
	return byte(out|sign) ^ 0x55
}

func decodeALaw(b byte) int16 {
	b ^= 0x55
	sign := b & 0x80
	exp := int(b>>4) & 0x07
	mant := int(b & 0x0F)
	var v int
	if exp == 0 {
		v = mant<<4 + 8
	} else {
		v = (mant<<4 + 0x108) << (exp - 1)
	}
	if sign == 0 {
		return int16(-v)
	}
	return int16(v)
}

// DecodeULaw decodes one µ-law byte.
func DecodeULaw(b byte) int16 { return ulawToLinear[b] }

// DecodeALaw decodes one A-law byte.
func DecodeALaw(b byte) int16 { return alawToLinear[b] }

// ULawToALaw converts one µ-law byte to A-law as G.711 Table 3 specifies
// (sign preserved, at most one quantisation step from the µ-law value).
func ULawToALaw(b byte) byte { return ulawToAlaw[b] }

// ALawToULaw converts one A-law byte to µ-law as G.711 Table 4 specifies.
func ALawToULaw(b byte) byte { return alawToUlaw[b] }

// DecodeULawTo decodes src into dst (len(dst) must be >= len(src)) and
// returns the number of samples written.
func DecodeULawTo(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	for i := 0; i < n; i++ {
		dst[i] = ulawToLinear[src[i]]
	}
	return n
}

// DecodeALawTo decodes src into dst and returns the number of samples written.
func DecodeALawTo(dst []int16, src []byte) int {
	n := min(len(dst), len(src))
	for i := 0; i < n; i++ {
		dst[i] = alawToLinear[src[i]]
	}
	return n
}

// EncodeULawTo encodes src into dst and returns the number of bytes written.
func EncodeULawTo(dst []byte, src []int16) int {
	n := min(len(dst), len(src))
	for i := 0; i < n; i++ {
		dst[i] = EncodeULaw(src[i])
	}
	return n
}

// EncodeALawTo encodes src into dst and returns the number of bytes written.
func EncodeALawTo(dst []byte, src []int16) int {
	n := min(len(dst), len(src))
	for i := 0; i < n; i++ {
		dst[i] = EncodeALaw(src[i])
	}
	return n
}

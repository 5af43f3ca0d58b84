package codec

import (
	"fmt"
	"math/bits"
)

// G.726 ADPCM (ITU-T G.726, 12/90), decoder only, in pure Go. The
// arithmetic follows the Recommendation's §4 block by block (names in
// comments: RECONST, FMULT, ...), with its fixed-point word sizes, in the
// structure of the public-domain Sun reference code, so the output matches
// a conformant decoder sample for sample: the tests compare it with
// spandsp's (checked there against the ITU test sequences). One deliberate
// difference: a sample beyond full scale saturates, where spandsp's
// int16(SR<<2) wraps around. ffmpeg's G.726 is not conformant (see
// TestG726FromFFmpeg).
//
// RTP packing (RFC 3551 §4.5.4): "G726-16/24/32/40" put the first codeword
// in the least significant bits of the first octet; "AAL2-G726-nn" (ITU-T
// I.366.2 Annex E, RFC 4856) put it in the most significant bits. Some
// endpoints send AAL2 order under the RFC 3551 name; nothing in the stream
// tells the two apart, so the name decides. "G721" (RFC 1890's static
// payload type 2) is G726-32.

// g726Rate holds one bit rate's tables, in the scaling of G.726 §4.2:
// dqln is the log-domain reconstruction level of each codeword (RECONST),
// wi the scale factor multiplier ×512 (FUNCTW), fi the rate-of-change
// function ×512 (FUNCTF).
type g726Rate struct {
	bits int
	dqln []int32
	wi   []int32
	fi   []int32
	// leak of the sixth-order predictor's coefficients (UPB: 2^-8, or
	// 2^-9 at 40 kbit/s).
	bLeak uint
}

var (
	g726r16 = &g726Rate{bits: 2, bLeak: 8,
		dqln: []int32{116, 365, 365, 116},
		wi:   []int32{-704, 14048, 14048, -704},
		fi:   []int32{0, 0xE00, 0xE00, 0},
	}
	g726r24 = &g726Rate{bits: 3, bLeak: 8,
		dqln: []int32{-2048, 135, 273, 373, 373, 273, 135, -2048},
		wi:   []int32{-128, 960, 4384, 18624, 18624, 4384, 960, -128},
		fi:   []int32{0, 0x200, 0x400, 0xE00, 0xE00, 0x400, 0x200, 0},
	}
	g726r32 = &g726Rate{bits: 4, bLeak: 8,
		dqln: []int32{-2048, 4, 135, 213, 273, 323, 373, 425, 425, 373, 323, 273, 213, 135, 4, -2048},
		wi: []int32{-384, 576, 1312, 2048, 3584, 6336, 11360, 35904,
			35904, 11360, 6336, 3584, 2048, 1312, 576, -384},
		fi: []int32{0, 0, 0, 0x200, 0x200, 0x200, 0x600, 0xE00, 0xE00, 0x600, 0x200, 0x200, 0x200, 0, 0, 0},
	}
	g726r40 = &g726Rate{bits: 5, bLeak: 9,
		dqln: []int32{-2048, -66, 28, 104, 169, 224, 274, 318, 358, 395, 429, 459, 488, 514, 539, 566,
			566, 539, 514, 488, 459, 429, 395, 358, 318, 274, 224, 169, 104, 28, -66, -2048},
		wi: []int32{448, 448, 768, 1248, 1280, 1312, 1856, 3200, 4512, 5728, 7008, 8960, 11456, 14080, 16928, 22272,
			22272, 16928, 14080, 11456, 8960, 7008, 5728, 4512, 3200, 1856, 1312, 1280, 1248, 768, 448, 448},
		fi: []int32{0, 0, 0, 0, 0, 0x200, 0x200, 0x200, 0x200, 0x200, 0x400, 0x600, 0x800, 0xA00, 0xC00, 0xC00,
			0xC00, 0xC00, 0xA00, 0x800, 0x600, 0x400, 0x200, 0x200, 0x200, 0x200, 0x200, 0, 0, 0, 0, 0},
	}
)

// g726State is the decoder's memory (G.726 §4.2, the DELAY blocks).
type g726State struct {
	yl       int32    // slow quantizer scale factor (19 bits)
	yu       int32    // fast quantizer scale factor
	dms, dml int32    // short- and long-term averages of F(I)
	ap       int32    // speed control
	a        [2]int32 // pole predictor coefficients
	b        [6]int32 // zero predictor coefficients
	pk       [2]int32 // signs of the last two DQ+SEZ
	dq       [6]int32 // last six DQ, 11-bit floating point (FLOAT A)
	sr       [2]int32 // last two SR, 11-bit floating point (FLOAT B)
	td       int32    // tone detected
}

func (s *g726State) reset() {
	*s = g726State{yl: 34816, yu: 544, sr: [2]int32{32, 32}, dq: [6]int32{32, 32, 32, 32, 32, 32}}
}

// bitLen is the number of significant bits of v (0 ≤ v < 2^15): the
// Recommendation's exponent of a magnitude.
func bitLen(v int32) int32 { return int32(bits.Len32(uint32(v))) }

// fmult multiplies a predictor coefficient an by a signal sample srn in
// 11-bit floating point (FMULT).
func fmult(an, srn int32) int32 {
	anmag := an
	if an <= 0 {
		anmag = -an & 0x1FFF
	}
	anexp := bitLen(anmag) - 6
	var anmant int32
	switch {
	case anmag == 0:
		anmant = 32
	case anexp >= 0:
		anmant = anmag >> anexp
	default:
		anmant = anmag << -anexp
	}
	wanexp := anexp + (srn>>6)&0xF - 13
	wanmant := (anmant*(srn&0x3F) + 0x30) >> 4
	var r int32
	if wanexp >= 0 {
		r = (wanmant << wanexp) & 0x7FFF
	} else {
		r = wanmant >> -wanexp
	}
	if (an ^ srn) < 0 {
		return -r
	}
	return r
}

// toFloat is FLOAT A/B: v as sign, 4-bit exponent and 6-bit mantissa, a
// negative value stored as its magnitude's code minus 0x400.
func toFloat(mag int32, neg bool) int32 {
	var f int32 = 0x20
	if mag != 0 {
		e := bitLen(mag)
		f = e<<6 + (mag<<6)>>e
	}
	if neg {
		f -= 0x400
	}
	return f
}

// decode turns one codeword into a 14-bit sample (SR).
func (s *g726State) decode(r *g726Rate, code int32) int32 {
	code &= int32(len(r.dqln) - 1)
	signBit := int32(1) << (r.bits - 1)

	// Signal estimate (FMULT, ACCUM).
	var sezi int32
	for i := range s.b {
		sezi += fmult(s.b[i]>>2, s.dq[i])
	}
	sezi = int32(int16(sezi))
	sez := sezi >> 1
	sei := int32(int16(sezi + fmult(s.a[1]>>2, s.sr[1]) + fmult(s.a[0]>>2, s.sr[0])))
	se := sei >> 1

	// Quantizer scale factor (MIX).
	y := s.yu
	if s.ap < 256 {
		y = s.yl >> 6
		dif := s.yu - y
		al := s.ap >> 2
		if dif > 0 {
			y += (dif * al) >> 6
		} else if dif < 0 {
			y += (dif*al + 0x3F) >> 6
		}
	}

	// Inverse quantizer (ADDA, ANTILOG): dq in sign-magnitude, 15 bits.
	neg := code&signBit != 0
	var dq int32
	if dql := int32(int16(r.dqln[code] + y>>2)); dql >= 0 {
		dex := (dql >> 7) & 15
		dqt := 128 + dql&127
		dq = (dqt << 7) >> (14 - dex)
	}
	dqmag := dq
	srv := se + dqmag
	if neg {
		srv = se - dqmag&0x3FFF // as the reference code (Sun, spandsp) does
	}
	srv = int32(int16(srv))
	dqsez := int32(int16(srv - se + sez))

	s.update(r, y, r.wi[code], r.fi[code], dqmag, neg, srv, dqsez)
	return srv
}

// update adapts the state after one sample (G.726 §4.2.4–4.2.7).
func (s *g726State) update(r *g726Rate, y, wi, fi, mag int32, neg bool, sr, dqsez int32) {
	var pk0 int32
	if dqsez < 0 {
		pk0 = 1
	}

	// Tone and transition detector (TRANS).
	ylint := s.yl >> 15
	ylfrac := (s.yl >> 10) & 0x1F
	thr2 := int32(31 << 10)
	if ylint <= 9 {
		thr2 = (32 + ylfrac) << ylint
	}
	dqthr := (thr2 + thr2>>1) >> 1
	tr := s.td != 0 && mag > dqthr

	// Scale factor adaptation (FUNCTW, FILTD, LIMB, FILTE).
	s.yu = min(max(y+(wi-y)>>5, 544), 5120)
	s.yl += s.yu + (-s.yl)>>6

	a2p := s.a[1]
	if tr {
		s.a = [2]int32{}
		s.b = [6]int32{}
	} else {
		pks1 := pk0 ^ s.pk[0]
		// UPA2, LIMC.
		a2p = s.a[1] - s.a[1]>>7
		if dqsez != 0 {
			fa1 := -s.a[0]
			if pks1 != 0 {
				fa1 = s.a[0]
			}
			switch {
			case fa1 < -8191:
				a2p -= 0x100
			case fa1 > 8191:
				a2p += 0xFF
			default:
				a2p += fa1 >> 5
			}
			if pk0^s.pk[1] != 0 {
				switch {
				case a2p <= -12160:
					a2p = -12288
				case a2p >= 12416:
					a2p = 12288
				default:
					a2p -= 0x80
				}
			} else {
				switch {
				case a2p <= -12416:
					a2p = -12288
				case a2p >= 12160:
					a2p = 12288
				default:
					a2p += 0x80
				}
			}
		}
		s.a[1] = a2p
		// UPA1, LIMD.
		s.a[0] -= s.a[0] >> 8
		if dqsez != 0 {
			if pks1 == 0 {
				s.a[0] += 192
			} else {
				s.a[0] -= 192
			}
		}
		a1ul := 15360 - a2p
		s.a[0] = min(max(s.a[0], -a1ul), a1ul)
		// UPB.
		for i := range s.b {
			s.b[i] -= s.b[i] >> r.bLeak
			if mag != 0 {
				if neg == (s.dq[i] < 0) {
					s.b[i] += 128
				} else {
					s.b[i] -= 128
				}
			}
		}
	}

	// DELAY, FLOAT A, FLOAT B.
	copy(s.dq[1:], s.dq[:5])
	s.dq[0] = toFloat(mag, neg)
	s.sr[1] = s.sr[0]
	switch {
	case sr >= 0:
		s.sr[0] = toFloat(sr, false)
	case sr > -32768:
		s.sr[0] = toFloat(-sr, true)
	default:
		s.sr[0] = 0x20 - 0x400
	}
	s.pk[1], s.pk[0] = s.pk[0], pk0

	// TONE.
	switch {
	case tr:
		s.td = 0
	case a2p < -11776:
		s.td = 1
	default:
		s.td = 0
	}

	// Adaptation speed control (FILTA, FILTB, SUBTC, FILTC).
	s.dms += (fi - s.dms) >> 5
	s.dml += (fi<<2 - s.dml) >> 7
	switch {
	case tr:
		s.ap = 256
	case y < 1536, s.td == 1, abs32(s.dms<<2-s.dml) >= s.dml>>3:
		s.ap += (0x200 - s.ap) >> 4
	default:
		s.ap += (-s.ap) >> 4
	}
}

func abs32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

// g726Decoder decodes one RTP stream of G.726.
type g726Decoder struct {
	st   g726State
	r    *g726Rate
	aal2 bool // codewords from the most significant bit (AAL2 / I.366.2 packing)
	name string
}

// g726Rates maps the kbit/s of an SDP encoding name to its tables.
var g726Rates = map[string]*g726Rate{"16": g726r16, "24": g726r24, "32": g726r32, "40": g726r40}

// g726For parses an encoding name ("G726-32", "AAL2-G726-24", "G721").
func g726For(name string) (r *g726Rate, aal2, ok bool) {
	if name == "G721" {
		return g726r32, false, true
	}
	rest, aal2 := cutPrefix(name, "AAL2-")
	rest, found := cutPrefix(rest, "G726-")
	if !found {
		return nil, false, false
	}
	r, ok = g726Rates[rest]
	return r, aal2, ok
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

func newG726(name string) (*g726Decoder, error) {
	r, aal2, ok := g726For(name)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnsupported, name)
	}
	d := &g726Decoder{r: r, aal2: aal2, name: name}
	d.st.reset()
	return d, nil
}

func (d *g726Decoder) String() string {
	order := "RFC 3551 packing"
	if d.aal2 {
		order = "AAL2 packing"
	}
	return d.name + " (pure Go, " + order + ")"
}

// Decode decodes every whole codeword of the payload (8 samples per
// d.r.bits octets); trailing bits that do not make a codeword are ignored.
func (d *g726Decoder) Decode(payload []byte, dst []int16) ([]int16, error) {
	dst = dst[:0]
	bits := uint(d.r.bits)
	mask := uint32(1)<<bits - 1
	var acc uint32 // bit reservoir
	var have uint
	for _, b := range payload {
		if d.aal2 {
			acc = acc<<8 | uint32(b)
		} else {
			acc |= uint32(b) << have
		}
		have += 8
		for have >= bits {
			var code uint32
			if d.aal2 {
				code = acc >> (have - bits) & mask
			} else {
				code = acc & mask
				acc >>= bits
			}
			have -= bits
			sr := d.st.decode(d.r, int32(code))
			dst = append(dst, int16(min(max(sr<<2, -32768), 32767)))
		}
		if d.aal2 {
			acc &= 1<<have - 1
		}
	}
	return dst, nil
}

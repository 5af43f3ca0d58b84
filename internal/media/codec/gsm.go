package codec

import (
	"fmt"
	"slices"
)

// GSM 06.10 full rate (ETSI EN 300 961, "GSM 06.10"), decoder only, in
// pure Go: the Recommendation's §4.3 fixed-point decoder with its 16-bit
// saturating arithmetic, so the output matches the TU Berlin reference
// library (libgsm, which ffmpeg's libgsm decoder and spandsp use) sample
// for sample.
//
// RTP (RFC 3551 §4.5.8, static payload type 3): each 20 ms frame is 33
// octets, a 4-bit signature 0xD and then the 76 parameters most
// significant bit first; a packet may carry several frames.

const (
	gsmFrameBytes   = 33
	gsmFrameSamples = 160
)

// gsmState is the decoder's memory between frames.
type gsmState struct {
	nrp   int16        // last valid LTP lag
	larpp [2][8]int16  // decoded LARs of this and the previous frame
	j     int          // which of larpp is the current frame's
	v     [9]int16     // short-term synthesis lattice
	msr   int16        // de-emphasis memory
	erp   [40]int16    // scratch: RPE excitation
	drp   [160]int16   // reconstructed short-term residual: 120 history + 40 current
	wt    [160]int16   // scratch: one frame of residual
	par   gsmFrameData // scratch: unpacked parameters
}

// gsmFrameData are the parameters of one frame.
type gsmFrameData struct {
	larc  [8]int16
	nc    [4]int16
	bc    [4]int16
	mc    [4]int16
	xmaxc [4]int16
	xmc   [4][13]int16
}

// 16-bit saturating arithmetic of GSM 06.10 §5.1.
func satAdd(a, b int16) int16 { return sat16(int32(a) + int32(b)) }
func satSub(a, b int16) int16 { return sat16(int32(a) - int32(b)) }

func sat16(v int32) int16 { return int16(min(max(v, -32768), 32767)) }

// multR is mult_r: (a·b + 2^14) >> 15, with -1·-1 saturated.
func multR(a, b int16) int16 {
	if a == -32768 && b == -32768 {
		return 32767
	}
	return int16((int32(a)*int32(b) + 16384) >> 15)
}

// Tables of GSM 06.10 §5.2 (and 4.2.15, 4.2.17).
var (
	gsmQLB = [4]int16{3277, 11469, 21299, 32767}                              // LTP gain
	gsmFAC = [8]int16{18431, 20479, 22527, 24575, 26623, 28671, 30719, 32767} // RPE mantissa
	gsmB   = [8]int16{0, 0, 2048, -2560, 94, -1792, -341, -1144}              // LAR decoding offsets
	gsmMIC = [8]int16{-32, -32, -16, -16, -8, -8, -4, -4}                     // LARc minimum
	gsmINV = [8]int16{13107, 13107, 13107, 13107, 19223, 17476, 31454, 29708} // 1/A
	gsmLAR = [8]uint{6, 6, 5, 5, 4, 4, 3, 3}                                  // LARc bits
)

// unpack reads one 33-octet frame (RFC 3551 bit order).
func (p *gsmFrameData) unpack(b []byte) {
	pos := uint(4) // the 0xD signature
	get := func(n uint) int16 {
		var v int16
		for range n {
			v = v<<1 | int16(b[pos>>3]>>(7-pos&7)&1)
			pos++
		}
		return v
	}
	for i, n := range gsmLAR {
		p.larc[i] = get(n)
	}
	for j := range 4 {
		p.nc[j] = get(7)
		p.bc[j] = get(2)
		p.mc[j] = get(2)
		p.xmaxc[j] = get(6)
		for i := range p.xmc[j] {
			p.xmc[j][i] = get(3)
		}
	}
}

// asr and asl are the Recommendation's shifts by a signed count.
func asr(a int16, n int16) int16 {
	switch {
	case n >= 16:
		if a < 0 {
			return -1
		}
		return 0
	case n <= -16:
		return 0
	case n < 0:
		return a << -n
	}
	return a >> n
}

func asl(a int16, n int16) int16 {
	switch {
	case n >= 16:
		return 0
	case n <= -16:
		if a < 0 {
			return -1
		}
		return 0
	case n < 0:
		return asr(a, -n)
	}
	return a << n
}

// rpeDecode is RPE decoding (§4.3.1–4.3.2 via 4.2.15–4.2.17): the 13
// pulses of a subframe, inverse-quantized and placed on grid mc.
func (s *gsmState) rpeDecode(xmaxc, mc int16, xmc *[13]int16) {
	var exp int16
	if xmaxc > 15 {
		exp = xmaxc>>3 - 1
	}
	mant := xmaxc - exp<<3
	if mant == 0 {
		exp, mant = -4, 7
	} else {
		for mant <= 7 {
			mant = mant<<1 | 1
			exp--
		}
		mant -= 8
	}
	temp1 := gsmFAC[mant]
	temp2 := satSub(6, exp)
	temp3 := asl(1, satSub(temp2, 1))
	s.erp = [40]int16{}
	for i, x := range xmc {
		t := (x<<1 - 7) << 12
		t = multR(temp1, t)
		t = satAdd(t, temp3)
		s.erp[int(mc)+3*i] = asr(t, temp2)
	}
}

// longTermSynthesis is §4.3.2: drp[120:160] from the excitation and the
// residual Nr samples back.
func (s *gsmState) longTermSynthesis(ncr, bcr int16) {
	nr := ncr
	if nr < 40 || nr > 120 {
		nr = s.nrp
	}
	s.nrp = nr
	brp := gsmQLB[bcr]
	d := s.drp[:]
	for k := range 40 {
		d[120+k] = satAdd(s.erp[k], multR(brp, d[120+k-int(nr)]))
	}
}

// larToRP turns interpolated LARs into reflection coefficients (§4.2.10).
func larToRP(lar *[8]int16) {
	for i, v := range lar {
		t := v
		if v < 0 {
			if v == -32768 {
				t = 32767
			} else {
				t = -v
			}
		}
		switch {
		case t < 11059:
			t <<= 1
		case t < 20070:
			t += 11059
		default:
			t = satAdd(t>>2, 26112)
		}
		if v < 0 {
			t = -t
		}
		lar[i] = t
	}
}

// synthesis runs the short-term synthesis lattice (§4.3.4) over wt into out.
func (s *gsmState) synthesis(rrp *[8]int16, wt, out []int16) {
	v := &s.v
	for k, sri := range wt {
		for i := 7; i >= 0; i-- {
			sri = satSub(sri, multR(rrp[i], v[i]))
			v[i+1] = satAdd(v[i], multR(rrp[i], sri))
		}
		v[0] = sri
		out[k] = sri
	}
}

// shortTermSynthesis decodes the LARs and filters the frame's residual
// with coefficients interpolated over four segments (§4.3.3–4.3.4).
func (s *gsmState) shortTermSynthesis(out []int16) {
	cur := &s.larpp[s.j]
	s.j ^= 1
	prev := &s.larpp[s.j]
	for i := range cur {
		t := satAdd(s.par.larc[i], gsmMIC[i]) << 10
		t = satSub(t, gsmB[i]<<1)
		t = multR(gsmINV[i], t)
		cur[i] = satAdd(t, t)
	}
	var lar [8]int16
	for i := range lar {
		lar[i] = satAdd(satAdd(prev[i]>>2, cur[i]>>2), prev[i]>>1)
	}
	larToRP(&lar)
	s.synthesis(&lar, s.wt[0:13], out[0:13])
	for i := range lar {
		lar[i] = satAdd(prev[i]>>1, cur[i]>>1)
	}
	larToRP(&lar)
	s.synthesis(&lar, s.wt[13:27], out[13:27])
	for i := range lar {
		lar[i] = satAdd(satAdd(prev[i]>>2, cur[i]>>2), cur[i]>>1)
	}
	larToRP(&lar)
	s.synthesis(&lar, s.wt[27:40], out[27:40])
	lar = *cur
	larToRP(&lar)
	s.synthesis(&lar, s.wt[40:160], out[40:160])
}

// decodeFrame decodes one 33-octet frame into out[:160].
func (s *gsmState) decodeFrame(frame []byte, out []int16) {
	p := &s.par
	p.unpack(frame)
	for j := range 4 {
		s.rpeDecode(p.xmaxc[j], p.mc[j], &p.xmc[j])
		s.longTermSynthesis(p.nc[j], p.bc[j])
		copy(s.wt[40*j:40*j+40], s.drp[120:160])
		copy(s.drp[:120], s.drp[40:160])
	}
	s.shortTermSynthesis(out)
	// Post-processing (§4.3.5): de-emphasis, upscaling, truncation.
	msr := s.msr
	for k, v := range out[:gsmFrameSamples] {
		msr = satAdd(v, multR(msr, 28180))
		out[k] = satAdd(msr, msr) &^ 7
	}
	s.msr = msr
}

// gsmDecoder decodes one RTP stream of GSM 06.10.
type gsmDecoder struct{ st gsmState }

func newGSM() *gsmDecoder { return &gsmDecoder{st: gsmState{nrp: 40}} }

func (d *gsmDecoder) String() string { return "GSM 06.10 (pure Go)" }

// Decode decodes a payload of one or more 33-octet frames.
func (d *gsmDecoder) Decode(payload []byte, dst []int16) ([]int16, error) {
	dst = dst[:0]
	if len(payload) == 0 || len(payload)%gsmFrameBytes != 0 {
		return dst, fmt.Errorf("%w: GSM payload of %d bytes (33-byte frames)", ErrPayload, len(payload))
	}
	for ; len(payload) > 0; payload = payload[gsmFrameBytes:] {
		n := len(dst)
		dst = slices.Grow(dst, gsmFrameSamples)[:n+gsmFrameSamples]
		d.st.decodeFrame(payload[:gsmFrameBytes], dst[n:])
	}
	return dst, nil
}

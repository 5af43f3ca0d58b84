package codec

import (
	"fmt"
	"strings"
)

// AMR-WB (RFC 4867 §4): the RTP payload is a codec mode request (CMR), a
// table of contents (one entry per frame: F more-follows, FT frame type, Q
// quality) and the frames' speech bits, either each field on whole octets
// (octet-align=1) or packed bit after bit (bandwidth-efficient, the
// default). parseAMRWB turns either into frames in the storage format of
// RFC 4867 §5.3 (one header byte FT<<3|Q<<2, then the speech bits, MSB
// first, padded to an octet), which the decoder takes.

// amrwbFrameBits are the speech bits of each AMR-WB frame type: modes 0-8
// (6.60 to 23.85 kbit/s), 9 SID (comfort noise), 10-13 reserved (-1),
// 14 speech lost and 15 no data (no bits).
var amrwbFrameBits = [16]int{132, 177, 253, 285, 317, 365, 397, 461, 477, 40, -1, -1, -1, -1, 0, 0}

// maxAMRFrames bounds the frames of one payload (RFC 4867 sets no limit;
// a 20 ms packet has one, a few are bundled at most).
const maxAMRFrames = 32

// amrwbFormat is the payload format of an AMR-WB payload type, from its
// fmtp.
type amrwbFormat struct{ octetAligned bool }

// parseAMRWBFmtp reads the parameters openrec must know of (octet-align)
// and refuses those it cannot decode (crc, robust sorting, interleaving:
// RFC 4867 §4.4, only with octet-align).
func parseAMRWBFmtp(fmtp string) (amrwbFormat, error) {
	var f amrwbFormat
	for _, p := range strings.Split(fmtp, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		switch k {
		case "octet-align":
			f.octetAligned = v == "1"
		case "crc", "robust-sorting":
			if v == "1" {
				return f, fmt.Errorf("%w: AMR-WB with %s=1", ErrUnsupported, k)
			}
		case "interleaving":
			return f, fmt.Errorf("%w: AMR-WB with interleaving", ErrUnsupported)
		case "channels":
			if v != "" && v != "1" {
				return f, fmt.Errorf("%w: AMR-WB with %s channels", ErrUnsupported, v)
			}
		}
	}
	return f, nil
}

// bitReader reads bits MSB first.
type bitReader struct {
	b   []byte
	pos int // in bits
}

func (r *bitReader) left() int { return 8*len(r.b) - r.pos }

func (r *bitReader) read(n int) uint32 {
	var v uint32
	for range n {
		v = v<<1 | uint32(r.b[r.pos>>3]>>(7-r.pos&7)&1)
		r.pos++
	}
	return v
}

// parseAMRWB appends the storage-format frames of payload to dst (each a
// slice of buf, which it grows) and returns them. A payload that does not
// hold what its table of contents says, or names a reserved frame type,
// is an error wrapping ErrPayload.
func parseAMRWB(payload []byte, f amrwbFormat, dst [][]byte, buf []byte) ([][]byte, []byte, error) {
	dst, buf = dst[:0], buf[:0]
	type toc struct {
		ft uint8
		q  bool
	}
	var tocs [maxAMRFrames]toc
	n := 0
	r := bitReader{b: payload}
	if f.octetAligned {
		if len(payload) < 2 {
			return dst, buf, fmt.Errorf("%w: AMR-WB payload of %d bytes", ErrPayload, len(payload))
		}
		i := 1 // CMR octet
		for {
			if i >= len(payload) {
				return dst, buf, fmt.Errorf("%w: AMR-WB table of contents runs past the payload", ErrPayload)
			}
			b := payload[i]
			i++
			if n == maxAMRFrames {
				return dst, buf, fmt.Errorf("%w: AMR-WB payload of more than %d frames", ErrPayload, maxAMRFrames)
			}
			tocs[n] = toc{ft: b >> 3 & 0x0F, q: b>>2&1 == 1}
			n++
			if b&0x80 == 0 {
				break
			}
		}
		r.pos = 8 * i
	} else {
		if r.left() < 4+6 {
			return dst, buf, fmt.Errorf("%w: AMR-WB payload of %d bytes", ErrPayload, len(payload))
		}
		r.read(4) // CMR
		for {
			if r.left() < 6 {
				return dst, buf, fmt.Errorf("%w: AMR-WB table of contents runs past the payload", ErrPayload)
			}
			e := r.read(6)
			if n == maxAMRFrames {
				return dst, buf, fmt.Errorf("%w: AMR-WB payload of more than %d frames", ErrPayload, maxAMRFrames)
			}
			tocs[n] = toc{ft: uint8(e >> 1 & 0x0F), q: e&1 == 1}
			n++
			if e&0x20 == 0 {
				break
			}
		}
	}
	// Frames are placed in buf first and sliced afterwards: buf may move
	// while it grows.
	var ends [maxAMRFrames]int
	for k := range n {
		bits := amrwbFrameBits[tocs[k].ft]
		if bits < 0 {
			return dst, buf, fmt.Errorf("%w: AMR-WB frame type %d (reserved)", ErrPayload, tocs[k].ft)
		}
		if r.left() < bits {
			return dst, buf, fmt.Errorf("%w: AMR-WB frame %d of type %d needs %d bits, %d left", ErrPayload, k, tocs[k].ft, bits, r.left())
		}
		hdr := tocs[k].ft << 3
		if tocs[k].q {
			hdr |= 0x04
		}
		buf = append(buf, hdr)
		if f.octetAligned {
			nb := (bits + 7) / 8
			buf = append(buf, payload[r.pos/8:r.pos/8+nb]...)
			r.pos += 8 * nb
		} else {
			for left := bits; left > 0; left -= 8 {
				k := min(left, 8)
				buf = append(buf, byte(r.read(k)<<(8-k)))
			}
		}
		ends[k] = len(buf)
	}
	start := 0
	for k := range n {
		dst = append(dst, buf[start:ends[k]])
		start = ends[k]
	}
	return dst, buf, nil
}

// packAMRWB is parseAMRWB's inverse (PackAMRWB).
func packAMRWB(frames [][]byte, f amrwbFormat) []byte {
	var w bitWriter
	if f.octetAligned {
		w.write(0xF0, 8)
	} else {
		w.write(0x0F, 4)
	}
	for i, fr := range frames {
		e := uint32(fr[0] >> 2 & 0x1F) // FT and Q
		if i < len(frames)-1 {
			e |= 0x20
		}
		if f.octetAligned {
			w.write(e<<2, 8)
		} else {
			w.write(e, 6)
		}
	}
	for _, fr := range frames {
		bits := amrwbFrameBits[fr[0]>>3&0x0F]
		for i := 0; i < bits; i++ {
			w.write(uint32(fr[1+i/8]>>(7-i%8)&1), 1)
		}
		if f.octetAligned {
			w.pad()
		}
	}
	w.pad()
	return w.b
}

// bitWriter writes bits MSB first.
type bitWriter struct {
	b []byte
	n int // bits written
}

func (w *bitWriter) write(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte(v>>i&1) << (7 - w.n%8)
		w.n++
	}
}

func (w *bitWriter) pad() { w.n = 8 * len(w.b) }

//go:build amrwb && cgo

package codec

/*
#cgo LDFLAGS: -lopencore-amrwb
#include <stdlib.h>
#include <opencore-amrwb/dec_if.h>
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/resample"
)

// AMRWBBuild says whether this build decodes AMR-WB: with the amrwb build
// tag, through Debian's libopencore-amrwb (Apache-2.0, the 3GPP reference
// decoder as packaged by OpenCORE).
const AMRWBBuild = "opencore-amrwb (cgo, Apache-2.0)"

// amrwbDecoder decodes AMR-WB (RFC 4867, 16000 Hz clock): each frame is
// 20 ms at 16 kHz, kept for a wideband recording, else brought to 8 kHz
// by the halver.
type amrwbDecoder struct {
	st     unsafe.Pointer
	format amrwbFormat
	frames [][]byte
	buf    []byte
	in     *C.uchar // one storage-format frame, C memory (cgo may not keep Go pointers)
	out    [320]C.short
	wide   []int16
	keep   bool // render 16 kHz (a wideband recording)
	half   resample.Halver
}

// amrwbMaxFrame is the largest storage-format frame: header + 477 bits.
const amrwbMaxFrame = 1 + (477+7)/8

func newAMRWB(c media.Codec, rate int) (Decoder, error) {
	f, err := parseAMRWBFmtp(c.Fmtp)
	if err != nil {
		return nil, err
	}
	st := C.D_IF_init()
	if st == nil {
		return nil, fmt.Errorf("%w: opencore-amrwb decoder init failed", ErrUnsupported)
	}
	in := (*C.uchar)(C.calloc(amrwbMaxFrame, 1))
	d := &amrwbDecoder{st: st, format: f, in: in, wide: make([]int16, 0, 320), keep: rate == WideRate}
	runtime.AddCleanup(d, func(p [2]unsafe.Pointer) { C.D_IF_exit(p[0]); C.free(p[1]) }, [2]unsafe.Pointer{st, unsafe.Pointer(in)})
	return d, nil
}

func (d *amrwbDecoder) String() string {
	mode := "bandwidth-efficient"
	if d.format.octetAligned {
		mode = "octet-aligned"
	}
	return "AMR-WB " + mode + " (" + AMRWBBuild + ")"
}

func (d *amrwbDecoder) Decode(payload []byte, dst []int16) ([]int16, error) {
	dst = dst[:0]
	var err error
	d.frames, d.buf, err = parseAMRWB(payload, d.format, d.frames, d.buf)
	if err != nil {
		return dst, err
	}
	in := unsafe.Slice((*byte)(unsafe.Pointer(d.in)), amrwbMaxFrame)
	for _, fr := range d.frames {
		clear(in)
		copy(in, fr)
		C.D_IF_decode(d.st, d.in, &d.out[0], 0)
		d.wide = d.wide[:0]
		for _, v := range d.out {
			d.wide = append(d.wide, int16(v))
		}
		if d.keep {
			dst = append(dst, d.wide...)
		} else {
			dst = d.half.Halve(d.wide, dst)
		}
	}
	runtime.KeepAlive(d)
	return dst, nil
}

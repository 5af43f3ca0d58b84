//go:build amrwb && cgo

package codec

/*
#cgo LDFLAGS: -lvo-amrwbenc
#include <stdlib.h>
#include <vo-amrwbenc/enc_if.h>
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// AMRWBEncoder encodes 16 kHz PCM to AMR-WB storage-format frames with
// Debian's libvo-amrwbenc (Apache-2.0; VisualOn's encoder, not the
// decoder's code): the tests' independent encoder.
type AMRWBEncoder struct {
	st  unsafe.Pointer
	in  *C.short // 320 samples, C memory
	out *C.uchar // one frame, C memory
}

// NewAMRWBEncoder returns an encoder.
func NewAMRWBEncoder() (*AMRWBEncoder, error) {
	st := C.E_IF_init()
	if st == nil {
		return nil, fmt.Errorf("%w: vo-amrwbenc init failed", ErrUnsupported)
	}
	e := &AMRWBEncoder{st: st, in: (*C.short)(C.calloc(320, 2)), out: (*C.uchar)(C.calloc(amrwbMaxFrame+8, 1))}
	runtime.AddCleanup(e, func(p [3]unsafe.Pointer) { C.E_IF_exit(p[0]); C.free(p[1]); C.free(p[2]) },
		[3]unsafe.Pointer{st, unsafe.Pointer(e.in), unsafe.Pointer(e.out)})
	return e, nil
}

// Encode encodes one 20 ms frame (320 samples at 16 kHz) in mode (0-8)
// and returns it in the storage format (header byte, speech bits).
func (e *AMRWBEncoder) Encode(pcm []int16, mode int, dtx bool) []byte {
	in := unsafe.Slice((*int16)(unsafe.Pointer(e.in)), 320)
	copy(in, pcm)
	d := 0
	if dtx {
		d = 1
	}
	n := C.E_IF_encode(e.st, C.int(mode), e.in, e.out, C.int(d))
	out := C.GoBytes(unsafe.Pointer(e.out), n)
	runtime.KeepAlive(e)
	return out
}

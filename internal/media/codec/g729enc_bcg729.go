//go:build bcg729 && cgo

package codec

/*
#include <stdint.h>
#include <bcg729/encoder.h>
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// G729Encoder encodes 8 kHz PCM to G.729A (bcg729; `openrec dial --codec
// G729` and the tests use it). With VAD on, silence becomes 2-byte SID
// frames (Annex B) or nothing.
type G729Encoder struct {
	ctx *C.bcg729EncoderChannelContextStruct
	in  [80]C.int16_t
	out [10]C.uint8_t
}

// NewG729Encoder returns an encoder.
func NewG729Encoder(vad bool) (*G729Encoder, error) {
	v := 0
	if vad {
		v = 1
	}
	ctx := C.initBcg729EncoderChannel(C.uint8_t(v))
	if ctx == nil {
		return nil, fmt.Errorf("%w: bcg729 encoder init failed", ErrUnsupported)
	}
	e := &G729Encoder{ctx: ctx}
	runtime.AddCleanup(e, func(ctx *C.bcg729EncoderChannelContextStruct) { C.closeBcg729EncoderChannel(ctx) }, ctx)
	return e, nil
}

// Encode appends the frames of pcm (a multiple of 80 samples) to dst.
func (e *G729Encoder) Encode(pcm []int16, dst []byte) []byte {
	for len(pcm) >= 80 {
		for i := range e.in {
			e.in[i] = C.int16_t(pcm[i])
		}
		var n C.uint8_t
		C.bcg729Encoder(e.ctx, &e.in[0], &e.out[0], &n)
		dst = append(dst, unsafe.Slice((*byte)(unsafe.Pointer(&e.out[0])), int(n))...)
		pcm = pcm[80:]
	}
	runtime.KeepAlive(e)
	return dst
}

//go:build bcg729 && cgo

package codec

/*
#cgo LDFLAGS: -lbcg729
#include <stdint.h>
#include <bcg729/decoder.h>
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// G729Build says whether this build decodes G.729: with the bcg729 build
// tag, through Debian's libbcg729 (GPL-3: a binary built with this tag is
// GPL-3 as a whole; the default build does not contain it).
const G729Build = "bcg729 (cgo, GPL-3)"

// g729Decoder decodes G.729, G.729A and Annex B: each RTP payload is a run
// of 10-byte frames (10 ms, 80 samples), optionally followed by one 2-byte
// SID frame (comfort noise, Annex B), RFC 3551 §4.5.6.
type g729Decoder struct {
	ctx *C.bcg729DecoderChannelContextStruct
	out [80]C.int16_t
}

func newG729() (Decoder, error) {
	ctx := C.initBcg729DecoderChannel()
	if ctx == nil {
		return nil, fmt.Errorf("%w: bcg729 decoder init failed", ErrUnsupported)
	}
	d := &g729Decoder{ctx: ctx}
	runtime.AddCleanup(d, func(ctx *C.bcg729DecoderChannelContextStruct) { C.closeBcg729DecoderChannel(ctx) }, ctx)
	return d, nil
}

func (d *g729Decoder) String() string { return "G729 (" + G729Build + ")" }

func (d *g729Decoder) Decode(payload []byte, dst []int16) ([]int16, error) {
	dst = dst[:0]
	if len(payload) == 0 || len(payload)%10 != 0 && len(payload)%10 != 2 {
		return dst, fmt.Errorf("%w: G729 payload of %d bytes (10-byte frames, one 2-byte SID last)", ErrPayload, len(payload))
	}
	for len(payload) > 0 {
		n, sid := 10, 0
		if len(payload) == 2 {
			n, sid = 2, 1
		}
		C.bcg729Decoder(d.ctx, (*C.uint8_t)(unsafe.Pointer(&payload[0])), C.uint8_t(n), 0, C.uint8_t(sid), 0, &d.out[0])
		for _, v := range d.out {
			dst = append(dst, int16(v))
		}
		payload = payload[n:]
	}
	runtime.KeepAlive(d)
	return dst, nil
}

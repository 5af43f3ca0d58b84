//go:build spandsp && cgo

package spandspref

/*
#cgo LDFLAGS: -lspandsp
#include <stdint.h>
#include <stdlib.h>
#include <spandsp/telephony.h>
#include <spandsp/g726.h>
#include <spandsp/gsm0610.h>
*/
import "C"

import "unsafe"

// G.726 bit orders (spandsp's G726_PACKING_*).
const (
	PackLeft  = C.G726_PACKING_LEFT  // first codeword in the most significant bits (AAL2)
	PackRight = C.G726_PACKING_RIGHT // first codeword in the least significant bits (RFC 3551)
)

// G726Decode decodes a G.726 bitstream at bitRate (16000..40000) to 16-bit
// linear PCM.
func G726Decode(bitRate, packing int, data []byte) []int16 {
	if len(data) == 0 {
		return nil
	}
	s := C.g726_init(nil, C.int(bitRate), C.G726_ENCODING_LINEAR, C.int(packing))
	defer C.g726_free(s)
	out := make([]int16, len(data)*8/2+8)
	n := C.g726_decode(s, (*C.int16_t)(unsafe.Pointer(&out[0])), (*C.uint8_t)(unsafe.Pointer(&data[0])), C.int(len(data)))
	return out[:n]
}

// G726Encode encodes 16-bit linear PCM as G.726 at bitRate.
func G726Encode(bitRate, packing int, pcm []int16) []byte {
	if len(pcm) == 0 {
		return nil
	}
	s := C.g726_init(nil, C.int(bitRate), C.G726_ENCODING_LINEAR, C.int(packing))
	defer C.g726_free(s)
	out := make([]byte, len(pcm)+8)
	n := C.g726_encode(s, (*C.uint8_t)(unsafe.Pointer(&out[0])), (*C.int16_t)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)))
	return out[:n]
}

// GSMDecode decodes 33-byte GSM 06.10 frames (RFC 3551 packing).
func GSMDecode(data []byte) []int16 {
	if len(data) == 0 {
		return nil
	}
	s := C.gsm0610_init(nil, C.GSM0610_PACKING_VOIP)
	defer C.gsm0610_free(s)
	out := make([]int16, len(data)/33*160+160)
	n := C.gsm0610_decode(s, (*C.int16_t)(unsafe.Pointer(&out[0])), (*C.uint8_t)(unsafe.Pointer(&data[0])), C.int(len(data)))
	return out[:n]
}

// GSMEncode encodes PCM (a multiple of 160 samples) as 33-byte frames.
func GSMEncode(pcm []int16) []byte {
	if len(pcm) == 0 {
		return nil
	}
	s := C.gsm0610_init(nil, C.GSM0610_PACKING_VOIP)
	defer C.gsm0610_free(s)
	out := make([]byte, len(pcm)/160*33+33)
	n := C.gsm0610_encode(s, (*C.uint8_t)(unsafe.Pointer(&out[0])), (*C.int16_t)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)))
	return out[:n]
}

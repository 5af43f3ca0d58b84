//go:build amrwb && cgo

package codec

// PackAMRWB puts AMR-WB frames in the storage format (a header byte
// FT<<3|Q<<2, then the speech bits; AMRWBEncoder's output) into one RFC
// 4867 RTP payload, octet-aligned or bandwidth-efficient, without a mode
// request (CMR 15): what a sender puts on the wire, for tests beside the
// amrwb build's encoder. Each frame must be as long as its frame type says.
func PackAMRWB(frames [][]byte, octetAligned bool) []byte {
	return packAMRWB(frames, amrwbFormat{octetAligned: octetAligned})
}

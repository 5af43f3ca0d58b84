// Package mediaconv serves stored recordings to browsers, which play 16-bit
// PCM WAV reliably but not G.711 WAV.
//
// Open parses the header of a recording written by internal/media/wav (PCM16,
// A-law or µ-law, any channel count, RIFF or RF64, with or without a fact
// chunk). A recording still being written ("<name>.wav.part") is read up to
// the whole frames on disk, whatever its header says.
//
// PCM gives a virtual PCM16 WAV of all channels or of one channel as mono:
// an io.ReadSeeker whose size is known up front, so net/http.ServeContent
// answers Range requests without converting the whole file. Byte offsets
// map to source frames, which are read and decoded in blocks on demand.
//
// Peaks gives per-channel (min, max) pairs for a waveform display.
//
// MP3 is encoded by an external LAME binary (Encoder) so that the module
// stays pure Go: raw PCM16 goes to its standard input, CBR MPEG 2.5 Layer
// III at 8 kHz comes out, at the bitrates of Genesys Interaction Recording
// (8 kbit/s mono, 16 or 32 kbit/s stereo). Cache keeps each encoded
// variant as a plain file so repeated downloads and Range requests are
// served without encoding again.
package mediaconv

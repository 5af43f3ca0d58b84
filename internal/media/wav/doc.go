// Package wav writes and reads the WAV files openrec stores recordings in:
// 16-bit PCM, G.711 A-law or µ-law, any number of interleaved channels, at
// any sample rate (8 kHz in practice).
//
// The Writer is built for crash safety rather than generality. Create
// writes "<name>.wav.part"; the mixer appends about one second of frames
// per Write and calls Sync, which rewrites the header in place and fsyncs,
// so the file on disk is always a valid WAV that loses at most one flush
// interval. Close finalises, fsyncs and renames the file to "<name>.wav".
// A ".part" file left by a killed process is repaired by Recover (or
// RecoverDir at start-up), which trusts the file size, not the header.
//
// Files larger than a RIFF header can describe (4 GiB - 1, about 74 hours
// of 8 kHz stereo G.711) are refused with ErrTooLarge; RF64 is not
// implemented.
//
// Decode reads any PCM16/A-law/µ-law WAV, including WAVE_FORMAT_EXTENSIBLE
// headers and files with extra chunks, for tests and the CLI.
package wav

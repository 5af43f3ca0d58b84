// Package spandspref wraps Debian's spandsp (LGPL-2.1, cgo, build tag
// spandsp) as a reference for the codec package's tests: its G.726 passes
// the ITU-T test sequences and its GSM 06.10 derives from the TU Berlin
// reference library, so the pure-Go decoders are compared with it sample
// for sample. Without the tag the package is empty; no openrec binary
// links it.
package spandspref

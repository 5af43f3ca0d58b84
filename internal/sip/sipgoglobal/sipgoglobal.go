// Package sipgoglobal holds the one write to sipgo's package settings.
//
// sipgo v1.7.2 sizes its read buffers and caps the UDP messages it sends
// with package variables, read by its transport goroutines without
// synchronisation, and offers no per-transport option for them:
// TransportUDP and TransportTCP have no exported field or
// TransportLayerOption for the buffer, their read loops allocate
// make([]byte, sip.TransportBufferReadSize), and UDPConnection.WriteMsg
// refuses anything over sip.UDPMTUSize-200. The recorder (sipsrv) and the
// dialer (dial) both need more than the defaults:
//
//   - sip.TransportBufferReadSize (default 32768): a datagram longer than
//     the buffer is truncated; SIPREC INVITEs with wide rs-metadata exceed
//     32 KiB. 65535 holds any UDP datagram.
//   - sip.UDPMTUSize (default 1500): sipgo refuses to send a UDP message
//     over 1,300 bytes, but a response goes back on its request's
//     transport however long (RFC 3261 §18.2.2; the 200 to a wide SIPREC
//     offer, RFC 4475 "longreq"), and SBCs send SIPREC INVITEs of several
//     KiB over UDP relying on IP fragmentation: the dialer does the same.
//
// Set writes both once (sync.Once), raising and never lowering them. Its
// callers call it from init, so the write happens before any sipgo
// goroutine can read the variables. An upstream option to size them per
// transport layer would remove this package.
package sipgoglobal

import (
	"sync"

	"github.com/emiago/sipgo/sip"
)

// MaxUDP is the size both settings are raised to: the largest UDP payload.
const MaxUDP = 65535

var once sync.Once

// Set raises sipgo's read buffer and UDP size limit to MaxUDP, once per
// process. Call it from init.
func Set() {
	once.Do(func() {
		if sip.TransportBufferReadSize < MaxUDP {
			sip.TransportBufferReadSize = MaxUDP
		}
		if sip.UDPMTUSize < MaxUDP {
			sip.UDPMTUSize = MaxUDP
		}
	})
}

//go:build !linux

package rtpin

import "net"

// forcePortable exists for tests shared with Linux; other systems always
// use the portable reader.
var forcePortable = true

// newReader returns the portable reader: ReadFromUDPAddrPort, one datagram
// per call, no allocation.
func newReader(conn *net.UDPConn, _ int) (reader, error) {
	return newPortableReader(conn), nil
}

package rtpin

import (
	"net"
	"net/netip"
)

const (
	// rtpBatch is how many datagrams one recvmmsg call may return on the RTP
	// socket; rtcpBatch the same for the RTCP socket (a few packets per 5 s).
	rtpBatch  = 16
	rtcpBatch = 4
	// slotSize is the largest datagram accepted; longer ones are counted as
	// invalid (an RTP audio packet is far smaller than an Ethernet MTU).
	slotSize = 1500
)

// datagram is one received datagram in a reader's preallocated batch.
type datagram struct {
	buf   []byte // slotSize+1 bytes, reused
	n     int    // bytes received (at most slotSize when !trunc)
	src   netip.AddrPort
	trunc bool // longer than slotSize
}

func (d *datagram) bytes() []byte { return d.buf[:d.n] }

// reader reads batches of datagrams from one socket. read blocks until at
// least one datagram is there and returns the filled part of the reader's
// batch, valid until the next read. It returns an error once the socket is
// closed.
type reader interface {
	read() ([]datagram, error)
}

// newDatagrams returns n datagrams whose buffers share one array.
func newDatagrams(n int) []datagram {
	backing := make([]byte, n*(slotSize+1))
	ds := make([]datagram, n)
	for i := range ds {
		ds[i].buf = backing[i*(slotSize+1) : (i+1)*(slotSize+1) : (i+1)*(slotSize+1)]
	}
	return ds
}

// portableReader reads one datagram at a time with ReadFromUDPAddrPort,
// which does not allocate. It is the reader on systems without recvmmsg.
type portableReader struct {
	conn *net.UDPConn
	d    []datagram
}

func newPortableReader(conn *net.UDPConn) *portableReader {
	return &portableReader{conn: conn, d: newDatagrams(1)}
}

func (r *portableReader) read() ([]datagram, error) {
	d := &r.d[0]
	n, src, err := r.conn.ReadFromUDPAddrPort(d.buf)
	if err != nil {
		return nil, err
	}
	d.trunc = n > slotSize
	d.n = min(n, slotSize)
	d.src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	return r.d, nil
}

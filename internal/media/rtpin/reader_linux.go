//go:build linux

package rtpin

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// forcePortable makes newReader return the portable reader (tests).
var forcePortable = false

// newReader returns a recvmmsg reader for conn with a batch of n datagrams.
func newReader(conn *net.UDPConn, n int) (reader, error) {
	if forcePortable {
		return newPortableReader(conn), nil
	}
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("rtpin: raw conn: %w", err)
	}
	r := &mmsgReader{
		rc:    rc,
		d:     newDatagrams(n),
		msgs:  make([]unix.Mmsghdr, n),
		iovs:  make([]unix.Iovec, n),
		names: make([]unix.RawSockaddrInet6, n),
	}
	for i := range n {
		r.iovs[i].Base = &r.d[i].buf[0]
		r.iovs[i].SetLen(slotSize)
		h := &r.msgs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
	}
	r.recvFn = r.recv // bound once: passing it to RawConn.Read does not allocate
	return r, nil
}

// mmsgReader receives up to len(msgs) datagrams per recvmmsg(2) call. The
// call is made from syscall.RawConn.Read, so when the socket is empty the
// goroutine parks in the netpoller instead of blocking an OS thread.
type mmsgReader struct {
	rc     syscall.RawConn
	d      []datagram
	msgs   []unix.Mmsghdr
	iovs   []unix.Iovec
	names  []unix.RawSockaddrInet6 // large enough for sockaddr_in too
	recvFn func(fd uintptr) bool

	// results of the last recv
	n     int
	errno unix.Errno
}

func (r *mmsgReader) read() ([]datagram, error) {
	for i := range r.msgs {
		r.msgs[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		r.msgs[i].Hdr.Flags = 0
		r.msgs[i].Len = 0
	}
	r.n, r.errno = 0, 0
	if err := r.rc.Read(r.recvFn); err != nil {
		return nil, err
	}
	if r.errno != 0 {
		return nil, r.errno
	}
	for i := range r.n {
		m := &r.msgs[i]
		d := &r.d[i]
		d.n = int(m.Len)
		d.trunc = m.Hdr.Flags&unix.MSG_TRUNC != 0
		d.src = sockaddrAddrPort(&r.names[i])
	}
	return r.d[:r.n], nil
}

// recv is the RawConn.Read callback: false means "would block, wait for
// readability", true means done (datagrams or an error in r).
func (r *mmsgReader) recv(fd uintptr) bool {
	for {
		n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd,
			uintptr(unsafe.Pointer(&r.msgs[0])), uintptr(len(r.msgs)),
			unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			r.n = int(n)
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			r.errno = errno
			return true
		}
	}
}

// sockaddrAddrPort converts a kernel sockaddr_in or sockaddr_in6 to an
// AddrPort, unmapping IPv4-mapped IPv6 addresses (dual-stack sockets).
func sockaddrAddrPort(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&sa4.Port)) // network byte order
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), uint16(p[0])<<8|uint16(p[1]))
	case unix.AF_INET6:
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(p[0])<<8|uint16(p[1]))
	}
	return netip.AddrPort{}
}

package dial

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// portAllocator binds local RTP (and RTCP) sockets. With a range it hands
// out even ports round-robin; without one it uses ephemeral ports and, when
// RTCP is wanted, tries to get an even RTP port with RTCP on port+1 before
// falling back to any free port (advertised with a=rtcp).
type portAllocator struct {
	low, high int // inclusive; 0,0: ephemeral

	mu   sync.Mutex
	next int
}

// rtpPair is one stream's sockets. rtcp is nil when RTCP is off.
type rtpPair struct {
	rtp, rtcp *net.UDPConn
}

func (p rtpPair) rtpPort() int { return p.rtp.LocalAddr().(*net.UDPAddr).Port }

func (p rtpPair) rtcpPort() int {
	if p.rtcp == nil {
		return 0
	}
	return p.rtcp.LocalAddr().(*net.UDPAddr).Port
}

func (p rtpPair) close() {
	if p.rtp != nil {
		_ = p.rtp.Close()
	}
	if p.rtcp != nil {
		_ = p.rtcp.Close()
	}
}

func bindUDP(ip netip.Addr, port int) (*net.UDPConn, error) {
	return net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
}

func (a *portAllocator) listen(ip netip.Addr, withRTCP bool) (rtpPair, error) {
	if a.low == 0 {
		return a.listenEphemeral(ip, withRTCP)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	first, last := a.low+a.low%2, a.high
	if withRTCP {
		last-- // the RTCP port must fit too
	}
	n := 0
	if last >= first {
		n = (last-first)/2 + 1
	}
	for range n {
		if a.next < first || a.next > last {
			a.next = first
		}
		port := a.next
		a.next += 2
		c, err := bindUDP(ip, port)
		if err != nil {
			continue
		}
		if !withRTCP {
			return rtpPair{rtp: c}, nil
		}
		rc, err := bindUDP(ip, port+1)
		if err != nil {
			_ = c.Close()
			continue
		}
		return rtpPair{rtp: c, rtcp: rc}, nil
	}
	return rtpPair{}, fmt.Errorf("%w: range %d-%d on %s", ErrNoPorts, a.low, a.high, ip)
}

func (a *portAllocator) listenEphemeral(ip netip.Addr, withRTCP bool) (rtpPair, error) {
	const tries = 16
	for range tries {
		c, err := bindUDP(ip, 0)
		if err != nil {
			return rtpPair{}, fmt.Errorf("%w: %w", ErrNoPorts, err)
		}
		if !withRTCP {
			return rtpPair{rtp: c}, nil
		}
		port := c.LocalAddr().(*net.UDPAddr).Port
		if port%2 == 0 && port < 65535 {
			if rc, err := bindUDP(ip, port+1); err == nil {
				return rtpPair{rtp: c, rtcp: rc}, nil
			}
		}
		_ = c.Close()
	}
	c, err := bindUDP(ip, 0)
	if err != nil {
		return rtpPair{}, fmt.Errorf("%w: %w", ErrNoPorts, err)
	}
	rc, err := bindUDP(ip, 0)
	if err != nil {
		_ = c.Close()
		return rtpPair{}, fmt.Errorf("%w: %w", ErrNoPorts, err)
	}
	return rtpPair{rtp: c, rtcp: rc}, nil
}

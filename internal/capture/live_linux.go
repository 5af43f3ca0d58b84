//go:build linux

package capture

import (
	"errors"
	"fmt"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
)

// Interface is a live capture on a network interface: an AF_PACKET socket
// with a TPACKET_V3 ring (memory shared with the kernel, no copy per
// frame).
type Interface struct {
	tp *afpacket.TPacket
}

// InterfaceConfig sizes the ring.
type InterfaceConfig struct {
	Name      string
	RingBytes int           // total ring size (default 64 MiB)
	Poll      time.Duration // read timeout: how often an idle capture flushes (default 200 ms)
}

// OpenInterface opens a live capture (needs CAP_NET_RAW).
func OpenInterface(cfg InterfaceConfig) (*Interface, error) {
	if cfg.RingBytes <= 0 {
		cfg.RingBytes = 64 << 20
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 200 * time.Millisecond
	}
	const frame = 1 << 16 // jumbo frames, SIP in one frame
	const block = frame * 16
	blocks := max(cfg.RingBytes/block, 4)
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(cfg.Name),
		afpacket.OptFrameSize(frame),
		afpacket.OptBlockSize(block),
		afpacket.OptNumBlocks(blocks),
		afpacket.OptPollTimeout(cfg.Poll),
		afpacket.OptBlockTimeout(10*time.Millisecond),
		afpacket.OptAddVLANHeader(true), // VLAN tags the NIC stripped are put back
		afpacket.TPacketVersion3,
	)
	if err != nil {
		return nil, fmt.Errorf("open interface %q: %w", cfg.Name, err)
	}
	return &Interface{tp: tp}, nil
}

// ReadPacketData implements Source (ErrTimeout when idle).
func (i *Interface) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	data, ci, err := i.tp.ZeroCopyReadPacketData()
	if errors.Is(err, afpacket.ErrTimeout) || errors.Is(err, afpacket.ErrPoll) {
		return nil, ci, ErrTimeout
	}
	return data, ci, err
}

// LinkType implements Source.
func (i *Interface) LinkType() layers.LinkType { return layers.LinkTypeEthernet }

// Loss returns the ring's counters since it opened: frames delivered and
// frames the kernel dropped because the ring was full.
func (i *Interface) Loss() (packets, drops uint64) {
	_, v3, err := i.tp.SocketStats()
	if err != nil {
		return 0, 0
	}
	return uint64(v3.Packets()), uint64(v3.Drops())
}

// Close releases the socket and ring.
func (i *Interface) Close() error {
	i.tp.Close()
	return nil
}

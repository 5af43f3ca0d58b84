//go:build linux

package capture

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

// Interface is a live capture on a network interface: an AF_PACKET socket
// with a TPACKET_V3 ring (memory shared with the kernel, no copy per
// frame).
type Interface struct {
	tp   *afpacket.TPacket
	more []*Interface // the other sockets of a fanout group
}

// InterfaceConfig sizes the ring.
type InterfaceConfig struct {
	Name      string
	RingBytes int           // total ring size (default 64 MiB), shared by the fanout sockets
	Poll      time.Duration // read timeout: how often an idle capture flushes (default 200 ms)
	// Fanout > 1 opens that many sockets in one PACKET_FANOUT group
	// (hash of the flow, IP fragments reassembled by the kernel first):
	// each is decoded on its own goroutine (Interface.Sources, RunFanout).
	Fanout int
	// BPF, if set, is attached to every socket (filter.KernelProgram):
	// the kernel drops what it refuses before the ring.
	BPF []bpf.RawInstruction
}

// OpenInterface opens a live capture (needs CAP_NET_RAW) in promiscuous
// mode (a SPAN port delivers frames for other MAC addresses).
func OpenInterface(cfg InterfaceConfig) (*Interface, error) {
	if cfg.RingBytes <= 0 {
		cfg.RingBytes = 64 << 20
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 200 * time.Millisecond
	}
	n := max(cfg.Fanout, 1)
	if n > 1 && cfg.Poll > 20*time.Millisecond {
		cfg.Poll = 20 * time.Millisecond // a reader's partial batch waits at most this
	}
	group := uint16(os.Getpid())
	var first *Interface
	for i := 0; i < n; i++ {
		tp, err := openRing(cfg, cfg.RingBytes/n)
		if err == nil && n > 1 {
			if err = tp.SetFanout(afpacket.FanoutHashWithDefrag, group); err != nil {
				tp.Close()
				err = fmt.Errorf("fanout: %w", err)
			}
		}
		if err != nil {
			if first != nil {
				_ = first.Close()
			}
			return nil, fmt.Errorf("open interface %q: %w", cfg.Name, err)
		}
		if err == nil && len(cfg.BPF) > 0 {
			if err = tp.SetBPF(cfg.BPF); err != nil {
				tp.Close()
				err = fmt.Errorf("kernel filter: %w", err)
			}
		}
		if err != nil {
			if first != nil {
				_ = first.Close()
			}
			return nil, fmt.Errorf("open interface %q: %w", cfg.Name, err)
		}
		if err := tp.SetPromiscuous(true); err != nil {
			tp.Close()
			if first != nil {
				_ = first.Close()
			}
			return nil, fmt.Errorf("interface %q: promiscuous mode: %w", cfg.Name, err)
		}
		in := &Interface{tp: tp}
		if first == nil {
			first = in
		} else {
			first.more = append(first.more, in)
		}
	}
	return first, nil
}

func openRing(cfg InterfaceConfig, ringBytes int) (*afpacket.TPacket, error) {
	const frame = 1 << 16 // jumbo frames, SIP in one frame
	const block = frame * 16
	blocks := max(ringBytes/block, 4)
	return afpacket.NewTPacket(
		afpacket.OptInterface(cfg.Name),
		afpacket.OptFrameSize(frame),
		afpacket.OptBlockSize(block),
		afpacket.OptNumBlocks(blocks),
		afpacket.OptPollTimeout(cfg.Poll),
		afpacket.OptBlockTimeout(10*time.Millisecond),
		afpacket.OptAddVLANHeader(true), // VLAN tags the NIC stripped are put back
		afpacket.TPacketVersion3,
	)
}

// Sources returns the sockets of the capture: one, or the fanout group.
func (i *Interface) Sources() []Source {
	out := []Source{i}
	for _, m := range i.more {
		out = append(out, m)
	}
	return out
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
	for _, s := range append([]*Interface{i}, i.more...) {
		_, v3, err := s.tp.SocketStats()
		if err != nil {
			continue
		}
		packets += uint64(v3.Packets())
		drops += uint64(v3.Drops())
	}
	return packets, drops
}

// Close releases the sockets and rings.
func (i *Interface) Close() error {
	for _, m := range i.more {
		m.tp.Close()
	}
	i.tp.Close()
	return nil
}

package load

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/openrec/openrec/internal/media/g711"
	"github.com/openrec/openrec/internal/sip/dial"
)

// ModeRaw streams RTP without SIP to the reference reader (`openrec
// rawrecv`): call i sends its two legs to ports RawLow+4i and RawLow+4i+2.
const ModeRaw = "raw"

// RTP framing of the raw sender: what dial sends for a PCMU leg.
const (
	rawInterval = 20 * time.Millisecond
	rawSamples  = 160
	rawHeader   = 12
	pcmuPT      = 0
)

// RawPorts returns the RTP ports of call i (0-based) in raw mode.
func RawPorts(low, i int) [2]int { return [2]int{low + 4*i, low + 4*i + 2} }

// rawLeg is what one raw leg did.
type rawLeg struct {
	sent    int
	sendErr error // first send error (the packet is not counted as sent)
}

// rawCall streams one call's two legs from two sockets of its own
// (distinct SSRCs, 20 ms PCMU tones, one pacing goroutine per leg as dial
// does for an MSR call) for d, or until ctx is done. It fails only when a
// socket cannot be opened.
func rawCall(ctx context.Context, local, target netip.Addr, low, i int, d time.Duration) ([2]rawLeg, error) {
	var legs [2]rawLeg
	var conns [2]*net.UDPConn
	defer func() {
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
	}()
	for j := range conns {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, 0)))
		if err != nil {
			return legs, fmt.Errorf("load: raw call %d: %w", i, err)
		}
		conns[j] = c
	}
	ports := RawPorts(low, i)
	ssrc0 := rand.Uint32() | 1
	ssrcs := [2]uint32{ssrc0, ssrc0 + 1} // distinct, as dial guarantees
	tones := [2]float64{dial.DefaultToneA, dial.DefaultToneB}
	ticks := int(d / rawInterval)
	var wg sync.WaitGroup
	for j := range conns {
		wg.Go(func() {
			dst := netip.AddrPortFrom(target, uint16(ports[j]))
			legs[j] = paceRaw(ctx, conns[j], dst, ssrcs[j], dial.Tone(tones[j], dial.DefaultAmp), ticks)
		})
	}
	wg.Wait()
	return legs, nil
}

// paceRaw sends ticks packets against absolute deadlines start + k·20 ms (a
// late wake-up catches up at once, like dial's pacer).
func paceRaw(ctx context.Context, c *net.UDPConn, dst netip.AddrPort, ssrc uint32, src dial.Source, ticks int) rawLeg {
	var leg rawLeg
	var buf [rawHeader + rawSamples]byte
	var pcm [rawSamples]int16
	seq := uint16(rand.Uint32())
	ts0 := rand.Uint32()
	buf[0] = 0x80 // V=2, no padding, no extension, no CSRC
	binary.BigEndian.PutUint32(buf[8:], ssrc)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	start := time.Now()
	for k := 0; k < ticks; {
		now := time.Now()
		for ; k < ticks && !start.Add(time.Duration(k)*rawInterval).After(now); k++ {
			buf[1] = pcmuPT
			if k == 0 {
				buf[1] |= 0x80 // marker: start of talkspurt
			}
			binary.BigEndian.PutUint16(buf[2:], seq+uint16(k))
			binary.BigEndian.PutUint32(buf[4:], ts0+uint32(k*rawSamples))
			src.Read(pcm[:])
			g711.EncodeULawTo(buf[rawHeader:], pcm[:])
			if _, err := c.WriteToUDPAddrPort(buf[:], dst); err != nil {
				if leg.sendErr == nil {
					leg.sendErr = err
				}
				continue
			}
			leg.sent++
		}
		if k == ticks {
			break
		}
		timer.Reset(time.Until(start.Add(time.Duration(k) * rawInterval)))
		select {
		case <-timer.C:
		case <-ctx.Done():
			return leg
		}
	}
	return leg
}

package load

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// HostileConfig configures Hostile: a bounded mix of malformed SIP
// requests, floods and half-open TCP connections sent at a recorder while
// good calls run (`openrec hostile`, the soak benchmark of BENCHMARKS.md).
type HostileConfig struct {
	Target   string        // recorder SIP HOST:PORT (UDP and TCP)
	Duration time.Duration // how long to send (bounded: at most MaxHostileDuration)
	// Rate is malformed or unwanted UDP requests per second (default 50,
	// at most 5,000).
	Rate float64
	// TCPConns is how many half-open and idle TCP connections are kept open
	// at once (reopened when the recorder closes them; default 200, at
	// most 5,000).
	TCPConns int
	// NoACKRate is INVITEs per second that are never ACKed, part of Rate
	// (default 1): each holds a port pair until the recorder's Timer H.
	NoACKRate   float64
	Seed        uint64
	AllowRemote bool
	Logger      *slog.Logger
}

// Bounds of a hostile run.
const (
	MaxHostileDuration = time.Hour
	maxHostileRate     = 5000
	maxHostileConns    = 5000
)

// HostileReport counts what a hostile run sent and what came back.
type HostileReport struct {
	DurationS         float64           `json:"duration_s"`
	Sent              map[string]uint64 `json:"sent"`      // UDP requests by kind
	Responses         map[string]uint64 `json:"responses"` // status codes received over UDP
	TCPOpened         uint64            `json:"tcp_opened"`
	TCPClosedByServer uint64            `json:"tcp_closed_by_server"`
	TCPRefused        uint64            `json:"tcp_refused"` // connect failed or reset at once
	TCPOversized      uint64            `json:"tcp_oversized"`
}

func (c *HostileConfig) validate() error {
	host, _, err := net.SplitHostPort(c.Target)
	if err != nil {
		return fmt.Errorf("%w: target %q: want HOST:PORT", ErrInvalidConfig, c.Target)
	}
	if !c.AllowRemote && !isLoopback(host) {
		return fmt.Errorf("%w: target %s is not a loopback address (--allow-remote)", ErrInvalidConfig, host)
	}
	if c.Duration <= 0 || c.Duration > MaxHostileDuration {
		return fmt.Errorf("%w: duration %s: want (0, %s]", ErrInvalidConfig, c.Duration, MaxHostileDuration)
	}
	if c.Rate == 0 {
		c.Rate = 50
	}
	if c.TCPConns == 0 {
		c.TCPConns = 200
	}
	if c.NoACKRate == 0 {
		c.NoACKRate = 1
	}
	if c.Rate < 0 || c.Rate > maxHostileRate || c.TCPConns < 0 || c.TCPConns > maxHostileConns || c.NoACKRate < 0 || c.NoACKRate > c.Rate {
		return fmt.Errorf("%w: rate %.0f (0..%d), tcp conns %d (0..%d), no-ack rate %.1f (<= rate)", ErrInvalidConfig, c.Rate, maxHostileRate, c.TCPConns, maxHostileConns, c.NoACKRate)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// hostileKinds are the malformed or unwanted requests of the UDP mix, each
// built for a fresh Call-ID and branch.
var hostileKinds = []string{
	"missing-to", "missing-from", "missing-call-id", "missing-cseq", "missing-via", "missing-max-forwards",
	"bad-content-length", "garbage", "bad-version", "unknown-method", "many-mlines", "bye-no-dialog",
	"options-flood", "invite-bad-sdp", "huge-header",
}

// Hostile sends the mix until ctx ends or cfg.Duration passed.
func Hostile(ctx context.Context, cfg HostileConfig) (*HostileReport, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	udp, err := net.ListenPacket("udp", ":0")
	if err != nil {
		return nil, fmt.Errorf("hostile: %w", err)
	}
	defer udp.Close()
	raddr, err := net.ResolveUDPAddr("udp", cfg.Target)
	if err != nil {
		return nil, fmt.Errorf("hostile: %w", err)
	}
	h := &hostile{cfg: cfg, udp: udp, raddr: raddr, sent: map[string]*atomic.Uint64{}, resp: map[string]*atomic.Uint64{}}
	for _, k := range append(hostileKinds, "invite-no-ack") {
		h.sent[k] = new(atomic.Uint64)
	}
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); h.receive(ctx) }()
	go func() { defer wg.Done(); h.sendUDP(ctx) }()
	go func() { defer wg.Done(); h.holdTCP(ctx) }()
	<-ctx.Done()
	_ = udp.SetReadDeadline(time.Now())
	wg.Wait()
	rep := &HostileReport{DurationS: time.Since(start).Seconds(), Sent: map[string]uint64{}, Responses: map[string]uint64{},
		TCPOpened: h.tcpOpened.Load(), TCPClosedByServer: h.tcpClosed.Load(), TCPRefused: h.tcpRefused.Load(), TCPOversized: h.tcpBig.Load()}
	for k, v := range h.sent {
		if n := v.Load(); n > 0 {
			rep.Sent[k] = n
		}
	}
	h.mu.Lock()
	for k, v := range h.resp {
		rep.Responses[k] = v.Load()
	}
	h.mu.Unlock()
	return rep, nil
}

type hostile struct {
	cfg   HostileConfig
	udp   net.PacketConn
	raddr *net.UDPAddr
	sent  map[string]*atomic.Uint64

	mu   sync.Mutex
	resp map[string]*atomic.Uint64

	tcpOpened, tcpClosed, tcpRefused, tcpBig atomic.Uint64
}

func (h *hostile) receive(ctx context.Context) {
	buf := make([]byte, 65535)
	for ctx.Err() == nil {
		n, _, err := h.udp.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "SIP/2.0" {
			continue
		}
		h.mu.Lock()
		c := h.resp[f[1]]
		if c == nil {
			c = new(atomic.Uint64)
			h.resp[f[1]] = c
		}
		h.mu.Unlock()
		c.Add(1)
	}
}

func (h *hostile) sendUDP(ctx context.Context) {
	rng := rand.New(rand.NewPCG(h.cfg.Seed, 0x6f70656e726563))
	every := time.Duration(float64(time.Second) / h.cfg.Rate)
	t := time.NewTicker(every)
	defer t.Stop()
	noACKEvery := h.cfg.Rate / h.cfg.NoACKRate // one in this many sends
	i := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		i++
		kind := hostileKinds[rng.IntN(len(hostileKinds))]
		if h.cfg.NoACKRate > 0 && float64(i) >= noACKEvery {
			i, kind = 0, "invite-no-ack"
		}
		msg := h.build(kind, rng)
		if _, err := h.udp.WriteTo(msg, h.raddr); err == nil {
			h.sent[kind].Add(1)
		}
	}
}

// build returns one request of kind.
func (h *hostile) build(kind string, rng *rand.Rand) []byte {
	local := h.udp.LocalAddr().(*net.UDPAddr)
	id := strconv.FormatUint(rng.Uint64(), 36)
	sdp := "v=0\r\no=h 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=sendonly\r\n"
	method := "INVITE"
	switch kind {
	case "garbage":
		b := make([]byte, 1+rng.IntN(1400))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	case "bye-no-dialog":
		method, sdp = "BYE", ""
	case "options-flood":
		method, sdp = "OPTIONS", ""
	case "unknown-method":
		method, sdp = "FOOBAR", ""
	case "many-mlines":
		var b strings.Builder
		b.WriteString("v=0\r\no=h 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n")
		for i := 0; i < 100; i++ {
			fmt.Fprintf(&b, "m=audio %d RTP/AVP 0\r\na=sendonly\r\na=label:%d\r\n", 40000+2*i, i)
		}
		sdp = b.String()
	case "invite-bad-sdp":
		sdp = "v=0\r\nm=audio banana RTP/AVP\r\n"
	}
	hdr := []struct{ name, val string }{
		{"Via", fmt.Sprintf("SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport", local.Port, id)},
		{"Max-Forwards", "70"},
		{"From", "<sip:hostile@127.0.0.1>;tag=" + id},
		{"To", "<sip:record=" + id + "@" + h.cfg.Target + ">"},
		{"Call-ID", "hostile-" + id},
		{"CSeq", "1 " + method},
		{"Contact", fmt.Sprintf("<sip:hostile@127.0.0.1:%d>", local.Port)},
	}
	var b strings.Builder
	version := "SIP/2.0"
	if kind == "bad-version" {
		version = "SIP/7.0"
	}
	fmt.Fprintf(&b, "%s sip:record=%s@%s %s\r\n", method, id, h.cfg.Target, version)
	skip := strings.TrimPrefix(kind, "missing-")
	for _, hd := range hdr {
		if kind != skip && strings.EqualFold(strings.ReplaceAll(hd.name, "-", ""), strings.ReplaceAll(skip, "-", "")) {
			continue
		}
		b.WriteString(hd.name + ": " + hd.val + "\r\n")
	}
	if kind == "huge-header" {
		b.WriteString("X-Hostile: " + strings.Repeat("A", 60000) + "\r\n")
	}
	cl := strconv.Itoa(len(sdp))
	if kind == "bad-content-length" {
		cl = "banana"
	}
	if sdp != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	b.WriteString("Content-Length: " + cl + "\r\n\r\n" + sdp)
	return []byte(b.String())
}

// holdTCP keeps cfg.TCPConns connections open: half of them send half a
// request and stop (half-open), the rest say nothing (idle); one in fifty
// sends a message far over any sane size. Connections the recorder closes
// are counted and reopened, at most one new connection every 2 ms.
func (h *hostile) holdTCP(ctx context.Context) {
	if h.cfg.TCPConns == 0 {
		return
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, h.cfg.TCPConns)
	pace := time.NewTicker(2 * time.Millisecond)
	defer pace.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case slots <- struct{}{}:
		}
		select {
		case <-ctx.Done():
			return
		case <-pace.C:
		}
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			defer func() { <-slots }()
			h.oneTCP(ctx, n)
		}(n)
	}
}

func (h *hostile) oneTCP(ctx context.Context, n int) {
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "tcp", h.cfg.Target)
	if err != nil {
		if ctx.Err() == nil {
			h.tcpRefused.Add(1)
			time.Sleep(100 * time.Millisecond) // the recorder is full: do not spin
		}
		return
	}
	defer c.Close()
	h.tcpOpened.Add(1)
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	switch {
	case n%50 == 0:
		h.tcpBig.Add(1)
		_, _ = c.Write([]byte("INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKbig\r\nX-Big: "))
		chunk := []byte(strings.Repeat("B", 16<<10))
		for i := 0; i < 64 && ctx.Err() == nil; i++ { // 1 MiB header
			if _, err := c.Write(chunk); err != nil {
				break
			}
		}
	case n%2 == 0:
		_, _ = c.Write([]byte("INVITE sip:record=half@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKhalf" + strconv.Itoa(n) + "\r\nMax-Forwards: 70\r\n"))
	}
	// Wait for the recorder to close the connection (idle timeout, a
	// limit, a 400/513) or for the run to end.
	r := bufio.NewReader(c)
	for {
		if _, err := r.ReadByte(); err != nil {
			if ctx.Err() == nil {
				h.tcpClosed.Add(1)
			}
			return
		}
	}
}

// Package follow turns observed SIP and RTP into calls: it follows SIP
// dialogs (over UDP datagrams and reassembled TCP streams) from INVITE to
// BYE, including early media, forking (the fork that answers wins),
// re-INVITE/UPDATE offers that move media or put it on hold, 3xx/4xx-6xx
// and CANCEL; it learns each party's media address from the SDP it sends
// and routes every RTP packet to the call and channel it belongs to
// (channel 0 caller, channel 1 callee): by destination (the SDP of the
// receiver), by source (symmetric RTP), and by a source latched from the
// first packets (a party behind NAT whose SDP address is private). SRTP
// keyed with SDES is decrypted with each sender's key from its SDP
// (srtp.go).
//
// A Follower does no I/O and is used by one goroutine; recordings are
// opened and fed through a Sink the caller provides. It must never panic
// on any input (FuzzFollower).
package follow

import (
	"log/slog"
	"net/netip"
	"strconv"
	"time"

	"github.com/pion/rtp"

	"github.com/openrec/openrec/internal/capture/decode"
	"github.com/openrec/openrec/internal/media"
)

// CallInfo describes a call when its recording opens.
type CallInfo struct {
	SIPCallID string
	CallUUID  string // X-Genesys-CallUUID, when the switch copies it into SIP
	CallerDN  string // user part of From
	CalleeDN  string // user part of To
	Caller    netip.AddrPort
	Start     time.Time
}

// Recording receives one call's media.
type Recording interface {
	Track(ch int) media.PacketHandler
	SetCodecs(ch int, codecs []media.Codec, te, cn *media.Codec)
	SetHeld(ch int, held bool, at time.Time)
	// Close ends the recording; at is when the call ended (its BYE, its
	// last packet), which may be before the capture's current time.
	Close(reason string, at time.Time)
}

// Sink opens recordings.
type Sink interface {
	Open(c CallInfo) (Recording, error)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(c CallInfo) (Recording, error)

// Open implements Sink.
func (f SinkFunc) Open(c CallInfo) (Recording, error) { return f(c) }

// Config configures a Follower.
type Config struct {
	// MediaTimeout ends a call that sent neither SIP nor RTP for this long
	// (default 60 s).
	MediaTimeout time.Duration
	// Linger keeps a call's media routed after BYE or a final failure so
	// the last packets in flight are kept (default 500 ms).
	Linger time.Duration
	// SetupTimeout forgets an INVITE never answered (default 3 min).
	SetupTimeout time.Duration
	// MaxCalls bounds the dialogs followed at once (default 100000).
	MaxCalls int
	Logger   *slog.Logger
}

// Stats are the follower's counters.
type Stats struct {
	SIPMessages   uint64 // SIP messages parsed
	SIPMalformed  uint64 // SIP-looking payloads that could not be parsed
	TCPResyncs    uint64 // TCP streams resynchronised after a gap or garbage
	TCPOverflows  uint64 // TCP stream buffers dropped at the bound of all of them
	Calls         uint64 // dialogs started by an INVITE
	Recordings    uint64 // recordings opened
	OpenFailures  uint64 // Sink.Open errors
	RTPMatched    uint64 // RTP packets handed to a recording
	RTPUnmatched  uint64 // RTP-looking packets of no known media address
	RTPBeforeOpen uint64 // RTP of a call whose recording is not open yet
	RTCP          uint64 // RTCP packets (not used)
	Other         uint64 // UDP payloads neither SIP nor RTP
	SRTPFailures  uint64 // SRTP packets that failed authentication or decryption
	Dropped       uint64 // INVITEs refused at MaxCalls
}

// maxTCPHeld bounds the bytes the TCP stream buffers hold together.
const maxTCPHeld = 64 << 20

// Follower follows SIP dialogs and routes RTP to recordings.
type Follower struct {
	cfg   Config
	sink  Sink
	log   *slog.Logger
	stats Stats

	calls   map[string]*call
	byAddr  map[netip.AddrPort]endpoint
	streams map[[2]netip.AddrPort]*tcpBuf
	pkt     media.Packet
	hdr     rtp.Header
	tcpHeld int       // capacity of the TCP stream buffers (bounded by maxTCPHeld)
	next    time.Time // earliest end deadline of a call (zero: none)
	srtpBuf []byte
}

// endpoint: party receives media at an address of call c.
type endpoint struct {
	c     *call
	party int
}

type tcpBuf struct {
	b      []byte
	synced bool
}

// New returns a Follower opening recordings through sink.
func New(cfg Config, sink Sink) *Follower {
	if cfg.MediaTimeout <= 0 {
		cfg.MediaTimeout = 60 * time.Second
	}
	if cfg.Linger <= 0 {
		cfg.Linger = 500 * time.Millisecond
	}
	if cfg.SetupTimeout <= 0 {
		cfg.SetupTimeout = 3 * time.Minute
	}
	if cfg.MaxCalls <= 0 {
		cfg.MaxCalls = 100000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Follower{cfg: cfg, sink: sink, log: cfg.Logger,
		calls: map[string]*call{}, byAddr: map[netip.AddrPort]endpoint{}, streams: map[[2]netip.AddrPort]*tcpBuf{}}
}

// Stats returns the counters.
func (f *Follower) Stats() Stats { return f.stats }

// Active is the number of dialogs followed.
func (f *Follower) Active() int { return len(f.calls) }

// Handle consumes one decoded datagram.
func (f *Follower) Handle(d *decode.Datagram) {
	if d.Proto == decode.TCP {
		f.tcp(d)
		return
	}
	b := d.Payload
	if len(b) == 0 {
		f.stats.Other++
		return
	}
	if b[0]&0xC0 == 0x80 { // RTP/RTCP version 2 (RFC 3550 §5.1)
		f.rtp(d)
		return
	}
	if !looksSIP(b) {
		f.stats.Other++
		return
	}
	m, _, err := parseMessage(b, false)
	if err != nil {
		f.stats.SIPMalformed++
		return
	}
	f.sip(&m, d)
}

// tcp frames SIP messages out of a reassembled stream.
func (f *Follower) tcp(d *decode.Datagram) {
	key := [2]netip.AddrPort{d.Src, d.Dst}
	s := f.streams[key]
	if d.End {
		if s != nil {
			f.tcpHeld -= cap(s.b)
		}
		delete(f.streams, key)
		return
	}
	if s == nil {
		if len(f.streams) >= 4*f.cfg.MaxCalls {
			return
		}
		s = &tcpBuf{}
		f.streams[key] = s
	}
	held := cap(s.b)
	defer func() { f.tcpHeld += cap(s.b) - held }()
	if d.Gap {
		s.b, s.synced = s.b[:0], false
	}
	if need := len(s.b) + len(d.Payload); need > cap(s.b) && f.tcpHeld-held+need > maxTCPHeld {
		// All streams together may not buffer more than maxTCPHeld (many
		// connections each stalled inside a large message): others, taken
		// at random, drop what they hold and resynchronise.
		f.evictTCP(s, f.tcpHeld-held+need-maxTCPHeld)
	}
	s.b = append(s.b, d.Payload...)
	for len(s.b) > 0 {
		if !s.synced {
			i := messageStart(s.b)
			if i < 0 {
				// keep a possible partial start line
				if len(s.b) > 64 {
					s.b = append(s.b[:0], s.b[len(s.b)-64:]...)
				}
				return
			}
			s.b = s.b[i:]
			s.synced = true
		}
		m, n, err := parseMessage(s.b, true)
		switch err {
		case nil:
			f.sip(&m, d)
			s.b = s.b[:copy(s.b, s.b[n:])]
		case errIncomplete:
			if len(s.b) > maxMessage+4096 {
				f.stats.TCPResyncs++
				s.b, s.synced = s.b[:0], false
			}
			return
		default:
			f.stats.SIPMalformed++
			f.stats.TCPResyncs++
			s.b, s.synced = s.b[1:], false // skip to the next message start
		}
	}
	if len(s.b) == 0 && cap(s.b) > 2*maxMessage {
		s.b = nil
	}
}

// evictTCP frees at least want bytes of stream buffers other than keep's.
func (f *Follower) evictTCP(keep *tcpBuf, want int) {
	for _, o := range f.streams {
		if want <= 0 {
			return
		}
		if o == keep || cap(o.b) == 0 {
			continue
		}
		want -= cap(o.b)
		f.tcpHeld -= cap(o.b)
		o.b, o.synced = nil, false
		f.stats.TCPResyncs++
		f.stats.TCPOverflows++
	}
}

// rtp routes one RTP packet to its call and channel.
func (f *Follower) rtp(d *decode.Datagram) {
	b := d.Payload
	if len(b) < 12 {
		f.stats.Other++
		return
	}
	if b[1] >= 192 && b[1] <= 223 { // RTCP packet types 192-223 (RFC 5761 §4)
		f.stats.RTCP++
		return
	}
	ch := -1
	var c *call
	if e, ok := f.byAddr[d.Dst]; ok {
		c, ch = e.c, 1-e.party
		if _, known := f.byAddr[d.Src]; !known && d.Src.IsValid() && len(c.addrs) < maxAddrs {
			// latch: the sender receives where it sends from (symmetric
			// RTP; the address a NAT gave it)
			f.register(c, ch, d.Src)
		}
	} else if e, ok := f.byAddr[d.Src]; ok {
		c, ch = e.c, e.party
	}
	if c == nil {
		f.stats.RTPUnmatched++
		return
	}
	c.last = d.Time
	if c.rec == nil {
		f.stats.RTPBeforeOpen++
		return
	}
	if s := c.srtp[ch]; s != nil {
		if s.ctx == nil {
			f.stats.SRTPFailures++
			return
		}
		out, err := s.ctx.DecryptRTP(f.srtpBuf[:0], b, &f.hdr)
		if err != nil {
			f.stats.SRTPFailures++
			return
		}
		f.srtpBuf, b = out[:cap(out)], out
	}
	n, err := f.hdr.Unmarshal(b)
	if err != nil || n > len(b) {
		f.stats.Other++
		return
	}
	payload := b[n:]
	if f.hdr.Padding && len(payload) > 0 {
		pad := int(payload[len(payload)-1])
		if pad > len(payload) {
			f.stats.Other++
			return
		}
		payload = payload[:len(payload)-pad]
	}
	f.pkt = media.Packet{SSRC: f.hdr.SSRC, Seq: f.hdr.SequenceNumber, Timestamp: f.hdr.Timestamp,
		PayloadType: f.hdr.PayloadType, Marker: f.hdr.Marker, Payload: payload, Arrival: d.Time, Source: d.Src}
	f.stats.RTPMatched++
	c.packets[ch]++
	c.rec.Track(ch).HandleRTP(&f.pkt)
}

// Next is the earliest time a call ends after its BYE or failure (zero:
// none): a caller replaying a file calls Tick then, so the call ends at
// its own time, not at the next periodic tick.
func (f *Follower) Next() time.Time { return f.next }

// Tick ends calls whose linger passed or whose media timed out, and
// forgets INVITEs never answered, at capture time now.
func (f *Follower) Tick(now time.Time) {
	f.next = time.Time{}
	defer func() {
		for _, c := range f.calls {
			if !c.endAt.IsZero() && (f.next.IsZero() || c.endAt.Before(f.next)) {
				f.next = c.endAt
			}
		}
	}()
	for _, c := range f.calls {
		switch {
		case !c.endAt.IsZero() && !now.Before(c.endAt):
			f.finish(c, c.endReason)
		case c.rec != nil && now.Sub(c.last) >= f.mediaTimeout(c):
			f.finish(c, "media timeout: no RTP or SIP for "+f.mediaTimeout(c).String())
		case c.rec == nil && now.Sub(c.last) >= f.cfg.SetupTimeout:
			f.finish(c, "setup timeout")
		}
	}
}

// heldTimeout ends a call held both ways (no RTP expected) that sent no
// SIP for this long: session timers refresh a live one far more often.
const heldTimeout = 2 * time.Hour

// mediaTimeout is how long c may stay silent: MediaTimeout, or
// heldTimeout while neither party sends (hold, inactive).
func (f *Follower) mediaTimeout(c *call) time.Duration {
	if c.held[0] && c.held[1] {
		return max(heldTimeout, f.cfg.MediaTimeout)
	}
	return f.cfg.MediaTimeout
}

// Close ends every call (end of the capture).
func (f *Follower) Close(reason string) {
	for _, c := range f.calls {
		r := reason
		if !c.endAt.IsZero() {
			r = c.endReason
		}
		f.finish(c, r)
	}
	f.next = time.Time{}
}

func (f *Follower) finish(c *call, reason string) {
	delete(f.calls, c.id)
	for _, a := range c.addrs {
		if e, ok := f.byAddr[a]; ok && e.c == c {
			delete(f.byAddr, a)
		}
	}
	if c.rec != nil {
		at := c.last
		if !c.endAt.IsZero() {
			at = c.endAt.Add(-f.cfg.Linger)
		}
		c.rec.Close(reason, at)
		c.rec = nil
		f.log.Debug("capture: call ended", "sip_call_id", c.id, "reason", reason, "packets_caller", c.packets[0], "packets_callee", c.packets[1])
	}
}

func (f *Follower) register(c *call, party int, a netip.AddrPort) {
	f.byAddr[a] = endpoint{c: c, party: party}
	c.addrs = append(c.addrs, a)
}

func statusText(code int) string { return strconv.Itoa(code) }

package dial

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Modes and transports accepted in Spec.
const (
	ModeMSR    = "msr"
	ModeSIPREC = "siprec"

	TransportUDP = "udp"
	TransportTCP = "tcp"
	TransportTLS = "tls" // needs Options.TLS
)

// Defaults applied to an empty Spec field.
const (
	DefaultDN       = "5001"
	DefaultOtherDN  = "+15550100"
	DefaultCodec    = "PCMU"
	DefaultDuration = 5 * time.Second
	DefaultToneA    = 440.0  // Hz, recorded DN's party
	DefaultToneB    = 1000.0 // Hz, other party
	DefaultAmp      = 0.3
)

// Spec describes one recording session (one call) to place.
type Spec struct {
	Target    string // host:port of the recorder (port defaults to 5060)
	Transport string // "udp" (default), "tcp" or "tls" (a Dialer with Options.TLS)
	Mode      string // "msr" (default) or "siprec"

	// SingleSession is the MSR variant with ONE INVITE carrying two audio
	// m-lines (first = recorded DN) and Request-URI
	// ...;dn=<DN>;otherDN=<OtherDN>;recordDN=<DN>.
	SingleSession bool

	RecordID string // MSR record=<id>; generated when empty
	CallUUID string // 32 chars of [0-9A-V]; generated when empty
	// NoGenesysIDs (SIPREC only): the metadata carries no Genesys
	// CallUUID, like SIPREC from an SBC (CallUUID is then ignored).
	NoGenesysIDs bool
	DN           string // recorded DN (default "5001")
	OtherDN      string // other party (default "+15550100")

	Codec  string   // "PCMU" (default), "PCMA" or "G722"
	Codecs []string // optional per-stream override of Codec ([recorded, other])

	// Sources: one per party, [recorded DN's party, other party]. Default
	// tones of 440 Hz and 1000 Hz. Each Source is read by one goroutine.
	Sources []Source

	Duration time.Duration // audio duration per stream (default 5 s)
	LocalIP  netip.Addr    // RTP address (default: the Dialer's LocalIP)

	Loss    float64       // probability a packet is not sent (0..1)
	Reorder float64       // probability a packet is sent after its successor (0..1)
	Jitter  time.Duration // max extra send delay per packet (uniform)
	Seed    int64         // seeds loss/reorder/jitter (deterministic per stream)

	// RTCP sends sender reports (the first right after the first RTP
	// packet, then every 5 s) from port+1 to the answer's RTCP port.
	RTCP bool
	// DTMF digits (0-9 * # A-D) sent as RFC 4733 events on the recorded
	// stream, one per second starting at 1 s, each 100 ms long.
	DTMF string
	// StartSkew delays the second MSR leg's INVITE (and its RTP).
	StartSkew time.Duration
	// SingleLeg sends only the recorded DN's MSR leg: a media server whose
	// second INVITE never comes (the recorder must keep it as partial).
	SingleLeg bool
	// Mute, when set, is asked before every 20 ms packet of every stream;
	// while it returns true no RTP is sent (the media clock, sequence of
	// sources and RTP timestamps keep running, so a gap appears), and the
	// first packet after a muted stretch carries the marker bit. It is how
	// a media server pauses a recording (or never sends RTP). It is called
	// from the streaming goroutines and must be safe for concurrent use.
	Mute func() bool
	// MuteParty, when not nil, is Mute for the streams of one party
	// (0: the recorded DN's, 1: the other party's): a media server whose
	// session for one party is established but carries no RTP.
	MuteParty func(party int) bool
	// SSRCChangeAt, when positive, makes the recorded party's stream switch
	// to a new SSRC, sequence and timestamp base at that offset without any
	// signalling (a media server restarting a stream): recorders must cope.
	SSRCChangeAt time.Duration
	// Reinvites, when not nil, is read while the call runs: each Reinvite
	// is carried out in order as an in-dialog re-INVITE on the session(s)
	// carrying the addressed stream(s), while the other streams keep
	// flowing (see Reinvite). The channel may be closed at any time; Call
	// does not wait for it to be closed.
	Reinvites <-chan Reinvite

	// SRTP, when set, sends SRTP (SDES, RFC 4568) with this suite
	// (SRTPAES128CMSHA1_80, ...): each stream offers RTP/SAVP with a fresh
	// random key in a=crypto and encrypts its RTP and RTCP with it; an
	// answer without our tag and suite is ErrBadAnswer.
	SRTP string
	// SRTPWrongKey encrypts with another key than the one offered (a
	// misconfigured media server): the recorder must report a failed
	// recording, not store silence.
	SRTPWrongKey bool
}

// Result reports what a Call did. Slices indexed "per INVITE" have one
// entry per INVITE sent (MSR: 2, SIPREC and single-session MSR: 1); slices
// "per stream" have one entry per party ([recorded, other]).
type Result struct {
	RecordID string // as sent (generated when the Spec left it empty)
	CallUUID string

	CallIDs  []string        // SIP Call-ID per INVITE
	Statuses []int           // final status per INVITE (0: none received)
	Setup    []time.Duration // INVITE -> final response per INVITE
	Answers  [][]byte        // SDP answer per INVITE (nil when not answered)

	PacketsSent    []int  // RTP packets put on the wire, per stream
	PacketsDropped []int  // packets withheld by Spec.Loss, per stream
	RemoteBye      []bool // per INVITE: the recorder ended the session with BYE
	Reinvites      int    // re-INVITEs answered 2xx (Spec.Reinvites)
}

// plan is a validated Spec with defaults applied.
type plan struct {
	Spec
	host     string // target host
	port     int    // target port
	network  string // "UDP", "TCP" or "TLS" (sipgo spelling)
	codecs   [2]string
	ticks    int // packets per stream
	dtmf     []byte
	sessions int // INVITEs
}

func newPlan(s Spec, localIP netip.Addr) (*plan, error) {
	p := &plan{Spec: s}
	var err error
	if p.host, p.port, err = splitTarget(p.Target); err != nil {
		return nil, err
	}

	switch strings.ToLower(p.Transport) {
	case "", TransportUDP:
		p.Transport, p.network = TransportUDP, "UDP"
	case TransportTCP:
		p.Transport, p.network = TransportTCP, "TCP"
	case TransportTLS:
		p.Transport, p.network = TransportTLS, "TLS"
	default:
		return nil, fmt.Errorf("%w: transport %q", ErrInvalidSpec, p.Transport)
	}
	switch strings.ToLower(p.Mode) {
	case "", ModeMSR:
		p.Mode = ModeMSR
		p.sessions = 2
		if p.SingleSession {
			p.sessions = 1
		}
		if p.SingleLeg && p.SingleSession {
			return nil, fmt.Errorf("%w: single-leg and single-session exclude each other", ErrInvalidSpec)
		}
	case ModeSIPREC:
		p.Mode = ModeSIPREC
		p.sessions = 1
		if p.SingleSession || p.SingleLeg {
			return nil, fmt.Errorf("%w: single-session and single-leg are MSR variants", ErrInvalidSpec)
		}
	default:
		return nil, fmt.Errorf("%w: mode %q", ErrInvalidSpec, p.Mode)
	}
	if p.NoGenesysIDs && p.Mode != ModeSIPREC {
		return nil, fmt.Errorf("%w: no-genesys-ids is a SIPREC variant", ErrInvalidSpec)
	}

	if err := CheckSRTPSuite(p.SRTP); err != nil {
		return nil, err
	}
	if p.SRTP == "" && p.SRTPWrongKey {
		return nil, fmt.Errorf("%w: SRTPWrongKey without SRTP", ErrInvalidSpec)
	}
	if p.RecordID == "" {
		p.RecordID = newRecordID()
	}
	if strings.ContainsAny(p.RecordID, " \t;@<>\"?&") {
		return nil, fmt.Errorf("%w: record id %q", ErrInvalidSpec, p.RecordID)
	}
	if p.CallUUID == "" {
		p.CallUUID = NewCallUUID()
	}
	if p.DN == "" {
		p.DN = DefaultDN
	}
	if p.OtherDN == "" {
		p.OtherDN = DefaultOtherDN
	}
	for _, v := range []string{p.CallUUID, p.DN, p.OtherDN} {
		if strings.ContainsAny(v, " \t;@<>\"?&=") {
			return nil, fmt.Errorf("%w: %q not allowed in a URI parameter", ErrInvalidSpec, v)
		}
	}

	if p.Codec == "" {
		p.Codec = DefaultCodec
	}
	for i := range p.codecs {
		c := p.Codec
		if i < len(p.Codecs) && p.Codecs[i] != "" {
			c = p.Codecs[i]
		}
		c = strings.ToUpper(c)
		if _, ok := staticPT[c]; !ok {
			return nil, fmt.Errorf("%w: codec %q (PCMU, PCMA or G722)", ErrInvalidSpec, c)
		}
		p.codecs[i] = c
	}
	if len(p.Codecs) > 2 {
		return nil, fmt.Errorf("%w: %d codecs for 2 streams", ErrInvalidSpec, len(p.Codecs))
	}

	switch len(p.Sources) {
	case 0:
		p.Sources = []Source{Tone(DefaultToneA, DefaultAmp), Tone(DefaultToneB, DefaultAmp)}
	case 2:
		if p.Sources[0] == nil || p.Sources[1] == nil {
			return nil, fmt.Errorf("%w: nil source", ErrInvalidSpec)
		}
		if p.Sources[0] == p.Sources[1] {
			return nil, fmt.Errorf("%w: the two parties share one Source", ErrInvalidSpec)
		}
	default:
		return nil, fmt.Errorf("%w: %d sources, want 2", ErrInvalidSpec, len(p.Sources))
	}

	if p.Duration == 0 {
		p.Duration = DefaultDuration
	}
	if p.Duration < packetInterval {
		return nil, fmt.Errorf("%w: duration %v", ErrInvalidSpec, p.Duration)
	}
	p.ticks = int(p.Duration / packetInterval)

	if !p.LocalIP.IsValid() {
		p.LocalIP = localIP
	}
	for _, v := range []float64{p.Loss, p.Reorder} {
		if v < 0 || v > 1 {
			return nil, fmt.Errorf("%w: probability %v", ErrInvalidSpec, v)
		}
	}
	if p.Jitter < 0 || p.Jitter > 10*time.Second || p.StartSkew < 0 {
		return nil, fmt.Errorf("%w: jitter %v / start skew %v", ErrInvalidSpec, p.Jitter, p.StartSkew)
	}
	for _, c := range strings.ToUpper(p.DTMF) {
		ev, ok := dtmfEvent(c)
		if !ok {
			return nil, fmt.Errorf("%w: DTMF digit %q", ErrInvalidSpec, c)
		}
		p.dtmf = append(p.dtmf, ev)
	}
	return p, nil
}

// splitTarget splits host[:port] (port 5060 when absent).
func splitTarget(target string) (host string, port int, err error) {
	if target == "" {
		return "", 0, fmt.Errorf("%w: empty target", ErrInvalidSpec)
	}
	host, portStr, err := net.SplitHostPort(target)
	if err != nil {
		host, portStr = strings.Trim(target, "[]"), "5060"
	}
	port, err = strconv.Atoi(portStr)
	if err != nil || port <= 0 || port > 65535 || host == "" {
		return "", 0, fmt.Errorf("%w: target %q", ErrInvalidSpec, target)
	}
	return host, port, nil
}

// NewCallUUID returns a Genesys-style CallUUID: 32 characters of [0-9A-V]
// (160 random bits in base32hex).
func NewCallUUID() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return base32.HexEncoding.EncodeToString(b[:])
}

func newRecordID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// dtmfEvent maps a key to its RFC 4733 §3.2 event code.
func dtmfEvent(c rune) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return byte(c - '0'), true
	case c == '*':
		return 10, true
	case c == '#':
		return 11, true
	case c >= 'A' && c <= 'D':
		return byte(c-'A') + 12, true
	}
	return 0, false
}

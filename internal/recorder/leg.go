package recorder

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/codec"
	"github.com/openrec/openrec/internal/media/rtpin"
	"github.com/openrec/openrec/internal/sip/sdpoa"
	"github.com/openrec/openrec/internal/sip/siprec"
	"github.com/openrec/openrec/internal/sip/sipsrv"
	"github.com/openrec/openrec/internal/store"
)

type ioWriter = io.Writer

// decodable says which codecs the mixer turns into audio: G.711 itself,
// the others through internal/media/codec (G.722, Opus, G.726, GSM; G.729
// in a bcg729 build).
func decodable(name string) bool {
	return name == media.PCMU || name == media.PCMA || codec.DecodableName(name)
}

// channelsFor maps the recordable audio m-lines of a leg to channels.
// MSR two-session: the leg's DN decides (recorded DN → 0, other → 1), and a
// channel already held by a live leg pushes the newcomer to the other one.
// MSR single-session and SIPREC: m-line order.
func (c *call) channelsFor(inv *sipsrv.Invite, audio []int) []int {
	out := make([]int, len(audio))
	if inv.Kind == sipsrv.KindCiscoBiB {
		return bibChannels(inv, len(audio))
	}
	if c.rec.Mode == store.ModeSIPREC || c.expectLegs == 1 {
		for i := range audio {
			out[i] = i
		}
		return out
	}
	ch := 1
	if inv.MSR.DN == "" || inv.MSR.DN == c.rec.RecordedDN {
		ch = 0
	}
	for _, l := range c.legs {
		if l.ended {
			continue
		}
		for _, s := range l.streams {
			if s.channel == ch {
				ch = 1 - ch
			}
		}
	}
	for i := range audio {
		out[i] = ch
	}
	return out
}

func recordableAudio(s *sdpoa.Session) []int {
	var idx []int
	if s == nil {
		return idx
	}
	for i, m := range s.Media {
		if m.Type == "audio" && m.Recordable() {
			idx = append(idx, i)
		}
	}
	return idx
}

// addLeg opens receivers for the leg's audio and returns the SDP answer (or
// our offer for a delayed-offer INVITE). Called with c.mu held.
func (r *Recorder) addLeg(c *call, l *leg, inv *sipsrv.Invite, now time.Time) ([]byte, error) {
	if inv.SDP == nil {
		return r.delayedOffer(c, l, inv, now)
	}
	audio := recordableAudio(inv.SDP)
	chans := c.channelsFor(inv, audio)
	answers := make([]sdpoa.AnswerMedia, len(inv.SDP.Media))
	for i, m := range inv.SDP.Media {
		answers[i] = sdpoa.AnswerMedia{Port: 0, Direction: sdpoa.Inactive}
		if len(m.Codecs) > 0 {
			answers[i].Codec = m.Codecs[0]
		}
	}
	for k, mi := range audio {
		ch := chans[k]
		if ch >= c.rec.Channels {
			continue // more streams than channels: refuse the extra m-line with port 0
		}
		m := inv.SDP.Media[mi]
		s, err := r.openStream(c, l, m, ch, inv, now)
		if err != nil {
			r.closeStreams(c, l)
			return nil, err
		}
		answers[mi] = withSRTP(answerFor(m, s.rx.Port(), s.codec), s)
		r.noteCodec(c, s.codec, ch)
	}
	if len(l.streams) == 0 {
		return nil, &sipsrv.StatusError{Code: 488, Reason: "Not Acceptable Here: no recordable audio stream"}
	}
	if c.rec.Mode == store.ModeSIPREC && allInactive(inv.SDP) && !c.paused {
		c.paused = true // the SRC starts the session paused
		c.mix.SetPaused(true, now)
		c.event("pause", -1, now, "invite")
	}
	body, err := sdpoa.BuildAnswer(inv.SDP, sdpoa.AnswerParams{
		Addr: r.advertise(inv), SessionID: l.sdpID, Version: l.sdpVer, Username: "openrec", Media: answers,
	})
	if err != nil {
		r.closeStreams(c, l)
		return nil, internalError(err)
	}
	return body, nil
}

func answerFor(m sdpoa.Media, port int, chosen media.Codec) sdpoa.AnswerMedia {
	te, cn := m.EventsFor(chosen)
	return sdpoa.AnswerMedia{
		Port:           port,
		Codec:          chosen,
		TelephoneEvent: te,
		ComfortNoise:   cn,
		Direction:      sdpoa.AnswerDirection(m.Direction, m.Hold),
		RTCPMux:        m.RTCPMux,
	}
}

func (r *Recorder) advertise(inv *sipsrv.Invite) netip.Addr {
	if r.cfg.AdvertiseIP.IsValid() {
		return r.cfg.AdvertiseIP
	}
	if a := r.cfg.RTPIP; a.IsValid() && !a.IsUnspecified() {
		return a
	}
	if inv.LocalIP.IsValid() {
		return inv.LocalIP
	}
	return netip.MustParseAddr("127.0.0.1")
}

func (r *Recorder) openStream(c *call, l *leg, m sdpoa.Media, ch int, inv *sipsrv.Invite, now time.Time) (*stream, error) {
	chosen, ok := sdpoa.ChooseCodec(m, decodable)
	if !ok && chosen.Name != "" {
		c.log.Warn("codec not decodable yet: recording raw payload (needs_transcode)", "codec", chosen.Name, "channel", ch)
	}
	var remote netip.AddrPort
	if m.Addr.IsValid() {
		remote = netip.AddrPortFrom(m.Addr, uint16(m.Port))
	}
	offered, keys, err := srtpFor(m)
	if err != nil {
		return nil, err
	}
	tr := c.mix.Track(ch)
	listen := rtpin.Listen
	if r.cfg.Shared != nil {
		listen = r.cfg.Shared.Listen
	}
	rx, err := listen(rtpin.Config{
		SRTP:         keys,
		PayloadTypes: m.PayloadTypes(),
		IP:           r.cfg.RTPIP,
		Ports:        r.cfg.Ports,
		Handler:      tr,
		Remote:       remote,
		StrictSource: r.cfg.StrictRTPSource,
		Now:          r.rtpNow,
		Logger:       c.log,
		OnLock: func(_ netip.AddrPort, _ uint32, at time.Time) {
			// once per leg: failed-recording detection wants RTP on every leg
			if r.cor != nil && l.audio.CompareAndSwap(false, true) {
				r.cor.AudioStarted(c.rec.ID, at)
			}
		},
	})
	if err != nil {
		return nil, &sipsrv.StatusError{Code: 503, Reason: "Service Unavailable: no RTP port", RetryAfter: r.cfg.RetryAfter, Err: err}
	}
	te, cn := m.EventsFor(chosen)
	tr.SetCodecs(m.Codecs, te, cn)
	s := &stream{mIndex: m.Index, channel: ch, rx: rx, codec: chosen, opened: now, base: m.Direction}
	if err := s.setSRTP(offered); err != nil {
		_ = rx.Close()
		return nil, internalError(err)
	}
	noteSRTP(c, s, now)
	if m.Direction != sdpoa.SendRecv && m.Direction != sdpoa.SendOnly {
		s.base = sdpoa.SendOnly // offered on hold: a recording stream normally only sends
	}
	if isHold(m, s.base) && !(c.rec.Mode == store.ModeSIPREC && allInactive(l.offer)) {
		s.held = true
		tr.SetHeld(true, now)
	}
	l.streams = append(l.streams, s)
	rx.Start()
	return s, nil
}

func (r *Recorder) noteCodec(c *call, codec media.Codec, ch int) {
	if codec.Name == "" {
		return
	}
	for _, have := range c.rec.Codecs {
		if have == codec.Name {
			return
		}
	}
	c.rec.Codecs = append(c.rec.Codecs, codec.Name)
}

// delayedOffer answers an INVITE without SDP with our own offer; the
// peer's answer arrives in the ACK.
func (r *Recorder) delayedOffer(c *call, l *leg, inv *sipsrv.Invite, now time.Time) ([]byte, error) {
	n := 1
	if c.rec.Mode == store.ModeSIPREC || (c.expectLegs == 1 && c.rec.Mode == store.ModeCisco) {
		n = c.rec.Channels
	}
	audio := make([]int, n)
	for i := range audio {
		audio[i] = i
	}
	chans := c.channelsFor(inv, audio)
	ports := make([]int, n)
	for i := range audio {
		m := sdpoa.Media{Index: i, Type: "audio", Port: 9, Proto: "RTP/AVP", Direction: sdpoa.SendOnly,
			Codecs:         []media.Codec{{PT: 0, Name: media.PCMU, ClockRate: 8000, Channels: 1}, {PT: 8, Name: media.PCMA, ClockRate: 8000, Channels: 1}},
			TelephoneEvent: &media.Codec{PT: 101, Name: media.TelephoneEvent, ClockRate: 8000, Channels: 1}}
		s, err := r.openStream(c, l, m, chans[i], inv, now)
		if err != nil {
			r.closeStreams(c, l)
			return nil, err
		}
		ports[i] = s.rx.Port()
	}
	addr := r.advertise(inv)
	if !addr.IsValid() || addr.IsUnspecified() {
		r.closeStreams(c, l)
		return nil, internalError(fmt.Errorf("recorder: cannot offer media address %v", addr))
	}
	return recvOffer(addr, l.sdpID, l.sdpVer, ports), nil
}

// recvOffer is our SDP offer (RFC 3264 §5): one recvonly audio stream per
// port with PCMU, PCMA and telephone-event; the answer in the ACK picks.
func recvOffer(addr netip.Addr, id, ver uint64, ports []int) []byte {
	ipv := "IP4"
	if addr.Is6() {
		ipv = "IP6"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=openrec %d %d IN %s %s\r\ns=-\r\nc=IN %s %s\r\nt=0 0\r\n", id, ver, ipv, addr, ipv, addr)
	for _, p := range ports {
		fmt.Fprintf(&b, "m=audio %d RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"+
			"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=recvonly\r\n", p)
	}
	return []byte(b.String())
}

// Ack implements sipsrv.Handler.
func (r *Recorder) Ack(callID string, sdp *sdpoa.Session) error {
	if sdp == nil {
		return nil
	}
	r.mu.Lock()
	l := r.legs[callID]
	r.mu.Unlock()
	if l == nil {
		return fmt.Errorf("recorder: ack for unknown call-id %s", callID)
	}
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done || l.ended {
		return nil
	}
	r.applySDP(c, l, sdp, r.cfg.Now(), "ack")
	if l.offer == nil { // delayed offer: the ACK carries the peer's SDP
		l.offer = sdp
		c.noteOffer(l)
	}
	return nil
}

// applySDP applies a new offer/answer to the leg's streams (by m-line index).
func (r *Recorder) applySDP(c *call, l *leg, sdp *sdpoa.Session, now time.Time, why string) []sdpoa.AnswerMedia {
	answers := make([]sdpoa.AnswerMedia, len(sdp.Media))
	for i, m := range sdp.Media {
		answers[i] = sdpoa.AnswerMedia{Port: 0, Direction: sdpoa.Inactive}
		if len(m.Codecs) > 0 {
			answers[i].Codec = m.Codecs[0]
		}
	}
	everyInactive, open := true, 0
	var holds []holdChange
	for _, s := range l.streams {
		if s.mIndex >= len(sdp.Media) {
			continue
		}
		m := sdp.Media[s.mIndex]
		if m.Port == 0 && s.rx != nil {
			// The peer removed the stream (RFC 3264 §8.2): stop its receiver
			// so that its silence does not end the leg by media timeout.
			r.closeStream(c, s)
			c.event("stream-removed", s.channel, now, why)
		}
		if m.Port == 0 || s.rx == nil {
			continue
		}
		tr := c.mix.Track(s.channel)
		if m.Addr.IsValid() && mediaMoved(l.offer, s.mIndex, m) {
			// New media address or port (transfer, re-anchoring, hold on a
			// new port): the receiver keeps the locked source and lets the
			// lock move only to a source that follows the offer (rtpin
			// SetRemote). Unchanged SDP keeps the lock as it is.
			s.rx.SetRemote(netip.AddrPortFrom(m.Addr, uint16(m.Port)))
		}
		chosen, _ := sdpoa.ChooseCodec(m, decodable)
		if chosen.Name != s.codec.Name { // the mixer logs the change when the audio actually switches
			s.codec = chosen
			r.noteCodec(c, chosen, s.channel)
		}
		te, cn := m.EventsFor(chosen)
		tr.SetCodecs(m.Codecs, te, cn)
		s.rx.SetPayloadTypes(m.PayloadTypes())
		inactive := m.Direction == sdpoa.Inactive || m.Hold
		everyInactive = everyInactive && inactive
		open++
		holds = append(holds, holdChange{s, isHold(m, s.base)})
		r.rekeySRTP(c, s, m, now, why)
		answers[s.mIndex] = withSRTP(answerFor(m, s.rx.Port(), s.codec), s)
	}
	// SIPREC: every stream inactive means the SRC paused the recording
	// (RFC 7866 §8.1.3, RFC 8068 style); otherwise a stream put on hold
	// (inactive, c=0.0.0.0, or less than its first direction, e.g.
	// sendrecv → sendonly) is a call hold on its channel.
	pause := c.rec.Mode == store.ModeSIPREC && open > 0 && everyInactive
	if !pause {
		for _, h := range holds {
			if h.held != h.s.held {
				h.s.held = h.held
				c.mix.Track(h.s.channel).SetHeld(h.held, now)
				c.event(map[bool]string{true: "hold", false: "retrieve"}[h.held], h.s.channel, now, why)
			}
		}
	}
	if c.rec.Mode == store.ModeSIPREC && open > 0 && pause != c.paused {
		c.paused = pause
		c.mix.SetPaused(pause, now)
		c.event(map[bool]string{true: "pause", false: "resume"}[pause], -1, now, why)
		c.log.Info(map[bool]string{true: "recording paused", false: "recording resumed"}[pause], "by", why)
	}
	return answers
}

// mediaMoved reports whether m's address or port differs from the same
// m-line of the previous SDP (prev nil: there was none).
func mediaMoved(prev *sdpoa.Session, i int, m sdpoa.Media) bool {
	if prev == nil || i >= len(prev.Media) {
		return true
	}
	p := prev.Media[i]
	return p.Addr != m.Addr || p.Port != m.Port
}

type holdChange struct {
	s    *stream
	held bool
}

// isHold says whether m puts a stream on hold relative to the direction
// it normally has (base): inactive, old-style c=0.0.0.0, or less than base
// (sendrecv → sendonly/recvonly; sendonly → recvonly).
func isHold(m sdpoa.Media, base sdpoa.Direction) bool {
	switch {
	case m.Hold || m.Direction == sdpoa.Inactive:
		return true
	case base == sdpoa.SendRecv:
		return m.Direction != sdpoa.SendRecv
	default:
		return m.Direction == sdpoa.RecvOnly
	}
}

// allInactive reports whether every recordable audio stream of s is
// inactive (a SIPREC session that starts paused).
func allInactive(s *sdpoa.Session) bool {
	if s == nil {
		return false
	}
	n := 0
	for _, m := range s.Media {
		if m.Type == "audio" && m.Recordable() {
			n++
			if m.Direction != sdpoa.Inactive && !m.Hold {
				return false
			}
		}
	}
	return n > 0
}

// Reinvite implements sipsrv.Handler (re-INVITE and UPDATE).
func (r *Recorder) Reinvite(ctx context.Context, inv *sipsrv.Invite) ([]byte, error) {
	now := r.cfg.Now()
	r.mu.Lock()
	l := r.legs[inv.CallID]
	r.mu.Unlock()
	if l == nil {
		return nil, &sipsrv.StatusError{Code: 481, Reason: "Call/Transaction Does Not Exist"}
	}
	c := l.c
	<-c.opened
	c.mu.Lock()
	answer, err := r.reinvite(c, l, inv, now)
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	r.saveRow(context.WithoutCancel(ctx), c)
	return answer, nil
}

// reinvite applies a re-INVITE or UPDATE to leg l (c.mu held); the caller
// writes the row.
func (r *Recorder) reinvite(c *call, l *leg, inv *sipsrv.Invite, now time.Time) ([]byte, error) {
	if c.done || l.ended {
		return nil, &sipsrv.StatusError{Code: 481, Reason: "Call/Transaction Does Not Exist"}
	}
	if len(inv.Metadata) > 0 {
		r.applyMetadata(c, c.rec, inv.Metadata, now)
		if sdp := firstSession(inv.SDP, l.offer); sdp != nil {
			setSIPRECParties(c.rec, sipRECParties(sdp, c.meta))
		}
	}
	var answer []byte
	if inv.SDP != nil {
		if l.offer != nil && len(inv.SDP.Media) < len(l.offer.Media) {
			return nil, &sipsrv.StatusError{Code: 488, Reason: "Not Acceptable Here: m-lines removed (RFC 3264 §8)"}
		}
		c.noteSDPProblems(c.rec, inv.SDP)
		answers := r.applySDP(c, l, inv.SDP, now, "reinvite")
		l.offer = inv.SDP
		c.noteOffer(l)
		var err error
		answer, err = sdpoa.BuildAnswer(inv.SDP, sdpoa.AnswerParams{Addr: r.advertise(inv), SessionID: l.sdpID, Version: l.sdpVer + 1, Username: "openrec", Media: answers})
		if err != nil {
			return nil, internalError(err)
		}
	} else if inv.Method == "INVITE" && l.offer != nil {
		// A re-INVITE without SDP needs our offer in the 200 (RFC 3261
		// §14.2): the current media; the answer comes in the ACK.
		answers := make([]sdpoa.AnswerMedia, len(l.offer.Media))
		for i, m := range l.offer.Media {
			answers[i] = sdpoa.AnswerMedia{Port: 0, Direction: sdpoa.Inactive}
			if len(m.Codecs) > 0 {
				answers[i].Codec = m.Codecs[0]
			}
		}
		for _, s := range l.streams {
			if s.rx != nil && s.mIndex < len(answers) {
				answers[s.mIndex] = withSRTP(answerFor(l.offer.Media[s.mIndex], s.rx.Port(), s.codec), s)
			}
		}
		var err error
		answer, err = sdpoa.BuildAnswer(l.offer, sdpoa.AnswerParams{Addr: r.advertise(inv), SessionID: l.sdpID, Version: l.sdpVer + 1, Username: "openrec", Media: answers})
		if err != nil {
			return nil, internalError(err)
		}
	}
	if answer != nil {
		l.sdpVer++
	}
	kind := "reinvite"
	if inv.Method == "UPDATE" {
		kind = "update"
	}
	c.event(kind, -1, now, inv.CallID)
	return answer, nil
}

// applyMetadata parses SIPREC metadata (never refusing audio because of it)
// and merges it into the recording.
func (r *Recorder) applyMetadata(c *call, rec *store.Recording, raw []byte, now time.Time) {
	if len(raw) == 0 {
		return
	}
	md, err := siprec.ParseMetadata(raw)
	if md == nil {
		md = &siprec.Metadata{Raw: raw}
	}
	if c.meta == nil {
		c.meta = md
		rec.Metadata = string(raw) // the first document; later ones are events
	} else {
		c.meta.Merge(md)
	}
	if len(c.legs) > 0 { // arrived in a re-INVITE or UPDATE
		c.event("metadata", -1, now, string(raw))
	}
	var problems []string
	if err != nil {
		problems = append(problems, err.Error())
	}
	problems = append(problems, c.meta.Problems...)
	problems = append(problems, unassociatedProblem(c.meta))
	problems = append(problems, c.problems...)
	rec.MetadataProblem = strings.Join(dedupe(problems), "; ")
	if id := c.meta.SessionID(); id != "" {
		rec.SIPRECSessionID = id
	}
	if u := c.meta.CallUUID(); u != "" && rec.CallUUID == "" {
		rec.CallUUID = u
	}
	if err != nil && c.log != nil {
		c.log.Warn("siprec metadata invalid: audio kept, raw XML stored", "error", err)
	}
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func firstSession(s ...*sdpoa.Session) *sdpoa.Session {
	for _, x := range s {
		if x != nil {
			return x
		}
	}
	return nil
}

// dnOf returns the user part of an AOR such as sip:+1555@host;user=phone.
func dnOf(aor string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(aor, "sips:"), "sip:")
	s = strings.TrimPrefix(s, "tel:")
	if i := strings.IndexAny(s, "@;"); i >= 0 {
		s = s[:i]
	}
	return s
}

// Bye implements sipsrv.Handler: the peer ended the leg (BYE or CANCEL).
func (r *Recorder) Bye(callID, reason string) {
	r.mu.Lock()
	l := r.legs[callID]
	r.mu.Unlock()
	if l == nil {
		return
	}
	r.endLeg(l, reason, false)
}

// endLeg stops a leg's receivers; when every leg of the call has ended the
// recording is finalised. hangup sends BYE to the peer.
func (r *Recorder) endLeg(l *leg, reason string, hangup bool) {
	c := l.c
	<-c.opened // a CANCEL during the first leg's setup waits for it
	now := r.cfg.Now()
	c.mu.Lock()
	if l.ended || c.done {
		c.mu.Unlock()
		return
	}
	l.ended = true
	l.reason = reason
	r.closeStreams(c, l)
	c.event(reasonEvent(reason), -1, now, l.callID)
	allEnded := true
	for _, o := range c.legs {
		allEnded = allEnded && o.ended
	}
	c.mu.Unlock()
	r.forgetLeg(l.callID)
	if hangup && l.hangup != nil {
		r.hangups.Add(1)
		go func() {
			defer r.hangups.Done()
			if err := l.hangup(context.Background(), reason); err != nil {
				c.log.Debug("bye not delivered", "sip_call_id", l.callID, "error", err)
			}
		}()
	}
	if allEnded {
		r.finalise(c, reason)
	}
}

func reasonEvent(reason string) string {
	switch {
	case strings.HasPrefix(reason, "media timeout"):
		return "timeout"
	case reason == "bye", reason == "cancelled":
		return reason
	default:
		return "end"
	}
}

// closeStreams closes a leg's receivers (ports go to quarantine).
func (r *Recorder) closeStreams(c *call, l *leg) {
	for _, s := range l.streams {
		r.closeStream(c, s)
	}
}

// closeStream closes one stream's receiver (c.mu held).
func (r *Recorder) closeStream(c *call, s *stream) {
	if s.rx != nil {
		_ = s.rx.Close()
		r.srtpClosed(c, s, s.rx.Stats())
		s.lastRTP = s.rx.LastActivity()
		st := s.rx.Stats()
		c.closedPkts += st.Packets
		r.stats.packetsClosed.Add(st.Packets)
		s.dropped += st.ForeignSource
		r.stats.packetsDropped.Add(st.ForeignSource)
		if st.UnofferedPT > 0 {
			s.unoffered += st.UnofferedPT
			s.unofferedLast = st.LastUnofferedPT
			r.stats.packetsUnoffered.Add(st.UnofferedPT)
		}
		s.rx = nil
	}
}

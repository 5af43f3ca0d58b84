package dial

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Media directions a Reinvite can offer for a stream.
const (
	// DirSendOnly is the normal direction of a recording stream (media
	// flows to the recorder); offering it again after DirInactive ends a hold.
	DirSendOnly = "sendonly"
	// DirInactive puts the stream on hold: no RTP is sent until a later
	// Reinvite offers DirSendOnly. With SIPREC, every stream inactive is
	// how a session recording client pauses the recording (RFC 7866).
	DirInactive = "inactive"
)

// AllParties in Reinvite.Party addresses both streams of the call.
const AllParties = -1

// reinviteTimeout bounds one re-INVITE transaction (sipgo's Timer B is
// 32 s over UDP; a recorder that does not answer a re-INVITE for this
// long is not going to).
const reinviteTimeout = 8 * time.Second

// Reinvite asks a running Call (through Spec.Reinvites) to re-negotiate the
// media of one party's stream, or of both, with an in-dialog re-INVITE:
// the session(s) carrying the stream(s) send a new SDP offer (same o=
// session id, version + 1; the other m-lines of the session unchanged),
// wait for the final response (at most 8 s), ACK a 2xx and switch the RTP
// sender to what the answer says. A non-2xx answer leaves the session as it
// was (RFC 3261 §14.1). The streams not addressed keep flowing throughout.
//
// In MSR mode (one INVITE per party) party 1's stream has a session of its
// own, so a transfer that changes the other party re-INVITEs only that leg
// while the recorded DN's leg is untouched ("recording is sticky to the
// recorded side"). In single-session MSR and SIPREC the one session is
// re-INVITEd with both m-lines.
type Reinvite struct {
	// Party is the stream to change: 0 the recorded DN's, 1 the other
	// party's, AllParties both.
	Party int
	// NewMedia gives the stream(s) a new media source, the way a transfer
	// does: a freshly bound local RTP (and RTCP) socket, whose port the
	// offer carries, a new SSRC, sequence number and timestamp base, and
	// the marker bit on the first packet. The old socket is closed once
	// the answer is in.
	NewMedia bool
	// Source, when not nil, replaces the audio of the addressed stream from
	// the switch on (the new party's voice). Not allowed with AllParties.
	Source Source
	// Direction is the direction offered for the addressed stream(s):
	// DirInactive (hold: no RTP), DirSendOnly, or "" for unchanged.
	Direction string
	// Done, when not nil, receives the outcome once. It is sent to without
	// blocking: give it room (a buffered channel), or the result is dropped.
	Done chan<- ReinviteResult
	// NewKey offers the addressed stream(s) a fresh SRTP key (Spec.SRTP
	// must be set) and encrypts with it once the answer is in.
	NewKey bool
}

// ReinviteResult is the outcome of one Reinvite.
type ReinviteResult struct {
	// Statuses has the final status of each re-INVITE sent, in session
	// order (0: none received).
	Statuses []int
	// Err is nil when every re-INVITE was answered 2xx and applied; else a
	// StatusError, ErrTransport, ErrBadAnswer, ErrNoPorts,
	// ErrNotEstablished, ErrInvalidSpec or the context's error.
	Err error
}

func (r Reinvite) validate() error {
	switch r.Party {
	case 0, 1, AllParties:
	default:
		return fmt.Errorf("%w: re-INVITE party %d", ErrInvalidSpec, r.Party)
	}
	switch r.Direction {
	case "", DirSendOnly, DirInactive:
	default:
		return fmt.Errorf("%w: re-INVITE direction %q (sendonly or inactive)", ErrInvalidSpec, r.Direction)
	}
	if r.Source != nil && r.Party == AllParties {
		return fmt.Errorf("%w: one Source for both parties", ErrInvalidSpec)
	}
	return nil
}

func (r Reinvite) addresses(party int) bool { return r.Party == AllParties || r.Party == party }

// streamChange is what a re-INVITE changes on one stream, handed from the
// goroutine that ran the transaction to the one pacing the stream.
type streamChange struct {
	stream   *stream
	touched  bool // addressed by the Reinvite
	answered bool // false: only end the silence of a quiet switch (re-INVITE failed)
	answer   answerStream
	pair     *rtpPair   // new sockets (NewMedia), nil: keep
	src      Source     // new audio, nil: keep
	inactive bool       // we offered inactive: send nothing, whatever the answer says
	key      *streamKey // new SRTP key (Reinvite.NewKey), nil: keep
}

// mediaSwitch is one re-INVITE's changes to a session's streams.
type mediaSwitch struct {
	changes []streamChange
	// quiet only silences the touched streams: the old media source stops
	// before a re-INVITE with new media goes out, as the party leaving a
	// transfer does, so that no late packet of the old source reaches the
	// recorder after it moved to the new one.
	quiet bool
}

// quietGap is how long the old source has been silent when the re-INVITE
// with new media leaves (what was in flight has arrived).
const quietGap = 2 * packetInterval

// serveReinvites carries out the requests of in, one at a time, until the
// channel is closed or every session has ended (allDone). It returns the
// number of re-INVITEs answered 2xx. It runs on Call's goroutine.
func serveReinvites(ctx context.Context, in <-chan Reinvite, sessions []*session, allDone <-chan struct{}, log *slog.Logger) int {
	ok2xx := 0
	for {
		select {
		case <-allDone:
			return ok2xx
		case r, open := <-in:
			if !open {
				return ok2xx
			}
			out := doReinvite(ctx, r, sessions)
			for _, st := range out.Statuses {
				if st >= 200 && st < 300 {
					ok2xx++
				}
			}
			if out.Err != nil {
				log.Warn("re-INVITE failed", "party", r.Party, "new_media", r.NewMedia, "direction", r.Direction, "statuses", out.Statuses, "error", out.Err)
			}
			if r.Done != nil {
				select {
				case r.Done <- out:
				default:
					log.Warn("re-INVITE result dropped: Done channel full")
				}
			}
		}
	}
}

func doReinvite(ctx context.Context, r Reinvite, sessions []*session) ReinviteResult {
	if err := r.validate(); err != nil {
		return ReinviteResult{Err: err}
	}
	var out ReinviteResult
	for _, ss := range sessions {
		if !slices.ContainsFunc(ss.streams, func(s *stream) bool { return r.addresses(s.party) }) {
			continue
		}
		code, err := ss.reinvite(ctx, r)
		out.Statuses = append(out.Statuses, code)
		if err != nil && out.Err == nil {
			out.Err = err
		}
	}
	if len(out.Statuses) == 0 {
		out.Err = fmt.Errorf("%w: no session carries party %d", ErrNotEstablished, r.Party)
	}
	return out
}

// reinvite sends one re-INVITE on this session and hands the result to
// the pacing goroutine. It returns the final status (0: none).
func (ss *session) reinvite(ctx context.Context, r Reinvite) (int, error) {
	select {
	case <-ss.ready:
	case <-ss.paceDone:
		return 0, fmt.Errorf("%w: INVITE %d", ErrNotEstablished, ss.idx+1)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	// Held for the whole transaction: the session's BYE waits for it.
	ss.mu.Lock()
	defer ss.mu.Unlock()
	select {
	case <-ss.paceDone:
		return 0, fmt.Errorf("%w: INVITE %d ended", ErrNotEstablished, ss.idx+1)
	default:
	}

	offer := slices.Clone(ss.offer)
	changes := make([]streamChange, len(ss.streams))
	var fresh []rtpPair // closed on every path where they are not handed over
	defer func() {
		for _, pr := range fresh {
			pr.close()
		}
	}()
	for j, s := range ss.streams {
		changes[j].stream = s
		if !r.addresses(s.party) {
			continue
		}
		changes[j].touched = true
		changes[j].src = r.Source
		if r.NewKey {
			if ss.p.SRTP == "" {
				return 0, fmt.Errorf("%w: re-INVITE with a new key on a call without SRTP", ErrInvalidSpec)
			}
			k, err := newStreamKey(ss.p.SRTP, ss.p.SRTPWrongKey)
			if err != nil {
				return 0, err
			}
			changes[j].key = k
			offer[j].crypto = k.crypto()
		}
		if r.Direction != "" {
			offer[j].dir = r.Direction
		}
		if r.NewMedia {
			pr, err := ss.d.ports.listen(ss.p.LocalIP, ss.p.RTCP)
			if err != nil {
				return 0, err
			}
			fresh = append(fresh, pr)
			changes[j].pair = &pr
			offer[j].port, offer[j].rtcpPort = pr.rtpPort(), pr.rtcpPort()
		}
	}
	for j := range changes {
		changes[j].inactive = offer[j].dir == DirInactive
	}
	if r.NewMedia {
		if !ss.toPacer(mediaSwitch{changes: changes, quiet: true}) {
			return 0, fmt.Errorf("%w: INVITE %d ended", ErrNotEstablished, ss.idx+1)
		}
		// Whatever happens next, the streams do not stay silent.
		defer func() {
			if fresh != nil { // not switched: back to the old source
				ss.toPacer(mediaSwitch{changes: changes})
			}
		}()
		t := time.NewTimer(quietGap)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		}
	}
	ss.sdpVer++
	req := ss.buildReinvite(buildOffer(ss.p.LocalIP, ss.sdpID, ss.sdpVer, offer))

	tctx, cancel := context.WithTimeout(ctx, reinviteTimeout)
	defer cancel()
	resp, err := ss.dlg.Do(tctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("%w: re-INVITE %d: %w", ErrTransport, ss.idx+1, err)
	}
	if !resp.IsSuccess() {
		ss.log.Info("re-INVITE refused; media unchanged", "status", resp.StatusCode)
		return resp.StatusCode, fmt.Errorf("dial: re-INVITE %d refused: %w", ss.idx+1, StatusError{Code: resp.StatusCode, Reason: resp.Reason})
	}
	// ACK the 2xx in the dialog (CSeq of the re-INVITE).
	ackErr := ss.dlg.WriteRequest(sip.NewRequest(sip.ACK, ss.remoteTarget()))
	answers, err := parseAnswer(resp.Body(), len(ss.streams), ss.fallback)
	if err == nil {
		err = checkAnswerSRTP(ss.p, answers)
	}
	if err != nil {
		return resp.StatusCode, err
	}
	for j := range changes {
		changes[j].answer, changes[j].answered = answers[j], true
	}
	if ss.toPacer(mediaSwitch{changes: changes}) {
		fresh = nil
		ss.offer = offer
	} // else the media ended meanwhile: nothing to switch
	ss.log.Debug("re-INVITE applied", "status", resp.StatusCode, "new_media", r.NewMedia, "direction", r.Direction)
	if ackErr != nil {
		return resp.StatusCode, fmt.Errorf("%w: ACK of re-INVITE %d: %w", ErrTransport, ss.idx+1, ackErr)
	}
	return resp.StatusCode, nil
}

// toPacer hands sw to the pacing goroutine (a copy of its changes: the
// caller goes on using its slice); false if the media ended.
func (ss *session) toPacer(sw mediaSwitch) bool {
	sw.changes = slices.Clone(sw.changes)
	select {
	case ss.ctl <- sw:
		return true
	case <-ss.paceDone:
		return false
	}
}

// remoteTarget is the Request-URI of requests in the dialog: the
// recorder's Contact, else the initial Request-URI.
func (ss *session) remoteTarget() sip.Uri {
	if c := ss.dlg.InviteResponse.Contact(); c != nil {
		return *c.Address.Clone()
	}
	return *ss.dlg.InviteRequest.Recipient.Clone()
}

// buildReinvite writes a re-INVITE carrying sdpBody (plain SDP in both
// modes: RFC 7866 lets a SIPREC re-INVITE omit unchanged metadata). The
// dialog fills in From, To, Call-ID and the next CSeq.
func (ss *session) buildReinvite(sdpBody []byte) *sip.Request {
	req := sip.NewRequest(sip.INVITE, ss.remoteTarget())
	contact := ss.d.contact(ss.p.Transport, ss.p.Mode == ModeSIPREC)
	ct := sip.ContentTypeHeader("application/sdp")
	req.AppendHeader(&contact)
	req.AppendHeader(sip.NewHeader("User-Agent", UserAgent))
	req.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS"))
	req.AppendHeader(&ct)
	req.SetBody(sdpBody)
	return req
}

// apply switches a stream to a re-INVITE's outcome. Called by the pacing
// goroutine between packets; peers are the streams it paces.
func (s *stream) apply(c streamChange, now, start time.Time, wall func() time.Time, peers []*stream, dtmf []byte) {
	if !c.touched {
		return
	}
	if s.quiet {
		s.quiet = false
		s.muted = true
	}
	if !c.answered {
		return
	}
	wasSending := s.send
	if c.pair != nil {
		// What is queued (jitter, reordering) leaves from the old socket now.
		s.flushHeld(now)
		for _, i := range s.pending {
			s.slots[i].at = now
		}
		s.sendDue(now, start, wall)
		s.pair.close()
		s.pair = *c.pair
		s.newSource(peers)
	}
	if c.src != nil {
		s.src = c.src
	}
	if c.key != nil {
		s.useKey(c.key)
	}
	s.configure(c.answer, dtmf)
	if c.inactive {
		s.send = false
	}
	if s.send && (!wasSending || c.pair != nil) {
		s.muted = true // the first packet after the change carries the marker
	}
	s.log.Debug("stream switched", "send", s.send, "dst", s.dst, "ssrc", s.ssrc, "new_media", c.pair != nil)
}

// silence stops the stream's packets until the next apply; what is queued
// (jitter, reordering) is dropped.
func (s *stream) silence() {
	s.quiet = true
	if s.held >= 0 {
		s.release(s.held)
		s.held = -1
	}
	for _, i := range s.pending {
		s.release(i)
	}
	s.pending = s.pending[:0]
}

// newSource restarts the stream as a new RTP source: SSRC (distinct from
// the previous one and from peers), sequence number, timestamp base, and
// the RTCP sender report state.
func (s *stream) newSource(peers []*stream) {
	old := s.ssrc
	for s.ssrc == old || s.ssrc == 0 || slices.ContainsFunc(peers, func(p *stream) bool { return p != s && p.ssrc == s.ssrc }) {
		s.ssrc = rand.Uint32()
	}
	s.seq = uint16(rand.Uint32())
	s.ts0 = rand.Uint32()
	s.nextSR = time.Time{}
	s.srSent, s.octets = 0, 0
	s.writeErr = false
}

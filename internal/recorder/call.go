package recorder

import (
	"context"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/codec"
	"github.com/openrec/openrec/internal/media/live"
	"github.com/openrec/openrec/internal/media/mixer"
	"github.com/openrec/openrec/internal/media/rtpin"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/sip/sdpoa"
	"github.com/openrec/openrec/internal/sip/siprec"
	"github.com/openrec/openrec/internal/sip/sipsrv"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediacrypt"
	"github.com/openrec/openrec/internal/store/mediastore"
)

// call is one recording: the legs (MSR) or streams (SIPREC) of one
// recorded couple, one mixer, one WAV file.
type call struct {
	key string
	log *slog.Logger

	// opened is closed when the first leg's setup has ended (see ready).
	opened chan struct{}
	// rowMu orders the writes of the call's store row and events; order:
	// rowMu before mu (a row write snapshots under mu, writes without it).
	rowMu sync.Mutex
	// rawMu (leaf) guards raw and offers: the mixer opens raw sidecars
	// from Flush, which runs without mu.
	rawMu  sync.Mutex
	offers []legOffer // the legs' current SDP offers, for the raw payloads' sidecar
	raw    []syncer   // raw payload sidecars

	mu         sync.Mutex // guards everything below; never held while taking Recorder.mu
	rec        *store.Recording
	mix        *mixer.Mixer
	tap        *live.Stream // nil without a live hub
	w          mediaWriter
	legs       []*leg
	expectLegs int
	start      time.Time
	partial    string // why the recording is partial (one-legged ...)
	endReason  string
	paused     bool
	meta       *siprec.Metadata
	source     string     // SIP source of the first leg
	tenant     string     // whose recipients the files are encrypted to (encryption on)
	format     wav.Format // the WAV's sample format (pcm16 when wideband)
	rate       int        // the WAV's sample rate: 8000, or 16000 with a wideband leg
	storeFmt   string     // storage format made when it ends (compress.go)
	storeKbps  int
	pending    []store.Event
	done       bool
	finalOnce  sync.Once
	closedPkts uint64

	flushErrLogged bool     // an audio flush error other than a full disk was logged
	problems       []string // tolerated signalling problems (problems.go)
	srtp           callSRTP // SRTP outcome of closed streams (srtp.go)
}

type leg struct {
	callID  string
	hangup  func(ctx context.Context, reason string) error // the dialog's BYE (sipsrv.Invite.Hangup); nil: none
	c       *call
	streams []*stream
	offer   *sdpoa.Session
	sdpID   uint64 // o= session id of our SDP, the same for the whole dialog
	sdpVer  uint64 // o= version of our last SDP (RFC 3264 §8)
	ended   bool
	reason  string
	created time.Time

	audio atomic.Bool // first RTP of the leg seen (told to the correlator)
}

type stream struct {
	mIndex  int
	channel int
	rx      *rtpin.Receiver
	codec   media.Codec
	base    sdpoa.Direction // direction when not on hold (from the first offer)
	held    bool
	opened  time.Time
	lastRTP time.Time // last RTP of the receiver, kept when it is closed
	dropped uint64    // foreign-source packets of the receiver, kept when it is closed
	// unoffered: packets of a payload type the SDP did not offer, and the
	// type of the last one, kept when the receiver is closed.
	unoffered     uint64
	unofferedLast uint8

	srtp streamSRTP // keys and alert state (srtp.go)
}

// liveCounts counts the accepted packets of receivers still open and
// those they dropped for a payload type the SDP did not offer.
func (c *call) liveCounts() (packets, unoffered uint64) {
	if !c.ready() {
		return 0, 0 // being set up: no receiver yet
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.legs {
		for _, s := range l.streams {
			if s.rx != nil {
				st := s.rx.Stats()
				packets += st.Packets
				unoffered += st.UnofferedPT
			}
		}
	}
	return packets, unoffered
}

func (c *call) ms(t time.Time) int64 { return t.Sub(c.start).Milliseconds() }

func (c *call) event(typ string, ch int, at time.Time, detail string) {
	c.pending = append(c.pending, store.Event{Type: typ, AtMS: c.ms(at), Channel: ch, Detail: detail, At: at.UTC()})
}

// Invite implements sipsrv.Handler.
//
// Locks: r.mu is held only for the maps and admission, never while waiting
// for a call's lock or for I/O. The first leg of a new call creates it
// locked (nobody else can hold the lock of a call not yet published), so
// the second leg — Genesys sends both at once — finds it and waits for
// c.opened without holding r.mu. The first leg creates the media file and
// the mixer under c.mu of a call that is not ready yet (Tick, Stats, Live
// skip it; only its own legs wait), and writes the store row with no lock
// held (rowMu orders the call's row writes).
func (r *Recorder) Invite(ctx context.Context, inv *sipsrv.Invite) ([]byte, error) {
	now := r.cfg.Now()
	key := callKey(inv)
	r.mu.Lock()
	if _, dup := r.legs[inv.CallID]; dup {
		r.mu.Unlock()
		return nil, &sipsrv.StatusError{Code: 482, Reason: "Loop Detected: Call-ID already recording"}
	}
	c := r.calls[key]
	joining := c != nil
	if !joining && r.cor != nil && inv.Kind == sipsrv.KindMSR {
		if err := r.cor.Admit(firstNonEmpty(inv.MSR.RecordDN, inv.MSR.DN)); err != nil {
			r.mu.Unlock()
			r.log.Info("recording refused: recorded DN not monitored", "record_id", inv.MSR.RecordID,
				"record_dn", firstNonEmpty(inv.MSR.RecordDN, inv.MSR.DN), "call_uuid", inv.MSR.CallUUID, "sip_call_id", inv.CallID, "error", err)
			return nil, declined(err)
		}
	}
	if !joining {
		switch {
		case r.draining:
			r.mu.Unlock()
			return nil, r.unavailable("draining")
		case len(r.calls) >= r.cfg.MaxCalls:
			r.mu.Unlock()
			return nil, r.unavailable("at capacity")
		}
		if err := r.resourceRefusal(true); err != nil {
			r.mu.Unlock()
			r.stats.callsRejected.Add(1)
			r.log.Warn("call refused: resources", "reason", err.Error(), "sip_call_id", inv.CallID)
			return nil, err
		}
		c = &call{key: key, start: now, opened: make(chan struct{})}
		// New and not yet in r.calls: nobody else can hold its lock, so
		// this never waits under r.mu.
		c.mu.Lock()
		r.calls[key] = c
		r.awaitSecondLeg(c, inv)
		r.stats.callsAdmitted.Add(1)
	} else {
		delete(r.waiting, c)
	}
	l := &leg{callID: inv.CallID, hangup: inv.Hangup, c: c, offer: inv.SDP, created: now, sdpID: rand.Uint64() >> 1, sdpVer: 1}
	r.legs[inv.CallID] = l
	r.mu.Unlock()
	if joining {
		return r.joinLeg(ctx, c, l, inv, now)
	}
	return r.firstLeg(c, l, inv, now)
}

// firstLeg opens a new call (c.mu held on entry, released before the
// store row is written) and answers its first leg. c.opened is closed when
// it returns, whatever the outcome: a failed call is done and forgotten by
// then.
func (r *Recorder) firstLeg(c *call, l *leg, inv *sipsrv.Invite, now time.Time) ([]byte, error) {
	defer close(c.opened)
	if err := r.openCall(c, inv, now); err != nil {
		c.done = true
		c.mu.Unlock()
		r.forgetLeg(inv.CallID)
		r.forgetCall(c)
		c.log.Error("recording not created: call refused", "error", err)
		return nil, r.storageUnavailable(err)
	}
	answer, err := r.addLeg(c, l, inv, now)
	if err != nil {
		c.done = true
		failed := r.abandon(c)
		c.mu.Unlock()
		r.forgetLeg(inv.CallID)
		r.forgetCall(c)
		if failed != nil {
			// the refused call is kept as a failed row, as it always was
			c.rowMu.Lock()
			if cerr := r.st.CreateRecording(context.Background(), failed); cerr != nil {
				c.log.Error("store create failed", "error", cerr)
			}
			c.rowMu.Unlock()
		}
		return nil, err
	}
	r.legAdded(c, l, inv, now, false)
	row := cloneRecording(c.rec)
	c.mu.Unlock()

	c.rowMu.Lock()
	err = r.st.CreateRecording(context.Background(), row)
	c.rowMu.Unlock()
	if err != nil {
		c.mu.Lock()
		c.done = true
		r.closeStreams(c, l)
		r.dropMedia(c)
		c.mu.Unlock()
		r.forgetLeg(inv.CallID)
		r.forgetCall(c)
		c.log.Error("recording not created: call refused", "error", err)
		return nil, r.storageUnavailable(errf("store: %w", err))
	}
	return answer, nil
}

// joinLeg adds a further leg (the other party of a two-session MSR call)
// to c once the first leg's setup has ended; no lock is held while it
// waits.
func (r *Recorder) joinLeg(ctx context.Context, c *call, l *leg, inv *sipsrv.Invite, now time.Time) ([]byte, error) {
	<-c.opened
	c.mu.Lock()
	if c.done { // finalised (or refused) between lookup and lock: the late leg starts a new recording
		c.mu.Unlock()
		r.forgetLeg(inv.CallID)
		return nil, &sipsrv.StatusError{Code: 503, Reason: "Service Unavailable: recording just ended", RetryAfter: 1}
	}
	answer, err := r.addLeg(c, l, inv, now)
	if err != nil {
		c.mu.Unlock()
		r.forgetLeg(inv.CallID)
		return nil, err
	}
	r.legAdded(c, l, inv, now, true)
	c.mu.Unlock()
	r.saveRow(context.WithoutCancel(ctx), c)
	return answer, nil
}

// legAdded records a leg whose streams are open (c.mu held).
func (r *Recorder) legAdded(c *call, l *leg, inv *sipsrv.Invite, now time.Time, joining bool) {
	c.legs = append(c.legs, l)
	c.noteSDPProblems(c.rec, inv.SDP)
	r.stats.legsTotal.Add(1)
	c.rec.SIPCallIDs = append(c.rec.SIPCallIDs, inv.CallID)
	c.noteMSRParty(l, inv)
	c.noteOffer(l)
	if !joining {
		return
	}
	if strings.HasPrefix(c.partial, "one-legged") && len(c.legs) >= c.expectLegs {
		c.partial = "" // the second leg came after all: a whole recording
		c.event("late-leg", -1, now, inv.CallID)
	}
	r.legJoined(c, now)
	c.log.Debug("recording leg joined", "sip_call_id", inv.CallID, "dn", inv.MSR.DN)
}

// openedNow is the opened channel of a call opened before it is published
// (passive capture).
var openedNow = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// legOffer is a leg's current SDP offer and its channel (rawMu).
type legOffer struct {
	l   *leg
	ch  int
	raw []byte
}

// noteOffer records l's current offer for the raw sidecar (c.mu held).
func (c *call) noteOffer(l *leg) {
	if l.offer == nil {
		return
	}
	c.rawMu.Lock()
	defer c.rawMu.Unlock()
	for i := range c.offers {
		if c.offers[i].l == l {
			c.offers[i].ch, c.offers[i].raw = legChannel(l), l.offer.Raw
			return
		}
	}
	c.offers = append(c.offers, legOffer{l: l, ch: legChannel(l), raw: l.offer.Raw})
}

// ready reports whether the first leg's setup of c has ended (c.rec and
// c.mix set, or c done). Whoever walks every call (Tick, Stats, Live)
// skips a call not ready instead of waiting for its lock.
func (c *call) ready() bool {
	select {
	case <-c.opened:
		return true
	default:
		return false
	}
}

// saveRow writes c's row as it is now; c.mu must not be held. The call's
// row writes are ordered by rowMu (taken before c.mu), each writes the
// latest state, and none comes after the final row (finalise sets done
// under rowMu).
func (r *Recorder) saveRow(ctx context.Context, c *call) {
	c.rowMu.Lock()
	defer c.rowMu.Unlock()
	c.mu.Lock()
	if c.done || c.rec == nil {
		c.mu.Unlock()
		return
	}
	row := cloneRecording(c.rec)
	c.mu.Unlock()
	if err := r.st.UpdateRecording(ctx, row); err != nil {
		c.log.Error("store update failed", "error", err)
	}
}

// cloneRecording copies rec deeply enough for the store to read it while
// the call goes on changing its own.
func cloneRecording(rec *store.Recording) *store.Recording {
	cp := *rec
	cp.SIPCallIDs = slices.Clone(rec.SIPCallIDs)
	cp.Parties = slices.Clone(rec.Parties)
	cp.Codecs = slices.Clone(rec.Codecs)
	cp.Segments = slices.Clone(rec.Segments)
	cp.Couples = slices.Clone(rec.Couples)
	cp.Events = slices.Clone(rec.Events)
	cp.ExternalData = maps.Clone(rec.ExternalData)
	return &cp
}

// noteMSRParty records who a two-session MSR leg carries: its dn= is the
// party of the channel it was given (the other DN comes with the second leg).
func (c *call) noteMSRParty(l *leg, inv *sipsrv.Invite) {
	if c.rec.Mode != store.ModeMSR {
		return
	}
	for _, s := range l.streams {
		if s.channel >= len(c.rec.Parties) {
			continue
		}
		p := &c.rec.Parties[s.channel]
		p.SIPCallID = inv.CallID
		if c.expectLegs > 1 && inv.MSR.DN != "" {
			p.DN = inv.MSR.DN
			if s.channel == 1 {
				c.rec.OtherDN = inv.MSR.DN
			}
		}
	}
}

func callKey(inv *sipsrv.Invite) string {
	switch inv.Kind {
	case sipsrv.KindSIPREC:
		return "siprec|" + inv.CallID
	case sipsrv.KindCiscoBiB, sipsrv.KindCiscoFork, sipsrv.KindPlain:
		return otherKey(inv)
	}
	rdn := inv.MSR.RecordDN
	if rdn == "" {
		rdn = inv.MSR.DN
	}
	return "msr|" + inv.MSR.RecordID + "|" + rdn
}

func (r *Recorder) forgetLeg(callID string) {
	r.mu.Lock()
	delete(r.legs, callID)
	r.mu.Unlock()
}

func (r *Recorder) forgetCall(c *call) {
	r.mu.Lock()
	if r.calls[c.key] == c {
		delete(r.calls, c.key)
	}
	delete(r.waiting, c)
	r.mu.Unlock()
	if c.rec != nil {
		r.ids.CompareAndDelete(c.rec.ID, c)
	}
}

// startMixer creates the recording's mixer over w (with the live tap and
// DTMF treatment dtmf); on failure the media file is removed and the tap
// closed. c.mix and c.rec are set on success. The store row is written by
// the caller, with no lock held.
func (r *Recorder) startMixer(c *call, rec *store.Recording, w mediaWriter, dtmf mixer.DTMFMode, now time.Time) error {
	mcfg := mixer.Config{
		Channels:      rec.Channels,
		Format:        mixerFormat(c.format),
		SampleRate:    c.rate,
		Start:         now,
		ReorderWindow: r.cfg.ReorderWindow,
		Logger:        c.log,
		DTMF:          dtmf,
		Raw:           func(ch int) (ioWriter, error) { return r.openRaw(c, ch) },
	}
	decoders := r.cfg.Decoders
	if decoders == nil {
		decoders = func(cd media.Codec, rate int) (mixer.Decoder, error) { return codec.NewDecoderRate(cd, rate) }
	}
	mcfg.Decoders = func(cd media.Codec) (mixer.Decoder, error) {
		d, err := decoders(cd, c.rate)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	if r.hub != nil {
		c.tap = r.hub.Open(rec.ID)
		mcfg.Tap = c.tap
	}
	fail := func(err error) error {
		_ = w.Close()
		_ = os.Remove(rec.MediaPath)
		if c.tap != nil {
			c.tap.Close()
		}
		return err
	}
	mix, err := mixer.New(mcfg, &durable{w: w, every: r.cfg.FsyncInterval, now: r.cfg.Now})
	if err != nil {
		return fail(errf("mixer: %w", err))
	}
	c.mix, c.rec = mix, rec
	return nil
}

// createRow writes the store row of a recording that no leg can reach yet
// (passive capture); on failure its media goes as in dropMedia.
func (r *Recorder) createRow(c *call) error {
	if err := r.st.CreateRecording(context.Background(), c.rec); err != nil {
		r.dropMedia(c)
		return errf("store: %w", err)
	}
	return nil
}

// dropMedia closes and removes the media file of a recording whose row
// could not be written, and closes its live tap.
func (r *Recorder) dropMedia(c *call) {
	if c.w != nil {
		_ = c.w.Close()
	}
	if c.rec != nil {
		_ = os.Remove(c.rec.MediaPath)
	}
	if c.tap != nil {
		c.tap.Close()
	}
}

// dtmfMode is the DTMF treatment of a session from source.
func (r *Recorder) dtmfMode(source string) mixer.DTMFMode {
	if r.cfg.DTMF == nil {
		return mixer.DTMFKeep
	}
	return r.cfg.DTMF(source)
}

// openCall creates the recording row, the WAV file and the mixer.
func (r *Recorder) openCall(c *call, inv *sipsrv.Invite, now time.Time) error {
	id := newID(now)
	rec := &store.Recording{
		ID:        id,
		Status:    store.StatusRecording,
		StartedAt: now.UTC(),
		Format:    r.cfg.Format.String(),
	}
	switch inv.Kind {
	case sipsrv.KindCiscoBiB, sipsrv.KindCiscoFork, sipsrv.KindPlain:
		c.openOther(rec, inv)
	case sipsrv.KindSIPREC:
		rec.Mode = store.ModeSIPREC
		rec.Channels = max(1, audioCount(inv.SDP))
		if inv.SDP == nil {
			rec.Channels = 2
		}
		c.expectLegs = 1
		rec.CallUUID = inv.GenesysCallUUID
		r.applyMetadata(c, rec, inv.Metadata, now)
		if inv.SDP != nil {
			setSIPRECParties(rec, sipRECParties(inv.SDP, c.meta))
		}
	default:
		rec.Mode = store.ModeMSR
		rec.Channels = 2
		rec.RecordID = inv.MSR.RecordID
		rec.CallUUID = inv.MSR.CallUUID
		if rec.CallUUID == "" {
			rec.CallUUID = inv.GenesysCallUUID
		}
		rec.RecordedDN = firstNonEmpty(inv.MSR.RecordDN, inv.MSR.DN)
		rec.OtherDN = inv.MSR.OtherDN
		c.expectLegs = 2
		if inv.MSR.OtherDN != "" && audioCount(inv.SDP) >= 2 {
			c.expectLegs = 1 // single-session MSR: both parties in one INVITE
		}
		rec.Parties = []store.Party{
			{Channel: 0, Role: "recorded", DN: rec.RecordedDN},
			{Channel: 1, Role: "other", DN: rec.OtherDN},
		}
	}
	rec.MediaPath = mediastore.Layout{Root: r.MediaDir()}.NewMedia(now, id)
	// The call's logger first: a failure below is logged with it.
	c.log = r.log.With("recording_id", id, "call_uuid", rec.CallUUID, "mode", string(rec.Mode))
	if r.encrypts() {
		c.tenant = r.recipientTenant(rec, inv.Source, now)
	}
	c.format, c.rate = r.cfg.Format, codec.Rate
	if wideband(inv.SDP) {
		// A wideband leg: 16 kHz PCM16, the narrowband legs upsampled.
		c.format, c.rate = wav.FormatPCM16, codec.WideRate
	}
	rec.Format, rec.SampleRate = c.format.String(), c.rate
	if err := r.planStored(c, rec.MediaPath, inv.Source); err != nil {
		return errf("create media file: %w", err)
	}
	w, err := r.createMedia(rec.MediaPath, c.tenant, rec.Channels, c.format, c.rate)
	if err != nil {
		return errf("create media file: %w", err)
	}
	c.w = w
	if err := r.startMixer(c, rec, w, r.dtmfFor(rec, inv.Source, now, c.log), now); err != nil {
		return err
	}
	c.source = inv.Source
	r.ids.Store(id, c)
	if r.cor != nil {
		r.cor.Started(c.session())
	}
	c.log.Debug("recording started", "record_id", rec.RecordID, "recorded_dn", rec.RecordedDN, "siprec_session_id", rec.SIPRECSessionID, "channels", rec.Channels, "sip_call_id", inv.CallID, "source", inv.Source)
	return nil
}

// encrypts reports whether new recordings are encrypted at rest.
func (r *Recorder) encrypts() bool { return r.enc.Load().Encrypts() }

// SetEncryption replaces the encryption keys for recordings that start
// from now on (nil: plaintext); recordings in progress keep theirs.
func (r *Recorder) SetEncryption(k *mediacrypt.Keys) { r.enc.Store(k) }

// tenantOf is the tenant of a session from source, for its recipients.
func (r *Recorder) tenantOf(source string) string {
	if r.cfg.Tenant == nil {
		return ""
	}
	return r.cfg.Tenant(source)
}

// createMedia creates the media file of a new recording: a plaintext WAV,
// or with encryption on a WAV encrypted to the recipients of tenant (an
// error, never plaintext, when that tenant has none).
func (r *Recorder) createMedia(path, tenant string, channels int, f wav.Format, rate int) (mediaWriter, error) {
	keys := r.enc.Load()
	if !keys.Encrypts() {
		return wav.Create(path, f, channels, rate)
	}
	return createCryptWAV(path, keys, tenant, f, channels, rate)
}

// wideband reports whether an offer has a recordable audio stream whose
// chosen codec (the one the answer names) is wideband: the recording is
// then stored at 16 kHz. The rate is fixed when the file is created: a
// wideband codec arriving later (a second MSR leg, a re-INVITE) is decoded
// to the file's rate.
func wideband(s *sdpoa.Session) bool {
	if s == nil {
		return false
	}
	for _, m := range s.Media {
		if !m.Recordable() {
			continue
		}
		if c, ok := sdpoa.ChooseCodec(m, decodable); ok && codec.Wideband(c.Name) {
			return true
		}
	}
	return false
}

// openRaw opens the sidecar for payloads the mixer cannot decode. The
// mixer calls it from Flush (no call lock) or Close (c.mu held): it takes
// only rawMu, and reads c.rec.MediaPath and c.tenant, fixed once the call
// is open.
func (r *Recorder) openRaw(c *call, ch int) (ioWriter, error) {
	path := mediastore.Raw(c.rec.MediaPath, ch)
	var f syncer
	if keys := r.enc.Load(); keys.Encrypts() {
		file, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		rs, err := keys.Recipients(c.tenant)
		var ew *mediacrypt.Writer
		if err == nil {
			ew, err = mediacrypt.NewWriter(file, rs, mediacrypt.Options{})
		}
		if err != nil {
			file.Close()
			os.Remove(path)
			return nil, err
		}
		f = &cryptRaw{ew: ew, f: file}
	} else {
		file, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		f = file
	}
	c.rawMu.Lock()
	c.raw = append(c.raw, f)
	// The offers in channel order (an MSR leg's channel is its DN's, not
	// its arrival order): internal/recorder/transcode maps the m-lines to
	// channels in this order.
	offers := slices.Clone(c.offers)
	c.rawMu.Unlock()
	slices.SortStableFunc(offers, func(a, b legOffer) int { return a.ch - b.ch })
	var sdp []byte
	for _, o := range offers {
		sdp = append(sdp, o.raw...)
	}
	_ = r.writeSidecar(c, mediastore.SDP(c.rec.MediaPath), sdp)
	return f, nil
}

// legChannel is the lowest channel of l's streams (MaxInt without any).
func legChannel(l *leg) int {
	ch := math.MaxInt
	for _, s := range l.streams {
		ch = min(ch, s.channel)
	}
	return ch
}

// writeSidecar writes a small sidecar file (the SDP offers beside raw
// payloads: with SRTP they hold the key material), encrypted like the
// media when encryption is on.
func (r *Recorder) writeSidecar(c *call, path string, data []byte) error {
	keys := r.enc.Load()
	return mediastore.WriteFile(path, mediastore.Options{}, func(f *os.File) error {
		if !keys.Encrypts() {
			_, err := f.Write(data)
			return err
		}
		rs, err := keys.Recipients(c.tenant)
		if err != nil {
			return err
		}
		ew, err := mediacrypt.NewWriter(f, rs, mediacrypt.Options{NoCheckpoints: true})
		if err != nil {
			return err
		}
		if _, err := ew.Write(data); err != nil {
			return err
		}
		return ew.Close()
	})
}

// abandon closes what openCall created for a call that never got a leg
// (c.mu held) and returns its row, failed, for the caller to write once
// c.mu is released (nil: no row).
func (r *Recorder) abandon(c *call) *store.Recording {
	if c.w != nil {
		_ = c.w.Close()
	}
	if c.tap != nil {
		c.tap.Close()
	}
	if c.rec == nil {
		return nil
	}
	c.rec.Status = store.StatusFailed
	c.rec.StatusReason = "no recordable leg"
	c.rec.EndedAt = r.cfg.Now().UTC()
	return cloneRecording(c.rec)
}

func audioCount(s *sdpoa.Session) int {
	if s == nil {
		return 0
	}
	return s.AudioCount()
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

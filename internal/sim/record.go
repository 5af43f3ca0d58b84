package sim

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/openrec/openrec/internal/cti/tlib"
)

// GSIPRecord is the user-data key carrying the recording state.
const GSIPRecord = tlib.UserDataRecord

// Values of GSIP_RECORD.
const (
	RecordOn     = tlib.RecordOn
	RecordPaused = tlib.RecordPaused
	RecordOff    = tlib.RecordOff
)

// recording is one recorded DN of a call. Guarded by Sim.mu.
type recording struct {
	id       string
	recordDN string
	otherDN  string
	paused   bool
	args     recordArgs // of the request (a restart places the same)
	sessions []MediaSession
}

type recordArgs struct {
	id, dest, dest2, geo  string
	audioSrc, toneSilence string
}

func recordArgsFrom(ext tlib.KVList) recordArgs {
	return recordArgs{id: ext.String("id"), dest: ext.String("dest"), dest2: ext.String("dest2"),
		geo: ext.String("record"), audioSrc: ext.String("audiosrc"), toneSilence: ext.String("tonesilenceduration")}
}

// autoRecord starts the recordings a newly established party p triggers
// without any request: DN option record=true, or the routing strategy's
// record=destination|source. Called with s.mu held.
func (s *Sim) autoRecord(c *call, p *party) {
	if !p.internal || p.monitor != "" || !c.ended.IsZero() {
		return
	}
	want := strings.EqualFold(s.dnOption(p.dn, "record"), "true")
	if want && ((c.routeRecord == "disable_destination" && p.dn == c.target) ||
		(c.routeRecord == "disable_source" && p.dn == c.origin)) {
		want = false
	}
	if p.dn == c.target && c.routeRecord == "destination" {
		want = true
	}
	if want && c.recs[p.dn] == nil {
		if err := s.startRecording(c, p.dn, recordArgs{}); err != nil {
			s.log.Warn("full-time recording not started", "dn", p.dn, "conn_id", c.connID.String(), "error", err)
		}
	}
	if p.dn == c.target && c.routeRecord == "source" && c.recs[c.origin] == nil && c.party(c.origin) != nil {
		if err := s.startRecording(c, c.origin, recordArgs{geo: "source"}); err != nil {
			s.log.Warn("routing-strategy recording not started", "dn", c.origin, "conn_id", c.connID.String(), "error", err)
		}
	}
}

// startRecording places the MSR sessions of recordDN. Called with s.mu held.
func (s *Sim) startRecording(c *call, recordDN string, a recordArgs) error {
	if !c.ended.IsZero() {
		return fmt.Errorf("%w: call %s is released", ErrState, c.connID)
	}
	p := c.party(recordDN)
	if p == nil {
		return fmt.Errorf("%w: %s is not on call %s", ErrState, recordDN, c.connID)
	}
	if c.recs[recordDN] != nil {
		return fmt.Errorf("%w: %s is already recorded on call %s", ErrRecording, recordDN, c.connID)
	}
	// "" is the Resource Manager's group of Config.Recorders.
	var dests []string
	if a.dest != "" {
		dests = append(dests, a.dest)
	} else if len(s.cfg.Recorders) > 0 {
		dests = append(dests, "")
	}
	if a.dest2 != "" {
		dests = append(dests, a.dest2)
	}
	if len(dests) == 0 && s.cfg.Media != nil {
		return fmt.Errorf("%w: no recorder destination", ErrRecording)
	}
	if a.id == "" {
		a.id = s.newRecordID()
	}
	other := ""
	if o := c.otherOf(p); o != nil {
		other = o.dn
	}
	r := &recording{id: a.id, recordDN: recordDN, otherDN: other, args: a}
	if s.cfg.Media != nil {
		var firstErr error
		for _, d := range dests {
			sess, err := s.placeSessions(c, r, d)
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			r.sessions = append(r.sessions, sess)
		}
		if len(r.sessions) == 0 {
			return fmt.Errorf("%w: %w", ErrRecording, firstErr)
		}
	}
	c.recs[recordDN] = r
	shown := slices.Clone(dests)
	for i, d := range shown {
		if d == "" {
			shown[i] = "group(" + string(s.group.Policy()) + ")"
		}
	}
	s.log.Info("recording started", "conn_id", c.connID.String(), "call_uuid", c.uuid, "record_dn", recordDN,
		"other_dn", other, "record_id", a.id, "dests", shown)
	s.setGSIP(c, recordDN)
	return nil
}

// placeSessions asks the Media Server for r's sessions at dest ("": the
// Resource Manager's group). Called with s.mu held.
func (s *Sim) placeSessions(c *call, r *recording, dest string) (MediaSession, error) {
	rec := Recording{RecordID: r.id, CallUUID: c.uuid, ThisDN: r.recordDN, OtherDN: r.otherDN, Dest: dest,
		Tones: [2]float64{toneFor(r.recordDN), toneFor(r.otherDN)}, Geo: r.args.geo,
		AudioSrc: r.args.audioSrc, ToneSilence: r.args.toneSilence, Misbehave: c.misbehave}
	if rec.Tones[1] == rec.Tones[0] {
		rec.Tones[1] += 150
	}
	var sess MediaSession // set below, before OnLost can run (it takes s.mu)
	if dest == "" {
		rec.Group = s.group
		rec.OnLost = func(addr string) { s.recorderLost(c, r, &sess, addr) }
	}
	sess, err := s.cfg.Media.Start(s.ctx, rec)
	if err != nil {
		s.log.Warn("media server could not start a recording", "dest", dest, "record_id", r.id, "error", err)
		return nil, err
	}
	if r.paused {
		sess.Pause(true)
	}
	return sess, nil
}

// recorderLost handles sessions the Media Server tore down because their
// recorder went down: by Config.RecorderLoss the recording stops
// (GSIP_RECORD OFF, a restart request may follow) or is placed again on
// another recorder of the group.
func (s *Sim) recorderLost(c *call, r *recording, ps *MediaSession, addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := *ps
	i := slices.Index(r.sessions, sess)
	if s.closed || c.recs[r.recordDN] != r || i < 0 {
		return // stopped or ended meanwhile
	}
	r.sessions = slices.Delete(r.sessions, i, i+1)
	s.stopSessions([]MediaSession{sess}) // collects its goroutine
	log := s.log.With("conn_id", c.connID.String(), "call_uuid", c.uuid, "record_dn", r.recordDN, "record_id", r.id, "recorder", addr)
	if s.cfg.RecorderLoss == RecorderLossRestart && c.ended.IsZero() {
		if ns, err := s.placeSessions(c, r, ""); err == nil {
			r.sessions = append(r.sessions, ns)
			log.Warn("recorder lost: recording restarted on the group")
			return
		}
	}
	if len(r.sessions) > 0 {
		log.Warn("recorder lost: the recording goes on at its other destination")
		return
	}
	delete(c.recs, r.recordDN)
	log.Warn("recorder lost: recording stopped (GSIP_RECORD OFF) until a restart request")
	s.setGSIP(c, r.recordDN)
}

// toneFor gives each party a distinct-ish tone (300..1400 Hz) by DN.
func toneFor(dn string) float64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(dn))
	return 300 + float64(h.Sum32()%12)*100
}

// findRec returns the recording of dn on c, or the only one of the call.
func findRec(c *call, dn string) *recording {
	if r := c.recs[dn]; r != nil {
		return r
	}
	if len(c.recs) == 1 {
		for _, r := range c.recs {
			return r
		}
	}
	return nil
}

// control applies start/stop/pause/resume for dn. Called with s.mu held.
func (s *Sim) control(c *call, dn, op string, a recordArgs) error {
	if op == "start" {
		return s.startRecording(c, dn, a)
	}
	r := findRec(c, dn)
	if r == nil {
		return fmt.Errorf("%w: call %s is not recorded", ErrRecording, c.connID)
	}
	switch op {
	case "stop":
		delete(c.recs, r.recordDN)
		s.stopSessions(r.sessions)
	case "pause", "resume":
		r.paused = op == "pause"
		for _, m := range r.sessions {
			m.Pause(r.paused)
		}
	default:
		return fmt.Errorf("%w: recording operation %q", ErrRecording, op)
	}
	s.log.Info("recording "+op, "conn_id", c.connID.String(), "record_dn", r.recordDN, "record_id", r.id)
	s.setGSIP(c, dn)
	return nil
}

// recordingLeft stops the recording of a DN that left the call (the
// session is sticky to the recorded side). Called with s.mu held.
func (s *Sim) recordingLeft(c *call, dn string) {
	r := c.recs[dn]
	if r == nil {
		return
	}
	delete(c.recs, dn)
	s.stopSessions(r.sessions)
	s.setGSIP(c, "")
}

// retarget tells each recording whose other party changed. Called with s.mu held.
func (s *Sim) retarget(c *call) {
	for dn, r := range c.recs {
		p := c.party(dn)
		if p == nil {
			continue
		}
		o := c.otherOf(p)
		if o == nil || o.dn == r.otherDN {
			continue
		}
		r.otherDN = o.dn
		for _, m := range r.sessions {
			m.Retarget(o.dn)
		}
	}
}

// setGSIP updates GSIP_RECORD from the call's recordings (ON if one is
// running, PAUSED if all are paused, OFF if none) and notifies when it
// changed. Called with s.mu held.
func (s *Sim) setGSIP(c *call, dn string) {
	v := RecordOff
	for _, r := range c.recs {
		if !r.paused {
			v = RecordOn
			break
		}
		v = RecordPaused
	}
	if c.data.String(GSIPRecord) == v || (v == RecordOff && !hasKey(c.data, GSIPRecord)) {
		return
	}
	c.data = c.data.Set(GSIPRecord, v)
	if c.ended.IsZero() {
		s.dataChanged(c, dn, 0, nil)
	}
}

// stopSessions stops media sessions without holding up the caller (Stop
// waits for the BYE). Called with s.mu held.
func (s *Sim) stopSessions(ms []MediaSession) {
	for _, m := range ms {
		s.stopping.Add(1)
		go func() {
			defer s.stopping.Done()
			if err := m.Stop(); err != nil {
				s.log.Warn("recording ended with an error", "error", err)
			}
		}()
	}
}

func hasKey(l tlib.KVList, k string) bool {
	_, ok := l.Get(k)
	return ok
}

package callcore

import (
	"context"
	"sync"
	"time"

	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/recorder"
)

// GIM mode (seed 000, "Genesys Integration Module"; issue 19 item 4): a
// recording whose session carries no Genesys identifiers (no record id,
// no CallUUID: passive capture, SIPREC from an SBC) is looked up over
// T-Library when it starts, by its recorded and other DN:
//
//	RequestQueryAddress (ThisDN, AddressInfoDNStatus) → EventAddressInfo listing the DN's calls
//	RequestQueryCall (ThisDN, ConnID)                 → EventPartyInfo per call
//
// A call SIP Server reports is the recording's: the EventPartyInfo goes to
// the engine like any event (a monitored DN's call joins the engine and its
// leg), and for a DN the engine does not follow the engine describes the
// call (Engine.Describe). SIP Server answering that it knows the DN but
// has no call on it, or that the DN is not one of its own (EventError), settles
// the recording as not contact-center controlled: CorrelationNotControlled,
// no failed-recording alert. A lookup that fails (link down, timeout)
// leaves the recording to the usual detection (no-cti-call, alerted).

// Correlation values of GIM lookups (store.Recording.Correlation).
const (
	CorrelationGIM           = "gim"               // the call SIP Server reported
	CorrelationNotControlled = "not-cc-controlled" // SIP Server controls no call of it
	CorrelationNoCall        = "no-cti-call"       // no CTI call explains it (lookup off or failed)
)

// KeyCCControlled is the external-data key of a recording a GIM lookup
// settled as not contact-center controlled (value "no"), for search.
const KeyCCControlled = "CC_CONTROLLED"

// gimLookup is one recording's lookup.
type gimLookup struct {
	done chan struct{}
	// set before done is closed
	settled    bool
	controlled bool
	dn         string             // the DN the call was found on
	uuid       string             // the call, when the engine holds it
	call       *conversation.Call // the call, described (the engine does not follow its DN)
}

type gimTable struct {
	mu     sync.Mutex
	m      map[string]*gimLookup // recording id → lookup
	closed bool                  // Core closed: no new lookups
	flying int                   // lookups in flight
	wg     sync.WaitGroup
}

// maxLookups bounds the lookups in flight (a burst of SBC sessions): past
// it a session is left to the usual detection (no-cti-call).
const maxLookups = 256

// close stops new lookups and waits for those in flight.
func (g *gimTable) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.wg.Wait()
}

func (g *gimTable) get(recordingID string) *gimLookup {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.m[recordingID]
}

func (g *gimTable) forget(recordingID string) {
	g.mu.Lock()
	delete(g.m, recordingID)
	g.mu.Unlock()
}

// needsGIM reports whether a session is one a GIM lookup is for.
func (c *Core) needsGIM(s recorder.Session) bool {
	return c.cfg.GIM && s.RecordID == "" && s.CallUUID == "" && (s.RecordedDN != "" || s.OtherDN != "")
}

// startGIM begins the lookup of a session without Genesys identifiers
// (called from Started: it never blocks).
func (c *Core) startGIM(s recorder.Session) {
	link := c.link.Load()
	if link == nil || c.life.Err() != nil {
		return
	}
	l := &gimLookup{done: make(chan struct{})}
	c.gim.mu.Lock()
	if c.gim.closed || c.gim.flying >= maxLookups {
		full := !c.gim.closed
		c.gim.mu.Unlock()
		if full {
			c.log.Warn("gim lookup skipped: too many in flight", "recording_id", s.RecordingID, "max", maxLookups)
		}
		return
	}
	if c.gim.m == nil {
		c.gim.m = map[string]*gimLookup{}
	}
	c.gim.m[s.RecordingID] = l
	c.gim.flying++
	c.gim.wg.Add(1)
	c.gim.mu.Unlock()
	c.eng.LookupStarted(s.RecordID, s.CallUUID, s.RecordedDN)
	go func() {
		defer c.gim.wg.Done()
		defer func() {
			c.gim.mu.Lock()
			c.gim.flying--
			c.gim.mu.Unlock()
		}()
		defer close(l.done)
		c.lookup(*link, s, l)
		c.eng.LookupDone(s.RecordID, s.CallUUID, s.RecordedDN, l.settled)
		c.log.Info("gim lookup", "recording_id", s.RecordingID, "recorded_dn", s.RecordedDN, "other_dn", s.OtherDN,
			"settled", l.settled, "controlled", l.controlled, "dn", l.dn, "call_uuid", l.callUUID())
	}()
}

// finished reports whether the lookup is over (its fields can be read).
func (l *gimLookup) finished() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

func (l *gimLookup) callUUID() string {
	if l.call != nil {
		return l.call.CallUUID
	}
	return l.uuid
}

// lookup asks the engine, then every CTI server, about the session's DNs.
func (c *Core) lookup(link Requester, s recorder.Session, l *gimLookup) {
	dns := []string{s.RecordedDN}
	if s.OtherDN != "" && s.OtherDN != s.RecordedDN {
		dns = append(dns, s.OtherDN)
	}
	for _, dn := range dns {
		if dn == "" {
			continue
		}
		if call, ok := c.eng.FindForLeg("", "", dn); ok {
			l.settled, l.controlled, l.dn, l.uuid = true, true, dn, call.CallUUID
			return
		}
	}
	ctx, cancel := context.WithTimeout(c.life, 2*c.cfg.RequestTimeout)
	defer cancel()
	settled := true
	for _, server := range c.cfg.Servers {
		for _, dn := range dns {
			if dn == "" {
				continue
			}
			found, ok := c.queryDN(ctx, link, server, dn, s.Start, l)
			if found {
				l.settled, l.controlled, l.dn = true, true, dn
				return
			}
			settled = settled && ok
		}
	}
	l.settled = settled && len(c.cfg.Servers) > 0
}

// queryDN asks server for the calls on dn. found: one is live (l.uuid or
// l.call set); ok: SIP Server answered (a transport failure is not an
// answer).
func (c *Core) queryDN(ctx context.Context, link Requester, server, dn string, since time.Time, l *gimLookup) (found, ok bool) {
	q := tlib.New(tlib.RequestQueryAddress).SetStr(tlib.AttrThisDN, dn).SetInt(tlib.AttrAddressInfoType, tlib.AddressInfoDNStatus)
	c.trace("->", server, q)
	r, err := link.Request(ctx, server, q)
	if err != nil {
		if r != nil && r.Type == tlib.EventError {
			c.trace("<-", server, r)
			return false, true // not a DN of SIP Server's: no call of its
		}
		c.log.Warn("gim lookup failed", "server", server, "dn", dn, "err", err)
		return false, false
	}
	c.trace("<-", server, r)
	for _, conn := range callsListed(r) {
		q := tlib.New(tlib.RequestQueryCall).SetStr(tlib.AttrThisDN, dn).SetConn(tlib.AttrConnID, conn)
		c.trace("->", server, q)
		pi, err := link.Request(ctx, server, q)
		if err != nil {
			if pi != nil && pi.Type == tlib.EventError {
				continue // released meanwhile
			}
			c.log.Warn("gim lookup failed", "server", server, "dn", dn, "conn_id", conn.String(), "err", err)
			return false, false
		}
		if st, _ := pi.Int(tlib.AttrCallState); st == callStateReleased {
			continue
		}
		c.HandleEvent(server, pi) // traced there; a monitored DN's call joins the engine
		if call, ok := c.eng.Call(pi.CallUUID()); ok {
			l.uuid = call.CallUUID
			return true, true
		}
		l.call = c.eng.Describe(server, pi, since)
		return true, true
	}
	return false, true
}

// callStateReleased marks a released call in EventPartyInfo (the
// AttributeCallState convention of the resynchronisation, internal/sim).
const callStateReleased = 22

// callsListed returns the ConnIDs an EventAddressInfo lists: the
// AttributeExtensions pairs "conn-1", "conn-2", ... then AttributeConnID
// (the convention of internal/cti/link, whose CallsOf this mirrors).
func callsListed(m *tlib.Message) []tlib.ConnID {
	var out []tlib.ConnID
	add := func(id tlib.ConnID) {
		if id == 0 {
			return
		}
		for _, x := range out {
			if x == id {
				return
			}
		}
		out = append(out, id)
	}
	for _, kv := range m.List(tlib.AttrExtensions) {
		if len(kv.Key) > 5 && kv.Key[:5] == "conn-" {
			if id, err := tlib.ParseConnID(kv.Text()); err == nil {
				add(id)
			}
		}
	}
	add(m.ConnID())
	return out
}

// gimResult waits (bounded) for the lookup of a finished recording and
// forgets it; nil: none was made.
func (c *Core) gimResult(recordingID string) *gimLookup {
	l := c.gim.get(recordingID)
	if l == nil {
		return nil
	}
	defer c.gim.forget(recordingID)
	t := time.NewTimer(2*c.cfg.RequestTimeout + time.Second)
	defer t.Stop()
	select {
	case <-l.done:
		return l
	case <-t.C:
		return nil
	case <-c.life.Done():
		return nil
	}
}

// recheck asks the engine again (no request) about the session's DNs
// when the lookup found no call: the call may have reached one of them
// that the CTI side follows since (SIP Server did not have it yet when
// the recording started). A call that reaches only other DNs is not
// found: the session names no DN of it.
func (l *gimLookup) recheck(eng *conversation.Engine, s recorder.Session) {
	for _, dn := range []string{s.RecordedDN, s.OtherDN} {
		if dn == "" {
			continue
		}
		if call, ok := eng.FindForLeg("", "", dn); ok {
			l.settled, l.controlled, l.dn, l.uuid, l.call = true, true, dn, call.CallUUID, nil
			return
		}
	}
}

// gimCalls returns the call a settled, controlled lookup found.
func (c *Core) gimCalls(l *gimLookup) []*conversation.Call {
	if l.uuid != "" {
		if call, ok := c.eng.Call(l.uuid); ok {
			return []*conversation.Call{call}
		}
	}
	if l.call != nil {
		return []*conversation.Call{l.call}
	}
	return nil
}

package sim

import (
	"errors"
	"fmt"
	"strings"

	"github.com/openrec/openrec/internal/cti/tlib"
)

// handle answers one request from client cl.
func (s *Sim) handle(cl *client, m *tlib.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if ev := s.serve(cl, m); ev != nil {
		if ref := m.ReferenceID(); ref != 0 && !ev.Has(tlib.AttrReferenceID) {
			ev.SetInt(tlib.AttrReferenceID, ref)
		}
		s.send(cl, s.stamp(ev))
	}
}

// serve executes m and returns the answer to send to cl (nil when the
// answer was already distributed). Called with s.mu held.
func (s *Sim) serve(cl *client, m *tlib.Message) *tlib.Message {
	if m.Type != tlib.RequestRegisterClient && !cl.registered {
		return errorEvent(m, ErrCodeNotRegistered, "RequestRegisterClient first")
	}
	switch m.Type {
	case tlib.RequestRegisterClient:
		cl.registered = true
		cl.name = m.Str(tlib.AttrApplicationName)
		cl.password = m.List(tlib.AttrExtensions).String("password")
		s.log.Info("T-Library client registered", "client", cl.name, "remote", cl.conn.RemoteAddr().String())
		return tlib.New(tlib.EventServerConnected).SetStr(tlib.AttrApplicationName, s.cfg.Switch)

	case tlib.RequestRegisterAddress, tlib.RequestUnregisterAddress:
		dn := m.ThisDN()
		if dn == "" {
			return errorEvent(m, ErrCodeMissingAttr, "AttributeThisDN missing")
		}
		if !s.isInternal(dn) {
			return errorEvent(m, ErrCodeUnknownDN, "DN "+dn+" is not configured on switch "+s.cfg.Switch)
		}
		if m.Type == tlib.RequestUnregisterAddress {
			delete(cl.dns, dn)
			return tlib.New(tlib.EventUnregistered).SetStr(tlib.AttrThisDN, dn)
		}
		cl.dns[dn] = true
		ev := tlib.New(tlib.EventRegistered).SetStr(tlib.AttrThisDN, dn)
		if a := s.agents[dn]; a != "" {
			ev.SetStr(tlib.AttrAgentID, a)
		}
		return ev

	case tlib.RequestQueryAddress:
		dn := m.ThisDN()
		if dn == "" {
			return errorEvent(m, ErrCodeMissingAttr, "AttributeThisDN missing")
		}
		if !s.isInternal(dn) {
			return errorEvent(m, ErrCodeUnknownDN, "DN "+dn+" is not configured on switch "+s.cfg.Switch)
		}
		return s.addressInfo(dn, m)

	case tlib.RequestQueryCall:
		c, ev := s.lookup(m, false)
		if ev != nil {
			return ev
		}
		return s.partyInfo(c, m.ThisDN())

	case tlib.RequestAttachUserData, tlib.RequestUpdateUserData, tlib.RequestDeleteUserData:
		c, ev := s.lookup(m, true)
		if ev != nil {
			return ev
		}
		data := m.UserData()
		if m.Type != tlib.RequestDeleteUserData && len(data) == 0 {
			return errorEvent(m, ErrCodeMissingAttr, "AttributeUserData missing")
		}
		var op string
		if m.Type != tlib.RequestDeleteUserData {
			if kv, ok := data.Get(GSIPRecord); ok {
				if op = gsipOp(kv.Text()); op == "" {
					return errorEvent(m, ErrCodeRecording, "GSIP_RECORD="+kv.Text()+": want ON, OFF, PAUSE or RESUME")
				}
				data = data.Delete(GSIPRecord)
			}
		}
		if len(data) > 0 || op == "" {
			s.attach(c, m.ThisDN(), m.Type, data, m.ReferenceID(), cl)
		}
		if op != "" {
			if err := s.control(c, m.ThisDN(), op, recordArgs{}); err != nil {
				if len(data) > 0 {
					s.log.Warn("GSIP_RECORD in user data refused", "conn_id", c.connID.String(), "error", err)
					return nil
				}
				return errorEvent(m, ErrCodeRecording, err.Error())
			}
			if len(data) == 0 {
				// The GSIP_RECORD change event went to the parties; answer the requester.
				p := c.party(m.ThisDN())
				if p == nil {
					p = &party{dn: m.ThisDN(), internal: true}
				}
				return s.callEvent(tlib.EventAttachedDataChanged, c, p)
			}
		}
		return nil

	case tlib.RequestPrivateService:
		c, ev := s.lookup(m, false)
		if ev != nil {
			return ev
		}
		id, _ := m.Int(tlib.AttrPrivateMsgID)
		ops := [4]string{"start", "stop", "pause", "resume"}
		op := ""
		for i, v := range s.cfg.PrivateIDs {
			if int64(v) == id {
				op = ops[i]
			}
		}
		if op == "" {
			return errorEvent(m, ErrCodeUnknownService, fmt.Sprintf("PrivateMsgID %d is not a recording service", id))
		}
		if !c.ended.IsZero() {
			return errorEvent(m, ErrCodeInvalidState, "call "+c.connID.String()+" is released")
		}
		if err := s.control(c, m.ThisDN(), op, recordArgsFrom(m.List(tlib.AttrExtensions))); err != nil {
			code := ErrCodeRecording
			if errors.Is(err, ErrState) {
				code = ErrCodeInvalidState
			}
			return errorEvent(m, code, err.Error())
		}
		return tlib.New(tlib.EventACK).SetStr(tlib.AttrThisDN, m.ThisDN()).SetConn(tlib.AttrConnID, c.connID).
			SetInt(tlib.AttrPrivateMsgID, id)

	case tlib.RequestRouteCall:
		c, ev := s.lookup(m, false)
		if ev != nil {
			return ev
		}
		target := m.OtherDN()
		if target == "" {
			return errorEvent(m, ErrCodeMissingAttr, "AttributeOtherDN (route target) missing")
		}
		if c.rp != m.ThisDN() {
			return errorEvent(m, ErrCodeInvalidState, "call "+c.connID.String()+" is not queued at "+m.ThisDN())
		}
		if err := s.route(c, target, m.List(tlib.AttrExtensions).String("record"), m.ReferenceID()); err != nil {
			code := ErrCodeInvalidState
			if errors.Is(err, ErrUnknownDN) {
				code = ErrCodeUnknownDN
			}
			return errorEvent(m, code, err.Error())
		}
		return nil
	}
	return errorEvent(m, ErrCodeUnsupported, m.Type.String()+" is not supported by the simulator")
}

func gsipOp(v string) string {
	switch strings.ToUpper(v) {
	case "ON", "START":
		return "start"
	case "OFF", "STOP":
		return "stop"
	case "PAUSE", "PAUSED":
		return "pause"
	case "RESUME":
		return "resume"
	}
	return ""
}

// lookup finds the call of a request (ConnID, and ThisDN a configured DN).
// released: a released call within the grace period is accepted.
func (s *Sim) lookup(m *tlib.Message, released bool) (*call, *tlib.Message) {
	id := m.ConnID()
	if id == 0 {
		return nil, errorEvent(m, ErrCodeMissingAttr, "AttributeConnID missing")
	}
	dn := m.ThisDN()
	if m.Type != tlib.RequestQueryCall {
		if dn == "" {
			return nil, errorEvent(m, ErrCodeMissingAttr, "AttributeThisDN missing")
		}
		if !s.isInternal(dn) {
			return nil, errorEvent(m, ErrCodeUnknownDN, "DN "+dn+" is not configured on switch "+s.cfg.Switch)
		}
	}
	c := s.calls[id]
	if c == nil || (!released && !c.ended.IsZero() && m.Type != tlib.RequestQueryCall && m.Type != tlib.RequestPrivateService) {
		return nil, errorEvent(m, ErrCodeUnknownConnID, "no call with ConnID "+id.String())
	}
	return c, nil
}

// addressInfo lists the calls dn is in (see the package doc).
func (s *Sim) addressInfo(dn string, req *tlib.Message) *tlib.Message {
	ev := tlib.New(tlib.EventAddressInfo).SetStr(tlib.AttrThisDN, dn).SetInt(tlib.AttrAddressType, int64(s.dnType(dn)))
	if a := s.agents[dn]; a != "" {
		ev.SetStr(tlib.AttrAgentID, a)
	}
	if v, ok := req.Int(tlib.AttrAddressInfoType); ok {
		ev.SetInt(tlib.AttrAddressInfoType, v)
	}
	ext := tlib.KVList{}
	for _, c := range s.order {
		if c.ended.IsZero() && c.party(dn) != nil {
			ext = append(ext, tlib.KV{Key: fmt.Sprintf("conn-%d", len(ext)+1), Type: tlib.KVString, Str: c.connID.String()})
		}
	}
	ev.SetInt(tlib.AttrAddressInfoStatus, int64(len(ext)))
	return ev.SetList(tlib.AttrExtensions, ext)
}

// partyInfo describes a call (see the package doc).
func (s *Sim) partyInfo(c *call, dn string) *tlib.Message {
	ev := tlib.New(tlib.EventPartyInfo).SetConn(tlib.AttrConnID, c.connID).SetInt(tlib.AttrCallID, c.callID).
		SetStr(tlib.AttrCallUUID, c.uuid).SetInt(tlib.AttrCallType, int64(c.typ))
	if c.ani != "" {
		ev.SetStr(tlib.AttrANI, c.ani)
	}
	if c.dnis != "" {
		ev.SetStr(tlib.AttrDNIS, c.dnis)
	}
	var this *party
	if dn != "" {
		this = c.party(dn)
	}
	if this == nil {
		for _, p := range c.parties {
			if p.internal {
				this = p
				break
			}
		}
	}
	if this != nil {
		ev.SetStr(tlib.AttrThisDN, this.dn).SetInt(tlib.AttrThisDNRole, int64(this.role))
		if o := c.otherOf(this); o != nil {
			ev.SetStr(tlib.AttrOtherDN, o.dn).SetInt(tlib.AttrOtherDNRole, int64(o.role))
		}
	} else if dn != "" {
		ev.SetStr(tlib.AttrThisDN, dn)
	}
	state := int64(tlib.CallStateOk)
	if !c.ended.IsZero() {
		state = CallStateReleased
	}
	ev.SetInt(tlib.AttrCallState, state)
	ext := tlib.KVList{}
	for _, p := range c.parties {
		internal := int32(0)
		if p.internal {
			internal = 1
		}
		l := tlib.KVList{}.Set("DN", p.dn).SetInt("Role", int32(p.role)).Set("State", p.state.String())
		if a := s.agents[p.dn]; a != "" {
			l = l.Set("AgentID", a)
		}
		l = l.SetInt("Internal", internal)
		ext = append(ext, tlib.KV{Key: "Party", Type: tlib.KVNested, List: l})
	}
	ev.SetList(tlib.AttrUserData, c.data)
	return ev.SetList(tlib.AttrExtensions, ext)
}

package siprec

import (
	"bytes"
	"maps"
	"slices"
	"strings"
)

// Merge applies u, the metadata of a re-INVITE or UPDATE (RFC 7865 §6.1.1):
//   - u complete: u replaces groups, sessions, participants, streams,
//     extensions and namespace;
//   - u partial: elements are updated by id (non-empty fields and extension
//     keys of u win; a participant whose stream association u states gets
//     Send and Recv replaced as a whole, so a party put on hold stops
//     sending), elements with new ids are added.
//
// Problems accumulate, u.Raw is appended to Updates; Raw stays the first
// document. Nothing of u is aliased.
func (m *Metadata) Merge(u *Metadata) {
	if m == nil || u == nil {
		return
	}
	// Read u before m changes: m.Merge(m) must not lose data.
	groups, sessions, participants, streams, ext := u.Groups, u.Sessions, u.Participants, u.Streams, u.Extensions
	m.Problems = append(m.Problems, u.Problems...)
	m.Updates = append(m.Updates, bytes.Clone(u.Raw))
	if u.DataMode != DataModePartial {
		m.Namespace = u.Namespace
		m.DataMode = DataModeComplete
		m.Groups = nil
		m.Sessions = nil
		m.Participants = nil
		m.Streams = nil
		m.Extensions = nil
	}
	if m.Namespace == "" {
		m.Namespace = u.Namespace
	}
	if m.DataMode == "" {
		m.DataMode = u.DataMode
	}
	for _, g := range groups {
		if i := slices.IndexFunc(m.Groups, func(x Group) bool { return g.ID != "" && x.ID == g.ID }); i >= 0 {
			d := &m.Groups[i]
			set(&d.AssociateTime, g.AssociateTime)
			set(&d.DisassociateTime, g.DisassociateTime)
			d.Extensions = mergeMap(d.Extensions, g.Extensions)
			continue
		}
		g.Extensions = maps.Clone(g.Extensions)
		m.Groups = append(m.Groups, g)
	}
	for _, s := range sessions {
		if i := slices.IndexFunc(m.Sessions, func(x Session) bool { return s.ID != "" && x.ID == s.ID }); i >= 0 {
			d := &m.Sessions[i]
			for _, id := range s.SIPSessionIDs {
				d.SIPSessionIDs = appendUnique(d.SIPSessionIDs, id)
			}
			set(&d.GroupRef, s.GroupRef)
			set(&d.StartTime, s.StartTime)
			set(&d.StopTime, s.StopTime)
			set(&d.AssociateTime, s.AssociateTime)
			set(&d.DisassociateTime, s.DisassociateTime)
			d.Extensions = mergeMap(d.Extensions, s.Extensions)
			continue
		}
		s.SIPSessionIDs = slices.Clone(s.SIPSessionIDs)
		s.Extensions = maps.Clone(s.Extensions)
		m.Sessions = append(m.Sessions, s)
	}
	for _, p := range participants {
		if i := slices.IndexFunc(m.Participants, func(x Participant) bool { return p.ID != "" && x.ID == p.ID }); i >= 0 {
			d := &m.Participants[i]
			set(&d.AOR, p.AOR)
			set(&d.Name, p.Name)
			set(&d.Role, p.Role)
			set(&d.AssociateTime, p.AssociateTime)
			set(&d.DisassociateTime, p.DisassociateTime)
			if p.streamAssoc {
				d.Send, d.Recv = slices.Clone(p.Send), slices.Clone(p.Recv)
				d.streamAssoc = true
			}
			d.Extensions = mergeMap(d.Extensions, p.Extensions)
			continue
		}
		p.Send, p.Recv = slices.Clone(p.Send), slices.Clone(p.Recv)
		p.Extensions = maps.Clone(p.Extensions)
		m.Participants = append(m.Participants, p)
	}
	for _, s := range streams {
		i := slices.IndexFunc(m.Streams, func(x Stream) bool { return s.ID != "" && x.ID == s.ID })
		if i < 0 && s.ID == "" && s.Label != "" {
			i = slices.IndexFunc(m.Streams, func(x Stream) bool { return x.Label == s.Label })
		}
		if i >= 0 {
			d := &m.Streams[i]
			set(&d.SessionID, s.SessionID)
			set(&d.Label, s.Label)
			set(&d.Mode, s.Mode)
			continue
		}
		m.Streams = append(m.Streams, s)
	}
	m.Extensions = mergeMap(m.Extensions, ext)
}

func set(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

func mergeMap(dst, src map[string]string) map[string]string {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]string, len(src))
	}
	maps.Copy(dst, src)
	return dst
}

// StreamByLabel returns the stream whose label is label (white space
// ignored; numeric labels compare by value, so "01" finds "1"), or nil. The
// pointer refers into m.Streams.
func (m *Metadata) StreamByLabel(label string) *Stream {
	if m == nil {
		return nil
	}
	label = strings.TrimSpace(label)
	for i := range m.Streams {
		if m.Streams[i].Label == label {
			return &m.Streams[i]
		}
	}
	want, ok := numeric(label)
	if !ok {
		return nil
	}
	for i := range m.Streams {
		if got, ok := numeric(m.Streams[i].Label); ok && got == want {
			return &m.Streams[i]
		}
	}
	return nil
}

// numeric strips leading zeros from a decimal label.
func numeric(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	t := strings.TrimLeft(s, "0")
	if t == "" {
		t = "0"
	}
	return t, true
}

// SenderOf returns the participant whose Send holds streamID (from either
// association style), or nil. The pointer refers into m.Participants.
func (m *Metadata) SenderOf(streamID string) *Participant {
	if m == nil || streamID == "" {
		return nil
	}
	for i := range m.Participants {
		if slices.Contains(m.Participants[i].Send, streamID) {
			return &m.Participants[i]
		}
	}
	return nil
}

// ParticipantForLabel returns the participant that sends the stream with SDP
// label label, or nil when the label or its sender is unknown (no guessing by
// position).
func (m *Metadata) ParticipantForLabel(label string) *Participant {
	s := m.StreamByLabel(label)
	if s == nil {
		return nil
	}
	return m.SenderOf(s.ID)
}

// SendersOfLabel returns every participant that sends the stream with SDP
// label label (a mixed stream has several), in document order. The
// pointers refer into m.Participants.
func (m *Metadata) SendersOfLabel(label string) []*Participant {
	s := m.StreamByLabel(label)
	if s == nil || s.ID == "" {
		return nil
	}
	var out []*Participant
	for i := range m.Participants {
		if slices.Contains(m.Participants[i].Send, s.ID) {
			out = append(out, &m.Participants[i])
		}
	}
	return out
}

// Unassociated returns the ids of the participants associated with no
// stream (neither sending nor receiving one).
func (m *Metadata) Unassociated() []string {
	if m == nil {
		return nil
	}
	var out []string
	for _, p := range m.Participants {
		if len(p.Send) == 0 && len(p.Recv) == 0 {
			out = append(out, p.ID)
		}
	}
	return out
}

// SessionID returns the id of the first session, or "".
func (m *Metadata) SessionID() string {
	if m == nil || len(m.Sessions) == 0 {
		return ""
	}
	return m.Sessions[0].ID
}

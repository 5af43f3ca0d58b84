package siprec

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"unicode"
)

// Namespaces of the recording metadata document seen in the field.
const (
	NamespaceRFC7865 = "urn:ietf:params:xml:ns:recording:1" // RFC 7865 §9
	NamespacePreRFC  = "urn:ietf:params:xml:ns:recording"   // pre-RFC drafts (Acme/Oracle, Sonus)
	NamespaceDraft   = "urn:ietf:params:xml:ns:siprec"      // early drafts (BroadWorks)
)

// Data modes (RFC 7865 §6.1.1 "dataMode").
const (
	DataModeComplete = "complete"
	DataModePartial  = "partial"
)

// Metadata is an rs-metadata document (RFC 7865), normalised across dialects.
// After Merge it is the current state of the recording session.
type Metadata struct {
	Namespace    string // namespace URI of the root element as found
	DataMode     string // complete | partial (lower-cased; "complete" when absent)
	Groups       []Group
	Sessions     []Session
	Participants []Participant
	Streams      []Stream
	// Extensions: flattened extension values of the recording element,
	// groups, sessions and streams; see the package doc for the key rules.
	Extensions map[string]string
	Problems   []string // what could not be understood (never fatal)
	Raw        []byte   // the document this Metadata was parsed from
	Updates    [][]byte // Raw of every update applied by Merge, in order
}

// Group is a Communication Session Group (RFC 7865 §6.3).
type Group struct {
	ID               string
	AssociateTime    string
	DisassociateTime string
	Extensions       map[string]string
}

// Session is a Communication Session (RFC 7865 §6.4).
type Session struct {
	ID               string
	SIPSessionIDs    []string // RFC 7989 Session-ID values, white space removed
	GroupRef         string
	StartTime        string
	StopTime         string
	AssociateTime    string // from <sessionrecordingassoc>, or the pre-RFC <associate-time> child
	DisassociateTime string
	Extensions       map[string]string
}

// Participant is a Participant (RFC 7865 §6.5) with its stream associations.
type Participant struct {
	ID               string
	AOR              string
	Name             string
	Send             []string // stream ids this participant sends
	Recv             []string // stream ids this participant receives
	Role             string
	AssociateTime    string // from <participantsessionassoc>, or the pre-RFC child
	DisassociateTime string
	Extensions       map[string]string

	// streamAssoc: this document stated the participant's stream association
	// (participantstreamassoc or old-style send/recv), so a partial update
	// replaces Send and Recv as a whole (RFC 7865 §6.10).
	streamAssoc bool
}

// Stream is a Media Stream (RFC 7865 §6.6); Label matches the SDP a=label.
type Stream struct {
	ID        string
	SessionID string
	Label     string
	Mode      string // pre-RFC <mode> (separate | mixed), "" otherwise
}

// ParseMetadata parses an rs-metadata document. It never panics and always
// returns a non-nil *Metadata holding Raw, what could be parsed and the
// Problems met. The error, wrapping ErrInvalidMetadata, is set only when the
// document is empty or not well-formed XML.
func ParseMetadata(raw []byte) (*Metadata, error) {
	m := &Metadata{Raw: bytes.Clone(raw)}
	if len(bytes.TrimSpace(raw)) == 0 {
		m.problem("empty metadata document")
		return m, fmt.Errorf("%w: empty document", ErrInvalidMetadata)
	}
	root, probs, err := parseTree(raw)
	if err != nil {
		m.problem("invalid XML: %v", err)
	}
	m.Problems = append(m.Problems, probs...)
	if root != nil {
		p := &parser{m: m, stubs: map[string]bool{}}
		p.document(root)
	}
	if err != nil {
		return m, fmt.Errorf("%w: %w", ErrInvalidMetadata, err)
	}
	return m, nil
}

func (m *Metadata) problem(format string, args ...any) {
	m.Problems = append(m.Problems, fmt.Sprintf(format, args...))
}

type parser struct {
	m     *Metadata
	psa   []*node         // participantsessionassoc
	pst   []*node         // participantstreamassoc
	sra   []*node         // sessionrecordingassoc
	stubs map[string]bool // "p:"+id / "s:"+id created from an association only
}

func (p *parser) document(root *node) {
	m := p.m
	m.Namespace = root.space
	switch root.name() {
	case "recording":
	case "recording_metadata":
		// The draft dialect (BroadWorks, Webex Calling): <dataMode>, id=
		// attributes, <send><id>stream</id></send>; parsed as a dialect of
		// its own, not a problem.
	default:
		m.problem("root element <%s> is not <recording>", qname(root.prefix, root.local))
	}
	switch m.Namespace {
	case NamespaceRFC7865, NamespacePreRFC, NamespaceDraft:
	case "":
		m.problem("root element has no namespace")
	default:
		m.problem("unrecognised namespace %q", m.Namespace)
	}
	if t := root.value(); t != "" {
		m.problem("text directly inside <%s>, document mangled? %q", root.local, clip(t, 60))
	}
	for _, c := range root.children {
		switch c.name() {
		case "datamode":
			m.DataMode = strings.ToLower(c.value())
		case "group":
			p.group(c)
		case "session":
			p.session(c)
		case "participant":
			p.participant(c)
		case "stream":
			p.stream(c)
		case "participantsessionassoc":
			p.psa = append(p.psa, c)
		case "participantstreamassoc":
			p.pst = append(p.pst, c)
		case "sessionrecordingassoc":
			p.sra = append(p.sra, c)
		default:
			m.Extensions = flatten(m.Extensions, "", c)
		}
	}
	switch m.DataMode {
	case DataModeComplete, DataModePartial:
	case "":
		m.DataMode = DataModeComplete
		m.problem("no <datamode>, assuming complete")
	default:
		m.problem("unknown datamode %q, assuming complete", m.DataMode)
		m.DataMode = DataModeComplete
	}
	p.associations()
	if m.DataMode == DataModeComplete {
		p.checkReferences()
		if len(m.Participants) > 0 && len(m.Streams) > 0 && len(m.Unassociated()) == len(m.Participants) {
			m.problem("no participantstreamassoc: which participant sends which stream is unknown")
		}
	}
}

// appendRefs appends the stream ids of a <send> or <recv> element: its text
// (RFC 7865) or its <id> children (draft dialect).
func appendRefs(list []string, n *node) []string {
	found := false
	for _, c := range n.children {
		if c.name() == "id" {
			found = true
			list = appendUnique(list, c.value())
		}
	}
	if !found {
		list = appendUnique(list, n.value())
	}
	return list
}

func (p *parser) group(n *node) {
	g := Group{ID: n.attr("group_id", "id", "groupid")}
	if g.ID == "" {
		p.m.problem("<group> without group_id")
	}
	for _, c := range n.children {
		switch c.name() {
		case "associate-time":
			g.AssociateTime = c.value()
		case "disassociate-time":
			g.DisassociateTime = c.value()
		default:
			g.Extensions = flatten(g.Extensions, "", c)
			p.m.Extensions = flatten(p.m.Extensions, "", c)
		}
	}
	p.m.Groups = append(p.m.Groups, g)
}

func (p *parser) session(n *node) {
	s := Session{ID: n.attr("session_id", "id", "sessionid"), GroupRef: n.attr("group")} // group=: draft dialect
	if s.ID == "" {
		p.m.problem("<session> without session_id")
	}
	for _, c := range n.children {
		switch c.name() {
		case "sipsessionid":
			if v := removeSpace(c.value()); v != "" {
				s.SIPSessionIDs = append(s.SIPSessionIDs, v)
			}
		case "group-ref", "groupref":
			s.GroupRef = c.value()
		case "start-time":
			s.StartTime = c.value()
		case "stop-time":
			s.StopTime = c.value()
		case "associate-time":
			s.AssociateTime = c.value()
		case "disassociate-time":
			s.DisassociateTime = c.value()
		default:
			s.Extensions = flatten(s.Extensions, "", c)
			p.m.Extensions = flatten(p.m.Extensions, "", c)
		}
	}
	p.m.Sessions = append(p.m.Sessions, s)
}

func (p *parser) participant(n *node) {
	pt := Participant{ID: n.attr("participant_id", "id", "participantid")}
	if pt.ID == "" {
		p.m.problem("<participant> without participant_id")
	}
	for _, c := range n.children {
		switch c.name() {
		case "nameid":
			if pt.AOR == "" {
				pt.AOR = c.attr("aor")
			}
			for _, cc := range c.children {
				switch cc.name() {
				case "name":
					if pt.Name == "" {
						pt.Name = cc.value()
					}
				case "aor":
					if pt.AOR == "" {
						pt.AOR = cc.value()
					}
				}
			}
		case "aor": // pre-RFC drafts
			if pt.AOR == "" {
				pt.AOR = c.value()
			}
		case "name":
			if pt.Name == "" {
				pt.Name = c.value()
			}
		case "send":
			pt.streamAssoc = true
			pt.Send = appendRefs(pt.Send, c)
		case "recv":
			pt.streamAssoc = true
			pt.Recv = appendRefs(pt.Recv, c)
		case "role":
			pt.Role = c.value()
		case "associate-time":
			pt.AssociateTime = c.value()
		case "start-time": // pre-RFC drafts
			if pt.AssociateTime == "" {
				pt.AssociateTime = c.value()
			}
		case "disassociate-time":
			pt.DisassociateTime = c.value()
		case "stop-time":
			if pt.DisassociateTime == "" {
				pt.DisassociateTime = c.value()
			}
		default:
			pt.Extensions = flatten(pt.Extensions, "", c)
		}
	}
	p.m.Participants = append(p.m.Participants, pt)
}

func (p *parser) stream(n *node) {
	s := Stream{
		ID:        n.attr("stream_id", "id", "streamid"),
		SessionID: n.attr("session_id", "session", "sessionid"),
	}
	for _, c := range n.children {
		switch c.name() {
		case "label":
			s.Label = c.value()
		case "mode":
			s.Mode = c.value()
		case "associate-time", "disassociate-time", "start-time", "stop-time", "content-type":
		default:
			p.m.Extensions = flatten(p.m.Extensions, "stream", c)
		}
	}
	if s.ID == "" {
		p.m.problem("<stream> without stream_id (label %q)", s.Label)
	}
	if s.Label == "" {
		p.m.problem("<stream> %q without <label>", s.ID)
	}
	p.m.Streams = append(p.m.Streams, s)
}

// associations applies the association elements after all entities are
// known, since documents put them in any order. An association naming an
// unknown participant or session creates a stub (partial updates refer to
// elements of earlier documents).
func (p *parser) associations() {
	for _, n := range p.sra {
		s := p.sessionFor(n.attr("session_id", "session", "sessionid"), "sessionrecordingassoc")
		if s == nil {
			continue
		}
		assocTimes(n, &s.AssociateTime, &s.DisassociateTime)
	}
	for _, n := range p.psa {
		pt := p.participantFor(n.attr("participant_id", "participant", "participantid"), "participantsessionassoc")
		if pt == nil {
			continue
		}
		assocTimes(n, &pt.AssociateTime, &pt.DisassociateTime)
	}
	for _, n := range p.pst {
		pt := p.participantFor(n.attr("participant_id", "participant", "participantid"), "participantstreamassoc")
		if pt == nil {
			continue
		}
		pt.streamAssoc = true
		for _, c := range n.children {
			switch c.name() {
			case "send":
				pt.Send = appendRefs(pt.Send, c)
			case "recv":
				pt.Recv = appendRefs(pt.Recv, c)
			}
		}
	}
}

// assocTimes reads an association's associate-time and disassociate-time.
func assocTimes(n *node, associate, disassociate *string) {
	for _, c := range n.children {
		switch c.name() {
		case "associate-time":
			*associate = c.value()
		case "disassociate-time":
			*disassociate = c.value()
		}
	}
}

func (p *parser) participantFor(id, elem string) *Participant {
	if id == "" {
		p.m.problem("<%s> without participant_id", elem)
		return nil
	}
	for i := range p.m.Participants {
		if p.m.Participants[i].ID == id {
			return &p.m.Participants[i]
		}
	}
	p.stubs["p:"+id] = true
	p.m.Participants = append(p.m.Participants, Participant{ID: id})
	return &p.m.Participants[len(p.m.Participants)-1]
}

func (p *parser) sessionFor(id, elem string) *Session {
	if id == "" {
		p.m.problem("<%s> without session_id", elem)
		return nil
	}
	for i := range p.m.Sessions {
		if p.m.Sessions[i].ID == id {
			return &p.m.Sessions[i]
		}
	}
	p.stubs["s:"+id] = true
	p.m.Sessions = append(p.m.Sessions, Session{ID: id})
	return &p.m.Sessions[len(p.m.Sessions)-1]
}

// checkReferences reports dangling ids in a complete document.
func (p *parser) checkReferences() {
	m := p.m
	stubs := make([]string, 0, len(p.stubs))
	for id := range p.stubs {
		stubs = append(stubs, id)
	}
	sort.Strings(stubs)
	for _, id := range stubs {
		kind, ref, _ := strings.Cut(id, ":")
		what := map[string]string{"p": "participant", "s": "session"}[kind]
		m.problem("association refers to undeclared %s %q", what, ref)
	}
	streams := map[string]bool{}
	for _, s := range m.Streams {
		streams[s.ID] = true
	}
	sessions := map[string]bool{}
	for _, s := range m.Sessions {
		sessions[s.ID] = true
	}
	groups := map[string]bool{}
	for _, g := range m.Groups {
		groups[g.ID] = true
	}
	for _, pt := range m.Participants {
		for _, id := range pt.Send {
			if !streams[id] {
				m.problem("participant %q sends undeclared stream %q", pt.ID, id)
			}
		}
		for _, id := range pt.Recv {
			if !streams[id] {
				m.problem("participant %q receives undeclared stream %q", pt.ID, id)
			}
		}
	}
	for _, s := range m.Streams {
		if s.SessionID != "" && !sessions[s.SessionID] {
			m.problem("stream %q refers to undeclared session %q", s.ID, s.SessionID)
		}
	}
	for _, s := range m.Sessions {
		if s.GroupRef != "" && !groups[s.GroupRef] {
			m.problem("session %q refers to undeclared group %q", s.ID, s.GroupRef)
		}
	}
}

func appendUnique(list []string, v string) []string {
	if v == "" {
		return list
	}
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

func removeSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

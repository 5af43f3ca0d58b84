package tlib

import "slices"

// Attr is one attribute of a message. Exactly the field of Kind is set.
type Attr struct {
	ID   AttrID
	Kind Kind
	Int  int64
	Str  string
	Conn ConnID
	List KVList
}

// Message is one T-Library request or event: a type and ordered attributes.
type Message struct {
	Type  MessageType
	Attrs []Attr
}

// New returns a message of type t.
func New(t MessageType) *Message { return &Message{Type: t} }

func (m *Message) find(id AttrID) *Attr {
	for i := range m.Attrs {
		if m.Attrs[i].ID == id {
			return &m.Attrs[i]
		}
	}
	return nil
}

func (m *Message) set(a Attr) *Message {
	if p := m.find(a.ID); p != nil {
		*p = a
		return m
	}
	m.Attrs = append(m.Attrs, a)
	return m
}

// Has reports whether the attribute is present.
func (m *Message) Has(id AttrID) bool { return m.find(id) != nil }

// Int returns an int attribute.
func (m *Message) Int(id AttrID) (int64, bool) {
	if a := m.find(id); a != nil && a.Kind == KindInt {
		return a.Int, true
	}
	return 0, false
}

// Str returns a string attribute ("" if absent).
func (m *Message) Str(id AttrID) string {
	if a := m.find(id); a != nil && a.Kind == KindString {
		return a.Str
	}
	return ""
}

// Conn returns a ConnID attribute (0 if absent).
func (m *Message) Conn(id AttrID) ConnID {
	if a := m.find(id); a != nil && a.Kind == KindConnID {
		return a.Conn
	}
	return 0
}

// List returns a key-value list attribute (nil if absent).
func (m *Message) List(id AttrID) KVList {
	if a := m.find(id); a != nil && a.Kind == KindList {
		return a.List
	}
	return nil
}

// SetInt sets an int attribute and returns m.
func (m *Message) SetInt(id AttrID, v int64) *Message {
	return m.set(Attr{ID: id, Kind: KindInt, Int: v})
}

// SetStr sets a string attribute and returns m.
func (m *Message) SetStr(id AttrID, v string) *Message {
	return m.set(Attr{ID: id, Kind: KindString, Str: v})
}

// SetConn sets a ConnID attribute and returns m.
func (m *Message) SetConn(id AttrID, v ConnID) *Message {
	return m.set(Attr{ID: id, Kind: KindConnID, Conn: v})
}

// SetList sets a key-value list attribute and returns m.
func (m *Message) SetList(id AttrID, v KVList) *Message {
	return m.set(Attr{ID: id, Kind: KindList, List: v})
}

// ReferenceID returns AttributeReferenceID (0 if absent).
func (m *Message) ReferenceID() int64 {
	v, _ := m.Int(AttrReferenceID)
	return v
}

// Convenience accessors for the attributes every call event carries.

func (m *Message) ThisDN() string   { return m.Str(AttrThisDN) }
func (m *Message) OtherDN() string  { return m.Str(AttrOtherDN) }
func (m *Message) ConnID() ConnID   { return m.Conn(AttrConnID) }
func (m *Message) CallUUID() string { return m.Str(AttrCallUUID) }
func (m *Message) UserData() KVList { return m.List(AttrUserData) }

// Clone returns a deep copy.
func (m *Message) Clone() *Message {
	c := &Message{Type: m.Type, Attrs: make([]Attr, len(m.Attrs))}
	for i, a := range m.Attrs {
		a.List = cloneList(a.List)
		c.Attrs[i] = a
	}
	return c
}

func cloneList(l KVList) KVList {
	if l == nil {
		return nil
	}
	out := make(KVList, len(l))
	for i, kv := range l {
		kv.Bin = append([]byte(nil), kv.Bin...)
		kv.List = cloneList(kv.List)
		out[i] = kv
	}
	return out
}

// ErrorInfo returns AttributeErrorCode and AttributeErrorMessage (of an
// EventError).
func (m *Message) ErrorInfo() (code int64, message string) {
	code, _ = m.Int(AttrErrorCode)
	return code, m.Str(AttrErrorMessage)
}

// Equal reports whether m and o have the same type and the same attributes
// in the same order. Only the field of each value's kind is compared, and a
// nil list or binary value equals an empty one.
func (m *Message) Equal(o *Message) bool {
	if m == nil || o == nil {
		return m == o
	}
	if m.Type != o.Type || len(m.Attrs) != len(o.Attrs) {
		return false
	}
	for i := range m.Attrs {
		if !m.Attrs[i].Equal(o.Attrs[i]) {
			return false
		}
	}
	return true
}

// Equal reports whether a and b have the same id, kind and value.
func (a Attr) Equal(b Attr) bool {
	if a.ID != b.ID || a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case KindInt:
		return a.Int == b.Int
	case KindString:
		return a.Str == b.Str
	case KindConnID:
		return a.Conn == b.Conn
	case KindList:
		return a.List.Equal(b.List)
	}
	return true
}

// Redacted is the text that replaces a secret attribute's value in traces.
const Redacted = "<redacted>"

// secretAttrs hold what a caller typed on a keypad or a password: card
// numbers collected by an IVR (EventDigitsCollected), PINs, passwords.
var secretAttrs = map[AttrID]bool{AttrCollectedDigits: true, AttrPassword: true}

// Redact returns m with the values of secret attributes (collected
// digits, passwords) replaced by Redacted, for traces and logs (PCI DSS:
// card digits are never stored). m itself is not changed; a message
// without secrets is returned as is.
func (m *Message) Redact() *Message {
	i := slices.IndexFunc(m.Attrs, func(a Attr) bool { return secretAttrs[a.ID] })
	if i < 0 {
		return m
	}
	c := &Message{Type: m.Type, Attrs: slices.Clone(m.Attrs)}
	for i := range c.Attrs {
		if a := &c.Attrs[i]; secretAttrs[a.ID] {
			*a = Attr{ID: a.ID, Kind: KindString, Str: Redacted}
		}
	}
	return c
}

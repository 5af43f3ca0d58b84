package tlib

import (
	"flag"
	"math/rand/v2"
	"strings"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// sample is a named message used by the golden, round-trip and fuzz tests.
type sample struct {
	name string
	msg  *Message
}

func nested(depth int) KVList {
	l := KVList{{Key: "depth", Type: KVInt, Int: int32(depth)}}
	if depth < MaxDepth {
		l = append(l, KV{Key: "next", Type: KVNested, List: nested(depth + 1)})
	}
	return l
}

func samples() []sample {
	return []sample{
		{"event_established", New(EventEstablished).
			SetStr(AttrThisDN, "5001").
			SetStr(AttrOtherDN, "+33123456789").
			SetConn(AttrConnID, 0x006502a8c4e1b001).
			SetStr(AttrCallUUID, "0123456789ABCDEFGHIJKLMNOPQRSTUV").
			SetInt(AttrCallType, CallTypeInbound).
			SetStr(AttrAgentID, "agent01").
			SetInt(AttrEventSequenceNumber, 1234).
			SetInt(AttrTimeInSecs, 1700000000).
			SetInt(AttrTimeInUSecs, 250000).
			SetList(AttrUserData, KVList{
				{Key: UserDataRecord, Type: KVString, Str: RecordOn},
				{Key: "Priority", Type: KVInt, Int: 5},
			})},
		{"request_private_service_record_start", New(RequestPrivateService).
			SetInt(AttrReferenceID, 17).
			SetStr(AttrThisDN, "5001").
			SetConn(AttrConnID, 0x006502a8c4e1b001).
			SetInt(AttrPrivateMsgID, PrivateMsgRecordStart).
			SetList(AttrExtensions, KVList{
				{Key: ExtRecord, Type: KVString, Str: RecordSource},
				{Key: ExtID, Type: KVString, Str: "4f9d0c2e7b1a4e6f"},
				{Key: ExtDest, Type: KVString, Str: "sip:rec1@10.0.0.5:5060"},
				{Key: ExtDest2, Type: KVString, Str: "sip:rec2@10.0.0.6:5060"},
				{Key: ExtAudioSrc, Type: KVString, Str: "file://tones/consent.wav"},
				{Key: ExtToneSilenceDuration, Type: KVInt, Int: 15},
			})},
		{"event_error", New(EventError).
			SetInt(AttrReferenceID, 17).
			SetStr(AttrThisDN, "5001").
			SetInt(AttrErrorCode, 1161).
			SetStr(AttrErrorMessage, "Recording already started")},
		{"event_ack", New(EventACK).SetInt(AttrReferenceID, 7)},
		{"request_register_client", New(RequestRegisterClient).
			SetInt(AttrReferenceID, 1).
			SetStr(AttrProtocolVersion, ProtocolVersion).
			SetStr(AttrApplicationName, "openrec").
			SetStr(AttrApplicationPassword, "")},
		{"empty_event", New(EventLinkConnected)},
		{"all_value_types", New(EventAttachedDataChanged).
			SetConn(AttrConnID, 0xffffffffffffffff).
			SetInt(AttrCallID, -1).
			SetList(AttrUserData, KVList{
				{Key: "str", Type: KVString, Str: "it's a \"test\"\t\\ with\nnewline"},
				{Key: "uni", Type: KVUnicode, Str: "Příliš žluťoučký kůň 日本"},
				{Key: "int", Type: KVInt, Int: -2147483648},
				{Key: "bin", Type: KVBinary, Bin: []byte{0, 1, 0xfe, 0xff}},
				{Key: "emptybin", Type: KVBinary},
				{Key: "", Type: KVString},
				{Key: "list", Type: KVNested, List: KVList{
					{Key: "a", Type: KVString, Str: "1"},
					{Key: "a", Type: KVString, Str: "dup key"},
					{Key: "inner", Type: KVNested, List: KVList{{Key: "x", Type: KVInt, Int: 1}}},
				}},
				{Key: "emptylist", Type: KVNested},
				{Key: "cp1250 bytes", Type: KVString, Str: "\x8a\x9e\xe8"},
			})},
		{"max_nesting", New(EventUserEvent).SetList(AttrUserData, nested(1))},
		{"unknown_ids_and_kind_markers", &Message{Type: 999, Attrs: []Attr{
			{ID: 700, Kind: KindConnID, Conn: 0x0000000000000001},
			{ID: 701, Kind: KindInt, Int: 1234567890123456},
			{ID: AttrConnID, Kind: KindInt, Int: 5},
			{ID: AttrTransferConnID, Kind: KindInt, Int: -5},
			{ID: AttrCallID, Kind: KindConnID, Conn: 0x1234},
			{ID: AttrThisDN, Kind: KindInt, Int: 5001},
			{ID: AttrConnID, Kind: KindString, Str: "not a connid"},
			{ID: AttrReasons, Kind: KindList, List: KVList{{Key: "ReasonCode", Type: KVString, Str: "Break"}}},
			{ID: 0xFFFF, Kind: KindList},
		}}},
	}
}

// randomMessage builds a valid random message for property tests.
func randomMessage(r *rand.Rand) *Message {
	m := &Message{Type: MessageType(r.IntN(200))}
	ids := []AttrID{AttrConnID, AttrThisDN, AttrUserData, AttrCallType, AttrCallID, 700, 0xF123}
	for range r.IntN(8) {
		a := Attr{ID: ids[r.IntN(len(ids))], Kind: Kind(1 + r.IntN(4))}
		switch a.Kind {
		case KindInt:
			a.Int = int64(r.Uint64())
		case KindString:
			a.Str = randomString(r)
		case KindConnID:
			a.Conn = ConnID(r.Uint64() >> r.IntN(64))
		case KindList:
			a.List = randomList(r, 1)
		}
		m.Attrs = append(m.Attrs, a)
	}
	return m
}

func randomList(r *rand.Rand, depth int) KVList {
	var l KVList
	for range r.IntN(5) {
		kv := KV{Key: randomString(r), Type: KVType(r.IntN(5))}
		switch kv.Type {
		case KVString:
			kv.Str = randomString(r)
		case KVUnicode:
			kv.Str = strings.ToValidUTF8(randomString(r), "?")
		case KVInt:
			kv.Int = int32(r.Uint32())
		case KVBinary:
			kv.Bin = []byte(randomString(r))
		case KVNested:
			if depth < MaxDepth {
				kv.List = randomList(r, depth+1)
			}
		}
		l = append(l, kv)
	}
	return l
}

func randomString(r *rand.Rand) string {
	const alphabet = "aZ09 '\\\t\n\r\x00\x7f\xff\xc3\xa9é日#@[]"
	b := make([]byte, r.IntN(12))
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

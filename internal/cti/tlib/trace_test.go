package tlib

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTraceGolden(t *testing.T) {
	for _, s := range samples() {
		t.Run(s.name, func(t *testing.T) {
			got := s.msg.Trace()
			path := filepath.Join("testdata", "trace", s.name+".trace")
			if want := golden(t, path, got); got != want {
				t.Errorf("trace differs from %s\ngot:\n%s\nwant:\n%s", path, got, want)
			}
		})
	}
}

// TestTraceContractExample: the example of docs/dev/issue3-contracts.md,
// byte for byte.
func TestTraceContractExample(t *testing.T) {
	m := New(EventEstablished).
		SetStr(AttrThisDN, "5001").
		SetConn(AttrConnID, 0x006502a8c4e1b001).
		SetInt(AttrCallType, 2).
		SetList(AttrUserData, KVList{
			{Key: "GSIP_RECORD", Type: KVString, Str: "ON"},
			{Key: "Priority", Type: KVInt, Int: 5},
		})
	want := "message EventEstablished\n" +
		"\tAttributeThisDN\t'5001'\n" +
		"\tAttributeConnID\t006502a8c4e1b001\n" +
		"\tAttributeCallType\t2\n" +
		"\tAttributeUserData\t[2]\n" +
		"\t\t'GSIP_RECORD'\t'ON'\n" +
		"\t\t'Priority'\t5\n"
	if got := m.Trace(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func parseOne(t *testing.T, text string) *Message {
	t.Helper()
	entries, err := ParseTrace(strings.NewReader(text))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if len(entries) != 1 || entries[0].At != 0 {
		t.Fatalf("got %d entries, want 1 without offset", len(entries))
	}
	return entries[0].Msg
}

func TestTraceRoundTripSamples(t *testing.T) {
	for _, s := range samples() {
		t.Run(s.name, func(t *testing.T) {
			if got := parseOne(t, s.msg.Trace()); !got.Equal(s.msg) {
				t.Errorf("round trip:\n%s\nwant:\n%s", got.Trace(), s.msg.Trace())
			}
		})
	}
}

func TestTraceRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var entries []TraceEntry
	for i := range 2000 {
		m := randomMessage(r)
		if got := parseOne(t, m.Trace()); !got.Equal(m) {
			t.Fatalf("message %d: round trip:\n%s\nwant:\n%s", i, got.Trace(), m.Trace())
		}
		entries = append(entries, TraceEntry{At: time.Duration(r.IntN(3)) * 1500 * time.Millisecond, Msg: m})
	}
	var b strings.Builder
	if err := WriteTrace(&b, entries); err != nil {
		t.Fatal(err)
	}
	got, err := ParseTrace(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(entries) {
		t.Fatalf("got %d entries, want %d", len(got), len(entries))
	}
	for i := range got {
		if got[i].At != entries[i].At || !got[i].Msg.Equal(entries[i].Msg) {
			t.Fatalf("entry %d: got @%v\n%s\nwant @%v\n%s", i, got[i].At, got[i].Msg.Trace(), entries[i].At, entries[i].Msg.Trace())
		}
	}
}

// TestParseTraceContractFile reads a hand-written contract-test style file
// (offsets, comments, spaces instead of tabs, a pasted log line with a hex
// dump after the list count and a clock comment after an int).
func TestParseTraceContractFile(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "trace", "contract_inbound.input"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ParseTrace(f)
	if err != nil {
		t.Fatal(err)
	}
	const conn = ConnID(0x006502a8c4e1b001)
	const uuid = "0123456789ABCDEFGHIJKLMNOPQRSTUV"
	want := []TraceEntry{
		{0, New(EventQueued).SetStr(AttrThisDN, "7000").SetConn(AttrConnID, conn).SetStr(AttrCallUUID, uuid).
			SetInt(AttrCallType, CallTypeInbound).SetStr(AttrANI, "+420601000111").SetStr(AttrDNIS, "8000")},
		{1500 * time.Millisecond, New(EventRinging).SetStr(AttrThisDN, "5001").SetStr(AttrOtherDN, "+420601000111").
			SetConn(AttrConnID, conn).SetInt(AttrTimeInSecs, 1700000000)},
		{4 * time.Second, New(EventEstablished).SetStr(AttrThisDN, "5001").SetConn(AttrConnID, 0x6502a8c4e1b001).
			SetStr(AttrAgentID, "agent01").SetList(AttrUserData, KVList{
			{Key: UserDataRecord, Type: KVString, Str: RecordOn},
			{Key: "Customer", Type: KVNested, List: KVList{{Key: "Tier", Type: KVString, Str: "gold"}}},
		})},
		{0, New(EventACK).SetInt(AttrReferenceID, 3)},
		{2 * time.Minute, New(EventReleased).SetStr(AttrThisDN, "5001").SetConn(AttrConnID, conn).
			SetInt(AttrCallState, CallStateOk)},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].At != want[i].At || !got[i].Msg.Equal(want[i].Msg) {
			t.Errorf("entry %d: got @%v\n%s\nwant @%v\n%s", i, got[i].At, got[i].Msg.Trace(), want[i].At, want[i].Msg.Trace())
		}
	}
}

func TestParseTraceErrors(t *testing.T) {
	tests := []struct{ name, in string }{
		{"attribute before message", "\tAttributeThisDN\t'5001'\n"},
		{"unknown message", "message EventNoSuch\n"},
		{"message without name", "message\n"},
		{"message glued", "messageEventRinging\n"},
		{"unknown attribute", "message EventRinging\n\tAttributeNoSuch\t1\n"},
		{"attribute number too big", "message EventRinging\n\tAttribute70000\t1\n"},
		{"no value", "message EventRinging\n\tAttributeThisDN\n"},
		{"unterminated string", "message EventRinging\n\tAttributeThisDN\t'5001\n"},
		{"text after string", "message EventRinging\n\tAttributeThisDN\t'5001' x\n"},
		{"bad escape", "message EventRinging\n\tAttributeThisDN\t'\\q'\n"},
		{"bad hex escape", "message EventRinging\n\tAttributeThisDN\t'\\xZZ'\n"},
		{"bad value", "message EventRinging\n\tAttributeCallType\tinbound\n"},
		{"int overflow", "message EventRinging\n\tAttributeCallType\t99999999999999999999\n"},
		{"bad connid", "message EventRinging\n\tAttributeConnID\t0x12345678901234567\n"},
		{"list short", "message EventRinging\n\tAttributeUserData\t[2]\n\t\t'a'\t'b'\n"},
		{"list bad count", "message EventRinging\n\tAttributeUserData\t[x]\n"},
		{"pair without key", "message EventRinging\n\tAttributeUserData\t[1]\n\t\ta\t'b'\n"},
		{"pair without value", "message EventRinging\n\tAttributeUserData\t[1]\n\t\t'a'\n"},
		{"pair int overflow", "message EventRinging\n\tAttributeUserData\t[1]\n\t\t'a'\t2147483648\n"},
		{"pair bad binary", "message EventRinging\n\tAttributeUserData\t[1]\n\t\t'a'\tx'abc'\n"},
		{"pair invalid Unicode", "message EventRinging\n\tAttributeUserData\t[1]\n\t\t'a'\tu'\\xff'\n"},
		{"nested too deep", "message EventRinging\n\tAttributeUserData\t[1]\n" + strings.Repeat("'a' [1]\n", MaxDepth) + "'b' 1\n"},
		{"offset at end", "message EventRinging\n@+1s\n"},
		{"two offsets", "@+1s\n@+2s\nmessage EventRinging\n"},
		{"bad offset", "@+soon\nmessage EventRinging\n"},
		{"negative offset", "@+-1s\nmessage EventRinging\n"},
		{"offset without plus", "@1s\nmessage EventRinging\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTrace(strings.NewReader(tt.in))
			if !errors.Is(err, ErrTrace) {
				t.Fatalf("ParseTrace = %d entries, %v; want ErrTrace", len(got), err)
			}
		})
	}
}

func TestWriteTraceOffsets(t *testing.T) {
	entries := []TraceEntry{
		{Msg: New(EventRinging).SetStr(AttrThisDN, "5001")},
		{At: 1500 * time.Millisecond, Msg: New(EventEstablished).SetStr(AttrThisDN, "5001")},
	}
	var b strings.Builder
	if err := WriteTrace(&b, entries); err != nil {
		t.Fatal(err)
	}
	want := "message EventRinging\n\tAttributeThisDN\t'5001'\n\n@+1.5s\nmessage EventEstablished\n\tAttributeThisDN\t'5001'\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func BenchmarkTrace(b *testing.B) {
	m := samples()[0].msg
	b.ReportAllocs()
	for b.Loop() {
		_ = m.Trace()
	}
}

package rtpin

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pion/rtp"

	"github.com/openrec/openrec/internal/media"
)

// marshalRTP builds a packet with pion/rtp (the reference encoder).
func marshalRTP(t testing.TB, p *rtp.Packet) []byte {
	t.Helper()
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRTP(t *testing.T) {
	payload := []byte{0xd5, 0xd5, 0xd5, 0xd5, 0x55}
	base := rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: 65535, Timestamp: 0xdeadbeef, SSRC: 0x11223344}
	withCSRC := base
	withCSRC.CSRC = []uint32{1, 2, 3}
	withMarker := base
	withMarker.Marker = true
	withMarker.PayloadType = 127
	withExt := base
	if err := withExt.SetExtension(1, []byte{0xaa, 0xbb}); err != nil {
		t.Fatal(err)
	}

	rfc3550Ext := []byte{ // X=1, profile 0x1234, length 1 word
		0x90, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 9,
		0x12, 0x34, 0x00, 0x01, 1, 2, 3, 4,
		0xff, 0xfe,
	}
	padded := []byte{ // P=1, 3 octets of padding
		0xa0, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 9,
		0x7f, 0x7e, 0, 0, 3,
	}

	tests := []struct {
		name    string
		in      []byte
		wantErr error
		want    media.Packet
	}{
		{name: "plain", in: marshalRTP(t, &rtp.Packet{Header: base, Payload: payload}),
			want: media.Packet{SSRC: 0x11223344, Seq: 65535, Timestamp: 0xdeadbeef, PayloadType: 8, Payload: payload}},
		{name: "csrcs", in: marshalRTP(t, &rtp.Packet{Header: withCSRC, Payload: payload}),
			want: media.Packet{SSRC: 0x11223344, Seq: 65535, Timestamp: 0xdeadbeef, PayloadType: 8, Payload: payload}},
		{name: "marker and pt 127", in: marshalRTP(t, &rtp.Packet{Header: withMarker, Payload: payload}),
			want: media.Packet{SSRC: 0x11223344, Seq: 65535, Timestamp: 0xdeadbeef, PayloadType: 127, Marker: true, Payload: payload}},
		{name: "one-byte extension", in: marshalRTP(t, &rtp.Packet{Header: withExt, Payload: payload}),
			want: media.Packet{SSRC: 0x11223344, Seq: 65535, Timestamp: 0xdeadbeef, PayloadType: 8, Payload: payload}},
		{name: "rfc3550 extension", in: rfc3550Ext,
			want: media.Packet{SSRC: 9, Seq: 1, Payload: []byte{0xff, 0xfe}}},
		{name: "padding", in: padded,
			want: media.Packet{SSRC: 9, Seq: 1, Payload: []byte{0x7f, 0x7e}}},
		{name: "empty payload", in: marshalRTP(t, &rtp.Packet{Header: base}),
			want: media.Packet{SSRC: 0x11223344, Seq: 65535, Timestamp: 0xdeadbeef, PayloadType: 8, Payload: []byte{}}},

		{name: "empty", in: nil, wantErr: errRTPShort},
		{name: "11 bytes", in: make([]byte, 11), wantErr: errRTPShort},
		{name: "version 0", in: make([]byte, 20), wantErr: errRTPVersion},
		{name: "version 1", in: append([]byte{0x40}, make([]byte, 19)...), wantErr: errRTPVersion},
		{name: "version 3", in: append([]byte{0xc0}, make([]byte, 19)...), wantErr: errRTPVersion},
		{name: "csrc count beyond datagram", in: append([]byte{0x8f}, make([]byte, 60)...), wantErr: errRTPCSRC},
		{name: "extension header missing", in: append([]byte{0x90}, make([]byte, 13)...), wantErr: errRTPExtension},
		{name: "extension length beyond datagram", in: rfc3550Ext[:19], wantErr: errRTPExtension},
		{name: "padding bit, no room", in: append([]byte{0xa0}, make([]byte, 11)...), wantErr: errRTPPadding},
		{name: "padding count zero", in: append(append([]byte{}, padded[:16]...), 0), wantErr: errRTPPadding},
		{name: "padding longer than payload", in: append(append([]byte{}, padded[:16]...), 6), wantErr: errRTPPadding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got media.Packet
			err := parseRTP(tt.in, &got)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.SSRC != tt.want.SSRC || got.Seq != tt.want.Seq || got.Timestamp != tt.want.Timestamp ||
				got.PayloadType != tt.want.PayloadType || got.Marker != tt.want.Marker ||
				!bytes.Equal(got.Payload, tt.want.Payload) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestIsRTCP(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want bool
	}{
		{"sender report", []byte{0x80, 200}, true},
		{"receiver report", []byte{0x81, 201}, true},
		{"sdes", []byte{0x81, 202}, true},
		{"bye", []byte{0x81, 203}, true},
		{"app", []byte{0x80, 204}, true},
		{"transport feedback", []byte{0x81, 205}, true},
		{"xr", []byte{0x80, 207}, true},
		{"rtp pcmu", []byte{0x80, 0}, false},
		{"rtp pcma with marker", []byte{0x80, 0x88}, false},
		{"rtp dynamic 101 with marker", []byte{0x80, 0x80 | 101}, false},
		{"rtp pt 127 with marker", []byte{0x80, 0xff}, false},
		{"version 1", []byte{0x40, 200}, false},
		{"one byte", []byte{0x80}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isRTCP(tt.in); got != tt.want {
				t.Fatalf("isRTCP(% x) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzParseRTP checks parseRTP against pion/rtp: whatever pion accepts with
// version 2 parseRTP accepts with the same fields; whatever parseRTP
// accepts has an in-bounds payload and, when pion parses it too, the same
// fields. (pion additionally rejects malformed RFC 8285 extension elements,
// which parseRTP does not look into.)
func FuzzParseRTP(f *testing.F) {
	payload := bytes.Repeat([]byte{0xff}, 160)
	h := rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 1, Timestamp: 160, SSRC: 42}
	f.Add(marshalRTP(f, &rtp.Packet{Header: h, Payload: payload}))
	h.CSRC = []uint32{7, 8}
	h.Marker = true
	f.Add(marshalRTP(f, &rtp.Packet{Header: h, Payload: payload[:20]}))
	h.CSRC = nil
	_ = h.SetExtension(3, []byte{1, 2, 3})
	f.Add(marshalRTP(f, &rtp.Packet{Header: h, Payload: payload[:4]}))
	f.Add([]byte{0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0x7f, 0, 2})
	f.Add([]byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0x12, 0x34, 0, 1, 1, 2, 3, 4})
	f.Add([]byte{0x80, 200, 0, 6})
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, b []byte) {
		var got media.Packet
		err := parseRTP(b, &got)
		var ref rtp.Packet
		refErr := ref.Unmarshal(b)
		if err == nil {
			if len(b) < rtpHeaderLen || b[0]>>6 != 2 {
				t.Fatalf("accepted a packet that is too short or not version 2: % x", b)
			}
			if len(got.Payload) > len(b)-rtpHeaderLen {
				t.Fatalf("payload of %d bytes from a %d-byte datagram", len(got.Payload), len(b))
			}
			if len(got.Payload) > 0 && !contains(b, got.Payload) {
				t.Fatalf("payload is not a subslice of the datagram")
			}
		}
		if refErr == nil && ref.Version == 2 && err != nil {
			t.Fatalf("pion accepts, parseRTP says %v: % x", err, b)
		}
		if err == nil && refErr == nil {
			if got.SSRC != ref.SSRC || got.Seq != ref.SequenceNumber || got.Timestamp != ref.Timestamp ||
				got.PayloadType != ref.PayloadType || got.Marker != ref.Marker || !bytes.Equal(got.Payload, ref.Payload) {
				t.Fatalf("parseRTP %+v\npion %+v", got, ref)
			}
		}
	})
}

// contains reports whether sub's backing array lies inside b.
func contains(b, sub []byte) bool {
	if len(sub) == 0 {
		return true
	}
	for i := range b {
		if &b[i] == &sub[0] {
			return i+len(sub) <= len(b)
		}
	}
	return false
}

func TestParseRTPAllocs(t *testing.T) {
	b := marshalRTP(t, &rtp.Packet{
		Header:  rtp.Header{Version: 2, SequenceNumber: 1, SSRC: 1, CSRC: []uint32{1}},
		Payload: make([]byte, 160),
	})
	var p media.Packet
	if n := testing.AllocsPerRun(100, func() {
		if err := parseRTP(b, &p); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("parseRTP allocates %v times per packet", n)
	}
}

func BenchmarkParse(b *testing.B) {
	pkt := marshalRTP(b, &rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: 1, Timestamp: 160, SSRC: 0xcafe},
		Payload: make([]byte, 160),
	})
	var p media.Packet
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if err := parseRTP(pkt, &p); err != nil {
			b.Fatal(err)
		}
	}
}

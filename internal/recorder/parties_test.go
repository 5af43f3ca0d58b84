package recorder

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openrec/openrec/internal/sip/sdpoa"
	"github.com/openrec/openrec/internal/sip/siprec"
	"github.com/openrec/openrec/internal/sip/sipsrv"
	"github.com/openrec/openrec/internal/store"
)

func dialect(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "sip", "siprec", "testdata", "dialects", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// partiesString is "channel:dn/label" per party, in order.
func partiesString(ps []store.Party) string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%d:%s/%s", p.Channel, p.DN, p.Label))
	}
	return strings.Join(out, " ")
}

// Parties from metadata, completely (issue 12): every participant is
// stored whether or not it sends a stream, a mixed stream lists all its
// senders, participants added by a later UPDATE are merged in, the draft
// dialect maps like RFC 7865, and a body without associations keeps its
// participants (on no channel) with a flagged problem.
func TestSIPRECPartiesFromMetadata(t *testing.T) {
	p3 := []byte(`<recording xmlns="urn:ietf:params:xml:ns:recording:1"><datamode>partial</datamode>
<participant participant_id="cGFydC1k"><nameID aor="sip:+15550999@carrier.example.org"><name>Transfer target</name></nameID></participant>
<participantstreamassoc participant_id="cGFydC1k"><recv>c3RyZWFtLW1peA==</recv></participantstreamassoc></recording>`)
	tests := []struct {
		name     string
		streams  int
		first    []byte
		update   []byte // metadata of a later UPDATE (nil: none)
		parties  string
		recorded string
		other    string
		problem  string // in MetadataProblem ("" = none)
	}{
		{name: "mixed stream with three participants", streams: 1, first: dialect(t, "rfc7865-mixed-three.xml"),
			parties: "0:2001/1 0:+15550177/1 0:2999/1", recorded: "2001", other: "+15550177"},
		{name: "participant that only receives, added by an UPDATE", streams: 1, first: dialect(t, "rfc7865-mixed-three.xml"), update: p3,
			parties: "0:2001/1 0:+15550177/1 0:2999/1 -1:+15550999/", recorded: "2001", other: "+15550177"},
		{name: "draft dialect, mixed stream", streams: 1, first: dialect(t, "draft-broadworks-mixed.xml"),
			parties: "0:agent42/1 0:+15550142/1", recorded: "agent42", other: "+15550142"},
		{name: "draft dialect, a sender added by a partial update", streams: 1, first: dialect(t, "draft-broadworks-mixed.xml"), update: dialect(t, "draft-partial-add.xml"),
			parties: "0:agent42/1 0:+15550142/1 0:supervisor7/1", recorded: "agent42", other: "+15550142"},
		{name: "draft dialect, one stream per party", streams: 2, first: dialect(t, "draft-webex-separate.xml"),
			parties: "0:+14155550100/1 1:+14155550199/2", recorded: "+14155550100", other: "+14155550199"},
		{name: "no participantstreamassoc", streams: 2, first: dialect(t, "rfc7865-no-assoc.xml"),
			parties: "0:/1 1:/2 -1:3100/ -1:+15550123/", recorded: "", other: "3100", problem: "no participantstreamassoc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			sdp := parseSDP(t, siprecSDP(tt.streams, 41500, "sendonly"))
			if _, err := f.invite(ctx, &sipsrv.Invite{CallID: "pt", Kind: sipsrv.KindSIPREC, SDP: sdp, Metadata: tt.first}); err != nil {
				t.Fatal(err)
			}
			if tt.update != nil {
				if _, err := f.r.Reinvite(ctx, &sipsrv.Invite{CallID: "pt", Kind: sipsrv.KindSIPREC, Method: "UPDATE", Metadata: tt.update}); err != nil {
					t.Fatal(err)
				}
			}
			f.r.Bye("pt", "bye")
			rec := onlyRecording(t, f.db)
			if got := partiesString(rec.Parties); got != tt.parties {
				t.Errorf("parties %q, want %q", got, tt.parties)
			}
			if rec.RecordedDN != tt.recorded || rec.OtherDN != tt.other {
				t.Errorf("recorded/other DN %q/%q, want %q/%q", rec.RecordedDN, rec.OtherDN, tt.recorded, tt.other)
			}
			if (tt.problem == "") != (rec.MetadataProblem == "") || !strings.Contains(rec.MetadataProblem, tt.problem) {
				t.Errorf("metadata problem %q, want %q", rec.MetadataProblem, tt.problem)
			}
		})
	}
}

// Every participant of every captured vendor body (testdata of siprec)
// reaches the parties of its recording, with its AOR.
func TestVendorBodiesStoreEveryParticipant(t *testing.T) {
	cases := map[string]string{ // fixture → Content-Type it arrived with
		"acme-siprec-offer.txt":    "multipart/mixed;boundary=unique-boundary-1",
		"avaya-siprec-offer.txt":   "multipart/mixed; boundary=unique-boundary-1",
		"cisco-siprec-offer.txt":   "multipart/mixed;boundary=uniqueBoundary",
		"connectel-offer.txt":      `multipart/mixed;boundary="OSS-unique-boundary-42"`,
		"inactive-sdp-offer.txt":   "multipart/mixed",
		"procomm-siprec-offer.txt": "multipart/mixed;boundary=not-the-one-used",
		"sonus-siprec-offer.txt":   "multipart/mixed;boundary=sonus-content-delim",
	}
	for name, ct := range cases {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "sip", "siprec", "testdata", "vendors", name))
			if err != nil {
				t.Fatal(err)
			}
			b, err := siprec.SplitBody(ct, raw)
			if err != nil {
				t.Fatal(err)
			}
			md, _ := siprec.ParseMetadata(b.Metadata)
			sdp, err := sdpoa.ParseOffer(b.SDP)
			if err != nil {
				t.Fatal(err)
			}
			f := newFixture(t)
			if _, err := f.invite(context.Background(), &sipsrv.Invite{CallID: "v", Kind: sipsrv.KindSIPREC, SDP: sdp, Metadata: b.Metadata}); err != nil {
				t.Fatal(err)
			}
			f.r.Bye("v", "bye")
			rec := onlyRecording(t, f.db)
			stored := map[string]bool{}
			for _, p := range rec.Parties {
				stored[p.AOR] = true
			}
			for _, p := range md.Participants {
				if p.AOR != "" && !stored[p.AOR] {
					t.Errorf("participant %s (%s) not stored: parties %s", p.ID, p.AOR, partiesString(rec.Parties))
				}
			}
		})
	}
}

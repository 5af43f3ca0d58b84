package recorder

import (
	"fmt"
	"strings"

	"github.com/openrec/openrec/internal/sip/sdpoa"
	"github.com/openrec/openrec/internal/sip/siprec"
	"github.com/openrec/openrec/internal/store"
)

// NoChannel is the Party.Channel of a SIPREC participant that sends none of
// the recorded streams (a callee that only receives, a participant whose
// stream association is unknown): stored, but on no channel of the file.
const NoChannel = -1

// sipRECParties maps the session's streams and the metadata's participants
// to parties (issue 12: every participant, completely):
//   - each recordable audio stream (channel in m-line order) gets one party
//     per participant that sends it — a mixed stream lists all of them — or,
//     when nobody is known to send it, one party with its channel and label;
//   - then every participant that sends none of the recorded streams, on
//     NoChannel, with its name, AOR and role.
//
// md is the merged metadata of the session (complete and partial updates).
func sipRECParties(sdp *sdpoa.Session, md *siprec.Metadata) []store.Party {
	var out []store.Party
	onChannel := map[*siprec.Participant]bool{}
	ch := 0
	for _, m := range sdp.Media {
		if m.Type != "audio" || !m.Recordable() {
			continue
		}
		var senders []*siprec.Participant
		if md != nil && m.Label != "" {
			senders = md.SendersOfLabel(m.Label)
		}
		if len(senders) == 0 {
			out = append(out, store.Party{Channel: ch, Role: "participant", Label: m.Label})
		}
		for _, p := range senders {
			out = append(out, partyOf(p, ch, m.Label))
			onChannel[p] = true
		}
		ch++
	}
	if md != nil {
		for i := range md.Participants {
			p := &md.Participants[i]
			if !onChannel[p] && (p.ID != "" || p.AOR != "") {
				out = append(out, partyOf(p, NoChannel, ""))
			}
		}
	}
	return out
}

func partyOf(p *siprec.Participant, ch int, label string) store.Party {
	role := p.Role
	if role == "" {
		role = "participant"
	}
	return store.Party{Channel: ch, Role: role, Label: label, AOR: p.AOR, Name: p.Name, ParticipantID: p.ID, DN: dnOf(p.AOR)}
}

// setSIPRECParties stores the parties and, for search by DN, sets the
// recorded DN (the first sender of channel 0) and the other DN: the first
// sender of another channel, else the next sender of a mixed channel 0,
// else a participant on no channel.
func setSIPRECParties(rec *store.Recording, parties []store.Party) {
	rec.Parties = parties
	first := func(keep func(store.Party) bool) string {
		for _, p := range parties {
			if p.DN != "" && keep(p) {
				return p.DN
			}
		}
		return ""
	}
	if dn := first(func(p store.Party) bool { return p.Channel == 0 }); dn != "" {
		rec.RecordedDN = dn
	}
	other := first(func(p store.Party) bool { return p.Channel > 0 && p.DN != rec.RecordedDN })
	if other == "" {
		other = first(func(p store.Party) bool { return p.Channel == 0 && p.DN != rec.RecordedDN })
	}
	if other == "" {
		other = first(func(p store.Party) bool { return p.Channel == NoChannel && p.DN != rec.RecordedDN })
	}
	if other != "" {
		rec.OtherDN = other
	}
}

// unassociatedProblem flags the participants of the merged metadata that
// are associated with no stream ("" when there is none to flag).
func unassociatedProblem(md *siprec.Metadata) string {
	ids := md.Unassociated()
	if len(ids) == 0 || len(md.Streams) == 0 || len(ids) == len(md.Participants) {
		return "" // none, or none at all: the parser flags a document without associations
	}
	return fmt.Sprintf("participants without stream association: %s", strings.Join(ids, ", "))
}

package recorder

import (
	"github.com/openrec/openrec/internal/sip/sipsrv"
	"github.com/openrec/openrec/internal/store"
)

// Recordings that are neither Genesys MSR nor SIPREC (issue 12):
//   - CUCM built-in bridge: the near-end and far-end INVITEs of one
//     recorded phone (same x-refci and near-end address) join one
//     two-channel recording: near end (the recorded phone's voice) on
//     channel 0, far end on channel 1;
//   - CUBE media forking: one INVITE, one channel per audio m-line, each
//     named by its X-Cisco-Recording-Participant media-index;
//   - a plain INVITE: one recording of what it offers (one channel per
//     audio m-line), never an MSR leg waiting for a partner.

// otherKey is the call key of the kinds above.
func otherKey(inv *sipsrv.Invite) string {
	if inv.Kind == sipsrv.KindCiscoBiB {
		return "cisco-bib|" + inv.Cisco.RefCI + "|" + inv.Cisco.NearAddr
	}
	return string(inv.Kind) + "|" + inv.CallID
}

// openOther fills a new recording of the kinds above (c.mu held).
func (c *call) openOther(rec *store.Recording, inv *sipsrv.Invite) {
	cisco := inv.Cisco
	switch inv.Kind {
	case sipsrv.KindCiscoBiB:
		rec.Mode = store.ModeCisco
		rec.Channels = 2
		c.expectLegs = 2
		rec.RecordedDN, rec.OtherDN = cisco.NearAddr, cisco.FarAddr
		rec.Parties = []store.Party{
			{Channel: 0, Role: "near-end", DN: cisco.NearAddr},
			{Channel: 1, Role: "far-end", DN: cisco.FarAddr},
		}
		rec.ExternalData = map[string]string{"cisco_refci": cisco.RefCI}
		setIf(rec.ExternalData, "cisco_near_device", cisco.NearDevice)
		setIf(rec.ExternalData, "cisco_far_device", cisco.FarDevice)
	case sipsrv.KindCiscoFork:
		rec.Mode = store.ModeCisco
		rec.Channels = max(1, audioCount(inv.SDP))
		if inv.SDP == nil {
			rec.Channels = 2
		}
		c.expectLegs = 1
		rec.Parties = forkParties(inv)
		for _, p := range rec.Parties {
			switch {
			case p.DN == "":
			case rec.RecordedDN == "":
				rec.RecordedDN = p.DN
			case rec.OtherDN == "" && p.DN != rec.RecordedDN:
				rec.OtherDN = p.DN
			}
		}
		rec.ExternalData = map[string]string{}
	default: // plain
		rec.Mode = store.ModePlain
		rec.Channels = max(1, audioCount(inv.SDP))
		c.expectLegs = 1
		rec.RecordedDN = inv.MSR.DN
		rec.Parties = []store.Party{{Channel: 0, Role: "recorded", DN: inv.MSR.DN}}
		rec.ExternalData = map[string]string{}
	}
	setIf(rec.ExternalData, "cisco_guid", cisco.GUID)
	if len(rec.ExternalData) == 0 {
		rec.ExternalData = nil
	}
	rec.CallUUID = inv.GenesysCallUUID
}

// forkParties names the channels of a CUBE media-forking session: channel
// k is the k-th recordable audio m-line, its party the participant whose
// media-index holds that m-line.
func forkParties(inv *sipsrv.Invite) []store.Party {
	var out []store.Party
	if inv.SDP == nil {
		return out
	}
	ch := 0
	for i, m := range inv.SDP.Media {
		if m.Type != "audio" || !m.Recordable() {
			continue
		}
		p := store.Party{Channel: ch, Role: "participant", Label: m.Label}
		if cp := inv.Cisco.ParticipantFor(i); cp != nil {
			p.AOR, p.DN = cp.AOR, dnOf(cp.AOR)
		}
		out = append(out, p)
		ch++
	}
	return out
}

// bibChannels puts a BiB leg's audio on its end's channel.
func bibChannels(inv *sipsrv.Invite, n int) []int {
	ch := 1
	if inv.Cisco.NearEnd {
		ch = 0
	}
	out := make([]int, n)
	for i := range out {
		out[i] = ch
	}
	return out
}

func setIf(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

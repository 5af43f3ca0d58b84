package sipsrv

import (
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Cisco recording without SIPREC (issue 12).
//
// CUBE network-based recording (media forking) sends the recorder one
// INVITE with one a=sendonly m-line per party and, per party, an
// X-Cisco-Recording-Participant header naming it and its m-line(s):
//
//	X-Cisco-Recording-Participant: sip:708090@10.42.30.5;media-index="0"
//	X-Cisco-Recording-Participant: sip:10000@10.42.30.32;media-index="1"
//
// CUCM built-in-bridge (BiB) recording sends two INVITEs (usually delayed
// offers: the SDP comes in the ACK), one for the near end (the recorded
// phone's voice) and one for the far end, told apart by the From URI
// parameters x-nearend / x-farend, and paired by x-refci (the same in
// both) and the addresses x-nearendaddr / x-farendaddr:
//
//	From: <sip:9110001@cucm;x-nearend;x-refci=38960750;x-nearendaddr=9110001;x-farendaddr=9110006>;tag=...

// Kinds of Cisco and plain sessions.
const (
	KindCiscoFork Kind = "cisco-fork" // CUBE media forking: one INVITE, one m-line per party
	KindCiscoBiB  Kind = "cisco-bib"  // CUCM built-in bridge: near-end and far-end INVITEs
	KindPlain     Kind = "plain"      // any other INVITE with audio: recorded as offered
)

// CiscoParams are what a Cisco recording INVITE says about the call.
type CiscoParams struct {
	// BiB (CUCM built-in bridge): which end this INVITE carries, the
	// pairing key and both ends' addresses and devices.
	NearEnd               bool
	RefCI                 string
	NearAddr, FarAddr     string
	NearDevice, FarDevice string
	// CUBE media forking: the participants by m-line index.
	Participants []CiscoParticipant
	// GUID is the Cisco-Guid header (the same for the call and its fork).
	GUID string
}

// CiscoParticipant is one X-Cisco-Recording-Participant header.
type CiscoParticipant struct {
	AOR        string
	MediaIndex []int // m-line indexes (0-based) this party sends on
}

// ParticipantFor returns the participant whose media-index holds the
// m-line index i, or nil.
func (c CiscoParams) ParticipantFor(i int) *CiscoParticipant {
	for k := range c.Participants {
		for _, x := range c.Participants[k].MediaIndex {
			if x == i {
				return &c.Participants[k]
			}
		}
	}
	return nil
}

// parseCisco recognises a Cisco recording INVITE. ok is false for any
// other request.
func parseCisco(req *sip.Request) (CiscoParams, Kind, bool) {
	p := CiscoParams{GUID: headerValue(req, "Cisco-Guid")}
	if f := req.From(); f != nil {
		params := f.Address.UriParams
		_, near := params.Get("x-nearend")
		_, far := params.Get("x-farend")
		refci, _ := params.Get("x-refci")
		if (near || far) && refci != "" {
			p.NearEnd = near
			p.RefCI = refci
			p.NearAddr, _ = params.Get("x-nearendaddr")
			p.FarAddr, _ = params.Get("x-farendaddr")
			p.NearDevice, _ = params.Get("x-nearenddevice")
			p.FarDevice, _ = params.Get("x-farenddevice")
			return p, KindCiscoBiB, true
		}
	}
	for _, h := range req.GetHeaders("X-Cisco-Recording-Participant") {
		if cp, ok := parseRecordingParticipant(h.Value()); ok {
			p.Participants = append(p.Participants, cp)
		}
	}
	if len(p.Participants) > 0 {
		return p, KindCiscoFork, true
	}
	return CiscoParams{}, "", false
}

// parseRecordingParticipant reads `[<]sip:user@host[>];media-index="0 2"`.
func parseRecordingParticipant(v string) (CiscoParticipant, bool) {
	v = strings.TrimSpace(v)
	var cp CiscoParticipant
	aor, params := v, ""
	if strings.HasPrefix(v, "<") {
		if j := strings.IndexByte(v, '>'); j > 0 {
			aor, params = v[1:j], v[j+1:]
		}
	} else if i := strings.IndexByte(v, ';'); i >= 0 {
		aor, params = v[:i], v[i:]
	}
	cp.AOR = strings.TrimSpace(aor)
	for _, kv := range strings.Split(params, ";") {
		k, val, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if !strings.EqualFold(strings.TrimSpace(k), "media-index") {
			continue
		}
		for _, f := range strings.Fields(strings.Trim(strings.TrimSpace(val), `"“”`)) {
			if n, err := strconv.Atoi(f); err == nil && n >= 0 {
				cp.MediaIndex = append(cp.MediaIndex, n)
			}
		}
	}
	return cp, cp.AOR != ""
}

package app

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/capture/follow"
	"github.com/openrec/openrec/internal/cti/callcore"
	"github.com/openrec/openrec/internal/cti/conversation"
)

type fakeLive []callcore.LiveCTICall

func (f fakeLive) LiveCalls() []callcore.LiveCTICall { return f }

// TestEPRIdentify: the CallUUID a switch copies into SIP wins; otherwise
// a monitored party that is the caller or callee, ANI/DNIS and the closest
// start pick the CTI call; a do-not-record decision refuses; no match
// records without CTI identity.
func TestEPRIdentify(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	agent := func(dn, state, rec, decision string) callcore.LiveParty {
		return callcore.LiveParty{DN: dn, State: state, Monitored: true, RecordID: rec, Decision: decision}
	}
	calls := fakeLive{
		{CallUUID: "OLD", ANI: "+1555", DNIS: "7000", Started: t0.Add(-time.Hour), Parties: []callcore.LiveParty{agent("5004", "held", "", "")}},
		{CallUUID: "NEW", ANI: "+1555", DNIS: "7000", Started: t0, Parties: []callcore.LiveParty{agent("5004", "established", "r-42", "")}},
		{CallUUID: "OTHER", ANI: "+1999", Started: t0, Parties: []callcore.LiveParty{agent("5005", "established", "", "")}},
		{CallUUID: "DNR", ANI: "+1777", Started: t0, Parties: []callcore.LiveParty{agent("5006", "established", "", "do-not-record")}},
		{CallUUID: "UNMON", ANI: "+1888", Started: t0, Parties: []callcore.LiveParty{{DN: "5007", State: "established"}}},
	}
	id := eprIdentify(calls, slog.New(slog.DiscardHandler))
	for _, tc := range []struct {
		name string
		in   follow.CallInfo
		uuid string
		dn   string
		rec  string // "" any local, else exact
		err  error
	}{
		{"dn, ani and the established party", follow.CallInfo{CallerDN: "+1555", CalleeDN: "5004", Start: t0}, "NEW", "5004", "r-42", nil},
		{"the header names the older call", follow.CallInfo{CallerDN: "+1555", CalleeDN: "5004", CallUUID: "OLD", Start: t0}, "OLD", "5004", "", nil},
		{"the agent calls out", follow.CallInfo{CallerDN: "5005", CalleeDN: "+1999", Start: t0}, "OTHER", "5005", "", nil},
		{"do-not-record", follow.CallInfo{CallerDN: "+1777", CalleeDN: "5006", Start: t0}, "", "", "", ErrDoNotRecord},
		{"an unmonitored DN", follow.CallInfo{CallerDN: "+1888", CalleeDN: "5007", Start: t0}, "", "", "-", nil},
		{"a header naming no live call", follow.CallInfo{CallerDN: "+1555", CalleeDN: "5004", CallUUID: "GONE", Start: t0}, "", "", "-", nil},
	} {
		got, err := id(tc.in)
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		if got.CallUUID != tc.uuid || got.RecordedDN != tc.dn {
			t.Errorf("%s: %+v, want call %q dn %q", tc.name, got, tc.uuid, tc.dn)
		}
		switch tc.rec {
		case "-":
			if got.RecordID != "" {
				t.Errorf("%s: record id %q for no CTI call", tc.name, got.RecordID)
			}
		case "":
			if !strings.HasPrefix(got.RecordID, conversation.LocalRecordPrefix) {
				t.Errorf("%s: record id %q, want a local one", tc.name, got.RecordID)
			}
		default:
			if got.RecordID != tc.rec {
				t.Errorf("%s: record id %q, want %q", tc.name, got.RecordID, tc.rec)
			}
		}
	}
}

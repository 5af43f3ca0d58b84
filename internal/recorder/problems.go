package recorder

import (
	"strings"

	"github.com/openrec/openrec/internal/sip/sdpoa"
	"github.com/openrec/openrec/internal/store"
)

// Problems the signalling had that were tolerated rather than refused
// (issue 12: be liberal where it costs nothing) are flagged on the
// recording next to the metadata problems, so that a person can see what
// the SBC sent wrong: stray lines skipped in an SDP part, metadata without
// stream associations, and so on.

// noteProblems adds problems not yet flagged to the call and the
// recording's MetadataProblem (c.mu held).
func (c *call) noteProblems(rec *store.Recording, problems ...string) {
	added := false
	for _, p := range problems {
		if p != "" && !contains(c.problems, p) {
			c.problems = append(c.problems, p)
			added = true
		}
	}
	if !added || rec == nil {
		return
	}
	have := []string{}
	if rec.MetadataProblem != "" {
		have = strings.Split(rec.MetadataProblem, "; ")
	}
	rec.MetadataProblem = strings.Join(dedupe(append(have, c.problems...)), "; ")
}

// noteSDPProblems flags what ParseOffer skipped in an offer.
func (c *call) noteSDPProblems(rec *store.Recording, s *sdpoa.Session) {
	if s != nil && len(s.Problems) > 0 {
		c.noteProblems(rec, s.Problems...)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

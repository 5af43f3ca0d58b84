package recorder

import (
	"fmt"
	"strings"
)

// silentChannels says which channels of a two-session MSR recording never
// received RTP although their leg came ("" when none, or when nothing was
// received at all: that is the "no RTP" failure). Such a recording is
// partial, not completed: one party is missing from it. Called with c.mu
// held, after the mixer was closed.
func (c *call) silentChannels() string {
	if c.expectLegs < 2 || len(c.legs) < c.expectLegs || c.closedPkts == 0 {
		return ""
	}
	var silent []string
	for ch := 0; ch < c.rec.Channels; ch++ {
		if c.mix.Stats(ch).Packets > 0 {
			continue
		}
		who := fmt.Sprintf("channel %d", ch)
		for _, p := range c.rec.Parties {
			if p.Channel == ch && p.DN != "" {
				who += " (" + p.DN + ")"
			}
		}
		silent = append(silent, who)
	}
	if len(silent) == 0 {
		return ""
	}
	return "no RTP on " + strings.Join(silent, ", ")
}

package recorder

import "time"

// LegCorrelator is optionally implemented by a Correlator that counts the
// SIP sessions of a recording (failed-recording detection: "one leg"):
// Started reports the first session, LegJoined every further one (the
// other party's MSR session). It must not block, like Started.
type LegCorrelator interface {
	LegJoined(s Session, at time.Time)
}

// legJoined tells the correlator a further leg joined c. Called with c.mu
// held.
func (r *Recorder) legJoined(c *call, at time.Time) {
	if lc, ok := r.cor.(LegCorrelator); ok {
		lc.LegJoined(c.session(), at)
	}
}

package conversation

import (
	"slices"
	"testing"
)

// Failed-recording detection counts the parties the SIP sessions carry,
// not the sessions, and reports an unmatched recording once.
func TestDetectCountsParties(t *testing.T) {
	t.Run("single session with both parties is whole", func(t *testing.T) {
		x := newH(t, nil)
		x.established(0, "5001", cust, conn1, uuid1)
		x.add(ms(200), x.e.SessionArrived("", uuid1, "5001", 2, at(ms(200))))
		x.audio(ms(300), uuid1, "5001")
		x.tick(10 * s)
		if al := x.alerts(); len(al) != 0 {
			t.Errorf("alerts %v, want none", al)
		}
	})
	t.Run("one session of one party is one-leg", func(t *testing.T) {
		x := newH(t, nil)
		x.established(0, "5001", cust, conn1, uuid1)
		x.add(ms(200), x.e.SessionArrived("", uuid1, "5001", 1, at(ms(200))))
		x.audio(ms(300), uuid1, "5001")
		x.tick(10 * s)
		if al := x.alerts(); !slices.Equal(al, []AlertKind{AlertOneLeg}) {
			t.Errorf("alerts %v, want one-leg", al)
		}
	})
	t.Run("unmatched recording of two legs alerts once", func(t *testing.T) {
		x := newH(t, nil)
		x.add(0, x.e.LegArrived("r9", uuid2, "5077", at(0)))
		x.add(0, x.e.LegArrived("r9", uuid2, "5077", at(ms(50))))
		x.tick(5 * s)
		x.tick(6 * s)
		if al := x.alerts(); !slices.Equal(al, []AlertKind{AlertOrphanLeg}) {
			t.Errorf("alerts %v, want one orphan-leg", al)
		}
		if !x.e.SessionEnded("r9", uuid2, "5077") {
			t.Error("SessionEnded: not reported")
		}
		if o := x.e.Orphans(); len(o) != 0 {
			t.Errorf("orphans kept after the session ended: %+v", o)
		}
	})
	t.Run("unmatched recording that ended early is forgotten, never alerted", func(t *testing.T) {
		x := newH(t, nil)
		x.add(0, x.e.LegArrived("r8", uuid2, "5077", at(0)))
		if x.e.SessionEnded("r8", uuid2, "5077") {
			t.Error("SessionEnded: reported before the orphan timeout")
		}
		x.tick(10 * s)
		if al := x.alerts(); len(al) != 0 {
			t.Errorf("alerts %v, want none (the caller counts it)", al)
		}
	})
}

// With AudioPerLeg (the recorder reports the first RTP of every leg) a leg
// that never carries audio is a no-rtp failure even when the other leg
// does, reported once, and recovered when its audio comes late.
func TestDetectSilentLeg(t *testing.T) {
	perLeg := func(c *Config) { c.Detect.AudioPerLeg = true }
	t.Run("both legs with audio", func(t *testing.T) {
		x := newH(t, perLeg)
		x.established(0, "5001", cust, conn1, uuid1)
		x.legs(ms(200), uuid1, "5001", 2)
		x.audio(ms(300), uuid1, "5001")
		x.audio(ms(310), uuid1, "5001")
		x.tick(10 * s)
		if al := x.alerts(); len(al) != 0 {
			t.Errorf("alerts %v, want none", al)
		}
	})
	t.Run("one leg silent", func(t *testing.T) {
		x := newH(t, perLeg)
		x.established(0, "5001", cust, conn1, uuid1)
		x.legs(ms(200), uuid1, "5001", 2)
		x.audio(ms(300), uuid1, "5001")
		x.tick(10 * s)
		x.tick(20 * s)
		if al := x.alerts(); !slices.Equal(al, []AlertKind{AlertNoRTP}) {
			t.Errorf("alerts %v, want one no-rtp", al)
		}
		x.audio(21*s, uuid1, "5001") // the silent leg's audio, late
		if al := x.alerts(); !slices.Equal(al, []AlertKind{AlertNoRTP, AlertRecovered}) {
			t.Errorf("alerts %v, want no-rtp then recovered", al)
		}
	})
	t.Run("without AudioPerLeg one audio covers the recording", func(t *testing.T) {
		x := newH(t, nil)
		x.established(0, "5001", cust, conn1, uuid1)
		x.legs(ms(200), uuid1, "5001", 2)
		x.audio(ms(300), uuid1, "5001")
		x.tick(10 * s)
		if al := x.alerts(); len(al) != 0 {
			t.Errorf("alerts %v, want none", al)
		}
	})
}

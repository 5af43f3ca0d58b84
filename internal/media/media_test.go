package media

import (
	"testing"
	"time"
)

func TestNTPRoundTrip(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC),
		time.Unix(0, 0),
	} {
		got := NTPToTime(TimeToNTP(tm))
		if d := got.Sub(tm); d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("round trip %v -> %v", tm, got)
		}
	}
	// 2026-11-21T10:00:00Z is 4004244000 s after the NTP epoch (1900).
	if got := TimeToNTP(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)) >> 32; got != 4004244000 {
		t.Errorf("NTP seconds = %d", got)
	}
}

package audiotest

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// SoxKeyTones writes, with sox (not openrec), an 8 kHz mono PCM16 WAV of
// digits as DTMF key tones (80 ms tone, 70 ms gap each), once per volume
// in vols (e.g. "0.4" for a keypad's level, "0.04" for 20 dB below), into
// dir; it returns the file's path. sox is the binary to run.
func SoxKeyTones(tb testing.TB, sox, dir, digits string, vols ...string) string {
	tb.Helper()
	rows, cols := []int{697, 770, 852, 941}, []int{1209, 1336, 1477, 1633}
	const keys = "123A456B789C*0#D"
	var parts []string
	for _, vol := range vols {
		for i := range len(digits) {
			k := strings.IndexByte(keys, digits[i])
			if k < 0 {
				tb.Fatalf("SoxKeyTones: %q is not a key", digits[i])
			}
			p := filepath.Join(dir, fmt.Sprintf("key%s-%d.wav", vol, i))
			if out, err := exec.Command(sox, "-n", "-r", "8000", "-c", "1", "-b", "16", p, "synth", "0.08",
				"sin", fmt.Sprint(rows[k/4]), "sin", fmt.Sprint(cols[k%4]), "channels", "1", "vol", vol, "pad", "0.07", "0").CombinedOutput(); err != nil {
				tb.Fatalf("sox: %v\n%s", err, out)
			}
			parts = append(parts, p)
		}
	}
	out := filepath.Join(dir, "keys-"+digits+".wav")
	if o, err := exec.Command(sox, append(parts, out)...).CombinedOutput(); err != nil {
		tb.Fatalf("sox concat: %v\n%s", err, o)
	}
	return out
}

package testtool

import (
	"bytes"
	"runtime"
	"testing"
	"time"
)

// pollEvery is how often Eventually and WaitBlocked look again.
const pollEvery = 2 * time.Millisecond

// Eventually waits until cond holds, looking every few milliseconds, and
// fails tb with the message if it does not hold within timeout. It is the
// one way for a test to wait for something it cannot be told about (a
// counter another goroutine increments, a file another process writes):
// bounded, so a bug shows as a failure and not as a hang, and not a fixed
// sleep, so a fast machine does not wait and a slow one does not flake.
func Eventually(tb testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	tb.Helper()
	if cond() {
		return
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if cond() {
				return
			}
		case <-deadline.C:
			if cond() {
				return
			}
			tb.Fatalf("not within %v: "+format, append([]any{timeout}, args...)...)
		}
	}
}

// WaitBlocked waits until some goroutine is blocked on a mutex (sync.Mutex
// or sync.RWMutex) inside a function whose name contains fn (as a
// goroutine dump writes it, e.g. "recorder.(*Recorder).Stats"), and fails
// tb after timeout. Tests of lock ordering use it to know that the other
// goroutine is waiting now, instead of sleeping and hoping it is.
func WaitBlocked(tb testing.TB, timeout time.Duration, fn string) {
	tb.Helper()
	Eventually(tb, timeout, func() bool { return blockedIn(fn) }, "no goroutine blocked on a mutex in %s", fn)
}

func blockedIn(fn string) bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		header, _, _ := bytes.Cut(g, []byte("\n"))
		if !bytes.Contains(header, []byte("[sync.Mutex.Lock")) && !bytes.Contains(header, []byte("[sync.RWMutex.")) {
			continue
		}
		if bytes.Contains(g, []byte(fn+"(")) {
			return true
		}
	}
	return false
}

package testtool

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Eventually and WaitBlocked look again after firstPoll, then at
// intervals doubling up to maxPoll: quick for what comes at once, cheap
// for what takes seconds (an HTTP request or a database query per look).
const (
	firstPoll = time.Millisecond
	maxPoll   = 50 * time.Millisecond
)

// Eventually waits until cond holds, looking every few milliseconds, and
// fails tb with the message if it does not hold within timeout. It is the
// one way for a test to wait for something it cannot be told about (a
// counter another goroutine increments, a row another goroutine writes):
// bounded, so a bug shows as a failure and not as a hang, and not a fixed
// sleep, so a fast machine does not wait and a slow one does not flake.
func Eventually(tb testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	tb.Helper()
	Poll(tb, timeout, func() (bool, string) { return cond(), "" }, format, args...)
}

// Poll is Eventually for a check that can say why it is not done yet:
// try returns ok, or the reason, and the last reason is part of the
// failure.
func Poll(tb testing.TB, timeout time.Duration, try func() (ok bool, why string), format string, args ...any) {
	tb.Helper()
	ok, why := try()
	if ok {
		return
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	wait := time.NewTimer(firstPoll)
	defer wait.Stop()
	for every := firstPoll; ; {
		select {
		case <-wait.C:
			every = min(2*every, maxPoll)
			wait.Reset(every)
		case <-deadline.C:
			if ok, why = try(); !ok {
				msg := fmt.Sprintf(format, args...)
				if why != "" {
					msg += ": " + why
				}
				tb.Fatalf("not within %v: %s", timeout, msg)
			}
			return
		}
		if ok, why = try(); ok {
			return
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
	WaitWaiting(tb, timeout, fn, "sync.Mutex.Lock", "sync.RWMutex.")
}

// WaitWaiting waits until some goroutine whose stack has a function whose
// name contains fn waits for one of the reasons a goroutine dump gives
// ("select", "chan receive", "sync.Mutex.Lock", "IO wait", ...; a prefix
// is enough), and fails tb after timeout. A test uses it to force an
// interleaving: "the long poll is waiting now, change the data".
func WaitWaiting(tb testing.TB, timeout time.Duration, fn string, reasons ...string) {
	tb.Helper()
	Eventually(tb, timeout, func() bool { return waitingIn(fn, reasons) }, "no goroutine in %s waiting for %q", fn, reasons)
}

func waitingIn(fn string, reasons []string) bool {
	for _, g := range bytes.Split(stacks(), []byte("\n\n")) {
		header, body, _ := bytes.Cut(g, []byte("\n"))
		if !bytes.Contains(body, []byte(fn+"(")) {
			continue
		}
		for _, r := range reasons {
			if bytes.Contains(header, []byte("["+r)) {
				return true
			}
		}
	}
	return false
}

// Lockstep runs f in n goroutines for the given number of rounds. Each
// round releases the n goroutines at once and the next one starts when all
// have returned: the calls of one round run concurrently (no call of a
// round happens before another of the same round, for the race detector
// as for the scheduler), and the goroutines interleave by construction, not
// only when the scheduler happens to switch between them. g is the
// goroutine (0..n-1), round the round (0..rounds-1).
func Lockstep(n, rounds int, f func(g, round int)) {
	release := make([]chan struct{}, rounds)
	for i := range release {
		release[i] = make(chan struct{})
	}
	var done sync.WaitGroup
	var all sync.WaitGroup
	for g := range n {
		all.Go(func() {
			for round := range rounds {
				<-release[round]
				f(g, round)
				done.Done()
			}
		})
	}
	for round := range rounds {
		done.Add(n)
		close(release[round])
		done.Wait()
	}
	all.Wait()
}

// CountGoroutines returns how many goroutines have a function whose name
// contains fn on their stack.
func CountGoroutines(fn string) int {
	n := 0
	for _, g := range bytes.Split(stacks(), []byte("\n\n")) {
		if bytes.Contains(g, []byte(fn+"(")) {
			n++
		}
	}
	return n
}

func stacks() []byte {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}

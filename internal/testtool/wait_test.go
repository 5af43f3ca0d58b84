package testtool

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLockstepRoundsAreConcurrent(t *testing.T) {
	const n, rounds = 4, 20
	var inRound [rounds]atomic.Int32
	var mu sync.Mutex
	var order []int
	Lockstep(n, rounds, func(g, round int) {
		inRound[round].Add(1)
		// Every goroutine of the round is released together: each waits
		// for the others to be in the round too, which would never happen
		// if the round ran them one after the other.
		for deadline := time.Now().Add(5 * time.Second); inRound[round].Load() != n; runtime.Gosched() {
			if time.Now().After(deadline) {
				t.Errorf("round %d: goroutine %d alone", round, g)
				return
			}
		}
		mu.Lock()
		order = append(order, round)
		mu.Unlock()
	})
	for i := 1; i < len(order); i++ {
		if order[i] < order[i-1] {
			t.Fatalf("round %d ran after round %d", order[i], order[i-1])
		}
	}
	if len(order) != n*rounds {
		t.Fatalf("%d calls, want %d", len(order), n*rounds)
	}
}

func TestWaitWaiting(t *testing.T) {
	ch := make(chan struct{})
	var mu sync.Mutex
	mu.Lock()
	done := make(chan struct{})
	go func() { defer close(done); waitsOnChannel(ch) }()
	go func() { lockIt(&mu) }()
	WaitWaiting(t, 5*time.Second, "testtool.waitsOnChannel", "chan receive")
	WaitBlocked(t, 5*time.Second, "testtool.lockIt")
	if n := CountGoroutines("testtool.waitsOnChannel"); n != 1 {
		t.Errorf("CountGoroutines = %d, want 1", n)
	}
	close(ch)
	mu.Unlock()
	<-done
}

func waitsOnChannel(ch chan struct{}) { <-ch }

func lockIt(mu *sync.Mutex) { mu.Lock(); mu.Unlock() }

func TestPollReportsTheLastReason(t *testing.T) {
	ft := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Poll(ft, 20*time.Millisecond, func() (bool, string) { return false, "still no" }, "the thing")
	}()
	<-done
	if !strings.Contains(ft.msg, "the thing: still no") {
		t.Errorf("failure %q", ft.msg)
	}
}

type fakeTB struct {
	testing.TB
	msg string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

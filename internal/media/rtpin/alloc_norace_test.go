//go:build !race

package rtpin

import "testing"

// The race detector allocates on every synchronised access, so this test
// is built without it only: `make test` runs the allocation tests in a
// second, non-race step (go test -run Alloc ./...), and the race run has
// no skipped test.

// TestReceiveLoopZeroAllocs measures the whole process (sender, kernel
// wake-ups, receive loop, validation, handler call) while packets flow
// through a locked receiver: in steady state nothing may allocate.
func TestReceiveLoopZeroAllocs(t *testing.T) {
	readers(t, func(t *testing.T) {
		h := newCountingHandler()
		ports := freeAllocator(t, 1, 0, nil)
		r, conn, pkt := steadyLeg(t, h, ports)
		const perRun = 8
		ok := true
		allocs := testing.AllocsPerRun(100, func() {
			h.expect(perRun)
			for range perRun {
				if _, err := conn.Write(pkt); err != nil {
					ok = false
				}
			}
			if !h.wait() {
				ok = false
			}
		})
		if !ok {
			t.Fatal("packets lost or write failed")
		}
		if allocs != 0 {
			t.Fatalf("%v allocations per %d packets in steady state", allocs, perRun)
		}
		if st := r.Stats(); st.Invalid+st.ForeignSource+st.StaleSSRC != 0 || st.Packets < 800 {
			t.Fatalf("stats = %+v", st)
		}
	})
}

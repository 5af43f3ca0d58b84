package callcore

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/cti/tlib"
	"github.com/openrec/openrec/internal/recorder"
)

func newIdleCore(t *testing.T, cfg Config) *Core {
	t.Helper()
	if cfg.Engine == nil {
		cfg.Engine = conversation.New(conversation.Config{Record: conversation.RecordConfig{Rule: recordAll}, Logger: quiet})
	}
	cfg.Logger = quiet
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewNeedsEngine(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without an engine: no error")
	}
}

// With the queue full, the recorder's paths drop (counted) instead of
// waiting; nothing is counted once Core is closed.
func TestQueueOverflowIsCountedDrop(t *testing.T) {
	c := newIdleCore(t, Config{QueueSize: 1})
	c.jobs.offer(lateData{"A"})
	c.jobs.offer(lateData{"B"})
	c.jobs.offer(lateData{"C"})
	if n := c.Stats().Dropped; n != 2 {
		t.Errorf("dropped = %d, want 2", n)
	}
	if j := <-c.jobs.ch; j != (lateData{"A"}) {
		t.Errorf("queued %v, want the first", j)
	}
	_ = c.Close()
	c.jobs.offer(lateData{"D"})
	if n := c.Stats().Dropped; n != 2 {
		t.Errorf("dropped after Close = %d, want still 2", n)
	}
	if err := c.jobs.put(context.Background(), lateData{"E"}); !errors.Is(err, ErrClosed) {
		t.Errorf("put after Close = %v, want ErrClosed", err)
	}
}

// The recorder's hooks never block on a full queue: Started, LegJoined,
// AudioStarted and Finished return, their follow-ups dropped and counted.
func TestRecorderHooksNeverBlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newIdleCore(t, Config{QueueSize: 1})
		c.jobs.offer(lateData{"full"})
		// the engine's START for the call goes to the full queue: the CTI
		// reader waits for room
		go c.HandleEvent(server, tlib.New(tlib.EventEstablished).SetStr(tlib.AttrThisDN, "5001").
			SetConn(tlib.AttrConnID, conn1).SetStr(tlib.AttrCallUUID, uuid1).SetStr(tlib.AttrOtherDN, "+1"))
		synctest.Wait()
		call, _ := c.eng.Call(uuid1)
		s := recorder.Session{RecordingID: "REC-1", RecordID: call.Recordings[0].ID, CallUUID: uuid1, RecordedDN: "5001", Start: time.Now(), ExpectLegs: 2}
		c.Started(s)
		c.LegJoined(s, time.Now())
		c.AudioStarted("REC-1", time.Now())
		if _, _, corr := c.Finished(s, time.Now().Add(time.Second)); corr != "matched" {
			t.Errorf("Finished correlation = %q", corr)
		}
		if c.Stats().Dropped == 0 {
			t.Error("nothing dropped: the hooks' follow-ups cannot have been queued")
		}
		_ = c.Close() // releases the CTI reader waiting for room
		synctest.Wait()
	})
}

// Close while the CTI reader, the API and a control request wait for room
// in the full queue: each gives up (ErrClosed), no goroutine is left.
func TestCloseWhileBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newIdleCore(t, Config{QueueSize: 1})
		c.jobs.offer(lateData{"full"})
		handled := make(chan struct{})
		go func() {
			defer close(handled)
			c.HandleEvent(server, tlib.New(tlib.EventEstablished).SetStr(tlib.AttrThisDN, "5001").
				SetConn(tlib.AttrConnID, conn1).SetStr(tlib.AttrCallUUID, uuid1))
		}()
		kept := make(chan error, 1)
		go func() { kept <- c.Keep(context.Background(), "U-gone", "", true) }()
		synctest.Wait()
		select {
		case <-handled:
			t.Fatal("HandleEvent returned with the queue full")
		case err := <-kept:
			t.Fatalf("Keep returned with the queue full: %v", err)
		default:
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		<-handled
		if err := <-kept; !errors.Is(err, ErrClosed) {
			t.Errorf("Keep after Close = %v, want ErrClosed", err)
		}
		if err := c.Close(); err != nil { // idempotent
			t.Errorf("second Close: %v", err)
		}
		if err := c.Run(context.Background(), &ackLink{}, nil); !errors.Is(err, ErrClosed) {
			t.Errorf("Run after Close = %v, want ErrClosed", err)
		}
	})
}

// A caller with a deadline waits for room only until then.
func TestPutHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newIdleCore(t, Config{QueueSize: 1})
		c.HandleEvent(server, tlib.New(tlib.EventEstablished).SetStr(tlib.AttrThisDN, "5001").
			SetConn(tlib.AttrConnID, conn1).SetStr(tlib.AttrCallUUID, uuid1)) // its START fills the queue
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		start := time.Now()
		_, err := c.Control(ctx, ControlTarget{DN: "5001"}, OpStop)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 3*time.Second {
			t.Errorf("Control on a full queue = %v after %v, want the deadline after 3s", err, time.Since(start))
		}
		if err := c.Keep(ctx, "U-gone", "", false); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Keep on a full queue with an ended ctx = %v", err)
		}
		_ = c.Close()
	})
}

// Run runs once; Close ends it — also while a request is in flight — and
// waits for it.
func TestRunOwnedAndClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newIdleCore(t, Config{})
		link := &ackLink{block: true}
		done := make(chan error, 1)
		go func() { done <- c.Run(context.Background(), link, nil) }()
		c.HandleEvent(server, tlib.New(tlib.EventEstablished).SetStr(tlib.AttrThisDN, "5001").
			SetConn(tlib.AttrConnID, conn1).SetStr(tlib.AttrCallUUID, uuid1))
		synctest.Wait()
		if n := len(link.of(tlib.RequestPrivateService)); n != 1 {
			t.Fatalf("%d requests in flight, want 1", n)
		}
		if err := c.Run(context.Background(), link, nil); !errors.Is(err, ErrRunning) {
			t.Errorf("second Run = %v, want ErrRunning", err)
		}
		if err := c.Run(context.Background(), nil, nil); err == nil {
			t.Error("Run without a requester: no error")
		}
		_ = c.Close()
		select {
		case <-c.exited:
		default:
			t.Fatal("Close returned before Run")
		}
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	})
}

// Run returns when its ctx ends; from then on nothing waits on the queue.
func TestRunEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newIdleCore(t, Config{QueueSize: 1})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx, &ackLink{}, nil) }()
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
		c.jobs.offer(lateData{"x"})
		if err := c.Keep(context.Background(), "U-gone", "", true); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Keep after Run ended = %v", err)
		}
		if err := c.jobs.put(context.Background(), lateData{"y"}); !errors.Is(err, ErrClosed) {
			t.Errorf("put after Run ended = %v, want ErrClosed", err)
		}
	})
}

// A request SIP Server never answers fails after Config.RequestTimeout,
// counted; the engine hears of the failure.
func TestRequestTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newIdleCore(t, Config{RequestTimeout: 3 * time.Second})
		link := &ackLink{block: true}
		done := make(chan error, 1)
		go func() { done <- c.Run(context.Background(), link, nil) }()
		start := time.Now()
		c.HandleEvent(server, tlib.New(tlib.EventEstablished).SetStr(tlib.AttrThisDN, "5001").
			SetConn(tlib.AttrConnID, conn1).SetStr(tlib.AttrCallUUID, uuid1))
		synctest.Wait()
		if c.Stats().RequestFailures != 0 {
			t.Fatal("request failed before its timeout")
		}
		time.Sleep(3*time.Second - time.Nanosecond) // bubble time (synctest)
		synctest.Wait()
		if c.Stats().RequestFailures != 0 {
			t.Fatal("request failed before its timeout")
		}
		time.Sleep(time.Nanosecond) // bubble time (synctest)
		synctest.Wait()
		st := c.Stats()
		if st.RequestFailures != 1 || st.Alerts[string(conversation.AlertServiceError)] != 1 || time.Since(start) != 3*time.Second {
			t.Errorf("stats %+v after %v, want the START failed after 3s", st, time.Since(start))
		}
		if call, _ := c.eng.Call(uuid1); call.Recordings[0].State != conversation.RecFailed {
			t.Errorf("recording state = %q, want failed", call.Recordings[0].State)
		}
		_ = c.Close()
		<-done
	})
}

func TestDefaultRequestTimeout(t *testing.T) {
	if c := newIdleCore(t, Config{}); c.cfg.RequestTimeout != DefaultRequestTimeout {
		t.Errorf("RequestTimeout = %v", c.cfg.RequestTimeout)
	}
}

// An action of a kind the dispatcher does not know is logged, not lost
// silently, and does not stop the dispatcher.
func TestUnknownActionLogged(t *testing.T) {
	c := newIdleCore(t, Config{})
	d := &dispatcher{Core: c, link: &ackLink{}}
	d.execute(context.Background(), nil)
	if jobName(lateData{}) != "callcore.lateData" || jobName(action{conversation.Alert{}}) != "conversation.Alert" {
		t.Errorf("job names %q %q", jobName(lateData{}), jobName(action{conversation.Alert{}}))
	}
}

// A Control request that could not be queued (queue full until its ctx
// ended) was never sent: the engine must not keep waiting for its answer
// (the recording "requested" for ever, a second start refused).
func TestControlNotQueuedIsNotPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newIdleCore(t, Config{QueueSize: 1, Engine: conversation.New(conversation.Config{Logger: quiet})})
		c.eng.Handle(server, tlib.New(tlib.EventEstablished).SetStr(tlib.AttrThisDN, "5001").
			SetConn(tlib.AttrConnID, conn1).SetStr(tlib.AttrCallUUID, uuid1).SetStr(tlib.AttrOtherDN, "+1"), time.Now())
		c.jobs.offer(lateData{"full"})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := c.Control(ctx, ControlTarget{DN: "5001"}, "start"); err == nil {
			t.Fatal("start with the queue full until ctx ended: no error")
		}
		call, _ := c.eng.Call(uuid1)
		if n := len(call.Recordings); n != 1 || call.Recordings[0].State == conversation.RecRequested {
			t.Fatalf("recordings after the unsent start: %+v, want one not left requested", call.Recordings)
		}
		<-c.jobs.ch // room again
		if _, err := c.Control(context.Background(), ControlTarget{DN: "5001"}, "start"); err != nil {
			t.Errorf("a second start after the unsent one: %v", err)
		}
		_ = c.Close()
	})
}

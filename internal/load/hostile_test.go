package load

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/sip/dial"
)

// A short hostile run against a real recorder: every kind is sent, the
// recorder answers (400s for the malformed, 488 for 100 m-lines, 200 for
// OPTIONS), closes the oversized TCP message, and still records good calls
// during and after it.
func TestHostileAgainstRecorder(t *testing.T) {
	a := apptest.Start(t, func(c *config.Serve) {
		c.SIPTCPIdleTimeout = 500 * time.Millisecond
		c.SIPAckTimeout = time.Second // Timer H: INVITEs never ACKed free their call slot and ports
		c.PortQuarantine = 100 * time.Millisecond
	}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan struct{})
	var rep *HostileReport
	var herr error
	go func() {
		defer close(done)
		rep, herr = Hostile(ctx, HostileConfig{Target: a.SIPAddr().String(), Duration: 3 * time.Second, Rate: 200, TCPConns: 20, NoACKRate: 5, Seed: 7})
	}()
	good, err := Run(ctx, Config{Target: a.SIPAddr().String(), Mode: dial.ModeMSR, Calls: 4, Rate: 4, Duration: time.Second})
	<-done
	if err != nil || herr != nil {
		t.Fatalf("run: %v, hostile: %v", err, herr)
	}
	if good.CallsAnswered != 4 {
		t.Errorf("good calls answered during the hostile run: %d of 4", good.CallsAnswered)
	}
	t.Logf("hostile: %+v", rep)
	for _, k := range append(hostileKinds, "invite-no-ack") {
		if rep.Sent[k] == 0 {
			t.Errorf("kind %s never sent", k)
		}
	}
	if rep.Responses["400"] == 0 || rep.Responses["488"] == 0 || rep.Responses["200"] == 0 {
		t.Errorf("responses %v: want 400, 488 and 200 among them", rep.Responses)
	}
	if rep.TCPOpened == 0 || rep.TCPClosedByServer == 0 {
		t.Errorf("tcp: opened %d, closed by the recorder %d", rep.TCPOpened, rep.TCPClosedByServer)
	}
	// The INVITEs never ACKed (and the huge-header ones, never ACKed
	// either) hold call slots until Timer H: once it has passed, the
	// recorder takes calls again.
	time.Sleep(1500 * time.Millisecond) // models Timer H passing on a real socket
	after, err := Run(ctx, Config{Target: a.SIPAddr().String(), Mode: dial.ModeMSR, Calls: 2, Rate: 2, Duration: 500 * time.Millisecond})
	if err != nil || after.CallsAnswered != 2 {
		t.Errorf("good calls after the run and Timer H: %v, %d of 2 answered (%v)", err, after.CallsAnswered, after.FailuresBy)
	}
}

func TestHostileConfig(t *testing.T) {
	for _, c := range []HostileConfig{
		{Target: "10.1.2.3:5060", Duration: time.Second},
		{Target: "127.0.0.1", Duration: time.Second},
		{Target: "127.0.0.1:5060"},
		{Target: "127.0.0.1:5060", Duration: 2 * time.Hour},
		{Target: "127.0.0.1:5060", Duration: time.Second, Rate: 10, NoACKRate: 20},
		{Target: "127.0.0.1:5060", Duration: time.Second, TCPConns: 100000},
	} {
		if _, err := Hostile(context.Background(), c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

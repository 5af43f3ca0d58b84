package recorder

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/media/rtpin"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store"
)

// withShared puts the fixture's legs on one shared socket pair.
func withShared(t *testing.T) func(*Config) {
	t.Helper()
	var sh *rtpin.Shared
	for range 50 {
		s, err := rtpin.NewShared(rtpin.SharedConfig{IP: netip.MustParseAddr("127.0.0.1"), Port: 20000 + 2*rand.IntN(6000), Pairs: 1})
		if err == nil {
			sh = s
			break
		}
	}
	if sh == nil {
		t.Fatal("no free port pair for the shared media sockets")
	}
	sh.Start()
	t.Cleanup(func() { _ = sh.Close() })
	return func(c *Config) { c.Shared = sh }
}

// Shared media sockets: two MSR calls (four legs from one IP, different
// source ports) are all answered on the same port; each channel of each
// recording holds its own sender's audio. A third call from the first
// call's source ports, with new SSRCs, records its own audio only: the
// first call's late packets (old SSRCs) are dropped.
func TestSharedMediaTwoCallsOneIP(t *testing.T) {
	f := newFixture(t, withShared(t))
	ctx := context.Background()
	type legSpec struct {
		call, dn string
		payload  byte
	}
	specs := []legSpec{{"c1", "5001", 0x11}, {"c1", "6001", 0x12}, {"c2", "5001", 0x21}, {"c2", "6001", 0x22}}
	senders := make([]*sender, len(specs))
	port := 0
	for i, sp := range specs {
		senders[i] = newSender(t, 0, uint32(100+i))
		inv := msrInvite(t, sp.call+"-"+sp.dn, sp.dn, senders[i].port(), "sendonly")
		inv.MSR.RecordID = sp.call
		ans, err := f.invite(ctx, inv)
		if err != nil {
			t.Fatal(err)
		}
		p := answerPort(t, ans)
		if port != 0 && p != port {
			t.Fatalf("leg %d answered on port %d, leg 0 on %d: want one shared port", i, p, port)
		}
		port = p
		senders[i].to.Port = p
	}
	for range 5 {
		for i, s := range senders {
			s.send(t, 10, specs[i].payload)
		}
	}
	waitPackets(t, f.r, 200)
	f.clk.Add(time.Second)
	for _, sp := range specs {
		f.r.Bye(sp.call+"-"+sp.dn, "bye")
	}
	// Call 3 from call 1's source ports, new SSRCs; call 1's late packets too.
	for i := range 2 {
		inv := msrInvite(t, "c3-"+specs[i].dn, specs[i].dn, senders[i].port(), "sendonly")
		inv.MSR.RecordID = "c3"
		if _, err := f.invite(ctx, inv); err != nil {
			t.Fatal(err)
		}
	}
	before := f.r.Stats().PacketsReceived
	for i := range 2 {
		senders[i].send(t, 5, 0x7F) // late: old SSRC
		senders[i].ssrc += 1000
		senders[i].send(t, 20, byte(0x31+i))
	}
	waitPackets(t, f.r, before+40)
	f.clk.Add(time.Second)
	for i := range 2 {
		f.r.Bye("c3-"+specs[i].dn, "bye")
	}
	recs, err := f.db.ListRecordings(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]byte{"c1": {0x11, 0x12}, "c2": {0x21, 0x22}, "c3": {0x31, 0x32}}
	if len(recs) != 3 {
		t.Fatalf("%d recordings, want 3", len(recs))
	}
	for _, rec := range recs {
		w, ok := want[rec.RecordID]
		if !ok {
			t.Fatalf("unexpected recording %s", rec.RecordID)
		}
		file, err := wav.ReadFile(rec.MediaPath)
		if err != nil {
			t.Fatal(err)
		}
		for ch := range 2 {
			seen := map[byte]int{}
			for i := ch; i < len(file.Data); i += 2 {
				seen[file.Data[i]]++
			}
			if seen[w[ch]] == 0 {
				t.Errorf("%s channel %d: no audio 0x%x (bytes %v)", rec.RecordID, ch, w[ch], summary(seen))
			}
			for b, n := range seen {
				if b != w[ch] && b != 0xFF && n > 0 { // 0xFF: µ-law silence
					t.Errorf("%s channel %d: %d samples of 0x%x, not its sender's", rec.RecordID, ch, n, b)
				}
			}
		}
	}
}

func summary(m map[byte]int) string {
	s := ""
	for b, n := range m {
		s += fmt.Sprintf("0x%x:%d ", b, n)
	}
	return s
}

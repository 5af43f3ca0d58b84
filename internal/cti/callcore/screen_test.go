package callcore

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/cti/screen"
	"github.com/openrec/openrec/internal/cti/tlib"
)

// A recording that asks for screen recording tells its agent's
// subscribers start, the automatic PCI pause (reason pci), the resume and
// the stop, in that order, with the recorder's recording id; a recording
// that does not ask tells nothing.
func TestScreenSessionFollowsRecording(t *testing.T) {
	tests := []struct {
		name string
		want func(rule, tenant string) bool
		kind []screen.Kind
	}{
		{"asked by the rule", func(rule, _ string) bool { return rule == "all" }, []screen.Kind{screen.Start, screen.Pause, screen.Resume, screen.Stop}},
		{"not asked", func(string, string) bool { return false }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				hub := screen.New(screen.Config{})
				sub, _ := hub.Subscribe("1004", 0)
				defer sub.Close()
				b := startBubble(t, conversation.Config{
					Record: conversation.RecordConfig{Rule: recordAll, PCI: conversation.PCIConfig{Key: "PCI"}},
				}, Config{Screen: hub, ScreenWanted: tt.want})
				b.send(b.event(tlib.EventAgentLogin, "5001", "", 0, "").SetStr(tlib.AttrAgentID, "1004"))
				s := b.startRecording(t, "REC-S", "5001", conn1, uuid1)
				time.Sleep(time.Second) // bubble time (synctest)
				b.send(b.event(tlib.EventAttachedDataChanged, "5001", "", conn1, uuid1).
					SetList(tlib.AttrUserData, tlib.KVList{}.Set("PCI", "start")))
				synctest.Wait()
				time.Sleep(time.Second) // bubble time (synctest)
				b.send(b.event(tlib.EventAttachedDataChanged, "5001", "", conn1, uuid1).
					SetList(tlib.AttrUserData, tlib.KVList{}.Set("PCI", "stop")))
				synctest.Wait()
				time.Sleep(time.Second) // bubble time (synctest)
				b.finish(s)
				var got []screen.Event
				for len(got) < len(tt.kind) {
					got = append(got, <-sub.C)
				}
				select {
				case e := <-sub.C:
					t.Fatalf("unexpected event %+v", e)
				default:
				}
				for i, e := range got {
					if e.Kind != tt.kind[i] || e.RecordingID != "REC-S" || e.CallUUID != uuid1 || e.DN != "5001" || e.Agent != "1004" {
						t.Fatalf("event %d = %+v, want %s of REC-S for agent 1004", i, e, tt.kind[i])
					}
				}
				if len(got) == 4 && (got[1].Reason != "pci" || got[3].At.Sub(got[0].At) < 3*time.Second) {
					t.Fatalf("pause reason %q, span %v", got[1].Reason, got[3].At.Sub(got[0].At))
				}
			})
		})
	}
}

// The Notification of Recording for video: "yes" in the call's attached
// data when its screen video starts arriving; a recording whose screen
// video never arrives raises a no-screen alert after ScreenTimeout and the
// key says "no".
func TestVideoNotificationAndNoScreenAlert(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := screen.New(screen.Config{})
		b := startBubble(t, conversation.Config{Record: conversation.RecordConfig{Rule: recordAll}},
			Config{Screen: hub, ScreenWanted: func(string, string) bool { return true }, ScreenTimeout: 5 * time.Second,
				VideoNotifyKey: func(string) string { return "RECORDING_VIDEO_STATUS" }})
		b.send(b.event(tlib.EventAgentLogin, "5001", "", 0, "").SetStr(tlib.AttrAgentID, "1004"))
		b.send(b.event(tlib.EventAgentLogin, "5002", "", 0, "").SetStr(tlib.AttrAgentID, "1005"))
		b.startRecording(t, "REC-Y", "5001", conn1, uuid1)
		b.startRecording(t, "REC-N", "5002", tlib.ConnID(0x0065000000000002), "U0000000000000000000000000000002")
		time.Sleep(time.Second) // bubble time (synctest)
		b.core.ScreenReceived("REC-Y")
		b.core.ScreenReceived("REC-Y") // once
		synctest.Wait()
		video := func() map[string][]string {
			out := map[string][]string{}
			for _, m := range b.link.of(tlib.RequestUpdateUserData) {
				if v := m.List(tlib.AttrUserData).String("RECORDING_VIDEO_STATUS"); v != "" {
					out[m.Str(tlib.AttrThisDN)] = append(out[m.Str(tlib.AttrThisDN)], v)
				}
			}
			return out
		}
		if got := video(); len(got["5001"]) != 1 || got["5001"][0] != "yes" || len(got["5002"]) != 0 {
			t.Fatalf("after the first screen bytes: %v", got)
		}
		if n := b.core.Stats().Alerts[string(conversation.AlertNoScreen)]; n != 0 {
			t.Fatalf("%d no-screen alerts before the timeout", n)
		}
		time.Sleep(5 * time.Second) // bubble time (synctest): past ScreenTimeout
		synctest.Wait()
		if got := video(); len(got["5002"]) != 1 || got["5002"][0] != "no" || len(got["5001"]) != 1 {
			t.Fatalf("after the timeout: %v", got)
		}
		if n := b.core.Stats().Alerts[string(conversation.AlertNoScreen)]; n != 1 {
			t.Fatalf("%d no-screen alerts, want 1 (REC-N)", n)
		}
	})
}

package conversation

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/cti/tlib"
)

const s = time.Second

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func rule5002(pre bool) func(*Config) {
	return func(c *Config) {
		c.Record.Rule = func(_ *Call, dn string) Decision { return Decision{Record: dn == "5002", Prerecord: pre} }
	}
}

// TestNotificationTable has one subtest per row of the state table in
// docs/notification.md (same names).
func TestNotificationTable(t *testing.T) {
	rows := []struct {
		name string
		mod  func(*Config)
		run  func(x *h)
		want []string
		// extra checks
		check func(t *testing.T, x *h)
	}{
		{
			name: "both-legs",
			run: func(x *h) {
				x.established(0, "5001", cust, conn1, uuid1)
				x.legs(ms(200), uuid1, "5001", 2)
				x.audio(ms(300), uuid1, "5001")
				x.tick(10 * s)
			},
			want: []string{"300ms RECORDING_YES@01 5001"},
			check: func(t *testing.T, x *h) {
				if al := x.alerts(); len(al) != 0 {
					t.Errorf("alerts %v", al)
				}
			},
		},
		{
			name: "one-leg",
			run: func(x *h) {
				x.established(0, "5001", cust, conn1, uuid1)
				x.legs(ms(200), uuid1, "5001", 1)
				x.audio(ms(300), uuid1, "5001")
				x.tick(6 * s)
			},
			want: []string{"300ms RECORDING_YES@01 5001"},
			check: func(t *testing.T, x *h) {
				if al := x.alerts(); !slices.Equal(al, []AlertKind{AlertOneLeg}) {
					t.Errorf("alerts %v, want one-leg", al)
				}
				if f := x.call(uuid1).Recordings[0].Failure; f != FailOneLeg {
					t.Errorf("failure %q", f)
				}
			},
		},
		{
			name: "no-audio-timeout",
			run: func(x *h) {
				x.established(0, "5001", cust, conn1, uuid1)
				x.tick(ms(2999))
				x.tick(3 * s)
				x.audio(4*s, uuid1, "5001")
			},
			want: []string{"3s RECORDING_UNDEFINED@01 5001", "4s RECORDING_YES@01 5001"},
		},
		{
			name: "no-audio-timeout-as-no",
			mod:  func(c *Config) { c.Notify.TimeoutValue = "RECORDING_NO" },
			run: func(x *h) {
				x.established(0, "5001", cust, conn1, uuid1)
				x.tick(3 * s)
			},
			want: []string{"3s RECORDING_NO@01 5001"},
		},
		{
			name: "not-recorded",
			run: func(x *h) {
				x.established(0, "5002", cust, conn1, uuid1)
				x.tick(ms(2999))
				x.tick(3 * s)
				x.tick(10 * s)
			},
			want: []string{"3s RECORDING_NO@01 5002"},
		},
		{
			name: "request-failed",
			mod:  rule5002(false),
			run: func(x *h) {
				acts := x.established(0, "5002", cust, conn1, uuid1)
				ps := acts[0].(PrivateService)
				x.add(ms(100), x.e.ServiceResult(ps, errors.New("EventError 1161"), at(ms(100))))
			},
			want: []string{"100ms RECORDING_NO@01 5002"},
			check: func(t *testing.T, x *h) {
				c := x.call(uuid1)
				if c.Recordings[0].State != RecFailed || len(c.Errors) != 1 {
					t.Errorf("recording %+v errors %v", c.Recordings[0], c.Errors)
				}
				if x.e.Counters().ServiceErrors != 1 {
					t.Error("ServiceErrors not counted")
				}
			},
		},
		{
			name: "pause",
			run: func(x *h) {
				x.established(0, "5001", cust, conn1, uuid1)
				x.audio(ms(300), uuid1, "5001")
				x.userData(10*s, "5001", conn1, uuid1, "GSIP_RECORD", "PAUSED")
			},
			want: []string{"300ms RECORDING_YES@01 5001", "10s RECORDING_NO_LONGER@01 5001"},
		},
		{
			name: "resume",
			run: func(x *h) {
				x.established(0, "5001", cust, conn1, uuid1)
				x.audio(ms(300), uuid1, "5001")
				x.userData(10*s, "5001", conn1, uuid1, "GSIP_RECORD", "PAUSED")
				x.userData(20*s, "5001", conn1, uuid1, "GSIP_RECORD", "ON")
			},
			want: []string{"300ms RECORDING_YES@01 5001", "10s RECORDING_NO_LONGER@01 5001", "20s RECORDING_YES@01 5001"},
			check: func(t *testing.T, x *h) {
				ev := x.call(uuid1).Couples[0].Events
				if len(ev) != 2 || ev[0].Kind != "paused" || ev[1].Kind != "resumed" {
					t.Errorf("couple events %+v", ev)
				}
			},
		},
		{
			name: "stop",
			run: func(x *h) {
				x.established(0, "5001", cust, conn1, uuid1)
				x.audio(ms(300), uuid1, "5001")
				x.userData(10*s, "5001", conn1, uuid1, "GSIP_RECORD", "OFF")
			},
			want: []string{"300ms RECORDING_YES@01 5001", "10s RECORDING_NO_LONGER@01 5001"},
		},
		{
			name: "stop-never-recorded",
			mod:  rule5002(false),
			run: func(x *h) {
				acts := x.established(0, "5002", cust, conn1, uuid1)
				x.add(ms(50), x.e.ServiceResult(acts[0].(PrivateService), nil, at(ms(50))))
				stop, err := x.e.Control(uuid1, "5002", OpStop, at(s))
				if err != nil {
					x.t.Fatal(err)
				}
				x.add(s, stop)
				x.add(ms(1050), x.e.ServiceResult(stop[0].(PrivateService), nil, at(ms(1050))))
			},
			want: []string{"1.05s RECORDING_NO@01 5002"},
		},
		{
			name: "hold",
			run: func(x *h) {
				x.established(0, "5001", cust, conn1, uuid1)
				x.audio(ms(300), uuid1, "5001")
				x.ev(10*s, msg(tlib.EventHeld, "5001", cust, conn1, uuid1))
				x.ev(20*s, msg(tlib.EventRetrieved, "5001", cust, conn1, uuid1))
				x.tick(30 * s)
			},
			want: []string{"300ms RECORDING_YES@01 5001"},
			check: func(t *testing.T, x *h) {
				c := x.call(uuid1)
				if len(c.Couples) != 1 || len(c.Couples[0].Events) != 2 || c.Couples[0].Events[0].Kind != "held" {
					t.Errorf("couples %+v", c.Couples)
				}
			},
		},
		{
			name: "prerecord-undecided",
			mod:  rule5002(true),
			run: func(x *h) {
				acts := x.established(0, "5002", cust, conn1, uuid1)
				x.add(ms(50), x.e.ServiceResult(acts[0].(PrivateService), nil, at(ms(50))))
				x.audio(ms(300), uuid1, "5002")
			},
			want: []string{"300ms RECORDING_PRERECORD@01 5002"},
		},
		{
			name: "prerecord-kept",
			mod:  rule5002(true),
			run: func(x *h) {
				acts := x.established(0, "5002", cust, conn1, uuid1)
				x.add(ms(50), x.e.ServiceResult(acts[0].(PrivateService), nil, at(ms(50))))
				x.audio(ms(300), uuid1, "5002")
				k, err := x.e.Keep(uuid1, "5002", true, at(20*s))
				if err != nil {
					x.t.Fatal(err)
				}
				x.add(20*s, k)
			},
			want: []string{"300ms RECORDING_PRERECORD@01 5002", "20s RECORDING_YES@01 5002"},
		},
		{
			name: "prerecord-discarded",
			mod:  rule5002(true),
			run: func(x *h) {
				acts := x.established(0, "5002", cust, conn1, uuid1)
				x.add(ms(50), x.e.ServiceResult(acts[0].(PrivateService), nil, at(ms(50))))
				x.audio(ms(300), uuid1, "5002")
				k, err := x.e.Keep(uuid1, "5002", false, at(20*s))
				if err != nil {
					x.t.Fatal(err)
				}
				x.add(20*s, k)
			},
			want: []string{"300ms RECORDING_PRERECORD@01 5002", "20s RECORDING_NO@01 5002"},
		},
		{
			name: "cti-down",
			run: func(x *h) {
				x.established(0, "5002", cust, conn1, uuid1)
				x.e.LinkDown(sw, at(s))
				x.tick(5 * s)
				x.e.LinkUp(sw, at(10*s))
				x.tick(10 * s)
				x.ev(ms(10200), msg(tlib.EventPartyInfo, "5002", cust, conn1, uuid1))
				x.ev(11*s, msg(tlib.EventHeld, "5002", cust, conn1, uuid1))
			},
			want: []string{"10.2s RECORDING_NO@01 5002"},
		},
		{
			name: "transfer-recorded-stays",
			run: func(x *h) {
				x.established(0, "5001", "5099", conn1, uuid1)
				x.audio(ms(300), uuid1, "5001")
				x.ev(10*s, msg(tlib.EventPartyChanged, "5001", cust, conn1, uuid1).
					SetStr(tlib.AttrThirdPartyDN, "5099").SetInt(tlib.AttrCallState, tlib.CallStateTransferred))
				x.tick(20 * s)
			},
			want: []string{"300ms RECORDING_YES@01 5001"},
			check: func(t *testing.T, x *h) {
				c := x.call(uuid1)
				if len(c.Couples) != 2 || c.Couples[1].OtherDN != cust || c.Couples[1].Reason != "transfer" || c.Couples[0].End != at(10*s) {
					t.Errorf("couples %+v", c.Couples)
				}
			},
		},
		{
			name: "transfer-consult-connid",
			run: func(x *h) {
				// customer ↔ 5099 (not monitored) on conn1; 5099 consults 5001 on conn2
				x.ev(ms(100), msg(tlib.EventRinging, "5001", "5099", conn2, uuid2).SetInt(tlib.AttrCallType, tlib.CallTypeConsult))
				x.ev(s, msg(tlib.EventEstablished, "5001", "5099", conn2, uuid2))
				x.audio(ms(1300), uuid2, "5001")
				// 5099 completes the transfer: conn2 merges into conn1
				x.ev(10*s, msg(tlib.EventPartyChanged, "5001", cust, conn1, uuid1).
					SetConn(tlib.AttrPreviousConnID, conn2).SetStr(tlib.AttrThirdPartyDN, "5099").
					SetInt(tlib.AttrCallState, tlib.CallStateTransferred))
				x.tick(20 * s)
			},
			want: []string{"1.3s RECORDING_YES@02 5001", "10s RECORDING_YES@01 5001"},
			check: func(t *testing.T, x *h) {
				c := x.call(uuid1)
				if len(c.Recordings) != 1 || len(c.Couples) != 1 || c.Couples[0].ConnID != conn1 {
					t.Errorf("call after merge: %+v", c)
				}
				if cc := x.call(uuid2); cc.Released != at(10*s) || cc.Type != tlib.CallTypeConsult {
					t.Errorf("consult call %+v", cc)
				}
			},
		},
		{
			name: "transfer-recorded-leaves",
			run: func(x *h) {
				x.established(0, "5001", cust, conn1, uuid1)
				x.audio(ms(300), uuid1, "5001")
				x.ev(10*s, msg(tlib.EventReleased, "5001", "5002", conn1, uuid1).SetInt(tlib.AttrCallState, tlib.CallStateTransferred))
				x.ev(ms(10100), msg(tlib.EventRinging, "5002", cust, conn1, uuid1))
				x.ev(11*s, msg(tlib.EventEstablished, "5002", cust, conn1, uuid1))
				x.tick(ms(13999))
				x.tick(14 * s)
			},
			want: []string{"300ms RECORDING_YES@01 5001", "14s RECORDING_NO_LONGER@01 5002"},
			check: func(t *testing.T, x *h) {
				c := x.call(uuid1)
				if len(c.Couples) != 2 || c.Couples[1].Reason != "transfer" || c.Couples[1].ThisDN != "5002" {
					t.Errorf("couples %+v", c.Couples)
				}
			},
		},
		{
			name: "released",
			run: func(x *h) {
				x.established(0, "5002", cust, conn1, uuid1)
				x.ev(s, msg(tlib.EventReleased, "5002", cust, conn1, uuid1))
				x.tick(5 * s)
			},
			want: nil,
		},
		{
			name: "disabled",
			mod:  func(c *Config) { c.Notify.Disabled = true },
			run: func(x *h) {
				x.established(0, "5001", cust, conn1, uuid1)
				x.audio(ms(300), uuid1, "5001")
			},
			want: nil,
			check: func(t *testing.T, x *h) {
				c := x.call(uuid1)
				if c.Notification != "RECORDING_YES" || c.Couples[0].ExternalData[KeyRecAudio] != "RECORDING_YES" {
					t.Errorf("notification %q, GEN_REC_AUDIO %q", c.Notification, c.Couples[0].ExternalData[KeyRecAudio])
				}
			},
		},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			x := newH(t, r.mod)
			r.run(x)
			if got := x.values(); !slices.Equal(got, r.want) {
				t.Errorf("notifications\n got %q\nwant %q", got, r.want)
			}
			if r.check != nil {
				r.check(t, x)
			}
		})
	}
}

func TestNotifyKeyAndTenantOverride(t *testing.T) {
	if k := (NotifyConfig{}).Key(); k != "RECORDING_STATUS_GIM" {
		t.Errorf("default key %q", k)
	}
	if k := (NotifyConfig{KeyMandatory: "RecordingStatus", KeyOptional: "GIM2"}).Key(); k != "RecordingStatus_GIM2" {
		t.Errorf("key %q", k)
	}
	if k := (NotifyConfig{KeyOptional: "-"}).Key(); k != "RECORDING_STATUS" {
		t.Errorf("key without optional part %q", k)
	}
	x := newH(t, func(c *Config) {
		c.Notify.Tenants = map[int]NotifyConfig{1: {KeyOptional: "GIM1", Yes: "Recording", Timeout: time.Second}}
	})
	x.established(0, "5001", cust, conn1, uuid1)
	acts := x.audio(ms(300), uuid1, "5001")
	if len(acts) != 1 {
		t.Fatalf("actions %v", acts)
	}
	if u := acts[0].(UpdateUserData); u.Data.String("RECORDING_STATUS_GIM1") != "Recording" || u.DN != "5001" || u.ConnID != conn1 || u.Server != sw {
		t.Errorf("tenant override not applied: %+v", u)
	}
}

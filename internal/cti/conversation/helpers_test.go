package conversation

import (
	"testing"
	"time"

	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/cti/tlib"
)

var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

const (
	sw    = "SW"
	uuid1 = "U0000000000000000000000000000001"
	uuid2 = "U0000000000000000000000000000002"
	conn1 = tlib.ConnID(0x0065000000000001)
	conn2 = tlib.ConnID(0x0065000000000002)
	cust  = "+420601000111"
)

// testData: switch SW, DN 5001 record=true, 5002 plain, agent01 at tenant 1.
func testData() *ccdata.Data {
	return &ccdata.Data{
		Tenants:  []ccdata.Tenant{{DBID: 1, Name: "T1"}},
		Switches: []ccdata.Switch{{DBID: 2, Name: sw, TenantDBID: 1}},
		DNs: []ccdata.DN{
			{Number: "5001", Switch: sw, Type: "Extension", Options: map[string]string{"record": "true"}},
			{Number: "5002", Switch: sw, Type: "Extension"},
		},
		Persons: []ccdata.Person{{DBID: 10, EmployeeID: "E1", FirstName: "Jana", LastName: "Nová", UserName: "jnova",
			IsAgent: true, TenantDBID: 1, Logins: []ccdata.AgentLogin{{DBID: 20, LoginCode: "agent01", WrapupTime: 15}}}},
	}
}

// h drives an engine in tests and collects what it returns.
type h struct {
	t    *testing.T
	e    *Engine
	acts []timed
}

type timed struct {
	d time.Duration
	a Action
}

func newH(t *testing.T, mod func(*Config)) *h {
	t.Helper()
	cfg := Config{Config: ccdata.NewCache(testData())}
	if mod != nil {
		mod(&cfg)
	}
	return &h{t: t, e: New(cfg)}
}

func at(d time.Duration) time.Time { return t0.Add(d) }

func (x *h) add(d time.Duration, a []Action) []Action {
	for _, v := range a {
		x.acts = append(x.acts, timed{d, v})
	}
	return a
}

func (x *h) ev(d time.Duration, m *tlib.Message) []Action {
	x.add(d, x.e.Tick(at(d)))
	return x.add(d, x.e.Handle(sw, m, at(d)))
}

func (x *h) tick(d time.Duration) []Action { return x.add(d, x.e.Tick(at(d))) }

func msg(t tlib.MessageType, dn, other string, conn tlib.ConnID, uuid string) *tlib.Message {
	m := tlib.New(t).SetStr(tlib.AttrThisDN, dn).SetConn(tlib.AttrConnID, conn).SetStr(tlib.AttrCallUUID, uuid)
	if other != "" {
		m.SetStr(tlib.AttrOtherDN, other)
	}
	return m
}

func (x *h) established(d time.Duration, dn, other string, conn tlib.ConnID, uuid string) []Action {
	return x.ev(d, msg(tlib.EventEstablished, dn, other, conn, uuid).SetInt(tlib.AttrCallType, tlib.CallTypeInbound))
}

func (x *h) userData(d time.Duration, dn string, conn tlib.ConnID, uuid string, kv ...string) []Action {
	var l tlib.KVList
	for i := 0; i+1 < len(kv); i += 2 {
		l = l.Set(kv[i], kv[i+1])
	}
	return x.ev(d, msg(tlib.EventAttachedDataChanged, dn, "", conn, uuid).SetList(tlib.AttrUserData, l))
}

func (x *h) legs(d time.Duration, uuid, dn string, n int) {
	for i := 0; i < n; i++ {
		x.add(d, x.e.LegArrived("", uuid, dn, at(d)))
	}
}

func (x *h) audio(d time.Duration, uuid, dn string) []Action {
	return x.add(d, x.e.AudioArrived("", uuid, dn, at(d)))
}

// values lists the notification writes as "offset value@<last 2 hex digits of the ConnID> dn".
func (x *h) values() []string {
	var out []string
	for _, ta := range x.acts {
		if u, ok := ta.a.(UpdateUserData); ok {
			out = append(out, ta.d.String()+" "+u.Data.String("RECORDING_STATUS_GIM")+"@"+u.ConnID.String()[14:]+" "+u.DN)
		}
	}
	return out
}

func (x *h) alerts() []AlertKind {
	var out []AlertKind
	for _, ta := range x.acts {
		if al, ok := ta.a.(Alert); ok {
			out = append(out, al.Kind)
		}
	}
	return out
}

func (x *h) services() []PrivateService {
	var out []PrivateService
	for _, ta := range x.acts {
		if p, ok := ta.a.(PrivateService); ok {
			out = append(out, p)
		}
	}
	return out
}

func (x *h) call(uuid string) *Call {
	x.t.Helper()
	c, ok := x.e.Call(uuid)
	if !ok {
		x.t.Fatalf("no call %s", uuid)
	}
	return c
}

package sim

import (
	"cmp"
	"slices"
)

// ClientInfo describes a T-Library client registered with the SIP Server:
// the client identification it registered with and the DNs it monitors.
type ClientInfo struct {
	Name     string   // AttributeApplicationName of RequestRegisterClient
	Password string   // Extensions "password" of RequestRegisterClient ("" if none)
	Switch   string   // the switch the SIP Server serves (Config.Switch)
	Remote   string   // the client's address
	DNs      []string // DNs registered (RequestRegisterAddress), sorted
}

// Clients returns the clients connected now that have sent
// RequestRegisterClient, sorted by name, then address. End-to-end tests
// use it to check which client identification (per tenant) and which DNs
// a recorder registered.
func (s *Sim) Clients() []ClientInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ClientInfo, 0, len(s.clients))
	for c := range s.clients {
		if !c.registered {
			continue
		}
		ci := ClientInfo{Name: c.name, Password: c.password, Switch: s.cfg.Switch, Remote: c.conn.RemoteAddr().String()}
		for dn := range c.dns {
			ci.DNs = append(ci.DNs, dn)
		}
		slices.Sort(ci.DNs)
		out = append(out, ci)
	}
	slices.SortFunc(out, func(a, b ClientInfo) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Remote, b.Remote))
	})
	return out
}

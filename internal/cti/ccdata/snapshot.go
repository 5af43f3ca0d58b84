package ccdata

import (
	"slices"
	"sync"
	"sync/atomic"
)

// Snapshot is an immutable, indexed view of one configuration. All its
// methods are safe for concurrent use; values returned are copies, so a
// caller cannot change the snapshot. Take one snapshot per unit of work
// (a call event, a recording) and do every lookup on it, so the unit sees
// one consistent configuration even while a reload replaces the cache's
// snapshot.
type Snapshot struct {
	version  uint64
	data     *Data
	tenants  map[int]int    // dbid → index in data.Tenants
	switches map[string]int // name → index in data.Switches
	dns      map[dnKey]int  // → index in data.DNs
	persons  map[int]int    // dbid → index in data.Persons
	byUser   map[string]int // user name → index in data.Persons
	logins   map[dnKey]int  // (switch, login code) → index in data.Persons
}

type dnKey struct{ sw, number string }

// NewSnapshot indexes a deep copy of d (nil = empty configuration). It
// does not validate (use Data.Validate or Parse): on duplicates the first
// entry wins. A DN without tenant_dbid gets its switch's tenant. An agent
// login without a switch is indexed on every switch of the person's
// tenant, unless a login with the same code names that switch explicitly.
func NewSnapshot(d *Data) *Snapshot {
	c := d.Clone()
	c.normalize()
	s := &Snapshot{
		data:     c,
		tenants:  make(map[int]int, len(c.Tenants)),
		switches: make(map[string]int, len(c.Switches)),
		dns:      make(map[dnKey]int, len(c.DNs)),
		persons:  make(map[int]int, len(c.Persons)),
		byUser:   make(map[string]int, len(c.Persons)),
		logins:   make(map[dnKey]int),
	}
	for i, t := range c.Tenants {
		putFirst(s.tenants, t.DBID, i)
	}
	for i, sw := range c.Switches {
		putFirst(s.switches, sw.Name, i)
	}
	for i, dn := range c.DNs {
		putFirst(s.dns, dnKey{dn.Switch, dn.Number}, i)
	}
	// Explicit logins first so they win over tenant-wide ones.
	for i, p := range c.Persons {
		putFirst(s.persons, p.DBID, i)
		if p.UserName != "" {
			putFirst(s.byUser, p.UserName, i)
		}
		for _, l := range p.Logins {
			if l.Switch != "" {
				putFirst(s.logins, dnKey{l.Switch, l.LoginCode}, i)
			}
		}
	}
	for i, p := range c.Persons {
		for _, l := range p.Logins {
			if l.Switch != "" {
				continue
			}
			for _, sw := range c.Switches {
				if sw.TenantDBID == p.TenantDBID {
					putFirst(s.logins, dnKey{sw.Name, l.LoginCode}, i)
				}
			}
		}
	}
	return s
}

func putFirst[K comparable](m map[K]int, k K, i int) {
	if _, ok := m[k]; !ok {
		m[k] = i
	}
}

// Version is the number the Cache gave the snapshot (1 for the first, +1
// per Replace); 0 for a snapshot made by NewSnapshot directly.
func (s *Snapshot) Version() uint64 { return s.version }

// DN returns the DN number of the named switch.
func (s *Snapshot) DN(switchName, number string) (DN, bool) {
	i, ok := s.dns[dnKey{switchName, number}]
	if !ok {
		return DN{}, false
	}
	return s.data.DNs[i].clone(), true
}

// DNs returns the DNs of the named switch ("" = every switch), in file
// order.
func (s *Snapshot) DNs(switchName string) []DN {
	var out []DN
	for _, dn := range s.data.DNs {
		if switchName == "" || dn.Switch == switchName {
			out = append(out, dn.clone())
		}
	}
	return out
}

// PersonByLogin returns the person owning an agent login code on a switch
// (AgentID in T-Library events is a login code).
func (s *Snapshot) PersonByLogin(switchName, loginCode string) (Person, bool) {
	i, ok := s.logins[dnKey{switchName, loginCode}]
	if !ok {
		return Person{}, false
	}
	return s.data.Persons[i].clone(), true
}

// Person returns the person with the given dbid.
func (s *Snapshot) Person(dbid int) (Person, bool) {
	i, ok := s.persons[dbid]
	if !ok {
		return Person{}, false
	}
	return s.data.Persons[i].clone(), true
}

// PersonByUserName returns the person with the given user name.
func (s *Snapshot) PersonByUserName(userName string) (Person, bool) {
	i, ok := s.byUser[userName]
	if !ok {
		return Person{}, false
	}
	return s.data.Persons[i].clone(), true
}

// Tenant returns the tenant with the given dbid.
func (s *Snapshot) Tenant(dbid int) (Tenant, bool) {
	i, ok := s.tenants[dbid]
	if !ok {
		return Tenant{}, false
	}
	return s.data.Tenants[i], true
}

// TenantByName returns the tenant with the given name.
func (s *Snapshot) TenantByName(name string) (Tenant, bool) {
	for _, t := range s.data.Tenants {
		if t.Name == name {
			return t, true
		}
	}
	return Tenant{}, false
}

// Switch returns the switch with the given name.
func (s *Snapshot) Switch(name string) (Switch, bool) {
	i, ok := s.switches[name]
	if !ok {
		return Switch{}, false
	}
	return s.data.Switches[i], true
}

// Tenants returns every tenant, in file order.
func (s *Snapshot) Tenants() []Tenant { return slices.Clone(s.data.Tenants) }

// Switches returns every switch, in file order.
func (s *Snapshot) Switches() []Switch { return slices.Clone(s.data.Switches) }

// Data returns a deep copy of the configuration the snapshot indexes.
func (s *Snapshot) Data() *Data { return s.data.Clone() }

// Cache holds the current Snapshot. Snapshot and Replace are safe for
// concurrent use; Replace swaps the whole snapshot atomically, so readers
// see either the old or the new configuration, never a mix.
type Cache struct {
	cur     atomic.Pointer[Snapshot]
	mu      sync.Mutex // serialises writers so versions are stored in order
	version uint64
}

// NewCache returns a cache holding a snapshot of d (nil = empty).
func NewCache(d *Data) *Cache {
	c := &Cache{}
	c.Replace(d)
	return c
}

// Snapshot returns the current snapshot.
func (c *Cache) Snapshot() *Snapshot { return c.cur.Load() }

// Replace indexes d and makes it the current snapshot. It does not
// validate d; callers that received d from elsewhere than Parse should
// call d.Validate first (ReloadFile does).
func (c *Cache) Replace(d *Data) {
	s := NewSnapshot(d)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version++
	s.version = c.version
	c.cur.Store(s)
}

// ReloadFile loads and validates a YAML file and, only if that succeeds,
// replaces the snapshot; on error the current snapshot stays.
func (c *Cache) ReloadFile(path string) error {
	d, err := LoadFile(path)
	if err != nil {
		return err
	}
	c.Replace(d)
	return nil
}

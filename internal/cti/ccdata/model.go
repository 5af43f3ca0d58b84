// Package ccdata is openrec's configuration cache: the contact-center
// objects the recorder needs from the Genesys Configuration Server
// (tenants, switches, DNs with their options, persons with agent logins,
// skill levels and place), loaded from YAML (testdata/config.yaml
// documents the format) or handed over by the simulator or a site bridge,
// indexed in an immutable Snapshot and held by a Cache whose reload swaps
// the whole snapshot atomically.
//
// It also computes the agent external data: the GEN_CFG_* keys of seed 000
// "Agent Configuration Data" (AgentData) with GEN_CFG_FULLNAME per seed
// 002 "Full Agent Name Assembly", and the tenant/switch keys (TenantKeys).
//
// The package is a pure core: no goroutines, no I/O except LoadFile.
package ccdata

// DN types (Genesys CfgDNType names) accepted in the configuration.
const (
	TypeExtension          = "Extension"
	TypeACDPosition        = "ACDPosition"
	TypeRoutingPoint       = "RoutingPoint"
	TypeTrunk              = "Trunk"
	TypeVoiceTreatmentPort = "VoiceTreatmentPort"
)

// DN option names with a meaning to openrec.
const (
	// OptionRecord "true" makes SIP Server record every call of the DN
	// without a request from the recorder (full-time recording).
	OptionRecord = "record"
	// OptionGeoLocation names the site whose media and recording servers
	// SIP Server selects for calls of the DN.
	OptionGeoLocation = "geo-location"
)

// Tenant is a Genesys tenant.
type Tenant struct {
	DBID int    `yaml:"dbid"`
	Name string `yaml:"name"`
}

// Switch is a Genesys switch, served by one SIP Server (T-Server).
type Switch struct {
	DBID       int    `yaml:"dbid"`
	Name       string `yaml:"name"`
	TenantDBID int    `yaml:"tenant_dbid"`
}

// DN is a directory number of a switch. Number is unique per switch.
type DN struct {
	Number string `yaml:"number"`
	Switch string `yaml:"switch"` // switch name
	Type   string `yaml:"type"`   // Extension, ACDPosition, RoutingPoint, Trunk, VoiceTreatmentPort
	// TenantDBID defaults to the switch's tenant when 0.
	TenantDBID int               `yaml:"tenant_dbid,omitempty"`
	Options    map[string]string `yaml:"options,omitempty"` // record=true, geo-location=<site>, ...
}

// Recorded reports whether the DN has the option record=true (full-time
// recording by SIP Server).
func (d DN) Recorded() bool { return d.Options[OptionRecord] == "true" }

// AgentLogin is an agent login of a person. AgentID in T-Library events is
// a LoginCode.
type AgentLogin struct {
	DBID       int    `yaml:"dbid"`
	LoginCode  string `yaml:"login_code"`
	WrapupTime int    `yaml:"wrapup_time"` // seconds, >= 0
	// Switch names the switch the login belongs to; empty means every
	// switch of the person's tenant.
	Switch string `yaml:"switch,omitempty"`
}

// Skill is a skill level of a person.
type Skill struct {
	DBID  int    `yaml:"dbid"` // the skill's dbid (shared by every person with the skill)
	Name  string `yaml:"name"`
	Level int    `yaml:"level"` // >= 0
}

// Person is a Genesys person (agent or not).
type Person struct {
	DBID       int          `yaml:"dbid"`
	EmployeeID string       `yaml:"employee_id"`
	FirstName  string       `yaml:"first_name"`
	LastName   string       `yaml:"last_name"`
	UserName   string       `yaml:"user_name"`
	IsAgent    bool         `yaml:"is_agent"`
	IsAdmin    bool         `yaml:"is_admin"`
	State      string       `yaml:"state,omitempty"` // object state, copied verbatim (e.g. Enabled)
	TenantDBID int          `yaml:"tenant_dbid"`
	Logins     []AgentLogin `yaml:"logins,omitempty"`
	Skills     []Skill      `yaml:"skills,omitempty"`
	Place      string       `yaml:"place,omitempty"`      // default place name
	PlaceDBID  int          `yaml:"place_dbid,omitempty"` // default place dbid (GEN_CFG_PlaceDbid), 0 = none
}

// Data is the whole configuration model, as loaded from a file or a
// configuration service.
type Data struct {
	Tenants  []Tenant `yaml:"tenants"`
	Switches []Switch `yaml:"switches"`
	DNs      []DN     `yaml:"dns"`
	Persons  []Person `yaml:"persons"`
}

// Clone returns a deep copy of d.
func (d *Data) Clone() *Data {
	if d == nil {
		return &Data{}
	}
	c := &Data{
		Tenants:  append([]Tenant(nil), d.Tenants...),
		Switches: append([]Switch(nil), d.Switches...),
		DNs:      make([]DN, len(d.DNs)),
		Persons:  make([]Person, len(d.Persons)),
	}
	for i, dn := range d.DNs {
		c.DNs[i] = dn.clone()
	}
	for i, p := range d.Persons {
		c.Persons[i] = p.clone()
	}
	return c
}

func (d DN) clone() DN {
	if d.Options != nil {
		m := make(map[string]string, len(d.Options))
		for k, v := range d.Options {
			m[k] = v
		}
		d.Options = m
	}
	return d
}

func (p Person) clone() Person {
	if p.Logins != nil {
		p.Logins = append([]AgentLogin(nil), p.Logins...)
	}
	if p.Skills != nil {
		p.Skills = append([]Skill(nil), p.Skills...)
	}
	return p
}

package ccdata

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/openrec/openrec/internal/cti/dnfilter"
)

// maxErrors bounds how many entry errors Validate reports at once.
const maxErrors = 20

// LoadFile reads and parses a YAML configuration file (see Parse).
func LoadFile(path string) (*Data, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("configuration data: %w", err)
	}
	d, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// Parse decodes the YAML configuration model (format: testdata/config.yaml),
// fills defaults (a DN's tenant_dbid from its switch) and validates it.
// Unknown fields are errors. Validation errors name the offending entry,
// e.g. `dns[3] (switch "SW_A", number "5 001"): number: character ' ' ...`,
// and several are joined with errors.Join; each wraps ErrInvalid, syntax
// errors wrap ErrSyntax. An empty document is an empty, valid configuration.
func Parse(b []byte) (*Data, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var d Data
	if err := dec.Decode(&d); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("configuration data: %w: %v", ErrSyntax, err)
	}
	d.normalize()
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// normalize fills defaults in place: a DN without tenant_dbid belongs to
// its switch's tenant.
func (d *Data) normalize() {
	swTenant := make(map[string]int, len(d.Switches))
	for _, sw := range d.Switches {
		if _, dup := swTenant[sw.Name]; !dup {
			swTenant[sw.Name] = sw.TenantDBID
		}
	}
	for i := range d.DNs {
		if d.DNs[i].TenantDBID == 0 {
			d.DNs[i].TenantDBID = swTenant[d.DNs[i].Switch]
		}
	}
}

// Validate checks the rules of the model:
//   - tenants: dbid > 0 and unique, name non-empty and unique;
//   - switches: the same, and tenant_dbid names a tenant;
//   - DNs: number non-empty of seed 002 table 1 characters, unique per
//     switch; switch names a switch; type is one of the five DN types;
//     tenant_dbid names a tenant; option names non-empty; record is "true"
//     or "false";
//   - persons: dbid > 0 and unique; tenant_dbid names a tenant; logins:
//     dbid > 0 and unique, login_code valid DN characters, wrapup_time
//     >= 0, switch (if set) names a switch of the person's tenant, one
//     person per login code and switch; skills: dbid > 0, level >= 0, one
//     name per skill dbid; place_dbid >= 0.
//
// A DN with tenant_dbid 0 is an error here; Parse and NewSnapshot fill it
// from the switch first.
func (d *Data) Validate() error {
	v := validator{}
	tenants := map[int]bool{}
	tenantNames := map[string]bool{}
	for i, t := range d.Tenants {
		at := fmt.Sprintf("tenants[%d] (dbid %d, name %q)", i, t.DBID, t.Name)
		switch {
		case t.DBID <= 0:
			v.addf("%s: dbid must be a positive number", at)
		case tenants[t.DBID]:
			v.addf("%s: duplicate dbid", at)
		}
		switch {
		case t.Name == "":
			v.addf("%s: name is empty", at)
		case tenantNames[t.Name]:
			v.addf("%s: duplicate name", at)
		}
		tenants[t.DBID], tenantNames[t.Name] = true, true
	}
	switches := map[string]Switch{}
	switchIDs := map[int]bool{}
	for i, sw := range d.Switches {
		at := fmt.Sprintf("switches[%d] (dbid %d, name %q)", i, sw.DBID, sw.Name)
		switch {
		case sw.DBID <= 0:
			v.addf("%s: dbid must be a positive number", at)
		case switchIDs[sw.DBID]:
			v.addf("%s: duplicate dbid", at)
		}
		_, dup := switches[sw.Name]
		switch {
		case sw.Name == "":
			v.addf("%s: name is empty", at)
		case dup:
			v.addf("%s: duplicate name", at)
		}
		if !tenants[sw.TenantDBID] {
			v.addf("%s: tenant_dbid %d names no tenant", at, sw.TenantDBID)
		}
		switchIDs[sw.DBID] = true
		if !dup {
			switches[sw.Name] = sw
		}
	}
	type dnKey struct{ sw, number string }
	dns := map[dnKey]bool{}
	for i, dn := range d.DNs {
		at := fmt.Sprintf("dns[%d] (switch %q, number %q)", i, dn.Switch, dn.Number)
		if err := dnfilter.ValidDN(dn.Number); err != nil {
			v.addf("%s: number: %v", at, err)
		}
		if _, ok := switches[dn.Switch]; !ok {
			v.addf("%s: switch %q is not configured", at, dn.Switch)
		}
		if dns[dnKey{dn.Switch, dn.Number}] {
			v.addf("%s: duplicate number on the switch", at)
		}
		dns[dnKey{dn.Switch, dn.Number}] = true
		switch dn.Type {
		case TypeExtension, TypeACDPosition, TypeRoutingPoint, TypeTrunk, TypeVoiceTreatmentPort:
		default:
			v.addf("%s: type %q is not one of %s, %s, %s, %s, %s", at, dn.Type,
				TypeExtension, TypeACDPosition, TypeRoutingPoint, TypeTrunk, TypeVoiceTreatmentPort)
		}
		if !tenants[dn.TenantDBID] {
			v.addf("%s: tenant_dbid %d names no tenant", at, dn.TenantDBID)
		}
		for k, val := range dn.Options {
			switch {
			case k == "":
				v.addf("%s: option with an empty name", at)
			case k == OptionRecord && val != "true" && val != "false":
				v.addf("%s: option record=%q must be \"true\" or \"false\"", at, val)
			}
		}
	}
	persons := map[int]bool{}
	loginIDs := map[int]bool{}
	type loginKey struct {
		tenant   int
		sw, code string
	}
	logins := map[loginKey]int{} // → person dbid
	skillNames := map[int]string{}
	for i, p := range d.Persons {
		at := fmt.Sprintf("persons[%d] (dbid %d, user_name %q)", i, p.DBID, p.UserName)
		switch {
		case p.DBID <= 0:
			v.addf("%s: dbid must be a positive number", at)
		case persons[p.DBID]:
			v.addf("%s: duplicate dbid", at)
		}
		persons[p.DBID] = true
		if !tenants[p.TenantDBID] {
			v.addf("%s: tenant_dbid %d names no tenant", at, p.TenantDBID)
		}
		if p.PlaceDBID < 0 {
			v.addf("%s: place_dbid must not be negative", at)
		}
		for j, l := range p.Logins {
			lat := fmt.Sprintf("%s: logins[%d] (dbid %d, login_code %q)", at, j, l.DBID, l.LoginCode)
			switch {
			case l.DBID <= 0:
				v.addf("%s: dbid must be a positive number", lat)
			case loginIDs[l.DBID]:
				v.addf("%s: duplicate login dbid", lat)
			}
			loginIDs[l.DBID] = true
			if err := dnfilter.ValidDN(l.LoginCode); err != nil {
				v.addf("%s: login_code: %v", lat, err)
			}
			if l.WrapupTime < 0 {
				v.addf("%s: wrapup_time must not be negative", lat)
			}
			if l.Switch != "" {
				sw, ok := switches[l.Switch]
				switch {
				case !ok:
					v.addf("%s: switch %q is not configured", lat, l.Switch)
				case sw.TenantDBID != p.TenantDBID:
					v.addf("%s: switch %q belongs to tenant %d, the person to tenant %d", lat, l.Switch, sw.TenantDBID, p.TenantDBID)
				}
			}
			k := loginKey{p.TenantDBID, l.Switch, l.LoginCode}
			if other, dup := logins[k]; dup && other != p.DBID {
				v.addf("%s: login code already used by person %d", lat, other)
			} else if dup {
				v.addf("%s: login code listed twice", lat)
			}
			logins[k] = p.DBID
		}
		for j, s := range p.Skills {
			sat := fmt.Sprintf("%s: skills[%d] (dbid %d, name %q)", at, j, s.DBID, s.Name)
			if s.DBID <= 0 {
				v.addf("%s: dbid must be a positive number", sat)
			}
			if s.Level < 0 {
				v.addf("%s: level must not be negative", sat)
			}
			if name, ok := skillNames[s.DBID]; ok && name != s.Name {
				v.addf("%s: skill dbid %d is named %q elsewhere", sat, s.DBID, name)
			}
			skillNames[s.DBID] = s.Name
		}
	}
	return v.err()
}

type validator struct {
	errs    []error
	dropped int
}

func (v *validator) addf(format string, args ...any) {
	if len(v.errs) >= maxErrors {
		v.dropped++
		return
	}
	v.errs = append(v.errs, fmt.Errorf("configuration data: "+format+": %w", append(args, ErrInvalid)...))
}

func (v *validator) err() error {
	if v.dropped > 0 {
		v.errs = append(v.errs, fmt.Errorf("configuration data: %d more errors not shown: %w", v.dropped, ErrInvalid))
	}
	return errors.Join(v.errs...)
}

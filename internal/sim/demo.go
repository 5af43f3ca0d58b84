package sim

import (
	_ "embed"
	"fmt"

	"github.com/openrec/openrec/internal/cti/ccdata"
	"github.com/openrec/openrec/internal/sim/rm"
)

//go:embed demo/config.yaml
var demoConfig []byte

//go:embed demo/center.yaml
var demoCenter []byte

// DemoSwitch is the switch name of the demo configuration.
const DemoSwitch = "SIP_Switch"

// DemoConfig returns the built-in demo contact center's configuration data
// (tenant Acme, agents 5001–5004 with logins 1001–1004, DNs 5001–5003
// recorded full-time) and its YAML source.
func DemoConfig() (*ccdata.Data, []byte, error) {
	d, err := ccdata.Parse(demoConfig)
	if err != nil {
		return nil, nil, fmt.Errorf("sim: demo config: %w", err)
	}
	return d, append([]byte(nil), demoConfig...), nil
}

// DemoCenter returns the configuration data of the contact center
// `openrec demo` runs (tenant Acme, fourteen named agents in care, billing,
// sales, HR and a queue, a supervisor; see demo/center.yaml) and its YAML
// source. DemoConfig is the smaller one tests use.
func DemoCenter() (*ccdata.Data, []byte, error) {
	d, err := ccdata.Parse(demoCenter)
	if err != nil {
		return nil, nil, fmt.Errorf("sim: demo center: %w", err)
	}
	return d, append([]byte(nil), demoCenter...), nil
}

// SetRecorders replaces the recorders of the Resource Manager's group
// (those kept keep their health and counters), e.g. once a recorder
// started on port 0 is known.
func (s *Sim) SetRecorders(recorders []string) {
	s.mu.Lock()
	s.cfg.Recorders = append([]string(nil), recorders...)
	s.mu.Unlock()
	s.group.SetMembers(recorders)
}

// RecorderStats returns the counters of the recorders of the Resource
// Manager's group, in order (also served as JSON at GET /recorders).
func (s *Sim) RecorderStats() []rm.MemberStats { return s.group.Stats() }

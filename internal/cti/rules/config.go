package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Config is the `rules:` section of the serve YAML file (and the body of
// the rules API). Groups are evaluated in order: the first group (Admin)
// has the highest priority.
type Config struct {
	Groups []GroupConfig `yaml:"groups" json:"groups"`
}

// GroupConfig is a group of rules, optionally scoped to some calls.
type GroupConfig struct {
	Name string `yaml:"name" json:"name"`
	// Optional scope: when set, the group's rules only apply to calls that
	// match it (all set fields must match). An empty scope is global (Admin).
	DNs    string   `yaml:"dns,omitempty" json:"dns,omitempty"`       // number mask (same grammar as RuleConfig.Mask), e.g. "20??"
	Agents []string `yaml:"agents,omitempty" json:"agents,omitempty"` // agent masks: some agent's ID (login code) or user name matches one
	Tenant string   `yaml:"tenant,omitempty" json:"tenant,omitempty"` // tenant name, case-insensitive
	// Rules in priority order (the first one that matches wins).
	Rules []RuleConfig `yaml:"rules" json:"rules"`
}

// RuleConfig is one recording rule. Every set condition must match (AND).
type RuleConfig struct {
	Name     string            `yaml:"name" json:"name"`                               // required, unique in the whole set (case-insensitive)
	Action   string            `yaml:"action" json:"action"`                           // record | prerecord | do_not_record
	Mask     string            `yaml:"mask,omitempty" json:"mask,omitempty"`           // number mask; "" or "*" = any call
	Agent    string            `yaml:"agent,omitempty" json:"agent,omitempty"`         // mask on any agent's ID (login code) or user name
	Person   string            `yaml:"person,omitempty" json:"person,omitempty"`       // mask on any agent's user name, employee id or full name
	UserData map[string]string `yaml:"userdata,omitempty" json:"userdata,omitempty"`   // attached-data key -> value pattern; all must match
	CallType string            `yaml:"call_type,omitempty" json:"call_type,omitempty"` // inbound | outbound | internal | consult; "" = any
	Tenant   string            `yaml:"tenant,omitempty" json:"tenant,omitempty"`       // tenant name, case-insensitive; "" = any
	Disabled bool              `yaml:"disabled,omitempty" json:"disabled,omitempty"`

	// Sent with the recording START when this rule wins ("" = the
	// tenant's or the global setting).
	Geo         string `yaml:"geo,omitempty" json:"geo,omitempty"`                   // none | source | destination
	Dest        string `yaml:"dest,omitempty" json:"dest,omitempty"`                 // recording destination URI
	Dest2       string `yaml:"dest2,omitempty" json:"dest2,omitempty"`               // second destination (media duplication)
	AudioSrc    string `yaml:"audiosrc,omitempty" json:"audiosrc,omitempty"`         // URI of the recording-notification tone
	ToneSilence string `yaml:"tone_silence,omitempty" json:"tone_silence,omitempty"` // tonesilenceduration, milliseconds

	// Retention is how long the recordings this rule started are kept
	// after they end, a duration such as "2160h" (90 days); "0" keeps
	// them for ever. "" = the tenant's or the global retention period.
	// A legal hold still wins.
	Retention string `yaml:"retention,omitempty" json:"retention,omitempty"`
	// DTMF is how key tones are treated in the recordings this rule
	// starts (PCI): keep, mask or mask-and-drop-events; "" = the tenant's
	// or the global dtmf setting.
	DTMF string `yaml:"dtmf,omitempty" json:"dtmf,omitempty"`
	// Screen asks the agent's screen client to record the screen with the
	// recordings this rule starts (issue 18); nil = the tenant's or the
	// global screen setting.
	Screen *bool `yaml:"screen,omitempty" json:"screen,omitempty"`
}

// maxFileBytes bounds the file LoadFile reads (the serve configuration,
// which may be replaced by anything while openrec runs).
var maxFileBytes int64 = 32 << 20

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d MiB: not a configuration file", path, maxFileBytes>>20)
	}
	return data, nil
}

// LoadFile reads a serve YAML file and returns its `rules:` key; a file
// without the key (or with `rules:` empty) gives an empty Config. Other
// top-level keys are ignored; unknown keys inside rules: are an error that
// wraps ErrInvalid and names the line. LoadFile does not validate the
// rules: pass the result to Compile.
func LoadFile(path string) (Config, error) {
	data, err := readFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("rules: %w", err)
	}
	var doc struct {
		Rules *Config `yaml:"rules"`
		// The rest of the serve file, not ours to check.
		Other map[string]yaml.Node `yaml:",inline"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return Config{}, nil // an empty file
		}
		return Config{}, &invalidError{msg: fmt.Sprintf("rules: %s: %s", path, err), cause: err}
	}
	// A second document (rules: moved below a ---) would be ignored and
	// the rules in force replaced by none: refuse one that holds anything.
	for {
		var more yaml.Node
		err := dec.Decode(&more)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Config{}, &invalidError{msg: fmt.Sprintf("rules: %s: %s", path, err), cause: err}
		}
		if len(more.Content) > 0 && more.Content[0].Tag != "!!null" {
			msg := fmt.Sprintf("rules: %s: line %d: a second YAML document (---): put every setting in one", path, max(more.Line, 1))
			return Config{}, &invalidError{msg: msg, cause: errors.New(msg)}
		}
	}
	if doc.Rules == nil {
		return Config{}, nil
	}
	return *doc.Rules, nil
}

// clone returns a deep copy of c.
func (c Config) clone() Config {
	if c.Groups == nil {
		return Config{}
	}
	out := Config{Groups: make([]GroupConfig, len(c.Groups))}
	for i, g := range c.Groups {
		g.Agents = slices.Clone(g.Agents)
		if g.Rules != nil {
			rs := make([]RuleConfig, len(g.Rules))
			for j, r := range g.Rules {
				r.UserData = maps.Clone(r.UserData)
				rs[j] = r
			}
			g.Rules = rs
		}
		out.Groups[i] = g
	}
	return out
}

package ccdata

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Prefix of every configuration external data key.
const Prefix = "GEN_CFG_"

// Agent data keys (agentDataKey names of seed 000 "Agent Configuration
// Data"). The indexed ones carry ':' where the index goes; in AgentKeys
// "<n>" and "<index>" are accepted for ':' too.
const (
	KeyEmployeeID = "EmployeeID"
	KeyFirstName  = "FirstName"
	KeyLastName   = "LastName"
	KeyUserName   = "UserName"
	KeyAdminType  = "AdminType" // "1" / "0"
	KeyAgentType  = "AgentType" // "1" / "0"
	KeyPlaceDbid  = "PlaceDbid"
	KeyState      = "State"
	KeyLoginDbid  = "AgentLoginInfo_:_LoginDbid"
	KeyWrapupTime = "AgentLoginInfo_:_WrapupTime"
	KeySkillDbid  = "AgentSkillLevels_:_SkillDbid"
	KeySkillLevel = "AgentSkillLevels_:_Level"
)

// Complete external data keys that are not agent data keys.
const (
	KeyFullName   = "GEN_CFG_FULLNAME" // assembled full name (seed 000/002)
	KeyTenantID   = "GEN_CFG_TENANT"   // tenant dbid (seeds 001/002)
	KeySwitchID   = "GEN_CFG_SWITCH"   // switch dbid (seeds 001/002)
	KeyTenantName = "GEN_CFG_Tenant"   // tenant name (seed 000)
	KeySwitchName = "GEN_CFG_Switch"   // switch name (seed 000)
)

// Full name delimiters.
const (
	DelimiterSpace = " "  // "Space": John Smith
	DelimiterComma = ", " // "Comma + space": Smith, John
	MaxDelimiter   = 5    // characters of a custom delimiter
)

// DefaultAgentKeys are stored when AgentKeys.Keys is empty (the keys in
// bold in seed 000).
var DefaultAgentKeys = []string{KeyEmployeeID, KeyFirstName, KeyLastName, KeyUserName}

// AllAgentKeys lists every supported agent data key.
var AllAgentKeys = []string{KeyEmployeeID, KeyFirstName, KeyLastName, KeyUserName, KeyAdminType,
	KeyAgentType, KeyPlaceDbid, KeyState, KeyLoginDbid, KeyWrapupTime, KeySkillDbid, KeySkillLevel}

// NameOrder is the order of first and last name in GEN_CFG_FULLNAME.
type NameOrder int

// Name orders of "Full agent name assembly" (seed 002).
const (
	FirstLast NameOrder = iota // "FirstName LastName": John Smith
	LastFirst                  // "LastName FirstName": Smith, John
)

// AgentKeys configures the agent data stored with a recording (the
// agentDataKeys equal group of seed 000 and "Full agent name assembly" of
// seed 002).
type AgentKeys struct {
	// Keys are the agentDataKey names to store; empty = DefaultAgentKeys.
	// If at least one key is configured the defaults are off.
	Keys []string
	// Rename maps an agentDataKey to the coupleAgentDataKey it is stored
	// under (after GEN_CFG_); it applies to the default keys too. For an
	// indexed key, ':' (or "<n>", "<index>") in the new name is replaced by
	// the index; a new name without a placeholder gets "_<n>" appended.
	Rename map[string]string
	// NameOrder and Delimiter assemble GEN_CFG_FULLNAME. Delimiter ""
	// means DelimiterSpace; a custom one has at most MaxDelimiter
	// characters (longer ones are cut; Validate reports them).
	NameOrder NameOrder
	Delimiter string
	// DisableFullName turns GEN_CFG_FULLNAME off (the "Enabled" checkbox
	// of Full agent name assembly, unchecked).
	DisableFullName bool
}

// canonicalKey maps the accepted spellings of an indexed key to the ':'
// form; other keys are returned unchanged.
func canonicalKey(k string) string {
	k = strings.ReplaceAll(k, "<index>", ":")
	return strings.ReplaceAll(k, "<n>", ":")
}

func supported(k string) bool {
	for _, s := range AllAgentKeys {
		if s == k {
			return true
		}
	}
	return false
}

// Validate reports unknown keys, renames to an empty name, a delimiter
// longer than MaxDelimiter characters and an unknown name order.
func (k AgentKeys) Validate() error {
	var errs []error
	for _, key := range k.Keys {
		if !supported(canonicalKey(key)) {
			errs = append(errs, fmt.Errorf("configuration data: agent data key %q is not one of %s: %w", key, strings.Join(AllAgentKeys, " "), ErrAgentKeys))
		}
	}
	for from, to := range k.Rename {
		if !supported(canonicalKey(from)) {
			errs = append(errs, fmt.Errorf("configuration data: rename of unknown agent data key %q: %w", from, ErrAgentKeys))
		}
		if to == "" {
			errs = append(errs, fmt.Errorf("configuration data: agent data key %q renamed to an empty name: %w", from, ErrAgentKeys))
		}
	}
	if n := utf8.RuneCountInString(k.Delimiter); n > MaxDelimiter {
		errs = append(errs, fmt.Errorf("configuration data: full name delimiter %q has %d characters, at most %d allowed: %w", k.Delimiter, n, MaxDelimiter, ErrAgentKeys))
	}
	if k.NameOrder != FirstLast && k.NameOrder != LastFirst {
		errs = append(errs, fmt.Errorf("configuration data: unknown name order %d: %w", k.NameOrder, ErrAgentKeys))
	}
	return errors.Join(errs...)
}

// storedName returns the name (after GEN_CFG_) under which canonical key
// k is stored.
// raw is the spelling used in Keys; the spellings of the key are tried in
// a fixed order so the result does not depend on map iteration.
func (k AgentKeys) storedName(raw, key string) string {
	for _, from := range []string{raw, key, strings.ReplaceAll(key, ":", "<n>"), strings.ReplaceAll(key, ":", "<index>")} {
		if to := k.Rename[from]; to != "" {
			return to
		}
	}
	return key
}

func indexed(name string, n int) string {
	idx := strconv.Itoa(n)
	out := strings.NewReplacer("<index>", idx, "<n>", idx, ":", idx).Replace(name)
	if out == name {
		out = name + "_" + idx
	}
	return out
}

func boolFlag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// AgentData returns the GEN_CFG_* external data of a person: the
// configured keys (or the defaults), indexed login and skill keys
// numbered from 1 in configuration order (AgentLoginInfo_1_LoginDbid,
// AgentLoginInfo_1_WrapupTime, AgentSkillLevels_1_SkillDbid, ...), and
// GEN_CFG_FULLNAME. Empty values are not stored; AdminType and AgentType
// are "1"/"0", PlaceDbid is stored only when the person has a place
// dbid. Unknown keys are ignored (Validate reports them).
func AgentData(p Person, k AgentKeys) map[string]string {
	keys := k.Keys
	if len(keys) == 0 {
		keys = DefaultAgentKeys
	}
	out := make(map[string]string, len(keys)+1)
	put := func(name, v string) {
		if v != "" {
			out[Prefix+name] = v
		}
	}
	for _, raw := range keys {
		key := canonicalKey(raw)
		name := k.storedName(raw, key)
		switch key {
		case KeyEmployeeID:
			put(name, p.EmployeeID)
		case KeyFirstName:
			put(name, p.FirstName)
		case KeyLastName:
			put(name, p.LastName)
		case KeyUserName:
			put(name, p.UserName)
		case KeyAdminType:
			put(name, boolFlag(p.IsAdmin))
		case KeyAgentType:
			put(name, boolFlag(p.IsAgent))
		case KeyPlaceDbid:
			if p.PlaceDBID > 0 {
				put(name, strconv.Itoa(p.PlaceDBID))
			}
		case KeyState:
			put(name, p.State)
		case KeyLoginDbid:
			for i, l := range p.Logins {
				put(indexed(name, i+1), strconv.Itoa(l.DBID))
			}
		case KeyWrapupTime:
			for i, l := range p.Logins {
				put(indexed(name, i+1), strconv.Itoa(l.WrapupTime))
			}
		case KeySkillDbid:
			for i, s := range p.Skills {
				put(indexed(name, i+1), strconv.Itoa(s.DBID))
			}
		case KeySkillLevel:
			for i, s := range p.Skills {
				put(indexed(name, i+1), strconv.Itoa(s.Level))
			}
		}
	}
	if !k.DisableFullName {
		if full := FullName(p, k.NameOrder, k.Delimiter); full != "" {
			out[KeyFullName] = full
		}
	}
	return out
}

// FullName assembles a person's full name (seed 002 "Full Agent Name
// Assembly"): FirstLast with " " gives "John Smith", LastFirst with ", "
// gives "Smith, John", LastFirst with " - " gives "Smith - John". An empty
// delimiter means a space; a delimiter longer than MaxDelimiter characters
// is cut to MaxDelimiter. With one name missing the other is returned
// alone, with both missing "".
func FullName(p Person, order NameOrder, delimiter string) string {
	if delimiter == "" {
		delimiter = DelimiterSpace
	}
	if utf8.RuneCountInString(delimiter) > MaxDelimiter {
		r := []rune(delimiter)
		delimiter = string(r[:MaxDelimiter])
	}
	first, last := strings.TrimSpace(p.FirstName), strings.TrimSpace(p.LastName)
	switch {
	case first == "":
		return last
	case last == "":
		return first
	case order == LastFirst:
		return last + delimiter + first
	default:
		return first + delimiter + last
	}
}

// TenantKeys returns the tenant and switch external data of a recording,
// under both names the seeds use: GEN_CFG_TENANT and GEN_CFG_SWITCH with
// the numeric dbids (seeds 001/002 "Multi-tenant") and GEN_CFG_Tenant and
// GEN_CFG_Switch with the names (seed 000 "Other Genesys Driver Data").
// Empty values (dbid 0, empty name) are not stored.
func TenantKeys(t Tenant, sw Switch) map[string]string {
	out := make(map[string]string, 4)
	if t.DBID > 0 {
		out[KeyTenantID] = strconv.Itoa(t.DBID)
	}
	if sw.DBID > 0 {
		out[KeySwitchID] = strconv.Itoa(sw.DBID)
	}
	if t.Name != "" {
		out[KeyTenantName] = t.Name
	}
	if sw.Name != "" {
		out[KeySwitchName] = sw.Name
	}
	return out
}

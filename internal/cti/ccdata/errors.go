package ccdata

import "errors"

// Sentinel errors, wrapped with the file and the offending entry.
var (
	// ErrSyntax: the file is not YAML of the documented shape (unknown
	// field, wrong type).
	ErrSyntax = errors.New("configuration syntax error")
	// ErrInvalid: an entry breaks a rule (missing or duplicate id, unknown
	// reference, bad DN number or type, negative value).
	ErrInvalid = errors.New("invalid configuration entry")
	// ErrAgentKeys: AgentKeys.Validate found an unknown key, an empty
	// rename, a too long delimiter or an unknown name order.
	ErrAgentKeys = errors.New("invalid agent data configuration")
)

package auth

import (
	"fmt"
	"strings"
)

// Role is what a user may do. Admins see every tenant and manage users and
// rules; supervisors see and play the recordings of their tenant; agents see
// their own recordings only.
type Role string

// The roles.
const (
	RoleAdmin      Role = "admin"
	RoleSupervisor Role = "supervisor"
	RoleAgent      Role = "agent"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RoleSupervisor, RoleAgent}

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleSupervisor, RoleAgent:
		return true
	}
	return false
}

// NeedsTenant reports whether a user of role r must belong to a tenant
// (supervisors and agents; an admin may have none).
func (r Role) NeedsTenant() bool { return r == RoleSupervisor || r == RoleAgent }

// String returns the role name.
func (r Role) String() string { return string(r) }

// ParseRole parses a role name, ignoring ASCII case and surrounding space.
// An unknown name is ErrBadRole.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", fmt.Errorf("%w %q: want admin, supervisor or agent", ErrBadRole, s)
	}
	return r, nil
}

// MaxUserNameLength is the longest user name, in characters.
const MaxUserNameLength = 64

// ValidUserName checks a user name: 1 to 64 characters of [A-Za-z0-9._@-].
// Names are compared ignoring ASCII case by the store. A bad name is
// ErrBadUserName.
func ValidUserName(s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty", ErrBadUserName)
	}
	if len(s) > MaxUserNameLength {
		return fmt.Errorf("%w: longer than %d characters", ErrBadUserName, MaxUserNameLength)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '@', c == '-':
		default:
			return fmt.Errorf("%w %q: only letters, digits and . _ @ - are allowed", ErrBadUserName, s)
		}
	}
	return nil
}

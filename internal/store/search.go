package store

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Search: the sort orders, the page a search returns, the keyset cursor
// that continues it, and the external data keys the Filter reads.

// External data keys read by Filter.Agent, ANI, DNIS, ConnID, Direction
// and OwnerAgent.
const (
	AgentIDKey    = "GEN_TEV_AgentID"
	UserNameKey   = "GEN_CFG_UserName"
	EmployeeIDKey = "GEN_CFG_EmployeeID"
	FullNameKey   = "GEN_CFG_FULLNAME"
	FirstNameKey  = "GEN_CFG_FirstName"
	LastNameKey   = "GEN_CFG_LastName"
	ANIKey        = "GEN_TEV_ANI"
	DNISKey       = "GEN_TEV_DNIS"
	ConnIDKey     = "GEN_TEV_ConnID"
	CallTypeKey   = "GEN_TEV_CallType"
)

// AgentKeys returns the external data keys Filter.Agent searches.
func AgentKeys() []string {
	return []string{AgentIDKey, UserNameKey, EmployeeIDKey, FullNameKey, FirstNameKey, LastNameKey}
}

// OwnerKeys returns the external data keys Filter.OwnerAgent compares.
func OwnerKeys() []string { return []string{AgentIDKey, UserNameKey} }

// KV is one external data pair of Filter.External.
type KV struct{ Key, Value string }

// Sort is the order of a search. Its values are the API's sort parameter.
type Sort string

// Sort orders. Ties are broken by recording ID in the same direction.
const (
	SortStartedDesc  Sort = "-started_at" // newest first: the default ("")
	SortStartedAsc   Sort = "started_at"
	SortDurationDesc Sort = "-duration" // longest first
	SortDurationAsc  Sort = "duration"
)

// Valid reports whether s is a known order; "" is valid (SortStartedDesc).
func (s Sort) Valid() bool {
	switch s {
	case "", SortStartedDesc, SortStartedAsc, SortDurationDesc, SortDurationAsc:
		return true
	}
	return false
}

// Normal returns s with "" replaced by SortStartedDesc.
func (s Sort) Normal() Sort {
	if s == "" {
		return SortStartedDesc
	}
	return s
}

// ByDuration reports whether s orders by DurationMS (else by StartedAt).
func (s Sort) ByDuration() bool { return s == SortDurationDesc || s == SortDurationAsc }

// Desc reports whether s is a descending order.
func (s Sort) Desc() bool { return s.Normal() == SortStartedDesc || s == SortDurationDesc }

// ParseSort returns the Sort named s; "" is SortStartedDesc. An unknown name
// is ErrInvalid.
func ParseSort(s string) (Sort, error) {
	if !Sort(s).Valid() {
		return "", fmt.Errorf("sort %q (want %s, %s, %s or %s): %w",
			s, SortStartedDesc, SortStartedAsc, SortDurationDesc, SortDurationAsc, ErrInvalid)
	}
	return Sort(s).Normal(), nil
}

// Page is one page of a search.
type Page struct {
	Items []Recording
	// NextCursor continues the search (Filter.Cursor); "" on the last page.
	NextCursor string
}

// Cursor is the decoded form of Filter.Cursor: the position of the last
// recording of a page in its sort order. Store implementations use it;
// callers pass the encoded string through unchanged.
type Cursor struct {
	Sort       Sort      // never "": SortStartedDesc at least
	StartedAt  time.Time // the key of SortStarted*; zero = no start time
	DurationMS int64     // the key of SortDuration*
	ID         string    // the tie breaker, never empty
}

// CursorAfter returns the cursor of the page that follows r in order s.
func CursorAfter(s Sort, r Recording) Cursor {
	c := Cursor{Sort: s.Normal(), ID: r.ID}
	if c.Sort.ByDuration() {
		c.DurationMS = r.DurationMS
	} else {
		c.StartedAt = r.StartedAt
	}
	return c
}

// cursorVersion starts every encoded cursor, so the format can change.
const cursorVersion = "c1"

// String encodes c: unpadded base64url of "c1|sort|key|id", where key is
// the StartedAt (RFC 3339, UTC, "" for zero) or the DurationMS in decimal.
func (c Cursor) String() string {
	s := c.Sort.Normal()
	var key string
	if s.ByDuration() {
		key = strconv.FormatInt(c.DurationMS, 10)
	} else if !c.StartedAt.IsZero() {
		key = c.StartedAt.UTC().Format(time.RFC3339Nano)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(cursorVersion + "|" + string(s) + "|" + key + "|" + c.ID))
}

// ParseCursor decodes a cursor made by Cursor.String. Anything else, even
// an equivalent spelling, is ErrInvalid.
func ParseCursor(s string) (Cursor, error) {
	bad := func(why string) (Cursor, error) {
		return Cursor{}, fmt.Errorf("cursor: %s: %w", why, ErrInvalid)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return bad("not base64url")
	}
	parts := strings.SplitN(string(b), "|", 4)
	if len(parts) != 4 || parts[0] != cursorVersion {
		return bad("unknown format")
	}
	c := Cursor{Sort: Sort(parts[1]), ID: parts[3]}
	if c.Sort == "" || !c.Sort.Valid() {
		return bad("unknown sort")
	}
	if c.ID == "" {
		return bad("no id")
	}
	key := parts[2]
	switch {
	case c.Sort.ByDuration():
		if c.DurationMS, err = strconv.ParseInt(key, 10, 64); err != nil {
			return bad("bad duration")
		}
	case key != "":
		if c.StartedAt, err = time.Parse(time.RFC3339Nano, key); err != nil || c.StartedAt.IsZero() {
			return bad("bad time")
		}
		c.StartedAt = c.StartedAt.UTC()
	}
	if c.String() != s {
		return bad("not canonical")
	}
	return c, nil
}

package api

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
)

// The search parameters come straight from a URL: whatever the query
// string, searchFilter returns a filter or a 400 problem, never panics.
func FuzzSearchFilter(f *testing.F) {
	for _, seed := range []string{
		"", "limit=10&sort=-duration", "since=2026-11-21T09:00:00Z&until=2026-11-22T00:00:00Z",
		"min_duration=2.5&max_duration=NaN", "ext=GEN_TEV_ANI:%2B33*&ext=K:v", "dn=50*&agent=*&ani=%25_",
		"status=completed&mode=msr&retention=pending", "cursor=%%%", "colour=red", "limit=-1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return // query() answers a malformed query string 400 before
		}
		_, err = searchFilter(q)
		var p *Problem
		if err != nil && (!errors.As(err, &p) || p.Status != http.StatusBadRequest) {
			t.Fatalf("searchFilter(%q) = %v, want a 400 problem", raw, err)
		}
	})
}

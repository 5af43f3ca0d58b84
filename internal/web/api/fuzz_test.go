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

// Content-Range comes from any client: parseContentRange returns a range
// (start <= end when it has one, non-negative numbers) or an error, never
// panics.
func FuzzContentRange(f *testing.F) {
	for _, seed := range []string{"bytes 0-99/100", "bytes 100-199/*", "bytes */300", "bytes */*", "bytes 5-1/10",
		"bytes -1-3/4", "items 0-1/2", "bytes 0-99999999999999999999/1", "bytes  0-1/2", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, h string) {
		cr, err := parseContentRange(h)
		if err != nil {
			return
		}
		if cr.total < -1 || (cr.start < 0) != (cr.end < 0) || cr.start < -1 || cr.end < -1 {
			t.Fatalf("parseContentRange(%q) = %+v", h, cr)
		}
	})
}

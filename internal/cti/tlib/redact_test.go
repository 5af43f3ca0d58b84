package tlib

import (
	"strings"
	"testing"
)

func TestRedactHidesCollectedDigitsAndPasswords(t *testing.T) {
	m := &Message{Type: EventDigitsCollected, Attrs: []Attr{
		{ID: AttrThisDN, Kind: KindString, Str: "5001"},
		{ID: AttrCollectedDigits, Kind: KindString, Str: "4111111111111111"},
		{ID: AttrPassword, Kind: KindString, Str: "s3cret"},
	}}
	r := m.Redact()
	tr := r.Trace()
	if strings.Contains(tr, "4111") || strings.Contains(tr, "s3cret") || !strings.Contains(tr, "'5001'") || strings.Count(tr, Redacted) != 2 {
		t.Errorf("redacted trace:\n%s", tr)
	}
	if m.Attrs[1].Str != "4111111111111111" {
		t.Error("Redact changed the original message")
	}
	plain := &Message{Type: EventEstablished, Attrs: []Attr{{ID: AttrThisDN, Kind: KindString, Str: "5001"}}}
	if plain.Redact() != plain {
		t.Error("a message without secrets was copied")
	}
}

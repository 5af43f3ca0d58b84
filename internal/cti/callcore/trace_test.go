package callcore

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/cti/conversation"
	"github.com/openrec/openrec/internal/cti/tlib"
)

// Issue 21: the CTI trace (cti_trace) never holds collected digits or
// passwords; the attributes stay, with their values redacted.
func TestTraceRedactsDigits(t *testing.T) {
	var buf bytes.Buffer
	c, err := New(Config{
		Engine: conversation.New(conversation.Config{}),
		Trace:  &buf,
		Now:    func() time.Time { return time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	m := &tlib.Message{Type: tlib.EventAttachedDataChanged}
	m.SetStr(tlib.AttrThisDN, "5001").SetStr(tlib.AttrCollectedDigits, "4111111111111111").SetStr(tlib.AttrPassword, "s3cret")
	c.HandleEvent("SIP_Switch", m)
	got := buf.String()
	for _, secret := range []string{"4111111111111111", "s3cret"} {
		if strings.Contains(got, secret) {
			t.Errorf("trace holds %q:\n%s", secret, got)
		}
	}
	for _, attr := range []string{"AttributeCollectedDigits", "AttributePassword", "AttributeThisDN"} {
		if !strings.Contains(got, attr) {
			t.Errorf("trace lacks %s:\n%s", attr, got)
		}
	}
	if m.Attrs[1].Str != "4111111111111111" {
		t.Error("the message handed on was changed")
	}
}

package siprec

import "testing"

func TestIsSIPREC(t *testing.T) {
	withMeta := &Body{SDP: []byte("v=0"), Metadata: []byte("<recording/>")}
	sdpOnly := &Body{SDP: []byte("v=0")}
	tests := []struct {
		name        string
		require     []string
		supported   []string
		contact     string
		contentType string
		body        *Body
		want        bool
	}{
		{name: "Require: siprec", require: []string{"siprec"}, want: true},
		{name: "Require list", require: []string{"timer, SIPREC"}, want: true},
		{name: "Supported: siprec", supported: []string{"100rel", "siprec"}, want: true},
		{name: "Contact feature tag", contact: "<sip:src@192.0.2.1;transport=tcp>;+sip.src", want: true},
		{name: "Contact params only", contact: ";+sip.src", want: true},
		{name: "Contact feature tag with value", contact: "<sip:src@x>;+sip.src=\"true\";expires=60", want: true},
		{name: "Contact feature tag upper case", contact: "<sip:src@x>;+SIP.SRC", want: true},
		{name: "recorder tag is not a client", contact: "<sip:srs@x>;+sip.srs", want: false},
		{name: "similar tag", contact: "<sip:x@x>;+sip.srcx", want: false},
		{name: "tag inside URI user", contact: "<sip:+sip.srcfoo@x>", want: false},
		{name: "metadata part", contentType: "multipart/mixed;boundary=x", body: withMeta, want: true},
		{name: "metadata-only body", contentType: "application/rs-metadata+xml", want: true},
		{name: "plain call", require: []string{"timer"}, supported: []string{"replaces, 100rel"}, contact: "<sip:a@x>", contentType: "application/sdp", body: sdpOnly, want: false},
		{name: "nothing", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsSIPREC(tc.require, tc.supported, tc.contact, tc.contentType, tc.body); got != tc.want {
				t.Fatalf("IsSIPREC = %v, want %v", got, tc.want)
			}
		})
	}
	if ContactFeature != "+sip.srs" {
		t.Fatalf("ContactFeature = %q", ContactFeature)
	}
}

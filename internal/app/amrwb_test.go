//go:build amrwb && cgo

package app_test

import (
	"context"
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/codec"
	"github.com/openrec/openrec/internal/recorder/transcode"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/testtool"
)

// amrwbLeg: vo-amrwbenc (not the decoder's code) encodes the tone at
// 12.65 kbit/s, one frame per bandwidth-efficient RFC 4867 payload,
// 16000 Hz RTP clock, dynamic payload type 98.
func amrwbLeg(t *testing.T, freq float64, ssrc uint32) codecLeg {
	enc, err := codec.NewAMRWBEncoder()
	if err != nil {
		t.Fatal(err)
	}
	n := int(codecLegDur / (20 * time.Millisecond))
	tone := audiotest.Tone(freq, 0.25, 16000, n*320)
	var pkts [][]byte
	for i := range n {
		p := make([]byte, 12)
		p[0], p[1] = 0x80, 98
		binary.BigEndian.PutUint16(p[2:], uint16(7000+i))
		binary.BigEndian.PutUint32(p[4:], uint32(320*i))
		binary.BigEndian.PutUint32(p[8:], ssrc)
		pkts = append(pkts, append(p, codec.PackAMRWB([][]byte{enc.Encode(tone[i*320:(i+1)*320], 2, false)}, false)...))
	}
	return codecLeg{pt: 98, rtpmap: "AMR-WB/16000", freq: freq, pkts: pkts, stored: "AMR-WB"}
}

// Issue 17: an AMR-WB leg beside a PCMA leg, over real sockets, through
// MSR and SIPREC: decoded while recording in a -tags amrwb build, and kept
// raw by a recorder without the decoder then transcoded by serve's queue;
// either way each channel holds its tone for the call, aligned (±20 ms).
func TestAMRWBCallsDecodedLiveOrTranscoded(t *testing.T) {
	for _, tc := range []struct {
		name   string
		siprec bool
		raw    bool
	}{
		{"MSR, live", false, false},
		{"SIPREC, live", true, false},
		{"MSR, kept raw, transcoded", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			legs := []codecLeg{amrwbLeg(t, 1000, 0xA3B), pcmaLeg(440, 0x711)}
			opt := app.Options{}
			if tc.raw {
				opt.LiveDecoders = without("AMR-WB")
			}
			a := apptest.StartWith(t, func(c *config.Serve) { c.StorageFormat = "pcm16"; c.DTMF = "keep" }, nil, opt)
			r := recordRaw(t, a, tc.siprec, legs)
			if tc.raw {
				testtool.Poll(t, 30*time.Second, func() (bool, string) {
					got, err := a.Store().GetRecording(context.Background(), r.ID)
					if err != nil {
						t.Fatal(err)
					}
					r = *got
					return !r.NeedsTranscode, "needs_transcode"
				}, "transcode of %s", r.ID)
				if !hasEvent(r.Events, transcode.EventTranscoded) {
					t.Errorf("not transcoded: %+v", r.Events)
				}
			}
			if r.Status != store.StatusCompleted || r.NeedsTranscode || !slices.Contains(r.Codecs, "AMR-WB") {
				t.Errorf("recording %s %q, needs transcode %v, codecs %v", r.Status, r.StatusReason, r.NeedsTranscode, r.Codecs)
			}
			f := checkTones(t, r.MediaPath, []float64{legs[0].freq, legs[1].freq}, codecLegDur)
			checkAgainstReference(t, f, legs)
		})
	}
}

//go:build bcg729 && cgo

package app_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/media"
	"github.com/openrec/openrec/internal/media/audiotest"
	"github.com/openrec/openrec/internal/media/codec"
	"github.com/openrec/openrec/internal/recorder/transcode"
	"github.com/openrec/openrec/internal/store"
)

// g729Leg: bcg729's encoder (the ITU reference's port, not openrec code)
// makes G.729A frames of the tone, two per 20 ms RTP packet (static payload
// type 18); its decoder gives the reference.
func g729Leg(t *testing.T, freq float64, ssrc uint32) codecLeg {
	enc, err := codec.NewG729Encoder(false)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := codec.NewDecoder(media.Codec{PT: 18, Name: "G729", ClockRate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	n := int(codecLegDur / (20 * time.Millisecond))
	tone := audiotest.Tone(freq, 0.125, 8000, n*160)
	var pkts [][]byte
	var ref []int16
	for i := range n {
		payload := enc.Encode(tone[i*160:(i+1)*160], nil)
		pkts = append(pkts, rtpPacket(18, i, ssrc, payload))
		pcm, err := dec.Decode(payload, nil)
		if err != nil {
			t.Fatal(err)
		}
		ref = append(ref, pcm...)
	}
	return codecLeg{pt: 18, rtpmap: "G729/8000", freq: freq, pkts: pkts, stored: "G729", ref: ref}
}

// Issue 17, item 5, as it happens: a G.729 call recorded by a build that
// cannot decode G.729 (the default build: no bcg729) is kept raw; a
// -tags bcg729 build transcodes it. Both are simulated in one -tags bcg729
// test binary: the first recorder's live decoders leave G.729 out and it
// does not transcode (transcode_workers 0); `openrec recordings transcode
// --all`'s code then runs with every decoder of the build.
func TestG729KeptRawIsTranscodedByABuildWithBcg729(t *testing.T) {
	legs := []codecLeg{g729Leg(t, 1000, 0x729), pcmaLeg(440, 0x711)}
	a := apptest.StartWith(t, func(c *config.Serve) { c.StorageFormat = "pcm16"; c.DTMF = "keep"; c.TranscodeWorkers = 0 }, nil,
		app.Options{LiveDecoders: without("G729")})
	r := recordRaw(t, a, false, legs)
	if !r.NeedsTranscode {
		t.Fatalf("recording %s: not kept raw", r.ID)
	}
	ctx := context.Background()
	var audited []store.AuditEntry
	audit := func(_ context.Context, e store.AuditEntry) error { audited = append(audited, e); return nil }
	var progress strings.Builder
	rep, err := app.Transcode(ctx, a.Store(), a.DataDir(), nil, "keep", &progress, audit)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("progress:\n%s", progress.String())
	if rep.Done != 1 || len(rep.Failed) != 0 || len(audited) != 1 || audited[0].Action != store.AuditTranscode {
		t.Fatalf("report %+v, audited %+v", rep, audited)
	}
	got, err := a.Store().GetRecording(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.NeedsTranscode || !slices.Contains(got.Codecs, "G729") || !hasEvent(got.Events, transcode.EventTranscoded) {
		t.Errorf("row after transcoding: needs %v codecs %v", got.NeedsTranscode, got.Codecs)
	}
	f := checkTones(t, got.MediaPath, []float64{legs[0].freq, legs[1].freq}, codecLegDur)
	checkAgainstReference(t, f, legs)
	if !strings.Contains(progress.String(), "[1/1] "+r.ID+": transcoded ch0 G729") {
		t.Errorf("progress does not name the recording and its codec:\n%s", progress.String())
	}
}

package app_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/app/apptest"
	"github.com/openrec/openrec/internal/config"
	"github.com/openrec/openrec/internal/sip/dial"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediastore"
	"github.com/openrec/openrec/internal/testtool"
	"github.com/openrec/openrec/internal/testtool/s3test"
)

// Media in S3 and the transcode queue together: a recording kept raw
// (needs_transcode) is uploaded once its transcode is done, as the decoded
// file.
func TestRawRecordingIsTranscodedBeforeUpload(t *testing.T) {
	srv := s3test.Start(t, "rec")
	leg := g722Leg(t, 1000)
	a := apptest.StartWith(t, s3Media(t, srv, t.TempDir(), func(c *config.Serve) { c.StorageFormat = "pcm16"; c.DTMF = "keep" }), nil,
		app.Options{LiveDecoders: without("G722")})
	r := recordRaw(t, a, false, []codecLeg{leg, pcmaLeg(440, 0x711)})
	got := waitInBucket(t, a, r.ID, 60*time.Second)
	if got.NeedsTranscode || !hasEvent(got.Events, "transcoded") {
		t.Fatalf("uploaded before its transcode: needs_transcode %v, events %+v", got.NeedsTranscode, got.Events)
	}
	job, err := a.Store().TranscodeJob(context.Background(), r.ID)
	if err != nil || job.State != store.TranscodeDone {
		t.Fatalf("transcode job: %+v, %v", job, err)
	}
	// The object is the decoded file: its size and sha256 are the row's,
	// which the transcode rewrote.
	if got.SHA256 == r.SHA256 {
		t.Errorf("the row's sha256 did not change with the transcode (%s)", got.SHA256)
	}
	objs := bucketObjects(t, srv)
	testtool.Poll(t, 10*time.Second, func() (bool, string) {
		objs = bucketObjects(t, srv)
		for _, o := range objs {
			if o == "calls/"+mediastore.ObjectName(got.MediaPath) {
				return true, ""
			}
		}
		return false, fmt.Sprint(objs)
	}, "media object of %s", r.ID)
}

// A recording kept raw in a codec no decoder of this build knows (its
// transcode job waits for a build that has one) stays in the local spool:
// uploading it would delete the raw payload sidecars the transcoder needs.
// A call recorded after it is uploaded meanwhile, so the uploader did run.
// (Before the uploader asked the transcode queue, the raw copy went to the
// bucket and its local files were deleted.)
func TestRawRecordingWaitingForADecoderStaysLocal(t *testing.T) {
	srv := s3test.Start(t, "rec")
	n := int(codecLegDur / (20 * time.Millisecond))
	var pkts [][]byte
	for i := range n {
		pkts = append(pkts, rtpPacket(97, i, 0x5eec, []byte(fmt.Sprintf("not-a-real-speex-frame-%04d", i))))
	}
	speex := codecLeg{pt: 97, rtpmap: "SPEEX/8000", pkts: pkts, stored: "SPEEX"}
	a := apptest.StartWith(t, s3Media(t, srv, t.TempDir(), func(c *config.Serve) { c.StorageFormat = "pcm16" }), nil, app.Options{})
	raw := recordRaw(t, a, false, []codecLeg{speex, pcmaLeg(440, 0x711)})
	if !raw.NeedsTranscode {
		t.Fatalf("recording %s not kept raw", raw.ID)
	}
	ctx := context.Background()
	testtool.Poll(t, 30*time.Second, func() (bool, string) {
		j, err := a.Store().TranscodeJob(ctx, raw.ID)
		if err != nil {
			return false, err.Error()
		}
		return j.State == store.TranscodeWaiting, string(j.State)
	}, "transcode job of %s waiting for a decoder", raw.ID)
	if _, err := newDialer(t).Call(ctx, dial.Spec{Target: a.SIPAddr().String(), Mode: dial.ModeMSR, DN: "5002", OtherDN: "+15550101",
		RecordID: "rec-after-raw", CallUUID: "00M2V3L4A58BV0LJ3C8G4A0AAA000002", Codec: "PCMU", Duration: time.Second,
		Sources: []dial.Source{dial.Tone(440, 0.3), dial.Tone(1000, 0.3)}}); err != nil {
		t.Fatal(err)
	}
	recs := waitFinished(t, a, 2)
	var plain string
	for _, r := range recs {
		if r.ID != raw.ID {
			plain = r.ID
		}
	}
	waitInBucket(t, a, plain, 60*time.Second)
	got, err := a.Store().GetRecording(ctx, raw.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.MediaObject != "" {
		t.Errorf("the raw recording was uploaded (%s) while its transcode waits", got.MediaObject)
	}
	for _, f := range append([]string{got.MediaPath}, mediastore.Raws(got.MediaPath)...) {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("local file of the raw recording: %v", err)
		}
	}
}

package config

import (
	"strings"
	"testing"
)

func TestMediaSettings(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		args       []string
		kind       MediaKind
		dir        string
		bucket     string
		prefix     string
		err        string
	}{
		{name: "default", kind: MediaFile},
		{name: "file flag", args: []string{"--media", "file:/srv/rec"}, kind: MediaFile, dir: "/srv/rec"},
		{name: "s3 file keys", file: "media: s3://rec/site-a/\ns3_endpoint: http://127.0.0.1:7070\n", kind: MediaS3, bucket: "rec", prefix: "site-a"},
		{name: "s3 flags", args: []string{"--media", "s3://rec", "--s3-endpoint", "https://s3.example:9000", "--s3-upload-workers", "4"}, kind: MediaS3, bucket: "rec"},
		{name: "s3 without endpoint", args: []string{"--media", "s3://rec/p"}, err: "s3_endpoint (--s3-endpoint) is needed"},
		{name: "bad endpoint", args: []string{"--media", "s3://rec/p", "--s3-endpoint", "127.0.0.1:7070"}, err: `s3_endpoint "127.0.0.1:7070": want http(s)://HOST:PORT`},
		{name: "no bucket", args: []string{"--media", "s3:///p", "--s3-endpoint", "http://h:1"}, err: "want s3://BUCKET/PREFIX"},
		{name: "empty file dir", args: []string{"--media", "file:"}, err: "want file:DIR"},
		{name: "unknown scheme", args: []string{"--media", "gs://x"}, err: "want file:DIR or s3://BUCKET/PREFIX"},
		{name: "workers", args: []string{"--s3-upload-workers", "0"}, err: "s3_upload_workers 0: want 1..64"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.file, tt.args...)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			kind, dir, bucket, prefix, err := c.MediaLocation()
			if err != nil || kind != tt.kind || dir != tt.dir || bucket != tt.bucket || prefix != tt.prefix {
				t.Errorf("MediaLocation = %v %q %q %q %v", kind, dir, bucket, prefix, err)
			}
		})
	}
}

func FuzzMediaLocation(f *testing.F) {
	for _, s := range []string{"", "file:/x", "s3://rec/p", "s3://", "s3://a/b//c", "gs://x", "file:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kind, dir, bucket, prefix, err := Serve{Media: s}.MediaLocation()
		if err != nil {
			return
		}
		switch kind {
		case MediaS3:
			if bucket == "" || strings.HasPrefix(prefix, "/") || strings.HasSuffix(prefix, "/") {
				t.Fatalf("%q: bucket %q prefix %q", s, bucket, prefix)
			}
		case MediaFile:
			if bucket != "" || (strings.TrimSpace(s) != "" && dir == "") {
				t.Fatalf("%q: dir %q bucket %q", s, dir, bucket)
			}
		}
	})
}

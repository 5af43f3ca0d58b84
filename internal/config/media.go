package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// MediaKind is where finished recordings are kept (the media key).
type MediaKind int

// Media kinds.
const (
	MediaFile MediaKind = iota // local files
	MediaS3                    // an S3-compatible bucket, through the local spool
)

// MediaLocation parses the media key: its kind and, for file:DIR, the
// directory ("" = <data_dir>/media); for s3://BUCKET/PREFIX the bucket and
// prefix (without slashes at either end).
func (c Serve) MediaLocation() (kind MediaKind, dir, bucket, prefix string, err error) {
	m := strings.TrimSpace(c.Media)
	switch {
	case m == "":
		return MediaFile, "", "", "", nil
	case strings.HasPrefix(m, "file:"):
		dir = strings.TrimPrefix(m, "file:")
		if dir == "" {
			return 0, "", "", "", fmt.Errorf("media %q: want file:DIR", c.Media)
		}
		return MediaFile, dir, "", "", nil
	case strings.HasPrefix(m, "s3://"):
		rest := strings.TrimPrefix(m, "s3://")
		bucket, prefix, _ = strings.Cut(rest, "/")
		prefix = strings.Trim(prefix, "/")
		if !bucketName(bucket) {
			// Not echoed: a bucket of "KEY:SECRET@bucket" holds credentials.
			return 0, "", "", "", errors.New("media: want s3://BUCKET/PREFIX: the bucket name is letters, digits, '.', '-' and '_' (credentials go in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, not the URL)")
		}
		if !prefixName(prefix) {
			return 0, "", "", "", fmt.Errorf("media %q: want s3://BUCKET/PREFIX (a prefix of printable segments, none empty, . or ..)", c.Media)
		}
		return MediaS3, "", bucket, prefix, nil
	}
	return 0, "", "", "", fmt.Errorf("media %q: want file:DIR or s3://BUCKET/PREFIX", c.Media)
}

// bucketName reports whether b is an S3 bucket name (legacy names too:
// upper case and _), not . or .. (a path-style request would leave the
// bucket).
func bucketName(b string) bool {
	if b == "" || b == "." || b == ".." || len(b) > 255 {
		return false
	}
	for _, r := range b {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// prefixName reports whether p ("" = none) is a key prefix whose
// segments are printable and none is empty, . or ..
func prefixName(p string) bool {
	if p == "" {
		return true
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsFunc(seg, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '#' || r == '?' }) {
			return false
		}
	}
	return true
}

// ValidateMedia checks the media, s3_endpoint and s3_upload_workers
// settings alone (the command line's --media).
func (c Serve) ValidateMedia() []error {
	var errs []error
	kind, _, _, _, err := c.MediaLocation()
	if err != nil {
		return []error{err}
	}
	if kind == MediaS3 {
		u, err := url.Parse(c.S3Endpoint)
		if c.S3Endpoint == "" {
			errs = append(errs, errors.New("media s3://...: s3_endpoint (--s3-endpoint) is needed, e.g. http://127.0.0.1:7070"))
		} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("s3_endpoint %q: want http(s)://HOST:PORT", c.S3Endpoint))
		}
	}
	if c.S3UploadWorkers < 1 || c.S3UploadWorkers > 64 {
		errs = append(errs, fmt.Errorf("s3_upload_workers %d: want 1..64", c.S3UploadWorkers))
	}
	return errs
}

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
		if bucket == "" || strings.ContainsAny(bucket, " \t?#") || strings.Contains(prefix, "//") {
			return 0, "", "", "", fmt.Errorf("media %q: want s3://BUCKET/PREFIX", c.Media)
		}
		return MediaS3, "", bucket, prefix, nil
	}
	return 0, "", "", "", fmt.Errorf("media %q: want file:DIR or s3://BUCKET/PREFIX", c.Media)
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

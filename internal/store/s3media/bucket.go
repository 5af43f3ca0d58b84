package s3media

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/mediastore"
)

// Errors of the bucket.
var (
	// ErrURL wraps an unusable endpoint or s3:// location (openrec's
	// media setting is parsed by config.Serve.MediaLocation).
	ErrURL = errors.New("s3media: invalid location")
	// ErrVerify wraps an object that is not what was uploaded (size or
	// sha256 differ): never trusted, the local copy is kept.
	ErrVerify = errors.New("s3media: object does not match the local file")
	// ErrNotFound wraps a missing object.
	ErrNotFound = errors.New("s3media: no such object")
	// ErrOtherBucket wraps a recording stored in another bucket than the
	// one configured.
	ErrOtherBucket = errors.New("s3media: recording is in another bucket")
)

// Config locates a bucket.
type Config struct {
	Bucket   string
	Prefix   string // key prefix without a trailing slash ("" = the bucket's root)
	Endpoint string // http(s)://host:port of the server (path-style addressing)
	Region   string // "" = us-east-1
	// AccessKey and SecretKey are static credentials (openrec serve reads
	// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).
	AccessKey, SecretKey, SessionToken string
	// Timeout bounds one request (0 = 5 minutes).
	Timeout time.Duration
}

// Bucket is a bucket (and key prefix) of an S3-compatible server. Its
// methods are safe for concurrent use.
type Bucket struct {
	cfg  Config
	c    *s3.Client
	http *http.Client
}

// New returns the bucket of cfg. It does not contact the server.
func New(cfg Config) (*Bucket, error) {
	if cfg.Bucket == "" {
		return nil, fmt.Errorf("%w: no bucket", ErrURL)
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: endpoint %q: want http(s)://HOST:PORT", ErrURL, cfg.Endpoint)
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, fmt.Errorf("s3media: no credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	cfg.Prefix = strings.Trim(cfg.Prefix, "/")
	hc := &http.Client{Timeout: cfg.Timeout}
	c := s3.New(s3.Options{
		Region:       cfg.Region,
		BaseEndpoint: aws.String(cfg.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken),
		// The sha256 is computed here and sent as a header, so that the
		// server checks it (no aws-chunked trailers, which not every
		// S3-compatible server takes).
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		// The Uploader retries with its own backoff; the SDK retries
		// a little within one attempt.
		RetryMaxAttempts: 2,
		HTTPClient:       hc,
	})
	return &Bucket{cfg: cfg, c: c, http: hc}, nil
}

// Close closes the idle connections to the server (requests still work
// after it, on new connections). A nil Bucket is fine.
func (b *Bucket) Close() {
	if b != nil {
		b.http.CloseIdleConnections()
	}
}

// Location is "s3://BUCKET/PREFIX" of b.
func (b *Bucket) Location() string { return "s3://" + b.cfg.Bucket + "/" + b.cfg.Prefix }

// Key is the object key of the recording file at path: the prefix and the
// layout name (YYYY/MM/DD/<file>).
func (b *Bucket) Key(path string) string {
	name := mediastore.ObjectName(path)
	if b.cfg.Prefix == "" {
		return name
	}
	return b.cfg.Prefix + "/" + name
}

// URL is the location of key as stored in store.Recording.MediaObject:
// "s3://BUCKET/KEY".
func (b *Bucket) URL(key string) string { return "s3://" + b.cfg.Bucket + "/" + key }

// keyOf returns the key of a stored MediaObject URL of this bucket.
func (b *Bucket) keyOf(object string) (string, error) {
	rest, ok := strings.CutPrefix(object, "s3://")
	bucket, key, _ := strings.Cut(rest, "/")
	if !ok || key == "" {
		return "", fmt.Errorf("%w: %q", ErrURL, object)
	}
	if bucket != b.cfg.Bucket {
		return "", fmt.Errorf("%w: %s, this server uses bucket %s", ErrOtherBucket, object, b.cfg.Bucket)
	}
	return key, nil
}

// Digest is the size and sha256 of a file or object.
type Digest struct {
	Size   int64
	SHA256 [sha256.Size]byte
}

// Hex is the sha256 in hex (store.Recording.SHA256's form).
func (d Digest) Hex() string { return hex.EncodeToString(d.SHA256[:]) }

// DigestFile reads the file at path once.
func DigestFile(path string) (Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return Digest{}, fmt.Errorf("s3media: %w", err)
	}
	defer f.Close()
	return digest(f)
}

func digest(r io.Reader) (Digest, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return Digest{}, fmt.Errorf("s3media: %w", err)
	}
	var d Digest
	d.Size = n
	h.Sum(d.SHA256[:0])
	return d, nil
}

// Put uploads the file at path as key, telling the server its sha256 (the
// server refuses a body that does not match it). The caller verifies the
// object with Stat before trusting it.
func (b *Bucket) Put(ctx context.Context, key, path string, d Digest) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("s3media: %w", err)
	}
	defer f.Close()
	_, err = b.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket:         aws.String(b.cfg.Bucket),
		Key:            aws.String(key),
		Body:           io.NewSectionReader(f, 0, d.Size),
		ContentLength:  aws.Int64(d.Size),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(d.SHA256[:])),
		Metadata:       map[string]string{"sha256": d.Hex()},
	})
	if err != nil {
		return fmt.Errorf("s3media: put %s: %w", key, err)
	}
	return nil
}

// Stat returns the size and sha256 of the object key as the server holds
// it: the full-object SHA-256 checksum the server computed when it has
// one, else the sha256 of the object read back.
func (b *Bucket) Stat(ctx context.Context, key string) (Digest, error) {
	h, err := b.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b.cfg.Bucket), Key: aws.String(key),
		ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		return Digest{}, b.wrap("head", key, err)
	}
	size := aws.ToInt64(h.ContentLength)
	if sum := aws.ToString(h.ChecksumSHA256); sum != "" && !strings.Contains(sum, "-") && h.ChecksumType != types.ChecksumTypeComposite {
		if raw, err := base64.StdEncoding.DecodeString(sum); err == nil && len(raw) == sha256.Size {
			d := Digest{Size: size}
			copy(d.SHA256[:], raw)
			return d, nil
		}
	}
	o, err := b.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.cfg.Bucket), Key: aws.String(key)})
	if err != nil {
		return Digest{}, b.wrap("get", key, err)
	}
	defer o.Body.Close()
	return digest(o.Body)
}

// Delete removes the object key (no error when it is absent).
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if _, err := b.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.cfg.Bucket), Key: aws.String(key)}); err != nil {
		if err := b.wrap("delete", key, err); !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// List returns the keys under prefix (a full key prefix, not relative to
// the bucket's).
func (b *Bucket) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	p := s3.NewListObjectsV2Paginator(b.c, &s3.ListObjectsV2Input{Bucket: aws.String(b.cfg.Bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, b.wrap("list", prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys, nil
}

// RecordingPrefix is the key prefix shared by every object of the
// recording whose media is at mediaPath: "<prefix>/YYYY/MM/DD/<id>.".
func (b *Bucket) RecordingPrefix(mediaPath string) string {
	k := b.Key(mediastore.Final(mediaPath))
	if i := strings.LastIndex(k, "/"); i >= 0 {
		if j := strings.IndexByte(k[i+1:], '.'); j >= 0 {
			return k[:i+1+j+1]
		}
	}
	return k
}

// DeleteRecording removes every object of recording r (media and
// sidecars): those under its key prefix, found whether or not the store
// says the media was uploaded (an upload may be under way).
func (b *Bucket) DeleteRecording(ctx context.Context, r *store.Recording) error {
	if r.MediaPath == "" {
		return nil
	}
	keys, err := b.List(ctx, b.RecordingPrefix(r.MediaPath))
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range keys {
		if err := b.Delete(ctx, k); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// wrap maps the SDK's not-found errors to ErrNotFound.
func (b *Bucket) wrap(op, key string, err error) error {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	var ae smithy.APIError
	if errors.As(err, &nsk) || errors.As(err, &nf) || (errors.As(err, &ae) && (ae.ErrorCode() == "NotFound" || ae.ErrorCode() == "NoSuchKey")) {
		return fmt.Errorf("s3media: %s %s: %w", op, key, ErrNotFound)
	}
	return fmt.Errorf("s3media: %s %s: %w", op, key, err)
}

// Open opens the object a store.Recording.MediaObject names for ranged
// reading (Range replay, waveform, MP3 encoding). Its reads end with ctx
// (a replay request whose client left).
func (b *Bucket) Open(ctx context.Context, object string) (*Object, error) {
	key, err := b.keyOf(object)
	if err != nil {
		return nil, err
	}
	h, err := b.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b.cfg.Bucket), Key: aws.String(key)})
	if err != nil {
		return nil, b.wrap("head", key, err)
	}
	return &Object{ctx: ctx, b: b, key: key, size: aws.ToInt64(h.ContentLength)}, nil
}

// readAhead is how much one GetObject fetches at least: the converters
// read 32 KiB blocks in order, so a playback costs one request per
// readAhead bytes rather than one per block.
const readAhead = 256 << 10

// Object is an object opened for reading: each ReadAt outside the bytes
// fetched last is one ranged GetObject. Safe for concurrent use.
type Object struct {
	ctx  context.Context
	b    *Bucket
	key  string
	size int64

	mu     sync.Mutex
	win    []byte // bytes [winOff, winOff+len(win)) of the object
	winOff int64
	closed bool
}

// Size is the object's size in bytes.
func (o *Object) Size() int64 { return o.size }

// Close releases the object; later reads fail. Idempotent.
func (o *Object) Close() error {
	o.mu.Lock()
	o.closed, o.win = true, nil
	o.mu.Unlock()
	return nil
}

// ReadAt reads len(p) bytes at off (io.ReaderAt).
func (o *Object) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("s3media: read %s: negative offset", o.key)
	}
	if off >= o.size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), o.size-off)
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return 0, fmt.Errorf("s3media: read %s: %w", o.key, os.ErrClosed)
	}
	if off >= o.winOff && off+want <= o.winOff+int64(len(o.win)) {
		n := copy(p[:want], o.win[off-o.winOff:])
		o.mu.Unlock()
		return o.eof(n, len(p))
	}
	o.mu.Unlock()
	// Fetched without the lock: another reader is not held up by this
	// request.
	end := min(o.size, off+max(want, readAhead)) - 1
	out, err := o.b.c.GetObject(o.ctx, &s3.GetObjectInput{Bucket: aws.String(o.b.cfg.Bucket), Key: aws.String(o.key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, end))})
	if err != nil {
		return 0, o.b.wrap("get", o.key, err)
	}
	buf := make([]byte, end-off+1)
	n, err := io.ReadFull(out.Body, buf)
	out.Body.Close()
	if err != nil {
		return 0, fmt.Errorf("s3media: read %s at %d: got %d of %d bytes: %w", o.key, off, n, len(buf), err)
	}
	o.mu.Lock()
	if !o.closed {
		o.win, o.winOff = buf, off
	}
	o.mu.Unlock()
	return o.eof(copy(p[:want], buf), len(p))
}

func (o *Object) eof(n, asked int) (int, error) {
	if n < asked {
		return n, io.EOF
	}
	return n, nil
}

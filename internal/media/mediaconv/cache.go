package mediaconv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// maxKeyLen bounds a cache key so that file names stay short.
const maxKeyLen = 128

// Cache encodes each MP3 variant of a recording once and keeps it as a
// plain file under Dir, named "<key>.<channel>.<kbps>k.mp3" (channel "all"
// or "ch<N>"), so repeated downloads and Range requests are served from
// disk. Files are put in place by Place, which must be atomic (openrec uses
// store/mediastore.Put: temporary file, fsync, rename), so a reader never
// sees a partial MP3; a file store or an object store plugs in here. Concurrent callers for the same variant wait
// for one encode; the encode is stopped when every caller waiting for it
// has given up. Close stops the encodes still running. Set Dir and Place before use. Nothing is ever
// evicted; a key that names the content (recording id and sha256) keeps
// stale variants from being served.
type Cache struct {
	Dir string
	Enc Encoder
	// Place writes path atomically, creating its directory, with what
	// write puts into the file it is given.
	Place func(path string, write func(f *os.File) error) error

	mu       sync.Mutex
	inflight map[string]*encodeCall
	closed   bool
	running  sync.WaitGroup
}

// encodeCall is one encode that callers wait for.
type encodeCall struct {
	done    chan struct{}
	err     error
	waiters int                // callers still waiting, guarded by Cache.mu
	cancel  context.CancelFunc // stops the encode
}

// MP3 returns the path of the MP3 of channel (-1 = all) at kbps of the
// recording at src, encoding it first unless the file for (key, channel,
// kbps) exists. kbps 0 means the default for the output (8 mono, 16
// stereo) and shares the file of that explicit bitrate. Errors are those of
// Open and EncodeMP3, and ErrKey for a key unusable in a file name. If ctx
// is done while waiting, MP3 returns ctx's error; the encode goes on while
// another caller still waits for it.
func (c *Cache) MP3(ctx context.Context, key, src string, channel, kbps int) (string, error) {
	return c.MP3Open(ctx, key, func() (*Source, error) { return Open(src) }, channel, kbps)
}

// MP3Open is MP3 for a recording that open opens (a recording in an
// object store: store/s3media): open is called to check the channel and
// bitrate, and again by the encode, which may outlive ctx while another
// caller waits for it, so it must not depend on ctx.
func (c *Cache) MP3Open(ctx context.Context, key string, open func() (*Source, error), channel, kbps int) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	s, err := open()
	if err != nil {
		return "", err
	}
	outCh, err := mp3Channels(s, channel)
	if err == nil {
		kbps, err = MP3Bitrate(outCh, kbps)
	}
	s.Close()
	if err != nil {
		return "", err
	}
	name := MP3Name(key, channel, kbps)
	path := filepath.Join(c.Dir, name)

	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return "", fmt.Errorf("mediaconv: cache: %w", ErrClosed)
	}
	if _, err := os.Stat(path); err == nil {
		c.mu.Unlock()
		return path, nil
	}
	call := c.inflight[name]
	if call == nil {
		ectx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		call = &encodeCall{done: make(chan struct{}), cancel: cancel}
		if c.inflight == nil {
			c.inflight = make(map[string]*encodeCall)
		}
		c.inflight[name] = call
		c.running.Add(1)
		go c.encode(ectx, call, name, path, open, channel, kbps)
	}
	call.waiters++
	c.mu.Unlock()

	select {
	case <-call.done:
		if call.err != nil {
			return "", call.err
		}
		return path, nil
	case <-ctx.Done():
		c.mu.Lock()
		call.waiters--
		if call.waiters == 0 {
			// Nobody wants it any more: stop the encode, and let the next
			// caller start afresh instead of joining a dying one.
			call.cancel()
			if c.inflight[name] == call {
				delete(c.inflight, name)
			}
		}
		c.mu.Unlock()
		return "", fmt.Errorf("mediaconv: waiting for MP3 %s: %w", name, ctx.Err())
	}
}

// encode runs one encode for call and publishes its result.
func (c *Cache) encode(ctx context.Context, call *encodeCall, name, path string, open func() (*Source, error), channel, kbps int) {
	defer c.running.Done()
	defer call.cancel()
	err := c.encodeFile(ctx, path, open, channel, kbps)
	c.mu.Lock()
	call.err = err
	if c.inflight[name] == call {
		delete(c.inflight, name)
	}
	c.mu.Unlock()
	close(call.done)
}

// Close stops the encodes still running (their callers get an error),
// waits for them to end, and makes later calls of MP3 fail with ErrClosed.
// Files already in Dir stay. Close is idempotent.
func (c *Cache) Close() error {
	c.mu.Lock()
	c.closed = true
	for _, call := range c.inflight {
		call.cancel()
	}
	c.mu.Unlock()
	c.running.Wait()
	return nil
}

// encodeFile encodes the recording open opens into path through Place.
func (c *Cache) encodeFile(ctx context.Context, path string, open func() (*Source, error), channel, kbps int) error {
	if c.Place == nil {
		return fmt.Errorf("mediaconv: cache: %w", ErrNoPlace)
	}
	s, err := open()
	if err != nil {
		return err
	}
	defer s.Close()
	if err := c.Place(path, func(f *os.File) error { return c.Enc.EncodeMP3(ctx, s, channel, kbps, f) }); err != nil {
		return fmt.Errorf("mediaconv: cache: %w", err)
	}
	return nil
}

// MP3Name is the cache file name of the MP3 of channel (-1 = all) at kbps
// for key: "<key>.<channel>.<kbps>k.mp3", channel "all" or "ch<N>".
func MP3Name(key string, channel, kbps int) string {
	chName := "all"
	if channel >= 0 {
		chName = "ch" + strconv.Itoa(channel)
	}
	return fmt.Sprintf("%s.%s.%dk.mp3", key, chName, kbps)
}

// checkKey accepts keys made of ASCII letters, digits, '-', '_' and '.',
// not starting with '.'.
func checkKey(key string) error {
	if key == "" || len(key) > maxKeyLen || key[0] == '.' {
		return fmt.Errorf("%w: %q", ErrKey, key)
	}
	for i := 0; i < len(key); i++ {
		b := key[i]
		if 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_' || b == '.' {
			continue
		}
		return fmt.Errorf("%w: %q", ErrKey, key)
	}
	return nil
}

package api

import (
	"context"
	"os"
	"path/filepath"
	"sync"

	"github.com/openrec/openrec/internal/media/mediaconv"
	"github.com/openrec/openrec/internal/store/mediacrypt"
	"github.com/openrec/openrec/internal/store/mediastore"
)

// cryptMP3 caches the MP3s of recordings encrypted at rest without putting
// them on disk in clear: each is encoded once into an age file in the MP3
// cache directory ("<id>-<sha256>.<variant>.mp3.age", so retention,
// erasure and the cache pruning find it by recording id, and deletion
// shreds it), encrypted to a key that lives only in this process's memory
// (mediacrypt.Ephemeral). Range requests then decrypt only what they read;
// after a restart the old files no longer open and are made again.
type cryptMP3 struct {
	once sync.Once
	key  *mediacrypt.Ephemeral
	err  error
	mu   sync.Mutex
	busy map[string]*sync.Mutex // one encode per file at a time
}

// open returns the MP3 of src for (key, channel, kbps), encoding it into
// the cache first when it is not there (or was made by another process).
// The caller closes the Reader.
func (c *cryptMP3) open(ctx context.Context, cache *mediaconv.Cache, key string, src *mediaconv.Source, channel, kbps int) (*mediacrypt.Reader, error) {
	c.once.Do(func() { c.key, c.err = mediacrypt.NewEphemeral() })
	if c.err != nil {
		return nil, c.err
	}
	path := filepath.Join(cache.Dir, mediaconv.MP3Name(key, channel, kbps)+".age")
	c.mu.Lock()
	if c.busy == nil {
		c.busy = map[string]*sync.Mutex{}
	}
	m := c.busy[path]
	if m == nil {
		m = &sync.Mutex{}
		c.busy[path] = m
	}
	c.mu.Unlock()
	m.Lock()
	defer m.Unlock()
	if r, err := c.key.OpenFile(path); err == nil {
		return r, nil
	}
	if err := c.encode(ctx, cache, path, src, channel, kbps); err != nil {
		return nil, err
	}
	return c.key.OpenFile(path)
}

// encode writes the encrypted MP3 atomically (mediastore.WriteFile: a
// crash leaves at most a ".…tmp" file, removed by the cache pruning).
func (c *cryptMP3) encode(ctx context.Context, cache *mediaconv.Cache, path string, src *mediaconv.Source, channel, kbps int) error {
	return mediastore.WriteFile(path, mediastore.Options{MkdirAll: true}, func(f *os.File) error {
		ew, err := c.key.NewWriter(f)
		if err != nil {
			return err
		}
		if err := cache.Enc.EncodeMP3(ctx, src, channel, kbps, ew); err != nil {
			return err
		}
		return ew.Close()
	})
}

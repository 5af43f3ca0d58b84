package mediacrypt

import (
	"fmt"
	"io"

	"filippo.io/age"
)

// Ephemeral is an X25519 key pair that exists only in this process's
// memory, for files derived from encrypted recordings that must not be on
// disk in clear and need not outlive the process (the MP3 cache of the
// API): written with Ephemeral.NewWriter, readable with Ephemeral.OpenFile
// until the process ends, noise afterwards (a later process finds
// ErrWrongKey and makes the file again).
type Ephemeral struct{ id *age.X25519Identity }

// NewEphemeral makes a fresh key pair.
func NewEphemeral() (*Ephemeral, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("mediacrypt: ephemeral key: %w", err)
	}
	return &Ephemeral{id: id}, nil
}

// NewWriter encrypts to the ephemeral key (no checkpoint records: a file
// derived at once is renamed into place only when complete).
func (e *Ephemeral) NewWriter(dst io.Writer) (*Writer, error) {
	return NewWriter(dst, []age.Recipient{e.id.Recipient()}, Options{NoCheckpoints: true})
}

// OpenFile opens a file written by NewWriter of this Ephemeral.
func (e *Ephemeral) OpenFile(path string) (*Reader, error) { return OpenFile(path, e.id) }

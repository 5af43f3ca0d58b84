package rules

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"
)

// Holder holds the recording rules in force: those of a serve
// configuration file's `rules:` key (or given at start when there is no
// file). A reload or a save swaps the whole Set, so every evaluation sees
// one consistent set; an invalid file keeps the rules in force.
type Holder struct {
	set  atomic.Pointer[Set]
	path string // the configuration file ("" = none: nothing to reload or save)
	log  *slog.Logger

	// mu orders saves and loads, so the rules in force are always those
	// of the file; it also guards sig.
	mu  sync.Mutex
	sig fileSig
}

// fileSig is what Watch compares: a change of size or modification time.
type fileSig struct {
	size  int64
	mtime int64
}

func statSig(path string) (fileSig, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileSig{}, false
	}
	return fileSig{size: fi.Size(), mtime: fi.ModTime().UnixNano()}, true
}

// NewHolder compiles c (the rules of the file at path, already loaded) and
// puts it in force; its warnings are logged.
func NewHolder(c Config, path string, log *slog.Logger) (*Holder, error) {
	set, err := Compile(c)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Holder{path: path, log: log}
	h.set.Store(set)
	if path != "" {
		h.sig, _ = statSig(path)
	}
	for _, w := range set.Warnings() {
		log.Warn("recording rules", "warning", w)
	}
	return h, nil
}

// Set returns the rules in force.
func (h *Holder) Set() *Set { return h.set.Load() }

// Path returns the configuration file the rules come from ("" = none).
func (h *Holder) Path() string { return h.path }

// Reload reads the rules from the configuration file again; an invalid
// file keeps the rules in force and returns why.
func (h *Holder) Reload() error {
	if h.path == "" {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	sig, _ := statSig(h.path)
	set, groups, err := compileFile(h.path)
	if err != nil {
		return err
	}
	h.sig = sig
	h.install(set, groups)
	return nil
}

// compileFile loads and compiles the rules of a serve configuration file.
func compileFile(path string) (*Set, int, error) {
	c, err := LoadFile(path)
	if err != nil {
		return nil, 0, err
	}
	set, err := Compile(c)
	if err != nil {
		return nil, 0, err
	}
	return set, len(c.Groups), nil
}

// install puts set in force (h.mu held).
func (h *Holder) install(set *Set, groups int) {
	h.set.Store(set)
	h.log.Info("recording rules reloaded", "file", h.path, "rules", set.Len(), "groups", groups)
	for _, w := range set.Warnings() {
		h.log.Warn("recording rules", "warning", w)
	}
}

// changed reports whether the file's size or modification time moved
// since it was last loaded.
func (h *Holder) changed() bool {
	sig, ok := statSig(h.path)
	h.mu.Lock()
	defer h.mu.Unlock()
	return ok && sig != h.sig
}

// Watch reloads the rules when the configuration file changes (its size
// or modification time, looked at every `every`) until done is closed.
// A file that does not load is logged and the rules in force are kept.
func (h *Holder) Watch(done <-chan struct{}, every time.Duration) {
	if h.path == "" {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			if !h.changed() {
				continue
			}
			if err := h.Reload(); err != nil {
				h.log.Warn("recording rules not reloaded: keeping the rules in force", "file", h.path, "error", err)
				h.mu.Lock()
				h.sig, _ = statSig(h.path) // once per change, not every tick
				h.mu.Unlock()
			}
		}
	}
}

// RejectedError is what Save returns when the configuration file with the
// new rules would not load: nothing was changed.
type RejectedError struct{ Err error }

func (e *RejectedError) Error() string { return e.Err.Error() }
func (e *RejectedError) Unwrap() error { return e.Err }

// Save replaces the `rules:` key of the configuration file with value (a
// document node; empty = no rules), keeping the other keys and their
// comments, and puts the rules in force: the new file is written to a
// temporary file beside it and synced, loaded from there exactly as a
// reload would (else *RejectedError and nothing changes), renamed into
// place (the directory synced) and installed, all under one lock.
func (h *Holder) Save(value *yaml.Node) error {
	if h.path == "" {
		return fmt.Errorf("rules: no configuration file to save to")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	data, err := os.ReadFile(h.path)
	if err != nil {
		return err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return fmt.Errorf("%s: %w", h.path, err)
	}
	if root.Kind == 0 {
		root = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return fmt.Errorf("%s: the configuration file is not a YAML mapping", h.path)
	}
	m := root.Content[0]
	newValue := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if value.Kind == yaml.DocumentNode && len(value.Content) > 0 {
		newValue = value.Content[0]
	}
	replaced := false
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "rules" {
			m.Content[i+1] = newValue
			replaced = true
		}
	}
	if !replaced {
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "rules"}, newValue)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return err
	}
	fi, err := os.Stat(h.path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(h.path), "."+filepath.Base(h.path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	set, groups, err := compileFile(tmp.Name())
	if err != nil {
		return &RejectedError{err}
	}
	if err := os.Rename(tmp.Name(), h.path); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(h.path)); err != nil {
		return err
	}
	h.sig, _ = statSig(h.path)
	h.install(set, groups)
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/pflag"

	"github.com/openrec/openrec/internal/store/backend"
)

// storeLoc is where a command finds its data: the data directory (media,
// keys) and the metadata store, which is the directory's SQLite file
// unless --store names another (sqlite:PATH or postgres://...).
type storeLoc struct {
	dataDir string
	url     string // --store; "" = sqlite:<dataDir>/openrec.db
}

// addFlags declares --data-dir and --store on fs.
func (l *storeLoc) addFlags(fs *pflag.FlagSet, dataDirUsage string) {
	fs.StringVar(&l.dataDir, "data-dir", defaultDataDir, dataDirUsage)
	fs.StringVar(&l.url, "store", "", "metadata store URL: sqlite:PATH or postgres://USER@HOST:PORT/DB (default: sqlite:<data-dir>/"+dbFileName+")")
}

// storeURL is the store's URL.
func (l storeLoc) storeURL() string {
	if l.url != "" {
		return l.url
	}
	return backend.Default(l.dataDir)
}

// where names the store in messages: the SQLite file, or the URL without
// its password.
func (l storeLoc) where() string {
	if kind, path, err := backend.Parse(l.storeURL()); err == nil && kind == backend.SQLite {
		return path
	}
	return backend.Redact(l.storeURL())
}

// openExistingStore opens the store without creating a SQLite file: a
// mistyped --data-dir or --store must not leave a new empty database
// behind. (A PostgreSQL database must exist anyway; its schema is
// created or upgraded.)
func openExistingStore(ctx context.Context, l storeLoc) (backend.Store, error) {
	kind, path, err := backend.Parse(l.storeURL())
	if err != nil {
		return nil, fmt.Errorf("--store: %w", err)
	}
	if kind == backend.SQLite {
		if _, err := os.Stat(path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				hint := "check --data-dir"
				if l.url != "" {
					hint = "check --store"
				}
				return nil, fmt.Errorf("%w at %s (%s)", errNoDatabase, path, hint)
			}
			return nil, err
		}
	}
	return backend.Open(ctx, l.storeURL())
}

// openStore opens the store, creating a SQLite file (and its directory)
// if there is none yet.
func openStore(ctx context.Context, l storeLoc) (backend.Store, error) {
	if _, _, err := backend.Parse(l.storeURL()); err != nil {
		return nil, fmt.Errorf("--store: %w", err)
	}
	return backend.Open(ctx, l.storeURL())
}

package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/backend"
	"github.com/openrec/openrec/internal/store/mediacrypt"
	"github.com/openrec/openrec/internal/store/mediastore"
	"github.com/openrec/openrec/internal/store/seal"
)

// rewrapReport counts what `recordings rewrap` did.
type rewrapReport struct {
	Rewrapped  int
	Plaintext  int // not encrypted: nothing to rotate
	InProgress int // still being written: rotate after it ends
	Failed     []string
}

func newRecordingsRewrapCmd(loc *storeLoc) *cobra.Command {
	var (
		decryptKeys, encryptTo, tenant string
		all                            bool
	)
	cmd := &cobra.Command{
		Use:   "rewrap --decrypt-keys OLD --encrypt-to NEW (--all | ID...)",
		Short: "Rotate the keys of encrypted recordings without touching their audio",
		Long: `Rotate the keys of recordings encrypted at rest (serve --encrypt-to): the file key
of each recording is unwrapped with an identity of --decrypt-keys and wrapped again
to the recipients of --encrypt-to, in the header only; the audio is not re-encrypted.
A crash mid-rotation is finished by the next run (a .rewrap journal beside the file).

A recording's stored sha256 covers its encrypted file, header included: each one is
checked against it first (a recording changed since it was sealed is not rotated,
run "openrec verify"), then its row gets the new sha256, its manifest is signed
again with the server's key (<data-dir>/keys) and the audit log gets a rewrap entry.
Recordings in clear and recordings still in progress are skipped and counted.
Point serve's --encrypt-to at the new recipients first, so that new recordings use
them too. Exit status 1 when any recording could not be rotated.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return errors.New("name the recordings to rotate (IDs) or pass --all")
			}
			if decryptKeys == "" || encryptTo == "" {
				return errors.New("--decrypt-keys (the identities that open the recordings now) and --encrypt-to (the new recipients) are required")
			}
			ids, err := mediacrypt.ParseIdentitiesFile(decryptKeys)
			if err != nil {
				return fmt.Errorf("--decrypt-keys: %w", err)
			}
			rs, err := mediacrypt.ParseRecipientsFile(encryptTo)
			if err != nil {
				return fmt.Errorf("--encrypt-to: %w", err)
			}
			db, err := openExistingStore(cmd.Context(), *loc)
			if err != nil {
				return err
			}
			defer db.Close()
			key, err := seal.LoadOrCreateKey(filepath.Join(loc.dataDir, app.KeysDir))
			if err != nil {
				return err
			}
			rotate := func(path string) error { return mediacrypt.RewrapFile(path, ids, rs) }
			rep, err := rewrapAll(cmd.Context(), db, loc.dataDir, args, tenant, key, rotate, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rewrapped %d recordings; skipped %d in clear, %d in progress; %d failed\n",
				rep.Rewrapped, rep.Plaintext, rep.InProgress, len(rep.Failed))
			if len(rep.Failed) > 0 {
				return fmt.Errorf("%d recordings not rotated: %s", len(rep.Failed), strings.Join(rep.Failed, ", "))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&decryptKeys, "decrypt-keys", "", "age identities that open the recordings now (old keys)")
	fl.StringVar(&encryptTo, "encrypt-to", "", "age recipients to wrap the recordings' keys to (new keys, one per line)")
	fl.BoolVar(&all, "all", false, "every recording of the data directory")
	fl.StringVar(&tenant, "tenant", "", "with --all, only the recordings of this tenant")
	return cmd
}

// rewrapAll rotates the keys of the recordings named by ids (every one
// with none, of tenant when set) with rotate, then updates their rows,
// manifests and the audit log. Problems with one recording are reported on
// warn and counted in Failed; only store errors stop it.
func rewrapAll(ctx context.Context, db backend.Store, dataDir string, ids []string, tenant string, key ed25519.PrivateKey, rotate func(string) error, warn io.Writer) (rewrapReport, error) {
	var rep rewrapReport
	if len(ids) == 0 {
		f := store.Filter{Limit: 500, Tenant: tenant}
		for {
			page, err := db.SearchRecordings(ctx, f)
			if err != nil {
				return rep, err
			}
			for _, it := range page.Items {
				ids = append(ids, it.ID)
			}
			if page.NextCursor == "" {
				break
			}
			f.Cursor = page.NextCursor
		}
	}
	for _, id := range ids {
		r, err := db.GetRecording(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			fmt.Fprintf(warn, "openrec: %s: no such recording\n", id)
			rep.Failed = append(rep.Failed, id)
			continue
		}
		if err != nil {
			return rep, err
		}
		done, err := rewrapOne(ctx, db, dataDir, r, key, rotate)
		switch {
		case err != nil:
			fmt.Fprintf(warn, "openrec: %s: %v\n", id, err)
			rep.Failed = append(rep.Failed, id)
		case done == "plaintext":
			rep.Plaintext++
		case done == "in progress":
			rep.InProgress++
		default:
			rep.Rewrapped++
		}
	}
	return rep, nil
}

// rewrapOne rotates one recording: its media and encrypted raw sidecars.
func rewrapOne(ctx context.Context, db backend.Store, dataDir string, r *store.Recording, key ed25519.PrivateKey, rotate func(string) error) (string, error) {
	if r.Status == store.StatusRecording {
		return "in progress", nil
	}
	path, inProgress, err := mediastore.Locate(r, dataDir)
	if errors.Is(err, store.ErrNoMedia) && r.MediaObject != "" {
		return "", fmt.Errorf("recording %s was uploaded to %s: rewrap rotates local files only (not rotated)", r.ID, r.MediaObject)
	}
	if errors.Is(err, store.ErrNoMedia) {
		return "plaintext", nil // nothing stored (never had audio, or deleted)
	}
	if err != nil {
		return "", err
	}
	if inProgress {
		return "in progress", nil
	}
	if _, err := mediacrypt.RecoverRewrap(path); err != nil { // a crashed earlier run
		return "", err
	}
	if !mediacrypt.IsEncryptedFile(path) {
		return "plaintext", nil
	}
	old, _, err := seal.HashFile(path)
	if err != nil {
		return "", err
	}
	resume := false // an earlier run rotated the file and was stopped before the row was updated
	if r.SHA256 != "" && !strings.EqualFold(old, r.SHA256) {
		if !rotatedSince(path, r.SHA256) {
			return "", fmt.Errorf("%s changed since it was sealed (sha256 %s, stored %s): not rotated; run openrec verify", path, old, r.SHA256)
		}
		resume, old = true, r.SHA256
	}
	if !resume {
		if err := writeRewrapIntent(path, old); err != nil {
			return "", err
		}
	}
	raws := mediastore.Raws(path)
	for _, p := range append([]string{path}, raws...) {
		if _, err := mediacrypt.RecoverRewrap(p); err != nil {
			return "", err
		}
		if p != path && !mediacrypt.IsEncryptedFile(p) {
			continue
		}
		if resume && p == path {
			continue
		}
		if err := rotate(p); err != nil {
			if resume && errors.Is(err, mediacrypt.ErrWrongKey) {
				continue // a sidecar the stopped run rotated already
			}
			return "", err
		}
	}
	sum, size, err := seal.HashFile(path)
	if err != nil {
		return "", err
	}
	r.SHA256, r.SizeBytes = sum, size
	if _, err := os.Stat(mediastore.Manifest(path)); err == nil || r.SHA256 != "" {
		m := seal.New(r, time.Now())
		m.Sign(key)
		if err := seal.Write(mediastore.Manifest(path), m); err != nil {
			return "", fmt.Errorf("rotated, but the manifest was not written: %w", err)
		}
	}
	if err := db.UpdateRecording(ctx, r); err != nil {
		return "", fmt.Errorf("rotated, but the row was not updated: %w", err)
	}
	if err := appendCLIAudit(ctx, db, store.AuditEntry{Tenant: r.ExternalData[store.TenantKey], Action: store.AuditRewrap,
		RecordingID: r.ID, Detail: "sha256 " + old + " -> " + sum}); err != nil {
		return "", err
	}
	os.Remove(path + rewrapIntentSuffix)
	return "rewrapped", nil
}

// rewrapIntentSuffix names the note rewrapOne leaves beside a recording
// while it rotates it: the sealed sha256 and the sha256 of what follows the
// header slot (the audio, which rotation does not touch). A run stopped
// after the header was rewritten but before the row got the new hash
// (kill -9, power loss) left a file that no longer matches its row; the
// note lets the next run tell that from tampering and finish. It holds no
// key material.
const rewrapIntentSuffix = ".rewrap-sum"

// headerSlot is the length of an age file's header (through the MAC line).
func headerSlot(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	b := make([]byte, 2<<20)
	n, _ := io.ReadFull(f, b)
	b = b[:n]
	i := bytes.Index(b, []byte("\n--- "))
	if i < 0 {
		return 0, fmt.Errorf("%s: no age header", path)
	}
	j := bytes.IndexByte(b[i+1:], '\n')
	if j < 0 {
		return 0, fmt.Errorf("%s: no age header", path)
	}
	return int64(i + 1 + j + 1), nil
}

// tailSum is the sha256 of path from off.
func tailSum(path string, off int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func writeRewrapIntent(path, sealed string) error {
	off, err := headerSlot(path)
	if err != nil {
		return err
	}
	tail, err := tailSum(path, off)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path+rewrapIntentSuffix, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%s %d %s\n", sealed, off, tail)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// rotatedSince reports whether path differs from the file sealed with
// sha256 sealed only by a rotation an earlier run recorded (its note
// matches: same header slot, same bytes after it).
func rotatedSince(path, sealed string) bool {
	b, err := os.ReadFile(path + rewrapIntentSuffix)
	if err != nil {
		return false
	}
	var sum, tail string
	var off int64
	if _, err := fmt.Sscanf(string(b), "%s %d %s", &sum, &off, &tail); err != nil || !strings.EqualFold(sum, sealed) {
		return false
	}
	if got, err := headerSlot(path); err != nil || got != off {
		return false
	}
	t, err := tailSum(path, off)
	return err == nil && t == tail
}

package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/backend"
	"github.com/openrec/openrec/internal/store/mediacrypt"
	"github.com/openrec/openrec/internal/store/mediastore"
	"github.com/openrec/openrec/internal/store/s3media"
	"github.com/openrec/openrec/internal/store/seal"
)

// errTampered: verify found something changed (exit 1).
var errTampered = errors.New("verification failed: recordings or the audit log changed")

// verifyReport is `openrec verify --json`.
type verifyReport struct {
	Recordings int `json:"recordings"`
	Intact     int `json:"intact"`
	Unsealed   int `json:"unsealed"`
	InProgress int `json:"in_progress"`
	NoAudio    int `json:"no_audio"` // failed before any audio was written: nothing to prove
	// InBucket counts recordings uploaded to S3 and not checked (verify
	// without --media s3://...: their files are not here).
	InBucket  int              `json:"in_bucket_unchecked,omitempty"`
	Changed   []verifyProblem  `json:"changed"`
	Audit     store.AuditCheck `json:"audit"`
	AuditHead string           `json:"audit_head_check,omitempty"`
}

type verifyProblem struct {
	RecordingID string   `json:"recording_id"`
	Problems    []string `json:"problems"`
}

func newVerifyCmd() *cobra.Command {
	var (
		pubFile, auditHead, dtmfDecoder, decryptKeys, media, s3Endpoint string
		loc                                                             storeLoc
		all, allowUnsealed, asJSON, checkDTMF                           bool
	)
	cmd := &cobra.Command{
		Use:   "verify [ID...] [--all]",
		Short: "Prove recordings and the audit log unchanged (exit 0) or name what changed (exit 1)",
		Long: `Verify the tamper evidence of recordings and of the audit log.

Each finished recording has a manifest beside its media, signed at finalise
with the server's Ed25519 key (<data-dir>/keys/seal.key; its public key
seal.pub may be kept elsewhere and given with --public-key). verify hashes the
media again and checks it, the signed manifest and the database row against
each other. The audit log is a hash chain: verify recomputes it and names
the first entries that do not follow. With --all, a signed manifest under
<data-dir>/media whose recording has no row (removed outside openrec, which
deletes the manifest with the recording) is reported too. --audit-head ID:HASH (from the
"audit chain head" log line) also proves that no entry up to that one was
removed from the end. --dtmf reads each recording's audio back and fails it
when DTMF digits are still readable in a channel (PCI: proof that masking
worked; digits are counted, never printed); --dtmf-decoder multimon-ng adds
an independent decoder. The sha256 and the manifest cover a recording as stored: for one
encrypted at rest (serve --encrypt-to) that is the encrypted file, checked without a key;
--dtmf reads its audio with --decrypt-keys.

Exit status: 0 all intact, 1 something changed or could not be checked.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return errors.New("name recording IDs or --all (not both)")
			}
			ctx := cmd.Context()
			dataDir := loc.dataDir
			db, err := openExistingStore(ctx, loc)
			if err != nil {
				return err
			}
			defer db.Close()
			if pubFile == "" {
				pubFile = filepath.Join(dataDir, "keys", seal.PublicKeyFile)
			}
			pub, err := seal.LoadPublicKey(pubFile)
			if err != nil {
				return fmt.Errorf("--public-key: %w", err)
			}
			var dc *dtmfChecker
			if checkDTMF || dtmfDecoder != "" {
				dc = &dtmfChecker{tmpDir: os.TempDir()}
				if decryptKeys != "" {
					if dc.keys, err = mediacrypt.IdentityKeys(decryptKeys); err != nil {
						return fmt.Errorf("--decrypt-keys: %w", err)
					}
				} else if serves := app.DecryptKeysFile(dataDir); serves != "" {
					// serve's, when this account may read them; else an
					// encrypted recording reports that it needs a key
					dc.keys, _ = mediacrypt.IdentityKeys(serves)
				}
				if dtmfDecoder != "" {
					bin, err := exec.LookPath(dtmfDecoder)
					if err != nil {
						return fmt.Errorf("--dtmf-decoder: %w", err)
					}
					dc.external = bin
				}
			}
			bucket, err := app.OpenBucket(media, s3Endpoint)
			if err != nil {
				return err
			}
			defer bucket.Close()
			vm := verifyMedia{bucket: bucket}
			if dir, ok := strings.CutPrefix(media, "file:"); ok && dir != "" {
				vm.root = dir
			}
			rep, err := verifyWith(ctx, db, dataDir, pub, args, allowUnsealed, auditHead, dc, vm)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				writeVerifyReport(cmd.OutOrStdout(), rep)
			}
			if len(rep.Changed) > 0 || rep.Audit.Broken > 0 || rep.AuditHead != "" && rep.AuditHead != "ok" {
				return &exitError{code: 1, err: errTampered}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	loc.addFlags(fl, "data directory (database, media, keys)")
	fl.StringVar(&media, "media", "", "serve's --media: with s3://BUCKET/PREFIX, recordings uploaded to S3 are read back and checked (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY); with file:DIR, --all looks for orphan manifests under DIR")
	fl.StringVar(&s3Endpoint, "s3-endpoint", "", "URL of the S3-compatible server of --media s3://...")
	fl.StringVar(&pubFile, "public-key", "", "the server's manifest public key (default <data-dir>/keys/seal.pub)")
	fl.StringVar(&auditHead, "audit-head", "", `an audit chain head seen before, "ID:HASH": the entry must still be there with that hash`)
	fl.BoolVar(&all, "all", false, "verify every finished recording")
	fl.BoolVar(&allowUnsealed, "allow-unsealed", false, "recordings without a manifest (finished before sealing existed) are counted, not failures")
	fl.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fl.BoolVar(&checkDTMF, "dtmf", false, "also fail recordings whose audio still holds readable DTMF digits")
	fl.StringVar(&dtmfDecoder, "dtmf-decoder", "", "with --dtmf, also run this external DTMF decoder (multimon-ng) on each channel (not on recordings encrypted at rest: it reads a temporary plaintext file)")
	fl.StringVar(&decryptKeys, "decrypt-keys", "", "with --dtmf, age identities to read recordings encrypted at rest (default: serve's decrypt_keys on this data dir; the sha256 and manifest checks need no key)")
	return cmd
}

// rawPayloadUnchecked is the --dtmf problem of a recording with raw
// payloads of a codec openrec does not decode (needs_transcode).
const rawPayloadUnchecked = "dtmf check: raw payloads of a codec openrec does not decode are kept beside the file (needs_transcode): key tones in them are neither masked nor checked"

func verify(ctx context.Context, db backend.Store, dataDir string, pub ed25519.PublicKey, ids []string, allowUnsealed bool, auditHead string, dc *dtmfChecker) (verifyReport, error) {
	return verifyWith(ctx, db, dataDir, pub, ids, allowUnsealed, auditHead, dc, verifyMedia{})
}

// verifyMedia is where serve keeps media (its --media): a bucket for
// recordings uploaded to S3, or the root of file:DIR ("" = <data-dir>/media).
type verifyMedia struct {
	bucket *s3media.Bucket
	root   string
}

// verifyWith is verify that also checks recordings uploaded to bucket (nil:
// they are counted as unchecked): their media and manifest are read into a
// temporary directory and checked as local files are.
func verifyWith(ctx context.Context, db backend.Store, dataDir string, pub ed25519.PublicKey, ids []string, allowUnsealed bool, auditHead string, dc *dtmfChecker, vm verifyMedia) (verifyReport, error) {
	bucket := vm.bucket
	rep := verifyReport{Changed: []verifyProblem{}}
	one := func(r *store.Recording) {
		rep.Recordings++
		if r.Status == store.StatusRecording {
			rep.InProgress++
			return
		}
		path, inProgress, err := mediastore.Locate(r, dataDir)
		if errors.Is(err, store.ErrNoMedia) && r.MediaObject != "" {
			if bucket == nil {
				rep.InBucket++
				return
			}
			var done func()
			path, done, err = fetchRecording(bucket, r.MediaObject)
			if done != nil {
				defer done()
			}
		}
		var problems []string
		switch {
		case errors.Is(err, store.ErrNoMedia) && neverHadAudio(r, dataDir):
			rep.NoAudio++
			return
		case err != nil:
			problems = []string{err.Error()}
		case inProgress:
			problems = []string{"finished recording whose media is still a .part file"}
		default:
			problems = seal.Check(r, path, pub)
			unsealed := allowUnsealed && len(problems) == 1 && strings.Contains(problems[0], seal.ErrNoManifest.Error())
			if unsealed {
				rep.Unsealed++
				problems = nil
			}
			if dc != nil {
				problems = append(problems, dc.check(path)...)
				if r.NeedsTranscode {
					// The file is silent where the codec was not
					// decoded; the payloads kept beside it were never
					// masked nor checked.
					problems = append(problems, rawPayloadUnchecked)
				}
			}
			if unsealed && len(problems) == 0 {
				return
			}
		}
		if len(problems) == 0 {
			rep.Intact++
			return
		}
		rep.Changed = append(rep.Changed, verifyProblem{RecordingID: r.ID, Problems: problems})
	}
	if len(ids) > 0 {
		for _, id := range ids {
			r, err := db.GetRecording(ctx, id)
			if err != nil {
				if errors.Is(err, store.ErrNotFound) {
					rep.Recordings++
					rep.Changed = append(rep.Changed, verifyProblem{RecordingID: id, Problems: []string{"no such recording (deleted, or the row removed)"}})
					continue
				}
				return rep, err
			}
			one(r)
		}
	} else {
		seen := map[string]bool{}
		f := store.Filter{Limit: 500}
		for {
			page, err := db.SearchRecordings(ctx, f)
			if err != nil {
				return rep, err
			}
			for _, it := range page.Items {
				r, err := db.GetRecording(ctx, it.ID)
				if err != nil {
					return rep, err
				}
				seen[r.ID] = true
				one(r)
			}
			if page.NextCursor == "" {
				break
			}
			f.Cursor = page.NextCursor
		}
		root := vm.root
		if root == "" {
			root = filepath.Join(dataDir, "media")
		}
		orphans, err := orphanManifests(ctx, db, root, seen)
		if err != nil {
			return rep, err
		}
		rep.Recordings += len(orphans)
		rep.Changed = append(rep.Changed, orphans...)
	}
	var err error
	if rep.Audit, err = db.VerifyAudit(ctx); err != nil {
		return rep, err
	}
	if auditHead != "" {
		rep.AuditHead = checkAuditHead(ctx, db, auditHead)
	}
	return rep, nil
}

// orphanManifests finds the signed manifests under mediaDir whose
// recording has no row: openrec deletes a recording's manifest with it
// (retention, erasure), so a manifest left without its row means the row
// was removed behind openrec's back. seen holds the rows already checked.
func orphanManifests(ctx context.Context, db backend.Store, mediaDir string, seen map[string]bool) ([]verifyProblem, error) {
	var out []verifyProblem
	err := filepath.WalkDir(mediaDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && path == mediaDir {
				return filepath.SkipDir
			}
			return err
		}
		name := d.Name()
		if d.IsDir() || !strings.HasSuffix(name, mediastore.ManifestExt) || strings.HasPrefix(name, ".") {
			return nil
		}
		m, err := seal.Read(path)
		if err != nil {
			out = append(out, verifyProblem{RecordingID: name, Problems: []string{err.Error()}})
			return nil
		}
		if seen[m.RecordingID] {
			return nil
		}
		switch _, err := db.GetRecording(ctx, m.RecordingID); {
		case errors.Is(err, store.ErrNotFound):
			out = append(out, verifyProblem{RecordingID: m.RecordingID, Problems: []string{
				fmt.Sprintf("signed manifest %s remains but the recording's row is gone (removed outside openrec)", path)}})
		case err != nil:
			return err
		}
		return nil
	})
	return out, err
}

// neverHadAudio reports whether r, whose media file is missing, failed
// before any audio was written: status failed, no media hash in its row
// and no manifest (a sealed recording always had audio: its manifest
// stays as evidence when the media goes).
func neverHadAudio(r *store.Recording, dataDir string) bool {
	if r.Status != store.StatusFailed || r.SHA256 != "" || r.SizeBytes != 0 {
		return false
	}
	if r.MediaPath == "" {
		return true
	}
	for _, p := range mediastore.Candidates(r.MediaPath, dataDir) {
		if _, err := os.Lstat(mediastore.Manifest(p)); !errors.Is(err, os.ErrNotExist) {
			return false
		}
	}
	return true
}

// checkAuditHead checks "ID:HASH" against the log: "ok" or what is wrong.
func checkAuditHead(ctx context.Context, db backend.Store, head string) string {
	idText, want, ok := strings.Cut(head, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil || id <= 0 || len(want) != 64 {
		return "--audit-head: want ID:HASH as in the \"audit chain head\" log line"
	}
	got, err := db.AuditHashAt(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Sprintf("audit entry %d is gone: entries were removed from the end of the log", id)
	case err != nil:
		return err.Error()
	case got != want:
		return fmt.Sprintf("audit entry %d has hash %s, the head seen before says %s", id, got, want)
	}
	return "ok"
}

func writeVerifyReport(w io.Writer, rep verifyReport) {
	for _, c := range rep.Changed {
		for _, p := range c.Problems {
			fmt.Fprintf(w, "CHANGED %s: %s\n", c.RecordingID, p)
		}
	}
	for _, p := range rep.Audit.Problems {
		fmt.Fprintf(w, "CHANGED audit log: %s\n", p)
	}
	if rep.AuditHead != "" && rep.AuditHead != "ok" {
		fmt.Fprintf(w, "CHANGED audit log: %s\n", rep.AuditHead)
	}
	fmt.Fprintf(w, "recordings: %d checked, %d intact, %d changed, %d unsealed, %d in progress, %d failed without audio\n",
		rep.Recordings, rep.Intact, len(rep.Changed), rep.Unsealed, rep.InProgress, rep.NoAudio)
	if rep.InBucket > 0 {
		fmt.Fprintf(w, "recordings in S3, not checked: %d (pass --media s3://BUCKET/PREFIX --s3-endpoint URL)\n", rep.InBucket)
	}
	fmt.Fprintf(w, "audit log: %d entries, %d broken, %d from before the chain; head %d %s\n",
		rep.Audit.Entries, rep.Audit.Broken, rep.Audit.Unchained, rep.Audit.HeadID, rep.Audit.Head)
}

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/media/wav"
	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/backend"
	"github.com/openrec/openrec/internal/store/mediacrypt"
	"github.com/openrec/openrec/internal/store/mediastore"
	"github.com/openrec/openrec/internal/store/s3media"
)

// defaultDataDir is where serve keeps its database and media unless told.
const defaultDataDir = "./openrec-data"

// dbFileName is the metadata database inside the data directory.
const dbFileName = "openrec.db"

// Errors of the recordings commands.
var (
	errNoDatabase = errors.New("no recordings database")
	errChecksum   = errors.New("media file does not match the recorded sha256")
	errOutExists  = errors.New("output file exists (use --force to overwrite)")
	errNoMedia    = store.ErrNoMedia
)

// Default reasons stored by keep and discard.
const (
	defaultKeepReason    = "kept by request (cli)"
	defaultDiscardReason = "discarded by request (cli)"
)

// newRecordingsCmd returns `openrec recordings` with list, show, export,
// keep, discard and deletions.
func newRecordingsCmd() *cobra.Command {
	var loc storeLoc
	cmd := &cobra.Command{
		Use:   "recordings",
		Short: "List, show, export, keep, discard, hold and erase stored recordings",
		Long: `List, show and export the recordings in a data directory, keep or discard
pre-recordings, and read the log of deleted recordings.

The commands use <data-dir>/` + dbFileName + ` and may run while "openrec serve" is
writing it.`,
		SilenceUsage: true,
	}
	loc.addFlags(cmd.PersistentFlags(), "data directory (database and media)")
	cmd.PersistentFlags().String("media", "", "where serve keeps finished recordings, as its --media: s3://BUCKET/PREFIX for recordings uploaded to S3 (export, erase; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
	cmd.PersistentFlags().String("s3-endpoint", "", "URL of the S3-compatible server of --media s3://...")
	cmd.AddCommand(newRecordingsListCmd(&loc), newRecordingsShowCmd(&loc), newRecordingsExportCmd(&loc),
		newRecordingsKeepCmd(&loc), newRecordingsDiscardCmd(&loc), newRecordingsDeletionsCmd(&loc),
		newRecordingsHoldCmd(&loc), newRecordingsReleaseCmd(&loc), newRecordingsHoldsCmd(&loc), newRecordingsEraseCmd(&loc), newRecordingsRewrapCmd(&loc),
		newRecordingsTranscodeCmd(&loc))
	return cmd
}

// listStored runs list on the data directory's store. A directory with no
// database yet lists nothing, and says why on stderr.
func listStored[T any](cmd *cobra.Command, loc storeLoc, list func(context.Context, backend.Store) ([]T, error)) ([]T, error) {
	db, err := openExistingStore(cmd.Context(), loc)
	if errors.Is(err, errNoDatabase) {
		fmt.Fprintln(cmd.ErrOrStderr(), "openrec:", err)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return list(cmd.Context(), db)
}

func newRecordingsListCmd(loc *storeLoc) *cobra.Command {
	var (
		f                       store.Filter
		status, mode, retention string
		since, until            string
		hasScreen               string
		asJSON                  bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List recordings, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.Status, f.Mode = store.Status(status), store.Mode(mode)
			if f.Status != "" && !f.Status.Valid() {
				return fmt.Errorf("--status %q: want recording, completed, partial or failed", status)
			}
			if f.Mode != "" && !f.Mode.Valid() {
				return fmt.Errorf("--mode %q: want msr or siprec", mode)
			}
			if f.Retention = store.Retention(retention); !f.Retention.Valid() {
				return fmt.Errorf("--retention %q: want pending, kept or discard", retention)
			}
			switch hasScreen {
			case "":
			case "true", "false":
				v := hasScreen == "true"
				f.HasScreen = &v
			default:
				return fmt.Errorf("--has-screen %q: want true or false", hasScreen)
			}
			var err error
			if f.Since, err = parseTimeFlag("since", since); err != nil {
				return err
			}
			if f.Until, err = parseTimeFlag("until", until); err != nil {
				return err
			}
			if f.Limit < 0 {
				return fmt.Errorf("--limit %d: must be 0 (all) or positive", f.Limit)
			}
			if f.Limit == 0 {
				f.Limit = math.MaxInt32 // all
			}
			recs, err := listStored(cmd, *loc, func(ctx context.Context, db backend.Store) ([]store.Recording, error) {
				if err := appendCLIAudit(ctx, db, store.AuditEntry{Action: store.AuditSearch, Detail: filterFlags(cmd)}); err != nil {
					return nil, err
				}
				return db.ListRecordings(ctx, f)
			})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), store.NewViews(recs))
			}
			return writeTable(cmd.OutOrStdout(), recs)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&status, "status", "", "only this status: recording, completed, partial, failed")
	fl.StringVar(&mode, "mode", "", "only this mode: msr, siprec")
	fl.StringVar(&f.CallUUID, "call-uuid", "", "only this CallUUID")
	fl.StringVar(&f.RecordID, "record-id", "", "only this MSR record id")
	fl.StringVar(&f.DN, "dn", "", "only recordings whose recorded or other DN is this")
	fl.StringVar(&f.Tenant, "tenant", "", "only recordings of this tenant (external data "+store.TenantKey+", any case)")
	fl.StringVar(&retention, "retention", "", "only pre-recordings in this state: pending, kept, discard")
	fl.StringVar(&since, "since", "", "only recordings started at or after this time (RFC 3339)")
	fl.StringVar(&until, "until", "", "only recordings started before this time (RFC 3339)")
	fl.StringVar(&hasScreen, "has-screen", "", "true: only recordings with screen video; false: only those without")
	fl.IntVar(&f.Limit, "limit", 0, "at most this many recordings, newest first (0 = all)")
	fl.BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}

// filterFlags describes the flags of cmd that were set, but --data-dir
// and --json, for the audit log: "dn=5001 limit=5".
func filterFlags(cmd *cobra.Command) string {
	var parts []string
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if f.Name != "data-dir" && f.Name != "store" && f.Name != "json" {
			parts = append(parts, f.Name+"="+f.Value.String())
		}
	})
	return strings.Join(parts, " ")
}

func parseTimeFlag(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s: %w", name, err)
	}
	return t, nil
}

func newRecordingsShowCmd(loc *storeLoc) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one recording with its parties, segments, events and external data",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := viewRecording(cmd.Context(), *loc, args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), store.NewDetail(r))
			}
			return writeDetail(cmd.OutOrStdout(), r)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object")
	return cmd
}

func getRecording(ctx context.Context, loc storeLoc, id string) (*store.Recording, error) {
	return readRecording(ctx, loc, id, false)
}

// viewRecording is getRecording for a person's eyes: audited as a view of
// the recording's metadata.
func viewRecording(ctx context.Context, loc storeLoc, id string) (*store.Recording, error) {
	return readRecording(ctx, loc, id, true)
}

func readRecording(ctx context.Context, loc storeLoc, id string, audit bool) (*store.Recording, error) {
	db, err := openExistingStore(ctx, loc)
	if err != nil {
		return nil, fmt.Errorf("recording %s: %w", id, err)
	}
	defer db.Close()
	r, err := db.GetRecording(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("recording %s not found in %s: %w", id, loc.where(), store.ErrNotFound)
	}
	if err == nil && audit {
		err = appendCLIAudit(ctx, db, store.AuditEntry{Action: store.AuditView, RecordingID: r.ID, Tenant: r.ExternalData[store.TenantKey]})
	}
	return r, err
}

func newRecordingsKeepCmd(loc *storeLoc) *cobra.Command {
	return newRetentionCmd(loc, retentionCmd{
		use: "keep ID", short: "Keep a pre-recording awaiting a decision",
		long: `Keep a pre-recording awaiting a decision (retention pending), as a keep request
from the CTI side would: the recorder will not delete it. Keeping a recording
already kept is no error.`,
		verb: "keep", reason: defaultKeepReason, done: "kept %s\n",
		apply: func(ctx context.Context, db backend.Store, id, reason string) error {
			return db.KeepRecording(ctx, id, reason)
		},
	})
}

func newRecordingsDiscardCmd(loc *storeLoc) *cobra.Command {
	return newRetentionCmd(loc, retentionCmd{
		use: "discard ID", short: "Mark a recording for deletion",
		long: `Mark a recording (a pending pre-recording, or an ordinary recording) for
deletion (retention discard). The recorder ("openrec serve") deletes its media
and metadata and logs the deletion (see "openrec recordings deletions"). A kept
pre-recording cannot be discarded.`,
		verb: "discard", reason: defaultDiscardReason,
		done: "discarded %s: the recorder (openrec serve) deletes its media and metadata and logs the deletion\n",
		apply: func(ctx context.Context, db backend.Store, id, reason string) error {
			return db.DiscardRecording(ctx, id, reason)
		},
	})
}

// retentionCmd describes keep / discard: one store call on one recording.
type retentionCmd struct {
	use, short, long, verb, reason, done string
	apply                                func(ctx context.Context, db backend.Store, id, reason string) error
}

func newRetentionCmd(loc *storeLoc, rc retentionCmd) *cobra.Command {
	reason := rc.reason
	cmd := &cobra.Command{
		Use: rc.use, Short: rc.short, Long: rc.long,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			db, err := openExistingStore(cmd.Context(), *loc)
			if err != nil {
				return fmt.Errorf("%s %s: %w", rc.verb, id, err)
			}
			defer db.Close()
			if err := rc.apply(cmd.Context(), db, id, reason); err != nil {
				return retentionError(cmd.Context(), db, loc.where(), rc.verb, id, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), rc.done, id)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", rc.reason, "why, stored with the recording")
	return cmd
}

// retentionError explains a failed keep or discard of id: an unknown id, or
// a retention state that does not allow it (read again for the message).
func retentionError(ctx context.Context, db backend.Store, where, verb, id string, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%s: recording %s not found in %s: %w", verb, id, where, store.ErrNotFound)
	case !errors.Is(err, store.ErrNotPending):
		return fmt.Errorf("%s %s: %w", verb, id, err)
	}
	state := "is in a retention state that does not allow it"
	if r, gerr := db.GetRecording(ctx, id); gerr == nil {
		switch r.Retention {
		case store.RetentionNone:
			state = "is an ordinary recording"
		case store.RetentionKept:
			state = "was kept"
		case store.RetentionDiscard:
			state = "is already marked for deletion"
		case store.RetentionPending:
			state = "is pending again" // changed since the attempt
		}
		if r.RetentionReason != "" {
			state += " (" + r.RetentionReason + ")"
		}
	}
	if verb == "discard" {
		return fmt.Errorf("discard: recording %s %s, so it cannot be discarded: %w", id, state, store.ErrNotPending)
	}
	return fmt.Errorf("%s: recording %s %s: %w", verb, id, state, store.ErrNotPending)
}

func newRecordingsDeletionsCmd(loc *storeLoc) *cobra.Command {
	var (
		since  string
		limit  int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "deletions",
		Short: "List deleted recordings, newest first",
		Long: `List the log of deleted recordings (pre-recordings not kept, do-not-record
decisions), newest first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, err := parseSinceFlag(since, time.Now())
			if err != nil {
				return err
			}
			if limit < 0 {
				return fmt.Errorf("--limit %d: must be 0 (all) or positive", limit)
			}
			if limit == 0 {
				limit = math.MaxInt32 // all
			}
			ds, err := listStored(cmd, *loc, func(ctx context.Context, db backend.Store) ([]store.Deletion, error) {
				return db.ListDeletions(ctx, from, limit)
			})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), store.NewDeletionViews(ds))
			}
			return writeDeletions(cmd.OutOrStdout(), ds)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&since, "since", "", "only deletions in this last duration (90m, 24h, 7d) or at or after this time (RFC 3339)")
	fl.IntVar(&limit, "limit", 0, "at most this many deletions, newest first (0 = all)")
	fl.BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}

// parseSinceFlag reads --since: a duration back from now (Go syntax, or a
// whole number of days as "7d") or an RFC 3339 time. "" is the zero time.
func parseSinceFlag(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	d, err := time.ParseDuration(v)
	if dd, ok := parseDays(v); ok && err != nil {
		d, err = dd, nil
	}
	if err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("--since %q: a duration back from now must not be negative", v)
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want a duration (90m, 24h, 7d) or an RFC 3339 time", v)
}

// parseDays reads a whole number of days, "7d" (up to five digits; a
// leading "-" is read so that the caller can refuse it as negative).
func parseDays(v string) (time.Duration, bool) {
	num, ok := strings.CutSuffix(v, "d")
	num, neg := strings.CutPrefix(num, "-")
	if !ok || num == "" || len(num) > 5 || strings.Trim(num, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return 0, false
	}
	d := time.Duration(n) * 24 * time.Hour
	if neg {
		d = -d
	}
	return d, true
}

func newRecordingsExportCmd(loc *storeLoc) *cobra.Command {
	var (
		out   string
		force bool
	)
	var (
		decryptKeys string
		encrypted   bool
	)
	cmd := &cobra.Command{
		Use:   "export ID --out FILE.wav",
		Short: "Copy a recording's media to a file",
		Long: `Copy a recording's media to a file.

A finished recording is copied and checked against its stored sha256. A recording
still in progress (its .wav.part file) is copied as it is now and the copy's WAV
header is fixed up so that it plays; the source file is not touched. Each export
is written to the audit log (action export, user cli:$USER, the output path).

A recording encrypted at rest (serve --encrypt-to) is exported as a plaintext WAV
with --decrypt-keys (age identities; default: the decrypt_keys file serve was last
started with on this data dir, when this account can read it): its stored bytes are
checked against the sha256 first, and the audit entry says the export is plaintext. --encrypted copies
the file as it is stored (no key needed; age -d -i KEYS decrypts it).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opt := exportOptions{encrypted: encrypted, serveKeys: app.DecryptKeysFile(loc.dataDir)}
			bucket, err := cliBucket(cmd)
			if err != nil {
				return err
			}
			defer bucket.Close()
			opt.bucket = bucket
			if decryptKeys != "" {
				if encrypted {
					return errors.New("--decrypt-keys and --encrypted: choose a plaintext or an encrypted export")
				}
				k, err := mediacrypt.IdentityKeys(decryptKeys)
				if err != nil {
					return fmt.Errorf("--decrypt-keys: %w", err)
				}
				opt.keys = k
			}
			r, err := getRecording(cmd.Context(), *loc, args[0])
			if err != nil {
				return err
			}
			res, err := exportRecording(r, loc.dataDir, out, force, opt)
			if err != nil {
				return fmt.Errorf("export %s: %w", r.ID, err)
			}
			state := "finished"
			if res.inProgress {
				state = "in progress, header repaired"
			}
			detail := out
			switch {
			case res.decrypted:
				state += ", decrypted to plaintext"
				detail = "plaintext (decrypted): " + out
			case res.encrypted:
				state += ", encrypted as stored"
				detail = "encrypted: " + out
			}
			fmt.Fprintf(cmd.OutOrStdout(), "exported %s (%s, %d bytes) to %s\n", r.ID, state, res.size, out)
			return auditExport(cmd.Context(), *loc, r, out, detail)
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "output file (required)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite --out if it exists")
	cmd.Flags().StringVar(&decryptKeys, "decrypt-keys", "", "age identities file: export an encrypted recording as a plaintext WAV (audited)")
	cmd.Flags().BoolVar(&encrypted, "encrypted", false, "export an encrypted recording as it is stored (no key needed)")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// auditExport appends an AuditExport entry for r exported to out to the
// data directory's audit log. The copy is already in place when this
// fails; the command still fails, so that an export never goes unlogged
// silently.
func auditExport(ctx context.Context, loc storeLoc, r *store.Recording, out, detail string) error {
	if abs, err := filepath.Abs(out); err == nil {
		detail = strings.Replace(detail, out, abs, 1)
		out = abs
	}
	db, err := openExistingStore(ctx, loc)
	if err == nil {
		defer db.Close()
		err = appendCLIAudit(ctx, db, store.AuditEntry{Tenant: r.ExternalData[store.TenantKey], Action: store.AuditExport,
			RecordingID: r.ID, Detail: detail})
	}
	if err != nil {
		return fmt.Errorf("export %s: exported to %s, but: %w", r.ID, out, err)
	}
	return nil
}

type exportResult struct {
	inProgress bool
	size       int64
	decrypted  bool // an encrypted recording written as plaintext
	encrypted  bool // an encrypted recording copied as stored
}

// exportOptions say what to do with a recording encrypted at rest.
type exportOptions struct {
	bucket    *s3media.Bucket  // recordings uploaded to S3 (--media s3://...)
	keys      *mediacrypt.Keys // decrypt to a plaintext WAV
	encrypted bool             // copy as stored
	serveKeys string           // without keys: the identities file serve was started with on the data dir
}

// errEncrypted: an encrypted recording and neither --decrypt-keys nor
// --encrypted.
var errEncrypted = errors.New("the recording is encrypted at rest: pass --decrypt-keys FILE (age identities) for a plaintext WAV, or --encrypted for the file as stored")

// exportRecording copies r's media to out with mediastore.WriteFile
// (without force, Exclusive: an existing out is never replaced).
func exportRecording(r *store.Recording, dataDir, out string, force bool, opt exportOptions) (exportResult, error) {
	var res exportResult
	if !force {
		if _, err := os.Lstat(out); err == nil {
			return res, fmt.Errorf("%s: %w", out, errOutExists)
		}
	}
	src, inProgress, err := mediastore.Locate(r, dataDir)
	if errors.Is(err, store.ErrNoMedia) && r.MediaObject != "" {
		// Uploaded: a local copy of the object, exported as a file is.
		if opt.bucket == nil {
			return res, fmt.Errorf("recording %s is stored in %s: pass --media s3://BUCKET/PREFIX --s3-endpoint URL as serve has them (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)", r.ID, r.MediaObject)
		}
		var done func()
		src, done, err = fetchRecording(opt.bucket, r.MediaObject)
		if done != nil {
			defer done()
		}
		if err != nil {
			return res, err
		}
	} else if err != nil {
		return res, err
	}
	res.inProgress = inProgress
	in, err := os.Open(src)
	if err != nil {
		return res, err
	}
	defer in.Close()
	err = mediastore.WriteFile(out, mediastore.Options{Exclusive: !force}, func(tmp *os.File) error {
		return copyExport(r, src, in, tmp, opt, &res)
	})
	if !force && errors.Is(err, fs.ErrExist) {
		err = fmt.Errorf("%s: %w", out, errOutExists)
	}
	return res, err
}

// copyExport writes the export of r's media in (at src) to tmp: the
// stored bytes (checked against r's sha256; a copy of a recording still
// being written gets its WAV header repaired) or, decrypted, the
// plaintext WAV.
func copyExport(r *store.Recording, src string, in, tmp *os.File, opt exportOptions, res *exportResult) error {
	isEncrypted := mediacrypt.Encrypted(in)
	if isEncrypted && !opt.encrypted {
		if opt.keys == nil && opt.serveKeys != "" {
			k, err := mediacrypt.IdentityKeys(opt.serveKeys)
			if err != nil {
				return fmt.Errorf("%w (serve's decrypt_keys: %w)", errEncrypted, err)
			}
			opt.keys = k
		}
		if opt.keys == nil {
			return errEncrypted
		}
		return exportDecrypted(r, src, in, tmp, opt.keys, res)
	}
	res.encrypted = isEncrypted
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), in)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	res.size = n
	if res.inProgress && !isEncrypted {
		if _, err := wav.Repair(tmp); err != nil {
			return fmt.Errorf("repair copy of %s: %w", src, err)
		}
		st, err := tmp.Stat()
		if err != nil {
			return err
		}
		res.size = st.Size()
	} else if r.SHA256 != "" {
		if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, r.SHA256) {
			return fmt.Errorf("%s: %w: got %s, want %s", src, errChecksum, got, r.SHA256)
		}
	}
	return nil
}

// exportDecrypted writes the plaintext WAV of the encrypted recording in
// (at src) to tmp, after checking the stored bytes against r's sha256
// (the digest covers the encrypted file). A recording still being written
// decrypts to the prefix flushed so far.
func exportDecrypted(r *store.Recording, src string, in *os.File, tmp *os.File, keys *mediacrypt.Keys, res *exportResult) error {
	if !res.inProgress && r.SHA256 != "" {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(in, 0, 1<<62)); err != nil {
			return fmt.Errorf("read %s: %w", src, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, r.SHA256) {
			return fmt.Errorf("%s: %w: got %s, want %s", src, errChecksum, got, r.SHA256)
		}
	}
	m, err := keys.OpenMedia(src)
	if err != nil {
		return err
	}
	defer m.Close()
	n, err := io.Copy(tmp, io.NewSectionReader(m, 0, m.Size()))
	if err != nil {
		return fmt.Errorf("decrypt %s: %w", src, err)
	}
	res.size, res.decrypted = n, true
	return nil
}

// fetchRecording copies the media object and its signed manifest into a
// temporary directory (same names) and returns the media's path there and
// the function that removes the directory. A missing manifest is left
// missing (the check reports it).
func fetchRecording(b *s3media.Bucket, object string) (string, func(), error) {
	dir, err := os.MkdirTemp("", "openrec-verify-*")
	if err != nil {
		return "", nil, err
	}
	done := func() { _ = os.RemoveAll(dir) }
	media := filepath.Join(dir, path.Base(object))
	if err := fetchInto(b, object, media); err != nil {
		return "", done, err
	}
	if err := fetchInto(b, mediastore.Manifest(object), mediastore.Manifest(media)); err != nil && !errors.Is(err, s3media.ErrNotFound) {
		return "", done, err
	}
	return media, done, nil
}

// fetchInto copies an object of the bucket to the file at dst.
func fetchInto(b *s3media.Bucket, object, dst string) error {
	o, err := b.Open(context.Background(), object)
	if err != nil {
		return err
	}
	defer o.Close()
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, io.NewSectionReader(o, 0, o.Size()))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("download %s: %w", object, err)
	}
	return nil
}

// cliBucket is the bucket of the --media and --s3-endpoint flags (nil for
// file media).
func cliBucket(cmd *cobra.Command) (*s3media.Bucket, error) {
	media, _ := cmd.Flags().GetString("media")
	endpoint, _ := cmd.Flags().GetString("s3-endpoint")
	if media == "" {
		return nil, nil
	}
	return app.OpenBucket(media, endpoint)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // SIPREC metadata is XML: keep < and > readable
	return enc.Encode(v)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func fmtDuration(ms int64) string {
	return (time.Duration(ms) * time.Millisecond).Round(time.Second).String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeRows prints rows as a table aligned under header (tab-separated
// column names), or "no <what>" when there are none.
func writeRows(w io.Writer, what, header string, rows [][]string) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "no "+what)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

func writeTable(w io.Writer, recs []store.Recording) error {
	rows := make([][]string, 0, len(recs))
	for _, r := range recs {
		rows = append(rows, []string{r.ID, string(r.Status), string(r.Mode), fmtTime(r.StartedAt),
			fmtDuration(r.DurationMS), dash(r.RecordedDN), dash(r.OtherDN), dash(r.CallUUID), string(r.Retention)})
	}
	// RETENTION is last and empty for ordinary recordings, so the other
	// columns still split on white space.
	return writeRows(w, "recordings", "ID\tSTATUS\tMODE\tSTARTED\tDURATION\tRECORDED DN\tOTHER DN\tCALL UUID\tRETENTION", rows)
}

func writeDeletions(w io.Writer, ds []store.Deletion) error {
	rows := make([][]string, 0, len(ds))
	for _, d := range ds {
		rows = append(rows, []string{fmtTime(d.At), d.RecordingID, dash(d.Tenant), dash(d.RecordedDN),
			fmtTime(d.StartedAt), dash(d.CallUUID), dash(d.Reason)})
	}
	return writeRows(w, "deletions", "DELETED\tRECORDING\tTENANT\tRECORDED DN\tSTARTED\tCALL UUID\tREASON", rows)
}

func writeDetail(w io.Writer, r *store.Recording) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	field := func(k string, v any) { fmt.Fprintf(tw, "%s:\t%v\n", k, v) }
	status := string(r.Status)
	if r.StatusReason != "" {
		status += " (" + r.StatusReason + ")"
	}
	field("ID", r.ID)
	field("Status", status)
	field("Mode", r.Mode)
	field("Call UUID", dash(r.CallUUID))
	field("Record ID", dash(r.RecordID))
	field("SIPREC session", dash(r.SIPRECSessionID))
	field("SIP Call-IDs", dash(strings.Join(r.SIPCallIDs, ", ")))
	field("Recorded DN", dash(r.RecordedDN))
	field("Other DN", dash(r.OtherDN))
	field("Started", fmtTime(r.StartedAt))
	field("Ended", fmtTime(r.EndedAt))
	field("Duration", fmtDuration(r.DurationMS))
	field("Channels", r.Channels)
	field("Codecs", dash(strings.Join(r.Codecs, ", ")))
	field("Format", dash(r.Format))
	field("Media", dash(r.MediaPath))
	if mediacrypt.IsEncryptedFile(r.MediaPath) || mediacrypt.IsEncryptedFile(mediastore.Part(r.MediaPath)) {
		field("Encrypted", "at rest (age); export --decrypt-keys FILE for a plaintext WAV")
	}
	field("Size", fmt.Sprintf("%d bytes", r.SizeBytes))
	field("SHA-256", dash(r.SHA256))
	field("Needs transcode", r.NeedsTranscode)
	if masked := dtmfMaskedSummary(r.Events); masked != "" {
		field("DTMF masked", masked)
	}
	if r.MetadataProblem != "" {
		field("Metadata problem", r.MetadataProblem)
	}
	if r.Retention != store.RetentionNone {
		field("Retention", r.Retention)
	}
	if !r.KeepUntil.IsZero() {
		label := "Keep until"
		if r.Retention == store.RetentionDiscard {
			label = "Discarded at"
		}
		field(label, fmtTime(r.KeepUntil))
	}
	if r.RetentionReason != "" {
		field("Retention reason", r.RetentionReason)
	}
	field("Created", fmtTime(r.CreatedAt))
	field("Updated", fmtTime(r.UpdatedAt))
	if err := tw.Flush(); err != nil {
		return err
	}
	section := func(title string, n int, header string, row func(i int) string) {
		fmt.Fprintf(w, "\n%s (%d)\n", title, n)
		if n == 0 {
			return
		}
		fmt.Fprintln(tw, "  "+header)
		for i := range n {
			fmt.Fprintln(tw, "  "+row(i))
		}
		tw.Flush()
	}
	section("Parties", len(r.Parties), "CH\tROLE\tDN\tNAME\tAOR\tLABEL\tPARTICIPANT\tSIP CALL-ID", func(i int) string {
		p := r.Parties[i]
		return fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s", p.Channel, dash(p.Role), dash(p.DN), dash(p.Name),
			dash(p.AOR), dash(p.Label), dash(p.ParticipantID), dash(p.SIPCallID))
	})
	section("Segments", len(r.Segments), "TYPE\tCHANNEL\tSTART MS\tEND MS", func(i int) string {
		s := r.Segments[i]
		ch := fmt.Sprint(s.Channel)
		if s.Channel == store.AllChannels {
			ch = "all"
		}
		return fmt.Sprintf("%s\t%s\t%d\t%d", s.Type, ch, s.StartMS, s.EndMS)
	})
	section("Events", len(r.Events), "AT MS\tTYPE\tCHANNEL\tTIME\tDETAIL", func(i int) string {
		e := r.Events[i]
		return fmt.Sprintf("%d\t%s\t%d\t%s\t%s", e.AtMS, e.Type, e.Channel, fmtTime(e.At), dash(e.Detail))
	})
	keys := slices.Sorted(maps.Keys(r.ExternalData))
	section("External data", len(keys), "KEY\tVALUE", func(i int) string {
		return keys[i] + "\t" + r.ExternalData[keys[i]]
	})
	if r.Metadata != "" {
		fmt.Fprintf(w, "\nSIPREC metadata\n%s\n", r.Metadata)
	}
	return nil
}

// dtmfMaskedSummary counts the "dtmf-masked" events (key tones silenced in
// the stored audio, PCI) per channel and source: "channel 0: 16 (in-band
// 16)". "" when none.
func dtmfMaskedSummary(events []store.Event) string {
	type count struct{ all, inband, rfc4733 int }
	per := map[int]*count{}
	for _, e := range events {
		if e.Type != "dtmf-masked" {
			continue
		}
		c := per[e.Channel]
		if c == nil {
			c = &count{}
			per[e.Channel] = c
		}
		c.all++
		if e.Detail == "rfc4733" {
			c.rfc4733++
		} else {
			c.inband++
		}
	}
	var parts []string
	for _, ch := range slices.Sorted(maps.Keys(per)) {
		c := per[ch]
		parts = append(parts, fmt.Sprintf("channel %d: %d (in-band %d, RFC 4733 %d)", ch, c.all, c.inband, c.rfc4733))
	}
	return strings.Join(parts, "; ")
}

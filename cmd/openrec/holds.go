package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/expire"
	"github.com/openrec/openrec/internal/store/seal"
)

// errNoReason: a legal hold needs a reason.
var errNoReason = errors.New("--reason is required (a case number, a complaint)")

// errHoldTarget: a hold names one recording or one call.
var errHoldTarget = errors.New("give a recording ID or --call UUID (one of them)")

// holdTargets returns the recordings a hold or release names: the
// recording id of args, or every recording of call (store.ErrNotFound when
// the call has none).
func holdTargets(ctx context.Context, db interface {
	SearchRecordings(context.Context, store.Filter) (store.Page, error)
}, args []string, call string) ([]string, error) {
	if (len(args) == 1) == (call != "") {
		return nil, errHoldTarget
	}
	if call == "" {
		return args, nil
	}
	var ids []string
	f := store.Filter{CallUUID: call, Sort: store.SortStartedAsc, Limit: 200}
	for {
		page, err := db.SearchRecordings(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Items {
			ids = append(ids, r.ID)
		}
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no recording of call %s: %w", call, store.ErrNotFound)
	}
	return ids, nil
}

func newRecordingsHoldCmd(dataDir *string) *cobra.Command {
	var reason, call string
	cmd := &cobra.Command{
		Use:   "hold (ID | --call UUID) --reason TEXT",
		Short: "Put a recording, or every recording of a call, on legal hold: nothing deletes it until released",
		Long: `Put a recording (or with --call every recording of that call) on legal hold.
While the hold stands no retention period, discard decision or erasure
request deletes it (they skip it and say so). Release it with
"openrec recordings release ID" (or --call UUID). Audited, one entry per
recording.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reason = strings.TrimSpace(reason)
			if (len(args) == 1) == (call != "") {
				return errHoldTarget
			}
			if reason == "" {
				return errNoReason
			}
			if err := store.CheckHoldReason(reason); err != nil {
				return fmt.Errorf("--reason: %w", err)
			}
			db, err := openExistingStore(cmd.Context(), *dataDir)
			if err != nil {
				return err
			}
			defer db.Close()
			ids, err := holdTargets(cmd.Context(), db, args, call)
			if err != nil {
				return fmt.Errorf("hold: %w", err)
			}
			for _, id := range ids {
				h := store.Hold{RecordingID: id, Reason: reason, SetBy: cliActor(), SetAt: time.Now()}
				if err := db.SetLegalHold(cmd.Context(), h); err != nil {
					if errors.Is(err, store.ErrNotFound) {
						return fmt.Errorf("hold: recording %s not found in %s: %w", id, db.Path(), store.ErrNotFound)
					}
					return err
				}
				if err := appendCLIAudit(cmd.Context(), db, store.AuditEntry{Action: store.AuditLegalHold, RecordingID: id, Detail: reason}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s is on legal hold (%s)\n", id, reason)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the recording is held (required)")
	cmd.Flags().StringVar(&call, "call", "", "hold every recording of this call (its call UUID) instead of one recording")
	return cmd
}

func newRecordingsReleaseCmd(dataDir *string) *cobra.Command {
	var call string
	cmd := &cobra.Command{
		Use:   "release (ID | --call UUID)",
		Short: "Release the legal hold of a recording, or of every recording of a call",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (call != "") {
				return errHoldTarget
			}
			db, err := openExistingStore(cmd.Context(), *dataDir)
			if err != nil {
				return err
			}
			defer db.Close()
			ids, err := holdTargets(cmd.Context(), db, args, call)
			if err != nil {
				return fmt.Errorf("release: %w", err)
			}
			released := 0
			for _, id := range ids {
				if err := db.ReleaseLegalHold(cmd.Context(), id); err != nil {
					if errors.Is(err, store.ErrNotFound) {
						if call != "" {
							continue // a recording of the call that was not held
						}
						return fmt.Errorf("release: recording %s is not on legal hold: %w", id, store.ErrNotFound)
					}
					return err
				}
				if err := appendCLIAudit(cmd.Context(), db, store.AuditEntry{Action: store.AuditHoldRelease, RecordingID: id}); err != nil {
					return err
				}
				released++
				fmt.Fprintf(cmd.OutOrStdout(), "released the legal hold on %s\n", id)
			}
			if released == 0 {
				return fmt.Errorf("release: no recording of call %s is on legal hold: %w", call, store.ErrNotFound)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&call, "call", "", "release every recording of this call (its call UUID)")
	return cmd
}

func newRecordingsHoldsCmd(dataDir *string) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "holds",
		Short: "List the recordings on legal hold",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := openExistingStore(cmd.Context(), *dataDir)
			if err != nil {
				return err
			}
			defer db.Close()
			hs, err := db.ListLegalHolds(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				if hs == nil {
					hs = []store.Hold{}
				}
				return json.NewEncoder(cmd.OutOrStdout()).Encode(hs)
			}
			rows := make([][]string, 0, len(hs))
			for _, h := range hs {
				rows = append(rows, []string{h.RecordingID, h.SetAt.UTC().Format(time.RFC3339), h.SetBy, h.Reason})
			}
			return writeRows(cmd.OutOrStdout(), "holds", "RECORDING\tSINCE\tBY\tREASON", rows)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newRecordingsEraseCmd(dataDir *string) *cobra.Command {
	var (
		q      expire.Query
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "erase (--ani NUMBER | --dn DN | --agent ID) [--tenant T]",
		Short: "Erase every finished recording of a party (GDPR erasure request)",
		Long: `Delete every finished recording of one party — a customer number (ANI), a DN
(recorded or other party) or an agent — with its media, sidecars and manifest.
Values match exactly (no wildcards). Recordings on legal hold are kept and
listed; recordings still in progress are listed (erase again after the call).
Each deletion and the request itself are audited; the audit log keeps a
fingerprint of the party, never the number or name.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := openExistingStore(cmd.Context(), *dataDir)
			if err != nil {
				return err
			}
			defer db.Close()
			// the server's key: the audit fingerprint matches the API's.
			// Never created here (a key made by another user, root, would
			// lock the server out of it).
			keys := filepath.Join(*dataDir, "keys")
			if _, err := os.Stat(filepath.Join(keys, seal.PrivateKeyFile)); err != nil {
				return fmt.Errorf("no server key %s (start openrec serve once with this data dir): %w", filepath.Join(keys, seal.PrivateKeyFile), err)
			}
			key, err := seal.LoadOrCreateKey(keys)
			if err != nil {
				return err
			}
			rep, err := expire.Erase(cmd.Context(), db, *dataDir, q, cliActor(), seal.FingerprintKey(key), time.Now(), slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn})))
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
			}
			w := cmd.OutOrStdout()
			for _, id := range rep.Erased {
				fmt.Fprintf(w, "erased %s\n", id)
			}
			for _, id := range rep.Held {
				fmt.Fprintf(w, "kept %s: on legal hold\n", id)
			}
			for _, id := range rep.InProgress {
				fmt.Fprintf(w, "kept %s: still recording, erase again after the call\n", id)
			}
			for _, id := range rep.Failed {
				fmt.Fprintf(w, "FAILED %s: not deleted now, try again\n", id)
			}
			fmt.Fprintf(w, "%d erased, %d on legal hold, %d in progress, %d failed\n", len(rep.Erased), len(rep.Held), len(rep.InProgress), len(rep.Failed))
			if len(rep.Failed) > 0 {
				return &exitError{code: 1, err: errors.New("some recordings could not be erased")}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&q.ANI, "ani", "", "the customer number (GEN_TEV_ANI), exactly")
	fl.StringVar(&q.DN, "dn", "", "a DN, recorded or other party, exactly")
	fl.StringVar(&q.Agent, "agent", "", "an agent (id, user name, employee id or name), exactly")
	fl.StringVar(&q.Tenant, "tenant", "", "only this tenant's recordings")
	fl.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

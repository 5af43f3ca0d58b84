package main

import (
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

func newRecordingsHoldCmd(loc *storeLoc) *cobra.Command {
	var reason, call string
	cmd := &cobra.Command{
		Use:   "hold (ID | --call UUID) --reason TEXT",
		Short: "Put a recording, or every recording of a call, on legal hold: nothing deletes it until released",
		Long: `Put a recording on legal hold, or with --call a whole call: every recording
the call has and every one it makes later (a transfer, a consultation).
While the hold stands no retention period, discard decision or erasure
request deletes it (they skip it and say so). Release it with
"openrec recordings release ID" (or --call UUID, which releases what the
call's hold held; a recording held on its own keeps its hold). Audited,
one entry per recording and one for a call.`,
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
			db, err := openExistingStore(cmd.Context(), *loc)
			if err != nil {
				return err
			}
			defer db.Close()
			ids := args
			if call != "" {
				ids, err = db.SetCallHold(cmd.Context(), store.CallHold{CallUUID: call, Reason: reason, SetBy: cliActor(), SetAt: time.Now()})
				if err != nil {
					return fmt.Errorf("hold: %w", err)
				}
				if err := appendCLIAudit(cmd.Context(), db, store.AuditEntry{Action: store.AuditLegalHold, Detail: "call " + call + ": " + reason}); err != nil {
					return err
				}
			} else if err := db.SetLegalHold(cmd.Context(), store.Hold{RecordingID: args[0], Reason: reason, SetBy: cliActor(), SetAt: time.Now()}); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("hold: recording %s not found in %s: %w", args[0], loc.where(), store.ErrNotFound)
				}
				return err
			}
			for _, id := range ids {
				if err := appendCLIAudit(cmd.Context(), db, store.AuditEntry{Action: store.AuditLegalHold, RecordingID: id, Detail: reason}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s is on legal hold (%s)\n", id, reason)
			}
			if call != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "call %s is on legal hold: its later recordings will be held too\n", call)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the recording is held (required)")
	cmd.Flags().StringVar(&call, "call", "", "hold every recording of this call (its call UUID) instead of one recording")
	return cmd
}

func newRecordingsReleaseCmd(loc *storeLoc) *cobra.Command {
	var call string
	cmd := &cobra.Command{
		Use:   "release (ID | --call UUID)",
		Short: "Release the legal hold of a recording, or of every recording of a call",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (call != "") {
				return errHoldTarget
			}
			db, err := openExistingStore(cmd.Context(), *loc)
			if err != nil {
				return err
			}
			defer db.Close()
			ids := args
			if call != "" {
				if ids, err = db.ReleaseCallHold(cmd.Context(), call); err != nil {
					return fmt.Errorf("release: %w", err)
				}
				if err := appendCLIAudit(cmd.Context(), db, store.AuditEntry{Action: store.AuditHoldRelease, Detail: "call " + call}); err != nil {
					return err
				}
			} else if err := db.ReleaseLegalHold(cmd.Context(), args[0]); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("release: recording %s is not on legal hold: %w", args[0], store.ErrNotFound)
				}
				return err
			}
			for _, id := range ids {
				if err := appendCLIAudit(cmd.Context(), db, store.AuditEntry{Action: store.AuditHoldRelease, RecordingID: id}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "released the legal hold on %s\n", id)
			}
			if call != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "released the legal hold on call %s\n", call)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&call, "call", "", "release every recording of this call (its call UUID)")
	return cmd
}

func newRecordingsHoldsCmd(loc *storeLoc) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "holds",
		Short: "List the calls and recordings on legal hold",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := openExistingStore(cmd.Context(), *loc)
			if err != nil {
				return err
			}
			defer db.Close()
			hs, err := db.ListLegalHolds(cmd.Context())
			if err != nil {
				return err
			}
			calls, err := db.ListCallHolds(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				if hs == nil {
					hs = []store.Hold{}
				}
				if calls == nil {
					calls = []store.CallHold{}
				}
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"recordings": hs, "calls": calls})
			}
			if len(calls) > 0 {
				rows := make([][]string, 0, len(calls))
				for _, h := range calls {
					rows = append(rows, []string{h.CallUUID, h.SetAt.UTC().Format(time.RFC3339), h.SetBy, h.Reason})
				}
				if err := writeRows(cmd.OutOrStdout(), "call holds", "CALL\tSINCE\tBY\tREASON", rows); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout())
			}
			rows := make([][]string, 0, len(hs))
			for _, h := range hs {
				by := h.SetBy
				if h.CallUUID != "" {
					by += " (call " + h.CallUUID + ")"
				}
				rows = append(rows, []string{h.RecordingID, h.SetAt.UTC().Format(time.RFC3339), by, h.Reason})
			}
			return writeRows(cmd.OutOrStdout(), "holds", "RECORDING\tSINCE\tBY\tREASON", rows)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newRecordingsEraseCmd(loc *storeLoc) *cobra.Command {
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
			db, err := openExistingStore(cmd.Context(), *loc)
			if err != nil {
				return err
			}
			defer db.Close()
			// the server's key: the audit fingerprint matches the API's.
			// Never created here (a key made by another user, root, would
			// lock the server out of it).
			keys := filepath.Join(loc.dataDir, "keys")
			if _, err := os.Stat(filepath.Join(keys, seal.PrivateKeyFile)); err != nil {
				return fmt.Errorf("no server key %s (start openrec serve once with this data dir): %w", filepath.Join(keys, seal.PrivateKeyFile), err)
			}
			key, err := seal.LoadOrCreateKey(keys)
			if err != nil {
				return err
			}
			media := expire.Media{DataDir: loc.dataDir}
			if b, err := cliBucket(cmd); err != nil {
				return err
			} else if b != nil {
				defer b.Close()
				media.Objects = b
			}
			rep, err := expire.Erase(cmd.Context(), db, media, q, cliActor(), seal.FingerprintKey(key), time.Now(), slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn})))
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

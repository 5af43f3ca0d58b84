package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/openrec/openrec/internal/app"
	"github.com/openrec/openrec/internal/store"
)

// errNotTranscoded: some recordings named or found were not transcoded.
var errNotTranscoded = errors.New("not transcoded")

func newRecordingsTranscodeCmd(loc *storeLoc) *cobra.Command {
	var (
		all  bool
		dtmf string
	)
	cmd := &cobra.Command{
		Use:   "transcode (--all | ID...)",
		Short: "Decode the payloads recordings kept raw (needs_transcode) into their media",
		Long: `Decode what recordings kept raw: a call in a codec the recorder could not decode
(G.729 in a build without -tags bcg729, say) is stored with that channel silent, its
payloads in a sidecar and the recording flagged needs_transcode. This command replays
the sidecars through the recorder's own mixer with this build's decoders and writes the
aligned file the live path would have written (atomically; a crash is finished by the
next run), then updates the recording (needs_transcode false, sha256, duration, codecs),
adds a "transcoded" event, signs its manifest again (<data-dir>/keys) and writes a
transcode entry to the audit log.

"openrec serve" does the same in the background (transcode_workers); the two share the
job table, so they never transcode one recording twice. --all takes every finished
recording that needs it, failed ones included; recordings whose codec this build cannot
decode either wait for a build that can. Progress goes to stderr; the exit status is 1
when any recording was not transcoded.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return errors.New("name the recordings to transcode (IDs) or pass --all")
			}
			db, err := openExistingStore(cmd.Context(), *loc)
			if err != nil {
				return err
			}
			defer db.Close()
			audit := func(ctx context.Context, e store.AuditEntry) error { return appendCLIAudit(ctx, db, e) }
			rep, err := app.Transcode(cmd.Context(), db, loc.dataDir, args, dtmf, cmd.ErrOrStderr(), audit)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "transcoded %d recordings (%.1f s of audio); %d not transcoded\n",
				rep.Done, rep.Seconds, len(rep.Failed))
			if len(rep.Failed) > 0 {
				return fmt.Errorf("%d recordings %w: %s", len(rep.Failed), errNotTranscoded, strings.Join(rep.Failed, ", "))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "every finished recording that needs transcoding (failed ones again too)")
	cmd.Flags().StringVar(&dtmf, "dtmf", "mask", "key tones in the decoded audio: mask, mask-and-drop-events or keep (as serve's dtmf)")
	return cmd
}

// Command openrec is the openrec call recording server and its tools:
// serve (the recorder), demo (recorder + built-in calls), dial (a SIP
// recording client), recordings (list, show, export), admin (users of the
// API and web UI), store migrate (SQLite to PostgreSQL).
package main

import (
	"errors"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}

// exitError carries a specific exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "openrec",
		Short:         "openrec records contact-center calls (Genesys MSR and SIPREC) to dual-channel audio",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.SetErrPrefix("openrec: error:")
	root.AddCommand(newServeCmd(), newDemoCmd(), newDialCmd(), newRecordingsCmd(), newSimCmd(), newLoadCmd(), newRawrecvCmd(), newRulesCmd(), newAdminCmd(), newVerifyCmd(), newHostileCmd(), newCaptureCmd(), newStoreCmd())
	return root
}

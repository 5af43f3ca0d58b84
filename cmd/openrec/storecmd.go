package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/openrec/openrec/internal/store/backend"
	"github.com/openrec/openrec/internal/store/storecopy"
)

// newStoreCmd returns `openrec store` with migrate.
func newStoreCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:          "store",
		Short:        "Move the metadata store (SQLite to PostgreSQL)",
		SilenceUsage: true,
	}
	cmd.AddCommand(newStoreMigrateCmd())
	return cmd
}

func newStoreMigrateCmd() *cobra.Command {
	var (
		from, to string
		batch    int
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "migrate --from sqlite:PATH --to postgres://USER@HOST:PORT/DB",
		Short: "Copy every table of a SQLite store into PostgreSQL (resumable)",
		Long: `Copy the metadata of a SQLite store — recordings with their parties,
segments, events, couples and external data, deletions, users, sessions, the
audit log (its ids and hash chain as they are), legal and call holds — into a
PostgreSQL database, creating its schema. The PostgreSQL database must exist.

Rows go in batches (--batch, one transaction each) in primary key order, with
a progress line on stderr. Interrupted, the command continues where it stopped
when run again, and copies no row twice. At the end it compares the row count
of every table and the audit chain's head on both sides; any difference is an
error (exit status 1).

Stop "openrec serve" before the final run (the source's rows are only read, but rows
written during the copy make the counts differ), then start it with
--store postgres://... and the same --data-dir: media paths stay relative to
the data directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return fmt.Errorf("--from sqlite:PATH and --to postgres://... are required")
			}
			if _, _, err := backend.Parse(from); err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			if _, _, err := backend.Parse(to); err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			if batch < 1 {
				return fmt.Errorf("--batch %d: want at least 1", batch)
			}
			p := newProgress(cmd.ErrOrStderr())
			rep, err := storecopy.Copy(cmd.Context(), from, to, storecopy.Options{Batch: batch, Progress: p.update})
			p.end()
			if err != nil {
				return fmt.Errorf("store migrate %s → %s: %w", backend.Redact(from), backend.Redact(to), err)
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return writeCopyReport(cmd.OutOrStdout(), rep)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&from, "from", "", "source store: sqlite:PATH (e.g. sqlite:./openrec-data/openrec.db)")
	fl.StringVar(&to, "to", "", "target store: postgres://USER@HOST:PORT/DB (the database must exist)")
	fl.IntVar(&batch, "batch", storecopy.DefaultBatch, "rows per transaction")
	fl.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func writeCopyReport(w io.Writer, rep storecopy.Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tSOURCE\tTARGET\tCOPIED NOW")
	for _, t := range rep.Tables {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", t.Table, t.Source, t.Target, t.Copied)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	head := rep.AuditHead
	if head == "" {
		head = "(empty)"
	}
	_, err := fmt.Fprintf(w, "row counts match; audit chain head %s\n", head)
	return err
}

// progress draws the copy's progress line on stderr: rewritten in place
// (\r) on a terminal; otherwise at most one line a second, and each
// table's last.
type progress struct {
	w       io.Writer
	tty     bool
	table   string
	pending string // the newest line not printed yet (not a terminal)
	printed time.Time
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(table string, done, total int64) {
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	line := fmt.Sprintf("store migrate: %-13s %9d / %d rows (%.1f%%)", table, done, total, pct)
	if p.tty {
		if table != p.table && p.table != "" {
			fmt.Fprintln(p.w) // keep the finished table's last line
		}
		fmt.Fprintf(p.w, "\r%s", line)
		p.table = table
		return
	}
	if table != p.table && p.pending != "" {
		fmt.Fprintln(p.w, p.pending)
	}
	p.table, p.pending = table, line
	if done >= total || time.Since(p.printed) >= time.Second {
		fmt.Fprintln(p.w, line)
		p.printed, p.pending = time.Now(), ""
	}
}

func (p *progress) end() {
	switch {
	case p.tty && p.table != "":
		fmt.Fprintln(p.w)
	case !p.tty && p.pending != "":
		fmt.Fprintln(p.w, p.pending)
	}
}

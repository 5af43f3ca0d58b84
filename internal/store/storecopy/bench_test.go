package storecopy

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/openrec/openrec/internal/testtool/pgtest"
)

// BenchmarkCopy: one `openrec store migrate` of a SQLite store with 2,000
// recordings (and their children, 6,000 audit entries ...) into a fresh
// PostgreSQL database; rows/s counts every row of every table.
//
//	go test -run '^$' -bench Copy -benchtime 3x ./internal/store/storecopy/
func BenchmarkCopy(b *testing.B) {
	path := filepath.Join(b.TempDir(), "openrec.db")
	fill(b, path, 2000)
	var rows int64
	for b.Loop() {
		b.StopTimer()
		to := pgtest.NewDatabase(b)
		b.StartTimer()
		rep, err := Copy(context.Background(), "sqlite:"+path, to, Options{})
		if err != nil {
			b.Fatal(err)
		}
		rows = 0
		for _, tc := range rep.Tables {
			rows += tc.Copied
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows), "rows")
}

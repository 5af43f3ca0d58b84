package load

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"
)

// WriteTable prints the report as an aligned two-column table.
func WriteTable(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("target", r.Target+" ("+r.Mode+")")
	row("calls", fmt.Sprintf("%d at %g/s, %gs each, wall %.1fs", r.CallsRequested, r.Rate, r.DurationS, r.WallS))
	row("calls attempted", strconv.Itoa(r.CallsAttempted))
	row("calls answered", strconv.Itoa(r.CallsAnswered))
	row("calls failed", strconv.Itoa(r.CallsFailed))
	keys := make([]string, 0, len(r.FailuresBy))
	for k := range r.FailuresBy {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		row("  failed "+k, strconv.Itoa(r.FailuresBy[k]))
	}
	row("max active calls", strconv.Itoa(r.MaxActive))
	row("packets sent", strconv.FormatUint(r.PacketsSent, 10))
	if r.PacketsWithheld > 0 {
		row("packets withheld (--loss)", strconv.FormatUint(r.PacketsWithheld, 10))
	}
	row("packets received", optUint(r.PacketsReceived))
	row("loss ratio", optFloat(r.LossRatio, 6))
	row("kernel rcvbuf/in errors", optUint(r.KernelRcvbufErrors)+" / "+optUint(r.KernelInErrors))
	row("softnet dropped", optUint(r.SoftnetDropped))
	row("zero loss", strconv.FormatBool(r.ZeroLoss))
	row("setup ms p50/p99/max", optFloat(r.SetupMSP50, 1)+" / "+optFloat(r.SetupMSP99, 1)+" / "+optFloat(r.SetupMSMax, 1))
	row("setup rate calls/s", optFloat(r.SetupRateCPS, 1)+" over "+optFloat(r.SetupWindowS, 2)+" s")
	row("recorder cpu %", optFloat(r.CPUPercent, 1))
	row("recorder rss MB", optFloat(r.RSSMB, 1))
	if r.SearchableCalls > 0 || r.SearchableTimeouts > 0 {
		row("searchable ms p50/p99/max", optFloat(r.SearchableMSP50, 1)+" / "+optFloat(r.SearchableMSP99, 1)+" / "+optFloat(r.SearchableMSMax, 1)+
			fmt.Sprintf(" (%d calls, %d timed out)", r.SearchableCalls, r.SearchableTimeouts))
	}
	for _, wmsg := range r.Warnings {
		row("warning", wmsg)
	}
	return tw.Flush()
}

func optFloat(v *float64, prec int) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'f', prec, 64)
}

func optUint(v *uint64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatUint(*v, 10)
}

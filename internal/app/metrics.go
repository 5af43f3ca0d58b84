package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openrec/openrec/internal/media/rtpin"
	"github.com/openrec/openrec/internal/recorder"
	"github.com/openrec/openrec/internal/store"
)

func registerMetrics(reg *prometheus.Registry, rec *recorder.Recorder, sealFailures func() int64) {
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "openrec", Name: "seal_failures_total",
		Help: "Finished recordings whose signed manifest could not be written (not tamper-evident)."},
		func() float64 { return float64(sealFailures()) }))
	gauge := func(name, help string, f func(recorder.Stats) float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "openrec", Name: name, Help: help}, func() float64 { return f(rec.Stats()) }))
	}
	counter := func(name, help string, f func(recorder.Stats) float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "openrec", Name: name, Help: help}, func() float64 { return f(rec.Stats()) }))
	}
	gauge("active_calls", "Calls being recorded now.", func(s recorder.Stats) float64 { return float64(s.ActiveCalls) })
	gauge("active_legs", "SIP recording sessions (legs) open now.", func(s recorder.Stats) float64 { return float64(s.ActiveLegs) })
	gauge("rtp_ports_in_use", "RTP port pairs allocated.", func(s recorder.Stats) float64 { return float64(s.PortsInUse) })
	counter("calls_admitted_total", "Calls admitted.", func(s recorder.Stats) float64 { return float64(s.CallsAdmitted) })
	counter("calls_rejected_total", "Calls refused with 503 (capacity, draining).", func(s recorder.Stats) float64 { return float64(s.CallsRejected) })
	counter("legs_total", "Recording legs accepted.", func(s recorder.Stats) float64 { return float64(s.Legs) })
	counter("rtp_packets_received_total", "RTP packets accepted by the receivers.", func(s recorder.Stats) float64 { return float64(s.PacketsReceived) })
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "openrec", Name: "rtp_packets_dropped_total",
		Help: "RTP packets refused because they came from another source than the locked one."}, func() float64 { return float64(rec.PacketsDropped()) }))
	counter("rtp_packets_unoffered_pt_total", "RTP packets dropped because the SDP did not offer their payload type (not decoded).", func(s recorder.Stats) float64 { return float64(s.PacketsUnofferedPT) })
	counter("media_timeouts_total", "Legs ended because RTP stopped.", func(s recorder.Stats) float64 { return float64(s.MediaTimeouts) })
	counter("recordings_stored_compressed_total", "Recordings replaced by their MP3 or Opus file (media_format).", func(s recorder.Stats) float64 { return float64(s.StoredCompressed) })
	counter("recordings_store_failures_total", "Storage format encodes that failed: the WAV is kept and the encode redone at the next start.", func(s recorder.Stats) float64 { return float64(s.StoredFailed) })
	gauge("recordings_store_queue", "Finished recordings waiting for (or in) the storage format encoder.", func(s recorder.Stats) float64 { return float64(s.StoredQueued) })
	counter("srtp_auth_failures_total", "SRTP/SRTCP packets that failed authentication (wrong key), counted when their stream closes.", func(s recorder.Stats) float64 { return float64(s.SRTPAuthFailures) })
	counter("srtp_failed_streams_total", "Recorded streams whose every packet failed SRTP authentication (failed recording alert).", func(s recorder.Stats) float64 { return float64(s.SRTPFailedStreams) })
	for _, st := range []store.Status{store.StatusCompleted, store.StatusPartial, store.StatusFailed} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "openrec", Name: "recordings_finished_total", Help: "Recordings finalised, by status.",
			ConstLabels: prometheus.Labels{"status": string(st)},
		}, func() float64 { return float64(rec.Stats().Recordings[st]) }))
	}
}

// registerSharedMetrics counts what the shared media sockets drop before
// any leg sees it (media_ports: shared).
func registerSharedMetrics(reg *prometheus.Registry, s *rtpin.Shared) {
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "openrec", Name: "rtp_shared_unmatched_total",
		Help: "Datagrams on the shared media sockets that no leg expects (unknown or ambiguous source)."},
		func() float64 { return float64(s.Stats().Unmatched) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "openrec", Name: "rtp_shared_stale_total",
		Help: "Datagrams on the shared media sockets from a finished leg's source and SSRC (quarantined)."},
		func() float64 { return float64(s.Stats().Stale) }))
}

func registerCTIMetrics(reg *prometheus.Registry, s *ctiSide) {
	reg.MustRegister(s.notifyHist)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "openrec", Name: "cti_links_up", Help: "CTI links to SIP Servers that are up."},
		func() float64 {
			n := 0
			for _, st := range s.client.Stats() {
				if st.Connected {
					n++
				}
			}
			return float64(n)
		}))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "openrec", Name: "cti_requests_total", Help: "T-Library requests sent (recording control, notification)."},
		func() float64 { return float64(s.core.Stats().Requests) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "openrec", Name: "cti_request_failures_total", Help: "T-Library requests answered with EventError or lost."},
		func() float64 { return float64(s.core.Stats().RequestFailures) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "openrec", Name: "cti_actions_dropped_total", Help: "CTI actions dropped because the call core's queue was full (the recorder's SIP and RTP paths never wait)."},
		func() float64 { return float64(s.core.Stats().Dropped) }))
	for _, kind := range []string{"no-leg", "one-leg", "no-rtp", "orphan-leg", "no-screen"} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "openrec", Name: "failed_recordings_total",
			Help:        "Failed recordings detected: CTI says recorded but no leg / one leg / no RTP, a leg matching no CTI call, or no screen video for a recording that asked for it.",
			ConstLabels: prometheus.Labels{"kind": kind},
		}, func() float64 { return float64(s.core.Stats().Alerts[kind]) }))
	}
}

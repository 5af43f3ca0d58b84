#!/usr/bin/env bash
# Soak benchmark (issue 11): good calls recorded while hostile traffic runs.
#
#   scripts/soak.sh [SECONDS] [CALLS]     # default 600 s, 200 calls
#
# Starts "openrec serve" on loopback with a fresh data dir, then runs at the
# same time "openrec hostile" (malformed requests, floods, INVITEs never
# ACKed, half-open TCP) for SECONDS and "openrec load" with CALLS calls that
# last until shortly before the end. Prints one JSON object: good calls
# recorded / attempted, packets lost, panics, RSS and open fds of the
# recorder before and after, and what the hostile side sent. Everything it
# starts is stopped on exit. Not a CI test: BENCHMARKS.md records its result.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
calls=${2:-200}
work=$(mktemp -d)
bin=$work/openrec
go build -o "$bin" ./cmd/openrec
data=$work/data
sip=127.0.0.1:5098
http=127.0.0.1:8098
"$bin" serve --sip-listen $sip --http-listen $http --data-dir "$data" --rtp-ports 30000-33999 \
  --max-calls 600 --log-level warn 2>"$work/serve.log" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 100); do curl -sf "http://$http/healthz" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
fds() { ls "/proc/$pid/fd" | wc -l; }
rss0=$(rss); fds0=$(fds)
"$bin" hostile --target $sip --duration "${secs}s" --rate 50 --tcp-conns 200 --json >"$work/hostile.json" &
hpid=$!
callsecs=$((secs - 40)); [ $callsecs -lt 10 ] && callsecs=10
"$bin" load --target $sip --calls "$calls" --rate 20 --duration "${callsecs}s" \
  --metrics-url "http://$http/metrics" --recorder-pid "$pid" --json >"$work/load.json" || true
wait $hpid || true
sleep 5 # the last recordings finalise
rss1=$(rss); fds1=$(fds)
sleep 40 # past Timer H (32 s) and the TCP idle close: what stays is a leak
rss2=$(rss); fds2=$(fds)
panics=$(curl -s "http://$http/metrics" | awk '/^openrec_panics_total/ {s+=$2} END {print s+0}')
alive=$(kill -0 "$pid" 2>/dev/null && echo true || echo false)
"$bin" recordings list --data-dir "$data" --json >"$work/recs.json" 2>/dev/null || echo '[]' >"$work/recs.json"
python3 - "$work" "$rss0" "$rss1" "$fds0" "$fds1" "$panics" "$alive" "$secs" "$calls" "$rss2" "$fds2" <<'PY'
import json, sys
work, rss0, rss1, fds0, fds1, panics, alive, secs, calls, rss2, fds2 = sys.argv[1:]
load = json.load(open(work + "/load.json"))
hostile = json.load(open(work + "/hostile.json"))
recs = json.load(open(work + "/recs.json"))
good = [r for r in recs if r.get("mode") == "msr" and r.get("record_id", "").startswith("load-")] or \
       [r for r in recs if r.get("mode") == "msr" and len(r.get("sip_call_ids") or []) == 2]
status = {}
for r in good:
    status[r["status"]] = status.get(r["status"], 0) + 1
print(json.dumps({
    "seconds": int(secs), "calls_attempted": load.get("calls_attempted"), "calls_answered": load.get("calls_answered"),
    "good_recordings_by_status": status, "packets_sent": load.get("packets_sent"),
    "packets_received": load.get("packets_received"), "loss_ratio": load.get("loss_ratio"), "zero_loss": load.get("zero_loss"),
    "recorder_alive": alive == "true", "panics": int(float(panics)),
    "rss_kb_before": int(rss0), "rss_kb_after": int(rss1), "fds_before": int(fds0), "fds_after": int(fds1),
    "rss_kb_40s_after": int(rss2), "fds_40s_after": int(fds2),
    "cpu_percent": load.get("cpu_percent"), "hostile": hostile}, indent=1))
PY

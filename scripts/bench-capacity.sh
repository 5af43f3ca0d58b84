#!/usr/bin/env bash
# bench-capacity.sh — one-core capacity of the recorder (issue 6).
#
# For each N in --calls, --runs times: a fresh `openrec serve` pinned to the
# recorder CPU takes N MSR calls from `openrec load` pinned to the load CPU
# (loss incl. kernel drops, CPU, RSS, setup latency and rate, hang-up →
# searchable); then `openrec rawrecv` (the recorder's socket layout with
# nothing behind it) on the same CPU takes the same N calls as raw RTP.
# A last phase offers call setups faster than the recorder answers them
# (setup rate). Prints markdown tables and "max zero-loss calls: recorder
# X, raw reader Y, ratio X/Y"; every run's JSON report goes to one JSON
# line in the results file.
#
# As root it steers loopback receive work to the recorder CPU (RPS), raises
# net.core.netdev_max_backlog and net.core.rmem_max and the open-file
# limit, and restores all of it on exit. Without root (or when a setting
# cannot be written) it says so: without RPS the kernel's receive work runs
# on the sender's core and is not in the recorder's CPU figure.
#
# Run it on a quiet machine: the kernel drop counters are machine-wide.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: scripts/bench-capacity.sh [options]
  --calls "N1 N2 ..."   concurrent calls to try (default "500 1000 1500 2000 2500 3000")
  --runs R              runs per N (default 3); zero loss at N = all R runs zero_loss
  --duration D          audio per call (default 60s)
  --rate R              ramp, new calls per second (default 200)
  --setup-calls C       calls of the setup-rate phase (default 1000; 0 skips it)
  --setup-rate R        offered setup rate of that phase (default 2000, the load tool's maximum)
  --recorder-cpu C      CPU of the recorder / raw reader (default 1)
  --load-cpu C          CPU of the load tool (default 0)
  --rtp-ports LOW-HIGH  recorder and raw reader RTP ports (default 10000 up to the ephemeral range)
  --work-dir DIR        data directories and logs (default: a new directory under /tmp)
  --out FILE            results, one JSON line per run (default: <work-dir>/results.jsonl)
  --api-follow K        follow at most about K calls per run to searchable (default 200; every
                        ceil(N/K)-th call, so that the API polling stays light)
  --no-api              skip the hang-up → searchable measurement
  --no-raw              skip the raw reader runs
  --keep                keep recordings and logs of every run (default: logs only)
  --media-ports MODE    the recorder's media_ports: shared (default: one socket pair per core,
                        legs told apart by source) or per-leg (a port pair per leg); the raw
                        reader keeps the per-leg layout either way
  --serve-args "ARGS"   extra flags for `openrec serve` (e.g. "--fsync-interval 0" for an A/B run)
  --quick               smoke test: --calls "200 400" --runs 1 --duration 10s --setup-calls 200 --setup-rate 1000
EOF
}

CALLS="500 1000 1500 2000 2500 3000"
RUNS=3
DURATION=60s
RATE=200
SETUP_CALLS=1000
SETUP_RATE=2000
RCPU=1
LCPU=0
RTP_PORTS=""
WORK=""
OUT=""
API=1
API_FOLLOW=200
RAW=1
KEEP=0
SERVE_ARGS=""
MEDIA_PORTS=shared
while (($#)); do
	case "$1" in
	--calls) CALLS="$2"; shift 2 ;;
	--runs) RUNS="$2"; shift 2 ;;
	--duration) DURATION="$2"; shift 2 ;;
	--rate) RATE="$2"; shift 2 ;;
	--setup-calls) SETUP_CALLS="$2"; shift 2 ;;
	--setup-rate) SETUP_RATE="$2"; shift 2 ;;
	--recorder-cpu) RCPU="$2"; shift 2 ;;
	--load-cpu) LCPU="$2"; shift 2 ;;
	--rtp-ports) RTP_PORTS="$2"; shift 2 ;;
	--work-dir) WORK="$2"; shift 2 ;;
	--out) OUT="$2"; shift 2 ;;
	--api-follow) API_FOLLOW="$2"; shift 2 ;;
	--no-api) API=0; shift ;;
	--no-raw) RAW=0; shift ;;
	--keep) KEEP=1; shift ;;
	--serve-args) SERVE_ARGS="$2"; shift 2 ;;
	--media-ports) MEDIA_PORTS="$2"; shift 2 ;;
	--quick) CALLS="200 400"; RUNS=1; DURATION=10s; SETUP_CALLS=200; SETUP_RATE=1000; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench-capacity: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
done

die() { echo "bench-capacity: $*" >&2; exit 1; }
note() { echo "bench-capacity: $*" >&2; }

for tool in go jq taskset awk; do
	command -v "$tool" >/dev/null || die "$tool is needed"
done
ncpu=$(nproc)
((RCPU < ncpu && LCPU < ncpu && RCPU != LCPU)) || die "need two distinct CPUs (recorder $RCPU, load $LCPU; this machine has $ncpu)"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs: want a positive number"
[[ "$MEDIA_PORTS" == shared || "$MEDIA_PORTS" == per-leg ]] || die "--media-ports: want shared or per-leg"
for n in $CALLS; do [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "--calls: $n is not a number of calls"; done
[[ "$SETUP_CALLS" =~ ^[0-9]+$ ]] || die "--setup-calls: want a number"
[[ "$API_FOLLOW" =~ ^[1-9][0-9]*$ ]] || die "--api-follow: want a positive number"
dur_s=$(awk -v d="$DURATION" 'BEGIN { if (d ~ /^[0-9.]+s$/) print d+0; else if (d ~ /^[0-9.]+m$/) print 60*d; else print -1 }')
[[ "$dur_s" != -1 ]] || die "--duration: want seconds or minutes, e.g. 60s or 2m"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/openrec-bench.XXXXXX)}
mkdir -p "$WORK"
OUT=${OUT:-$WORK/results.jsonl}
BIN=$WORK/openrec
CLK_TCK=$(getconf CLK_TCK)

maxn=0
for n in $CALLS "$SETUP_CALLS"; do
	if ((n > maxn)); then maxn=$n; fi
done
if [[ -z "$RTP_PORTS" ]]; then
	eph_low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	RTP_PORTS="10000-$((eph_low - 1))"
fi
RTP_LOW=${RTP_PORTS%-*}
RTP_HIGH=${RTP_PORTS#*-}
RTP_LOW=$((RTP_LOW + RTP_LOW % 2))
(((RTP_HIGH - RTP_LOW + 1) / 4 >= maxn + 10)) ||
	die "--rtp-ports $RTP_PORTS holds $(((RTP_HIGH - RTP_LOW + 1) / 4)) calls (4 ports each), need $((maxn + 10))"

# ---- processes we start, stopped on exit -----------------------------------
PIDS=()
forget_pid() { # forget_pid PID: drop it from PIDS
	local keep=() p
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do [[ "$p" == "$1" ]] || keep+=("$p"); done
	PIDS=("${keep[@]+"${keep[@]}"}")
}
stop_pid() { # stop_pid PID: SIGINT, then wait (SIGKILL after 30 s)
	local pid=$1 i
	kill -INT "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
}

# ---- machine tuning (root), restored on exit --------------------------------
RESTORE=()       # "path value" pairs written back on exit
STEERED=no       # RPS steering of lo's receive work to the recorder CPU
NOT_SET=()       # what could not be set, printed and recorded
set_sys() { # set_sys PATH VALUE: write a /proc or /sys file, remembering the old value
	local path=$1 value=$2 old
	if ! old=$(cat "$path" 2>/dev/null); then
		NOT_SET+=("$path (cannot read)")
		return 1
	fi
	if ! { echo "$value" >"$path"; } 2>/dev/null; then
		NOT_SET+=("$path=$value (cannot write: $( ((EUID == 0)) && echo 'read-only?' || echo 'not root'))")
		return 1
	fi
	RESTORE+=("$path" "$old")
}
cleanup() {
	local i
	for pid in "${PIDS[@]+"${PIDS[@]}"}"; do stop_pid "$pid"; done
	for ((i = ${#RESTORE[@]} - 2; i >= 0; i -= 2)); do
		echo "${RESTORE[i + 1]}" >"${RESTORE[i]}" 2>/dev/null || note "could not restore ${RESTORE[i]} to ${RESTORE[i + 1]}"
	done
	((${#RESTORE[@]})) && note "restored ${#RESTORE[@]} settings ($((${#RESTORE[@]} / 2)) files)"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mask=$(printf '%x' $((1 << RCPU)))
rps_ok=1
for q in /sys/class/net/lo/queues/rx-*/rps_cpus; do
	[[ -e "$q" ]] || { NOT_SET+=("RPS: $q missing (kernel without CONFIG_RPS?)"); rps_ok=0; continue; }
	set_sys "$q" "$mask" || rps_ok=0
done
((rps_ok)) && STEERED=yes
backlog=$(cat /proc/sys/net/core/netdev_max_backlog 2>/dev/null || echo 0)
((backlog >= 10000)) || set_sys /proc/sys/net/core/netdev_max_backlog 10000 || true
rmem=$(cat /proc/sys/net/core/rmem_max 2>/dev/null || echo 0)
((rmem >= 16777216)) || set_sys /proc/sys/net/core/rmem_max 16777216 || true
need_fd=$((8 * (maxn + 10) + 4096))
if (($(ulimit -Hn) < need_fd)); then
	ulimit -n "$need_fd" 2>/dev/null || NOT_SET+=("open files: hard limit $(ulimit -Hn) < $need_fd (serve may refuse --max-calls)")
else
	ulimit -n "$(ulimit -Hn)"
fi

# ---- build and describe ------------------------------------------------------
(cd "$ROOT" && go build -o "$BIN" ./cmd/openrec)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]] && COMMIT="$COMMIT+dirty"
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || echo unknown)
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ENV_JSON=$(jq -cn --arg date "$DATE" --arg commit "$COMMIT" --arg cpu "$CPU_MODEL" --argjson ncpu "$ncpu" \
	--arg kernel "$(uname -r)" --arg go "$(go env GOVERSION)" --arg steered "$STEERED" \
	--arg backlog "$(cat /proc/sys/net/core/netdev_max_backlog 2>/dev/null)" --arg rmem "$(cat /proc/sys/net/core/rmem_max 2>/dev/null)" \
	--arg rps "$(cat /sys/class/net/lo/queues/rx-0/rps_cpus 2>/dev/null)" --argjson rcpu "$RCPU" --argjson lcpu "$LCPU" \
	--arg media_ports "$MEDIA_PORTS" --arg calls "$CALLS" --argjson runs "$RUNS" --arg duration "$DURATION" --argjson rate "$RATE" \
	--arg not_set "$(printf '%s; ' "${NOT_SET[@]+"${NOT_SET[@]}"}")" \
	'{bench:$date, phase:"env", date:$date, commit:$commit, cpu:$cpu, ncpu:$ncpu, kernel:$kernel, go:$go, rps_steered:($steered=="yes"),
	  rps_cpus:$rps, netdev_max_backlog:$backlog, rmem_max:$rmem, recorder_cpu:$rcpu, load_cpu:$lcpu,
	  media_ports:$media_ports, calls:$calls, runs:$runs, duration:$duration, rate:$rate, not_set:$not_set}')
echo "$ENV_JSON" >>"$OUT"

echo "# openrec capacity — $DATE, commit $COMMIT"
echo
echo "$CPU_MODEL, $ncpu CPUs, Linux $(uname -r), $(go env GOVERSION); recorder/raw reader on CPU $RCPU, load on CPU $LCPU;"
echo "N in ($CALLS), $RUNS run(s) each, ${DURATION} of audio per call, ramp $RATE calls/s."
echo "recorder media_ports: $MEDIA_PORTS (the raw reader: a socket pair per leg)."
[ -n "$SERVE_ARGS" ] && echo "serve flags added: $SERVE_ARGS"
if [[ "$STEERED" == yes ]]; then
	echo "RPS: lo's receive work steered to CPU $RCPU (rps_cpus=$mask), so the kernel's UDP receive work is in the recorder's core."
else
	echo "**RPS NOT set: lo's receive work runs on the sender's core (CPU $LCPU); the recorder's CPU and ceiling exclude it.**"
fi
echo "netdev_max_backlog=$(cat /proc/sys/net/core/netdev_max_backlog 2>/dev/null), rmem_max=$(cat /proc/sys/net/core/rmem_max 2>/dev/null), open files $(ulimit -n)."
for s in "${NOT_SET[@]+"${NOT_SET[@]}"}"; do echo "NOT SET: $s"; done
echo "Results: $OUT"
echo

# ---- helpers -------------------------------------------------------------------
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo ""; }
rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo ""; }

# wait_line FILE REGEX PID: wait up to 30 s for REGEX in FILE while PID lives.
wait_line() {
	local i
	for ((i = 0; i < 300; i++)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || { tail -5 "$1" >&2; return 1; }
		sleep 0.1
	done
	tail -5 "$1" >&2
	return 1
}

# run_load PID OUTFILE N RATE DURATION_S ARGS...: runs the load tool (pinned) and samples
# PID's CPU in the steady state, while all N calls are up: from the end of
# the ramp + 2 s to the first hang-up − 2 s (skipped when that is under
# 2 s); adds "steady_cpu_percent" (and its window) to OUTFILE's JSON.
run_load() {
	local pid=$1 out=$2 n=$3 rate=$4 dur=$5
	shift 5
	taskset -c "$LCPU" "$BIN" load --json "$@" >"$out.raw" 2>"$out.log" &
	local lpid=$!
	PIDS+=("$lpid")
	local start win t0 t1 steady=null
	start=$(awk -v n="$n" -v r="$rate" 'BEGIN { print n / r + 2 }')
	win=$(awk -v n="$n" -v r="$rate" -v d="$dur" 'BEGIN { w = d - n / r - 4; print (w >= 2 ? w : 0) }')
	if [[ "$win" != 0 ]]; then
		sleep "$start"
		t0=$(ticks "$pid")
		sleep "$win"
		t1=$(ticks "$pid")
		[[ -n "$t0" && -n "$t1" ]] && steady=$(awk -v a="$t0" -v b="$t1" -v w="$win" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", (b - a) / hz / w * 100 }')
	fi
	local rc=0
	wait "$lpid" || rc=$?
	forget_pid "$lpid"
	if ((rc != 0)) || ! jq -e . "$out.raw" >/dev/null 2>&1; then
		note "load failed (exit $rc): $(tail -3 "$out.log")"
		return 1
	fi
	jq -c --argjson steady "$steady" --argjson win "$win" '. + {steady_cpu_percent: $steady, steady_window_s: $win}' "$out.raw" >"$out"
}

# recorder_run N RUN PHASE RATE DURATION_S: fresh serve, one load run, stop.
recorder_run() {
	local n=$1 run=$2 phase=$3 rate=$4 dur=$5
	local dir=$WORK/$phase-$n-$run
	rm -rf "$dir" && mkdir -p "$dir/data"
	local pw
	pw=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	if ((API)); then
		printf '%s\n' "$pw" | "$BIN" admin create-user --data-dir "$dir/data" --name bench --password - --role admin >/dev/null
	fi
	taskset -c "$RCPU" "$BIN" serve --data-dir "$dir/data" --sip-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
		--rtp-ip 127.0.0.1 --rtp-ports "$RTP_LOW-$RTP_HIGH" --max-calls $((n + 10)) --media-ports "$MEDIA_PORTS" --log-level info $SERVE_ARGS 2>"$dir/serve.log" &
	local spid=$!
	PIDS+=("$spid")
	wait_line "$dir/serve.log" 'openrec recorder ready' "$spid" || die "serve did not start (log: $dir/serve.log)"
	local sip http idle
	sip=$(grep -oE 'sip="udp\+tcp [0-9.:]+' "$dir/serve.log" | head -1 | awk '{print $2}')
	http=$(grep -oE ' http=[0-9.:]+' "$dir/serve.log" | head -1 | cut -d= -f2)
	idle=$(rss_mb "$spid")
	local api_args=()
	((API)) && api_args=(--api-url "http://$http" --api-user bench --api-sample $(((n + API_FOLLOW - 1) / API_FOLLOW)))
	local rc=0
	OPENREC_API_PASSWORD=$pw run_load "$spid" "$dir/report.json" "$n" "$rate" "$dur" --target "$sip" --mode msr --calls "$n" \
		--rate "$rate" --duration "${dur}s" --metrics-url "http://$http/metrics" --recorder-pid "$spid" "${api_args[@]+"${api_args[@]}"}" || rc=$?
	stop_pid "$spid"
	forget_pid "$spid"
	if ((rc == 0)); then
		jq -c --arg phase "$phase" --argjson n "$n" --argjson run "$run" --argjson idle "${idle:-null}" --arg bench "$DATE" --arg commit "$COMMIT" \
			'{bench:$bench, commit:$commit, phase:$phase, n:$n, run:$run, idle_rss_mb:$idle} + .' "$dir/report.json" >>"$OUT"
	fi
	((KEEP)) || rm -rf "$dir/data"
	return $rc
}

# raw_run N RUN: fresh rawrecv, one raw load run, stop.
raw_run() {
	local n=$1 run=$2
	local dir=$WORK/raw-$n-$run
	rm -rf "$dir" && mkdir -p "$dir"
	local high=$((RTP_LOW + 4 * n - 1))
	taskset -c "$RCPU" "$BIN" rawrecv --ip 127.0.0.1 --ports "$RTP_LOW-$high" --metrics-listen 127.0.0.1:0 \
		>"$dir/rawrecv.out" 2>"$dir/rawrecv.log" &
	local rpid=$!
	PIDS+=("$rpid")
	wait_line "$dir/rawrecv.log" 'metrics http://' "$rpid" || die "rawrecv did not start (log: $dir/rawrecv.log)"
	local url idle
	url=$(grep -oE 'http://[0-9.:]+/metrics' "$dir/rawrecv.log" | head -1)
	idle=$(rss_mb "$rpid")
	local rc=0
	run_load "$rpid" "$dir/report.json" "$n" "$RATE" "$dur_s" --mode raw --target 127.0.0.1 --ports "$RTP_LOW-$high" --calls "$n" \
		--rate "$RATE" --duration "$DURATION" --metrics-url "$url" --recorder-pid "$rpid" || rc=$?
	stop_pid "$rpid"
	forget_pid "$rpid"
	if ((rc == 0)); then
		jq -c --argjson n "$n" --argjson run "$run" --argjson idle "${idle:-null}" --arg bench "$DATE" --arg commit "$COMMIT" \
			'{bench:$bench, commit:$commit, phase:"raw", n:$n, run:$run, idle_rss_mb:$idle} + .' "$dir/report.json" >>"$OUT"
	fi
	return $rc
}

# ---- aggregation (jq over the results of this invocation) ---------------------
# shellcheck disable=SC2016 # jq programs, not shell expansions
JQ_LIB='
def median: map(select(. != null)) | sort | if length == 0 then null
  elif length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def f($p): if . == null then "-" else (. * pow(10; $p) | round) / pow(10; $p) | tostring end;
def drops: (.kernel_rcvbuf_errors // 0) + (.kernel_in_errors // 0) + (.softnet_dropped // 0);
'
row() { # row N: one markdown table row from this invocation's results
	jq -rs --argjson n "$1" --arg bench "$DATE" "$JQ_LIB"'
	  [.[] | select(.bench == $bench and .n == $n and (.phase == "recorder" or .phase == "raw"))] as $all
	  | [$all[] | select(.phase == "recorder")] as $r | [$all[] | select(.phase == "raw")] as $w
	  | ($r | map(.recorder_cpu_percent) | median) as $cpu
	  | ($r | map(.steady_cpu_percent) | median) as $steady
	  | ($r | map(.recorder_rss_mb) | median) as $rss
	  | ($r | map(if .recorder_rss_mb != null and .idle_rss_mb != null then (.recorder_rss_mb - .idle_rss_mb) * 1024 / $n else null end) | median) as $kb
	  | "| \($n) | \($r | map(.loss_ratio) | median | f(6)) | \($r | map(select(.zero_loss)) | length)/\($r | length)"
	  + " | \($r | map(drops) | median | f(0)) | \($r | map(.calls_failed) | add // "-")"
	  + " | \($cpu | f(1)) / \($steady | f(1)) | \(if ($steady // $cpu) == null then "-" else (($steady // $cpu) / $n | f(3)) end)"
	  + " | \($rss | f(0)) | \($kb | f(0))"
	  + " | \($r | map(.setup_ms_p50) | median | f(1)) / \($r | map(.setup_ms_p99) | median | f(1))"
	  + " | \($r | map(.setup_rate_cps) | median | f(1)) | \($r | map(.searchable_ms_p99) | median | f(1))"
	  + " | \($w | map(.loss_ratio) | median | f(6)) | \($w | map(select(.zero_loss)) | length)/\($w | length)"
	  + " | \($w | map(.recorder_cpu_percent) | median | f(1)) / \($w | map(.steady_cpu_percent) | median | f(1)) |"
	' "$OUT"
}
HEADER='| calls | loss (median) | zero-loss runs | kernel drops (median) | failed calls | recorder CPU % run / steady | CPU %/call | RSS MB | KB/call | setup ms p50 / p99 | setup calls/s | searchable ms p99 | raw loss | raw zero-loss runs | raw reader CPU % run / steady |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|'

# ---- the runs ------------------------------------------------------------------
ROWS=()
for n in $CALLS; do
	for ((run = 1; run <= RUNS; run++)); do
		note "N=$n run $run/$RUNS: recorder"
		recorder_run "$n" "$run" recorder "$RATE" "$dur_s" || note "N=$n run $run: recorder run failed"
		if ((RAW)); then
			note "N=$n run $run/$RUNS: raw reader"
			raw_run "$n" "$run" || note "N=$n run $run: raw run failed"
		fi
	done
	ROWS+=("$(row "$n")")
	note "${ROWS[-1]}"
done
echo "$HEADER"
printf '%s\n' "${ROWS[@]}"
echo

if ((SETUP_CALLS > 0)); then
	for ((run = 1; run <= RUNS; run++)); do
		note "setup rate run $run/$RUNS: $SETUP_CALLS calls offered at $SETUP_RATE/s"
		recorder_run "$SETUP_CALLS" "$run" setup "$SETUP_RATE" 1 || note "setup run $run failed"
	done
	echo "Setup rate: $SETUP_CALLS MSR calls (INVITE pairs) offered at $SETUP_RATE/s, 1 s of audio each, $RUNS run(s)"
	echo
	echo '| answered / attempted (per run) | failed by status | setup calls/s (median) | setup window s | setup ms p50 / p99 (median) |'
	echo '|---|---|---|---|---|'
	jq -rs --arg bench "$DATE" "$JQ_LIB"'
	  [.[] | select(.bench == $bench and .phase == "setup")] as $s
	  | "| \($s | map("\(.calls_answered)/\(.calls_attempted)") | join(", ")) | \($s | map(.failures_by_status | tojson) | join(", "))"
	  + " | \($s | map(.setup_rate_cps) | median | f(1)) | \($s | map(.setup_window_s) | median | f(2))"
	  + " | \($s | map(.setup_ms_p50) | median | f(1)) / \($s | map(.setup_ms_p99) | median | f(1)) |"
	' "$OUT"
	echo
fi

# max zero-loss: the largest N such that it and every smaller N tried had
# all R runs complete and zero_loss (a run whose load failed counts as not
# zero-loss).
maxzero() {
	jq -rs --arg phase "$1" --arg bench "$DATE" --argjson runs "$RUNS" --arg calls "$CALLS" '
	  [.[] | select(.bench == $bench and .phase == $phase)] as $res
	  | [$calls | splits(" +") | select(. != "") | tonumber] | sort
	  | map(. as $n | {n: $n, ok: (([$res[] | select(.n == $n and .zero_loss)] | length) == $runs)})
	  | reduce .[] as $g ({best: 0, broken: false};
	      if .broken then . elif $g.ok then .best = $g.n else .broken = true end) | .best
	' "$OUT"
}
X=$(maxzero recorder)
Y=0
((RAW)) && Y=$(maxzero raw)
top=0
for n in $CALLS; do
	if ((n > top)); then top=$n; fi
done
# A ceiling equal to the largest N tried is only a lower bound; 0 means
# even the smallest N lost packets.
bound() {
	case "$1" in
	0) echo "none (the smallest N tried lost packets)" ;;
	"$top") echo "≥ $1 (the largest N tried)" ;;
	*) echo "$1" ;;
	esac
}
if ((X > 0 && Y > 0)); then
	ratio=$(awk -v x="$X" -v y="$Y" 'BEGIN { printf "%.2f", x / y }')
	if ((X == top && Y == top)); then
		ratio="unknown (both reached the largest N tried)"
	elif ((X == top)); then
		ratio="≥ $ratio"
	elif ((Y == top)); then
		ratio="≤ $ratio"
	fi
else
	ratio="-"
fi
if ((RAW)); then
	echo "max zero-loss calls: recorder $(bound "$X"), raw reader $(bound "$Y"), ratio X/Y $ratio"
else
	echo "max zero-loss calls: recorder $(bound "$X") (raw reader not run)"
fi
[[ "$STEERED" == yes ]] || echo "(RPS was NOT set: kernel receive work ran on the load tool's core)"
echo "Results: $OUT"

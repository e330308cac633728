#!/usr/bin/env bash
# SIP benchmark (OpenCEC issue 3): OPTIONS and REGISTER transactions per second through the
# real `opencec` binary (release build) with SIPp on loopback, side by side with Kamailio 5.6
# answering OPTIONS statelessly, in one run, with the same method for every target.
#
# Method (see README.md): every phase starts a fresh server, runs SIPp for WINDOW seconds and
# measures only the steady state after WARMUP seconds. WARMUP must exceed Timer J (64*T1 =
# 32 s): a UDP non-INVITE server transaction lives that long after its answer, so shorter
# windows never see a stateful server's transaction table at its steady size.
#   1. capacity: closed loop, SIPp keeps CONCURRENCY calls in flight at an unreachable rate;
#      the result is what the pair (SIPp + server) completes per second, in the steady state
#      and, for comparison, in the first 30 s (before Timer J can fire).
#   2. sustained: open loop at SUSTAIN_PCT % of the steady capacity (of a quarter of the
#      first-30-s rate when the steady state collapsed below half of it); it holds when
#      < 0.1 % of calls failed, retransmissions stay under 1 % of calls and SIPp achieves
#      >= 95 % of the rate. If it does not hold, up to twice more at 60 % of the last rate.
# CPU of the server (utime + stime from /proc/<pid>/stat, Kamailio's worker processes summed)
# and of SIPp is sampled over the same steady-state interval; 100 % = one core.
#
# Usage: interop/bench/sip/run.sh            (honours CARGO_TARGET_DIR; 6 to 10 min plus the build)
# Knobs: WINDOW=45 WARMUP=35 CONCURRENCY=1000 SUSTAIN_PCT=90 USERS=1000 KAMAILIO_WORKERS=2
#        OPENCEC_BENCH_LOG=info OUT=<dir>
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
WINDOW=${WINDOW:-45}
WARMUP=${WARMUP:-35}
CONCURRENCY=${CONCURRENCY:-1000}
SUSTAIN_PCT=${SUSTAIN_PCT:-90}
USERS=${USERS:-1000}
KAMAILIO_WORKERS=${KAMAILIO_WORKERS:-2}
OPENCEC_BENCH_LOG=${OPENCEC_BENCH_LOG:-info}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/opencec-sipbench.XXXXXX")}
mkdir -p "$OUT"
[ "$WARMUP" -lt $((WINDOW - 5)) ] || { echo "run.sh: need WARMUP < WINDOW - 5" >&2; exit 1; }
clk_tck=$(getconf CLK_TCK)

started_pids=()
cleanup() {
  # Only the processes this script started, by PID.
  local pid
  for pid in "${started_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${started_pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
log() { printf '%s\n' "$*" >&2; }

stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

# --- tools ------------------------------------------------------------------------------
command -v sipp >/dev/null || { log "run.sh: needs sipp (apt-get install sip-tester)"; exit 1; }
command -v python3 >/dev/null || { log "run.sh: needs python3"; exit 1; }
if ! command -v kamailio >/dev/null; then
  # Installed only; this script never enables or starts its system service.
  log "run.sh: installing kamailio"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq kamailio >/dev/null
fi

log "run.sh: building opencec (release)"
(cd "$root" && cargo build --release -p opencec)
opencec=${CARGO_TARGET_DIR:-$root/target}/release/opencec

free_udp_port() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# CPU ticks (utime + stime) of the given PIDs and their direct children.
cpu_ticks() {
  local total=0 pid child stat rest
  local pids=("$@")
  for pid in "$@"; do
    for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do pids+=("$child"); done
  done
  for pid in "${pids[@]}"; do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    rest=${stat##*) } # from field 3 on; the command name may hold spaces
    read -r -a f <<<"$rest"
    total=$((total + f[11] + f[12])) # fields 14 (utime) and 15 (stime)
  done
  echo "$total"
}

udp_rcvbuf_errors() { awk '/^Udp: [0-9]/ { print $6 }' /proc/net/snmp; }

# --- servers ----------------------------------------------------------------------------
oc_dir=$OUT/opencec
mkdir -p "$oc_dir"
{
  printf '[sip]\nlisten = ["udp:127.0.0.1:0"]\ndigest_algorithms = ["MD5"]\n'
  printf 'rate_limit_per_source = 100000000\nmax_expires = 3600\nmax_transactions = 2000000\n'
  printf '[[sip.trunks]]\nname = "bench"\naddress = "127.0.0.1:5060"\n'
  printf 'allow_from = ["127.0.0.1"]\nprobe_interval_s = 0\n'
  for i in $(seq "$USERS"); do
    printf '[[sip.users]]\nuser = "u%d"\npassword = "pw-%d"\n' "$i" "$i"
  done
} >"$oc_dir/opencec.toml"
{
  echo SEQUENTIAL
  for i in $(seq "$USERS"); do echo "u$i;[authentication username=u$i password=pw-$i]"; done
} >"$OUT/users.csv"

# Sets server_pid and server_addr.
start_opencec() {
  local log_file=$oc_dir/opencec-$1.log
  OPENCEC_LOG=$OPENCEC_BENCH_LOG OPENCEC_HTTP__LISTEN=127.0.0.1:0 \
    "$opencec" serve --config "$oc_dir/opencec.toml" --data-dir "$oc_dir/data" \
    >/dev/null 2>"$log_file" &
  server_pid=$!
  started_pids+=("$server_pid")
  for _ in $(seq 100); do grep -q 'ready;' "$log_file" 2>/dev/null && break; sleep 0.1; done
  server_addr=$(grep -o 'transport=UDP addr=[0-9.:]*' "$log_file" | head -1 | cut -d= -f3)
  [ -n "$server_addr" ] || { log "opencec did not start:"; cat "$log_file" >&2; exit 1; }
}

start_kamailio() {
  local dir=$OUT/kamailio-$1 port
  mkdir -p "$dir"
  port=$(free_udp_port)
  kamailio -DD -E -f "$here/kamailio.cfg" -l "udp:127.0.0.1:$port" -n "$KAMAILIO_WORKERS" \
    -m 64 -M 8 -w "$dir" -P "$dir/kamailio.pid" >"$dir/kamailio.log" 2>&1 &
  server_pid=$!
  started_pids+=("$server_pid")
  server_addr=127.0.0.1:$port
  for _ in $(seq 100); do grep -q 'Listening on' "$dir/kamailio.log" 2>/dev/null && break; sleep 0.1; done
  sleep 1 # the workers fork after the banner
  kill -0 "$server_pid" 2>/dev/null || { log "kamailio did not start:"; cat "$dir/kamailio.log" >&2; exit 1; }
}

# --- one phase --------------------------------------------------------------------------
# phase DIR TARGET SERVER_PID SCENARIO RATE LIMIT [sipp args...]
# Sets `result`: achieved/s ok failed retrans window_ok window_failed window_retrans server_cpu%
#         sipp_cpu% rcvbuf_errors achieved/s_in_2..30s
phase() {
  local dir=$1 target=$2 pid=$3 scenario=$4 rate=$5 limit=$6
  shift 6
  mkdir -p "$dir"
  local calls=$((rate * WINDOW)) sipp_pid s0 s1 p0 p1 t0 t1 e0 e1
  e0=$(udp_rcvbuf_errors)
  (cd "$dir" && exec sipp "$target" -sf "$here/$scenario" -t u1 -i 127.0.0.1 -nostdin \
    -m "$calls" -r "$rate" -rp 1000 -l "$limit" -timeout "${WINDOW}s" -buff_size 4194304 \
    -trace_stat -stf stat.csv -fd 1 "$@" >sipp.out 2>sipp.err) &
  sipp_pid=$!
  started_pids+=("$sipp_pid")
  sleep "$WARMUP"
  s0=$(cpu_ticks "$pid"); p0=$(cpu_ticks "$sipp_pid"); t0=$(date +%s.%N)
  sleep $((WINDOW - WARMUP - 2))
  s1=$(cpu_ticks "$pid"); p1=$(cpu_ticks "$sipp_pid"); t1=$(date +%s.%N)
  for _ in $(seq 300); do kill -0 "$sipp_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$sipp_pid" 2>/dev/null || true
  wait "$sipp_pid" 2>/dev/null || true
  e1=$(udp_rcvbuf_errors)
  python3 - "$dir/stat.csv" "$WARMUP" "$WINDOW" "$t0" "$t1" "$((s1 - s0))" "$((p1 - p0))" "$clk_tck" \
    "$((e1 - e0))" >"$dir/result.txt" <<'PY'
import csv, sys
path, warmup, window = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
t0, t1, server_ticks, sipp_ticks, hz, rcvbuf = (float(a) for a in sys.argv[4:10])
try:
    rows = list(csv.reader(open(path), delimiter=";"))
    head, rows = rows[0], [r for r in rows[1:] if len(r) >= len(rows[0]) - 1]
except (OSError, IndexError):
    print("0 0 0 0 0 0 0 0 0 0 0")
    sys.exit(0)
col = lambda row, name: row[head.index(name)]
epoch = lambda row, name: float(col(row, name).split("\t")[-1])
count = lambda row, name: int(col(row, name))
start = epoch(rows[0], "StartTime")
elapsed = lambda row: epoch(row, "CurrentTime") - start
# Up to 2 s before the end, as the CPU samples: SIPp's last rows cover its wind-down.
steady = [r for r in rows if warmup <= elapsed(r) <= window - 2]
# Before Timer J (32 s) can fire: from 2 s to 30 s.
early = [r for r in rows if 2 <= elapsed(r) <= 30]
early_rate = 0.0
if len(early) >= 2 and elapsed(early[-1]) > elapsed(early[0]):
    early_rate = (count(early[-1], "SuccessfulCall(C)") - count(early[0], "SuccessfulCall(C)")) / (
        elapsed(early[-1]) - elapsed(early[0]))
first = steady[0] if steady else rows[-1]
final = steady[-1] if steady else rows[-1]
last = rows[-1]
span = epoch(final, "CurrentTime") - epoch(first, "CurrentTime")
delta = lambda name: count(final, name) - count(first, name)
achieved = delta("SuccessfulCall(C)") / span if span > 0 else 0.0
wall = t1 - t0
print(
    f"{achieved:.0f} {count(last, 'SuccessfulCall(C)')} {count(last, 'FailedCall(C)')} "
    f"{count(last, 'Retransmissions(C)')} {delta('SuccessfulCall(C)')} {delta('FailedCall(C)')} "
    f"{delta('Retransmissions(C)')} {100 * server_ticks / hz / wall:.0f} "
    f"{100 * sipp_ticks / hz / wall:.0f} {rcvbuf:.0f} {early_rate:.0f}"
)
PY
  result=$(cat "$dir/result.txt")
}

table_header() {
  printf '| target | mode | asked/s | achieved/s 2-30 s | achieved/s steady | transactions/s steady | calls ok | failed | retrans | server CPU %% | SIPp CPU %% | UDP rcvbuf drops | holds |\n'
  printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
}

# target NAME TX_PER_CALL STARTER SCENARIO [sipp args...]: capacity, then up to three
# open-loop rates. Appends rows to results.md; sets `summary` to "early_capacity
# steady_capacity sustained_rate server_cpu sipp_cpu" (sustained_rate 0: none held). No
# command substitution around it: the servers it starts must stay in `started_pids` for the
# exit trap.
target() {
  local name=$1 tx=$2 starter=$3 scenario=$4
  shift 4
  local early capacity base rate holds=0 best_cpu=0 best_sipp=0 attempt
  local a ok f rt wok wf wrt sc pc rb e
  "$starter" "$name-capacity"
  log "run.sh: $name capacity (closed loop, $CONCURRENCY in flight) against $server_addr"
  phase "$OUT/$name-capacity" "$server_addr" "$server_pid" "$scenario" 100000 \
    "$CONCURRENCY" "$@"
  stop_pid "$server_pid"
  read -r a ok f rt wok wf wrt sc pc rb e <<<"$result"
  log "  steady=$a/s early=$e/s ok=$ok failed=$f retrans=$rt server_cpu=$sc% sipp_cpu=$pc% rcvbuf_drops=$rb"
  printf '| %s | closed loop, %s in flight | - | %s | %s | %s | %s | %s | %s | %s | %s | %s | - |\n' \
    "$name" "$CONCURRENCY" "$e" "$a" $((a * tx)) "$ok" "$f" "$rt" "$sc" "$pc" "$rb" >>"$OUT/results.md"
  early=$e
  capacity=$a
  # A steady state far below the first 30 s is a collapse: search from a quarter of the
  # early rate instead.
  base=$capacity
  [ $((capacity * 2)) -ge "$early" ] || base=$((early / 4))
  rate=$((base * SUSTAIN_PCT / 100))
  for attempt in 1 2 3; do
    [ "$rate" -gt 0 ] || break
    "$starter" "$name-sustained-$rate"
    log "run.sh: $name open loop at $rate/s"
    phase "$OUT/$name-sustained-$rate" "$server_addr" "$server_pid" "$scenario" \
      "$rate" $((rate * 4)) "$@"
    stop_pid "$server_pid"
    read -r a ok f rt wok wf wrt sc pc rb e <<<"$result"
    holds=0
    if [ "$ok" -gt 0 ] && [ $((f * 1000)) -lt $((ok + f)) ] && [ $((rt * 100)) -lt $((ok + f)) ] &&
      [ $((a * 100)) -ge $((rate * 95)) ]; then
      holds=1
    fi
    log "  steady=$a/s early=$e/s ok=$ok failed=$f retrans=$rt server_cpu=$sc% sipp_cpu=$pc% rcvbuf_drops=$rb holds=$holds"
    printf '| %s | open loop | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
      "$name" "$rate" "$e" "$a" $((a * tx)) "$ok" "$f" "$rt" "$sc" "$pc" "$rb" \
      "$([ $holds = 1 ] && echo yes || echo no)" >>"$OUT/results.md"
    if [ $holds = 1 ]; then best_cpu=$sc; best_sipp=$pc; break; fi
    rate=$((rate * 6 / 10))
  done
  [ $holds = 1 ] || rate=0
  summary="$early $capacity $rate $best_cpu $best_sipp"
}

{
  echo "# SIP benchmark run $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')),"
  echo "$(uname -sr); SIPp $(sipp -v 2>&1 | grep -o 'v[0-9.]*' | head -1); $(kamailio -v | head -1 | cut -d' ' -f2-3)"
  echo "with $KAMAILIO_WORKERS UDP workers; opencec release, OPENCEC_LOG=$OPENCEC_BENCH_LOG, $USERS users."
  echo "UDP on loopback, SIPp on the same box. Each phase: fresh server, ${WINDOW}s of traffic,"
  echo "figures over the steady state after ${WARMUP}s."
  echo "Load average before the run (other work on the box skews the figures): $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  table_header
} >"$OUT/results.md"

target opencec-options 1 start_opencec options.xml
oc_options=$summary
target kamailio-options 1 start_kamailio options.xml
km_options=$summary
target opencec-register 2 start_opencec register.xml -inf "$OUT/users.csv"
oc_register=$summary

read -r oc_o_early oc_o_cap oc_o_rate oc_o_cpu oc_o_sipp <<<"$oc_options"
read -r km_o_early km_o_cap km_o_rate km_o_cpu km_o_sipp <<<"$km_options"
read -r oc_r_early oc_r_cap oc_r_rate oc_r_cpu oc_r_sipp <<<"$oc_register"
ratio() { python3 -c "print(f'{$1 / $2:.2f}' if $2 else 'n/a')"; }
{
  echo
  echo "## Summary (transactions/s; a REGISTER call is 2 transactions, 401 + 200)"
  echo
  echo "| target | closed loop, 2-30 s | closed loop, steady | open loop, highest rate that held | server CPU % there | SIPp CPU % there |"
  echo "|---|---|---|---|---|---|"
  echo "| opencec OPTIONS | $oc_o_early | $oc_o_cap | $oc_o_rate | $oc_o_cpu | $oc_o_sipp |"
  echo "| opencec REGISTER | $((oc_r_early * 2)) ($oc_r_early reg/s) | $((oc_r_cap * 2)) ($oc_r_cap reg/s) | $((oc_r_rate * 2)) ($oc_r_rate reg/s) | $oc_r_cpu | $oc_r_sipp |"
  echo "| Kamailio OPTIONS | $km_o_early | $km_o_cap | $km_o_rate | $km_o_cpu | $km_o_sipp |"
  echo
  echo "opencec / Kamailio, OPTIONS: first 30 s $(ratio "$oc_o_early" "$km_o_early"), steady closed loop $(ratio "$oc_o_cap" "$km_o_cap"), open loop held $(ratio "$oc_o_rate" "$km_o_rate")."
  echo "Load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)."
} >>"$OUT/results.md"
cat "$OUT/results.md"

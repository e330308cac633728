#!/usr/bin/env bash
# Configuration-read benchmark (not a test): HTTP requests per second that `opencec serve
# --demo` (release build) answers on loopback under wrk, on SQLite and on PostgreSQL, for
#   healthz  GET /healthz                                   (no database: the baseline)
#   agent    GET /api/v1/tenants/demo/agents/1001           (one agent by work number)
#   list     GET /api/v1/tenants/demo/agents                (the tenant's agents, one page)
# Every request carries the same bearer token (also /healthz, which ignores it, so the
# request bytes are alike). Per endpoint: WARMUP s of wrk, then DURATION s measured with
# `wrk --latency`; server CPU is utime + stime from /proc/<pid>/stat over the measured run
# (all threads; 1.00 = one core), PostgreSQL's CPU (postmaster and its backends) likewise,
# wrk's own CPU from the waited-for child times of the shell that ran it.
#
# Usage: interop/bench/api/run.sh              (honours CARGO_TARGET_DIR; 2.5 min after
#                                               the build; results: $OUT/results.md)
# Knobs: DURATION=20 WARMUP=3 THREADS=2 CONNECTIONS=32 BACKENDS="sqlite postgres"
#        OPENCEC=<binary, skips the build> OUT=<dir> KEEP_DATA=0
# Needs python3 and curl; installs wrk (Debian package) when missing; PostgreSQL's initdb and
# postgres from PATH or /usr/lib/postgresql/*/bin. As root the cluster runs as `postgres`.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-3}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
BACKENDS=${BACKENDS:-sqlite postgres}
KEEP_DATA=${KEEP_DATA:-0}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/opencec-apibench.XXXXXX")}
mkdir -p "$OUT"
clk_tck=$(getconf CLK_TCK)
log() { printf '%s\n' "$*" >&2; }
die() { log "run.sh: $*"; exit 1; }

# The server reads OPENCEC_<SECTION>__<KEY> overrides; measure the defaults plus ours only.
while read -r name; do unset "$name"; done < <(compgen -e | grep '^OPENCEC_.*__' || true)

# --- cleanup: only what this script started, by PID ----------------------------------------
server_pid=""     # the running opencec (our child)
pg_wrapper_pid="" # our child that runs postgres (runuser as root, postgres itself otherwise)
pg_root=""        # the throwaway cluster's directory (its postmaster.pid names our server)
stop_pid() {
  local pid=$1 signal=${2:-TERM}
  kill -"$signal" "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
# Stops our child and reaps it, so its PID is never signalled again once it may be reused.
stop_child() {
  [ -n "$1" ] || return 0
  stop_pid "$1"
  wait "$1" 2>/dev/null || true
}
postmaster_pid() {
  [ -n "$pg_root" ] && [ -r "$pg_root/data/postmaster.pid" ] && head -1 "$pg_root/data/postmaster.pid"
}
stop_postgres() {
  local pid
  # SIGINT: fast shutdown (SIGTERM would wait for clients). postgres removes postmaster.pid
  # when it stops, so a second call signals nothing.
  if pid=$(postmaster_pid) && [ -n "$pid" ]; then stop_pid "$pid" INT; fi
  stop_child "$pg_wrapper_pid"
  pg_wrapper_pid=""
}
cleanup() {
  stop_child "$server_pid"
  server_pid=""
  stop_postgres
  if [ "$KEEP_DATA" = 0 ]; then
    [ -z "$pg_root" ] || rm -rf "$pg_root"
    rm -rf "$OUT"/*/data
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools --------------------------------------------------------------------------------
command -v python3 >/dev/null || die "needs python3"
command -v curl >/dev/null || die "needs curl"
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
if ! command -v wrk >/dev/null; then
  log "run.sh: installing wrk"
  export DEBIAN_FRONTEND=noninteractive
  timeout 120 "${sudo[@]}" apt-get update -qq >/dev/null
  timeout 120 "${sudo[@]}" apt-get install -y -qq wrk >/dev/null
  command -v wrk >/dev/null || die "wrk did not install"
fi

if [ -n "${OPENCEC:-}" ]; then
  opencec=$OPENCEC
else
  log "run.sh: building opencec (release)"
  (cd "$root" && cargo build --release -p opencec)
  opencec=${CARGO_TARGET_DIR:-$root/target}/release/opencec
fi
[ -x "$opencec" ] || die "no opencec binary at $opencec"

free_tcp_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# utime + stime ticks of the given PIDs and their direct children (postgres backends).
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

# Busy ticks of the whole machine (every CPU): all of /proc/stat's first line but idle and
# iowait. Minus ours, it is what other work on the box took during a run.
machine_busy_ticks() {
  local label user nice system idle iowait irq softirq steal
  read -r label user nice system idle iowait irq softirq steal _ </proc/stat
  echo $((user + nice + system + irq + softirq + steal))
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# --- PostgreSQL: a throwaway cluster on a free loopback port ------------------------------
pg_bin_dir() {
  local dir
  if command -v initdb >/dev/null && command -v postgres >/dev/null; then
    dirname "$(readlink -f "$(command -v postgres)")"
    return
  fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ] && { echo "$dir"; return; }
  done
  return 1
}

# Sets pg_port and pg_version; the server runs until stop_postgres.
start_postgres() {
  local bin run_as=() port_ok=0
  bin=$(pg_bin_dir) || die "PostgreSQL (initdb, postgres) not found"
  pg_version=$("$bin/postgres" --version | awk '{ print $3 }')
  pg_root=$(mktemp -d "${TMPDIR:-/tmp}/opencec-apibench-pg.XXXXXX")
  mkdir -p "$pg_root/sock"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root needs a postgres system user"
    chown -R postgres: "$pg_root"
    run_as=(runuser -u postgres --)
  fi
  (cd "$pg_root" && LC_ALL=C timeout 120 "${run_as[@]}" "$bin/initdb" -D "$pg_root/data" \
    --auth=trust --username=postgres --encoding=UTF8 --locale=C --no-sync \
    >"$pg_root/initdb.log" 2>&1) || { cat "$pg_root/initdb.log" >&2; die "initdb failed"; }
  pg_port=$(free_tcp_port)
  # Durability settings as shipped: this measures reads, and a configuration database in
  # production keeps fsync on.
  (cd "$pg_root" && exec "${run_as[@]}" "$bin/postgres" -D "$pg_root/data" \
    -c listen_addresses=127.0.0.1 -c port="$pg_port" \
    -c unix_socket_directories="$pg_root/sock" >"$pg_root/postgres.log" 2>&1) &
  pg_wrapper_pid=$!
  for _ in $(seq 300); do
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -t 1 2>/dev/null; then
      port_ok=1
      break
    fi
    kill -0 "$pg_wrapper_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ "$port_ok" = 1 ] || { cat "$pg_root/postgres.log" >&2; die "postgres did not start"; }
}

# --- opencec ------------------------------------------------------------------------------
# start_opencec NAME [VAR=value...]: sets server_pid, base_url, token.
start_opencec() {
  local name=$1 dir port code
  shift
  dir=$OUT/$name
  mkdir -p "$dir/data"
  port=$(free_tcp_port)
  env OPENCEC_LOG=warn OPENCEC_HTTP__LISTEN="127.0.0.1:$port" \
    OPENCEC_SIP__LISTEN='["udp:127.0.0.1:0"]' "$@" \
    "$opencec" serve --demo --data-dir "$dir/data" >"$dir/stdout.log" 2>"$dir/opencec.log" &
  server_pid=$!
  base_url=http://127.0.0.1:$port
  code=000
  for _ in $(seq 600); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$base_url/readyz" || true)
    [ "$code" = 200 ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ "$code" = 200 ] || { cat "$dir/opencec.log" >&2; die "opencec ($name) not ready (readyz $code)"; }
  token=$(python3 - "$dir/data/demo-credentials.json" "$base_url/api/v1/auth/token" <<'PY'
import json, sys, urllib.request
creds = json.load(open(sys.argv[1]))
body = json.dumps({"access_key": creds["access_key"], "secret": creds["secret"]}).encode()
req = urllib.request.Request(sys.argv[2], data=body, headers={"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(req, timeout=10))["token"])
PY
  ) || die "no token from $base_url"
}

# --- one measured run ---------------------------------------------------------------------
# measure BACKEND ENDPOINT PATH DB_PID: appends a row to $OUT/rows.tsv
measure() {
  local backend=$1 endpoint=$2 path=$3 db_pid=$4
  local url=$base_url$path file=$OUT/$backend/wrk-$endpoint.txt code s0 s1 d0=0 d1=0 m0 m1 t0 t1 w
  local auth=(-H "Authorization: Bearer $token")
  code=$(curl -s -o "$OUT/$backend/sample-$endpoint.json" -w '%{http_code}' --max-time 5 \
    "${auth[@]}" "$url" || true)
  [ "$code" = 200 ] || die "$backend $endpoint: GET $path answered $code"
  log "run.sh: $backend $endpoint: warm-up ${WARMUP}s, then ${DURATION}s"
  timeout $((WARMUP + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "${auth[@]}" "$url" \
    >/dev/null || die "wrk warm-up failed"
  s0=$(cpu_ticks "$server_pid")
  [ -z "$db_pid" ] || d0=$(cpu_ticks "$db_pid")
  m0=$(machine_busy_ticks)
  t0=$(date +%s.%N)
  # The shell around wrk reports its waited-for children's CPU (fields 16 and 17, cutime and
  # cstime): wrk's whole run, timeout's negligible share included.
  w=$(
    timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
      "${auth[@]}" "$url" >"$file" || exit 1
    read -r stat <"/proc/$BASHPID/stat" # a builtin: no fork, so $BASHPID is wrk's parent
    rest=${stat##*) }
    read -r -a f <<<"$rest"
    echo $((f[13] + f[14]))
  ) || die "wrk failed on $url"
  t1=$(date +%s.%N)
  s1=$(cpu_ticks "$server_pid")
  [ -z "$db_pid" ] || d1=$(cpu_ticks "$db_pid")
  m1=$(machine_busy_ticks)
  python3 - "$file" "$backend" "$endpoint" "$t0" "$t1" "$((s1 - s0))" "$((d1 - d0))" "$w" \
    "$clk_tck" "$(rss_kib "$server_pid")" "$((m1 - m0))" "${db_pid:+yes}" >>"$OUT/rows.tsv" <<'PY'
import re, sys
path, backend, endpoint = sys.argv[1:4]
t0, t1, server, db, wrk, hz, rss, machine = (float(a) for a in sys.argv[4:12])
has_db = sys.argv[12] == "yes"
text = open(path).read()
unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}
def latency(pct):
    m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    return float(m.group(1)) * unit[m.group(2)] if m else float("nan")
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
wall = t1 - t0
cores = server / hz / wall
print("\t".join(str(v) for v in [
    backend, endpoint, f"{rps:.0f}", f"{latency(50):.2f}", f"{latency(99):.2f}",
    f"{cores:.2f}", f"{rps / cores:.0f}" if cores > 0 else "n/a",
    f"{db / hz / wall:.2f}" if has_db else "-", f"{wrk / hz / wall:.2f}",
    f"{rss / 1024:.0f}", (int(non2xx.group(1)) if non2xx else 0) + errors,
    f"{max(0.0, (machine - server - db - wrk) / hz / wall):.2f}",
]))
PY
}

endpoints=(
  "healthz /healthz"
  "agent /api/v1/tenants/demo/agents/1001"
  "list /api/v1/tenants/demo/agents"
)
run_backend() {
  local backend=$1 db_pid="" extra=()
  if [ "$backend" = postgres ]; then
    start_postgres
    db_pid=$(postmaster_pid)
    extra=("OPENCEC_DATABASE__URL=postgres://postgres@127.0.0.1:$pg_port/postgres")
    log "run.sh: PostgreSQL $pg_version on 127.0.0.1:$pg_port (postmaster $db_pid)"
  fi
  start_opencec "$backend" "${extra[@]}"
  log "run.sh: opencec on $backend at $base_url (pid $server_pid)"
  local e
  for e in "${endpoints[@]}"; do
    # shellcheck disable=SC2086 # two words: name and path
    measure "$backend" $e "$db_pid"
  done
  stop_child "$server_pid"
  server_pid=""
  [ "$backend" != postgres ] || stop_postgres
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$OUT/rows.tsv"
for backend in $BACKENDS; do
  case $backend in
    sqlite | postgres) run_backend "$backend" ;;
    *) die "unknown backend $backend (sqlite, postgres)" ;;
  esac
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

{
  echo "# Configuration-read benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(uname -sr);"
  echo "opencec at commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?') (working tree may differ), binary $opencec, OPENCEC_LOG=warn;"
  echo "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-3) -t$THREADS -c$CONNECTIONS, ${WARMUP}s warm-up + ${DURATION}s per row, server and wrk on the same cores;"
  echo "PostgreSQL ${pg_version:-not run} (throwaway cluster, stock settings). Load average before/after: $load_before / $load_after."
  echo
  echo "| backend | endpoint | req/s | p50 ms | p99 ms | server CPU (cores) | req per server-core-s | PostgreSQL CPU (cores) | wrk CPU (cores) | server RSS MiB | non-2xx + socket errors | other work on the box (cores) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  awk -F'\t' '{ out = "|"; for (i = 1; i <= NF; i++) out = out " " $i " |"; print out }' "$OUT/rows.tsv"
  echo
  python3 - "$OUT/rows.tsv" <<'PY'
import sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
by = {(r[0], r[1]): r for r in rows}
for backend in dict.fromkeys(r[0] for r in rows):
    health, agent, lst = (by.get((backend, e)) for e in ("healthz", "agent", "list"))
    if not (health and agent):
        continue
    def ratio(a, b, i):
        try:
            return f"{float(a[i]) / float(b[i]):.2f}"
        except (ValueError, ZeroDivisionError):
            return "n/a"
    line = f"- {backend}: agent lookup / healthz = {ratio(agent, health, 2)} (req/s)"
    line += f", {ratio(agent, health, 6)} (req per server-core-s)"
    if lst:
        line += f"; list / healthz = {ratio(lst, health, 2)} (req/s)"
    print(line)
PY
} >"$OUT/results.md"
cat "$OUT/results.md"
log "run.sh: results and logs in $OUT"

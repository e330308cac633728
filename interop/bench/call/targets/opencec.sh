#!/usr/bin/env bash
# Prepare step of the call-path benchmark (interop/bench/call) for opencec. The contract every
# target script follows is in ../README.md ("Adding a target"); in short:
#
#   targets/<name>.sh setup STATE          once per run (build, persistent state in STATE)
#   targets/<name>.sh start STATE PHASE    start a fresh server for one phase; write
#                                          PHASE/target.env (SIP_TARGET, ACCESS_NUMBER,
#                                          AGENTS_FILE, PIDS); AGENTS accounts must exist
#   targets/<name>.sh ready STATE PHASE    the agents have registered: make them take calls
#   targets/<name>.sh stop STATE PHASE     stop what `start` started, by PID
#
# Environment from run.sh: AGENTS (accounts needed), MEDIA (rtp | none: signalling only, the
# server must not release calls for want of RTP).
# opencec specifics: `opencec serve --demo` on free loopback ports (SIP UDP, HTTP; RTP from
# OPENCEC_BENCH_RTP_PORTS), bench agents 20001.. (work number = SIP user, skill `support`)
# created once through the API in STATE's data dir, trunk/tenant/queue limits raised (the
# tenant's with the platform key of admin-credentials.json), queue wrap-up 0; every phase
# re-registers (bindings live in memory) and signs the agents in.
# Knobs: OPENCEC=<binary> (skips the build), OPENCEC_BENCH_LOG=warn,
# OPENCEC_BENCH_RTP_PORTS=20000-29999.
set -euo pipefail

cmd=${1:?usage: opencec.sh setup|start|ready|stop STATE [PHASE]}
state=${2:?state dir}
phase=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
AGENTS=${AGENTS:-1200}
MEDIA=${MEDIA:-rtp}
OPENCEC_BENCH_LOG=${OPENCEC_BENCH_LOG:-warn}
OPENCEC_BENCH_RTP_PORTS=${OPENCEC_BENCH_RTP_PORTS:-20000-29999}
log() { printf 'opencec.sh: %s\n' "$*" >&2; }

binary() {
  if [ -n "${OPENCEC:-}" ]; then echo "$OPENCEC"; else echo "${CARGO_TARGET_DIR:-$root/target}/release/opencec"; fi
}

free_udp_port() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
free_tcp_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# api.py-like helper, inline: one keep-alive HTTP connection for many requests.
# api ACTION HTTP_ADDR DATA_DIR [args]
api() {
  python3 - "$@" <<'PY'
import http.client, json, sys, time

action, addr, data_dir = sys.argv[1:4]
host, port = addr.rsplit(":", 1)
creds = json.load(open(f"{data_dir}/demo-credentials.json"))
conn = http.client.HTTPConnection(host, int(port), timeout=30)

def call(method, path, body=None, token=None, ok=(200, 201, 204)):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    payload = None if body is None else json.dumps(body)
    for attempt in range(3):
        try:
            conn.request(method, path, body=payload, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode()
            break
        except (http.client.HTTPException, OSError):
            conn.close()
            if attempt == 2:
                raise
            time.sleep(0.2)
    if resp.status not in ok:
        raise SystemExit(f"opencec.sh: {method} {path} -> {resp.status} {text}")
    return resp.status, (json.loads(text) if text.strip() else None)

_, tok = call("POST", "/api/v1/auth/token",
              {"access_key": creds["access_key"], "secret": creds["secret"]})
token = tok.get("token") or tok.get("access_token")
if not token:
    raise SystemExit(f"opencec.sh: no token in {tok}")
T = "/api/v1/tenants/demo"

def work_no(i):
    return str(20000 + i)

def password(i):
    return f"Bench-pw-{i:05d}"

if action == "provision":
    agents = int(sys.argv[4])
    # Tenant limits: a replace (PUT) with the platform key of <data dir>/admin-credentials.json.
    admin = json.load(open(f"{data_dir}/admin-credentials.json"))
    _, tok = call("POST", "/api/v1/auth/token",
                  {"access_key": admin["access_key"], "secret": admin["secret"]})
    _, tenant = call("GET", T, token=token)
    spec = {k: v for k, v in tenant.items() if k in ("name", "display_name", "time_zone")}
    spec["limits"] = {"max_agents": 100000, "max_concurrent_calls": 100000, "max_cps": 10000}
    if "version" in tenant:
        spec["version"] = tenant["version"]
    call("PUT", T, spec, tok["token"])
    call("PATCH", f"{T}/trunks/demo-trunk",
         {"max_concurrent_calls": 100000, "max_cps": 10000}, token)
    call("PATCH", f"{T}/skill-queues/support",
         {"max_waiting_calls": 10000, "wrap_up_time_s": 0}, token)
    created = 0
    for i in range(1, agents + 1):
        status, _ = call("GET", f"{T}/agents/{work_no(i)}", token=token, ok=(200, 404))
        if status == 404:
            call("POST", f"{T}/agents", {
                "work_no": work_no(i), "name": f"Bench agent {i}", "sip_user": work_no(i),
                "skills": [{"queue": "support"}], "sip_password": password(i),
            }, token)
            created += 1
    print(f"opencec.sh: {agents} bench agents ({created} created)", file=sys.stderr)
    # A sign-in of an agent the call core does not know yet makes it reload the
    # configuration (and the registrar its credentials) before the phones register.
    call("POST", f"{T}/agents/{work_no(agents)}/sign-in", {"state": "idle"}, token,
         ok=(200, 201, 204, 409, 422))
    call("POST", f"{T}/agents/{work_no(agents)}/sign-out", {}, token,
         ok=(200, 201, 204, 409, 422))
    with open(sys.argv[5], "w") as out:
        for i in range(1, agents + 1):
            out.write(f"{work_no(i)};{password(i)}\n")
elif action == "sign-in":
    agents = int(sys.argv[4])
    failed = []
    for i in range(1, agents + 1):
        status, body = call("POST", f"{T}/agents/{work_no(i)}/sign-in", {"state": "idle"},
                            token, ok=(200, 201, 204, 409, 422))
        if status >= 400:
            failed.append((work_no(i), status, body))
    if failed:
        print(f"opencec.sh: {len(failed)} sign-ins refused, first: {failed[0]}", file=sys.stderr)
    print(f"opencec.sh: {agents - len(failed)} agents signed in", file=sys.stderr)
else:
    raise SystemExit(f"opencec.sh: unknown api action {action}")
PY
}

case $cmd in
setup)
  mkdir -p "$state"
  if [ -z "${OPENCEC:-}" ]; then
    log "building opencec (release)"
    (cd "$root" && cargo build --release -p opencec >&2)
  fi
  [ -x "$(binary)" ] || { log "no binary at $(binary)"; exit 1; }
  # Agents register with MD5 (SIPp computes no other); the per-source limit is a flood
  # guard that SIPp's single address would trip; max_expires: registrations outlive a phase.
  cat >"$state/opencec.toml" <<EOF
[sip]
listen = ["udp:127.0.0.1:5060"]
digest_algorithms = ["MD5"]
rate_limit_per_source = 100000000
max_expires = 7200
max_transactions = 2000000
[media]
rtp_ports = "$OPENCEC_BENCH_RTP_PORTS"
[http]
listen = "127.0.0.1:8080"
EOF
  ;;
start)
  [ -n "$phase" ] || { log "start needs a phase dir"; exit 1; }
  mkdir -p "$phase" "$state/data"
  sip_port=$(free_udp_port)
  http_port=$(free_tcp_port)
  extra=()
  # Signalling only: nobody sends RTP, so the no-RTP release must not fire.
  [ "$MEDIA" = rtp ] || extra=(OPENCEC_MEDIA__RTP_TIMEOUT_S=3600)
  env OPENCEC_LOG="$OPENCEC_BENCH_LOG" OPENCEC_SIP__LISTEN="[\"udp:127.0.0.1:$sip_port\"]" \
    OPENCEC_HTTP__LISTEN="127.0.0.1:$http_port" "${extra[@]}" \
    "$(binary)" serve --demo --config "$state/opencec.toml" --data-dir "$state/data" \
    >"$phase/opencec.stdout" 2>"$phase/opencec.log" &
  pid=$!
  echo "$pid" >"$phase/opencec.pid"
  for _ in $(seq 150); do
    curl -fsS "http://127.0.0.1:$http_port/readyz" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if ! curl -fsS "http://127.0.0.1:$http_port/readyz" >/dev/null 2>&1; then
    log "opencec did not become ready (log: $phase/opencec.log):"
    tail -20 "$phase/opencec.log" >&2
    exit 1
  fi
  api provision "127.0.0.1:$http_port" "$state/data" "$AGENTS" "$phase/agents.csv"
  cat >"$phase/target.env" <<EOF
SIP_TARGET=127.0.0.1:$sip_port
ACCESS_NUMBER=4001
AGENTS_FILE=$phase/agents.csv
PIDS=$pid
HTTP=127.0.0.1:$http_port
EOF
  ;;
ready)
  # shellcheck disable=SC1091
  . "$phase/target.env"
  api sign-in "$HTTP" "$state/data" "$AGENTS"
  ;;
stop)
  pid=$(cat "$phase/opencec.pid" 2>/dev/null || true)
  [ -n "$pid" ] || exit 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
  log "opencec (pid $pid) ignored SIGTERM for 10 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  ;;
*)
  log "unknown command $cmd"
  exit 1
  ;;
esac

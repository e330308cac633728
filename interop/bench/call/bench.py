#!/usr/bin/env python3
"""Call-path benchmark core (run.sh runs it; method and knobs in README.md).

Target-agnostic: the server under test is a SIP address plus a prepare script
(targets/<TARGET>.sh) that starts it, provides AGENTS agent accounts and an access number whose
calls reach those agents. For each phase the core starts a fresh server, registers the agents
with SIPp from one UDP port, starts one SIPp UAS on that port answering every INVITE for them,
drives the trunk side with a SIPp UAC, samples CPU, memory and UDP counters from /proc, and stops
everything it started, by PID. Every wait is bounded."""

import datetime
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import measure as m

HERE = os.path.dirname(os.path.abspath(__file__))


def knob(name, default):
    value = os.environ.get(name, str(default))
    if isinstance(default, str):
        return value
    try:
        number = int(value)
        if number < 0:
            raise ValueError
        return number
    except ValueError:
        sys.exit(f"bench: {name}={value!r}: expected a whole number >= 0")


TARGET = knob("TARGET", "opencec")
AGENTS = knob("AGENTS", 1200)
WINDOW = knob("WINDOW", 45)
WARMUP = knob("WARMUP", 35)
CONCURRENCY = knob("CONCURRENCY", 400)
HOLD_MS = knob("HOLD_MS", 100)
SUSTAIN_PCT = knob("SUSTAIN_PCT", 90)
START_CPS = knob("START_CPS", 0)
LATENCY_CPS = knob("LATENCY_CPS", 1000)
RTP_CALLS = [int(c) for c in knob("RTP_CALLS", "200 1000").split() if c.isdigit() and int(c) > 0]
RTP_RAMP_CPS = knob("RTP_RAMP_CPS", 100)
RTP_SETTLE = knob("RTP_SETTLE", 10)
RTP_WINDOW = knob("RTP_WINDOW", 20)
IDLE_WINDOW = knob("IDLE_WINDOW", 5)
RENEGOTIATION = knob("RENEGOTIATION", "update")
ANSWER_MS = knob("ANSWER_MS", 0)
PHASES = knob("PHASES", "cps latency rtp").split()
OUT = os.environ.get("OUT") or None

if RENEGOTIATION not in ("update", "reinvite"):
    sys.exit(f"bench: RENEGOTIATION={RENEGOTIATION!r}: expected update or reinvite")
if not set(PHASES) <= {"cps", "latency", "rtp"}:
    sys.exit(f"bench: PHASES={' '.join(PHASES)!r}: expected some of cps latency rtp")
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, PRACK"
if RENEGOTIATION == "update":
    ALLOW += ", UPDATE"
SIPP_COMMON = ["-i", "127.0.0.1", "-t", "u1", "-nostdin", "-buff_size", "4194304",
               "-max_log_size", "200000000", "-trace_err"]


def log(text):
    print(f"bench: {text}", file=sys.stderr, flush=True)


class Fail(Exception):
    """A phase could not run; the message says why."""


# --- processes: only what this run started, stopped by PID ---------------------------------

started = []


def spawn(args, cwd, name):
    with open(os.path.join(cwd, f"{name}.out"), "w") as out, \
            open(os.path.join(cwd, f"{name}.err"), "w") as err:
        proc = subprocess.Popen(args, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
    started.append(proc)
    return proc


def stop(proc, grace=10.0):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def wait_exit(proc, limit):
    """Waits at most `limit` s for the process to end; kills it after that."""
    try:
        proc.wait(limit)
        return True
    except subprocess.TimeoutExpired:
        stop(proc, 2)
        return False


def free_port_pair():
    """A loopback UDP port p with p + 2 free too (SIPp's media port and its RTCP echo)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            if port > 65000:
                continue
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
                    b.bind(("127.0.0.1", port + 2))
                return port
            except OSError:
                continue
    raise Fail("no free UDP port pair on 127.0.0.1")


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the target's prepare script ------------------------------------------------------------

STATE = None


def target(cmd, phase_dir=None, media="rtp", limit=600):
    script = os.path.join(HERE, "targets", f"{TARGET}.sh")
    args = [script, cmd, STATE] + ([phase_dir] if phase_dir else [])
    env = dict(os.environ, AGENTS=str(AGENTS), MEDIA=media)
    try:
        done = subprocess.run(args, env=env, timeout=limit, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise Fail(f"{TARGET}.sh {cmd} took more than {limit} s") from e
    except OSError as e:
        raise Fail(f"cannot run {script}: {e}") from e
    if done.returncode != 0:
        raise Fail(f"{TARGET}.sh {cmd} failed (exit {done.returncode})")


def read_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = line.rstrip("\n").split("=", 1)
                env[key.strip()] = value.strip()
    for key in ("SIP_TARGET", "ACCESS_NUMBER", "AGENTS_FILE", "PIDS"):
        if not env.get(key):
            raise Fail(f"{path} lacks {key}")
    return env


# --- one phase: fresh server, registered agents, answering UAS -------------------------------

current = None  # the phase whose server is up (stopped on the way out, whatever happens)


class Phase:
    def __init__(self, name, media):
        self.name, self.media = name, media
        self.dir = os.path.join(OUT, name)
        os.makedirs(self.dir, exist_ok=True)
        self.uas = None
        self.started_target = False

    def __enter__(self):
        global current
        current = self
        try:
            self.started_target = True  # `start` may have started it before failing
            target("start", self.dir, self.media)
            self.env = read_env(os.path.join(self.dir, "target.env"))
            try:
                self.server_pids = [int(p) for p in self.env["PIDS"].split()]
            except ValueError as e:
                raise Fail(f"target.env: PIDS={self.env['PIDS']!r} is not a list of PIDs") from e
            self.sip = self.env["SIP_TARGET"]
            self.agent_port = free_udp_port()
            self.register()
            target("ready", self.dir, self.media)
            self.start_uas()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        global current
        if self.uas:
            if self.uas.poll() is None:
                time.sleep(1)  # the last BYEs towards the agents
            stop(self.uas)
            self.uas = None
        if self.started_target:
            self.started_target = False
            try:
                target("stop", self.dir, self.media, limit=60)
            except Fail as e:
                log(str(e))
        current = None

    def register(self):
        users = []
        with open(self.env["AGENTS_FILE"]) as f:
            for line in f:
                if ";" in line:
                    user, password = line.strip().split(";", 1)
                    users.append((user, password))
        if len(users) < AGENTS:
            raise Fail(f"target gave {len(users)} agent accounts, {AGENTS} asked")
        inf = os.path.join(self.dir, "agents-inf.csv")
        with open(inf, "w") as f:
            f.write("SEQUENTIAL\n")
            for user, password in users[:AGENTS]:
                f.write(f"{user};[authentication username={user} password={password}]\n")
        log(f"{self.name}: registering {AGENTS} agents from 127.0.0.1:{self.agent_port}")
        proc = spawn(["sipp", self.sip, "-sf", os.path.join(HERE, "agent_register.xml"),
                      "-inf", inf, "-p", str(self.agent_port), "-mp", str(free_port_pair()),
                      "-m", str(AGENTS), "-r", "500", "-l", "200", "-key", "expires", "3600",
                      "-timeout", "120s", "-trace_stat", "-stf", "register-stat.csv",
                      "-fd", "1"] + SIPP_COMMON, self.dir, "register")
        wait_exit(proc, 150)
        rows = m.read_stat(os.path.join(self.dir, "register-stat.csv"))
        ok = m.totals(rows)["ok"]
        if ok < AGENTS:
            raise Fail(f"only {ok} of {AGENTS} agents registered (see {self.dir}/register.out"
                       " and agent_register_*_errors.log)")

    def start_uas(self):
        scenario = "agent_uas.xml"
        if self.media == "rtp":
            scenario = "agent_uas_rtp.xml"
            write_audio(os.path.join(self.dir, "bench.alaw"))
        args = ["sipp", "-sf", os.path.join(HERE, scenario), "-p", str(self.agent_port),
                "-mp", str(free_port_pair()), "-aa", "-d", str(ANSWER_MS),
                "-trace_stat", "-stf", "agents-stat.csv", "-fd", "1", "-trace_logs",
                "-log_file", "agents.log"] + SIPP_COMMON
        self.uas = spawn(args, self.dir, "agents")
        time.sleep(0.5)
        if self.uas.poll() is not None:
            raise Fail(f"the agents' UAS did not start (see {self.dir}/agents.err)")

    def caller(self, scenario, extra):
        self.caller_port = free_udp_port()
        self.caller_media = free_port_pair()
        args = ["sipp", self.sip, "-sf", os.path.join(HERE, scenario),
                "-s", self.env["ACCESS_NUMBER"], "-key", "allow", ALLOW,
                "-p", str(self.caller_port), "-mp", str(self.caller_media),
                "-trace_stat", "-stf", "caller-stat.csv", "-fd", "1",
                "-trace_logs", "-log_file", "caller.log"]
        if self.media == "rtp":
            args.append("-rtp_echo")
        return spawn(args + extra + SIPP_COMMON, self.dir, "caller")

    def sip_drops(self):
        """Datagrams dropped by the SIP sockets (server's SIP port, both SIPp)."""
        ports = [self.sip.rsplit(":", 1)[1], self.agent_port, getattr(self, "caller_port", 0)]
        return m.udp_socket_drops(ports=ports)

    def groups(self, caller):
        return {"server": self.server_pids, "caller": [caller.pid], "agents": [self.uas.pid]}


def sleep_while(proc, seconds):
    """Sleeps `seconds` unless the process ends first."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and proc.poll() is None:
        time.sleep(min(0.5, max(0.0, end - time.monotonic())))


def latencies(ph, start_s, end_s):
    """Delays (ms) of the calls whose INVITE went out between start_s and end_s (seconds
    since the caller started): setup (INVITE -> 200), connect (INVITE -> renegotiation),
    ring (caller's 200 -> the agent's INVITE in), answer (the agents' SIPp: INVITE in -> 200
    out; its own scheduling, some ms even with ANSWER_MS=0), bridge (agent's 200 ->
    renegotiation). connect = setup + ring + answer + bridge."""
    rows = m.read_stat(os.path.join(ph.dir, "caller-stat.csv"))
    if not rows:
        return {k: [] for k in ("setup", "connect", "ring", "answer", "bridge")}
    t0 = float(rows[0]["StartTime"].split("\t")[-1])
    window = (t0 + start_s, t0 + end_s)
    caller = m.read_log(os.path.join(ph.dir, "caller.log"))
    agents = m.read_log(os.path.join(ph.dir, "agents.log"))
    invite = caller.get("invite", {})
    answered = caller.get("answered", {})
    connected = caller.get("connected", {})

    def inside(events):
        return {k: v for k, v in events.items() if window[0] <= invite.get(k, 0) <= window[1]}

    return {
        "setup": m.delays_ms(invite, answered, window),
        "connect": m.delays_ms(invite, connected, window),
        "ring": m.delays_ms(inside(answered), agents.get("invited", {})),
        "answer": m.delays_ms(inside(agents.get("invited", {})), agents.get("answered", {})),
        "bridge": m.delays_ms(inside(agents.get("answered", {})), connected),
    }


# --- signalling-only phases -----------------------------------------------------------------


def cps_phase(name, rate, limit):
    """One window of calls without RTP at `rate` (None: closed loop at `limit` in flight)."""
    with Phase(name, "none") as ph:
        asked = rate or 100000
        caller = ph.caller("caller.xml", ["-m", str(asked * WINDOW), "-r", str(asked), "-rp", "1000",
                                          "-l", str(limit), "-d", str(HOLD_MS),
                                          "-timeout", f"{WINDOW}s"])
        groups = ph.groups(caller)
        sleep_while(caller, WARMUP)
        s0 = m.Sample(groups, time.monotonic)
        d0 = ph.sip_drops()
        sleep_while(caller, WINDOW - WARMUP - 2)
        s1 = m.Sample(groups, time.monotonic)
        drops = ph.sip_drops() - d0
        wait_exit(caller, 30)
    rows = m.read_stat(os.path.join(ph.dir, "caller-stat.csv"))
    tot = m.totals(rows)
    achieved, _ = m.window_rate(rows, WARMUP, WINDOW - 2)
    early, _ = m.window_rate(rows, 2, 30)
    released = m.count_log(os.path.join(ph.dir, "caller.log"), "released")
    agents = m.totals(m.read_stat(os.path.join(ph.dir, "agents-stat.csv")))
    lat = latencies(ph, WARMUP, WINDOW - 2)
    bad = tot["failed"] + released
    holds = (rate is not None and tot["ok"] > 0 and bad * 1000 < tot["ok"] + tot["failed"]
             and tot["retrans"] * 100 < tot["ok"] + tot["failed"] and achieved * 100 >= rate * 95)
    result = dict(name=name, rate=rate, limit=limit, achieved=achieved, early=early, **tot,
                  released=released, agent_failed=agents["failed"], **lat, holds=holds, drops=drops,
                  server=m.cpu_percent(s0, s1, "server"), sipp_caller=m.cpu_percent(s0, s1, "caller"),
                  sipp_agents=m.cpu_percent(s0, s1, "agents"))
    log(f"{name}: steady {achieved:.0f}/s (first 30 s {early:.0f}/s) ok={tot['ok']} "
        f"failed={tot['failed']} released={released} retrans={tot['retrans']} "
        f"setup p50/p99={m.p50_p99(lat['setup'])} connect={m.p50_p99(lat['connect'])} "
        f"200->agent INVITE={m.p50_p99(lat['ring'])} "
        f"agent 200->renegotiation={m.p50_p99(lat['bridge'])} server={result['server']:.0f}% "
        f"holds={holds}")
    return result


CPS_HEAD = ("| phase | asked/s | achieved/s 2-30 s | achieved/s steady | calls ok | failed | "
            "released by server | retrans | agent-side failed | setup p50 / p99 ms | "
            "connect p50 / p99 ms | caller's 200 -> agent's INVITE p50 / p99 ms | "
            "agent's INVITE -> 200 (SIPp) p50 / p99 ms | agent 200 -> renegotiation p50 / p99 ms | "
            "server CPU % | SIPp caller CPU % | SIPp agents CPU % | SIP socket drops | holds |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")


def cps_row(r):
    asked = "-" if r["rate"] is None else str(r["rate"])
    label = r["name"] if r["rate"] is not None else f"{r['name']} ({r['limit']} in flight)"
    holds = "-" if r["rate"] is None else ("yes" if r["holds"] else "no")
    return (f"| {label} | {asked} | {r['early']:.0f} | {r['achieved']:.0f} | {r['ok']} | "
            f"{r['failed']} | {r['released']} | {r['retrans']} | {r['agent_failed']} | "
            f"{m.p50_p99(r['setup'])} | {m.p50_p99(r['connect'])} | {m.p50_p99(r['ring'])} | "
            f"{m.p50_p99(r['answer'])} | {m.p50_p99(r['bridge'])} | {r['server']:.0f} | "
            f"{r['sipp_caller']:.0f} | {r['sipp_agents']:.0f} | "
            f"{r['drops']} | {holds} |\n")


# --- RTP phases -----------------------------------------------------------------------------


def rtp_phase(calls):
    """`calls` concurrent bridged calls with RTP both ways: CPU and memory at the plateau."""
    ramp = max(1, RTP_RAMP_CPS)
    ramp_s = -(-calls // ramp)
    hold_ms = (ramp_s + RTP_SETTLE + RTP_WINDOW + 5) * 1000
    with Phase(f"rtp-{calls}", "rtp") as ph:
        idle_groups = {"server": ph.server_pids}
        i0 = m.Sample(idle_groups, time.monotonic)
        rss_idle = m.rss_kib(ph.server_pids)
        time.sleep(IDLE_WINDOW)
        i1 = m.Sample(idle_groups, time.monotonic)
        caller = ph.caller("caller.xml", [
            "-m", str(calls), "-r", str(ramp), "-rp", "1000", "-l", str(calls),
            "-d", str(hold_ms), "-timeout", f"{hold_ms // 1000 + ramp_s + 60}s"])
        groups = ph.groups(caller)
        sleep_while(caller, ramp_s + RTP_SETTLE)
        connected_before = m.count_log(os.path.join(ph.dir, "caller.log"), "connected")
        s0 = m.Sample(groups, time.monotonic)
        d0 = m.udp_socket_drops(pids=ph.server_pids)
        e0 = m.udp_socket_drops(ports=[ph.caller_media])
        sleep_while(caller, RTP_WINDOW / 2)
        rss_loaded = m.rss_kib(ph.server_pids)
        sleep_while(caller, RTP_WINDOW / 2)
        s1 = m.Sample(groups, time.monotonic)
        drops = m.udp_socket_drops(pids=ph.server_pids) - d0
        echo_drops = (m.udp_socket_drops(ports=[ph.caller_media]) - e0) / (s1.time - s0.time)
        rows_at_window = m.read_stat(os.path.join(ph.dir, "caller-stat.csv"))
        in_flight = m.totals(rows_at_window)["current"]
        wait_exit(caller, hold_ms / 1000 + 60)
    tot = m.totals(m.read_stat(os.path.join(ph.dir, "caller-stat.csv")))
    released = m.count_log(os.path.join(ph.dir, "caller.log"), "released")
    agents = m.totals(m.read_stat(os.path.join(ph.dir, "agents-stat.csv")))
    lat = latencies(ph, 0, 10 ** 6)
    idle_cpu = m.cpu_percent(i0, i1, "server")
    server = m.cpu_percent(s0, s1, "server")
    datagrams = m.udp_rates(s0, s1)[0]
    result = dict(calls=calls, connected=connected_before, in_flight=in_flight, **tot,
                  released=released, agent_failed=agents["failed"], **lat,
                  idle_cpu=idle_cpu, server=server,
                  rss_idle=rss_idle, rss_loaded=rss_loaded, datagrams=datagrams, drops=drops,
                  echo_drops=echo_drops,
                  sipp_caller=m.cpu_percent(s0, s1, "caller"),
                  sipp_agents=m.cpu_percent(s0, s1, "agents"))
    log(f"rtp-{calls}: connected {connected_before} before the window, server CPU "
        f"{server:.0f}% (idle {idle_cpu:.0f}%), RSS {rss_idle // 1024} -> {rss_loaded // 1024} MiB, "
        f"{datagrams:.0f} UDP datagrams sent/s (RTP: {calls * 200}), caller echo drops "
        f"{echo_drops:.0f}/s, ok={tot['ok']} "
        f"failed={tot['failed']} released={released}")
    return result


def write_audio(path):
    """1 s of a 400 Hz tone in G.711 A-law: what the caller streams, looped."""
    import math

    def alaw(sample):
        sign = 0x80 if sample >= 0 else 0
        if sample < 0:
            sample = -sample - 1
        sample = min(sample, 32767) >> 3
        if sample < 32:
            value = sample >> 1
        else:
            exponent = sample.bit_length() - 5
            value = (exponent << 4) | ((sample >> exponent) & 0x0F)
        return (value | sign) ^ 0x55

    with open(path, "wb") as f:
        f.write(bytes(alaw(int(8000 * math.sin(2 * math.pi * 400 * n / 8000))) for n in range(8000)))


RTP_HEAD = ("| concurrent calls | connected at the window | in flight | calls ok | failed | "
            "released by server | agent-side failed | server CPU % idle | server CPU % loaded | "
            "server CPU % per 100 calls (net of idle) | server RSS MiB idle -> loaded | "
            "RSS KiB per call | UDP datagrams sent/s (RTP expected) | server socket drops | "
            "caller echo socket drops/s | "
            "SIPp caller CPU % | SIPp agents CPU % | setup p50 / p99 ms | "
            "agent 200 -> renegotiation p50 / p99 ms |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")


def rtp_row(r):
    net = max(0.0, r["server"] - r["idle_cpu"])
    per100 = 100 * net / r["calls"]
    rss_call = (r["rss_loaded"] - r["rss_idle"]) / r["calls"]
    return (f"| {r['calls']} | {r['connected']} | {r['in_flight']} | {r['ok']} | {r['failed']} | "
            f"{r['released']} | {r['agent_failed']} | {r['idle_cpu']:.1f} | {r['server']:.0f} | "
            f"{per100:.1f} | {r['rss_idle'] / 1024:.0f} -> {r['rss_loaded'] / 1024:.0f} | "
            f"{rss_call:.0f} | {r['datagrams']:.0f} ({r['calls'] * 200}) | {r['drops']} | "
            f"{r['echo_drops']:.0f} | "
            f"{r['sipp_caller']:.0f} | {r['sipp_agents']:.0f} | {m.p50_p99(r['setup'])} | "
            f"{m.p50_p99(r['bridge'])} |\n")


# --- the run --------------------------------------------------------------------------------


def write(text):
    with open(os.path.join(OUT, "results.md"), "a") as f:
        f.write(text)


def header():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    out = subprocess.run(["sipp", "-v"], capture_output=True, text=True).stdout
    version = next((w for w in out.split() if w.startswith("v") and w[1:2].isdigit()), "?")
    write(f"# Call-path benchmark run {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC\n\n"
          f"Target `{TARGET}`; machine: {os.cpu_count()} CPUs ({cpu}), {os.uname().release}; "
          f"SIPp {version}; everything on loopback UDP, the "
          f"SIPp generators on the same box. {AGENTS} agents registered from one SIPp, answered "
          f"by one SIPp UAS ({ANSWER_MS} ms to answer); renegotiation asked for: "
          f"{RENEGOTIATION}. Signalling phases: fresh server, {WINDOW} s of calls holding "
          f"{HOLD_MS} ms, figures over {WARMUP}..{WINDOW - 2} s.\n"
          f"Load average before the run: {m.loadavg()}.\n\n")


def signalling():
    write("## Signalling only (no RTP)\n\n" + CPS_HEAD)
    rows = []
    cap = cps_phase("capacity", None, min(CONCURRENCY, AGENTS))
    rows.append(cap)
    write(cps_row(cap))
    base = START_CPS or (cap["achieved"] if cap["achieved"] * 2 >= cap["early"] else cap["early"] / 4)
    rate = int(base * (1 if START_CPS else SUSTAIN_PCT / 100))
    sustained = None
    for attempt in range(3):
        if rate <= 0:
            break
        r = cps_phase(f"sustained-{rate}", rate, min(AGENTS, max(rate * 4, 50)))
        rows.append(r)
        write(cps_row(r))
        if r["holds"]:
            sustained = r
            break
        rate = rate * 6 // 10
    return rows, sustained


def main():
    global OUT, STATE
    if WARMUP >= WINDOW - 5:
        sys.exit("bench: need WARMUP < WINDOW - 5")
    need = max([CONCURRENCY] + (RTP_CALLS if "rtp" in PHASES else []))
    if AGENTS < need:
        log(f"warning: AGENTS={AGENTS} < {need} calls at once: calls will queue for agents")
    if shutil.which("sipp") is None:
        sys.exit("bench: needs sipp (Debian package sip-tester)")
    OUT = OUT or os.path.join(os.environ.get("TMPDIR", "/tmp"),
                              f"callbench-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    os.makedirs(OUT, exist_ok=True)
    STATE = os.path.join(OUT, "state")
    os.makedirs(STATE, exist_ok=True)
    log(f"results in {OUT}/results.md")
    try:
        target("setup", limit=3600)
    except Fail as e:
        sys.exit(f"bench: {e}")
    header()
    summary = []
    failures = []
    sustained = None
    latency = None
    if "cps" in PHASES:
        try:
            _, sustained = signalling()
        except Fail as e:
            failures.append(f"signalling phases: {e}")
    if "latency" in PHASES and LATENCY_CPS > 0:
        try:
            if "cps" not in PHASES:
                write("## Signalling only (no RTP)\n\n" + CPS_HEAD)
            latency = cps_phase(f"latency-{LATENCY_CPS}", LATENCY_CPS, AGENTS)
            write(cps_row(latency))
        except Fail as e:
            failures.append(f"latency phase: {e}")
    rtp = []
    if "rtp" in PHASES:
        write("\n## With RTP (the agents' UAS streams PCMA, the caller echoes it back)\n\n" + RTP_HEAD)
        for calls in RTP_CALLS:
            try:
                r = rtp_phase(calls)
                rtp.append(r)
                write(rtp_row(r))
            except Fail as e:
                failures.append(f"RTP phase with {calls} calls: {e}")
    summary.append("\n## Summary\n")
    if sustained:
        summary.append(f"- Sustained: **{sustained['rate']} calls/s** held (< 0.1 % failed or "
                       f"released, < 1 % retransmissions, >= 95 % of the rate); there setup "
                       f"p50/p99 {m.p50_p99(sustained['setup'])} ms, connect "
                       f"{m.p50_p99(sustained['connect'])} ms (caller's 200 -> agent's INVITE "
                       f"{m.p50_p99(sustained['ring'])} ms), agent 200 -> renegotiation "
                       f"{m.p50_p99(sustained['bridge'])} ms; server CPU {sustained['server']:.0f} %.")
    elif "cps" in PHASES:
        summary.append("- Sustained: no open-loop rate held.")
    if latency:
        summary.append(f"- At {LATENCY_CPS} calls/s: setup p50/p99 {m.p50_p99(latency['setup'])} ms, "
                       f"connect {m.p50_p99(latency['connect'])} ms (caller's 200 -> agent's "
                       f"INVITE {m.p50_p99(latency['ring'])} ms), agent 200 -> renegotiation "
                       f"{m.p50_p99(latency['bridge'])} ms ({'held' if latency['holds'] else 'did not hold'}).")
    for r in rtp:
        net = max(0.0, r["server"] - r["idle_cpu"])
        summary.append(f"- {r['calls']} calls with RTP: server {r['server']:.0f} % of a core "
                       f"({100 * net / r['calls']:.1f} % of a core per 100 calls, net of idle), "
                       f"{(r['rss_loaded'] - r['rss_idle']) / r['calls']:.0f} KiB RSS per call; "
                       f"SIPp {r['sipp_caller'] + r['sipp_agents']:.0f} %.")
    for f in failures:
        summary.append(f"- **Did not run**: {f}")
    summary.append(f"- Load average after the run: {m.loadavg()}.\n")
    write("\n".join(summary) + "\n")
    with open(os.path.join(OUT, "results.md")) as f:
        print(f.read())
    return 1 if failures else 0


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        sys.exit(main())
    finally:
        if current is not None:
            current.close()
        for p in started:
            try:
                stop(p, 5)
            except Exception:  # noqa: BLE001 - cleanup goes on for the others
                pass

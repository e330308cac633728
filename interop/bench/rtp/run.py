#!/usr/bin/env python3
"""RTP relay benchmark: cec-runtime's media engine (testing/rtpbench `media-host`) against
rtpengine (Debian `rtpengine-daemon`, userspace forwarding), both driven by the same load
tool (`rtp-load`) over rtpengine's ng protocol on loopback.

For each engine: CPU per relayed packet and per call at 200 and 1,000 concurrent calls,
then N stepped up until loss >= 0.1 % or p99 delay variation >= 1 ms (bounded), and RSS.
Engines run one at a time (alternating per step) so they never compete for the CPU.
Prints a Markdown table with the ratio ours / rtpengine. Stdlib only.

Usage: interop/bench/rtp/run.py [--window S] [--steps 1500,2000,...] [--baseline DIR]
                                [--modes mmsg,uring] [--floor [--floor-args "..."]]

--baseline DIR also runs DIR/media-host (an older build) as engine "before", side by side.
--modes runs our media-host once per I/O mode (`--io`), as engines "ours-mmsg", "ours-uring"
(one engine "ours" with the default mode when not given), each with its ratio to rtpengine.
--floor also runs `null-relay` (testing/rtpbench: each datagram sent on unchanged, nothing
else) as engine "null-relay", with its ratio to rtpengine: the floor no userspace relay on
this machine gets below, next to our ratio.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.path.join(TARGET, "release")
NG_OURS = "127.0.0.1:2224"
NG_RTPENGINE = "127.0.0.1:2223"
LOSS_LIMIT_PCT = 0.1
JITTER_LIMIT_US = 1000


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def ensure_rtpengine():
    if shutil.which("rtpengine"):
        return
    log("installing rtpengine-daemon (not enabling its service)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "rtpengine-daemon"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    # Packaging may start the service where an init system runs; we run our own copy.
    subprocess.run(["systemctl", "stop", "rtpengine-daemon"], stderr=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, check=False)


def build():
    log("building rtpbench (release)")
    subprocess.run(["cargo", "build", "--release", "-p", "rtpbench"], cwd=ROOT, check=True)


NG_BEFORE = "127.0.0.1:2225"
BASELINE_BIN = None  # --baseline: another build's release dir, run as engine "before"
NG_FLOOR = "127.0.0.1:2226"
# Below the ephemeral range (32768-60999) and apart from rtpengine's and ours; null-relay
# uses even ports only, so this holds 2,500 calls.
FLOOR_PORTS = "10000-19999"
FLOOR_MAX_CALLS = 2500
FLOOR_ARGS = []  # --floor-args


def start_ours(io=None):
    mode = ["--io", io] if io else []
    return subprocess.Popen([os.path.join(BIN, "media-host"), "--ng", NG_OURS,
                             "--ports", "40000-59999"] + mode,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_before():
    return subprocess.Popen([os.path.join(BASELINE_BIN, "media-host"), "--ng", NG_BEFORE,
                             "--ports", "40000-59999"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_floor():
    return subprocess.Popen([os.path.join(BIN, "null-relay"), "--ng", NG_FLOOR,
                             "--ports", FLOOR_PORTS] + FLOOR_ARGS,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_rtpengine():
    return subprocess.Popen(["rtpengine", "--config-file=none", "--foreground", "--table=-1",
                             "--interface=127.0.0.1", "--listen-ng=" + NG_RTPENGINE,
                             "--port-min=20000", "--port-max=39999", "--log-stderr",
                             "--log-level=3"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


ENGINES = {"ours": (start_ours, NG_OURS), "rtpengine": (start_rtpengine, NG_RTPENGINE)}
OURS = ["ours"]  # our engines (one per --modes entry), each compared with rtpengine
FLOOR = []  # ["null-relay"] with --floor, also compared with rtpengine


def run_step(name, calls, window, warmup):
    """Starts the engine fresh, runs one load step, stops the engine by PID."""
    start, ng = ENGINES[name]
    proc = start()
    try:
        time.sleep(1.0)
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}")
        cmd = [os.path.join(BIN, "rtp-load"), "--ng", ng, "--calls", str(calls),
               "--warmup", str(warmup), "--duration", str(window),
               "--engine-pid", str(proc.pid), "--label", name]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                             timeout=window + warmup + 120)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        log(f"  {name:9} N={calls:5}: loss {result['loss_pct']:.3f} %, "
            f"dv p99 {result['delay_variation_p99_us']} us, "
            f"lat p99 {result['latency_p99_us']} us, "
            f"cpu {result['engine_cpu_cores']} cores, tool {result['tool_cpu_cores']}")
        return result
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def passes(r):
    return r["loss_pct"] < LOSS_LIMIT_PCT and r["delay_variation_p99_us"] < JITTER_LIMIT_US


def ratio(a, b):
    if a is None or b in (None, 0):
        return "-"
    return f"{a / b:.2f}"


def fmt(v, digits=2):
    return "-" if v is None else f"{v:.{digits}f}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--window", type=float, default=10.0, help="measured seconds per step")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--steps", default="400,600,800,1500,2000,2500,3000",
                        help="N besides 200 and 1,000 for the capacity search")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--json", help="also write all results here")
    parser.add_argument("--baseline", help="release dir of an older media-host build, run "
                        "side by side as engine 'before' (e.g. to measure a change)")
    parser.add_argument("--modes", help="comma-separated media-host I/O modes (mmsg, uring, "
                        "auto), one engine 'ours-<mode>' each")
    parser.add_argument("--floor", action="store_true", help="also run null-relay, the floor "
                        "engine (datagrams relayed unchanged), as engine 'null-relay'")
    parser.add_argument("--floor-args", default="", help="extra null-relay arguments, "
                        "e.g. '--threads 2 --batch 8'")
    args = parser.parse_args()
    if args.modes:
        del ENGINES["ours"]
        OURS.clear()
        for mode in [m for m in args.modes.split(",") if m]:
            name = f"ours-{mode}"
            OURS.append(name)
            ENGINES[name] = ((lambda m=mode: start_ours(m)), NG_OURS)
    if args.baseline:
        global BASELINE_BIN
        BASELINE_BIN = args.baseline
        ENGINES["before"] = (start_before, NG_BEFORE)
    if args.floor:
        FLOOR.append("null-relay")
        FLOOR_ARGS.extend(args.floor_args.split())
        ENGINES["null-relay"] = (start_floor, NG_FLOOR)
    ensure_rtpengine()
    if not args.no_build:
        build()
    started = time.time()
    results = {name: {} for name in ENGINES}
    best = {name: 0 for name in ENGINES}       # < 0.1 % loss and p99 jitter < 1 ms
    best_loss = {name: 0 for name in ENGINES}  # < 0.1 % loss only
    alive = {name: True for name in ENGINES}   # no step has lost >= 0.1 % yet
    strict = {name: True for name in ENGINES}  # no step has failed either limit yet
    steps = sorted({200, 1000} | {int(s) for s in args.steps.split(",") if s})
    for calls in steps:
        for name in ENGINES:
            # 200 and 1,000 always run (they give the CPU rows); others while loss holds.
            if not alive[name] and calls not in (200, 1000):
                continue
            if name in FLOOR and calls > FLOOR_MAX_CALLS:
                continue
            r = run_step(name, calls, args.window, args.warmup)
            results[name][calls] = r
            if alive[name] and r["loss_pct"] < LOSS_LIMIT_PCT:
                best_loss[name] = calls
            else:
                alive[name] = False
            if strict[name] and passes(r):
                best[name] = calls
            else:
                strict[name] = False
    elapsed = time.time() - started

    others = [n for n in ENGINES if n not in OURS + FLOOR and n != "rtpengine"]

    def row(label, key, digits, scale=1.0, calls=None):
        raw = {}
        for name in ENGINES:
            r = results[name].get(calls)
            raw[name] = None if r is None or r.get(key) is None else r[key] * scale
        return table_row(label, raw, lambda v: fmt(v, digits))

    def table_row(label, raw, show):
        ours = " | ".join(show(raw[n]) for n in OURS)
        ratios = " | ".join(ratio(raw[n], raw["rtpengine"]) for n in OURS)
        floor = "".join(f" {show(raw[n])} | {ratio(raw[n], raw['rtpengine'])} |"
                        for n in FLOOR)
        rest = "".join(f" {show(raw[n])} |" for n in others)
        return f"| {label} | {ours} | {show(raw['rtpengine'])} | {ratios} |{floor}{rest}"

    header = (["metric"] + [f"{n} (media-host)" for n in OURS] + ["rtpengine"]
              + [f"{n} / rtpengine" for n in OURS]
              + [x for n in FLOOR for x in (f"{n} (floor)", f"{n} / rtpengine")]
              + [f"{n} (--baseline)" for n in others])
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for calls in (200, 1000):
        lines.append(row(f"engine CPU per relayed packet, µs ({calls} calls)",
                         "engine_us_per_packet", 2, calls=calls))
        lines.append(row(f"engine CPU per call, % of a core ({calls} calls)",
                         "engine_core_pct_per_call", 3, calls=calls))
        lines.append(row(f"engine CPU, cores ({calls} calls)", "engine_cpu_cores", 3,
                         calls=calls))
        lines.append(row(f"loss, % ({calls} calls)", "loss_pct", 3, calls=calls))
        lines.append(row(f"p99 delay variation, µs ({calls} calls)",
                         "delay_variation_p99_us", 0, calls=calls))
        lines.append(row(f"p99 added latency, µs ({calls} calls)", "latency_p99_us", 0,
                         calls=calls))
        lines.append(row(f"engine RSS, MiB ({calls} calls)", "engine_rss_kib", 1,
                         scale=1 / 1024, calls=calls))
        lines.append(row(f"load tool CPU, cores ({calls} calls)", "tool_cpu_cores", 3,
                         calls=calls))
    lines.append(table_row(f"largest N with < {LOSS_LIMIT_PCT} % loss and p99 delay variation "
                           f"< {JITTER_LIMIT_US} µs (steps {', '.join(map(str, steps))})",
                           best, str))
    lines.append(table_row(f"largest N with < {LOSS_LIMIT_PCT} % loss (jitter ignored)",
                           best_loss, str))
    print(f"RTP relay benchmark, {os.cpu_count()} cores, "
          f"{time.strftime('%Y-%m-%d')}, {elapsed:.0f} s")
    print("\n".join(lines))
    for n in FLOOR:
        for calls in (200, 1000):
            cpu = {e: (results[e].get(calls) or {}).get("engine_us_per_packet")
                   for e in ENGINES}
            ours = ", ".join(f"{o} {ratio(cpu[o], cpu['rtpengine'])}" for o in OURS)
            print(f"\nfloor at {calls} calls: {n} {fmt(cpu[n])} µs per relayed packet = "
                  f"{ratio(cpu[n], cpu['rtpengine'])} x rtpengine ({fmt(cpu['rtpengine'])} µs); "
                  f"ours / rtpengine: {ours}; "
                  + ", ".join(f"{o} / floor {ratio(cpu[o], cpu[n])}" for o in OURS))
    print("\nper step (N: loss %, p99 delay variation µs, engine cores, tool cores):")
    for name in ENGINES:
        steps = ", ".join(f"{n}: {r['loss_pct']:.3f} / {r['delay_variation_p99_us']} / "
                          f"{r['engine_cpu_cores']} / {r['tool_cpu_cores']}"
                          for n, r in sorted(results[name].items()))
        print(f"- {name}: {steps}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(results, out, indent=1)


if __name__ == "__main__":
    main()

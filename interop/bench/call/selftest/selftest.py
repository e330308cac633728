#!/usr/bin/env python3
"""Self-test of the call-path benchmark's SIPp scenarios, without a server (`run.sh selftest`):
each scenario runs against a SIPp peer playing the other side (server.xml for the trunk side,
registrar.xml for the registrar, ring.xml for the server ringing an agent) on loopback, and the
counters, timers and log lines bench.py relies on are checked. About 20 s; exit status 0 when
every check passes."""

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CALL = os.path.dirname(HERE)
sys.path.insert(0, CALL)
import measure as m  # noqa: E402

COMMON = ["-i", "127.0.0.1", "-nostdin", "-trace_err"]
started = []
results = []


def port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def media_port():
    """A free port p with p + 2 free (SIPp binds both for its media/echo sockets)."""
    while True:
        p = port()
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(("127.0.0.1", p + 2))
            return p
        except OSError:
            continue


def peer(scenario, cwd, args):
    """A SIPp peer (UAS) in the background; stopped at the end of its check."""
    proc = subprocess.Popen(["sipp", "-sf", os.path.join(HERE, scenario)] + args + COMMON,
                            cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    started.append(proc)
    time.sleep(0.4)
    if proc.poll() is not None:
        raise RuntimeError(f"peer {scenario} did not start (exit {proc.returncode})")
    return proc


def uac(scenario, cwd, args, limit=60):
    """Runs a SIPp UAC to its end (at most `limit` s); returns its stat rows' totals."""
    subprocess.run(["sipp"] + args[:1] + ["-sf", scenario] + args[1:] + COMMON
                   + ["-trace_stat", "-stf", "uac-stat.csv", "-fd", "1"],
                   cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   stdin=subprocess.DEVNULL, timeout=limit)
    return m.totals(m.read_stat(os.path.join(cwd, "uac-stat.csv")))


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def check(name, ok, detail):
    results.append((name, ok))
    print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)


def caller_case(name, allow, number, method, calls=20, expect_released=0):
    with tempfile.TemporaryDirectory(prefix="callbench-selftest-") as d:
        p = port()
        mp = media_port()
        srv = peer("server.xml", d, ["-p", str(p), "-mp", str(mp), "-d", "20",
                                     "-key", "sdp_port", str(mp)])
        try:
            tot = uac(os.path.join(CALL, "caller.xml"), d, [
                f"127.0.0.1:{p}", "-s", number, "-key", "allow", allow, "-m", str(calls),
                "-r", "20", "-d", "50", "-mp", str(media_port()),
                "-trace_logs", "-log_file", "caller.log"])
        finally:
            stop(srv)
        events = m.read_log(os.path.join(d, "caller.log"))
        setup = m.delays_ms(events.get("invite", {}), events.get("answered", {}))
        connect = m.delays_ms(events.get("invite", {}), events.get("connected", {}))
        connected = m.count_log(os.path.join(d, "caller.log"), "connected", method)
        released = m.count_log(os.path.join(d, "caller.log"), "released")
        ok = (tot["ok"] == calls and tot["failed"] == 0 and len(setup) == calls
              and len(connect) == calls and connected == calls and released == expect_released)
        check(name, ok, f"ok={tot['ok']} failed={tot['failed']} set-up delays={len(setup)} "
              f"connect delays={len(connect)} (p50/p99 {m.p50_p99(connect)} ms, the peer waits "
              f"20) connected by {method}={connected} released={released}")


def agent_rtp_case():
    """agent_uas_rtp.xml streams to the address of the INVITE's SDP: count what arrives."""
    with tempfile.TemporaryDirectory(prefix="callbench-selftest-") as d:
        with open(os.path.join(d, "bench.alaw"), "wb") as f:
            f.write(bytes([0xD5]) * 8000)
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(0.2)
        received = [0, 0]  # datagrams, of which 172-byte RTP (12 + 160)

        def drain(stop_at):
            while time.monotonic() < stop_at:
                try:
                    data = sink.recv(2048)
                except socket.timeout:
                    continue
                received[0] += 1
                received[1] += len(data) == 172

        p = port()
        agents = subprocess.Popen(
            ["sipp", "-sf", os.path.join(CALL, "agent_uas_rtp.xml"), "-p", str(p), "-mp",
             str(media_port()), "-aa", "-d", "0"] + COMMON,
            cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        started.append(agents)
        time.sleep(0.4)
        drainer = threading.Thread(target=drain, args=(time.monotonic() + 6,))
        drainer.start()
        try:
            tot = uac(os.path.join(HERE, "ring.xml"), d, [
                f"127.0.0.1:{p}", "-key", "sdp_port", str(sink.getsockname()[1]), "-m", "4",
                "-r", "10", "-d", "2000", "-mp", str(media_port())])
        finally:
            stop(agents)
            drainer.join()
            sink.close()
        # 4 calls x 2 s x 50 packets/s = 400; allow for start/stop edges.
        ok = tot["ok"] == 4 and tot["failed"] == 0 and received[1] >= 340
        check("agent_uas_rtp.xml streams RTP to the INVITE's SDP address", ok,
              f"ok={tot['ok']} failed={tot['failed']} RTP packets received={received[1]} "
              f"(of {received[0]} datagrams; ~400 expected)")


def register_case():
    with tempfile.TemporaryDirectory(prefix="callbench-selftest-") as d:
        inf = os.path.join(d, "agents.csv")
        with open(inf, "w") as f:
            f.write("SEQUENTIAL\n")
            for user in ("20001", "20002", "20003"):
                f.write(f"{user};[authentication username={user} password=secret-{user}]\n")
            f.write("20004;[authentication username=20004 password=wrong]\n")
        p = port()
        reg = peer("registrar.xml", d, ["-p", str(p)])
        try:
            tot = uac(os.path.join(CALL, "agent_register.xml"), d, [
                f"127.0.0.1:{p}", "-inf", inf, "-key", "expires", "3600", "-m", "4",
                "-r", "10", "-mp", str(media_port())])
        finally:
            stop(reg)
        check("agent_register.xml authenticates (3 right passwords, 1 wrong)",
              tot["ok"] == 3 and tot["failed"] == 1, f"ok={tot['ok']} failed={tot['failed']}")


def uas_case(name, scenario, ring_args, answer_ms, calls, expect_answered):
    ring_args = ring_args + ["-key", "sdp_port", str(media_port())]
    with tempfile.TemporaryDirectory(prefix="callbench-selftest-") as d:
        p = port()
        agents = subprocess.Popen(
            ["sipp", "-sf", os.path.join(CALL, "agent_uas.xml"), "-p", str(p), "-mp",
             str(media_port()), "-aa", "-d", str(answer_ms), "-trace_logs", "-log_file",
             "agents.log", "-trace_stat", "-stf", "agents-stat.csv", "-fd", "1"] + COMMON,
            cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        started.append(agents)
        time.sleep(0.4)
        try:
            tot = uac(scenario, d, [f"127.0.0.1:{p}"] + ring_args + ["-m", str(calls), "-r", "20",
                                                                    "-mp", str(media_port())])
            time.sleep(1.2)  # the UAS's next statistics row
        finally:
            stop(agents)
        uas = m.totals(m.read_stat(os.path.join(d, "agents-stat.csv")))
        answered = m.count_log(os.path.join(d, "agents.log"), "answered")
        ok = (tot["ok"] == calls and tot["failed"] == 0 and uas["ok"] == calls
              and uas["failed"] == 0 and answered == expect_answered)
        check(name, ok, f"ringer ok={tot['ok']} failed={tot['failed']}, UAS ok={uas['ok']} "
              f"failed={uas['failed']} answered logs={answered}")


def main():
    try:
        caller_case("caller.xml with UPDATE", "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE",
                    "4001", "UPDATE")
        caller_case("caller.xml with re-INVITE", "INVITE, ACK, BYE, CANCEL, OPTIONS", "4001",
                    "re-INVITE")
        caller_case("caller.xml when the server hangs up", "INVITE, ACK, BYE, UPDATE", "4002",
                    "UPDATE", expect_released=20)
        caller_case("caller.xml absorbs an UPDATE copy after its BYE", "INVITE, ACK, BYE, UPDATE",
                    "4003", "UPDATE")
        agent_rtp_case()
        register_case()
        ring = os.path.join(HERE, "ring.xml")
        uas_case("agent_uas.xml answers and takes the BYE", ring, ["-d", "50"], 0, 20, 20)
        uas_case("agent_uas.xml absorbs INVITE and ACK copies", os.path.join(HERE, "ring_retrans.xml"),
                 ["-d", "50"], 0, 20, 20)
        cancel = os.path.join(CALL, "..", "..", "sipp", "cancel_pending_offer.xml")
        inf = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False)
        inf.write("SEQUENTIAL\nagent\n")
        inf.close()
        try:
            uas_case("agent_uas.xml takes a CANCEL while ringing", os.path.abspath(cancel),
                     ["-inf", inf.name], 2000, 3, 0)
        finally:
            os.unlink(inf.name)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        check("selftest", False, str(e))
    finally:
        for proc in started:
            stop(proc)
    failed = [name for name, ok in results if not ok]
    print(f"{len(results) - len(failed)} of {len(results)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Send every RFC 4475 torture message over UDP to a running opencec and check its answer.

Run it inside a private network namespace (the messages name foreign hosts such as
192.0.2.x and example.com; nothing may leave the machine even if the server misroutes):

    unshare -rn sh -c 'ip link set lo up && python3 rfc4475_udp.py OPENCEC TESTDATA_DIR'

The server must stay up, answer each request that deserves an answer with the status the
RFC (see testdata/rfc4475/INDEX.md) allows for a UAS, send nothing for responses and
unanswerable messages, and answer a legitimate OPTIONS afterwards. Exit status 0 = all good.
"""

import os
import re
import socket
import subprocess
import sys
import tempfile
import time

# Acceptable answers of our UAS, per file (None: no answer at all). Where the RFC leaves a
# choice, the set lists each conforming answer. Valid requests get the answer the server gives
# any such request once parsed: INVITE 403 (the call path admits INVITEs only from the source
# networks of a tenant's trunk in the database, and this server has none), REGISTER a digest
# challenge, OPTIONS from the configured trunk 200, MESSAGE 480, unknown methods 501.
EXPECTED = {
    "wsinv.dat": {404}, "intmeth.dat": {501}, "esc01.dat": {403}, "escnull.dat": {401},
    "esc02.dat": {501}, "lwsdisp.dat": {200}, "longreq.dat": {403}, "dblreq.dat": {401},
    "semiuri.dat": {200}, "transports.dat": {200}, "mpart01.dat": {480}, "unreason.dat": None,
    "noreason.dat": None, "badinv01.dat": {400}, "clerr.dat": {400}, "ncl.dat": {400},
    "scalar02.dat": {400}, "scalarlg.dat": None, "quotbal.dat": {400}, "ltgtruri.dat": {400},
    "lwsruri.dat": {400}, "lwsstart.dat": {400}, "trws.dat": {400}, "escruri.dat": {400},
    "baddate.dat": {400}, "regbadct.dat": {400}, "badaspec.dat": {400}, "baddn.dat": {400},
    "badvers.dat": {505}, "mismatch01.dat": {400}, "mismatch02.dat": {501, 400},
    "bigcode.dat": None, "badbranch.dat": {400, 200}, "insuf.dat": {400}, "unkscm.dat": {416},
    "novelsc.dat": {416}, "unksm2.dat": {400}, "bext01.dat": {420}, "invut.dat": {415},
    "regaut01.dat": {401}, "multi01.dat": {400}, "mcl01.dat": {400}, "bcast.dat": None,
    "zeromf.dat": {200}, "cparam01.dat": {401}, "cparam02.dat": {401}, "regescrt.dat": {401},
    "sdp01.dat": {406, 400}, "inv2543.dat": {403},
}
# wsinv carries a To tag: a request inside a dialog we do not have, so 481 (RFC 3261 §12.2.2)
# is how a UAS that parsed it correctly answers.
EXPECTED["wsinv.dat"] = {481}

SERVER_PORT = 15060


def header_value(message, names):
    """First value of a header (any of `names`, case-insensitive), unfolded."""
    head = message.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() in names:
            return value.strip()
    return None


def reply_port(message):
    """Where the server sends its answer: the top Via's sent-by port (default 5060)."""
    via = header_value(message, {b"via", b"v"}) or b""
    sent_by = via.split(b";", 1)[0].split(b",", 1)[0].strip().split(b" ")[-1]
    match = re.search(rb"\]:(\d+)$|^[^\[\]:]+:(\d+)$", sent_by)
    if match:
        return int(match.group(1) or match.group(2))
    return 5060


def transaction_key(message):
    """RFC 3261 §17.2.3 server transaction key: branch, sent-by, method (ACK as INVITE)."""
    via = (header_value(message, {b"via", b"v"}) or b"").lower()
    method = message.split(b" ", 1)[0]
    return (re.sub(rb"\s+", b"", via.split(b",", 1)[0]), b"INVITE" if method == b"ACK" else method)


def matches(response, call_id, branch):
    if call_id is not None:
        return header_value(response, {b"call-id", b"i"}) == call_id
    return branch is not None and branch in response


def main():
    binary, testdata = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="rfc4475-")
    config = os.path.join(work, "opencec.toml")
    with open(config, "w") as f:
        f.write(
            f'[sip]\nlisten = ["udp:127.0.0.1:{SERVER_PORT}"]\n'
            # Several vectors reuse one branch and sent-by: with T1 = 20 ms a transaction
            # lives 1.28 s (timer J), so the next vector with the same key is a new request
            # rather than a retransmission of the last one.
            "t1_ms = 20\nt2_ms = 80\nt4_ms = 100\n"
            '[[sip.trunks]]\nname = "torture"\naddress = "127.0.0.1:5060"\n'
            'allow_from = ["127.0.0.1"]\nprobe_interval_s = 0\n'
        )
    log = open(os.path.join(work, "server.log"), "w+")  # noqa: SIM115 (read while it grows)
    server = subprocess.Popen(
        [binary, "serve", "--config", config, "--data-dir", os.path.join(work, "data")],
        stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "OPENCEC_HTTP__LISTEN": "127.0.0.1:0"},
    )
    failures = []
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            log.seek(0)
            if "ready;" in log.read():
                break
            time.sleep(0.05)
        else:
            raise SystemExit("server not ready:\n" + open(log.name).read())
        target = ("127.0.0.1", SERVER_PORT)
        last_use = {}
        for name in sorted(EXPECTED):
            data = open(os.path.join(testdata, name), "rb").read()
            expected = EXPECTED[name]
            call_id = header_value(data, {b"call-id", b"i"})
            branch_match = re.search(rb"branch=([^;\s,]+)", data)
            branch = branch_match.group(1) if branch_match else None
            port = reply_port(data)
            key = transaction_key(data)
            if key in last_use:
                wait = last_use[key] + 1.5 - time.time()
                if wait > 0:
                    time.sleep(wait)
            last_use[key] = time.time()
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
            sock.sendto(data, target)
            got = None
            end = time.time() + (0.4 if expected is None else 2.0)
            while time.time() < end:
                sock.settimeout(max(0.01, end - time.time()))
                try:
                    response, _ = sock.recvfrom(65536)
                except socket.timeout:
                    break
                if matches(response, call_id, branch):
                    got = int(response.split(b" ", 2)[1])
                    break
            sock.close()
            ok = (got is None) if expected is None else (got in expected)
            print(f"{name:16} expected {str(sorted(expected)) if expected else 'no answer':14} got {got}  {'ok' if ok else 'FAIL'}")
            if not ok:
                failures.append(name)
            if server.poll() is not None:
                failures.append(f"server exited after {name}")
                break
        # The server still serves legitimate traffic.
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        options = (
            f"OPTIONS sip:127.0.0.1:{SERVER_PORT} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKafter;rport\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:check@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
            f"Call-ID: after-torture\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        sock.sendto(options, target)
        sock.settimeout(2)
        try:
            response, _ = sock.recvfrom(65536)
            status = int(response.split(b" ", 2)[1])
        except socket.timeout:
            status = None
        print(f"{'final OPTIONS':16} expected [200]          got {status}  {'ok' if status == 200 else 'FAIL'}")
        if status != 200:
            failures.append("final OPTIONS")
    finally:
        server.terminate()
        try:
            code = server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            code = "killed"
        if code != 0:
            failures.append(f"server exit status {code}")
        log.seek(0)
        panics = [l for l in log.read().splitlines() if "panicked" in l]
        if panics:
            failures.append("panic in server log: " + panics[0])
    if failures:
        print("FAILURES:", ", ".join(failures))
        sys.exit(1)
    print("all RFC 4475 vectors handled as expected")


if __name__ == "__main__":
    main()

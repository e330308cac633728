"""Measurements for the call-path benchmark (bench.py): CPU and memory of processes from /proc,
UDP counters, and SIPp's outputs (per-second statistics, per-call timers, log lines).

Every function reads files or /proc only; nothing here starts or stops a process."""

import csv
import glob
import os

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _children(pid):
    """Direct children of `pid` (threads are already counted in the parent's stat)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _family(pids):
    found = []
    for pid in pids:
        found.append(pid)
        found.extend(_children(pid))
    return found


def cpu_ticks(pids):
    """utime + stime (clock ticks) of the processes and their direct children."""
    total = 0
    for pid in _family(pids):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # from field 3 on: the name may hold spaces
        total += int(fields[11]) + int(fields[12])  # fields 14 (utime) and 15 (stime)
    return total


def rss_kib(pids):
    """Resident set size (KiB) of the processes and their direct children."""
    total = 0
    for pid in _family(pids):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total


def udp_counters():
    """System-wide UDP OutDatagrams and RcvbufErrors (/proc/net/snmp). Sent, not received:
    the benchmark's own SIPp sockets drop what they never read (the agents' RTP socket)."""
    with open("/proc/net/snmp") as f:
        lines = [line.split() for line in f if line.startswith("Udp:")]
    head, values = lines[0], lines[1]
    row = dict(zip(head[1:], (int(v) for v in values[1:])))
    return row.get("OutDatagrams", 0), row.get("RcvbufErrors", 0)


def udp_socket_drops(ports=(), pids=()):
    """Datagrams dropped by UDP sockets (/proc/net/udp `drops`): those bound to one of
    `ports` on any address, plus every UDP socket the processes `pids` hold."""
    inodes = set()
    for pid in _family(pids):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            continue
    total = 0
    ports = {int(p) for p in ports}
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    port = int(cols[1].rsplit(":", 1)[1], 16)
                    if port in ports or cols[9] in inodes:
                        total += int(cols[-1])
        except (OSError, StopIteration, IndexError, ValueError):
            continue
    return total


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Sample:
    """CPU ticks of several process groups and the UDP counters at one instant."""

    def __init__(self, groups, clock):
        self.time = clock()
        self.ticks = {name: cpu_ticks(pids) for name, pids in groups.items()}
        self.udp = udp_counters()


def cpu_percent(first, second, name):
    """CPU use of one group between two samples; 100 = one core."""
    wall = second.time - first.time
    if wall <= 0:
        return 0.0
    return 100.0 * (second.ticks[name] - first.ticks[name]) / CLK_TCK / wall


def udp_rates(first, second):
    """(datagrams sent per second, receive-buffer drops) between two samples."""
    wall = second.time - first.time
    sent = (second.udp[0] - first.udp[0]) / wall if wall > 0 else 0.0
    return sent, second.udp[1] - first.udp[1]


# --- SIPp outputs ---------------------------------------------------------------------------


def read_stat(path):
    """SIPp's -trace_stat file: one dict per row, plus `t` = seconds since SIPp started."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f, delimiter=";"))
    except OSError:
        return []
    if not rows:
        return []
    head = rows[0]
    out = []
    for row in rows[1:]:
        if len(row) < len(head) - 1:
            continue
        d = dict(zip(head, row))
        try:
            start = float(d["StartTime"].split("\t")[-1])
            d["t"] = float(d["CurrentTime"].split("\t")[-1]) - start
        except (KeyError, ValueError):
            continue
        out.append(d)
    return out


def count(row, name):
    try:
        return int(row[name])
    except (KeyError, ValueError):
        return 0


def totals(rows):
    """The last row's cumulative counters."""
    last = rows[-1] if rows else {}
    return {
        "ok": count(last, "SuccessfulCall(C)"),
        "failed": count(last, "FailedCall(C)"),
        "retrans": count(last, "Retransmissions(C)"),
        "created": count(last, "TotalCallCreated"),
        "current": count(last, "CurrentCall"),
        "unexpected": count(last, "FailedUnexpectedMessage(C)"),
        "max_retrans": count(last, "FailedMaxUDPRetrans(C)"),
        "timeout_recv": count(last, "FailedTimeoutOnRecv(C)"),
    }


def window_rate(rows, start, end, name="SuccessfulCall(C)"):
    """Per-second rate of a cumulative counter between `start` and `end` s (SIPp time)."""
    inside = [r for r in rows if start <= r["t"] <= end]
    if len(inside) < 2 or inside[-1]["t"] <= inside[0]["t"]:
        return 0.0, 0
    delta = count(inside[-1], name) - count(inside[0], name)
    return delta / (inside[-1]["t"] - inside[0]["t"]), delta


def read_log(path):
    """A SIPp -trace_logs file of lines "<date> <time> <epoch> <event> <key> [...]":
    {event: {key: epoch of its first line}}."""
    events = {}
    try:
        with open(path, errors="replace") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 5:
                    continue
                try:
                    at = float(parts[2])
                except ValueError:
                    continue
                events.setdefault(parts[3], {}).setdefault(parts[4], at)
    except OSError:
        pass
    return events


def count_log(path, word, extra=None):
    """Lines of a SIPp log file whose event is `word` (and 6th field `extra`, if given)."""
    n = 0
    try:
        with open(path, errors="replace") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 4 and parts[3] == word and (
                        extra is None or (len(parts) >= 6 and parts[5] == extra)):
                    n += 1
    except OSError:
        pass
    return n


def delays_ms(start, end, window=None):
    """Sorted delays (ms) from start[key] to end[key], for keys whose start lies in window."""
    out = []
    for key, t1 in end.items():
        t0 = start.get(key)
        if t0 is None or (window and not window[0] <= t0 <= window[1]):
            continue
        out.append((t1 - t0) * 1000)
    return sorted(out)


def percentile(values, p):
    """Nearest-rank percentile of sorted values (None when empty)."""
    if not values:
        return None
    rank = max(1, -(-len(values) * p // 100))  # ceil(n * p / 100)
    return values[int(rank) - 1]


def p50_p99(values):
    """"p50 / p99" text (ms, as SIPp gives them, or with one decimal for finer values)."""
    if not values:
        return "-"

    def fmt(v):
        return f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"

    return f"{fmt(percentile(values, 50))} / {fmt(percentile(values, 99))}"

"""Watch Linux's listen queues for real: the SYN queue, the accept queue, SYN cookies, overflow.

    sudo .venv/bin/python -m tcplesson.queue_capture --out notebooks/data/queues          # all
    sudo .venv/bin/python -m tcplesson.queue_capture --out /tmp/q accept-queue-full

Each experiment runs in a network namespace of its own (``ip netns add``), so that the sysctls it
needs (net.core.somaxconn, net.ipv4.tcp_syncookies, tcp_max_syn_backlog, tcp_abort_on_overflow,
tcp_syn_retries, tcp_synack_retries: all per namespace) and the nftables rules that drop chosen
segments touch nothing outside it; the namespace is deleted afterwards, also on errors. Inside it
the script (this module again, run by ``ip netns exec NS python -m tcplesson.queue_capture
--inside NAME``) listens on 127.0.0.1:5000, connects non-blocking clients from fixed ports
40001, 40002, ..., records every segment with ``tcpdump -i lo``, takes ``ss -tan`` snapshots at
chosen moments and reads the ``nstat`` counters before and after.

Segments are dropped in nftables' *input* hook: tcpdump has already seen them on ``lo``, so a
dropped segment is in NAME.pcap (it was sent; the receiving socket never got it), and each rule's
counter, recorded in the JSON, says how many it took.

It writes NAME.pcap (the experiment's TCP segments, as tcpdump saw them) and NAME.json (sysctls,
every command run, events and snapshots with times in seconds from the first TCP segment, the
counters, the rules, the kernel version). Needs root, ip (iproute2), nft (nftables), tcpdump.
"""
from __future__ import annotations

import argparse
import ctypes
import errno
import io
import json
import os
import platform
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, NamedTuple

import dpkt

HOST = "127.0.0.1"
PORT = 5000
CLIENT_PORT = 40000  # client k (from 1) binds port CLIENT_PORT + k
WAIT = 10.0
POLL = 0.005
COUNTERS = ("TcpExtListenOverflows", "TcpExtListenDrops", "TcpExtSyncookiesSent", "TcpExtSyncookiesRecv",
            "TcpExtSyncookiesFailed", "TcpExtTCPReqQFullDrop", "TcpExtTCPReqQFullDoCookies")
_START, _END = b"queue capture starts", b"queue capture ends"
_TABLE = "inet lq"  # the nftables table the experiments put their rules in
_libc = ctypes.CDLL(None, use_errno=True)


class QueueCaptureError(RuntimeError):
    """The experiment cannot run here, or the kernel did not do what it was set up to show."""


def missing() -> str | None:
    """Why the experiments cannot run on this machine (not root, a tool missing), or None."""
    reasons = []
    if os.geteuid() != 0:
        reasons.append("root (namespaces, nftables and tcpdump need it)")
    for tool, package in (("ip", "iproute2"), ("ss", "iproute2"), ("nstat", "iproute2"),
                          ("nft", "nftables"), ("tcpdump", "tcpdump"), ("sysctl", "procps")):
        if shutil.which(tool) is None:
            reasons.append(f"{tool} (Debian package {package})")
    if not reasons and subprocess.run(["ip", "netns", "list"], capture_output=True).returncode != 0:
        reasons.append("network namespaces (`ip netns list` fails)")
    return "the listen-queue experiments need " + " and ".join(reasons) if reasons else None


# --- the experiments: each is a script of socket calls, drops and snapshots ---------------------

class Experiment(NamedTuple):
    """One experiment: the sysctls it sets in its namespace and the script that runs inside it."""

    name: str
    description: str
    sysctls: dict
    script: Callable


def _accept_queue_full(lab: "_Lab") -> None:
    lab.listen(2)
    for k in range(1, 7):
        lab.connect(k)
        lab.pause(0.2)
        lab.snapshot(f"after client {k} connected")
    lab.pause_until(4.6)  # past the last client's connect() timeout (3 s after its first SYN)
    lab.snapshot("end")


def _ack_dropped(lab: "_Lab", abort: bool) -> None:
    lab.listen(2)
    lab.hold_acks(client=3)
    for k in (1, 2, 3):
        lab.connect(k)
        lab.pause(0.1)
    lab.snapshot("clients 1-3 connected; client 3's ACK held")
    lab.connect(4)
    lab.pause(0.1)
    lab.snapshot("client 4 connected: accept queue full")
    lab.release()
    if abort:
        lab.pause_until(2.0)  # the SYN,ACK retransmission about 1 s after client 3's SYN
        lab.snapshot("after the SYN,ACK retransmission")
        return
    lab.pause_until(2.0)
    lab.snapshot("after the first SYN,ACK retransmission")
    lab.accept(1)
    lab.snapshot("server accepted one connection")
    lab.pause_until(4.0)  # the second retransmission, 3 s after the SYN
    lab.snapshot("after the second SYN,ACK retransmission")


def _half_open_held(lab: "_Lab") -> None:
    lab.listen(8)
    lab.hold_acks()
    for k in (1, 2, 3):
        lab.connect(k)
        lab.pause(0.1)
    for t in (0.5, 2.0, 5.0, 6.9, 7.6):
        lab.pause_until(t)
        lab.snapshot(f"at {t} s")
    lab.release()
    lab.send(1, b"x")  # the server has forgotten this connection: the listener answers RST
    lab.pause(0.2)
    lab.snapshot("client 1 sent a byte")


def _syn_queue_full(lab: "_Lab", clients: int) -> None:
    lab.listen(4)
    lab.hold_acks()
    for k in range(1, clients + 1):
        lab.connect(k)
        lab.pause(0.1)
    lab.snapshot("all clients connected, ACKs held")
    lab.pause_until(2.5)
    lab.snapshot("before the ACKs are let through")
    lab.release()
    for k in range(1, clients + 1):
        lab.send(k, b"x")  # its ACK completes the handshake (a cookie's: SyncookiesRecv)
        lab.pause(0.05)
        lab.accept_ready()  # keep the accept queue from overflowing
    lab.pause_until(3.6)
    lab.accept_ready()
    lab.snapshot("end")


def _syn_backlog_quarter(lab: "_Lab") -> None:
    lab.listen(64)
    lab.hold_acks()
    for k in range(1, 11):
        lab.connect(k)
        lab.pause(0.05)
    lab.snapshot("ten clients connected, ACKs held")
    lab.pause_until(1.5)
    lab.snapshot("end")


def _syn_cookies_always(lab: "_Lab") -> None:
    lab.listen(4)
    for k in (1, 2):
        lab.connect(k)
        lab.pause(0.1)
        lab.snapshot(f"after client {k} connected")
    for k in (1, 2):
        lab.send(k, b"x")
    lab.pause(0.1)
    lab.accept_ready()
    lab.snapshot("end")


def _backlog_values(lab: "_Lab") -> None:
    for port, backlog in ((5001, 3), (5002, 100), (5003, -1)):
        lab.listen(backlog, port=port)
    lab.listen(0)
    lab.snapshot("four listeners")
    for k in (1, 2):
        lab.connect(k)
        lab.pause(0.2)
        lab.snapshot(f"after client {k} connected to the listen(0) socket")
    lab.pause_until(3.8)  # past client 2's connect() timeout
    lab.snapshot("end")


EXPERIMENTS = {e.name: e for e in (
    Experiment("accept-queue-full", "listen(2), never accept(); six clients connect 0.2 s apart",
               {"net.ipv4.tcp_syn_retries": 1}, _accept_queue_full),
    Experiment("ack-dropped-on-overflow",
               "listen(2); client 3's handshake ACK is held while client 4 fills the accept queue; "
               "then its ACKs (answers to SYN,ACK retransmissions) arrive at a full queue; the server "
               "accept()s one connection at 2 s; tcp_abort_on_overflow=0",
               {"net.ipv4.tcp_abort_on_overflow": 0, "net.ipv4.tcp_synack_retries": 3},
               lambda lab: _ack_dropped(lab, abort=False)),
    Experiment("ack-dropped-on-overflow-abort", "the same with tcp_abort_on_overflow=1 and no accept()",
               {"net.ipv4.tcp_abort_on_overflow": 1, "net.ipv4.tcp_synack_retries": 3},
               lambda lab: _ack_dropped(lab, abort=True)),
    Experiment("half-open-held", "listen(8); every client->server pure ACK is dropped; three clients",
               {"net.ipv4.tcp_synack_retries": 2}, _half_open_held),
    Experiment("syn-queue-full-cookies",
               "listen(4), ACKs dropped until 2.5 s, seven clients 0.1 s apart, tcp_syncookies=1; then "
               "each client sends one byte and the server accepts what is ready",
               {"net.ipv4.tcp_syncookies": 1, "net.ipv4.tcp_synack_retries": 2}, lambda lab: _syn_queue_full(lab, 7)),
    Experiment("syn-queue-full-no-cookies", "the same with tcp_syncookies=0",
               {"net.ipv4.tcp_syncookies": 0, "net.ipv4.tcp_synack_retries": 2, "net.ipv4.tcp_syn_retries": 2},
               lambda lab: _syn_queue_full(lab, 7)),
    Experiment("syn-backlog-quarter",
               "listen(64), tcp_max_syn_backlog=8, tcp_syncookies=0, ACKs dropped; ten clients 0.05 s apart",
               {"net.ipv4.tcp_syncookies": 0, "net.ipv4.tcp_max_syn_backlog": 8, "net.ipv4.tcp_syn_retries": 1},
               _syn_backlog_quarter),
    Experiment("syn-cookies-always", "listen(4), tcp_syncookies=2, two clients each send one byte",
               {"net.ipv4.tcp_syncookies": 2}, _syn_cookies_always),
    Experiment("backlog-values",
               "somaxconn=5; listen(3), listen(100), listen(-1) and listen(0); two clients connect to the "
               "listen(0) socket",
               {"net.core.somaxconn": 5, "net.ipv4.tcp_syn_retries": 1}, _backlog_values),
)}


def experiment(name) -> Experiment:
    """The experiment called ``name`` (one of EXPERIMENTS)."""
    if not isinstance(name, str):
        raise TypeError(f"the experiment name must be a string, got {type(name).__name__}")
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose one of: {', '.join(EXPERIMENTS)}")
    return EXPERIMENTS[name]


# --- outside: one namespace per experiment -------------------------------------------------------

def capture(name, out_dir) -> dict:
    """Run one experiment in a fresh network namespace; write NAME.pcap and NAME.json into ``out_dir``."""
    exp = experiment(name)
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a directory name, got {type(out_dir).__name__}")
    reason = missing()
    if reason:
        raise QueueCaptureError(reason)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    ns = f"tlq{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True, timeout=WAIT)
    try:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True,
                       capture_output=True, timeout=WAIT)
        inner = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m", "tcplesson.queue_capture",
                                "--inside", exp.name, "--out", str(out)],
                               capture_output=True, text=True, timeout=60)
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=WAIT)
    if inner.returncode != 0:
        raise QueueCaptureError(f"{exp.name} failed inside the namespace:\n{inner.stderr.strip()}")
    return json.loads((out / f"{exp.name}.json").read_text())


# --- inside the namespace ------------------------------------------------------------------------

class _Lab:
    """The apparatus of one experiment: the sockets, the rules, tcpdump, the record."""

    def __init__(self, exp: Experiment, raw: Path) -> None:
        self.exp, self.raw = exp, raw
        self.t0 = time.time()  # provisional; times are made relative to the first TCP segment at the end
        self.commands: list[dict] = []
        self.events: list[dict] = []
        self.snapshots: list[dict] = []
        self.listeners: dict[int, socket.socket] = {}
        self.clients: dict[int, socket.socket] = {}
        self.errors: dict[int, str] = {}  # the first error each client's socket reported
        self.accepted: list[socket.socket] = []
        self.tcpdump: subprocess.Popen | None = None
        self.rules: list[str] = []

    # commands
    def run(self, cmd: list[str], check: bool = True) -> str:
        start = time.time()
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=WAIT)
        self.commands.append(dict(at=start, cmd=cmd))
        if check and result.returncode != 0:
            raise QueueCaptureError(f"{' '.join(cmd)} failed: {result.stderr.strip()}")
        return result.stdout

    def event(self, what: str, **info) -> None:
        self.events.append(dict(at=time.time(), what=what, **info))

    def pause(self, seconds: float) -> None:
        time.sleep(seconds)

    def pause_until(self, t: float) -> None:
        """Sleep until ``t`` seconds after the first client's connect()."""
        start = self.events[next(i for i, e in enumerate(self.events) if e["what"] == "connect")]["at"]
        delay = start + t - time.time()
        if delay > 0:
            time.sleep(delay)

    # sockets
    def listen(self, backlog: int, port: int = PORT) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        # libc's listen(), not socket.listen(): Python turns a negative backlog into 0
        if _libc.listen(sock.fileno(), backlog) != 0:
            raise OSError(ctypes.get_errno(), f"listen({backlog}) failed")
        sock.setblocking(False)
        self.listeners[port] = sock
        self.event("listen", port=port, backlog=backlog)

    def connect(self, k: int) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.bind((HOST, CLIENT_PORT + k))
        code = sock.connect_ex((HOST, PORT))
        self.clients[k] = sock
        self.event("connect", client=k, port=CLIENT_PORT + k, returned=errno.errorcode.get(code, str(code)))

    def send(self, k: int, data: bytes) -> None:
        try:
            sent = self.clients[k].send(data)
            self.event("send", client=k, bytes=sent, result="ok")
        except OSError as exc:
            self.event("send", client=k, bytes=0, result=errno.errorcode.get(exc.errno, str(exc.errno)))

    def accept(self, count: int) -> None:
        for _ in range(count):
            conn, peer = self.listeners[PORT].accept()
            self.accepted.append(conn)
            self.event("accept", peer_port=peer[1])

    def accept_ready(self) -> None:
        """accept() every connection that is in the accept queue now."""
        while True:
            try:
                conn, peer = self.listeners[PORT].accept()
            except BlockingIOError:
                return
            self.accepted.append(conn)
            self.event("accept", peer_port=peer[1])

    def client_results(self) -> dict:
        """Each client's socket as the application sees it: connected, still connecting, or the error."""
        out = {}
        for k, sock in self.clients.items():
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)  # reading it clears it: keep it
            if err:
                self.errors.setdefault(k, errno.errorcode.get(err, str(err)))
            if k in self.errors:
                out[str(k)] = self.errors[k]
                continue
            try:
                sock.getpeername()
                out[str(k)] = "connected"
            except OSError:
                out[str(k)] = "connecting"
        return out

    # nftables: drop segments in the input hook (tcpdump on lo has seen them already)
    def hold_acks(self, client: int | None = None) -> None:
        """Drop client->server segments that carry only ACK (the handshake's last one among them)."""
        self.run(["nft", "add", "table", *_TABLE.split()])
        self.run(["nft", "add", "chain", *_TABLE.split(), "in", "{ type filter hook input priority 0; }"])
        match = ["tcp", "dport", str(PORT)] + (["tcp", "sport", str(CLIENT_PORT + client)] if client else [])
        rule = match + ["tcp", "flags", "==", "ack", "counter", "drop"]
        self.run(["nft", "add", "rule", *_TABLE.split(), "in", *rule])
        self.rules.append(" ".join(rule))
        self.event("drop rule on", rule=" ".join(rule))

    def release(self) -> None:
        """Record the rule counters, then remove the rules: segments pass again."""
        listing = self.run(["nft", "list", "chain", *_TABLE.split(), "in"])
        self.run(["nft", "flush", "chain", *_TABLE.split(), "in"])
        counters = [line.strip() for line in listing.splitlines() if "counter" in line]
        self.event("drop rule off", counters=counters)

    # what the kernel shows
    def snapshot(self, label: str) -> None:
        start = time.time()
        tan = self.run(["ss", "-tan"])
        ltn = self.run(["ss", "-ltn"])
        self.snapshots.append(dict(label=label, at=start, sockets=_ss_rows(tan), listeners=_ss_rows(ltn),
                                   clients=self.client_results()))

    def counters(self) -> dict:
        text = self.run(["nstat", "-asz", *COUNTERS])
        values = dict.fromkeys(COUNTERS, 0)
        for line in text.splitlines():
            fields = line.split()
            if fields and fields[0] in values:
                values[fields[0]] = int(fields[1])
        return values

    def sysctl(self, settings: dict) -> dict:
        for key, value in settings.items():
            self.run(["sysctl", "-w", f"{key}={value}"])
        names = ["net.core.somaxconn", "net.ipv4.tcp_syncookies", "net.ipv4.tcp_max_syn_backlog",
                 "net.ipv4.tcp_abort_on_overflow", "net.ipv4.tcp_syn_retries", "net.ipv4.tcp_synack_retries",
                 "net.ipv4.tcp_syn_linear_timeouts"]
        text = self.run(["sysctl", *names])
        return {line.split(" = ")[0]: int(line.split(" = ")[1]) for line in text.splitlines() if " = " in line}

    # tcpdump with start and end markers, as in tcplesson.capture
    def start_tcpdump(self) -> list[str]:
        cmd = ["tcpdump", "-i", "lo", "-nn", "-U", "--immediate-mode", "-Z", "root", "-w", str(self.raw),
               "tcp or udp port 9"]
        self.tcpdump = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        ready, _, _ = select.select([self.tcpdump.stderr], [], [], WAIT)
        line = self.tcpdump.stderr.readline().decode(errors="replace") if ready else ""
        if "listening on" not in line:
            raise QueueCaptureError(f"tcpdump did not start: {line.strip() or 'no answer'}")
        self._marker(_START)
        return [a if a != str(self.raw) else "raw.pcap" for a in cmd]

    def stop_tcpdump(self) -> None:
        self._marker(_END)
        self.tcpdump.terminate()
        self.tcpdump.wait(timeout=WAIT)

    def _marker(self, text: bytes) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(text, (HOST, 9))
        deadline = time.monotonic() + WAIT
        while not (self.raw.exists() and text in self.raw.read_bytes()):
            if time.monotonic() > deadline:
                raise QueueCaptureError(f"tcpdump did not record the {text.decode()!r} marker")
            time.sleep(POLL)

    def close(self) -> None:
        if self.tcpdump is not None:
            if self.tcpdump.poll() is None:
                self.tcpdump.terminate()
                self.tcpdump.wait(timeout=WAIT)
            self.tcpdump.stderr.close()
        for sock in [*self.clients.values(), *self.accepted, *self.listeners.values()]:
            sock.close()


def _ss_rows(text: str) -> list[dict]:
    rows = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 5:
            rows.append(dict(state=fields[0], recv_q=int(fields[1]), send_q=int(fields[2]),
                             local=fields[3], peer=fields[4]))
    return rows


def _inside(name: str, out_dir: Path) -> None:
    exp = experiment(name)
    with tempfile.TemporaryDirectory(prefix="tcplesson-q-") as tmp:
        lab = _Lab(exp, Path(tmp) / "raw.pcap")
        try:
            sysctls = lab.sysctl(exp.sysctls)
            tcpdump_cmd = lab.start_tcpdump()
            before = lab.counters()
            exp.script(lab)
            after = lab.counters()
            final_clients = lab.client_results()
            lab.stop_tcpdump()
        finally:
            lab.close()
        data = lab.raw.read_bytes()
    t0 = _first_tcp_time(data)
    rel = lambda t: round(t - t0, 6)  # noqa: E731
    for item in lab.commands + lab.events + lab.snapshots:
        item["at"] = rel(item["at"])
    record = dict(experiment=exp.name, description=exp.description, kernel=platform.release(),
                  tools=dict(tcpdump=_version(["tcpdump", "--version"]), ss=_version(["ss", "-V"]),
                             nft=_version(["nft", "--version"])),
                  server=[HOST, PORT], sysctl_set=exp.sysctls, sysctl=sysctls,
                  tcpdump=tcpdump_cmd, drop_rules=lab.rules, commands=lab.commands, events=lab.events,
                  snapshots=lab.snapshots, clients=final_clients,
                  counters=dict(before=before, after=after,
                                delta={k: after[k] - before[k] for k in COUNTERS}))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{exp.name}.pcap").write_bytes(_tcp_only(data))
    (out_dir / f"{exp.name}.json").write_text(json.dumps(record, indent=1) + "\n")


def _tcp_only(data: bytes) -> bytes:
    """The capture without the UDP marker datagrams (the TCP packets' bytes are copied unchanged)."""
    reader = dpkt.pcap.Reader(io.BytesIO(data))
    out = io.BytesIO()
    writer = dpkt.pcap.Writer(out, snaplen=reader.snaplen, linktype=reader.datalink())
    for ts, buf in reader:
        ip = dpkt.ethernet.Ethernet(buf).data
        if isinstance(ip, dpkt.ip.IP) and ip.p == dpkt.ip.IP_PROTO_TCP:
            writer.writepkt(buf, ts=ts)
    return out.getvalue()


def _first_tcp_time(data: bytes) -> float:
    for ts, buf in dpkt.pcap.Reader(io.BytesIO(data)):
        ip = dpkt.ethernet.Ethernet(buf).data
        if isinstance(ip, dpkt.ip.IP) and ip.p == dpkt.ip.IP_PROTO_TCP:
            return ts
    raise QueueCaptureError("the capture holds no TCP segment")


def _version(cmd: list[str]) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=WAIT)
    lines = [line.strip() for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    return lines[0] if lines else ""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tcplesson.queue_capture", description=__doc__.split("\n\n")[0])
    parser.add_argument("experiments", nargs="*", metavar="NAME",
                        help=f"which to run (default: all): {', '.join(EXPERIMENTS)}")
    parser.add_argument("--out", default="queues", help="directory for NAME.pcap and NAME.json (default: queues)")
    parser.add_argument("--inside", metavar="NAME", help=argparse.SUPPRESS)  # run by capture() in the namespace
    args = parser.parse_args(argv)
    if args.inside:
        _inside(experiment(args.inside).name, Path(args.out))
        return 0
    names = args.experiments or list(EXPERIMENTS)
    for name in names:
        if name not in EXPERIMENTS:
            parser.error(f"unknown experiment {name!r}; choose from: {', '.join(EXPERIMENTS)}")
    reason = missing()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    for name in names:
        record = capture(name, args.out)
        print(f"{name}: clients {record['clients']}, counters {record['counters']['delta']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

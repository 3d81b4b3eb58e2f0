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

import ctypes
import errno
import socket
import sys
import time
from pathlib import Path

from . import netns_lab
from .netns_lab import HOST, Experiment

PORT = 5000
CLIENT_PORT = 40000  # client k (from 1) binds port CLIENT_PORT + k
COUNTERS = ("TcpExtListenOverflows", "TcpExtListenDrops", "TcpExtSyncookiesSent", "TcpExtSyncookiesRecv",
            "TcpExtSyncookiesFailed", "TcpExtTCPReqQFullDrop", "TcpExtTCPReqQFullDoCookies")
SYSCTLS = ("net.core.somaxconn", "net.ipv4.tcp_syncookies", "net.ipv4.tcp_max_syn_backlog",
           "net.ipv4.tcp_abort_on_overflow", "net.ipv4.tcp_syn_retries", "net.ipv4.tcp_synack_retries",
           "net.ipv4.tcp_syn_linear_timeouts")  # read back into the record
_START, _END = b"queue capture starts", b"queue capture ends"
_TABLE = "inet lq"  # the nftables table the experiments put their rules in
_libc = ctypes.CDLL(None, use_errno=True)


class QueueCaptureError(netns_lab.LabError):
    """The experiment cannot run here, or the kernel did not do what it was set up to show."""


def missing() -> str | None:
    """Why the experiments cannot run on this machine (not root, a tool missing), or None."""
    return netns_lab.missing("the listen-queue experiments")


# --- the experiments: each is a script of socket calls, drops and snapshots ---------------------

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


# --- inside the namespace ------------------------------------------------------------------------

class _Lab(netns_lab.Lab):
    """The apparatus of one experiment: the sockets, the rules, tcpdump, the record."""

    def __init__(self, exp: Experiment, raw: Path) -> None:
        super().__init__(raw, (_START, _END), QueueCaptureError)
        self.exp = exp
        self.listeners: dict[int, socket.socket] = {}
        self.clients: dict[int, socket.socket] = {}
        self.errors: dict[int, str] = {}  # the first error each client's socket reported
        self.accepted: list[socket.socket] = []
        self.rules: list[str] = []

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
        self.snapshots.append(dict(label=label, at=start, sockets=netns_lab.ss_rows(tan),
                                   listeners=netns_lab.ss_rows(ltn), clients=self.client_results()))

    def close(self) -> None:
        self.close_tcpdump()
        for sock in [*self.clients.values(), *self.accepted, *self.listeners.values()]:
            sock.close()


def _inside(name: str, out_dir: Path) -> None:
    exp = experiment(name)
    with netns_lab.scratch("tcplesson-q-") as tmp:
        lab = _Lab(exp, Path(tmp) / "raw.pcap")
        seen = netns_lab.observe(lab, exp, SYSCTLS, COUNTERS, at_end=lab.client_results)
    head = dict(experiment=exp.name, description=exp.description, **netns_lab.kernel_and_tools(),
                server=[HOST, PORT], sysctl_set=exp.sysctls, sysctl=seen["sysctls"], tcpdump=seen["tcpdump"],
                drop_rules=lab.rules)
    netns_lab.finish(lab, seen["data"], head, dict(clients=seen["end"], counters=seen["counters"]), out_dir)


def main(argv=None) -> int:
    return netns_lab.main(_TOOL, argv, __doc__, "queues", _inside,
                          lambda record: f"clients {record['clients']}, counters {record['counters']['delta']}")


_TOOL = netns_lab.Tool("tcplesson.queue_capture", "tlq", EXPERIMENTS, QueueCaptureError, missing)
experiment, capture = _TOOL.experiment, _TOOL.capture  # the experiment named, and one run of it


if __name__ == "__main__":
    sys.exit(main())

"""Watch Linux release sockets for real: close() against shutdown(), orphans, TIME-WAIT, RST.

    sudo .venv/bin/python -m tcplesson.socket_capture --out notebooks/data/sockets          # all
    sudo .venv/bin/python -m tcplesson.socket_capture --out mine data-after-close

What a connection does after close() is decided by the kernel alone, out of sight of the program:
an orphaned FIN-WAIT-2 socket that times out, a TIME-WAIT socket that takes a new SYN or answers
it with an old ACK, a RST for data nobody will read, a port that cannot be bound or connected from.
Each experiment here makes one of these happen and records it: the segments on the wire, the
states and timers ``ss`` shows, what every socket call returned, and the kernel's counters.

Each experiment runs in a network namespace of its own (``ip netns add``), so that the sysctls it
shortens or changes (tcp_fin_timeout, tcp_timestamps, tcp_tw_reuse, tcp_max_tw_buckets,
tcp_rfc1337, ip_local_port_range: all per namespace) and the TIME-WAIT sockets it leaves behind
touch nothing outside it; the namespace is deleted afterwards, also on errors. Inside it the
script (this module again, run by ``ip netns exec NS python -m tcplesson.socket_capture --inside
NAME``) listens on 127.0.0.1:5000, connects clients from fixed ports 40001, 40002, ... (or from
the ephemeral range where the experiment is about port choice), records every segment with
``tcpdump -i lo``, takes ``ss -tanoi`` snapshots (states, timers) and reads the ``nstat``
counters before and after. Where a SYN must carry a sequence number or timestamp of our choosing,
it is sent from a raw socket (IP_HDRINCL): no kernel socket owns its port, so the kernel answers
whatever comes back to that port with RST.

It writes NAME.pcap (the experiment's TCP segments, as tcpdump saw them) and NAME.json (sysctls,
every command run, every socket call with what it returned, snapshots, counters, kernel and tool
versions; times in seconds from the first TCP segment). Needs root, ip, ss, nstat (iproute2),
tcpdump.
"""
from __future__ import annotations

import errno
import os
import select
import signal
import socket
import struct
import sys
import time
from pathlib import Path

import dpkt

from . import netns_lab
from .netns_lab import HOST, WAIT, Experiment

PORT = 5000
CLIENT_PORT = 40000  # client k (from 1) binds port CLIENT_PORT + k
COUNTERS = ("TcpExtTCPAbortOnData", "TcpExtTCPAbortOnClose", "TcpExtTCPAbortOnLinger", "TcpExtTCPTimeWaitOverflow",
            "TcpExtTW", "TcpExtTWKilled", "TcpExtTWRecycled", "TcpExtPAWSTimewait", "TcpExtTCPACKSkippedTimeWait",
            "TcpExtTCPACKSkippedFinWait2", "TcpEstabResets", "TcpAttemptFails", "TcpOutRsts")
SYSCTLS = ("net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_timestamps", "net.ipv4.tcp_tw_reuse",
           "net.ipv4.tcp_tw_reuse_delay", "net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_rfc1337",
           "net.ipv4.tcp_orphan_retries", "net.ipv4.ip_local_port_range")  # read back into the record
TOOLS = (("ip", "iproute2"), ("ss", "iproute2"), ("nstat", "iproute2"), ("tcpdump", "tcpdump"), ("sysctl", "procps"))
_START, _END = b"socket capture starts", b"socket capture ends"


class SocketCaptureError(netns_lab.LabError):
    """The experiment cannot run here, or the kernel did not do what it was set up to show."""


def missing() -> str | None:
    """Why the experiments cannot run on this machine (not root, a tool missing), or None."""
    return netns_lab.missing("the socket-release experiments", TOOLS)


def client_port(k: int) -> int:
    return CLIENT_PORT + k


def errname(code: int) -> str:
    return errno.errorcode.get(code, str(code))


# --- the experiments: each is a script of socket calls and snapshots -----------------------------

def _established(lab: "_Lab", k: int = 1, reuse: bool = False, listener_reuse: bool = True) -> None:
    """listener on 5000, "client" from port 4000k, "server" = the accepted socket."""
    lab.listen(reuse=listener_reuse)
    lab.connect("client", port=client_port(k), reuse=reuse)
    lab.accept("server")
    lab.pause(0.05)


def _data_after_close(lab: "_Lab") -> None:
    _established(lab)
    lab.snapshot("established")
    lab.call("server", "close")
    lab.pause(0.1)
    lab.snapshot("server closed")
    lab.call("client", "send", b"x")
    lab.pause(0.1)
    lab.snapshot("client sent a byte")
    lab.call("client", "so_error")
    lab.call("client", "recv")
    lab.call("client", "send", b"y")


def _data_after_shutdown(lab: "_Lab") -> None:
    _established(lab)
    lab.call("server", "shutdown")
    lab.pause(0.1)
    lab.snapshot("server shut down its sending side")
    lab.call("client", "send", b"x")
    lab.pause(0.1)
    lab.snapshot("client sent a byte")
    lab.call("server", "recv")
    lab.call("server", "recv")  # the byte was read; nothing more yet
    lab.call("client", "close")
    lab.pause(0.1)
    lab.call("server", "recv")  # the client's FIN: end of file
    lab.call("server", "close")
    lab.pause(0.1)
    lab.snapshot("both closed")


def _orphan_fin_wait_2(lab: "_Lab") -> None:
    _established(lab)
    lab.call("client", "close")
    for t in (0.3, 1.5, 2.7, 3.6, 4.2):
        lab.pause_until(t, "close")
        lab.snapshot(f"{t} s after close()")
    lab.write_to_gone_peer("server", b"x", b"y", "server sent a byte")


def _shutdown_fin_wait_2(lab: "_Lab") -> None:
    _established(lab)
    lab.call("client", "shutdown")
    for t in (0.3, 3.6, 9.3):
        lab.pause_until(t, "shutdown")
        lab.snapshot(f"{t} s after shutdown()")
    lab.call("server", "send", b"x")
    lab.pause(0.1)
    lab.call("client", "recv")
    lab.snapshot("server sent a byte")


def _close_server_first(lab: "_Lab") -> None:
    """The server closes first; the client follows: TIME-WAIT on the server's side."""
    lab.call("server", "close")
    lab.pause(0.05)
    lab.call("client", "close")
    lab.pause(0.05)


def _bind_in_use(lab: "_Lab", listener_reuse: bool) -> None:
    _established(lab, listener_reuse=listener_reuse)
    _close_server_first(lab)
    lab.call("listener", "close")
    lab.snapshot("listener closed; the server's side in TIME-WAIT")
    lab.call("plain", "bind", PORT)
    lab.call("reuse", "bind", PORT, reuse=True)
    if listener_reuse:
        lab.call("reuse", "listen")
    lab.snapshot("after the binds")


def _syn_to_time_wait_accepted(lab: "_Lab") -> None:
    _established(lab, reuse=True)
    lab.call("client", "send", b"hello")
    lab.call("server", "recv")
    _close_server_first(lab)
    lab.snapshot("server in TIME-WAIT")
    lab.connect("client2", port=client_port(1), reuse=True)
    lab.accept("server2")
    lab.pause(0.05)
    lab.snapshot("client reconnected from the same port")


def _time_wait_numbers(lab: "_Lab") -> dict:
    """From the capture so far: the TIME-WAIT side's RCV.NXT and the client's last TSval."""
    segs = [tcp for _, tcp in lab.segments() if tcp.sport == client_port(1) and tcp.dport == PORT]
    fin = next(tcp for tcp in reversed(segs) if tcp.flags & dpkt.tcp.TH_FIN)
    rcv_nxt = (fin.seq + len(fin.data) + 1) % 2**32
    tsval = _tsval(segs[-1])
    return dict(rcv_nxt=rcv_nxt, last_tsval=tsval)


def _tsval(tcp) -> int | None:
    for kind, data in dpkt.tcp.parse_opts(tcp.opts):
        if kind == dpkt.tcp.TCP_OPT_TIMESTAMP:
            return struct.unpack("!II", data)[0]
    return None


def _syn_below_rcv_nxt(lab: "_Lab", newer_timestamp: bool) -> None:
    _established(lab)
    lab.call("client", "send", b"hello")
    lab.call("server", "recv")
    _close_server_first(lab)
    lab.snapshot("server in TIME-WAIT")
    numbers = _time_wait_numbers(lab)
    seq = (numbers["rcv_nxt"] - 100000) % 2**32  # below the old RCV.NXT
    tsval = (numbers["last_tsval"] + 1000) % 2**32 if newer_timestamp else None
    lab.event("time-wait numbers", **numbers)
    lab.raw_syn(client_port(1), seq, tsval)
    lab.pause(0.2)
    lab.snapshot("after the SYN")


def _linger_zero(lab: "_Lab") -> None:
    _established(lab)
    lab.call("client", "linger0")
    lab.call("client", "close")
    lab.pause(0.1)
    lab.snapshot("client closed with SO_LINGER {1, 0}")
    lab.call("server", "recv")
    lab.call("server", "send", b"x")


def _killed_process(lab: "_Lab", unread: bool) -> None:
    lab.listen()
    lab.fork_client("child", client_port(1))
    lab.accept("server")
    if unread:
        lab.call("server", "send", b"unread")
    lab.pause(0.1)
    lab.snapshot("child connected")
    lab.kill_child("child")
    lab.pause(0.1)
    lab.snapshot("child killed")
    lab.call("server", "recv")
    lab.call("server", "send", b"x")
    lab.pause(0.1)
    lab.call("server", "send", b"y")
    lab.call("server", "close")
    lab.pause(0.1)
    lab.snapshot("server closed")


def _one_round(lab: "_Lab", k: int, port: int | None) -> bool:
    """Client k connects (from ``port``, or an ephemeral port), the server accepts, the client
    closes first and the server follows: TIME-WAIT on the client's side. False if connect() failed."""
    if not lab.connect(f"client{k}", port=port):
        return False
    lab.accept(f"server{k}")
    lab.call(f"client{k}", "close")
    lab.pause(0.02)
    lab.call(f"server{k}", "close")
    lab.pause(0.02)
    return True


def _port_exhaustion(lab: "_Lab") -> None:
    lab.listen(backlog=16)
    k = 0
    while k < 6:
        k += 1
        if not _one_round(lab, k, None):
            break
    lab.snapshot("ports used up")


def _port_exhaustion_tw_reuse(lab: "_Lab") -> None:
    lab.listen(backlog=16)
    for k in range(1, 5):
        _one_round(lab, k, None)
    lab.snapshot("four ports in TIME-WAIT")
    _one_round(lab, 5, None)  # at once: the TIME-WAIT sockets are younger than tcp_tw_reuse_delay
    lab.pause_until(1.5, "connect")
    _one_round(lab, 6, None)  # 1.5 s after the first: old enough
    lab.snapshot("after the later connect")


def _max_tw_buckets(lab: "_Lab") -> None:
    lab.listen(backlog=16)
    for k in range(1, 5):
        _one_round(lab, k, client_port(k))
        lab.snapshot(f"after connection {k}")


EXPERIMENTS = {e.name: e for e in (
    Experiment("data-after-close",
               "the server close()s with nothing unread (FIN; the client is in CLOSE-WAIT), then the client "
               "sends one byte; tcp_fin_timeout at its default 60 s",
               {}, _data_after_close),
    Experiment("data-after-close-long-fin-timeout",
               "the same with tcp_fin_timeout=120: longer than TIME-WAIT, so the orphan stays a full socket",
               {"net.ipv4.tcp_fin_timeout": 120}, _data_after_close),
    Experiment("data-after-shutdown",
               "the server calls shutdown(SHUT_WR) and keeps the socket; the client sends one byte",
               {}, _data_after_shutdown),
    Experiment("orphan-fin-wait-2",
               "tcp_fin_timeout=3; the client close()s, the server never closes; at 4.2 s the server sends a byte",
               {"net.ipv4.tcp_fin_timeout": 3}, _orphan_fin_wait_2),
    Experiment("shutdown-fin-wait-2",
               "tcp_fin_timeout=3; the client calls shutdown(SHUT_WR) and keeps the socket; the server never "
               "closes; at 9.3 s the server sends a byte",
               {"net.ipv4.tcp_fin_timeout": 3}, _shutdown_fin_wait_2),
    Experiment("bind-in-use",
               "the server closes first (TIME-WAIT on 127.0.0.1:5000); the listener (SO_REUSEADDR) is closed; "
               "a new socket binds 127.0.0.1:5000 without SO_REUSEADDR, another with it and listens",
               {}, lambda lab: _bind_in_use(lab, listener_reuse=True)),
    Experiment("bind-in-use-listener-without-reuseaddr",
               "the same, but the first listener did not set SO_REUSEADDR (and nothing listens afterwards)",
               {}, lambda lab: _bind_in_use(lab, listener_reuse=False)),
    Experiment("syn-to-time-wait-accepted",
               "the server closes first (TIME-WAIT on its side of 5000 <-> 40001); the client reconnects at "
               "once from port 40001 (SO_REUSEADDR); timestamps on",
               {"net.ipv4.tcp_timestamps": 1}, _syn_to_time_wait_accepted),
    Experiment("syn-to-time-wait-rejected",
               "tcp_timestamps=0; the server closes first; a raw SYN from 127.0.0.1:40001 with a sequence "
               "number 100000 below the TIME-WAIT socket's RCV.NXT; tcp_rfc1337=0",
               {"net.ipv4.tcp_timestamps": 0, "net.ipv4.tcp_rfc1337": 0},
               lambda lab: _syn_below_rcv_nxt(lab, newer_timestamp=False)),
    Experiment("syn-to-time-wait-rejected-rfc1337", "the same with tcp_rfc1337=1",
               {"net.ipv4.tcp_timestamps": 0, "net.ipv4.tcp_rfc1337": 1},
               lambda lab: _syn_below_rcv_nxt(lab, newer_timestamp=False)),
    Experiment("syn-to-time-wait-newer-timestamp",
               "timestamps on; the same raw SYN below RCV.NXT, carrying a TSval 1000 above the client's last",
               {"net.ipv4.tcp_timestamps": 1}, lambda lab: _syn_below_rcv_nxt(lab, newer_timestamp=True)),
    Experiment("linger-zero", "the client sets SO_LINGER {1, 0} and close()s", {}, _linger_zero),
    Experiment("killed-process",
               "a child process holding a connected socket (nothing unread) is killed with SIGKILL",
               {}, lambda lab: _killed_process(lab, unread=False)),
    Experiment("killed-process-unread",
               "the same, but the server had sent the child 6 bytes it never read",
               {}, lambda lab: _killed_process(lab, unread=True)),
    Experiment("port-exhaustion",
               "ip_local_port_range 40000-40003, tcp_tw_reuse=0: clients connect() without bind(), close "
               "first (TIME-WAIT on the client's side), until connect() fails",
               {"net.ipv4.ip_local_port_range": "40000 40003", "net.ipv4.tcp_tw_reuse": 0}, _port_exhaustion),
    Experiment("port-exhaustion-tw-reuse",
               "the same with tcp_tw_reuse=1, timestamps on: four connections, a fifth at once, a sixth 1.5 s "
               "after the first",
               {"net.ipv4.ip_local_port_range": "40000 40003", "net.ipv4.tcp_tw_reuse": 1,
                "net.ipv4.tcp_timestamps": 1}, _port_exhaustion_tw_reuse),
    Experiment("port-exhaustion-tw-reuse-no-timestamps", "the same with tcp_timestamps=0",
               {"net.ipv4.ip_local_port_range": "40000 40003", "net.ipv4.tcp_tw_reuse": 1,
                "net.ipv4.tcp_timestamps": 0}, _port_exhaustion_tw_reuse),
    Experiment("max-tw-buckets",
               "tcp_max_tw_buckets=2; four connections from ports 40001-40004, each closed by the client first",
               {"net.ipv4.tcp_max_tw_buckets": 2}, _max_tw_buckets),
)}


# --- inside the namespace ------------------------------------------------------------------------

def recv_now(sock: socket.socket, size: int) -> str:
    """recv() without waiting: what is there now (BlockingIOError, EAGAIN, if nothing is)."""
    sock.setblocking(False)
    try:
        return sock.recv(size).decode()
    finally:
        sock.settimeout(WAIT)


class SocketLab(netns_lab.Lab):
    """The apparatus of one experiment with sockets: named sockets, a child process that holds one,
    ``ss`` snapshots and the capture so far (socket_capture's and loss_capture's experiments)."""

    SYNC = b"socket capture sync %d"  # the marker that makes tcpdump write out what it has

    def __init__(self, exp: Experiment, raw: Path, markers: tuple[bytes, bytes], error=netns_lab.LabError) -> None:
        super().__init__(raw, markers, error)
        self.exp = exp
        self.socks: dict[str, socket.socket] = {}
        self.children: dict[str, int] = {}
        self.syncs = 0

    RECV_SIZE = 100  # what a recv() asks for

    def call(self, name: str, op: str, arg=None, **more) -> None:
        """One socket call on the named socket (made if new), recorded with what it returned: "ok"
        (and the value), the errno's name, or "timeout". send, recv (without waiting), so_error
        (reading it clears it) and close here; a subclass's other_call() does the rest."""
        if name not in self.socks:
            self.socks[name] = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock = self.socks[name]
        info = dict(sock=name)
        try:
            if op == "send":
                info["sent"] = sock.send(arg)
            elif op == "recv":
                info["data"] = recv_now(sock, self.RECV_SIZE)
            elif op == "so_error":
                info["error"] = errname(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
            elif op == "close":
                sock.close()
            else:
                self.other_call(sock, op, arg, info, **more)
        except OSError as exc:  # a socket timeout has no errno; ETIMEDOUT from the kernel has
            self.event(op, **info, returned="timeout" if exc.errno is None else errname(exc.errno))
            return
        self.event(op, **info, returned="ok")

    def other_call(self, sock: socket.socket, op: str, arg, info: dict, **more) -> None:
        raise ValueError(f"unknown socket call {op!r}")

    def write_to_gone_peer(self, who: str, first: bytes, second: bytes, label: str) -> None:
        """Write to a peer that may be gone, look, read what came back (the error an RST left),
        then write again (what a second write returns: EPIPE after an RST)."""
        self.call(who, "send", first)
        self.pause(0.1)
        self.snapshot(label)
        self.call(who, "recv")
        self.call(who, "send", second)

    def pause_until(self, t: float, what: str) -> None:
        """Sleep until ``t`` seconds after the first event ``what``."""
        start = next(e["at"] for e in self.events if e["what"] == what)
        delay = start + t - time.time()
        if delay > 0:
            time.sleep(delay)

    def accept(self, name: str) -> None:
        listener = self.socks["listener"]
        listener.settimeout(WAIT)
        conn, peer = listener.accept()
        conn.settimeout(WAIT)
        self.socks[name] = conn
        self.event("accept", sock=name, peer_port=peer[1])

    def fork_client(self, name: str, port: int) -> None:
        """A child process that connects from ``port`` and then only sleeps, holding the socket."""
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            try:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.bind((HOST, port))
                sock.connect((HOST, PORT))
                os.write(write, b"connected")
                time.sleep(4 * WAIT)
            finally:
                os._exit(0)
        os.close(write)
        ready, _, _ = select.select([read], [], [], WAIT)
        said = os.read(read, 100) if ready else b""
        os.close(read)
        if said != b"connected":
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise self.error("the child process did not connect")
        self.children[name] = pid
        self.event("child connected", sock=name, port=port, pid=pid)

    def kill_child(self, name: str) -> None:
        pid = self.children.pop(name)
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        self.event("kill", sock=name, signal="SIGKILL", killed=os.WIFSIGNALED(status))

    # what the kernel shows
    def snapshot(self, label: str) -> None:
        start = time.time()
        text = self.run(["ss", "-tanoi"])
        self.snapshots.append(dict(label=label, at=start, sockets=ss_sockets(text)))

    def segments(self) -> list:
        """The TCP segments tcpdump has recorded so far (a marker makes sure it has written them)."""
        self.syncs += 1
        self.mark(self.SYNC % self.syncs)
        return netns_lab.tcp_segments(self.raw.read_bytes())

    def close(self) -> None:
        self.close_tcpdump()
        for pid in self.children.values():
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        for sock in self.socks.values():
            sock.close()


class _Lab(SocketLab):
    """This module's experiments: the listener, connect() and the socket calls they make, raw SYNs."""

    def __init__(self, exp: Experiment, raw: Path) -> None:
        super().__init__(exp, raw, (_START, _END), SocketCaptureError)

    # sockets
    def listen(self, backlog: int = 8, reuse: bool = True) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if reuse:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, PORT))
        sock.listen(backlog)
        self.socks["listener"] = sock
        self.event("listen", sock="listener", port=PORT, backlog=backlog, reuseaddr=reuse)

    def connect(self, name: str, port: int | None, reuse: bool = False) -> bool:
        """A blocking connect() from ``port`` (None: let the kernel choose); True if it succeeded."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(WAIT)
        if reuse:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socks[name] = sock
        try:
            if port is not None:
                sock.bind((HOST, port))
            sock.connect((HOST, PORT))
        except OSError as exc:
            self.event("connect", sock=name, port=port, reuseaddr=reuse, returned=errname(exc.errno))
            return False
        self.event("connect", sock=name, port=sock.getsockname()[1], reuseaddr=reuse, returned="ok")
        return True

    def other_call(self, sock: socket.socket, op: str, arg, info: dict, reuse: bool = False) -> None:
        if op == "shutdown":
            sock.shutdown(socket.SHUT_WR)
        elif op == "linger0":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif op == "bind":
            if reuse:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            info.update(port=arg, reuseaddr=reuse)
            sock.bind((HOST, arg))
        elif op == "listen":
            sock.listen(8)
        else:
            super().other_call(sock, op, arg, info)

    def raw_syn(self, sport: int, seq: int, tsval: int | None) -> None:
        """A SYN from ``sport`` to the server, sent through a raw socket: no kernel socket owns ``sport``."""
        opts = struct.pack("!BBH", dpkt.tcp.TCP_OPT_MSS, 4, 65495)
        if tsval is not None:
            opts += struct.pack("!BBBBII", 1, 1, dpkt.tcp.TCP_OPT_TIMESTAMP, 10, tsval, 0)
        tcp = dpkt.tcp.TCP(sport=sport, dport=PORT, seq=seq, ack=0, flags=dpkt.tcp.TH_SYN, win=65495, opts=opts)
        tcp.off = (20 + len(opts)) // 4
        ip = dpkt.ip.IP(src=socket.inet_aton(HOST), dst=socket.inet_aton(HOST), p=dpkt.ip.IP_PROTO_TCP, ttl=64,
                        data=tcp)
        with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as raw:
            raw.sendto(bytes(ip), (HOST, 0))
        self.event("raw syn", sport=sport, seq=seq, tsval=tsval)


def ss_sockets(text: str) -> list[dict]:
    """The rows of ``ss -tanoi``: state, recv_q, send_q, local, peer, timer (or None), info (the
    indented line below the row, or "")."""
    rows = []
    for line in text.splitlines()[1:]:
        if line[:1].isspace():
            if rows:
                rows[-1]["info"] = line.strip()
            continue
        fields = line.split()
        if len(fields) >= 5:
            timer = next((f for f in fields[5:] if f.startswith("timer:")), None)
            rows.append(dict(state=fields[0], recv_q=int(fields[1]), send_q=int(fields[2]),
                             local=fields[3], peer=fields[4], timer=timer, info=""))
    return rows


def _inside(name: str, out_dir: Path) -> None:
    exp = experiment(name)
    with netns_lab.scratch("tcplesson-s-") as tmp:
        lab = _Lab(exp, Path(tmp) / "raw.pcap")
        seen = netns_lab.observe(lab, exp, SYSCTLS, COUNTERS)
    head = dict(experiment=exp.name, description=exp.description, **netns_lab.kernel_and_tools(),
                server=[HOST, PORT], sysctl_set=exp.sysctls, sysctl=seen["sysctls"], tcpdump=seen["tcpdump"])
    netns_lab.finish(lab, seen["data"], head, dict(counters=seen["counters"]), out_dir)


def main(argv=None) -> int:
    return netns_lab.main(_TOOL, argv, __doc__, "sockets", _inside,
                          lambda record: f"counters {({k: v for k, v in record['counters']['delta'].items() if v})}")


_TOOL = netns_lab.Tool("tcplesson.socket_capture", "tls", EXPERIMENTS, SocketCaptureError, missing)
experiment, capture = _TOOL.experiment, _TOOL.capture  # the experiment named, and one run of it


if __name__ == "__main__":
    sys.exit(main())

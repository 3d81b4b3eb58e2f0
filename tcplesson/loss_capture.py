"""Make real Linux lose segments and fail: handshake and release losses, dead links, dead peers, crashes.

    sudo .venv/bin/python -m tcplesson.loss_capture --out notebooks/data/losses          # all
    sudo .venv/bin/python -m tcplesson.loss_capture --out mine lose-fin1 keepalive-dead-peer

A lesson on TCP connection setup and teardown is mostly a lesson on what happens when a segment
does not arrive: which side notices, after how long it sends again, when it gives up and what the
program is then told. On ``lo`` nothing is ever lost, so each experiment here makes a chosen
segment disappear with an nftables rule and records what the stack did about it: every segment on
the wire, the states and timers ``ss`` shows, what every socket call returned, and the kernel's
counters (retransmissions, loss probes, challenge ACKs, keepalives, aborts).

Each experiment runs in a network namespace of its own (``tcplesson.netns_lab``), so that the
sysctls it shortens (tcp_syn_retries, tcp_synack_retries, tcp_syn_linear_timeouts, tcp_retries2:
all per namespace) touch nothing outside it. The server listens on 127.0.0.1:5000, the client
connects from 127.0.0.1:40001.

Segments are dropped in nftables' *input* hook, as tcplesson.queue_capture does, not in the output
hook: tcpdump on ``lo`` has seen the segment, so it is in NAME.pcap (it was sent; the receiver never
got it), and the sender's stack cannot tell it from a loss in the network. A drop in the output
hook is not a loss: the kernel is told that its transmission failed, so unsent data stays "not
sent" (``ss`` shows ``notsent``, no ``unacked``) and is sent again as new data, not retransmitted.
Every rule counts what it dropped (``counter``) and adds each dropped segment's port, sequence and
acknowledgment numbers to a set; a rule marked "once" drops only the first segment it matches (a
dynamic set of the source ports it has dropped from, as in the nftables wiki). The JSON's
``dropped`` names each dropped segment of the pcap, checked against both.

Where a segment must carry numbers of our choosing (an RST in the window, a SYN or an ACK for data
never sent, on an established connection), it is built here and sent from a raw socket
(IP_HDRINCL) with the client's addresses, its numbers taken from the segments captured so far.

It writes NAME.pcap (the experiment's TCP segments, as tcpdump saw them) and NAME.json (sysctls,
every command run, every socket call with what it returned and its socket options, the drop rules
with their counters and the segments they dropped, snapshots, counters, kernel and tool versions;
times in seconds from the first TCP segment). Needs root, ip, ss, nstat (iproute2), nft
(nftables), tcpdump.
"""
from __future__ import annotations

import errno
import json
import select
import socket
import struct
import sys
import time
from pathlib import Path
from typing import NamedTuple

import dpkt

from . import netns_lab
from .netns_lab import HOST, WAIT, Experiment
from .socket_capture import SocketLab, errname, recv_now

PORT = 5000
CLIENT = 40001
COUNTERS = ("TcpRetransSegs", "TcpExtTCPLossProbes", "TcpExtTCPLossProbeRecovery", "TcpExtTCPTimeouts",
            "TcpExtTCPSynRetrans", "TcpExtTCPKeepAlive", "TcpExtTCPAbortOnTimeout", "TcpExtTCPChallengeACK",
            "TcpExtTCPSYNChallenge", "TcpExtTCPACKSkippedChallenge", "TcpExtTCPACKSkippedSeq",
            "TcpExtTCPACKSkippedSynRecv", "TcpExtTCPACKSkippedTimeWait", "TcpExtDelayedACKs",
            "TcpExtTCPSpuriousRTOs", "TcpExtTCPDSACKRecv", "TcpExtTCPDSACKOldSent", "TcpExtTCPAbortOnData",
            "TcpExtTCPAbortOnClose", "TcpEstabResets", "TcpAttemptFails", "TcpOutRsts")
SYSCTLS = ("net.ipv4.tcp_syn_retries", "net.ipv4.tcp_synack_retries", "net.ipv4.tcp_syn_linear_timeouts",
           "net.ipv4.tcp_retries1", "net.ipv4.tcp_retries2", "net.ipv4.tcp_orphan_retries",
           "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
           "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_timestamps", "net.ipv4.tcp_sack",
           "net.ipv4.tcp_early_retrans", "net.ipv4.tcp_recovery", "net.ipv4.tcp_thin_linear_timeouts",
           "net.ipv4.tcp_rto_min_us", "net.ipv4.tcp_rto_max_ms", "net.ipv4.tcp_congestion_control",
           "net.ipv4.tcp_challenge_ack_limit", "net.ipv4.tcp_invalid_ratelimit",
           "net.ipv4.tcp_rfc1337")  # read back into the record
_START, _END = b"loss capture starts", b"loss capture ends"
_TABLE = ("inet", "loss")  # the nftables table the rules go in
_CHAIN = "in"
FIN, SYN, RST, PSH, ACK, URG = (dpkt.tcp.TH_FIN, dpkt.tcp.TH_SYN, dpkt.tcp.TH_RST, dpkt.tcp.TH_PUSH,
                                dpkt.tcp.TH_ACK, dpkt.tcp.TH_URG)
_FLAG_NAMES = (("fin", FIN), ("syn", SYN), ("rst", RST), ("psh", PSH), ("ack", ACK), ("urg", URG))
ALL = FIN | SYN | RST | PSH | ACK  # a mask that makes a flags match exact (URG aside)
MOD = 2**32


class LossCaptureError(netns_lab.LabError):
    """The experiment cannot run here, or the kernel did not do what it was set up to show."""


def missing() -> str | None:
    """Why the experiments cannot run on this machine (not root, a tool missing), or None."""
    return netns_lab.missing("the loss experiments")


def flag_text(flags: int) -> str:
    """Flags as tcpdump writes them: S, F, R, P, ., U ("." is ACK)."""
    return "".join(c for c, bit in (("S", SYN), ("F", FIN), ("R", RST), ("P", PSH), ("U", URG), (".", ACK))
                   if flags & bit)


class Match(NamedTuple):
    """Which segments a drop rule takes: ports, and ``flags & mask == value``. One description gives
    both the nftables expression and the same test on a captured segment."""

    sport: int | None = None
    dport: int | None = None
    mask: int = 0
    value: int = 0

    def nft(self) -> list[str]:
        words = ["meta", "l4proto", "tcp"]
        if self.sport is not None:
            words += ["tcp", "sport", str(self.sport)]
        if self.dport is not None:
            words += ["tcp", "dport", str(self.dport)]
        if self.mask:
            mask = [n for n, bit in _FLAG_NAMES if self.mask & bit]
            value = [n for n, bit in _FLAG_NAMES if self.value & bit]
            words += ["tcp", "flags", "&", f"({'|'.join(mask)})", "==", "|".join(value) or "0"]
        return words

    def __call__(self, tcp) -> bool:
        return ((self.sport is None or tcp.sport == self.sport) and (self.dport is None or tcp.dport == self.dport)
                and tcp.flags & self.mask == self.value)


# --- the experiments: each is a script of socket calls, drops and snapshots ---------------------

def _connected(lab: "_Lab", port: int = CLIENT, name: str = "client", server: str = "server") -> None:
    """listener on 5000 (if not there yet), ``name`` connected from ``port``, ``server`` accepted."""
    if "listener" not in lab.socks:
        lab.listen()
    lab.connect(name, port)
    lab.accept(server)
    lab.pause(0.05)


def _lose_syn(lab: "_Lab") -> None:
    """The client's SYN is lost: SYN-SENT until the SYN is sent again 1 s later (TCP_TIMEOUT_INIT)."""
    lab.listen()
    lab.drop("syn", Match(sport=CLIENT, mask=SYN | ACK, value=SYN), once=True)
    lab.connect_start("client", CLIENT)
    lab.pause(0.3)
    lab.snapshot("SYN lost")
    lab.connect_wait("client")
    lab.accept("server")
    lab.snapshot("connected")


def _lose_synack(lab: "_Lab") -> None:
    """The server's SYN,ACK is lost: 1 s later both timers fire, the client's (SYN again) and the
    request's (SYN,ACK again); the server answers the repeated SYN with one more SYN,ACK, which the
    by then ESTABLISHED client meets with a challenge ACK."""
    lab.listen()
    lab.drop("syn-ack", Match(sport=PORT, mask=SYN | ACK, value=SYN | ACK), once=True)
    lab.connect_start("client", CLIENT)
    lab.pause(0.3)
    lab.snapshot("SYN,ACK lost")
    lab.connect_wait("client")
    lab.accept("server")
    lab.pause(0.3)
    lab.snapshot("connected")


def _lose_ack(lab: "_Lab", then_data: bool) -> None:
    """The handshake's third segment is lost: the client is ESTABLISHED, the server still SYN-RECV.
    With nothing following, the server's SYN,ACK timer (1 s) sends the SYN,ACK again and the client's
    answer completes the handshake; with data following, the data segment's ACK completes it."""
    lab.listen()
    lab.drop("third ack", Match(sport=CLIENT, mask=ALL, value=ACK), once=True)
    lab.connect("client", CLIENT)
    if then_data:
        lab.pause(0.05)
        lab.call("client", "send", b"hello")
        lab.pause(0.05)
        lab.snapshot("data sent")
        lab.accept("server")
        lab.call("server", "recv")
    else:
        lab.pause(0.3)
        lab.snapshot("third ACK lost")
        lab.accept("server")
        lab.snapshot("accepted")
    lab.pause(0.2)


def _release(lab: "_Lab", drop: tuple | None) -> None:
    """Connected; the client close()s; the server reads the end of file, waits 100 ms and close()s.
    ``drop`` (rule name, Match) is armed just before the client's close()."""
    _connected(lab)
    if drop:
        lab.drop(*drop, once=True)
    lab.call("client", "close")
    lab.pause(0.02)
    lab.snapshot("client closed")
    lab.call("server", "recv_wait")  # blocks until the client's FIN has arrived: end of file
    lab.pause(0.1)
    lab.call("server", "close")
    lab.pause(0.02)
    lab.snapshot("server closed")
    lab.pause(0.8)
    lab.snapshot("end")


def _every_syn_lost(lab: "_Lab") -> None:
    """Every SYN is lost: connect() fails with ETIMEDOUT when the time tcp_syn_retries stands for has
    run out, (2^(tcp_syn_retries+1) - 1) x 1 s; how many SYNs that is depends on tcp_syn_linear_timeouts."""
    lab.listen()
    lab.drop("every syn", Match(sport=CLIENT, mask=SYN | ACK, value=SYN))
    lab.connect_start("client", CLIENT)
    lab.pause(0.5)
    lab.snapshot("SYN-SENT")
    lab.connect_wait("client", timeout=12)
    lab.snapshot("connect() failed")


def _every_synack_lost(lab: "_Lab") -> None:
    """One SYN (from a raw socket: nothing retransmits it) and every SYN,ACK lost: the server sends
    tcp_synack_retries + 1 SYN,ACKs with exponential backoff, then drops the request silently."""
    lab.listen()
    lab.drop("every syn-ack", Match(sport=PORT, mask=SYN | ACK, value=SYN | ACK))
    lab.send_raw("raw syn", CLIENT, seq=1000000, ack=0, flags=SYN, mss=True)
    for t in (0.5, 6.5, 7.5):
        lab.pause_until(t, "raw syn")
        lab.snapshot(f"{t} s after the SYN")


def _transfer(lab: "_Lab", until: float, down: float | None, up: float | None, user_timeout: int = 0) -> None:
    """A link that fails under a transfer: the loss probe, then RTO retransmissions with exponential
    backoff; recovery at the first retransmission after the link is back, or ETIMEDOUT once
    tcp_retries2's time has run out.

    The client sends 1000 bytes every 100 ms, the server reads them; the link (both directions)
    goes down at ``down`` s and up again at ``up`` s (never if None); stop at ``until`` s or at the
    client's first error (seen as the socket turning readable: the server sends nothing). With
    ``user_timeout`` (ms) the client sets TCP_USER_TIMEOUT, which replaces tcp_retries2's budget."""
    _connected(lab)
    if user_timeout:
        lab.setsockopt("client", "TCP_USER_TIMEOUT", user_timeout)
    client, server = lab.socks["client"], lab.socks["server"]
    client.setblocking(False)
    server.setblocking(False)
    start = time.time()
    lab.event("transfer starts", sock="client", every=0.1, size=1000)
    sent = received = 0
    tick = 0
    while time.time() - start < until:
        now = time.time() - start
        if down is not None and now >= down and "link down" not in lab.rule_names():
            lab.drop("link down", Match(sport=CLIENT, dport=PORT))
            lab.drop("link down back", Match(sport=PORT, dport=CLIENT))
            lab.snapshot("link down")
        if up is not None and now >= up and lab.active("link down"):
            lab.undrop("link down")
            lab.undrop("link down back")
            lab.snapshot("link up")
        if now >= tick * 0.1:
            tick += 1
            try:
                sent += client.send(b"d" * 1000)
            except BlockingIOError:
                pass
            except OSError as exc:
                lab.event("send", sock="client", returned=errname(exc.errno))
                break
        readable, _, _ = select.select([client, server], [], [], 0.01)
        if server in readable:
            try:
                received += len(server.recv(65536))
            except BlockingIOError:
                pass
        if client in readable:  # the client is sent nothing: readable means an error (or EOF)
            try:
                data = client.recv(100)
                lab.event("recv", sock="client", returned="ok", data=data.decode())
            except OSError as exc:
                lab.event("recv", sock="client", returned=errname(exc.errno))
            break
    lab.pause(0.05)
    try:
        received += len(server.recv(1 << 20))
    except OSError:
        pass
    lab.event("transfer ends", sock="client", sent=sent, received=received)
    lab.snapshot("end")


def _keepalive(lab: "_Lab", dead: bool) -> None:
    """Keepalive probes (seq = SND.UNA - 1, no data) once the connection has been idle 1 s, one a
    second: a live peer ACKs each one; with a dead peer the third unanswered probe is followed by RST
    and ETIMEDOUT.

    The client turns keepalive on (idle 1 s, interval 1 s, 3 probes) after sending 5 bytes; the
    peer is dead (everything between the two dropped) or alive."""
    _connected(lab)
    lab.call("client", "send", b"hello")
    lab.pause(0.05)
    lab.call("server", "recv")
    if dead:
        lab.drop("dead peer", Match(sport=CLIENT, dport=PORT))
        lab.drop("dead peer back", Match(sport=PORT, dport=CLIENT))
    for option, value in (("SO_KEEPALIVE", 1), ("TCP_KEEPIDLE", 1), ("TCP_KEEPINTVL", 1), ("TCP_KEEPCNT", 3)):
        lab.setsockopt("client", option, value)
    lab.pause(0.5)
    lab.snapshot("idle")
    lab.pause(2.0)
    lab.snapshot("after two probes")
    if dead:
        lab.call("client", "recv_wait", timeout=4)  # wakes with the error
        lab.snapshot("gave up")
    else:
        lab.pause(1.1)
        lab.snapshot("after three probes")
        lab.call("client", "recv")


def _crash(lab: "_Lab") -> None:
    """The client's host "crashes": every segment of its port dropped, its process killed (its
    kernel's FIN is dropped), its socket destroyed with ``ss -K`` (the RST is dropped too), then the
    rule removed ("reboot"). The server's connection is still ESTABLISHED and knows nothing."""
    lab.listen()
    lab.fork_client("client", CLIENT)
    lab.accept("server")
    lab.pause(0.05)
    lab.snapshot("connected")
    lab.drop("crash", Match(sport=CLIENT))
    lab.drop("crash back", Match(dport=CLIENT))
    lab.kill_child("client")
    lab.pause(0.02)
    lab.snapshot("client killed")
    lab.run(["ss", "-K", "src", f"{HOST}", "sport", "=", f":{CLIENT}"])
    lab.event("ss -K", port=CLIENT)
    lab.snapshot("client socket destroyed")
    lab.undrop("crash")
    lab.undrop("crash back")
    lab.event("reboot", port=CLIENT)
    lab.pause(0.1)


def _crash_then_server_sends(lab: "_Lab") -> None:
    """After the reboot the server sends: nothing owns port 40001, so its kernel answers with RST."""
    _crash(lab)
    lab.write_to_gone_peer("server", b"are you there?", b"hello?", "server sent")


def _crash_reboot_reconnect(lab: "_Lab") -> None:
    """After the reboot the client connects again from port 40001: its SYN meets the old
    ESTABLISHED connection, which answers with a challenge ACK (RFC 5961 4); the client answers that
    with RST, which kills the old connection; the client's SYN, sent again, makes the new one."""
    _crash(lab)
    lab.connect_start("client2", CLIENT)
    lab.pause(0.3)
    lab.snapshot("0.3 s after connect()")
    lab.connect_wait("client2")
    lab.accept("server2")
    lab.call("server", "recv")
    lab.pause(0.05)
    lab.snapshot("reconnected")


def _probe(lab: "_Lab", kind: str) -> None:
    """How an ESTABLISHED connection meets a segment that does not fit (RFC 5961): an RST inside the
    window but not at RCV.NXT, a SYN, an ACK for data never sent each get a challenge ACK and change
    nothing; an RST exactly at RCV.NXT resets the connection.

    Connected, 5 bytes each way; then the segment ``kind`` is built here and sent to the server as if
    from the client (with the client's last TSval, echoing the server's), then the client sends more
    data to see whether the connection is still there."""
    _connected(lab)
    lab.call("client", "send", b"hello")
    lab.call("server", "send", b"world")
    lab.pause(0.05)
    lab.call("server", "recv")
    lab.call("client", "recv")
    lab.pause(0.05)
    n = lab.numbers()
    ts = (n["client_tsval"], n["server_tsval"]) if n["client_tsval"] is not None else None
    if kind == "rst-in-window":
        lab.send_raw("raw rst", CLIENT, seq=(n["rcv_nxt"] + 100) % MOD, ack=0, flags=RST, ts=ts, numbers=n)
    elif kind == "rst-exact":
        lab.send_raw("raw rst", CLIENT, seq=n["rcv_nxt"], ack=0, flags=RST, ts=ts, numbers=n)
    elif kind == "syn-in-established":
        lab.send_raw("raw syn", CLIENT, seq=(n["rcv_nxt"] + 1000) % MOD, ack=0, flags=SYN, ts=ts, mss=True,
                     numbers=n)
    elif kind == "ack-above-snd-nxt":  # one byte of data too: it must not be taken
        lab.send_raw("raw ack", CLIENT, seq=n["rcv_nxt"], ack=(n["snd_nxt"] + 100000) % MOD, flags=ACK | PSH,
                     ts=ts, data=b"Z", numbers=n)
    lab.pause(0.1)
    lab.snapshot("after the segment")
    lab.call("server", "recv")
    lab.call("client", "send", b"still here")
    lab.pause(0.1)
    lab.call("server", "recv")
    lab.call("client", "recv")
    lab.snapshot("after more data")


def _syn_in_syn_recv(lab: "_Lab") -> None:
    """The handshake's third segment is dropped, so the server is in SYN-RECV while the client is
    ESTABLISHED; then a SYN with a new sequence number inside the window arrives from the client's
    port: tcp_check_req resets the embryonic connection. The client is not told (the RST's seq 0
    is outside its window) until it sends data."""
    lab.listen()
    lab.drop("third ack", Match(sport=CLIENT, mask=ALL, value=ACK), once=True)
    lab.connect("client", CLIENT)
    lab.pause(0.05)
    lab.snapshot("SYN-RECV")
    n = lab.numbers()
    lab.send_raw("raw syn", CLIENT, seq=(n["rcv_nxt"] + 1000) % MOD, ack=0, flags=SYN, ts=(n["client_tsval"], 0),
                 mss=True, numbers=n)
    lab.pause(0.1)
    lab.snapshot("after the SYN")
    lab.call("client", "send", b"hello")
    lab.pause(0.1)
    lab.call("client", "recv")
    lab.snapshot("after data")


def _fin_ack_timing(lab: "_Lab") -> None:
    """The server close()s; the client reads the end of file and close()s at once or 100 ms later;
    on a connection that carried no data (from 40001, 40002) and on one where the server first sent
    5 bytes the client read (from 40003, 40004): is the server's FIN ACKed at once, or delayed?"""
    for k, (data, delay) in enumerate(((False, 0.0), (False, 0.1), (True, 0.0), (True, 0.1)), start=1):
        _connected(lab, CLIENT - 1 + k, f"client{k}", f"server{k}")
        if data:
            lab.call(f"server{k}", "send", b"hello")
            lab.call(f"client{k}", "recv_wait")
            lab.pause(0.05)
        lab.call(f"server{k}", "close")
        lab.call(f"client{k}", "recv_wait")
        if delay:
            lab.pause(delay)
        lab.call(f"client{k}", "close")
        lab.pause(0.2)
    lab.snapshot("end")


_FIN1 = ("fin1", Match(sport=CLIENT, mask=FIN, value=FIN))
_ACK1 = ("ack1", Match(sport=PORT, mask=ALL, value=ACK))
_FIN2 = ("fin2", Match(sport=PORT, mask=FIN, value=FIN))
_ACK2 = ("ack2", Match(sport=CLIENT, mask=ALL, value=ACK))
_RELEASE = ("the client close()s first; the server reads the end of file, waits 100 ms and close()s; ")

EXPERIMENTS = {e.name: e for e in (
    Experiment("no-loss", _RELEASE + "nothing is lost: the reference for the four release experiments",
               {}, lambda lab: _release(lab, None)),
    Experiment("lose-syn", "the client's first SYN is dropped", {}, _lose_syn),
    Experiment("lose-synack", "the server's first SYN,ACK is dropped", {}, _lose_synack),
    Experiment("lose-ack", "the handshake's third segment (the client's ACK) is dropped; the client sends "
               "nothing afterwards", {}, lambda lab: _lose_ack(lab, then_data=False)),
    Experiment("lose-ack-then-data", "the handshake's third segment is dropped; the client sends 5 bytes "
               "50 ms after connect() returned", {}, lambda lab: _lose_ack(lab, then_data=True)),
    Experiment("lose-fin1", _RELEASE + "the client's FIN is dropped once", {}, lambda lab: _release(lab, _FIN1)),
    Experiment("lose-ack1", _RELEASE + "the server's ACK of that FIN is dropped once", {},
               lambda lab: _release(lab, _ACK1)),
    Experiment("lose-fin2", _RELEASE + "the server's FIN is dropped once", {}, lambda lab: _release(lab, _FIN2)),
    Experiment("lose-ack2", _RELEASE + "the client's last ACK (of the server's FIN) is dropped once", {},
               lambda lab: _release(lab, _ACK2)),
    Experiment("every-syn-lost", "every SYN from the client is dropped; tcp_syn_retries=2, "
               "tcp_syn_linear_timeouts at its default 4", {"net.ipv4.tcp_syn_retries": 2}, _every_syn_lost),
    Experiment("every-syn-lost-exponential", "the same with tcp_syn_linear_timeouts=0",
               {"net.ipv4.tcp_syn_retries": 2, "net.ipv4.tcp_syn_linear_timeouts": 0}, _every_syn_lost),
    Experiment("every-synack-lost", "tcp_synack_retries=2; one SYN from a raw socket on port 40001; every "
               "SYN,ACK is dropped", {"net.ipv4.tcp_synack_retries": 2}, _every_synack_lost),
    Experiment("link-down-up", "the client sends 1000 bytes every 100 ms; from 0.5 s to 2.0 s every segment "
               "in both directions is dropped, then the link is back", {},
               lambda lab: _transfer(lab, until=4.5, down=0.5, up=2.0)),
    Experiment("link-down-for-good", "the same transfer with tcp_retries2=3; the link goes down at 0.5 s and "
               "stays down", {"net.ipv4.tcp_retries2": 3},
               lambda lab: _transfer(lab, until=8.0, down=0.5, up=None)),
    Experiment("link-down-user-timeout", "the same transfer, the link down for good at 0.5 s; the client set "
               "TCP_USER_TIMEOUT=1000 ms (tcp_retries2 at its default 15)", {},
               lambda lab: _transfer(lab, until=5.0, down=0.5, up=None, user_timeout=1000)),
    Experiment("keepalive-dead-peer", "after 5 bytes, everything between client and server is dropped; the "
               "client sets SO_KEEPALIVE, TCP_KEEPIDLE=1, TCP_KEEPINTVL=1, TCP_KEEPCNT=3", {},
               lambda lab: _keepalive(lab, dead=True)),
    Experiment("keepalive-live-peer", "the same keepalive settings; nothing is dropped", {},
               lambda lab: _keepalive(lab, dead=False)),
    Experiment("crash-then-server-sends", "the client crashes (port dropped, process killed, socket "
               "destroyed with ss -K) and reboots (rule removed); then the server sends 14 bytes", {},
               _crash_then_server_sends),
    Experiment("crash-reboot-reconnect", "the client crashes and reboots as above, then connects again from "
               "port 40001 while the server's old connection is still ESTABLISHED", {}, _crash_reboot_reconnect),
    Experiment("rst-in-window", "on an established connection, a RST with seq = the server's RCV.NXT + 100 "
               "(raw socket, as if from the client)", {}, lambda lab: _probe(lab, "rst-in-window")),
    Experiment("rst-exact", "a RST with seq = the server's RCV.NXT exactly", {}, lambda lab: _probe(lab, "rst-exact")),
    Experiment("syn-in-established", "a SYN with seq = the server's RCV.NXT + 1000 on the established "
               "connection", {}, lambda lab: _probe(lab, "syn-in-established")),
    Experiment("ack-above-snd-nxt", "a segment with seq = RCV.NXT, one byte, and ack = the server's SND.NXT "
               "+ 100000 (data never sent)", {}, lambda lab: _probe(lab, "ack-above-snd-nxt")),
    Experiment("syn-in-syn-recv", "the handshake's third segment is dropped (server SYN-RECV, client "
               "ESTABLISHED); a SYN from port 40001 with seq = the server's RCV.NXT + 1000; then the client sends "
               "5 bytes", {}, _syn_in_syn_recv),
    Experiment("fin-ack-timing", "the server close()s first; the client close()s as soon as it reads the end "
               "of file or 100 ms later: with no data before (from 40001, 40002), and after the server sent "
               "5 bytes the client read (from 40003, 40004)", {}, _fin_ack_timing),
)}


# --- inside the namespace ------------------------------------------------------------------------

class _Rule:
    """A drop rule: its name, what it matches, when it was on, what it counted."""

    def __init__(self, name: str, match: Match, once: bool, nft: list[str], on: float) -> None:
        self.name, self.match, self.once, self.nft, self.on = name, match, once, nft, on
        self.off: float | None = None
        self.packets: int | None = None
        self.logged: list[list[int]] = []
        self.set = ""  # the nftables set it logs (port, seq, ack) in

    def record(self, t0: float, dropped: list[int]) -> dict:
        return dict(name=self.name, once=self.once, nft=" ".join(self.nft), on=round(self.on - t0, 6),
                    off=round(self.off - t0, 6), packets=self.packets, logged=sorted(self.logged), frames=dropped)


_SOCKOPTS = {"SO_KEEPALIVE": (socket.SOL_SOCKET, socket.SO_KEEPALIVE),
             "TCP_KEEPIDLE": (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
             "TCP_KEEPINTVL": (socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
             "TCP_KEEPCNT": (socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
             "TCP_USER_TIMEOUT": (socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)}


class _Lab(SocketLab):
    """The apparatus of one experiment: socket_capture's, with drop rules and raw segments."""

    SYNC = b"loss capture sync %d"

    def __init__(self, exp: Experiment, raw: Path) -> None:
        super().__init__(exp, raw, (_START, _END), LossCaptureError)
        self.rules: list[_Rule] = []
        self.table = False
        self.sets = 0

    # sockets
    def listen(self, backlog: int = 8) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, PORT))
        sock.listen(backlog)
        self.socks["listener"] = sock
        self.event("listen", sock="listener", port=PORT, backlog=backlog)

    def connect(self, name: str, port: int) -> None:
        """A blocking connect() from ``port``."""
        self.connect_start(name, port)
        self.connect_wait(name)

    def connect_start(self, name: str, port: int) -> None:
        """A non-blocking connect() from ``port``: the SYN goes out, the call returns EINPROGRESS."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        sock.setblocking(False)
        self.socks[name] = sock
        code = sock.connect_ex((HOST, PORT))
        self.event("connect start", sock=name, port=port, returned=errname(code) if code else "ok")

    def connect_wait(self, name: str, timeout: float = WAIT) -> None:
        """Wait until the connect() ends; record when, and its result (SO_ERROR: ok or the errno)."""
        sock = self.socks[name]
        select.select([], [sock], [], timeout)
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if not code:
            try:
                sock.getpeername()
            except OSError:  # still connecting when ``timeout`` ran out
                code = errno.EINPROGRESS
        sock.settimeout(WAIT)
        self.event("connect", sock=name, returned=errname(code) if code else "ok")

    def setsockopt(self, name: str, option: str, value: int) -> None:
        level, opt = _SOCKOPTS[option]
        self.socks[name].setsockopt(level, opt, value)
        self.event("setsockopt", sock=name, option=option, value=value, returned="ok")

    RECV_SIZE = 65536

    def other_call(self, sock: socket.socket, op: str, arg, info: dict, timeout: float = WAIT) -> None:
        if op != "recv_wait":
            return super().other_call(sock, op, arg, info)
        self.event("recv_wait start", sock=info["sock"])  # wait for data, the end of file or an error
        sock.settimeout(timeout)
        info["data"] = sock.recv(self.RECV_SIZE).decode()

    # segments built here
    def numbers(self) -> dict:
        """From the capture so far: the server's RCV.NXT (the client's next sequence number) and
        SND.NXT, and the last TSval each side sent."""
        segs = self.segments()
        out = {}
        for side, port in (("client", CLIENT), ("server", PORT)):
            mine = [tcp for _, tcp in segs if tcp.sport == port]
            last = max(mine, key=lambda tcp: (tcp.seq + len(tcp.data) + bool(tcp.flags & (SYN | FIN))
                                              - mine[0].seq) % MOD)
            out[f"{side}_snd_nxt"] = (last.seq + len(last.data) + bool(last.flags & (SYN | FIN))) % MOD
            out[f"{side}_tsval"] = _tsval(mine[-1])
        return dict(rcv_nxt=out["client_snd_nxt"], snd_nxt=out["server_snd_nxt"],
                    client_tsval=out["client_tsval"], server_tsval=out["server_tsval"])

    def send_raw(self, what: str, sport: int, seq: int, ack: int, flags: int, ts=None, mss: bool = False,
            data: bytes = b"", numbers: dict | None = None) -> None:
        """A segment from 127.0.0.1:``sport`` to the server, sent through a raw socket (IP_HDRINCL)."""
        opts = b""
        if mss:
            opts += struct.pack("!BBH", dpkt.tcp.TCP_OPT_MSS, 4, 65495)
        if ts is not None:
            opts += struct.pack("!BBBBII", 1, 1, dpkt.tcp.TCP_OPT_TIMESTAMP, 10, *ts)
        tcp = dpkt.tcp.TCP(sport=sport, dport=PORT, seq=seq, ack=ack, flags=flags, win=512, opts=opts, data=data)
        tcp.off = (20 + len(opts)) // 4
        ip = dpkt.ip.IP(src=socket.inet_aton(HOST), dst=socket.inet_aton(HOST), p=dpkt.ip.IP_PROTO_TCP, ttl=64,
                        data=tcp)
        with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as raw:
            raw.sendto(bytes(ip), (HOST, 0))
        self.event(what, sport=sport, seq=seq, ack=ack, flags=flag_text(flags), len=len(data),
                   tsval=ts[0] if ts else None, tsecr=ts[1] if ts else None, numbers=numbers)

    # nftables: drop segments in the input hook (tcpdump on lo has seen them already)
    def nft(self, *words: str) -> str:
        return self.run(["nft", *words])

    def drop(self, name: str, match: Match, once: bool = False) -> None:
        """Drop what ``match`` takes (only its first segment if ``once``), counting and logging it."""
        if not self.table:
            self.nft("add", "table", *_TABLE)
            self.nft("add", "chain", *_TABLE, _CHAIN, "{ type filter hook input priority 0; }")
            self.table = True
        self.sets += 1
        log = f"dropped{self.sets}"
        self.nft("add", "set", *_TABLE, log, "{ typeof tcp sport . tcp sequence . tcp ackseq; flags dynamic; }")
        words = match.nft()
        if once:
            seen = f"once{self.sets}"
            self.nft("add", "set", *_TABLE, seen, "{ type inet_service; flags dynamic; }")
            words += ["tcp", "sport", "!=", f"@{seen}", "add", f"@{seen}", "{", "tcp", "sport", "}"]
        words += ["add", f"@{log}", "{", "tcp", "sport", ".", "tcp", "sequence", ".", "tcp", "ackseq", "}",
                  "counter", "drop", "comment", f'"{name}"']
        on = time.time()
        self.nft("add", "rule", *_TABLE, _CHAIN, *words)
        rule = _Rule(name, match, once, words, on)
        rule.set = log
        self.rules.append(rule)
        self.event("drop on", rule=name, nft=" ".join(words))

    def rule_names(self) -> list[str]:
        return [r.name for r in self.rules]

    def active(self, name: str) -> bool:
        return any(r.name == name and r.off is None for r in self.rules)

    def _ruleset(self) -> list[dict]:
        return json.loads(self.nft("-j", "list", "ruleset"))["nftables"]

    def _read(self, rule: _Rule, listing: list[dict]) -> int | None:
        """Fill in the rule's counter and logged elements from a ruleset listing; its handle."""
        handle = None
        for item in listing:
            if "rule" in item and item["rule"].get("comment") == rule.name:
                for expr in item["rule"]["expr"]:
                    if "counter" in expr:
                        rule.packets = expr["counter"]["packets"]
                handle = item["rule"]["handle"]
            if "set" in item and item["set"]["name"] == rule.set:
                rule.logged = [e["elem"]["val"]["concat"] if "elem" in e else e["concat"]
                               for e in item["set"].get("elem", [])]
        return handle

    def undrop(self, name: str) -> None:
        """Remove the rule: its segments pass again. Its counter and log are read first."""
        rule = next(r for r in self.rules if r.name == name and r.off is None)
        handle = self._read(rule, self._ruleset())
        self.nft("delete", "rule", *_TABLE, _CHAIN, "handle", str(handle))
        rule.off = time.time()
        self.event("drop off", rule=name, packets=rule.packets)

    def release_all(self) -> None:
        """At the end: read the rules still on (they stay until the namespace goes)."""
        listing = self._ruleset() if any(r.off is None for r in self.rules) else []
        for rule in self.rules:
            if rule.off is None:
                self._read(rule, listing)
                rule.off = time.time()
                self.event("drop end", rule=rule.name, packets=rule.packets)

    # what the kernel shows


def _tsval(tcp) -> int | None:
    for kind, data in dpkt.tcp.parse_opts(tcp.opts):
        if kind == dpkt.tcp.TCP_OPT_TIMESTAMP:
            return struct.unpack("!II", data)[0]
    return None


def isn_before(segments, i: int, port: int) -> int | None:
    """The initial sequence number ``port`` was using at segment ``i``: its last SYN's, up to ``i``."""
    for _, tcp in reversed(segments[:i + 1]):
        if tcp.sport == port and tcp.flags & SYN:
            return tcp.seq
    return None


def dropped_segments(rules: list[_Rule], segments, t0: float, error=LossCaptureError) -> tuple[list, list]:
    """Which captured segments each rule dropped: those it matches while it was on (the first only,
    for a "once" rule). Their number must be the rule's counter, and their (port, seq, ack) the
    elements it logged, or the capture cannot say which segments were lost."""
    dropped, records = [], []
    for rule in rules:
        frames = [i for i, (ts, tcp) in enumerate(segments) if rule.on <= ts <= rule.off and rule.match(tcp)]
        if rule.once:
            frames = frames[:1]
        logged = sorted({(segments[i][1].sport, segments[i][1].seq, segments[i][1].ack) for i in frames})
        if len(frames) != rule.packets or logged != sorted(tuple(e) for e in rule.logged):
            raise error(f"rule {rule.name!r}: nftables counted {rule.packets} and logged {rule.logged}, "
                        f"the capture has {len(frames)} matching segments {logged}")
        for i in frames:
            ts, tcp = segments[i]
            mine, theirs = isn_before(segments, i, tcp.sport), isn_before(segments, i, tcp.dport)
            dropped.append(dict(rule=rule.name, frame=i, t=round(ts - t0, 6), src=tcp.sport, dst=tcp.dport,
                                flags=flag_text(tcp.flags), seq=tcp.seq, ack=tcp.ack, len=len(tcp.data),
                                rel_seq=None if mine is None else (tcp.seq - mine) % MOD,
                                rel_ack=None if theirs is None or not tcp.flags & ACK else (tcp.ack - theirs) % MOD))
        records.append(rule.record(t0, frames))
    return sorted(dropped, key=lambda d: d["frame"]), records


def _inside(name: str, out_dir: Path) -> None:
    exp = experiment(name)
    with netns_lab.scratch("tcplesson-l-") as tmp:
        lab = _Lab(exp, Path(tmp) / "raw.pcap")
        script = exp.script

        def run(lab: _Lab) -> None:
            try:
                script(lab)
            finally:
                lab.release_all()

        seen = netns_lab.observe(lab, exp._replace(script=run), SYSCTLS, COUNTERS)
    segments = netns_lab.tcp_segments(seen["data"])
    t0 = netns_lab.first_tcp_time(seen["data"], LossCaptureError)
    dropped, rules = dropped_segments(lab.rules, segments, t0)
    head = dict(experiment=exp.name, description=exp.description, **netns_lab.kernel_and_tools(),
                server=[HOST, PORT], client=[HOST, CLIENT], sysctl_set=exp.sysctls, sysctl=seen["sysctls"],
                tcpdump=seen["tcpdump"], drop_hook="input")
    netns_lab.finish(lab, seen["data"], head, dict(drop_rules=rules, dropped=dropped, counters=seen["counters"]),
                     out_dir)


def _summary(record: dict) -> str:
    lost = ", ".join(f"{d['flags']}@{d['t']:.3f}" for d in record["dropped"]) or "nothing"
    counted = {k: v for k, v in record["counters"]["delta"].items() if v}
    return f"dropped {lost}; counters {counted}"


def main(argv=None) -> int:
    return netns_lab.main(_TOOL, argv, __doc__, "losses", _inside, _summary)


_TOOL = netns_lab.Tool("tcplesson.loss_capture", "tll", EXPERIMENTS, LossCaptureError, missing)
experiment, capture = _TOOL.experiment, _TOOL.capture  # the experiment named, and one run of it


if __name__ == "__main__":
    sys.exit(main())

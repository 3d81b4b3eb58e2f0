"""The Host model against Linux: each observed listen-queue experiment run again in the model.

    cmp = compare("accept-queue-full")
    print(cmp.table()); cmp.differences()

notebooks/data/queues holds what Linux 6.18 did (see tcplesson.queue_capture). For each experiment
this module builds the model Network that does the same things: the same listen() backlog, the
same sysctls (the JSON's ``sysctl``, as far as the model has them), one client per observed client
connecting at the observed time, and the nftables rule that held ACKs expressed as the
transmission numbers it would take (``drop=``, found by running the model until the set is
stable). It then compares, by role (Linux's 127.0.0.1:5000 is the model's server), the server's
sockets in every ``ss`` snapshot, each client's fate, the SYN-cookie counters and the times of the
SYN,ACKs each client was sent.

A Network's applications can do only some of what the experiments do: clients connect at a time
(and here send nothing), the server accepts at once, at intervals or never. The first observed
event a Network cannot express (a send() long after connecting, a single accept()) ends the
comparison; what follows it is named in ``Comparison.not_compared`` (NOT_MODELLED for the shipped
experiments), never guessed. ``Comparison.differences()`` lists every difference; for the shipped
experiments there is none (the SYN retries that once differed follow Linux's timers now,
linux_timers.py).
"""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import NamedTuple

import dpkt

from . import netns_lab, queue_capture
from .network import Client, Network, Server
from .nettrace import NetworkTrace
from .segment import Flags
from .simulator import simulate
from .states import State
from .sysctl import LINUX_DEFAULTS

DATA = Path(__file__).resolve().parent.parent / "notebooks" / "data" / "queues"
DELAY = 1e-5  # loopback: tens of microseconds one way
NEVER = 1e6  # the clients' close_after: the experiments' clients never close
TOLERANCE = 0.1  # seconds: a 250 Hz kernel timer, loopback, snapshots taken by a Python program
MAX_ROUNDS = 200  # drop-rule fixed point: one more held segment per round

# What of each experiment a Network cannot express; each is compared up to that point (plan()
# finds the same from the record's events and lists it in Comparison.not_compared).
NOT_MODELLED = {
    "ack-dropped-on-overflow": "the single accept() at 2.0 s (a Network's server accepts at once, at "
                               "intervals or never), so the ACK that creates the connection at +3 s",
    "half-open-held": "client 1's send() at 7.6 s and the listener's RST to it",
    "syn-queue-full-cookies": "the clients' send()s from 2.5 s (a Network's clients send only as they "
                              "connect), so the cookie ACKs and the accept()s",
    "syn-queue-full-no-cookies": "the clients' send()s from 2.5 s, so the handshakes that make room for "
                                 "clients 6 and 7",
    "syn-cookies-always": "the send()s and accept()s after 0.2 s",
    "backlog-values": "the listeners on ports 5001-5003 (a Network has one listening port; Host.listen "
                      "refuses listen(-1))",
}


# nstat counter -> the model's host events that Linux counts in it (net/ipv4/tcp_input.c
# tcp_conn_request, tcp_listendrop; net/ipv4/tcp_ipv4.c tcp_v4_syn_recv_sock; net/ipv4/syncookies.c)
COUNTERS = {
    "TcpExtListenOverflows": ("SYN dropped (accept queue full)", "ACK dropped (accept queue full)",
                              "RST (accept queue full)"),
    "TcpExtListenDrops": ("SYN dropped (accept queue full)", "ACK dropped (accept queue full)",
                          "RST (accept queue full)", "SYN dropped (SYN queue full)",
                          "SYN dropped (tcp_max_syn_backlog)"),
    "TcpExtSyncookiesSent": ("cookie sent",),
    "TcpExtSyncookiesRecv": ("cookie accepted",),
    "TcpExtTCPReqQFullDrop": ("SYN dropped (SYN queue full)",),
}
_OUTCOMES = {"timed out": "ETIMEDOUT", "reset": "ECONNRESET", "refused": "ECONNREFUSED"}
_RULE = re.compile(r"^tcp dport (\d+)(?: tcp sport (\d+))? tcp flags == ack counter drop$")


class Plan(NamedTuple):
    """How one experiment is expressed in the model: the Network, its run's settings, its limits."""

    network: Network
    sysctls: dict  # server sysctls, model names
    holds: list  # (client number or None for all, from, until): client->server pure ACKs dropped
    cutoff: float | None  # the first observed event a Network cannot express
    not_compared: list  # what of the observation is left out, and why


def load(name, where=DATA) -> tuple[dict, list[dict]]:
    """An experiment's JSON record and its segments (t from the first segment, ports, flags, length)."""
    queue_capture.experiment(name)
    record, pcap = netns_lab.shipped(where, name, "tcplesson.queue_capture")
    segs = []
    for ts, buf in dpkt.pcap.Reader(io.BytesIO(pcap)):
        tcp = dpkt.ethernet.Ethernet(buf).data.data
        segs.append(dict(t=ts, sport=tcp.sport, dport=tcp.dport, flags=tcp.flags, len=len(tcp.data)))
    t0 = segs[0]["t"] if segs else 0.0
    for s in segs:
        s["t"] = round(s["t"] - t0, 6)
    return record, segs


def plan(record: dict) -> Plan:
    """The model Network for an experiment's record, and what of the record it cannot express."""
    if not isinstance(record, dict) or not {"experiment", "server", "events", "sysctl"} <= set(record):
        raise TypeError("record must be an experiment's JSON record (experiment, server, events, sysctl)")
    name = record["experiment"]
    port = record["server"][1]
    events = sorted(record["events"], key=lambda e: e["at"])
    not_compared, clients, holds, cutoff = [], [], [], None
    listen = [e for e in events if e["what"] == "listen" and e["port"] == port]
    others = [e for e in events if e["what"] == "listen" and e["port"] != port]
    if others:
        not_compared.append("the listeners on " + ", ".join(f"{e['port']} (listen({e['backlog']}))" for e in others)
                            + ": a Network has one listening port")
    for e in events:
        what = e["what"]
        if what == "connect":
            syn_retries = record["sysctl"].get("net.ipv4.tcp_syn_retries")
            own = None if syn_retries is None else {"tcp_syn_retries": syn_retries}  # the clients' namespace too
            clients.append(Client(f"client{e['client']}", f"10.0.1.{e['client']}", max(0.0, e["at"]), b"", NEVER,
                                  own))
        elif what == "drop rule on":
            match = _RULE.match(e["rule"])
            if match is None or int(match.group(1)) != port:
                cutoff = e["at"]
                not_compared.append(f"everything from {e['at']:.3f} s: the rule {e['rule']!r} is not one of "
                                    f"client->server pure ACKs")
                break
            sport = match.group(2)
            holds.append([None if sport is None else int(sport) - queue_capture.CLIENT_PORT, e["at"], None])
        elif what == "drop rule off":
            for hold in holds:
                hold[2] = e["at"] if hold[2] is None else hold[2]
        elif what in ("send", "accept"):
            cutoff = e["at"]
            who = f"client {e['client']}'s send()" if what == "send" else "the server's accept()"
            not_compared.append(f"everything from {e['at']:.3f} s, when {who} comes: a Network's clients send "
                                f"only as they connect, its server accepts at once, at intervals or never")
            break
    known = {}
    for key, value in record["sysctl"].items():
        short = key.split(".")[-1]
        if short in LINUX_DEFAULTS:
            known[short] = value
    server = Server(name="server", backlog=listen[0]["backlog"], accept_every=None, sysctls=known)
    net = Network(name, server, clients, description=record.get("description", ""))
    return Plan(net, known, [tuple(h) for h in holds], cutoff, not_compared)


def run(p: Plan) -> tuple[NetworkTrace, list[int]]:
    """Run a Plan: the drops are the transmissions its hold rules match, found round by round (each
    drop can change what is sent later, so only the earliest new match is added per round)."""
    if not isinstance(p, Plan):
        raise TypeError(f"run() takes a Plan, got {type(p).__name__}")
    drops: list[int] = []
    for _ in range(MAX_ROUNDS):
        trace = simulate(p.network, delay=DELAY, drop=drops, sysctls=p.sysctls)
        new = [tx.index for tx in trace.transmissions if tx.index not in drops and _held(p, tx)]
        if not new:
            return trace, drops
        drops = sorted(drops + [min(new)])
    raise RuntimeError(f"{p.network.name}: the hold rules did not settle in {MAX_ROUNDS} runs")


def _held(p: Plan, tx) -> bool:
    if tx.to != p.network.server.name or not tx.sender.startswith("client"):
        return False
    if int(tx.segment.flags) != int(Flags.ACK):
        return False
    k = int(tx.sender[len("client"):])
    return any((who is None or who == k) and start <= tx.sent_at and (end is None or tx.sent_at < end)
               for who, start, end in p.holds)


class Aspect(NamedTuple):
    """One compared fact: what, Linux's value and the model's."""

    what: str
    linux: object
    model: object

    @property
    def same(self) -> bool:
        return self.linux == self.model


class Comparison:
    """What Linux did and what the model did, fact by fact (``aspects``); ``not_compared`` says what
    the model could not be made to do. ``same``: no difference at all."""

    def __init__(self, experiment: str, aspects: list[Aspect], not_compared: list[str]) -> None:
        self.experiment, self.aspects, self.not_compared = experiment, aspects, not_compared

    @property
    def same(self) -> bool:
        return all(a.same for a in self.aspects)

    def differences(self) -> list[str]:
        """Every difference, one line each."""
        return [f"DIFFERENT: {a.what}: Linux {a.linux}, model {a.model}" for a in self.aspects if not a.same]

    def table(self) -> str:
        lines = [f"{self.experiment}: Linux vs model"]
        width = max((len(a.what) for a in self.aspects), default=10)
        for a in self.aspects:
            mark = "=" if a.same else "!"
            lines.append(f"{mark} {a.what:<{width}}  Linux {a.linux!s:<28} model {a.model}")
        lines += [f"  not compared: {n}" for n in self.not_compared]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Comparison {self.experiment}: {'same' if self.same else 'different'}, " \
               f"{len(self.differences())} differences>"


def compare(name, where=DATA) -> Comparison:
    """Run experiment ``name`` in the model and compare it with the observation in ``where``."""
    if not isinstance(where, (str, Path)):
        raise TypeError(f"where must be a directory name, got {type(where).__name__}")
    record, segs = load(name, where)
    p = plan(record)
    trace, drops = run(p)
    port, cutoff = record["server"][1], p.cutoff
    # what Linux was watched for: up to the cutoff, else to the last snapshot or segment
    end = cutoff if cutoff is not None else max([s["at"] for s in record["snapshots"]] +
                                                [s["t"] for s in segs]) + TOLERANCE
    snaps = [s for s in record["snapshots"] if s["at"] < end]
    aspects = []
    for s in snaps:
        at = max(0.0, s["at"])  # a snapshot before the first segment: the model listens from 0
        linux = _linux_server(s, port)
        model = _model_server(trace, at)
        label = f"ss at {s['at']:.2f} s ({s['label']})"
        aspects.append(Aspect(f"{label}: listener Recv-Q/Send-Q", linux[0], model[0]))
        aspects.append(Aspect(f"{label}: server sockets", linux[1], model[1]))
    if snaps:
        last = record["clients"] if cutoff is None else snaps[-1]["clients"]
        at = max(0.0, snaps[-1]["at"])
        for k, fate in sorted(last.items(), key=lambda kv: int(kv[0])):
            aspects.append(Aspect(f"client {k} at {at:.2f} s", fate, _model_fate(trace, f"client{k}", at)))
    for e in record["events"]:
        if e["what"] == "drop rule off" and e["at"] < end:
            taken = sum(int(m) for c in e["counters"] for m in re.findall(r"packets (\d+)", c))
            model = sum(trace.transmissions[i - 1].sent_at < e["at"] for i in drops)
            aspects.append(Aspect(f"ACKs the drop rule took by {e['at']:.2f} s (nft counter)", taken, model))
    delta = record["counters"]["delta"]
    not_compared = list(p.not_compared)
    if cutoff is None:
        for counter, kinds in COUNTERS.items():
            aspects.append(Aspect(counter, delta[counter], sum(h.time < end for kind in kinds for h in trace.events(kind))))
    else:
        syn_after = any(s["dport"] == port and s["flags"] & 0x3F == dpkt.tcp.TH_SYN and s["t"] >= end
                        for s in segs)
        if not syn_after:  # a cookie is sent only in answer to a SYN
            aspects.append(Aspect("TcpExtSyncookiesSent", delta["TcpExtSyncookiesSent"],
                                  sum(h.time < end for h in trace.events("cookie sent"))))
        not_compared.append("the nstat counters (they cover the whole experiment)"
                            + ("" if syn_after else ", but TcpExtSyncookiesSent (no SYN came later)"))
    for e in record["events"]:
        if e["what"] == "connect":
            k = e["client"]
            linux = _linux_synacks(segs, port, queue_capture.CLIENT_PORT + k, end)
            model = _model_synacks(trace, f"client{k}", end)
            # equal within TOLERANCE counts as the same; otherwise the model's own times are shown
            aspects.append(Aspect(f"SYN,ACKs to client {k} (s after its first SYN)", linux,
                                  linux if _close(linux, model) else model))
    return Comparison(record["experiment"], aspects, not_compared)


def _linux_server(snapshot: dict, port: int) -> tuple:
    listener = [(r["recv_q"], r["send_q"]) for r in snapshot["listeners"] if r["local"].endswith(f":{port}")]
    counts: dict[str, int] = {}
    for r in snapshot["sockets"]:
        if r["state"] != "LISTEN" and r["local"].endswith(f":{port}"):
            counts[r["state"]] = counts.get(r["state"], 0) + 1
    return (listener[0] if listener else None), dict(sorted(counts.items()))


def _model_server(trace: NetworkTrace, at: float) -> tuple:
    listener, counts = None, {}
    for line in trace.ss("server", at=at, limit=10_000).splitlines()[1:]:
        state, recv_q, send_q = line.split()[:3]
        if state == "LISTEN":
            listener = (int(recv_q), int(send_q))
        else:
            counts[state] = counts.get(state, 0) + 1
    return listener, dict(sorted(counts.items()))


def _model_fate(trace: NetworkTrace, client: str, at: float) -> str:
    """The client's socket at ``at`` as the experiments' program reports it."""
    one = trace.connections[trace.clients[client][0]]
    state = one.state_at("client", at)
    if state.synchronized:
        return "connected"
    if state is State.SYN_SENT:
        return "connecting"
    return _OUTCOMES.get(one.outcomes["client"], str(one.outcomes["client"]))


def _linux_synacks(segs: list, port: int, cport: int, end: float) -> list:
    syns = [s["t"] for s in segs if s["sport"] == cport and s["dport"] == port and s["flags"] & 0x3F == dpkt.tcp.TH_SYN]
    if not syns:
        return []
    return [round(s["t"] - syns[0], 1) for s in segs if s["sport"] == port and s["dport"] == cport
            and s["flags"] & 0x3F == dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK and s["t"] < end]


def _model_synacks(trace: NetworkTrace, client: str, end: float) -> list:
    conn = trace.clients[client][0]
    one = trace.connections[conn]
    start = one.states["client"][0][0]
    want = int(Flags.SYN | Flags.ACK)
    return [round(tx.sent_at - start, 1) for tx in trace.transmissions
            if tx.conn == conn and tx.sender == "server" and int(tx.segment.flags) == want and tx.sent_at < end]


def _close(a: list, b: list) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= TOLERANCE + 1e-9 for x, y in zip(a, b))

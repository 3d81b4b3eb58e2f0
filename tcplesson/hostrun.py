"""The event loop of a run with many hosts: time, the link between them, and the NetworkTrace it records.

A heap of timed happenings (packet arrivals, the hosts' timers, the applications' socket calls)
is popped in order; each goes to its Host, and what the Host logged is handed to the Trace: a
packet it sent goes on the Link, a connection's records go to that connection's own two-sided
Trace, host events and queue lengths to the run's. What the applications on the hosts do is left
to a subclass: network.py's (a server that accepts, clients that connect, send and close, a SYN
flood) and sockets.py's (a script of socket calls).
"""
from __future__ import annotations

import heapq

from . import records
from .endpoint import KEEPALIVE_ONLY, ProtocolError, keepalive_only
from .host import DROPS, Host
from .link import Link
from .nettrace import NetworkTrace
from .segment import Packet, Segment
from .states import State
from .trace import SIDES, Happening, Trace, Transmission

MAX_TRANSMISSIONS = 3_000_000  # a safety limit far above the lessons' floods; reaching it is reported
ARRIVAL, CALL, TIMER, OWN = 0, 1, 2, 3  # at equal times in this order; OWN: a subclass's own happenings


class HostRun:
    """One run: ``hosts`` by name, one ``link`` between them; ``go()`` returns the NetworkTrace."""

    def __init__(self, name: str, hosts: dict[str, Host], link: Link, params: dict,
                 flood: tuple[float, float] | None = None) -> None:
        self.hosts, self.link = hosts, link
        self.by_address = {h.address: name for name, h in hosts.items()}
        self.trace = NetworkTrace(name, params, hosts={n: h.address for n, h in hosts.items()}, flood=flood)
        self.heap: list = []
        self.order = 0
        self.armed: dict[tuple, float | None] = {}
        self.arriving: Transmission | None = None
        self.down: dict[str, float] = {}  # host -> when it crashed (until it reboots)
        self.unplugged: set[str] = set()  # hosts whose cable is out

    def push(self, time: float, kind: int, who, item) -> None:
        self.order += 1
        heapq.heappush(self.heap, (time, kind, self.order, who, item))

    def go(self) -> NetworkTrace:
        trace = self.trace
        heap, hosts = self.heap, self.hosts
        while heap:
            if self._probing() and all(entry[1] == TIMER for entry in heap) and self._keepalive_only():
                trace.happenings.append(Happening(trace.end_time, next(iter(hosts)), "stopped", KEEPALIVE_ONLY))
                break
            if len(trace.transmissions) >= MAX_TRANSMISSIONS:
                trace.truncated = True
                trace.happenings.append(Happening(trace.end_time, next(iter(hosts)), "stopped",
                                                  f"stopped after {MAX_TRANSMISSIONS} transmissions"))
                break
            now, kind, _, who, item = heapq.heappop(heap)
            if kind == ARRIVAL:
                tx, packet = item
                if who in self.down:  # a host without power answers nothing
                    trace.happenings.append(Happening(now, who, "dropped", f"{packet.segment}: the host is down"))
                    continue
                self.arriving = tx  # until collected: the SYN that makes a server keep state
                hosts[who].receive(now, packet)
            elif kind == TIMER:
                if self.armed.get((who, item)) != now:
                    continue
                self.armed[(who, item)] = None
                hosts[who].on_timer(now, item)
            elif kind == OWN:
                self.on_own(now, item)
                trace.end_time = now
                continue
            else:
                self.call(now, who, item)
            trace.end_time = now
            self.collect(now, hosts[who])
            self.arriving = None
        self.finish()
        return trace

    def call(self, now: float, who: str, call) -> None:
        """An application's socket call; an error is what the application would see, and the run goes on."""
        try:
            call(now)
        except (ProtocolError, OSError) as error:
            self.trace.happenings.append(Happening(now, who, "call error", str(error)))

    def _probing(self) -> bool:
        """Some socket has SO_KEEPALIVE: only then can the run go on for ever."""
        return any(host.keepalive_used for host in self.hosts.values())

    def _keepalive_only(self) -> bool:
        return not self.down and not self.unplugged and keepalive_only(
            e for host in self.hosts.values() for e in host.tcbs.values())

    def fail(self, now: float, who: str, failure: str) -> None:
        """``who``'s host crashes or reboots, or its cable is pulled or plugged back (a reboot of a
        running host is a crash and a reboot at once)."""
        self.trace.happenings.append(Happening(now, who, "failure", failure))
        host = self.hosts[who]
        if failure == "crash" or (failure == "reboot" and who not in self.down):
            host.crash(now)
            self.down[who] = now
            self.collect(now, host)
        if failure == "reboot":
            del self.down[who]
        elif failure == "link_down":
            self.unplugged.add(who)
        elif failure == "link_up":
            self.unplugged.discard(who)

    # ------------------------------------------------------------------ what the applications do
    def on_state(self, now: float, host: Host, conn: tuple, side: str, state: State) -> None:
        """One of ``host``'s connections changed state."""

    def on_queues(self, host: Host, rec: records.QueueLengths) -> None:
        """A listener's queue lengths changed."""

    def on_own(self, now: float, item) -> None:
        raise NotImplementedError(f"{type(self).__name__} pushed an OWN happening it does not handle")

    # ------------------------------------------------------------------ records
    def collect(self, now: float, host: Host) -> None:
        trace = self.trace
        last_conn = last = None  # the Trace of the connection last seen: a host logs a connection's records together
        for conn, side, rec in host.log:
            kind = type(rec)
            if kind is records.Sent:
                self.transmit(rec.time, host.name, packet_of(conn, side, rec.segment), rec.retransmission, conn, side)
            elif kind is records.QueueLengths:
                key = (host.name, rec.port)
                series = trace.queues.setdefault(key, [])
                if not series:
                    trace.limits[key] = host.listeners[rec.port].limit
                series.append((rec.time, rec.syn, rec.accept))
                spans = trace.listening.setdefault(key, [])
                if not rec.listening:
                    spans[-1] = (spans[-1][0], rec.time)
                elif not spans or spans[-1][1] is not None:
                    spans.append((rec.time, None))
                self.on_queues(host, rec)
            elif kind is records.HostEvent:
                detail = rec.detail if conn is None else f"{conn_text(conn)} {rec.detail}".rstrip()
                trace.happenings.append(Happening(rec.time, host.name, "host:" + rec.kind, detail))
                own = trace.connections.get(conn)
                if own is not None and rec.kind in DROPS:  # the connection's ladder marks the segment
                    own.happenings.append(Happening(rec.time, "server", "dropped by host", f"{rec.detail}: {rec.kind}"))
                if rec.kind == "accepted":
                    trace.accepted.setdefault(conn, rec.time)  # a later incarnation of the 4-tuple keeps the first
            else:
                if conn is not last_conn:
                    last_conn, last = conn, self.conn_trace(conn, rec.time)
                last.record(side, rec)
                if kind is records.StateChange:
                    self.on_state(rec.time, host, conn, side, rec.state)
        host.log.clear()
        armed = self.armed
        for conn in host.touched:
            deadline = host.deadline(conn)
            key = (host.name, conn)
            if deadline is not None and deadline != armed.get(key):
                self.push(deadline, TIMER, host.name, conn)
            armed[key] = deadline
        host.touched.clear()

    def conn_trace(self, conn: tuple, now: float) -> Trace:
        """The Trace of one connection, made when something first happens to it."""
        found = self.trace.connections.get(conn)
        if found is not None:
            return found
        found = Trace(f"{self.trace.scenario} {conn_text(conn)}", dict(self.trace.params),
                      states={who: [(now, State.CLOSED)] for who in SIDES},
                      transitions={who: [] for who in SIDES}, outcomes={who: None for who in SIDES},
                      delivered={who: b"" for who in SIDES}, end_time=now)
        self.trace.connections[conn] = found
        self.trace.ends[conn] = (self.by_address.get(conn[0], "attacker"), self.by_address.get(conn[2], conn[2]))
        tx = self.arriving
        if tx is not None and tx.conn == conn:  # the SYN that made the server keep state
            found.transmissions.append(own_copy(tx, "client" if tx.sender != self.trace.ends[conn][1] else "server"))
        return found

    def transmit(self, now: float, sender: str, packet: Packet, retransmission: bool, conn: tuple,
                 side: str | None) -> None:
        trace = self.trace
        index = len(trace.transmissions) + 1
        delay = self.link.carry(index)
        to = self.by_address.get(packet.dst)
        if sender in self.unplugged or to in self.unplugged or to in self.down:  # no cable, or nobody there
            delay = None
        arrived = None if delay is None else now + delay
        tx = Transmission(index, sender, packet.segment, now, arrived, delay is None, retransmission, False,
                          to if to is not None else packet.dst, conn)
        trace.transmissions.append(tx)
        own = trace.connections.get(conn)
        if own is None and conn is not None and side is not None:
            # a host with no socket names what it answers from the packet it got, as if its sender
            # had opened the connection; the run may know that connection the other way round
            own = trace.connections.get((conn[2], conn[3], conn[0], conn[1]))
            side = "client" if side == "server" else "server"
        if own is not None:
            own.transmissions.append(own_copy(tx, side or "client"))
        if arrived is not None and to is not None:
            self.push(arrived, ARRIVAL, to, (tx, packet))

    def finish(self) -> None:
        trace = self.trace
        for conn_trace in trace.connections.values():
            last = [t for who in SIDES for t, _ in conn_trace.states[who][-1:]]
            last += [tx.arrived_at or tx.sent_at for tx in conn_trace.transmissions[-1:]]
            conn_trace.end_time = max(last)
        first = next((conns[0] for conns in trace.clients.values() if conns), None)
        if first is not None:
            one = trace.connections[first]
            trace.states, trace.transitions, trace.outcomes = one.states, one.transitions, one.outcomes
            trace.delivered = one.delivered
        else:
            trace.states = {who: [(0.0, State.CLOSED)] for who in SIDES}
            trace.transitions = {who: [] for who in SIDES}
            trace.outcomes = {who: None for who in SIDES}
            trace.delivered = {who: b"" for who in SIDES}


def own_copy(tx: Transmission, side: str) -> Transmission:
    """A transmission as its connection's two-sided Trace keeps it: sent by ``side``, to and conn implied."""
    return Transmission(tx.index, side, tx.segment, tx.sent_at, tx.arrived_at, tx.lost, tx.retransmission, tx.stale)


def packet_of(conn: tuple, side: str, seg: Segment) -> Packet:
    """The packet one side of a connection sends (the 4-tuple is named from the client's side)."""
    if side == "client":
        return Packet(conn[0], conn[1], conn[2], conn[3], seg)
    return Packet(conn[2], conn[3], conn[0], conn[1], seg)


def conn_text(conn: tuple) -> str:
    return f"{conn[0]}:{conn[1]}->{conn[2]}:{conn[3]}"

"""A test bench for Hosts: a wire that carries what they send, at a fixed delay, and can drop packets.

The Host is sans-IO: it logs what it sends and is told when packets arrive and timers fire. This
bench does that in time order and keeps every packet it carried, so a test can state which
segments crossed, which were dropped on purpose (as nftables drops them in the Linux
observations), and in which state each connection is.
"""
from __future__ import annotations

import heapq
import itertools

from tcplesson import records
from tcplesson.segment import Packet, flag_names


class Wire:
    """Hosts by address; ``drop(packet)`` True makes the wire lose that packet; ``after()`` runs
    after every arrival and timer (for invariants)."""

    def __init__(self, *hosts, delay: float = 0.05, drop=None, after=None) -> None:
        self.hosts = {h.address: h for h in hosts}
        self.delay, self.drop = delay, drop or (lambda packet: False)
        self.after = after or (lambda: None)  # called after every arrival and timer
        self.now = 0.0
        self.carried: list[tuple[float, Packet]] = []  # (sent at, packet), dropped ones included
        self.dropped: list[Packet] = []
        self._read = {h.name: 0 for h in hosts}
        self._arrivals: list = []
        self._order = itertools.count()

    def call(self, at: float, fn, *args, **kwargs):
        """Run the network up to ``at``, then make a socket call there (``fn`` a bound Host method)."""
        self.run(until=at)
        result = fn(at, *args, **kwargs)
        self._collect()
        self.after()
        return result

    def run(self, until: float) -> None:
        """Deliver packets and fire timers in time order up to ``until``."""
        while True:
            self._collect()
            arrival = self._arrivals[0][0] if self._arrivals else None
            timer = self._next_timer()
            t = min((x for x in (arrival, timer and timer[0]) if x is not None), default=None)
            if t is None or t > until:
                break
            self.now = t
            if arrival is not None and arrival == t:
                _, _, packet = heapq.heappop(self._arrivals)
                self.hosts[packet.dst].receive(t, packet)
            else:
                host, conn = timer[1], timer[2]
                host.on_timer(t, conn)
            self.after()
        self.now = max(self.now, until)

    def _next_timer(self):
        best = None
        for host in self.hosts.values():
            for conn in list(host.tcbs):
                t = host.deadline(conn)
                if t is not None and (best is None or t < best[0]):
                    best = (t, host, conn)
        return best

    def _collect(self) -> None:
        """Put on the wire what each host sent since the last look."""
        for host in self.hosts.values():
            log, start = host.log, self._read[host.name]
            self._read[host.name] = len(log)
            for entry in log[start:]:
                if isinstance(entry.rec, records.Sent):
                    packet = packet_of(entry.conn, entry.side, entry.rec.segment)
                    self.carried.append((entry.rec.time, packet))
                    if self.drop(packet):
                        self.dropped.append(packet)
                    elif packet.dst in self.hosts:
                        heapq.heappush(self._arrivals, (entry.rec.time + self.delay, next(self._order), packet))

    def segments(self, src: str | None = None) -> list[str]:
        """What crossed (or was dropped), as 'FLAGS' strings, from one address if given."""
        return [flag_names(int(p.segment.flags)) for _, p in self.carried if src is None or p.src == src]


def packet_of(conn: tuple, side: str, segment) -> Packet:
    """The packet a connection's side sends: the 4-tuple is named from the client's side."""
    if side == "client":
        return Packet(conn[0], conn[1], conn[2], conn[3], segment)
    return Packet(conn[2], conn[3], conn[0], conn[1], segment)


def events(host, kind: str) -> list:
    """The host's HostEvents of one kind, as (time, connection)."""
    return [(e.rec.time, e.conn) for e in host.log if isinstance(e.rec, records.HostEvent) and e.rec.kind == kind]

"""The Trace of a run with many hosts and connections: one Trace per connection, plus the hosts' own story.

``trace.connections`` maps each connection's 4-tuple (client address, client port, server address,
server port) to a plain two-sided Trace, so every figure and table of one connection works on it
(``tl.plot_ladder(trace.connection("client3"))``). The run-wide ``transmissions`` are named by host,
and the hosts' happenings (queue lengths, cookies, overflow drops) are kept beside them.
The single-connection attributes (``states``, ``outcomes`` ...) are those of the first connection a
legitimate client opened.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import labels
from .segment import Flags
from .states import State
from .trace import SIDES, Happening, Trace, pad

# How `ss` names the states (iproute2 misc/ss.c sstate_name).
SS_NAMES = {
    State.LISTEN: "LISTEN", State.SYN_SENT: "SYN-SENT", State.SYN_RECEIVED: "SYN-RECV",
    State.ESTABLISHED: "ESTAB", State.FIN_WAIT_1: "FIN-WAIT-1", State.FIN_WAIT_2: "FIN-WAIT-2",
    State.CLOSE_WAIT: "CLOSE-WAIT", State.CLOSING: "CLOSING", State.LAST_ACK: "LAST-ACK",
    State.TIME_WAIT: "TIME-WAIT",
}


def endpoint_text(address: str, port) -> str:
    """'10.0.0.1:80', '[::1]:80', as ss writes a socket address."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


@dataclass
class NetworkTrace(Trace):
    hosts: dict[str, str] = field(default_factory=dict)  # host name -> address
    connections: dict[tuple, Trace] = field(default_factory=dict)
    ends: dict[tuple, tuple[str, str]] = field(default_factory=dict)  # 4-tuple -> (client host, server host)
    queues: dict[tuple, list[tuple[float, int, int]]] = field(default_factory=dict)  # (host, port) -> series
    limits: dict[tuple, int] = field(default_factory=dict)  # (host, port) -> min(backlog, somaxconn)
    listening: dict[tuple, list] = field(default_factory=dict)  # (host, port) -> [(listen(), close() or None)]
    accepted: dict[tuple, float] = field(default_factory=dict)  # 4-tuple -> when accept() first took it
    clients: dict[str, list[tuple]] = field(default_factory=dict)  # legitimate client -> its 4-tuples
    flood: tuple[float, float] | None = None  # (start, end) of the SYN flood, if any

    # ------------------------------------------------------------------ one connection
    def connection(self, which=None) -> Trace:
        """One connection's Trace: by 4-tuple, by a client's name (its first connection), or the first."""
        if which is None:
            which = next(iter(self.clients), None)
            if which is None:
                raise ValueError("this run has no legitimate client; name a connection by its 4-tuple")
        if isinstance(which, tuple):
            if which not in self.connections:
                raise ValueError(f"no connection {which!r} in this run")
            return self.connections[which]
        if isinstance(which, str):
            if which not in self.clients:
                raise ValueError(f"unknown client {which!r}; clients: {', '.join(self.clients) or 'none'}")
            return self.connections[self.clients[which][0]]
        raise TypeError(f"which must be a 4-tuple or a client's name, got {type(which).__name__}")

    def connect_times(self) -> list[dict]:
        """For each legitimate client's connection: when connect() was called, how long it took, how it ended."""
        rows = []
        for name, conns in self.clients.items():
            for conn in conns:
                trace = self.connections[conn]
                started = trace.states["client"][0][0]
                opened = trace.first_time("client", State.ESTABLISHED)
                rows.append(dict(client=name, port=conn[1], started=started,
                                 connected=None if opened is None else round(opened - started, 6),
                                 outcome=trace.outcomes["client"], server_accepted=conn in self.accepted))
        return rows

    def events(self, kind: str | None = None, who: str | None = None) -> list[Happening]:
        """The socket layer's happenings (see host.HOST_EVENTS), of one kind and one host if given."""
        return [h for h in self.happenings if h.kind.startswith("host:")
                and (kind is None or h.kind == "host:" + kind) and (who is None or h.who == who)]

    def count(self, kind: str, who: str | None = None) -> int:
        return len(self.events(kind, who))

    # ------------------------------------------------------------------ queues and ss
    def queue_at(self, host: str, port: int, time: float) -> tuple[int, int]:
        """(SYN queue, accept queue) lengths of a listener at a time (after what happened then)."""
        series = self._series(host, port)
        syn = accept = 0
        for t, s, a in series:
            if t > time:
                break
            syn, accept = s, a
        return syn, accept

    def ss(self, host: str, at: float | None = None, *, state: str | None = None, limit: int = 40) -> str:
        """What ``ss -tan`` would print on ``host`` at time ``at`` (default: the end of the run).

        A listener shows its accept-queue length as Recv-Q and its limit as Send-Q, as Linux does;
        a connection shows bytes not yet read (Recv-Q) and bytes sent but not acknowledged (Send-Q).
        ``state`` keeps one ss state name (e.g. "SYN-RECV"); at most ``limit`` sockets are listed,
        then a count of the rest.
        """
        if host not in self.hosts:
            raise ValueError(f"unknown host {host!r}; hosts: {', '.join(self.hosts)}")
        at = self.end_time if at is None else float(at)
        if state is not None and state not in SS_NAMES.values():
            raise ValueError(f"unknown ss state {state!r}; one of: {', '.join(SS_NAMES.values())}")
        rows = []
        for (name, port), limit_ in self.limits.items():
            if name == host and any(start <= at and (end is None or at < end)
                                    for start, end in self.listening[(name, port)]):
                rows.append(("LISTEN", self.queue_at(name, port, at)[1], limit_, endpoint_text("0.0.0.0", port),
                             "0.0.0.0:*"))
        for conn, trace in self.connections.items():
            for side, name in zip(SIDES, self.ends[conn]):
                if name != host or trace.states[side][0][0] > at:
                    continue
                current = trace.state_at(side, at)
                if current in (State.CLOSED,) or (current is State.LISTEN):
                    continue
                local, peer = (conn[0:2], conn[2:4]) if side == "client" else (conn[2:4], conn[0:2])
                rows.append((SS_NAMES[current], self._recv_q(conn, side, at), _send_q(trace, side, at),
                             endpoint_text(*local), endpoint_text(*peer)))
        if state is not None:
            rows = [r for r in rows if r[0] == state]
        head = f"{'State':<11}{'Recv-Q':<7}{'Send-Q':<7}{'Local Address:Port':>24} {'Peer Address:Port':>24}"
        lines = [head] + [f"{s:<11}{r:<7}{q:<7}{loc:>24} {peer:>24}" for s, r, q, loc, peer in rows[:limit]]
        if len(rows) > limit:
            lines.append(labels.text("ss.more", n=len(rows) - limit))
        return "\n".join(lines)

    def _series(self, host: str, port: int) -> list:
        if (host, port) not in self.queues:
            known = ", ".join(f"{h}:{p}" for h, p in self.queues) or "none"
            raise ValueError(f"{host} does not listen on port {port} in this run (listeners: {known})")
        return self.queues[(host, port)]

    def _recv_q(self, conn: tuple, side: str, at: float) -> int:
        """Bytes that arrived and the application has not read: a server reads once it has accepted."""
        if side == "server" and conn in self.accepted and self.accepted[conn] <= at:
            return 0
        if side == "client":
            return 0  # the clients read everything at once
        trace = self.connections[conn]
        return sum(int(h.detail.split()[0]) for h in trace.happenings
                   if h.who == side and h.kind == "delivered" and h.time <= at)

    # ------------------------------------------------------------------ words
    def summary(self, lang: str | None = None) -> str:
        """What happened, in one paragraph: legitimate clients first, then the flood and the queues."""
        t = lambda key, **fields: labels.text(key, lang, **fields)  # noqa: E731
        rows = self.connect_times()
        done = sorted(r["connected"] for r in rows if r["connected"] is not None)
        parts = [t("net.clients", n=len(rows), ok=len(done))]
        if done:
            parts.append(t("net.connect_times", fastest=f"{done[0]:.2f}", median=f"{done[len(done) // 2]:.2f}",
                           slowest=f"{done[-1]:.2f}"))
        failed = [r for r in rows if r["outcome"]]
        for outcome in sorted({r["outcome"] for r in failed}):
            parts.append(t("net.failed", n=sum(r["outcome"] == outcome for r in failed),
                           outcome=t(f"outcome.{outcome}")))
        if self.flood:
            parts.append(t("net.flood", n=sum(tx.sender == "attacker" for tx in self.transmissions),
                           start=f"{self.flood[0]:g}", end=f"{self.flood[1]:g}"))
        for kind in ("cookie sent", "cookie accepted", "SYN dropped (SYN queue full)",
                     "SYN dropped (accept queue full)", "SYN dropped (tcp_max_syn_backlog)",
                     "ACK dropped (accept queue full)", "RST (accept queue full)"):
            n = self.count(kind)
            if n:
                parts.append(t("net.event", n=n, what=t(f"host.{kind}")))
        return t("summary.sep").join(parts)

    def table(self, lang: str | None = None) -> str:
        """Every connection in one line each: 4-tuple, who, the states each side went through."""
        t = lambda key, **fields: labels.text(key, lang, **fields)  # noqa: E731
        lines = []
        for conn, trace in self.connections.items():
            client, server = self.ends[conn]
            paths = "  |  ".join(f"{t(side)}: " + " -> ".join(str(s) for s in trace.path(side))
                                 for side in SIDES if len(trace.states[side]) > 1)
            lines.append(f"{endpoint_text(*conn[:2]):>22} -> {endpoint_text(*conn[2:]):<16} {pad(client, 9)} {paths}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<NetworkTrace {self.scenario}: {len(self.hosts)} hosts, {len(self.connections)} connections, "
                f"{len(self.transmissions)} transmissions>")


def _send_q(trace: Trace, side: str, at: float) -> int:
    """Payload bytes ``side`` sent that no ACK had covered by ``at``."""
    sent_end = acked = None
    for tx in trace.transmissions:
        seg = tx.segment
        if tx.sender == side and tx.sent_at <= at and seg.payload:
            end = (seg.seq + len(seg.payload)) % 2**32
            if sent_end is None or (end - sent_end) % 2**32 < 2**31:
                sent_end = end
        elif tx.sender != side and not tx.lost and tx.arrived_at <= at and seg.flags & Flags.ACK:
            if acked is None or (seg.ack - acked) % 2**32 < 2**31:
                acked = seg.ack
    if sent_end is None or acked is None:
        return 0
    gap = (sent_end - acked) % 2**32
    return gap if gap < 2**31 else 0


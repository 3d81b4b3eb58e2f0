"""Runs with many hosts: a server, legitimate clients, and optionally a SYN flood from spoofed addresses.

    net = tl.syn_flood(rate=200, duration=10, backlog=64, cookies=1)
    trace = tl.simulate(net, seed=1)
    print(trace.summary()); print(trace.ss("server", at=5.0))

A Network is a description: the server (its port, listen() backlog, how fast its application
calls accept(), its sysctls), the clients (when each connects, what it sends, when it closes) and
the flood (SYNs per second, start, duration, the address block it forges sources from). The run
(`simulate`) builds a Host per machine, passes packets between them over one Link (delay, jitter,
loss, chosen drops by transmission number, as for two endpoints) and records a NetworkTrace.
Packets to a forged address reach nobody: that is what makes a flood's half-open connections hang.
"""
from __future__ import annotations

import ipaddress
import random
from typing import NamedTuple

from . import records
from ._check import check_bytes, check_int_range, check_number
from .host import Host, check_address, check_port
from .hostrun import CALL, OWN, HostRun
from .link import Link
from .nettrace import NetworkTrace
from .segment import Flags, Packet, Segment
from .states import State
from .sysctl import Sysctls



class Server(NamedTuple):
    """The listening host. ``accept_every``: seconds between the application's accept() calls
    (0: at once, None: never); ``close_delay``: how long after reading end-of-file it closes."""

    name: str = "server"
    address: str = "10.0.0.1"
    port: int = 80
    backlog: int = 128
    accept_every: float | None = 0.0
    close_delay: float = 0.01
    sysctls: dict | None = None


class Client(NamedTuple):
    """A legitimate client: connect() at ``at``, send ``data`` once connected, close ``close_after`` later.
    ``sysctls`` are its own host's settings (the ``sysctls`` of simulate() are the server's)."""

    name: str
    address: str
    at: float
    data: bytes = b"hello"
    close_after: float = 0.2
    sysctls: dict | None = None  # the client host's own settings, e.g. {"tcp_syn_retries": 1}


class Flood(NamedTuple):
    """SYNs from forged source addresses in ``sources``, ``rate`` per second from ``start`` for ``duration`` s."""

    rate: float
    start: float = 1.0
    duration: float = 10.0
    sources: str = "198.18.0.0/15"  # RFC 2544's benchmarking block: never a real host


class Network:
    """A named description of hosts and what their applications do (see the module docstring)."""

    def __init__(self, name: str, server: Server, clients=(), flood: Flood | None = None,
                 description: str = "") -> None:
        if not isinstance(name, str) or not name:
            raise TypeError("a network's name must be a non-empty string")
        if not isinstance(server, Server):
            raise TypeError(f"server must be a Server, got {type(server).__name__}")
        self.name, self.description = name, description
        self.server = _checked_server(server)
        self.clients = tuple(_checked_client(c) for c in clients)
        names = [server.name] + [c.name for c in self.clients]
        if len(set(names)) != len(names) or "attacker" in names:
            raise ValueError(f"host names must be unique and not 'attacker', got {names}")
        if flood is not None and not isinstance(flood, Flood):
            raise TypeError(f"flood must be a Flood or None, got {type(flood).__name__}")
        self.flood = None if flood is None else _checked_flood(flood)

    def __repr__(self) -> str:
        return f"<Network {self.name}: {len(self.clients)} clients{', a SYN flood' if self.flood else ''}>"


def clients(n: int, *, start: float = 0.0, every: float = 1.0, data: bytes = b"hello",
            close_after: float = 0.2, subnet: str = "10.0.1.0/24") -> list[Client]:
    """``n`` clients client1..clientN on ``subnet``, the first connecting at ``start``, then one every ``every`` s."""
    n = check_int_range("n", n, 0, 250)
    start, every = check_number("start", start, low=0.0), check_number("every", every, low=0.0)
    hosts = ipaddress.ip_network(subnet).hosts()
    return [Client(f"client{i + 1}", str(next(hosts)), round(start + i * every, 9), data, close_after)
            for i in range(n)]


def syn_flood(*, rate: float = 200.0, start: float = 2.0, duration: float = 10.0, backlog: int = 64,
              cookies: int = 1, n_clients: int = 10, synack_retries: int = 5, every: float = 1.5) -> Network:
    """A server under a SYN flood while ``n_clients`` legitimate clients connect, send and close."""
    cookies = check_int_range("cookies", cookies, 0, 2)
    sysctls = dict(tcp_syncookies=cookies, tcp_synack_retries=synack_retries)
    Sysctls(**sysctls)
    return Network("syn-flood", Server(backlog=backlog, sysctls=sysctls),
                   clients(n_clients, start=0.5, every=every), Flood(rate, start, duration),
                   f"{rate:g} forged SYNs/s for {duration:g} s against backlog {backlog}, "
                   f"tcp_syncookies={cookies}, with {n_clients} legitimate clients")


def accept_queue_full(*, backlog: int = 2, n_clients: int = 6, every: float = 0.2,
                      abort_on_overflow: int = 0) -> Network:
    """A server that never calls accept(): which clients get in, and what the others see."""
    sysctls = dict(tcp_abort_on_overflow=check_int_range("abort_on_overflow", abort_on_overflow, 0, 1))
    return Network("accept-queue-full", Server(backlog=backlog, accept_every=None, sysctls=sysctls),
                   clients(n_clients, start=0.0, every=every, close_after=30.0),
                   description=f"listen(backlog={backlog}), no accept(), {n_clients} clients")


def simulate_network(net: Network, *, delay: float = 0.05, jitter: float = 0.0, loss: float = 0.0, drop=(),
                     seed: int = 0, rto: float = 1.0, msl: float = 120.0, time_wait: float | None = None,
                     delayed_ack: float = 0.0, mss: int = 1460, sysctls=None) -> NetworkTrace:
    """Run a Network; ``sysctls`` overrides the server's settings by name (see tl.Sysctls)."""
    if not isinstance(net, Network):
        raise TypeError(f"net must be a Network, got {type(net).__name__}")
    seed = check_int_range("seed", seed, 0)
    link = Link(delay=delay, jitter=jitter, loss=loss, drop=drop, seed=seed)
    server_sysctls = Sysctls(**{**(net.server.sysctls or {}), **(_overrides(sysctls))})
    options = dict(rto=rto, msl=msl, time_wait=time_wait, delayed_ack=delayed_ack, mss=mss)
    hosts = {net.server.name: Host(net.server.name, net.server.address, sysctls=server_sysctls, seed=seed, **options)}
    for c in net.clients:
        hosts[c.name] = Host(c.name, c.address, sysctls=c.sysctls, seed=seed, **options)
    params = dict(delay=link.delay, jitter=link.jitter, loss=link.loss, drop=sorted(link.drop), seed=seed,
                  rto=float(rto), msl=float(msl), time_wait=2 * float(msl) if time_wait is None else float(time_wait),
                  delayed_ack=float(delayed_ack), mss=mss, backlog=net.server.backlog,
                  sysctls=server_sysctls.as_dict())
    return _NetworkRun(net, hosts, link, params).go()


def _overrides(sysctls) -> dict:
    if sysctls is None:
        return {}
    if isinstance(sysctls, Sysctls):
        return sysctls.as_dict()
    if not isinstance(sysctls, dict):
        raise TypeError(f"sysctls must be a dict of sysctl names, got {type(sysctls).__name__}")
    return sysctls


class _NetworkRun(HostRun):
    """The applications of a Network: the server listens and accepts, the clients connect, send and
    close, the attacker floods."""

    def __init__(self, net: Network, hosts: dict[str, Host], link: Link, params: dict) -> None:
        flood = net.flood
        super().__init__(net.name, hosts, link, params,
                         None if flood is None else (flood.start, flood.start + flood.duration))
        self.net = net
        self.trace.clients = {c.name: [] for c in net.clients}
        self.accept_at: float | None = None  # the application's next accept() call
        self.last_accept = float("-inf")
        self.close_on_accept: set[tuple] = set()
        self.seen_accept_len = 0
        srv = net.server
        self.push(0.0, CALL, srv.name, lambda now: hosts[srv.name].listen(now, srv.port, srv.backlog))
        for c in net.clients:
            self.push(c.at, CALL, c.name, self._connecter(c))
        if flood is not None:
            self.flood_rng = random.Random(f"flood-{params['seed']}")
            self.flood_net = ipaddress.ip_network(flood.sources)
            self.flood_count = int(round(flood.rate * flood.duration))
            if self.flood_count:
                self.push(flood.start, OWN, None, 0)

    # ------------------------------------------------------------------ applications
    def _connecter(self, client: Client):
        srv = self.net.server

        def connect(now: float) -> None:
            conn = self.hosts[client.name].connect(now, srv.address, srv.port)
            self.trace.clients[client.name].append(conn)
            self.conn_trace(conn, now)
        return connect

    def on_state(self, now: float, host: Host, conn: tuple, side: str, state: State) -> None:
        """What the applications do when one of their connections changes state."""
        if side == "client" and host.name in self.trace.clients:
            client = next(c for c in self.net.clients if c.name == host.name)
            if state is State.ESTABLISHED:
                if client.data:
                    self.push(now, CALL, host.name, lambda t: host.send(t, conn, client.data))
                self.push(now + client.close_after, CALL, host.name, lambda t: host.close(t, conn))
            elif state is State.CLOSE_WAIT:
                self.push(now + 0.01, CALL, host.name, lambda t: host.close(t, conn))
        elif side == "server" and host.name == self.net.server.name and state is State.CLOSE_WAIT:
            if conn in self.trace.accepted:
                self._close_later(now, host, conn)
            else:
                self.close_on_accept.add(conn)

    def on_queues(self, host: Host, rec: records.QueueLengths) -> None:
        if rec.accept > self.seen_accept_len:
            self._want_accept(rec.time)
        self.seen_accept_len = rec.accept

    def _close_later(self, now: float, host: Host, conn: tuple) -> None:
        self.push(now + self.net.server.close_delay, CALL, host.name, lambda t: host.close(t, conn))

    def _want_accept(self, now: float) -> None:
        every = self.net.server.accept_every
        if every is None or self.accept_at is not None:
            return
        self.accept_at = max(now, self.last_accept + every)
        self.push(self.accept_at, CALL, self.net.server.name, self._accept)

    def _accept(self, now: float) -> None:
        srv = self.net.server
        host = self.hosts[srv.name]
        self.accept_at = None
        conn = host.accept(now, srv.port)
        if conn is None:
            return
        self.last_accept = now
        if conn in self.close_on_accept:
            self.close_on_accept.discard(conn)
            self._close_later(now, host, conn)
        if host.listeners[srv.port].accept_queue:
            self._want_accept(now)

    def on_own(self, now: float, i: int) -> None:
        """The flood's i-th forged SYN."""
        flood, rng, srv = self.net.flood, self.flood_rng, self.net.server
        src = str(self.flood_net[rng.randrange(self.flood_net.num_addresses)])
        sport, seq = rng.randrange(1024, 65536), rng.randrange(2**32)
        packet = Packet(src, sport, srv.address, srv.port, Segment.unchecked(Flags.SYN, seq, 0, 64240, b""))
        self.transmit(now, "attacker", packet, False, (src, sport, srv.address, srv.port), None)
        if i + 1 < self.flood_count:
            self.push(flood.start + (i + 1) / flood.rate, OWN, None, i + 1)


def _checked_server(s: Server) -> Server:
    check_address(s.address)
    check_port("port", s.port)
    check_int_range("backlog", s.backlog, 0, 2**31 - 1)
    if s.accept_every is not None:
        check_number("accept_every", s.accept_every, low=0.0)
    check_number("close_delay", s.close_delay, low=0.0)
    Sysctls.of(s.sysctls)
    return s


def _checked_client(c) -> Client:
    if not isinstance(c, Client):
        raise TypeError(f"clients must be Client entries, got {type(c).__name__}")
    check_address(c.address)
    check_number("at", c.at, low=0.0)
    check_bytes("data", c.data)
    check_number("close_after", c.close_after, low=0.0)
    Sysctls.of(c.sysctls)
    return c


def _checked_flood(f: Flood) -> Flood:
    check_number("rate", f.rate, low=0.0, high=1e6)
    check_number("start", f.start, low=0.0)
    check_number("duration", f.duration, low=0.0, high=3600.0)
    try:
        ipaddress.ip_network(f.sources)
    except ValueError:
        raise ValueError(f"flood sources must be an address block like '198.18.0.0/15', got {f.sources!r}") from None
    return f


# The named networks of many hosts, with their default settings (``tl.simulate("syn-flood")``).
NETWORKS: dict[str, Network] = {net.name: net for net in (
    syn_flood(),
    accept_queue_full(),
)}

"""A host: the kernel's socket layer around many Endpoints, sans-IO like the Endpoint itself.

Theory of operation
-------------------
RFC 9293 describes one connection (a TCB) at a time and leaves the rest to the implementation:
how a listening socket holds the connections it is opening, how many it takes, which local port
connect() picks. The Host makes those decisions as Linux makes them and hands everything that is
TCP proper to an Endpoint per connection, which runs the transition table as before.

* A connection is named by its 4-tuple (RFC 9293 3.1, 3.4.1). The Host names each one from the
  active opener's side: (client address, client port, server address, server port).
* An arriving packet goes to the connection of its 4-tuple, else to a listener on its port, else
  it is answered as RFC 9293 3.10.7.1 says (RST; an RST is ignored).
* A listener keeps half-open connections in its SYN queue and established ones in its accept
  queue until accept() takes them; both are limited by min(backlog, somaxconn) and a full one
  overflows as Linux 6.x does (rules below, each with the kernel function it follows).
* Time comes in as ``now``; what the Host does is appended to ``log`` as HostRecord entries
  (endpoint records with the connection they belong to, queue lengths, socket-layer events);
  ``touched`` names the connections whose timers may have moved, ``deadline(conn)`` says when.
"""
from __future__ import annotations

import hashlib
import ipaddress
from typing import NamedTuple

from . import records, syncookies
from ._check import check_int_range
from .endpoint import CLOSED, LISTEN, SYN_RECEIVED, Endpoint, ProtocolError, reset_for
from .segment import SEQ_MOD, Flags, Packet, Segment, seq_add
from .states import State
from .sysctl import Sysctls

_SYN, _ACK, _RST, _FIN = int(Flags.SYN), int(Flags.ACK), int(Flags.RST), int(Flags.FIN)
_F_SYN_ACK = Flags.SYN | Flags.ACK  # built once: an IntFlag's | is Python code, and a flood asks for thousands
ISN_CLOCK_HZ = 250_000  # RFC 9293 3.4.1: 4-microsecond ISN clock
COOKIE_VALID = 120.0  # TCP_SYNCOOKIE_VALID: cookie ACKs are checked only this long after an overflow

# The kinds of HostEvent, with the kernel code that makes the same decision.
HOST_EVENTS = {
    "cookie sent": "net/ipv4/tcp_input.c tcp_conn_request: SYN queue full, answered with a SYN cookie",
    "cookie accepted": "net/ipv4/syncookies.c cookie_v4_check: a valid cookie ACK creates the connection",
    "cookie rejected": "net/ipv4/syncookies.c cookie_v4_check: the ACK's cookie does not decode; RST",
    "SYN dropped (SYN queue full)": "net/ipv4/tcp_input.c tcp_conn_request with tcp_syncookies=0",
    "SYN dropped (accept queue full)": "net/ipv4/tcp_input.c tcp_conn_request: sk_acceptq_is_full",
    "SYN dropped (tcp_max_syn_backlog)": "net/ipv4/tcp_input.c tcp_conn_request: last quarter kept for "
                                         "proven peers",
    "ACK dropped (accept queue full)": "net/ipv4/tcp_minisocks.c tcp_check_req: listen_overflow, "
                                       "tcp_abort_on_overflow=0",
    "RST (accept queue full)": "net/ipv4/tcp_minisocks.c tcp_check_req: listen_overflow, "
                               "tcp_abort_on_overflow=1",
    "no socket": "RFC 9293 3.10.7.1: no connection and no listener; RST (an RST is ignored)",
    "accepted": "accept() took a connection from the accept queue",
    "listener closed": "net/ipv4/inet_connection_sock.c inet_csk_listen_stop: close() of a listening socket; "
                       "accepted-queue connections are reset, half-open ones dropped without a segment",
}
# The kinds that discard an arriving segment without an answer (its detail is the segment).
DROPS = tuple(kind for kind in HOST_EVENTS if " dropped (" in kind)


class HostRecord(NamedTuple):
    """One thing the Host logged: ``rec`` (a records.* entry) for connection ``conn`` (None: the host
    itself), seen from ``side`` ("client" for the active opener, "server" for the passive one)."""

    conn: tuple | None
    side: str | None
    rec: object


class Listener:
    """A listening socket: its port, its limit, and its two queues (oldest first)."""

    def __init__(self, port: int, backlog: int, somaxconn: int) -> None:
        self.port = port
        self.backlog = backlog
        # net/socket.c __sys_listen: the backlog is capped at somaxconn; it is sk_max_ack_backlog
        self.limit = min(backlog, somaxconn)
        self.syn_queue: dict[tuple, Endpoint] = {}
        self.accept_queue: dict[tuple, Endpoint] = {}
        self.young = 0  # half-open requests whose SYN,ACK has not timed out yet (reqsk_queue_len_young)
        self.overflow_at = float("-inf")  # tcp_synq_overflow(): when a cookie was last needed

    def syn_queue_full(self) -> bool:
        # include/net/inet_connection_sock.h inet_csk_reqsk_queue_is_full (">" since Linux 6.10:
        # one more than the limit fits, like the accept queue)
        return len(self.syn_queue) > self.limit

    def accept_queue_full(self) -> bool:
        # include/net/sock.h sk_acceptq_is_full: ">", so limit + 1 connections fit
        return len(self.accept_queue) > self.limit

    def synack_retries(self, configured: int) -> int:
        """How often a request's SYN,ACK may be retransmitted now (net/ipv4/inet_connection_sock.c
        reqsk_timer_handler): once the queue is more than half full, old requests get fewer retries,
        so that half the room stays for young ones."""
        retries, qlen = configured, len(self.syn_queue)
        if qlen << 1 > max(8, self.limit):
            young = self.young << 1
            while retries > 2 and qlen >= young:
                retries -= 1
                young <<= 1
        return retries


class Host:
    """The socket layer of one host: listeners with their queues and connections by 4-tuple.

    ``address`` an IPv4 or IPv6 address as text; ``sysctls`` a Sysctls or a dict of overrides of
    the Linux defaults; ``seed`` makes ISNs and the SYN-cookie secret reproducible. The other
    keywords go to every Endpoint the Host creates (see Endpoint).
    """

    def __init__(self, name: str, address: str, *, sysctls=None, seed: int = 0, rto: float = 1.0,
                 msl: float = 120.0, time_wait: float | None = None, delayed_ack: float = 0.0,
                 mss: int = 1460) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a host's name must be a non-empty string, got {name!r}")
        self.name = name
        self.address = check_address(address)
        self.sysctls = Sysctls.of(sysctls)
        seed = check_int_range("seed", seed, 0)
        self._secret = hashlib.blake2b(f"{seed} {name}".encode(), digest_size=16).digest()
        self._options = dict(rto=rto, msl=msl, time_wait=time_wait, delayed_ack=delayed_ack, mss=mss)
        Endpoint("check", **self._options)  # the options are checked once, here
        self.listeners: dict[int, Listener] = {}
        self.tcbs: dict[tuple, Endpoint] = {}
        self.sides: dict[tuple, str] = {}
        self._request_of: dict[tuple, Listener] = {}  # connections in a listener's SYN or accept queue
        self.proven: set[str] = set()  # peers with a finished handshake (tcp_peer_is_proven)
        self.log: list[HostRecord] = []
        self.touched: set[tuple] = set()

    # ------------------------------------------------------------------ socket calls
    def listen(self, now: float, port: int, backlog: int = 128) -> None:
        """listen(): take connections on ``port``; at most min(backlog, somaxconn) (+1) wait in each queue."""
        port = check_port("port", port)
        backlog = check_int_range("backlog", backlog, 0, 2**31 - 1)
        if port in self.listeners:
            raise ProtocolError(f"can't listen() on port {port} of {self.name}: it is listening already")
        self.listeners[port] = Listener(port, backlog, self.sysctls.somaxconn)
        self._queues(now, self.listeners[port])

    def connect(self, now: float, address: str, port: int) -> tuple:
        """connect(): a SYN from an ephemeral port whose 4-tuple is free; returns the connection's 4-tuple."""
        address, port = check_address(address), check_port("port", port)
        local = self._ephemeral_port(address, port)
        conn = (self.address, local, address, port)
        endpoint = self._endpoint(conn, now, max_retries=self.sysctls.tcp_syn_retries)
        self.sides[conn] = "client"
        endpoint.connect(now)
        self._after(now, conn)
        return conn

    def accept(self, now: float, port: int) -> tuple | None:
        """accept(): the oldest connection waiting on ``port``'s accept queue, or None if it is empty."""
        port = check_port("port", port)
        listener = self.listeners.get(port)
        if listener is None:
            listening = ", ".join(map(str, sorted(self.listeners))) or "none"
            raise ProtocolError(f"can't accept() on port {port} of {self.name}: it is not listening "
                                f"(listening ports: {listening})")
        if not listener.accept_queue:
            return None
        conn = next(iter(listener.accept_queue))
        del listener.accept_queue[conn]
        del self._request_of[conn]
        self._event(now, "accepted", conn, "")
        self._queues(now, listener)
        return conn

    def send(self, now: float, conn: tuple, data: bytes) -> None:
        self._tcb(conn, "send").send(now, data)
        self._after(now, conn)

    def shutdown(self, now: float, conn: tuple, how: str) -> None:
        """shutdown(how) on one of this host's connections (see Endpoint.shutdown)."""
        self._tcb(conn, "shutdown").shutdown(now, how)
        self._after(now, conn)

    def close(self, now: float, conn, linger: float | None = None) -> None:
        """close() a connection (see Endpoint.close; ``linger=0`` is SO_LINGER 0), or a listening
        socket given by its port: the connections waiting in its accept queue get RST, the half-open
        ones are dropped without a segment (Linux inet_csk_listen_stop)."""
        if isinstance(conn, int) and not isinstance(conn, bool):
            return self._close_listener(now, conn)
        self._tcb(conn, "close").close(now, linger)
        self._after(now, conn)

    def exit(self, now: float) -> None:
        """The process exits or is killed: the kernel closes every socket it still holds, each as
        close() would (its connections, then its listening sockets)."""
        for conn in [c for c in self.tcbs if c not in self._request_of]:
            endpoint = self.tcbs.get(conn)
            if endpoint is not None and not endpoint.released:
                endpoint.exit(now)
                self._after(now, conn)
        for port in list(self.listeners):
            self._close_listener(now, port)

    def abort(self, now: float, conn: tuple) -> None:
        self._tcb(conn, "abort").abort(now)
        self._after(now, conn)

    def state(self, conn: tuple) -> State:
        """The state of one of this host's connections (CLOSED once it is gone)."""
        endpoint = self.tcbs.get(conn)
        return State.CLOSED if endpoint is None else endpoint.state

    # ------------------------------------------------------------------ the network side
    def receive(self, now: float, packet: Packet) -> None:
        """A packet addressed to this host arrives."""
        if not isinstance(packet, Packet):
            raise TypeError(f"packet must be a Packet, got {type(packet).__name__}")
        seg = packet.segment
        as_server = (packet.src, packet.sport, packet.dst, packet.dport)
        if self.sides.get(as_server) == "server":
            return self._to_passive(now, as_server, seg)
        as_client = (packet.dst, packet.dport, packet.src, packet.sport)
        if self.sides.get(as_client) == "client":
            self.tcbs[as_client].receive(now, seg)
            return self._after(now, as_client)
        listener = self.listeners.get(packet.dport)
        if listener is not None:
            return self._to_listener(now, listener, as_server, seg)
        conn = as_client if int(seg.flags) & _SYN and int(seg.flags) & _ACK else as_server
        self._stateless(now, conn, "client" if conn is as_client else "server", reset_for(seg), "no socket")

    def deadline(self, conn: tuple) -> float | None:
        endpoint = self.tcbs.get(conn)
        return None if endpoint is None else endpoint.next_deadline()

    def on_timer(self, now: float, conn: tuple) -> None:
        """Run connection ``conn``'s timers that are due."""
        endpoint = self.tcbs.get(conn)
        if endpoint is None:
            return
        listener = self._request_of.get(conn)
        half_open = listener is not None and conn in listener.syn_queue
        if half_open:
            endpoint.max_retries = listener.synack_retries(self.sysctls.tcp_synack_retries)
            was_young = endpoint.retries == 0
        endpoint.on_timer(now)
        if half_open and was_young and endpoint.retries and conn in listener.syn_queue:
            listener.young -= 1
        self._after(now, conn)

    # ------------------------------------------------------------------ listeners
    def _to_listener(self, now: float, listener: Listener, conn: tuple, seg: Segment) -> None:
        f = int(seg.flags)
        if f & _RST:
            return  # a listener ignores RST (RFC 9293 3.10.7.2)
        if f & _ACK:
            if not f & _SYN and self._cookie_ack(now, listener, conn, seg):
                return
            return self._stateless(now, conn, "server", reset_for(seg), "no socket")  # RFC 9293 3.10.7.2
        if not f & _SYN:
            return
        sysctls = self.sysctls
        # net/ipv4/tcp_input.c tcp_conn_request, in its order
        want_cookie = False
        if sysctls.tcp_syncookies == 2 or listener.syn_queue_full():
            if not sysctls.tcp_syncookies:
                return self._event(now, "SYN dropped (SYN queue full)", conn, str(seg))
            want_cookie = True
            listener.overflow_at = now
        if listener.accept_queue_full():
            return self._event(now, "SYN dropped (accept queue full)", conn, str(seg))
        if not want_cookie and not sysctls.tcp_syncookies:
            most = sysctls.tcp_max_syn_backlog
            if most - len(listener.syn_queue) < most >> 2 and conn[0] not in self.proven:
                return self._event(now, "SYN dropped (tcp_max_syn_backlog)", conn, str(seg))
        if want_cookie:
            cookie = syncookies.make(self._secret, conn, seg.seq, now, self._options["mss"])
            reply = Segment.unchecked(_F_SYN_ACK, cookie, seq_add(seg.seq, 1), seg.window, b"")
            return self._stateless(now, conn, "server", reply, "cookie sent")
        endpoint = self._endpoint(conn, now, max_retries=sysctls.tcp_synack_retries)
        self.sides[conn] = "server"
        endpoint.listen(now)
        endpoint.receive(now, seg)
        listener.syn_queue[conn] = endpoint
        listener.young += 1
        self._request_of[conn] = listener
        self._queues(now, listener)
        self._after(now, conn)

    def _cookie_ack(self, now: float, listener: Listener, conn: tuple, seg: Segment) -> bool:
        """net/ipv4/syncookies.c cookie_v4_check: a lone ACK may return a cookie; True if it was taken."""
        if not self.sysctls.tcp_syncookies or now - listener.overflow_at > COOKIE_VALID:
            return False
        if syncookies.check(self._secret, conn, seg.ack, seg.seq, now) is None:
            self._event(now, "cookie rejected", conn, str(seg))
            return False
        if listener.accept_queue_full():  # tcp_v4_syn_recv_sock fails: the ACK is dropped
            self._event(now, "ACK dropped (accept queue full)", conn, str(seg))
            return True
        endpoint = self._endpoint(conn, now, max_retries=self.sysctls.tcp_retries2)
        self.sides[conn] = "server"
        endpoint.listen(now)
        irs = (seg.seq - 1) % SEQ_MOD
        endpoint.accept_cookie(now, Segment.unchecked(Flags.SYN, irs, 0, seg.window, b""), (seg.ack - 1) % SEQ_MOD)
        self._event(now, "cookie accepted", conn, str(seg))
        listener.syn_queue[conn] = endpoint  # for the moment the ACK takes to move it on
        self._request_of[conn] = listener
        endpoint.receive(now, seg)
        self._after(now, conn)
        return True

    def _to_passive(self, now: float, conn: tuple, seg: Segment) -> None:
        endpoint = self.tcbs[conn]
        listener = self._request_of.get(conn)
        f = int(seg.flags)
        completes = (f & _ACK and not f & (_SYN | _RST) and endpoint.state is SYN_RECEIVED
                     and seg.ack == endpoint.snd_nxt)
        if completes and listener is not None and listener.accept_queue_full():
            # net/ipv4/tcp_minisocks.c tcp_check_req, listen_overflow: the child socket cannot be made
            if not self.sysctls.tcp_abort_on_overflow:
                return self._event(now, "ACK dropped (accept queue full)", conn, str(seg))
            # the reset answers the ACK (seq = its ACK number = our SND.NXT) and the request is dropped
            self._event(now, "RST (accept queue full)", conn, str(seg))
            endpoint.abort(now)
            return self._after(now, conn)
        endpoint.receive(now, seg)
        self._after(now, conn)

    def _close_listener(self, now: float, port: int) -> None:
        port = check_port("port", port)
        listener = self.listeners.pop(port, None)
        if listener is None:
            listening = ", ".join(map(str, sorted(self.listeners))) or "none"
            raise ProtocolError(f"can't close() port {port} of {self.name}: it is not listening "
                                f"(listening ports: {listening})")
        self._event(now, "listener closed", None, f"port {port}: {len(listener.accept_queue)} reset, "
                                                  f"{len(listener.syn_queue)} half-open dropped")
        for conn in list(listener.accept_queue):
            self.tcbs[conn].abort(now)  # tcp_disconnect: RST in ESTABLISHED and CLOSE-WAIT
            self._after(now, conn)
        for conn in list(listener.syn_queue):
            self.touched.add(conn)
            self._forget(now, conn)

    # ------------------------------------------------------------------ bookkeeping
    def _after(self, now: float, conn: tuple) -> None:
        """Pass on what the connection's Endpoint logged; move it between queues; forget it when it ends."""
        endpoint, side = self.tcbs[conn], self.sides[conn]
        log = self.log
        for rec in endpoint.log:
            log.append(HostRecord(conn, side, rec))
        endpoint.log.clear()
        self.touched.add(conn)
        state = endpoint.state
        listener = self._request_of.get(conn)
        if listener is not None and conn in listener.syn_queue and state is not SYN_RECEIVED:
            del listener.syn_queue[conn]
            if endpoint.retries == 0 and listener.young:
                listener.young -= 1
            if state.synchronized:
                listener.accept_queue[conn] = endpoint
                self.proven.add(conn[0])
                endpoint.max_retries = self.sysctls.tcp_retries2
            self._queues(now, listener)
        elif side == "client" and state.synchronized and endpoint.max_retries != self.sysctls.tcp_retries2:
            self.proven.add(conn[2])
            endpoint.max_retries = self.sysctls.tcp_retries2
        if state is CLOSED or (state is LISTEN and side == "server"):
            self._forget(now, conn)

    def _forget(self, now: float, conn: tuple) -> None:
        del self.tcbs[conn]
        del self.sides[conn]
        listener = self._request_of.pop(conn, None)
        if listener is not None:
            changed = listener.syn_queue.pop(conn, None) or listener.accept_queue.pop(conn, None)
            if changed is not None:
                self._queues(now, listener)

    def _queues(self, now: float, listener: Listener) -> None:
        self.log.append(HostRecord(None, None, records.QueueLengths(now, listener.port, len(listener.syn_queue),
                                                                    len(listener.accept_queue))))

    def _event(self, now: float, kind: str, conn: tuple | None, detail: str) -> None:
        self.log.append(HostRecord(conn, None, records.HostEvent(now, kind, detail)))

    def _stateless(self, now: float, conn: tuple, side: str, seg: Segment | None, kind: str) -> None:
        """Send a segment no connection owns (a cookie SYN,ACK, an RST), and say why."""
        self._event(now, kind, conn, "")
        if seg is not None:
            self.log.append(HostRecord(conn, side, records.Sent(now, seg, False)))

    def _endpoint(self, conn: tuple, now: float, *, max_retries: int) -> Endpoint:
        sysctls = self.sysctls
        endpoint = Endpoint(self.name, isn=self._isn(conn, now), max_retries=max_retries,
                            fin_timeout=sysctls.tcp_fin_timeout, orphan_retries=sysctls.tcp_orphan_retries,
                            **self._options)
        self.tcbs[conn] = endpoint
        return endpoint

    def _isn(self, conn: tuple, now: float) -> int:
        """RFC 9293 3.4.1 / RFC 6528: the 4-microsecond clock plus a keyed hash of the 4-tuple."""
        digest = hashlib.blake2b(repr(conn).encode(), digest_size=4, key=self._secret).digest()
        return (int(now * ISN_CLOCK_HZ) + int.from_bytes(digest, "big")) % SEQ_MOD

    def _ephemeral_port(self, address: str, port: int) -> int:
        """A local port whose 4-tuple is free, searched as Linux's __inet_hash_connect does
        (net/ipv4/inet_hashtables.c): from an offset hashed from the destination, even ports first."""
        low, high = self.sysctls.ip_local_port_range
        span = high - low + 1
        digest = hashlib.blake2b(f"{address} {port}".encode(), digest_size=4, key=self._secret).digest()
        offset = int.from_bytes(digest, "big") % span
        for parity in (0, 1):
            for step in range(0, span, 1):
                candidate = low + (offset + step) % span
                if (candidate - low) % 2 == parity and (self.address, candidate, address, port) not in self.tcbs:
                    return candidate
        raise OSError(f"connect() to {address}:{port}: no free local port in ip_local_port_range "
                      f"{low}-{high} (EADDRNOTAVAIL)")

    def _tcb(self, conn, call: str) -> Endpoint:
        endpoint = self.tcbs.get(conn) if isinstance(conn, tuple) else None
        if endpoint is None:
            raise ProtocolError(f"can't {call}() on {conn!r}: {self.name} has no such connection "
                                f"(it never existed or has ended)")
        return endpoint

    def __repr__(self) -> str:
        return f"<Host {self.name} {self.address}: {len(self.tcbs)} connections, listening on " \
               f"{sorted(self.listeners) or 'nothing'}>"


def check_port(name: str, port) -> int:
    return check_int_range(name, port, 1, 65535)


def check_address(address) -> str:
    if not isinstance(address, str):
        raise TypeError(f"address must be an IP address as text, got {type(address).__name__}")
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        raise ValueError(f"address must be an IPv4 or IPv6 address, got {address!r}") from None


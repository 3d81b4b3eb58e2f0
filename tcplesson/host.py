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

import errno
import hashlib
import ipaddress
import random
from typing import NamedTuple

from . import records, syncookies
from ._check import check_int_range, check_number
from .endpoint import CLOSED, FIN_WAIT_2, LISTEN, SYN_RECEIVED, TIME_WAIT, Endpoint, ProtocolError, reset_for
from .segment import SEQ_MOD, Flags, Packet, Segment, seq_add
from .states import State
from .linux_timers import LinuxTimers
from .sysctl import Sysctls

_SYN, _ACK, _RST, _FIN = int(Flags.SYN), int(Flags.ACK), int(Flags.RST), int(Flags.FIN)
_F_SYN_ACK = Flags.SYN | Flags.ACK  # built once: an IntFlag's | is Python code, and a flood asks for thousands
ISN_CLOCK_HZ = 250_000  # RFC 9293 3.4.1: 4-microsecond ISN clock
COOKIE_VALID = 120.0  # TCP_SYNCOOKIE_VALID: cookie ACKs are checked only this long after an overflow
TCP_TIMEWAIT_LEN = 60.0  # include/net/tcp.h: an orphan's FIN-WAIT-2 up to this long is a timewait socket
TW_ISN_GAP = 65535 + 2  # tcp_minisocks.c / tcp_ipv4.c: a new incarnation's ISN = old SND.NXT + 65535 + 2

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
    "SYN accepted in TIME-WAIT": "net/ipv4/tcp_minisocks.c tcp_timewait_state_process: TCP_TW_SYN, a new "
                                 "connection with ISN = old SND.NXT + 65537 (tcp_ipv4.c tcp_v4_rcv)",
    "TIME-WAIT taken over by connect()": "net/ipv4/tcp_ipv4.c tcp_twsk_unique (tcp_tw_reuse), TWRecycled: "
                                         "the new SYN's ISN = old SND.NXT + 65537",
    "no TIME-WAIT (tcp_max_tw_buckets)": "net/ipv4/tcp_minisocks.c tcp_time_wait: inet_twsk_alloc fails, "
                                         "TCPTimeWaitOverflow; the connection is closed at once",
    "RST ignored in TIME-WAIT (tcp_rfc1337)": "net/ipv4/tcp_minisocks.c tcp_timewait_state_process: with "
                                              "tcp_rfc1337 an RST does not kill the timewait socket",
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


class ChallengeAckLimit:
    """A host's budget of RFC 5961 challenge ACKs per second (RFC 5961 7; net/ipv4/tcp_input.c
    tcp_send_challenge_ack). Each second it is drawn at random between half the limit and one and a
    half times it, so that an off-path attacker cannot count the ACKs to learn a connection's numbers
    (CVE-2016-5696); the default limit, 2^31 - 1 since Linux 6.0, means none."""

    NO_LIMIT = 2**31 - 1

    def __init__(self, limit: int, secret: bytes) -> None:
        self.limit = limit
        self._rng = random.Random(secret)
        self._second: int | None = None
        self._left = 0

    def take(self, now: float) -> bool:
        """May a challenge ACK go out at ``now``? (Counts it if so.)"""
        if self.limit == self.NO_LIMIT:
            return True
        second = int(now)
        if second != self._second:
            half = (self.limit + 1) >> 1
            self._second, self._left = second, self._rng.randint(half, max(half, self.limit + half - 1))
        if self._left > 0:
            self._left -= 1
            return True
        return False


class Listener:
    """A listening socket: its port, its limit, and its two queues (oldest first)."""

    def __init__(self, port: int, backlog: int, somaxconn: int, reuse: bool = False, keepalive: bool = False,
                 user_timeout: float = 0.0) -> None:
        self.port = port
        self.reuse = reuse  # SO_REUSEADDR (sk_reuse), inherited by the connections it accepts
        self.keepalive = keepalive  # SO_KEEPALIVE, inherited too (sk_clone_lock copies the socket's flags)
        self.user_timeout = user_timeout  # TCP_USER_TIMEOUT, inherited (inet_csk_clone_lock copies icsk)
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
    the Linux defaults; ``seed`` makes ISNs and the SYN-cookie secret reproducible;
    ``linux_timers`` False gives its connections the RFC model's counted retries (tcp_syn_retries,
    tcp_synack_retries, tcp_retries2 as counts from a 1 s floor) instead of Linux's time budgets
    (linux_timers.py). The other keywords go to every Endpoint the Host creates (see Endpoint).
    """

    def __init__(self, name: str, address: str, *, sysctls=None, seed: int = 0, rto: float = 1.0,
                 msl: float = 120.0, time_wait: float | None = None, delayed_ack: float = 0.0,
                 mss: int = 1460, linux_timers: bool = True) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a host's name must be a non-empty string, got {name!r}")
        self.name = name
        self.address = check_address(address)
        self.sysctls = Sysctls.of(sysctls)
        self._seed = check_int_range("seed", seed, 0)
        self._boots = 0
        self._secret = hashlib.blake2b(f"{self._seed} {name}".encode(), digest_size=16).digest()
        self._options = dict(rto=rto, msl=msl, time_wait=time_wait, delayed_ack=delayed_ack, mss=mss)
        Endpoint("check", **self._options)  # the options are checked once, here
        self.linux_timers = bool(linux_timers)
        self.challenge_acks = ChallengeAckLimit(self.sysctls.tcp_challenge_ack_limit, self._secret)
        self.listeners: dict[int, Listener] = {}
        self._perturb: dict[tuple, int] = {}  # destination -> table_perturb (__inet_hash_connect)
        self.keepalive_used = False  # some socket of this host has had SO_KEEPALIVE
        self._draws = 0
        self.tcbs: dict[tuple, Endpoint] = {}
        self.sides: dict[tuple, str] = {}
        self._request_of: dict[tuple, Listener] = {}  # connections in a listener's SYN or accept queue
        self.proven: set[str] = set()  # peers with a finished handshake (tcp_peer_is_proven)
        self.reuse: dict[tuple, bool] = {}  # each connection's SO_REUSEADDR (sk_reuse), for bind()
        self.timewait_since: dict[tuple, float] = {}  # timewait sockets (tcp_max_tw_buckets counts them)
        self.log: list[HostRecord] = []
        self.touched: set[tuple] = set()

    # ------------------------------------------------------------------ socket calls
    def listen(self, now: float, port: int, backlog: int = 128, *, reuseaddr: bool = False,
               keepalive: bool = False, user_timeout: float = 0.0) -> None:
        """bind() and listen(): take connections on ``port``; at most min(backlog, somaxconn) (+1)
        wait in each queue. ``reuseaddr`` is SO_REUSEADDR: bind() then succeeds beside connections on
        the port that have it too (those of an earlier listener that set it, in TIME-WAIT or not).
        ``keepalive`` is SO_KEEPALIVE and ``user_timeout`` TCP_USER_TIMEOUT (in seconds; 0 off), which
        the accepted connections inherit."""
        port = check_port("port", port)
        backlog = check_int_range("backlog", backlog, 0, 2**31 - 1)
        user_timeout = self._user_timeout(user_timeout)
        if port in self.listeners:
            raise ProtocolError(f"can't listen() on port {port} of {self.name}: it is listening already")
        self._bind(port, bool(reuseaddr))
        self.listeners[port] = Listener(port, backlog, self.sysctls.somaxconn, bool(reuseaddr), bool(keepalive),
                                        user_timeout)
        self._queues(now, self.listeners[port])

    def connect(self, now: float, address: str, port: int, *, local_port: int | None = None,
                reuseaddr: bool = False, keepalive: bool = False, user_timeout: float = 0.0) -> tuple:
        """connect(): a SYN from ``local_port`` (bind() first, with SO_REUSEADDR if ``reuseaddr``) or
        from an ephemeral port whose 4-tuple is free; returns the connection's 4-tuple.
        ``keepalive`` is SO_KEEPALIVE (probes after tcp_keepalive_time idle seconds),
        ``user_timeout`` TCP_USER_TIMEOUT in seconds (0: off).

        A 4-tuple still in TIME-WAIT is taken over when that connection used timestamps: always for
        a port bound by the application, after tcp_tw_reuse_delay with tcp_tw_reuse for an ephemeral
        one (net/ipv4/tcp_ipv4.c tcp_twsk_unique); else the port is not free (EADDRNOTAVAIL).
        """
        address, port = check_address(address), check_port("port", port)
        user_timeout = self._user_timeout(user_timeout)
        if local_port is None:
            local = self._ephemeral_port(now, address, port)
        else:
            local = check_port("local_port", local_port)
            self._bind(local, bool(reuseaddr))
        conn = (self.address, local, address, port)
        if local_port is not None and conn in self.tcbs and not self._time_wait_reusable(now, conn, bound=True):
            raise OSError(errno.EADDRNOTAVAIL, f"connect() from port {local} to {address}:{port}: that "
                                               f"4-tuple is in use ({self.tcbs[conn].state}) (EADDRNOTAVAIL)")
        isn = None
        old = self.tcbs.get(conn)
        if old is not None:  # a TIME-WAIT taken over
            isn = next_incarnation_isn(old)
            self._event(now, "TIME-WAIT taken over by connect()", conn, f"ISN {isn}")
            self._forget(now, conn)
        endpoint = self._endpoint(conn, now, max_retries=self.sysctls.tcp_syn_retries, isn=isn, keepalive=keepalive,
                                  user_timeout=user_timeout)
        self.sides[conn] = "client"
        self.reuse[conn] = bool(reuseaddr) and local_port is not None
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

    def crash(self, now: float) -> None:
        """The host loses power: every connection and listening socket is gone at once and nothing
        is sent (RFC 9293 3.5.1). Once it is up again it answers whatever still arrives for them with
        RST (3.10.7.1), and its new boot has new secrets: new ISN and timestamp offsets."""
        for conn in list(self.tcbs):
            if conn in self.tcbs:
                self.tcbs[conn].crash(now)
                self._after(now, conn)
        for port in list(self.listeners):
            del self.listeners[port]
            self.log.append(HostRecord(None, None, records.QueueLengths(now, port, 0, 0, listening=False)))
        self.proven.clear()
        self._perturb.clear()
        self._boots += 1
        self._secret = hashlib.blake2b(f"{self._seed} {self.name} boot {self._boots}".encode(), digest_size=16).digest()

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
            if self._time_wait_takes(now, as_client, packet.dport, seg):
                return
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
    def _time_wait_takes(self, now: float, conn: tuple, port: int, seg: Segment) -> bool:
        """A segment for a connection in TIME-WAIT that Linux's timewait socket handles itself
        (net/ipv4/tcp_minisocks.c tcp_timewait_state_process); True if it was taken care of here."""
        endpoint = self.tcbs[conn]
        if endpoint.state is not TIME_WAIT:
            return False
        f = int(seg.flags)
        if f & _RST and self.sysctls.tcp_rfc1337:
            self._event(now, "RST ignored in TIME-WAIT (tcp_rfc1337)", conn, str(seg))
            return True
        listener = self.listeners.get(port)
        if f & _SYN and not f & (_ACK | _RST) and listener is not None and endpoint.takes_new_syn(seg):
            # TCP_TW_SYN: the timewait socket goes, the listener takes the SYN with the ISN chosen here
            # (without a listener the SYN is answered with an ACK, as one that is not new)
            isn = next_incarnation_isn(endpoint)
            self._event(now, "SYN accepted in TIME-WAIT", conn, f"ISN {isn}")
            self._forget(now, conn)
            self._to_listener(now, listener, conn, seg, isn=isn)
            return True
        return False

    def _to_listener(self, now: float, listener: Listener, conn: tuple, seg: Segment, isn: int | None = None) -> None:
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
        endpoint = self._endpoint(conn, now, max_retries=sysctls.tcp_synack_retries, isn=isn,
                                  keepalive=listener.keepalive, user_timeout=listener.user_timeout)
        self.sides[conn] = "server"
        self.reuse[conn] = listener.reuse
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
        endpoint = self._endpoint(conn, now, max_retries=self.sysctls.tcp_retries2, keepalive=listener.keepalive,
                                  user_timeout=listener.user_timeout)
        self.sides[conn] = "server"
        self.reuse[conn] = listener.reuse
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
        if self._time_wait_takes(now, conn, conn[3], seg):
            return
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
            self.tcbs[conn].listener_closed(now)
            self._after(now, conn)
        self.log.append(HostRecord(None, None, records.QueueLengths(now, port, 0, 0, listening=False)))

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
        if conn not in self.timewait_since and self._is_timewait(endpoint):
            if len(self.timewait_since) >= self.sysctls.tcp_max_tw_buckets:
                self._event(now, "no TIME-WAIT (tcp_max_tw_buckets)", conn, str(state))
                endpoint.no_time_wait(now)
                for rec in endpoint.log:
                    log.append(HostRecord(conn, side, rec))
                endpoint.log.clear()
                state = endpoint.state
            else:
                self.timewait_since[conn] = now
        if state is CLOSED or (state is LISTEN and side == "server"):
            self._forget(now, conn)

    @staticmethod
    def _is_timewait(endpoint: Endpoint) -> bool:
        """Linux keeps TIME-WAIT, and an orphan's FIN-WAIT-2 of up to 60 s, in a timewait socket
        (tcp_time_wait(sk, TCP_TIME_WAIT / TCP_FIN_WAIT2, tmo)); they count for tcp_max_tw_buckets."""
        state = endpoint.state
        if state is TIME_WAIT:
            return True
        if state is FIN_WAIT_2 and endpoint.released:
            wait = endpoint.fin_time()
            return wait is not None and wait <= TCP_TIMEWAIT_LEN
        return False

    def _forget(self, now: float, conn: tuple) -> None:
        del self.tcbs[conn]
        del self.sides[conn]
        self.reuse.pop(conn, None)
        self.timewait_since.pop(conn, None)
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

    def _user_timeout(self, value) -> float:
        value = check_number("user_timeout", value, low=0.0)
        if value and not self.linux_timers:
            raise ValueError(f"user_timeout (TCP_USER_TIMEOUT) is one of Linux's timers; {self.name} was made "
                             f"with linux_timers=False")
        return value

    def _timers(self, user_timeout: float) -> LinuxTimers | None:
        """Linux's give-up rules with this host's sysctls (net/ipv4/tcp_timer.c), or None for counted retries."""
        if not self.linux_timers:
            return None
        s = self.sysctls
        return LinuxTimers(s.tcp_syn_retries, s.tcp_syn_linear_timeouts, s.tcp_retries1, s.tcp_retries2,
                           s.tcp_rto_min_us / 1e6, user_timeout)

    def _endpoint(self, conn: tuple, now: float, *, max_retries: int, isn: int | None = None,
                  keepalive: bool = False, user_timeout: float = 0.0) -> Endpoint:
        sysctls = self.sysctls
        probing = (sysctls.tcp_keepalive_time, sysctls.tcp_keepalive_intvl, sysctls.tcp_keepalive_probes)
        self.keepalive_used = self.keepalive_used or keepalive
        peer = conn[2] if conn[0] == self.address else conn[0]
        endpoint = Endpoint(self.name, isn=self._isn(conn, now) if isn is None else isn, max_retries=max_retries,
                            fin_timeout=sysctls.tcp_fin_timeout, orphan_retries=sysctls.tcp_orphan_retries,
                            timestamps=bool(sysctls.tcp_timestamps), ts_offset=self._ts_offset(peer),
                            keepalive=probing if keepalive else None, linux_checks=True,
                            linux_timers=self._timers(user_timeout), **self._options)
        endpoint.challenge_limit = self.challenge_acks
        self.tcbs[conn] = endpoint
        return endpoint

    def _isn(self, conn: tuple, now: float) -> int:
        """RFC 9293 3.4.1 / RFC 6528: the 4-microsecond clock plus a keyed hash of the 4-tuple."""
        digest = hashlib.blake2b(repr(conn).encode(), digest_size=4, key=self._secret).digest()
        return (int(now * ISN_CLOCK_HZ) + int.from_bytes(digest, "big")) % SEQ_MOD

    def _ts_offset(self, peer: str) -> int:
        """RFC 7323 5.4 / Linux secure_tcp_ts_off: a random TSval offset per address pair (not per
        port, so a new connection to the same peer continues the clock); none with tcp_timestamps=2."""
        if self.sysctls.tcp_timestamps != 1:
            return 0
        digest = hashlib.blake2b(f"ts {self.address} {peer}".encode(), digest_size=4, key=self._secret).digest()
        return int.from_bytes(digest, "big")

    def _ephemeral_port(self, now: float, address: str, port: int) -> int:
        """A local port whose 4-tuple is free or a TIME-WAIT that may be taken over, searched as
        Linux's __inet_hash_connect does (net/ipv4/inet_hashtables.c, RFC 6056 algorithm 4): from
        an offset hashed from the destination plus a perturbation of that destination, ports of the
        range's low parity first, then the other; an odd-sized range loses one port (``remaining
        &= ~1``: ip-sysctl.rst asks for ends of different parity); ports a listener holds are
        skipped. After a success the perturbation moves on by at least two ports, so consecutive
        connect()s to one destination take different ports."""
        low, high = self.sysctls.ip_local_port_range
        remaining = high - low + 1
        if remaining > 1:
            remaining &= ~1
        destination = (address, port)
        digest = hashlib.blake2b(f"{address} {port}".encode(), digest_size=4, key=self._secret).digest()
        offset = ((self._perturb.get(destination, 0) + int.from_bytes(digest, "big")) % remaining) & ~1
        while True:
            for i in range(0, remaining, 2):
                candidate = low + offset + i
                if candidate > high:
                    candidate -= remaining
                if candidate in self.listeners:
                    continue
                conn = (self.address, candidate, address, port)
                if conn not in self.tcbs or self._time_wait_reusable(now, conn, bound=False):
                    self._perturb[destination] = self._perturb.get(destination, 0) + max(i, 2 * self._below(8)) + 2
                    return candidate
            offset += 1
            if not (offset & 1 and remaining > 1):
                break
        raise OSError(errno.EADDRNOTAVAIL, f"connect() to {address}:{port}: no free local port in "
                                           f"ip_local_port_range {low}-{high} (EADDRNOTAVAIL)")

    def _below(self, n: int) -> int:
        """get_random_u32_below(n), drawn from the host's seed so that a run repeats exactly."""
        self._draws += 1
        digest = hashlib.blake2b(f"draw {self._draws}".encode(), digest_size=4, key=self._secret).digest()
        return int.from_bytes(digest, "big") % n

    def _time_wait_reusable(self, now: float, conn: tuple, *, bound: bool) -> bool:
        """net/ipv4/tcp_ipv4.c tcp_twsk_unique: a TIME-WAIT 4-tuple may be taken over by connect()
        only if that connection used timestamps (PAWS then keeps its old segments out), and, for an
        ephemeral port, only with tcp_tw_reuse (2: loopback only) once it is older than
        tcp_tw_reuse_delay."""
        endpoint = self.tcbs[conn]
        if endpoint.state is not TIME_WAIT or not endpoint.ts_ok:
            return False
        if bound:
            return True
        reuse = self.sysctls.tcp_tw_reuse
        if reuse == 2 and not (ipaddress.ip_address(conn[0]).is_loopback or ipaddress.ip_address(conn[2]).is_loopback):
            reuse = 0
        since = self.timewait_since.get(conn, now)
        return bool(reuse) and (now - since) * 1000 > self.sysctls.tcp_tw_reuse_delay

    def _bind(self, port: int, reuseaddr: bool) -> None:
        """bind(): the port is free unless a socket holds it; with SO_REUSEADDR a connection (not a
        listener) that has SO_REUSEADDR too does not count (net/ipv4/inet_connection_sock.c
        inet_bind_conflict: ``sk->sk_reuse && sk2->sk_reuse && sk2->sk_state != TCP_LISTEN``; a
        TIME-WAIT socket keeps the sk_reuse of the socket it was)."""
        if port in self.listeners:
            raise OSError(errno.EADDRINUSE, f"bind() to port {port} of {self.name}: Address already in use "
                                            f"(EADDRINUSE): a listener holds it")
        for conn, side in self.sides.items():
            local = conn[1] if side == "client" else conn[3]
            half_open = conn in self._request_of and conn in self._request_of[conn].syn_queue  # a request, no socket yet
            if local == port and not (reuseaddr and self.reuse.get(conn)) and not half_open:
                raise OSError(errno.EADDRINUSE, f"bind() to port {port} of {self.name}: Address already in use "
                                                f"(EADDRINUSE): {self.tcbs[conn].state} {conn}")

    def _tcb(self, conn, call: str) -> Endpoint:
        endpoint = self.tcbs.get(conn) if isinstance(conn, tuple) else None
        if endpoint is None:
            raise ProtocolError(f"can't {call}() on {conn!r}: {self.name} has no such connection "
                                f"(it never existed or has ended)")
        listener = self._request_of.get(conn)
        if listener is not None:  # the kernel's until accept() hands it to the application
            raise ProtocolError(f"can't {call}() on {conn!r}: it waits in the queues of port {listener.port} of "
                                f"{self.name}; accept() it first")
        return endpoint

    def __repr__(self) -> str:
        return f"<Host {self.name} {self.address}: {len(self.tcbs)} connections, listening on " \
               f"{sorted(self.listeners) or 'nothing'}>"


def next_incarnation_isn(time_wait: Endpoint) -> int:
    """The ISN of a new connection on a TIME-WAIT's 4-tuple: above everything the old one sent
    (``tcptw->tw_snd_nxt + 65535 + 2``, never 0: net/ipv4/tcp_minisocks.c, tcp_ipv4.c)."""
    return (time_wait.snd_nxt + TW_ISN_GAP) % SEQ_MOD or 1


def check_port(name: str, port) -> int:
    return check_int_range(name, port, 1, 65535)


def check_address(address) -> str:
    if not isinstance(address, str):
        raise TypeError(f"address must be an IP address as text, got {type(address).__name__}")
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        raise ValueError(f"address must be an IPv4 or IPv6 address, got {address!r}") from None


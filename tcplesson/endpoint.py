"""A sans-IO TCP endpoint: RFC 9293 connection management driven by the transition table.

The Endpoint owns no clock, socket or thread. Every method takes ``now`` (seconds, never going
back) and returns the segments to put on the wire. Timers are asked for through
``next_deadline()`` and handed back through ``on_timer(now)``, in the style of aioquic. Everything
the Endpoint does is appended to ``log`` as small records (records.py) for whoever drives it.

Incoming segments are checked in the order of RFC 9293 section 3.10.7 and sorted into one table
event; the transition table (table.py) then says what to send and which state comes next. The
bookkeeping the RFC does on the way (advancing SND.UNA on an ACK, RTT samples, trimming bytes
already received) happens here, in the same order as in the RFC text.
"""
from __future__ import annotations

from collections import deque

from . import records
from ._check import check_bytes, check_choice, check_int_range, check_number
from .linux_timers import ATO_MIN, MAX_QUICKACKS, RTO_MAX, TICK, TIMEOUT_MIN, LinuxTimers
from .segment import MAX_WINDOW, SEQ_MOD, Flags, Segment, seq_add, seq_diff, seq_le, seq_lt
from .states import State
from .table import ACTIONS, HANDSHAKES, allowed_states, lookup_table

# Flag tests use plain ints (IntFlag operators are slow in this hot path); segments carry Flags.
FIN, SYN, RST, ACK = int(Flags.FIN), int(Flags.SYN), int(Flags.RST), int(Flags.ACK)
F_SYN, F_ACK, F_RST = Flags.SYN, Flags.ACK, Flags.RST
F_SYN_ACK, F_FIN_ACK, F_PSH_ACK, F_RST_ACK = (Flags.SYN | Flags.ACK, Flags.FIN | Flags.ACK,
                                              Flags.PSH | Flags.ACK, Flags.RST | Flags.ACK)
ISN_CLOCK_HZ = 250_000  # RFC 9293 section 3.4.1: the ISN clock ticks every 4 microseconds
INVALID_ACK_INTERVAL = 0.5  # Linux's tcp_invalid_ratelimit: answers to unacceptable segments
TS_CLOCK_HZ = 1000  # RFC 7323 5.4 asks for 1 ms to 1 s per tick; Linux's TSval counts milliseconds
PAWS_WINDOW = 1  # Linux include/net/tcp.h TCP_PAWS_WINDOW: a TSval this much older still passes
_INF = float("inf")
SLACK = 1e-9  # seconds: rounding error allowed when a time budget is compared with a sum of timeouts
# The per-segment paths below write seq_lt/seq_le/seq_diff/seq_add (segment.py) out as arithmetic
# on the 32-bit circle: seq_add(a, n) is (a + n) % SEQ_MOD, seq_lt(a, b) is
# (a - b + _HALF) % SEQ_MOD < _HALF, seq_le the same with <=.
_HALF = 2**31
# The states the per-segment paths test, as module names: on Python 3.11 every attribute of an Enum
# class is looked up through EnumType's __getattr__ hook, several times slower than a global.
CLOSED, LISTEN, SYN_SENT, SYN_RECEIVED = State.CLOSED, State.LISTEN, State.SYN_SENT, State.SYN_RECEIVED
FIN_WAIT_1, CLOSING, LAST_ACK, TIME_WAIT = State.FIN_WAIT_1, State.CLOSING, State.LAST_ACK, State.TIME_WAIT
FIN_WAIT_2, ESTABLISHED, CLOSE_WAIT = State.FIN_WAIT_2, State.ESTABLISHED, State.CLOSE_WAIT
_SYNCHRONIZED = frozenset(s for s in State if s.synchronized)
_FIN_SENT = (FIN_WAIT_1, CLOSING, LAST_ACK)  # states in which an ACK can acknowledge our FIN
_FORGETS = (CLOSED, LISTEN)  # entering these from a connection deletes its TCB
_HALF_CLOSED = (FIN_WAIT_1, FIN_WAIT_2)  # our FIN is out, the peer's data may still come
_FIN_RECEIVED = (CLOSE_WAIT, CLOSING, LAST_ACK)  # RCV.NXT counts the peer's FIN
# shutdown()'s "how", as <sys/socket.h> numbers it
SHUT_HOWS = {"SHUT_RD": 0, "SHUT_WR": 1, "SHUT_RDWR": 2}
# Linux include/net/tcp.h tcp_fin_time: an orphan's FIN-WAIT-2 lasts at least 3.5 RTOs
FIN_TIME_RTOS = 3.5
ORPHAN_RETRIES_ALIVE = 8  # net/ipv4/tcp_timer.c tcp_orphan_retries: what tcp_orphan_retries=0 means


class ProtocolError(Exception):
    """A user call that TCP does not allow in the current state, e.g. close() in LISTEN."""


def shut_how(how) -> str:
    """shutdown()'s ``how`` by name ("SHUT_WR") or by its number (socket.SHUT_WR == 1)."""
    if type(how) is int:
        how = next((name for name, number in SHUT_HOWS.items() if number == how), how)
    if not isinstance(how, str):
        raise TypeError(f"how must be one of {', '.join(SHUT_HOWS)} (or 0, 1, 2), got {how!r}")
    return check_choice("how", how, SHUT_HOWS)


KEEPALIVE_LINUX = (7200.0, 75.0, 9)  # tcp_keepalive_time, tcp_keepalive_intvl, tcp_keepalive_probes


def check_keepalive(keepalive) -> tuple[float, float, int] | None:
    """``keepalive`` as (idle, interval, probes): None or False is off, True Linux's defaults."""
    if keepalive is None or keepalive is False:
        return None
    if keepalive is True:
        return KEEPALIVE_LINUX
    if not isinstance(keepalive, (tuple, list)) or len(keepalive) != 3:
        raise ValueError(f"keepalive must be None, True or (idle seconds, seconds between probes, probes), "
                         f"e.g. (7200, 75, 9); got {keepalive!r}")
    idle, interval, probes = keepalive
    return (check_number("keepalive idle time", idle, low=0.0, low_open=True),
            check_number("keepalive interval", interval, low=0.0, low_open=True),
            check_int_range("keepalive probes", probes, 1, 127))


KEEPALIVE_ONLY = "stopped: only keep-alive probes and their answers would follow"


def keepalive_only(ends) -> bool:
    """Of these endpoints (all of a run, every host up and the link whole): nothing is pending but
    keep-alive timers, every one is connected and a probe has been answered, so the rest of the run
    would repeat probe and answer for ever. A run stops there."""
    ends = list(ends)
    pending = [e for e in ends if e.next_deadline() is not None]
    return (bool(pending) and all(e.state.synchronized for e in ends)
            and all(e.only_keepalive_left() for e in pending) and any(e.probes_answered for e in ends))


def reset_for(seg: Segment) -> Segment | None:
    """The RST that answers ``seg`` where no connection exists (RFC 9293 section 3.10.7.1), or None for an RST."""
    f = int(seg.flags)
    if f & RST:
        return None
    if f & ACK:
        return Segment.unchecked(F_RST, seg.ack, 0, 0, b"")
    return Segment.unchecked(F_RST_ACK, 0, seg.end_seq, 0, b"")


class Endpoint:
    """One side of a TCP connection, as RFC 9293 describes it.

    Parameters (all checked): ``isn`` the first initial sequence number (later connections of this
    endpoint follow the RFC's 4-microsecond ISN clock from it); ``rto`` the initial retransmission
    timeout and its floor, doubled on each expiry; ``max_retries`` retransmissions before giving up;
    ``msl`` the maximum segment lifetime; ``time_wait`` the TIME-WAIT length (default 2*msl, 0 for
    none); ``handshake`` "three-way" or the "two-way" counterfactual; ``delayed_ack`` how long an
    ACK for data or FIN may wait for a segment to ride on (0: never, as the RFC's default here;
    "linux": Linux's quick-ack and pingpong modes, see linux_timers.py);
    ``mss`` the largest payload; ``auto_read`` whether the application reads everything at once;
    ``isn_clock`` False is the counterfactual in which every connection reuses the same ISN;
    ``fin_timeout`` how long a close()d socket waits in FIN-WAIT-2 for the peer's FIN (None: for
    ever, as the RFC; Linux's tcp_fin_timeout is 60 s, at least 3.5 RTOs); ``orphan_retries`` the
    retransmission limit once close() has released the socket (None: ``max_retries``; 0 means 8,
    as Linux's tcp_orphan_retries does while the RTO is below its 120 s cap); ``timestamps`` whether
    this side offers RFC 7323's Timestamps option (used when both SYNs carry it: TSval from a
    millisecond clock plus ``ts_offset``, PAWS against TS.Recent); ``keepalive`` None (off, as RFC
    9293 3.8.4 requires by default) or (idle seconds, seconds between probes, probes): SO_KEEPALIVE
    with Linux's tcp_keepalive_time, _intvl and _probes, (7200, 75, 9) by default there;
    ``linux_checks`` True: Linux's stricter answers where RFC 9293 leaves a choice: an RST inside the
    window but not at RCV.NXT gets a challenge ACK instead of resetting (RFC 5961 3.2), and a new
    SYN for a half-open passive connection resets it (tcp_check_req); the RFC-first default resets
    on any RST in the window and returns the half-open connection to LISTEN; ``linux_timers`` None
    (retransmissions counted, ``max_retries``, from a floor of ``rto``) or a LinuxTimers (True: its
    defaults): Linux's time budgets, linear SYN retries, 200 ms floor and TCP_USER_TIMEOUT, where
    ``rto`` is only the initial RTO and ``max_retries`` counts only a passive SYN,ACK's retries.
    """

    # Slots, not an instance dict: a host makes an Endpoint per arriving SYN, and with this many
    # attributes a dict is built by resizing, which costs more than the rest of the constructor.
    __slots__ = ("name", "isn", "rto_initial", "max_retries", "msl", "time_wait", "handshake", "delayed_ack",
                 "mss", "auto_read", "isn_clock", "_table", "_rules", "state", "outcome", "log", "received",
                 "_now", "_t0", "_out", "passive", "iss", "irs", "snd_una", "snd_nxt", "rcv_nxt", "snd_wnd",
                 "_unsent", "_fin_pending", "fin_seq", "_rtx_queue", "_rtx_at", "_tw_at", "_delack_at",
                 "_ack_owed", "_held", "_last_invalid_ack", "retries", "rto", "srtt", "rttvar",
                 "fin_timeout", "orphan_retries", "released", "rd_shut", "_fw2_at",
                 "timestamps", "ts_offset", "ts_ok", "ts_recent", "keepalive", "_ka_at", "_ka_probes",
                 "_last_heard", "probes_answered", "linux_checks", "timers", "linux_acks", "_rtx_since",
                 "_ato", "_quick", "_pingpong", "_retries1_noted", "challenge_limit")

    def __init__(self, name: str = "endpoint", *, isn: int = 0, rto: float = 1.0, max_retries: int = 6,
                 msl: float = 120.0, time_wait: float | None = None, handshake: str = "three-way",
                 delayed_ack: float = 0.0, mss: int = 1460, auto_read: bool = True,
                 isn_clock: bool = True, fin_timeout: float | None = None,
                 orphan_retries: int | None = None, timestamps: bool = False, ts_offset: int = 0,
                 keepalive: tuple | None = None, linux_checks: bool = False, linux_timers=None) -> None:
        if not isinstance(name, str):
            raise TypeError(f"name must be a string, got {type(name).__name__}")
        self.name = name
        self.isn = check_int_range("isn", isn, 0, SEQ_MOD - 1)
        self.rto_initial = check_number("rto", rto, low=0.0, low_open=True)
        self.max_retries = check_int_range("max_retries", max_retries, 0, 100)
        self.msl = check_number("msl", msl, low=0.0)
        self.time_wait = 2 * self.msl if time_wait is None else check_number("time_wait", time_wait, low=0.0)
        self.handshake = check_choice("handshake", handshake, HANDSHAKES)
        self.linux_acks = delayed_ack == "linux"
        self.delayed_ack = 0.0 if self.linux_acks else check_number("delayed_ack", delayed_ack, low=0.0)
        self.mss = check_int_range("mss", mss, 1, MAX_WINDOW)
        self.auto_read = bool(auto_read)
        self.isn_clock = bool(isn_clock)
        self.fin_timeout = None if fin_timeout is None else check_number("fin_timeout", fin_timeout, low=0.0)
        self.orphan_retries = None if orphan_retries is None else check_int_range("orphan_retries", orphan_retries, 0, 255)
        self.timestamps = bool(timestamps)
        self.ts_offset = check_int_range("ts_offset", ts_offset, 0, SEQ_MOD - 1)
        self.keepalive = check_keepalive(keepalive)
        self.linux_checks = bool(linux_checks)
        self.timers = LinuxTimers.of(linux_timers)
        self.challenge_limit = None  # a Host's ChallengeAckLimit, shared by its connections
        self._table = lookup_table(handshake)
        self._rules = _RULES[self.handshake]

        self.state = CLOSED
        self.outcome: str | None = None
        self.log: list = []
        self.received = bytearray()  # delivered to the application and not yet read
        self._now = float("-inf")
        self._t0: float | None = None
        self._out: list[Segment] = []
        self.passive = False
        self._reset_tcb()

    # ------------------------------------------------------------------ user calls
    def listen(self, now: float) -> list[Segment]:
        """Passive open: wait for a SYN (the socket calls listen() and accept())."""
        self._begin(now)
        self._call(now, "listen")
        self.passive = True
        return self._finish()

    def connect(self, now: float) -> list[Segment]:
        """Active open: send a SYN (the socket call connect())."""
        self._begin(now)
        self._check_call("connect")
        self.passive = False
        self.iss = self._choose_iss(now)
        self.snd_una = self.snd_nxt = self.iss
        self._run(now, "connect")
        return self._finish()

    def send(self, now: float, data: bytes) -> list[Segment]:
        """Queue data and send what the peer's window allows."""
        data = check_bytes("data", data)
        if not data:
            raise ValueError("data must not be empty")
        self._begin(now)
        self._check_call("send")
        self._unsent.extend(data[i:i + self.mss] for i in range(0, len(data), self.mss))
        self._call(now, "send")
        return self._finish()

    def shutdown(self, now: float, how: str = "SHUT_WR") -> list[Segment]:
        """shutdown(): SHUT_WR sends our FIN after any queued data and keeps receiving (half-close);
        SHUT_RD only marks the socket (later data after our FIN gets RST); SHUT_RDWR both.

        Linux net/ipv4/af_inet.c inet_shutdown and tcp.c tcp_shutdown: in SYN-SENT it ends the
        attempt without a segment, in LISTEN SHUT_RD stops listening, once the FIN is out (or in
        FIN-WAIT-2, CLOSING, LAST-ACK) a second SHUT_WR does nothing, and with no connection (CLOSED,
        or TIME-WAIT, which Linux keeps apart from the socket) it fails with ENOTCONN.
        """
        how = shut_how(how)
        self._begin(now)
        st = self.state
        if st is CLOSED or st is TIME_WAIT:
            raise ProtocolError(f"can't shutdown() in state {st}: the socket is not connected (ENOTCONN)")
        reading, writing = how != "SHUT_WR", how != "SHUT_RD"
        if st is LISTEN:
            if reading:
                self._run(now, "close")
        elif st is SYN_SENT:
            self._run(now, "close")
        else:
            self.rd_shut = self.rd_shut or reading
            if writing and (st, "close") in self._table:
                self._run(now, "close")
        return self._finish()

    def close(self, now: float, linger: float | None = None) -> list[Segment]:
        """close(): release the socket. As Linux net/ipv4/tcp.c __tcp_close, in its order: RST if
        the application left data unread; else with SO_LINGER 0 (``linger=0``) an abort (RST where
        a connection is open); else our FIN unless shutdown(SHUT_WR) sent it already. The
        connection is then an orphan: data arriving after our FIN gets RST, and FIN-WAIT-2 lasts at
        most ``fin_timeout``; a connection in TIME-WAIT stays there.
        """
        if linger is not None:
            linger = check_number("linger", linger, low=0.0)
        self._begin(now)
        st = self.state
        if st is CLOSED:
            self._check_call("close")  # raises: there is nothing to close
        if self.released:
            raise ProtocolError(f"can't close() in state {st}: close() was called already (EBADF)")
        if self.received and (st, "close_unread") in self._table:
            self._run(now, "close_unread")
        elif linger == 0 and st is not TIME_WAIT:
            self._run(now, "abort")
        elif (st, "close") in self._table:
            self._run(now, "close")
        if self.state not in _FORGETS:
            self.released = self.rd_shut = True
            if self.state is FIN_WAIT_2:
                self._arm_fin_timeout(now)
        return self._finish()

    def exit(self, now: float) -> list[Segment]:
        """The process exits or is killed: the kernel closes the socket as close() would, unless
        the application closed it already (Linux: do_exit closes every open file)."""
        self._begin(now)
        if self.released or self.state is CLOSED:
            return self._finish()
        return self.close(now)

    def abort(self, now: float) -> list[Segment]:
        """Abort the connection: RST to the peer where one is open, and CLOSED at once."""
        self._begin(now)
        self._call(now, "abort")
        return self._finish()

    def crash(self, now: float) -> list[Segment]:
        """The host loses power: the connection's state (and anything not yet read) is gone at
        once and nothing is sent (RFC 9293 3.5.1: the peer is left with a half-open connection)."""
        self._begin(now)
        self.received.clear()
        if self.state is not CLOSED:
            self._run(now, "crash")
        return self._finish()

    def accept_cookie(self, now: float, syn: Segment, cookie: int) -> list[Segment]:
        """Rebuild the half-open connection a returning SYN-cookie ACK proves; the ACK is received next.

        ``syn`` is the SYN the cookie answered, as the ACK implies it (seq = ACK's seq - 1) and
        ``cookie`` the ISN of the SYN,ACK the listener sent without keeping state (Linux
        net/ipv4/syncookies.c cookie_v4_check). Only the socket layer calls this, in LISTEN.
        """
        self._begin(now)
        if self.state is not LISTEN:
            raise ProtocolError(f"can't accept a SYN cookie in state {self.state}; only in LISTEN")
        self.iss = check_int_range("cookie", cookie, 0, SEQ_MOD - 1)
        self.snd_una = self.snd_nxt = self.iss
        self._run(now, "rcv_cookie_ack", syn)
        return self._finish()

    def no_time_wait(self, now: float) -> list[Segment]:
        """The socket layer has no room for this connection's TIME-WAIT (or its orphaned FIN-WAIT-2):
        it ends here without a segment (Linux tcp_time_wait when tcp_max_tw_buckets is reached)."""
        return self._ended_by_socket_layer(now, "tw_overflow")

    def listener_closed(self, now: float) -> list[Segment]:
        """The listening socket this half-open connection waited in was closed: the request is
        dropped without a segment (Linux inet_csk_listen_stop)."""
        return self._ended_by_socket_layer(now, "listener_closed")

    def _ended_by_socket_layer(self, now: float, event: str) -> list[Segment]:
        self._begin(now)
        self._check_call(event)
        self._run(now, event)
        return self._finish()

    def fin_time(self) -> float | None:
        """How long this socket, once an orphan, waits in FIN-WAIT-2: tcp_fin_timeout, at least 3.5
        RTOs (include/net/tcp.h tcp_fin_time); None when it waits for ever (the RFC)."""
        if self.fin_timeout is None:
            return None
        return max(self.fin_timeout, FIN_TIME_RTOS * self.rto)

    def takes_new_syn(self, seg: Segment) -> bool:
        """Whether a SYN that reaches this connection in TIME-WAIT may open a new one (RFC 9293
        3.6.1 MAY-2, RFC 6191), as Linux net/ipv4/tcp_minisocks.c tcp_timewait_state_process decides:
        not rejected by PAWS, and its sequence number above RCV.NXT or, with timestamps, its TSval
        newer than TS.Recent."""
        if not isinstance(seg, Segment):
            raise TypeError(f"seg must be a Segment, got {type(seg).__name__}")
        if self.state is not TIME_WAIT:
            return False
        stamped = self.ts_ok and seg.ts is not None
        behind = (self.ts_recent - seg.ts[0]) % SEQ_MOD if stamped else 0  # (s32)(TS.Recent - TSval)
        if 0 < behind < _HALF:
            return False  # tcp_paws_reject
        newer = stamped and behind >= _HALF
        return 0 < (seg.seq - self.rcv_nxt) % SEQ_MOD < _HALF or newer

    def read(self) -> bytes:
        """Take everything the peer sent that the application has not read yet."""
        data = bytes(self.received)
        self.received.clear()
        return data

    # ------------------------------------------------------------------ the network side
    def receive(self, now: float, segment: Segment) -> list[Segment]:
        """A segment arrives from the peer; returns what we send in reply."""
        if not isinstance(segment, Segment):
            raise TypeError(f"segment must be a Segment, got {type(segment).__name__}")
        self._begin(now)
        if self._ka_probes:
            self.probes_answered += 1
        self._last_heard, self._ka_probes = now, 0  # heard from the peer: alive (tcp_ack: icsk_probes_out = 0)
        self._segment(now, segment)
        while self._held and self.rcv_nxt in self._held and self.state in _SYNCHRONIZED:
            self._segment(now, self._held.pop(self.rcv_nxt))
        return self._finish()

    def next_deadline(self) -> float | None:
        """The earliest time at which on_timer() has work to do, or None."""
        best = self._rtx_at
        t = self._delack_at
        if t is not None and (best is None or t < best):
            best = t
        t = self._tw_at
        if t is not None and (best is None or t < best):
            best = t
        t = self._fw2_at
        if t is not None and (best is None or t < best):
            best = t
        t = self._ka_at
        if t is not None and (best is None or t < best):
            best = t
        return best

    def only_keepalive_left(self) -> bool:
        """Nothing is pending but the keep-alive timer."""
        return (self._ka_at is not None and self._rtx_at is None and self._delack_at is None
                and self._tw_at is None and self._fw2_at is None)

    def on_timer(self, now: float) -> list[Segment]:
        """Run every timer that is due at ``now``."""
        self._begin(now)
        if self._delack_at is not None and self._delack_at <= now:
            self.log.append(records.TimerFired(now, "delayed_ack"))
            if self._pingpong:  # tcp_delack_timer_handler: "Delayed ACK missed: leave pingpong mode"
                self._pingpong, self._ato = False, ATO_MIN
            self._send(now, F_ACK, self.snd_nxt)
        if self._rtx_at is not None and self._rtx_at <= now:
            if self._gives_up(now):
                self.log.append(records.TimerFired(now, "give_up"))
                passive_half_open = self.state is SYN_RECEIVED and self.passive
                self._run(now, "give_up_passive" if passive_half_open else "give_up")
            else:
                self.log.append(records.TimerFired(now, "rto"))
                self._run(now, "rto")
        if self._tw_at is not None and self._tw_at <= now:
            self.log.append(records.TimerFired(now, "time_wait_expired"))
            self._tw_at = None
            self._run(now, "time_wait_expired")
        if self._fw2_at is not None and self._fw2_at <= now:
            self.log.append(records.TimerFired(now, "fin_timeout"))
            self._fw2_at = None
            self._run(now, "fin_timeout")
        if self._ka_at is not None and self._ka_at <= now:
            self._keepalive_timer(now)
        return self._finish()

    def _keepalive_timer(self, now: float) -> None:
        """Linux net/ipv4/tcp_timer.c tcp_keepalive_timer: no probe while data is in flight; after
        ``idle`` seconds without a word from the peer a probe every ``interval``; when ``probes``
        have gone unanswered, at the next expiry, RST and "timed out"."""
        self._ka_at = None
        if self.keepalive is None or (self.state, "keepalive") not in self._table:
            return
        idle, interval, probes = self.keepalive
        if self._rtx_queue or self._unsent:  # "It is alive without keepalive 8)"
            self._ka_at = now + idle
            return
        due = self._last_heard + idle  # as the timer was set: the same sum, so no rounding can re-fire it at once
        if now < due:
            self._ka_at = due
            return
        if self._ka_probes >= probes:
            self.log.append(records.TimerFired(now, "keepalive_timeout"))
            return self._run(now, "keepalive_timeout")
        self.log.append(records.TimerFired(now, "keepalive"))
        self._run(now, "keepalive")
        self._ka_probes += 1
        self._ka_at = now + interval

    def _gives_up(self, now: float) -> bool:
        """The retransmission timer expired: is it time to give up rather than send again?"""
        timers = self.timers
        if timers is None:
            return self.retries >= self._retry_limit()
        if self.state is SYN_RECEIVED and self.passive:
            return self.retries >= self.max_retries  # Linux's request socks count (reqsk_timer_handler)
        if not self.retries:
            return False
        if self.state is SYN_SENT or self.state is SYN_RECEIVED:  # tcp_write_timeout
            limit = timers.syn_retries + (timers.syn_linear_timeouts if self.state is SYN_SENT else 0)
            return self.retries >= limit or self._spent(now, timers.budget(timers.syn_retries, self.rto_initial))
        if not self._retries1_noted and self._spent(now, timers.budget(timers.retries1, timers.rto_min)):
            self._retries1_noted = True  # where Linux asks for a new route (__dst_negative_advice)
            self.log.append(records.TimerFired(now, "retries1"))
        return self._spent(now, timers.budget(self._retry_limit(), timers.rto_min))

    def _spent(self, now: float, budget: float) -> bool:
        """Has ``budget`` passed since the first retransmission? (Linux counts whole jiffies; a sum of
        float timeouts may fall a rounding error short, which must not cost one more retransmission.)"""
        return now - self._rtx_since >= budget - SLACK

    def _retry_limit(self) -> int:
        """Retransmissions allowed before giving up: an orphan's are tcp_orphan_retries
        (net/ipv4/tcp_timer.c tcp_write_timeout and tcp_orphan_retries, where 0 means 8 while the
        RTO is below TCP_RTO_MAX and 0 once it has reached it)."""
        if not self.released or self.orphan_retries is None:
            return self.max_retries if self.timers is None else self.timers.retries2
        if self.orphan_retries == 0 and self.rto < RTO_MAX:
            return ORPHAN_RETRIES_ALIVE
        return self.orphan_retries

    def _arm_fin_timeout(self, now: float) -> None:
        wait = self.fin_time()
        if wait is not None:
            self._fw2_at = now + wait

    # ------------------------------------------------------------------ table machinery
    def _check_call(self, call: str) -> None:
        if (self.state, call) not in self._table:
            allowed = ", ".join(str(s) for s in allowed_states(call))
            raise ProtocolError(f"can't {call}() in state {self.state}; {call}() is allowed in: {allowed}")

    def _call(self, now: float, call: str) -> None:
        self._check_call(call)
        self._run(now, call)

    def _run(self, now: float, event: str, segment: Segment | None = None) -> None:
        rule = self._rules.get((self.state, event))
        if rule is None:
            if segment is not None:
                self._drop(now, segment, f"no rule for {event} in {self.state}")
            elif event in ("rto", "give_up", "give_up_passive"):
                self._rtx_at = None
            return
        new, actions = rule
        for action in actions:
            action(self, now, segment)
        old = self.state
        if new is not old:
            self.state = new
            self.log.append(records.StateChange(now, new, event))
            if new in _FORGETS and old not in _FORGETS:  # CLOSED and LISTEN have no connection to forget
                self._reset_tcb()
            elif new is FIN_WAIT_2 and self.released:
                self._arm_fin_timeout(now)
            elif old is FIN_WAIT_2:
                self._fw2_at = None
            if self.keepalive is not None and self._ka_at is None and (new, "keepalive") in self._table:
                self._ka_at = self._last_heard + self.keepalive[0]

    def _begin(self, now: float) -> None:
        if not (type(now) is float and self._now <= now < _INF):  # the common case is cheap
            now = check_number("now", now)
        if now < self._now:
            raise ValueError(f"now must not go back in time: got {now}, the last call was at {self._now}")
        self._now = now

    def _finish(self) -> list[Segment]:
        if self._ack_owed and self._delack_at is None:
            self._send(self._now, ACK, self.snd_nxt)
        out, self._out = self._out, []
        return out

    def _reset_tcb(self) -> None:
        """Forget the connection (RFC 9293: delete the TCB); a listener keeps listening."""
        self.iss = self.irs = None
        self.snd_una = self.snd_nxt = self.rcv_nxt = 0
        self.snd_wnd = MAX_WINDOW
        self._unsent: deque[bytes] = deque()  # data the application sent that is not on the wire yet
        self._fin_pending = False
        self.fin_seq: int | None = None
        self._rtx_queue: deque[list] = deque()  # [segment, first sent at, retransmitted, its end_seq]
        self._rtx_at: float | None = None
        self._tw_at: float | None = None
        self._delack_at: float | None = None
        self._ack_owed = False
        self._held: dict[int, Segment] = {}
        self._last_invalid_ack = -_INF
        self.retries = 0
        self.rto = self.rto_initial
        self.srtt: float | None = None
        self.rttvar = 0.0
        self.released = False  # close() was called: the connection is an orphan
        self.rd_shut = False  # no more reading: close() or shutdown(SHUT_RD) (Linux's RCV_SHUTDOWN)
        self._fw2_at: float | None = None  # an orphan's FIN-WAIT-2 ends (tcp_fin_timeout)
        self.ts_ok = False  # both SYNs carried Timestamps: every segment does (RFC 7323 3.2)
        self.ts_recent = 0  # TS.Recent: the TSval to echo, and PAWS's reference
        self._ka_at: float | None = None  # the keep-alive timer
        self._ka_probes = 0  # keep-alive probes sent since the peer was last heard
        self._last_heard = self._now  # when a segment last arrived
        self.probes_answered = 0  # keep-alive probes the peer answered
        self._rtx_since: float | None = None  # the first SYN, or the first retransmission (Linux's retrans_stamp)
        self._retries1_noted = False
        self._ato = 0.0  # Linux's icsk_ack.ato: 0 until data arrives
        self._quick = 0  # ACKs still to send at once (quick-ack mode)
        self._pingpong = False  # interactive mode: ACKs wait for the delayed-ACK timer

    def _choose_iss(self, now: float) -> int:
        if self._t0 is None:
            self._t0 = now
        if not self.isn_clock:
            return self.isn
        return (self.isn + int((now - self._t0) * ISN_CLOCK_HZ)) % SEQ_MOD

    # ------------------------------------------------------------------ arriving segments
    def _segment(self, now: float, seg: Segment) -> None:
        """Sort a segment into one table event, following RFC 9293 section 3.10.7."""
        st, f = self.state, int(seg.flags)
        if st is CLOSED:
            if f & RST:
                return self._drop(now, seg, "an RST to a closed port is ignored")
            return self._run(now, "rcv_syn_ack" if f & SYN and f & ACK else "rcv_segment", seg)
        if st is LISTEN:
            if f & RST:
                return self._drop(now, seg, "a listener ignores RST")
            if f & ACK:
                return self._run(now, "rcv_ack", seg)
            if f & SYN:
                return self._run(now, "rcv_syn", seg)
            return self._drop(now, seg, "a listener answers only SYN")
        if st is SYN_SENT:
            return self._segment_in_syn_sent(now, seg)
        return self._segment_when_synchronizing(now, seg)

    def _segment_in_syn_sent(self, now: float, seg: Segment) -> None:
        f = int(seg.flags)
        ack_ok = bool(f & ACK) and seq_lt(self.iss, seg.ack) and seq_le(seg.ack, self.snd_nxt)
        if f & ACK and not ack_ok:
            if f & RST:
                return self._drop(now, seg, "RST whose ACK does not cover our SYN")
            if self.timers is not None and not self.retries:
                # tcp_rcv_synsent_state_process: "Previous FIN/ACK or RST/ACK might be ignored": after
                # our RST clears the peer's old connection, the SYN goes again TCP_TIMEOUT_MIN later
                self._rtx_at = now + TIMEOUT_MIN
            return self._run(now, "rcv_bad_ack", seg)
        if f & RST:
            if ack_ok:
                return self._run(now, "rcv_rst", seg)
            return self._drop(now, seg, "RST without ACK in SYN-SENT")
        if f & SYN:
            if ack_ok:
                self._take_ack(now, seg)
                return self._run(now, "rcv_syn_ack", seg)
            return self._run(now, "rcv_syn", seg)
        return self._drop(now, seg, "neither SYN nor RST in SYN-SENT")

    def _segment_when_synchronizing(self, now: float, seg: Segment) -> None:
        """SYN-RECEIVED and the synchronized states (the RFC's "Otherwise" section)."""
        st, f = self.state, int(seg.flags)
        if self.ts_ok and seg.ts is not None and not f & RST:
            if PAWS_WINDOW < (self.ts_recent - seg.ts[0]) % SEQ_MOD < _HALF:  # (s32)(TS.Recent - TSval) > 1
                # RFC 7323 5.3 R1 (PAWS): an older TSval than TS.Recent: "treat the arriving segment as
                # not acceptable" (Linux tcp_validate_incoming, tcp_paws_discard)
                self._drop(now, seg, "PAWS: its TSval is older than TS.Recent (RFC 7323 5.3)")
                return self._run(now, "rcv_unacceptable", seg)
        repeated_syn = f & SYN and not f & (ACK | RST) and seg.seq == self.irs
        if repeated_syn and (st, "rcv_dup_syn") in self._table:
            return self._run(now, "rcv_dup_syn", seg)
        if st is SYN_RECEIVED and f & SYN and f & ACK and seg.seq == self.irs and self._acks_new(seg):
            self._take_ack(now, seg)
            return self._run(now, "rcv_syn_ack", seg)
        if st is TIME_WAIT and f & FIN and not f & RST and seg.end_seq == self.rcv_nxt:
            return self._run(now, "rcv_fin", seg)
        if not self._acceptable(seg):
            if f & RST:
                return self._drop(now, seg, "RST outside the receive window")
            return self._run(now, "rcv_unacceptable", seg)
        if self.ts_ok and seg.ts is not None and (seg.seq - self.rcv_nxt + _HALF) % SEQ_MOD <= _HALF:
            self.ts_recent = seg.ts[0]  # RFC 7323 4.3 (2): SEG.SEQ =< Last.ACK.sent; it passed PAWS
        if f & RST:
            if st is SYN_RECEIVED:
                return self._run(now, "rcv_rst_passive" if self.passive else "rcv_rst_active", seg)
            if self.linux_checks and seg.seq != self.rcv_nxt and not (
                    st in _FIN_RECEIVED and seg.seq == (self.rcv_nxt - 1) % SEQ_MOD):  # tcp_reset_check
                return self._run(now, "rcv_rst_in_window", seg)
            return self._run(now, "rcv_rst", seg)
        if f & SYN:
            if st is SYN_RECEIVED and self.passive:
                return self._run(now, "rcv_syn_embryonic" if self.linux_checks else "rcv_syn_passive", seg)
            return self._run(now, "rcv_syn", seg)
        if not f & ACK:
            return self._drop(now, seg, "no ACK bit in a synchronized state")
        if st is SYN_RECEIVED:
            if not self._acks_new(seg):
                return self._run(now, "rcv_bad_ack", seg)
        elif (self.snd_nxt - seg.ack + _HALF) % SEQ_MOD < _HALF:  # seq_lt(SND.NXT, SEG.ACK)
            return self._run(now, "rcv_unacceptable", seg)  # acknowledges something never sent
        self._take_ack(now, seg)
        if seg.payload:
            seg = self._trim(seg)
            if self.rd_shut and seg.payload and st in _HALF_CLOSED:
                # new data nobody will read (tcp_rcv_state_process: after the ACK is taken)
                self._ack_moves_state(now, seg)
                return self._run(now, "rcv_data_after_close", seg)
        if seg.seq != self.rcv_nxt and (seg.payload or f & FIN):
            # Text that is not next in line. RFC 9293 3.10.7.4 takes the ACK field (fifth check)
            # before the text (seventh): an ACK that moves the state on does so first (SYN-RECEIVED
            # -> ESTABLISHED, FIN-WAIT-1 -> FIN-WAIT-2, ...), then the text waits in the new state.
            self._ack_moves_state(now, seg)
            return self._run(now, "rcv_out_of_order", seg)
        self._run(now, self._ack_event(bool(f & FIN)), seg)

    def _ack_moves_state(self, now: float, seg: Segment) -> None:
        """Run the row of the segment's ACK alone, when it changes the state, before its text is handled."""
        event = self._ack_event(False)
        if event != "rcv_ack":
            self._run(now, event, Segment.unchecked(F_ACK, seg.seq, seg.ack, seg.window, b""))

    def _ack_event(self, fin: bool) -> str:
        st = self.state
        if st is SYN_RECEIVED:
            return "rcv_fin" if fin else "rcv_ack_of_syn"
        fin_acked = self.fin_seq is not None and (self.fin_seq - self.snd_una + _HALF) % SEQ_MOD < _HALF
        if st is FIN_WAIT_1 and fin:
            return "rcv_fin_ack_of_fin" if fin_acked else "rcv_fin"
        if st in _FIN_SENT and fin_acked:
            return "rcv_ack_of_fin"
        return "rcv_fin" if fin else "rcv_ack"

    def _acceptable(self, seg: Segment) -> bool:
        """The sequence check of RFC 9293 section 3.10.7.4, table 6 (the receive window is never 0 here)."""
        start = (seg.seq - self.rcv_nxt + _HALF) % SEQ_MOD - _HALF  # seq_diff(SEG.SEQ, RCV.NXT)
        if 0 <= start < MAX_WINDOW:
            return True
        length = seg.seq_len
        return length > 0 and 0 <= start + length - 1 < MAX_WINDOW

    def _acks_new(self, seg: Segment) -> bool:
        """SND.UNA < SEG.ACK =< SND.NXT."""
        ack = seg.ack
        return (self.snd_una - ack + _HALF) % SEQ_MOD < _HALF and (ack - self.snd_nxt + _HALF) % SEQ_MOD <= _HALF

    def _trim(self, seg: Segment) -> Segment:
        """Cut off the bytes we already have (a retransmission that overlaps what arrived)."""
        skip = seq_diff(self.rcv_nxt, seg.seq)
        if skip <= 0 or not seg.payload:
            return seg
        return Segment.unchecked(seg.flags, self.rcv_nxt, seg.ack, seg.window, seg.payload[skip:], seg.ts)

    def _take_ack(self, now: float, seg: Segment) -> None:
        """Advance SND.UNA, take an RTT sample (Karn's rule) and rearm the retransmission timer."""
        self.snd_wnd = seg.window
        if not self._acks_new(seg):
            return
        queue, sample, ack = self._rtx_queue, None, seg.ack
        while queue and (queue[0][3] - ack + _HALF) % SEQ_MOD <= _HALF:  # seq_le(its end, SEG.ACK)
            entry = queue.popleft()
            sample = None if entry[2] else now - entry[1]
        self.snd_una = ack
        if sample is not None:
            self._rtt_sample(sample)
        self.retries = 0
        self._rtx_since = None
        self.rto = self._computed_rto()
        self._rtx_at = now + self.rto if queue else None
        if self._unsent or self._fin_pending:
            self._push(now)

    def _rtt_sample(self, r: float) -> None:
        """RFC 6298 section 2: smoothed RTT and its variation."""
        if self.srtt is None:
            self.srtt, self.rttvar = r, r / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - r)
            self.srtt = 0.875 * self.srtt + 0.125 * r

    def _computed_rto(self) -> float:
        """RFC 6298 2.3 with its 1 s floor (``rto``), or Linux's SRTT + max(4 RTTVAR, 200 ms) (__tcp_set_rto)."""
        if self.srtt is None:
            return self.rto_initial
        if self.timers is not None:
            return min(RTO_MAX, self.srtt + max(self.timers.rto_min, 4 * self.rttvar))
        return min(RTO_MAX, max(self.rto_initial, self.srtt + max(0.001, 4 * self.rttvar)))

    def _drop(self, now: float, seg: Segment, reason: str) -> None:
        self.log.append(records.Dropped(now, seg, reason))

    # ------------------------------------------------------------------ sending
    def _send(self, now: float, flags: Flags, seq: int, payload: bytes = b"", *,
              retransmission: bool = False) -> Segment:
        f = int(flags)
        ts = self._ts_option(now, f) if self.timestamps else None
        if f & ACK:
            seg = self._emit(now, Segment.unchecked(flags, seq, self.rcv_nxt, MAX_WINDOW, payload, ts), retransmission)
            self._ack_owed = False
            self._delack_at = None
        else:
            seg = self._emit(now, Segment.unchecked(flags, seq, 0, MAX_WINDOW, payload, ts), retransmission)
        length = len(payload) + (f >> 1 & 1) + (f & 1)  # SEG.LEN, as Segment.seq_len
        if length and not retransmission:
            self._rtx_queue.append([seg, now, False, (seq + length) % SEQ_MOD])
            if self._rtx_at is None:
                self._rtx_at = now + self.rto
        return seg

    def tsval(self, now: float) -> int:
        """The TSval this side would send at ``now`` (RFC 7323 5.4: a clock, here in milliseconds)."""
        return (int(now * TS_CLOCK_HZ) + self.ts_offset) % SEQ_MOD

    def _ts_option(self, now: float, f: int) -> tuple[int, int] | None:
        """RFC 7323 3.2: our SYN offers Timestamps (TSecr 0); once both SYNs carried them every
        segment has (TSval, TS.Recent)."""
        if self.ts_ok:
            return self.tsval(now), self.ts_recent
        if f & SYN and not f & ACK:
            return self.tsval(now), 0
        return None

    def _emit(self, now: float, seg: Segment, retransmission: bool = False) -> Segment:
        self._out.append(seg)
        self.log.append(records.Sent(now, seg, retransmission))
        return seg

    def _push(self, now: float) -> None:
        """Send queued data the peer's window allows, then our FIN once the queue is empty."""
        unsent = self._unsent
        while unsent:
            # Send whole segments only, never a sliver of window (RFC 9293 3.8.6.2.1, SWS avoidance).
            in_flight = (self.snd_nxt - self.snd_una + _HALF) % SEQ_MOD - _HALF  # seq_diff
            if len(unsent[0]) > self.snd_wnd - in_flight:
                break
            chunk = unsent.popleft()
            self._send(now, F_PSH_ACK, self.snd_nxt, chunk)
            self.snd_nxt = (self.snd_nxt + len(chunk)) % SEQ_MOD
        if self._fin_pending and not unsent and self.fin_seq is None:
            self.fin_seq = self.snd_nxt
            self._send(now, F_FIN_ACK, self.snd_nxt)
            self.snd_nxt = (self.snd_nxt + 1) % SEQ_MOD

    # ------------------------------------------------------------------ actions named in the table
    def _do_learn_isn(self, now: float, seg: Segment) -> None:
        self.irs = seg.seq
        if self.timestamps and seg.ts is not None:  # RFC 7323 3.2: both SYNs have it (ours, or ours to come)
            self.ts_ok, self.ts_recent = True, seg.ts[0]
        self.rcv_nxt = (seg.seq + 1) % SEQ_MOD
        self.snd_wnd = seg.window
        if seg.payload:
            self._drop(now, seg, "data on a SYN is not delivered (no TCP Fast Open)")

    def _do_cookie_sent(self, now: float, seg) -> None:
        self.snd_nxt = seq_add(self.iss, 1)

    def _do_syn(self, now: float, seg) -> None:
        self._rtx_since = now  # tcp_connect: the SYN's time budget starts with the first SYN
        self._send(now, F_SYN, self.iss)
        self.snd_nxt = (self.iss + 1) % SEQ_MOD

    def _do_syn_ack(self, now: float, seg) -> None:
        if self.iss is None:  # a listener picks its ISN when the SYN arrives
            self.iss = self._choose_iss(now)
            self.snd_una = self.snd_nxt = self.iss
        if self.snd_nxt == self.iss:
            self._send(now, F_SYN_ACK, self.iss)
            self.snd_nxt = (self.iss + 1) % SEQ_MOD
            return
        # Our SYN is out already: a simultaneous open (the queued bare SYN becomes this SYN,ACK)
        # or, in the two-way counterfactual, a repeat of an acceptance nobody acknowledges.
        queued = self._rtx_queue[0] if self._rtx_queue else None
        sent = self._send(now, F_SYN_ACK, self.iss, retransmission=queued is None)
        if queued is not None:
            queued[0], queued[3] = sent, seq_add(self.iss, 1)  # the entry now stands for this SYN,ACK

    def _do_assume_acked(self, now: float, seg) -> None:
        self.snd_una = self.snd_nxt
        self._rtx_queue.clear()
        self._rtx_at = None

    def _do_ack(self, now: float, seg) -> None:
        self._ack_owed = True
        if self.linux_acks:
            return self._linux_ack(now, seg)
        if self.delayed_ack > 0 and self._delack_at is None:
            self._delack_at = now + self.delayed_ack

    def _linux_ack(self, now: float, seg: Segment) -> None:
        """At once in quick-ack mode, else when the delayed-ACK timer fires (linux_timers.py)."""
        if seg.payload and not self._ato:  # tcp_event_data_recv: the first data starts quick-ack mode
            self._ato, self._quick = ATO_MIN, MAX_QUICKACKS
        if int(seg.flags) & FIN:
            self._pingpong = True  # tcp_fin: inet_csk_enter_pingpong_mode
        elif seg.payload and self._quick and not self._pingpong:
            self._quick -= 1
            return  # no timer: _finish sends the ACK now
        if self._delack_at is None:
            self._delack_at = now + (self._ato or TICK)

    def _do_ack_now(self, now: float, seg) -> None:
        self._send(now, F_ACK, self.snd_nxt)

    def _do_ack_limited(self, now: float, seg: Segment) -> None:
        if not self._rate_limited(now, seg):
            self._send(now, F_ACK, self.snd_nxt)

    def _do_challenge_ack(self, now: float, seg: Segment) -> None:
        if self._rate_limited(now, seg):
            return
        if self.challenge_limit is not None and not self.challenge_limit.take(now):
            return self._drop(now, seg, "no challenge ACK: the host's tcp_challenge_ack_limit for this second is spent")
        self._send(now, F_ACK, self.snd_nxt)

    def _rate_limited(self, now: float, seg: Segment) -> bool:
        """Linux's tcp_oow_rate_limited: one answer to such segments per tcp_invalid_ratelimit (0.5 s)."""
        if now - self._last_invalid_ack < INVALID_ACK_INTERVAL:
            self._drop(now, seg, "unacceptable; not answered: one such ACK per 0.5 s at most")
            return True
        self._last_invalid_ack = now
        return False

    def _do_deliver(self, now: float, seg: Segment) -> None:
        if seg.payload:
            self.rcv_nxt = (self.rcv_nxt + len(seg.payload)) % SEQ_MOD
            self.log.append(records.Delivered(now, seg.payload))
            self.received += seg.payload
            if self.auto_read:
                self.received.clear()
            self._do_ack(now, seg)
        if int(seg.flags) & FIN:
            self.rcv_nxt = (self.rcv_nxt + 1) % SEQ_MOD

    def _do_hold(self, now: float, seg: Segment) -> None:
        self._held[seg.seq] = seg

    def _do_data(self, now: float, seg) -> None:
        self._push(now)

    def _do_fin(self, now: float, seg) -> None:
        self._fin_pending = True
        self._push(now)

    def _do_reset(self, now: float, seg: Segment) -> None:
        self._emit(now, reset_for(seg))  # never asked for an RST: the table's rows exclude it

    def _do_rst(self, now: float, seg) -> None:
        ts = self._ts_option(now, RST) if self.timestamps else None
        self._emit(now, Segment.unchecked(F_RST, self.snd_nxt, 0, 0, b"", ts))

    def _do_probe(self, now: float, seg) -> None:
        # a sequence number the peer has seen already, so that it must answer with an ACK (RFC 9293
        # 3.8.4: SEG.SEQ = SND.NXT-1; Linux tcp_xmit_probe_skb: "Use a previous sequence")
        self._send(now, F_ACK, (self.snd_una - 1) % SEQ_MOD)

    def _do_retransmit(self, now: float, seg) -> None:
        self.retries += 1
        timers = self.timers
        if timers is None or self.state is not SYN_SENT or self.retries > timers.syn_linear_timeouts:
            self.rto = min(RTO_MAX, self.rto * 2)  # else Linux's linear SYN retries (tcp_retransmit_timer)
        if self._rtx_since is None:
            self._rtx_since = now
        entry = self._rtx_queue[0]
        old = entry[0]
        entry[2] = True
        self._send(now, old.flags, old.seq, old.payload, retransmission=True)
        wait = self.rto
        if timers is not None and timers.user_timeout:
            # tcp_clamp_rto_to_user_timeout: the last timer ends when TCP_USER_TIMEOUT does
            wait = max(0.0, min(wait, self._rtx_since + timers.user_timeout - now))
        self._rtx_at = now + wait

    def _do_start_2msl(self, now: float, seg) -> None:
        self._tw_at = now + self.time_wait

    _do_restart_2msl = _do_start_2msl

    def _outcome(self, now: float, outcome: str) -> None:
        self.outcome = outcome
        self.log.append(records.Outcome(now, outcome))

    def _do_refused(self, now: float, seg) -> None:
        self._outcome(now, "refused")

    def _do_reset_by_peer(self, now: float, seg) -> None:
        self._outcome(now, "reset")

    def _do_timed_out(self, now: float, seg) -> None:
        self._outcome(now, "timed out")

    def __repr__(self) -> str:
        return f"<Endpoint {self.name} {self.state}>"


# The table names actions; each is the Endpoint method _do_<name>. _run takes each row as
# (next state, action methods), looked up once here rather than by name on every event.
_ACTION_METHODS = {name: getattr(Endpoint, "_do_" + name) for name in ACTIONS}
_RULES = {handshake: {key: (row.next, tuple(_ACTION_METHODS[a] for a in row.actions))
                      for key, row in lookup_table(handshake).items()}
          for handshake in HANDSHAKES}

"""The transition table: the one place that says what TCP does in each state for each event.

Theory of operation
-------------------
A connection moves between the eleven states of RFC 9293 (section 3.3.2, figure 5) when one of
three kinds of event happens:

* a user call (``listen``, ``connect``, ``send``, ``close``, ``abort``),
* a segment arrives; the Endpoint first sorts it into one event (``rcv_syn``, ``rcv_fin``,
  ``rcv_ack_of_fin`` ...) by the checks of RFC 9293 section 3.10.7, in the RFC's order,
* a timer expires (``rto``, ``give_up``, ``time_wait_expired``, ``delayed_ack``, ``fin_timeout``,
  ``keepalive``, ``keepalive_timeout``),
* the host fails (``crash``: power lost, the connection's state gone without a segment).

For each (state, event) pair that can happen, one Transition row below gives the actions to take
(what to send, which timer to start, what to tell the user) and the next state. The Endpoint runs
these rows and nothing else changes its state; the state-diagram figure and the course's tables are
drawn from the same rows. A user call with no row is illegal in that state and raises
ProtocolError. A segment that matches no row is dropped, and the Trace records why.

The user call "close" is RFC 9293's CLOSE (3.10.4): "I have no more to send", a FIN. Linux makes
it with two socket calls: shutdown(SHUT_WR) does only that, and close() does it and also releases
the socket (the Endpoint's ``close``); the socket layer's part of close() - RST for data left
unread or arriving later, SO_LINGER 0, the orphan's FIN-WAIT-2 timeout - has rows of its own
below, each citing net/ipv4/tcp.c or tcp_input.c.

Counterfactual protocols (a two-way handshake) are small tables of rows that replace rows of the
real one; they are never drawn as part of RFC 9293.
"""
from __future__ import annotations

from typing import NamedTuple

from .states import State

S = State


class Transition(NamedTuple):
    state: State
    event: str
    next: State
    actions: tuple[str, ...]
    rfc: str  # where the rule comes from: an RFC 9293 section, or "Linux" for Linux behaviour


USER_CALLS = ("listen", "connect", "send", "close", "abort")

# What each action does, in words (the Endpoint has one method per action).
ACTIONS = {
    "learn_isn": "record the peer's initial sequence number",
    "cookie_sent": "count the SYN cookie's SYN,ACK, sent earlier without keeping state, as sent",
    "syn": "send SYN",
    "syn_ack": "send SYN,ACK",
    "assume_acked": "count our SYN,ACK as acknowledged without waiting (two-way handshake)",
    "ack": "acknowledge (may be delayed)",
    "ack_now": "send ACK at once",
    "ack_limited": "send ACK at once, but at most one such reply per 0.5 s",
    "challenge_ack": "send a challenge ACK (RFC 5961): at most one per 0.5 s, and within the host's "
                     "tcp_challenge_ack_limit per second",
    "deliver": "deliver the payload to the application",
    "hold": "keep the out-of-order segment for later",
    "data": "send queued data",
    "fin": "send FIN after any queued data",
    "reset": "answer the segment with RST",
    "rst": "send RST seq=SND.NXT",
    "retransmit": "retransmit the oldest unacknowledged segment, double the RTO",
    "probe": "send a keep-alive probe: ACK with seq=SND.UNA-1",
    "start_2msl": "start the 2MSL timer",
    "restart_2msl": "restart the 2MSL timer",
    "refused": "tell the user: connection refused",
    "reset_by_peer": "tell the user: connection reset",
    "timed_out": "tell the user: connection timed out",
}

_RETRANSMITTING = (S.SYN_SENT, S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.CLOSE_WAIT, S.CLOSING,
                   S.LAST_ACK)
_RESETTABLE = (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT)
# Linux probes only with nothing in flight and a full socket: not in SYN-SENT, nor once a FIN is out
# and unacknowledged, nor in TIME-WAIT (a timewait socket has no keepalive timer)
_KEEPS_ALIVE = (S.ESTABLISHED, S.CLOSE_WAIT, S.FIN_WAIT_2)
_CHALLENGES_RST = (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK)
_ANSWERS_UNACCEPTABLE = (S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT,
                         S.CLOSING, S.LAST_ACK, S.TIME_WAIT)


def _rows() -> list[Transition]:
    T = Transition
    rows = [
        # --- user calls (RFC 9293 section 3.10.1 - 3.10.5) ---
        T(S.CLOSED, "listen", S.LISTEN, (), "3.10.1"),
        T(S.CLOSED, "connect", S.SYN_SENT, ("syn",), "3.10.1"),
        T(S.LISTEN, "close", S.CLOSED, (), "3.10.4"),
        T(S.SYN_SENT, "close", S.CLOSED, (), "3.10.4"),
        T(S.SYN_RECEIVED, "close", S.FIN_WAIT_1, ("fin",), "3.10.4"),
        T(S.ESTABLISHED, "close", S.FIN_WAIT_1, ("fin",), "3.10.4"),
        T(S.CLOSE_WAIT, "close", S.LAST_ACK, ("fin",), "3.10.4"),
        T(S.ESTABLISHED, "send", S.ESTABLISHED, ("data",), "3.10.2"),
        T(S.CLOSE_WAIT, "send", S.CLOSE_WAIT, ("data",), "3.10.2"),
        T(S.LISTEN, "abort", S.CLOSED, (), "3.10.5"),
        T(S.SYN_SENT, "abort", S.CLOSED, (), "3.10.5"),
        *(T(s, "abort", S.CLOSED, ("rst",), "3.10.5")
          for s in (S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT)),
        *(T(s, "abort", S.CLOSED, (), "3.10.5") for s in (S.CLOSING, S.LAST_ACK, S.TIME_WAIT)),
        # close() with data the application never read: RST, not FIN (RFC 9293 3.6 SHLD-3; Linux
        # net/ipv4/tcp.c __tcp_close: data_was_unread -> tcp_send_active_reset, in any state; after
        # shutdown(SHUT_WR) that is FIN-WAIT-1/2, CLOSING or LAST-ACK)
        *(T(s, "close_unread", S.CLOSED, ("rst",), "3.6")
          for s in (S.ESTABLISHED, S.CLOSE_WAIT, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSING, S.LAST_ACK)),

        # --- segments arriving (RFC 9293 section 3.10.7) ---
        T(S.CLOSED, "rcv_segment", S.CLOSED, ("reset",), "3.10.7.1"),
        T(S.CLOSED, "rcv_syn_ack", S.CLOSED, ("reset",), "3.10.7.1"),
        T(S.LISTEN, "rcv_ack", S.LISTEN, ("reset",), "3.10.7.2"),
        T(S.LISTEN, "rcv_syn", S.SYN_RECEIVED, ("learn_isn", "syn_ack"), "3.10.7.2"),
        # an ACK that returns a valid SYN cookie: the socket layer rebuilds the half-open connection
        # its stateless SYN,ACK stood for, then the ACK completes it (Linux net/ipv4/syncookies.c
        # cookie_v4_check; the RFC has no cookies)
        T(S.LISTEN, "rcv_cookie_ack", S.SYN_RECEIVED, ("learn_isn", "cookie_sent"), "Linux"),
        T(S.SYN_SENT, "rcv_bad_ack", S.SYN_SENT, ("reset",), "3.10.7.3"),
        T(S.SYN_SENT, "rcv_rst", S.CLOSED, ("refused",), "3.10.7.3"),
        T(S.SYN_SENT, "rcv_syn_ack", S.ESTABLISHED, ("learn_isn", "ack_now"), "3.10.7.3"),
        T(S.SYN_SENT, "rcv_syn", S.SYN_RECEIVED, ("learn_isn", "syn_ack"), "3.10.7.3"),
        T(S.SYN_RECEIVED, "rcv_ack_of_syn", S.ESTABLISHED, ("deliver",), "3.10.7.4"),
        # simultaneous open: the peer's SYN,ACK completes it (RFC 9293 figure 7)
        T(S.SYN_RECEIVED, "rcv_syn_ack", S.ESTABLISHED, (), "3.5"),
        # the peer repeats its SYN because our SYN,ACK was lost: retransmit it now (Linux does this)
        T(S.SYN_RECEIVED, "rcv_dup_syn", S.SYN_RECEIVED, ("retransmit",), "Linux"),
        T(S.SYN_RECEIVED, "rcv_bad_ack", S.SYN_RECEIVED, ("reset",), "3.10.7.4"),
        # a new SYN (not the one we answered) for a passive half-open connection: RFC 9293 returns
        # it to LISTEN (fourth check); Linux resets the request (net/ipv4/tcp_minisocks.c
        # tcp_check_req: SYN in the window -> embryonic_reset, observed: syn-in-syn-recv); an
        # active one (simultaneous open) answers with a challenge ACK like a synchronized state
        T(S.SYN_RECEIVED, "rcv_syn_passive", S.LISTEN, (), "3.10.7.4"),
        T(S.SYN_RECEIVED, "rcv_syn_embryonic", S.CLOSED, ("reset",), "Linux"),
        T(S.SYN_RECEIVED, "rcv_syn", S.SYN_RECEIVED, ("challenge_ack",), "3.10.7.4"),
        T(S.SYN_RECEIVED, "rcv_rst_passive", S.LISTEN, (), "3.10.7.4"),
        T(S.SYN_RECEIVED, "rcv_rst_active", S.CLOSED, ("refused",), "3.10.7.4"),
        T(S.SYN_RECEIVED, "rcv_fin", S.CLOSE_WAIT, ("deliver", "ack"), "3.10.7.4"),
        T(S.ESTABLISHED, "rcv_ack", S.ESTABLISHED, ("deliver",), "3.10.7.4"),
        T(S.ESTABLISHED, "rcv_fin", S.CLOSE_WAIT, ("deliver", "ack"), "3.10.7.4"),
        T(S.FIN_WAIT_1, "rcv_ack", S.FIN_WAIT_1, ("deliver",), "3.10.7.4"),
        T(S.FIN_WAIT_1, "rcv_ack_of_fin", S.FIN_WAIT_2, ("deliver",), "3.10.7.4"),
        T(S.FIN_WAIT_1, "rcv_fin", S.CLOSING, ("deliver", "ack_now"), "3.10.7.4"),
        T(S.FIN_WAIT_1, "rcv_fin_ack_of_fin", S.TIME_WAIT, ("deliver", "ack_now", "start_2msl"), "3.10.7.4"),
        T(S.FIN_WAIT_2, "rcv_ack", S.FIN_WAIT_2, ("deliver",), "3.10.7.4"),
        T(S.FIN_WAIT_2, "rcv_fin", S.TIME_WAIT, ("deliver", "ack_now", "start_2msl"), "3.10.7.4"),
        T(S.CLOSE_WAIT, "rcv_ack", S.CLOSE_WAIT, (), "3.10.7.4"),
        T(S.CLOSING, "rcv_ack", S.CLOSING, (), "3.10.7.4"),
        T(S.CLOSING, "rcv_ack_of_fin", S.TIME_WAIT, ("start_2msl",), "3.10.7.4"),
        T(S.LAST_ACK, "rcv_ack", S.LAST_ACK, (), "3.10.7.4"),
        T(S.LAST_ACK, "rcv_ack_of_fin", S.CLOSED, (), "3.10.7.4"),
        T(S.TIME_WAIT, "rcv_ack", S.TIME_WAIT, (), "3.10.7.4"),
        # a retransmitted FIN: the last ACK was lost; ACK it again and restart 2MSL
        T(S.TIME_WAIT, "rcv_fin", S.TIME_WAIT, ("ack_now", "restart_2msl"), "3.10.7.4"),
        *(T(s, "rcv_rst", S.CLOSED, ("reset_by_peer",), "3.10.7.4") for s in _RESETTABLE),
        # An RST inside the window but not at RCV.NXT may be a blind attacker's guess: a challenge ACK
        # instead of a reset, and only the peer's RST at exactly RCV.NXT ends the connection (RFC 5961
        # 3.2, the mitigation RFC 9293 3.10.7.4 allows; Linux net/ipv4/tcp_input.c tcp_validate_incoming,
        # for a Host's connections, rate-limited per socket and per host: tcp_send_challenge_ack)
        *(T(s, "rcv_rst_in_window", s, ("challenge_ack",), "3.10.7.4") for s in _CHALLENGES_RST),
        T(S.CLOSING, "rcv_rst", S.CLOSED, ("reset_by_peer",), "3.10.7.4"),
        T(S.LAST_ACK, "rcv_rst", S.CLOSED, ("reset_by_peer",), "3.10.7.4"),
        T(S.TIME_WAIT, "rcv_rst", S.CLOSED, (), "3.10.7.4"),
        # An ACK answers a segment outside the window, but at most one every 0.5 s (Linux's
        # tcp_invalid_ratelimit; RFC 5961 section 7 likewise limits challenge ACKs): two endpoints
        # that disagree about the numbers would otherwise answer each other's ACKs forever.
        *(T(s, "rcv_unacceptable", s, ("ack_limited",), "3.10.7.4") for s in _ANSWERS_UNACCEPTABLE),
        # a SYN in a synchronized state gets a challenge ACK (RFC 9293 3.10.7.4, fourth check)
        *(T(s, "rcv_syn", s, ("challenge_ack",), "3.10.7.4") for s in _ANSWERS_UNACCEPTABLE[1:]),
        *(T(s, "rcv_out_of_order", s, ("hold", "ack_now"), "3.10.7.4")
          for s in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2)),
        # New data for a socket that was close()d (or shut down for reading) after our FIN: nobody
        # will read it, so RST and the connection is gone (RFC 9293 3.6 MAY-1 half-duplex close,
        # SHLD-3; Linux net/ipv4/tcp_input.c tcp_rcv_state_process, case TCP_FIN_WAIT1/2 with
        # RCV_SHUTDOWN, and tcp_minisocks.c tcp_timewait_state_process for the FIN-WAIT-2 orphan)
        *(T(s, "rcv_data_after_close", S.CLOSED, ("reset",), "3.6") for s in (S.FIN_WAIT_1, S.FIN_WAIT_2)),

        # --- timers (RFC 9293 section 3.10.8, RFC 6298) ---
        *(T(s, "rto", s, ("retransmit",), "3.10.8") for s in _RETRANSMITTING),
        *(T(s, "give_up", S.CLOSED, ("timed_out",), "3.10.8") for s in _RETRANSMITTING),
        # a listener whose half-open connection times out keeps listening (as Linux does)
        T(S.SYN_RECEIVED, "give_up_passive", S.LISTEN, ("timed_out",), "Linux"),
        T(S.TIME_WAIT, "time_wait_expired", S.CLOSED, (), "3.10.8"),
        # An orphan (close()d, not only shut down) waits in FIN-WAIT-2 for the peer's FIN at most
        # tcp_fin_timeout, then vanishes without a segment (Linux net/ipv4/tcp.c __tcp_close and
        # tcp_time_wait(sk, TCP_FIN_WAIT2, tmo); the RFC waits forever)
        T(S.FIN_WAIT_2, "fin_timeout", S.CLOSED, (), "Linux"),
        # No room for another timewait socket (tcp_max_tw_buckets): the connection ends at once,
        # silently, where it would have waited (Linux net/ipv4/tcp_minisocks.c tcp_time_wait:
        # inet_twsk_alloc fails -> TCPTimeWaitOverflow, tcp_done)
        *(T(s, "tw_overflow", S.CLOSED, (), "Linux") for s in (S.FIN_WAIT_2, S.TIME_WAIT)),
        # A half-open connection whose listening socket is closed: the request is dropped, silently
        # (Linux net/ipv4/inet_connection_sock.c inet_csk_listen_stop; its peer's ACK then meets no socket)
        T(S.SYN_RECEIVED, "listener_closed", S.CLOSED, (), "Linux"),

        # Keep-alive (RFC 9293 3.8.4, MAY-5, off unless the application asks: SO_KEEPALIVE): after
        # an idle time, a probe with SEG.SEQ = SND.UNA - 1 that the peer must acknowledge; after the
        # last unanswered probe, RST and "timed out" (Linux net/ipv4/tcp_timer.c tcp_keepalive_timer:
        # tcp_write_wakeup, then tcp_send_active_reset and tcp_write_err)
        *(T(s, "keepalive", s, ("probe",), "3.8.4") for s in _KEEPS_ALIVE),
        *(T(s, "keepalive_timeout", S.CLOSED, ("rst", "timed_out"), "Linux") for s in _KEEPS_ALIVE),

        # --- failures of the host (RFC 9293 section 3.5.1) ---
        # The host loses power: the connection's state is gone at once and nothing is sent; the peer
        # is left with a half-open connection until it sends, or its keepalive probes, and meets an RST
        *(T(s, "crash", S.CLOSED, (), "3.5.1") for s in State if s is not S.CLOSED),
    ]
    return rows


TABLE: tuple[Transition, ...] = tuple(_rows())

# The two-way handshake the course uses as a counterfactual: the server counts the connection as
# open as soon as a SYN arrives, the client as soon as the SYN,ACK arrives, and an acceptance is
# final, so nobody answers one they did not ask for. Not TCP: the lesson is what goes wrong.
TWO_WAY: tuple[Transition, ...] = (
    Transition(S.LISTEN, "rcv_syn", S.ESTABLISHED, ("learn_isn", "syn_ack", "assume_acked"), "two-way"),
    Transition(S.SYN_SENT, "rcv_syn_ack", S.ESTABLISHED, ("learn_isn",), "two-way"),
    Transition(S.CLOSED, "rcv_syn_ack", S.CLOSED, (), "two-way"),
    Transition(S.ESTABLISHED, "rcv_dup_syn", S.ESTABLISHED, ("syn_ack",), "two-way"),
)

HANDSHAKES = ("three-way", "two-way")


def _build(handshake: str) -> dict[tuple[State, str], Transition]:
    table = {(row.state, row.event): row for row in TABLE}
    if handshake == "two-way":
        table.update({(row.state, row.event): row for row in TWO_WAY})
    return table


_LOOKUPS = {handshake: _build(handshake) for handshake in HANDSHAKES}


def lookup_table(handshake: str = "three-way") -> dict[tuple[State, str], Transition]:
    """The (state, event) -> Transition mapping an Endpoint runs for the given handshake (shared, do not modify)."""
    return _LOOKUPS[handshake]


def allowed_states(call: str) -> list[State]:
    """The states in which a user call is legal (for error messages and docs)."""
    return [row.state for row in TABLE if row.event == call]

"""Linux's rules for when a retransmitting connection gives up and when an ACK waits.

RFC 9293 leaves both to the implementation ("R2" of 3.8.3 is "at least 100 seconds"; RFC 6298's
RTO has a 1 s floor). The RFC-first model counts retransmissions from a 1 s RTO. Linux instead
(net/ipv4/tcp_timer.c, read for 6.18):

* gives up when *time* has run out (``retransmits_timed_out``), not a count: the time that
  ``boundary`` retransmissions would take with exponential backoff from ``rto_base``, capped at
  TCP_RTO_MAX (``tcp_model_timeout``), measured from the first retransmission (``retrans_stamp``,
  net/ipv4/tcp_output.c tcp_retransmit_skb), or from the first SYN in SYN-SENT (tcp_connect).
  ``rto_base`` is TCP_RTO_MIN (200 ms) once connected and TCP_TIMEOUT_INIT (1 s) for a SYN;
  tcp_retries2 = 15 gives 924.6 s. TCP_USER_TIMEOUT replaces the modelled time, and the last
  timer is shortened to end exactly then (``tcp_clamp_rto_to_user_timeout``);
* for a SYN also allows at most tcp_syn_retries + tcp_syn_linear_timeouts retransmissions
  (``tcp_write_timeout``), the first tcp_syn_linear_timeouts of them 1 s apart without backoff
  (``tcp_retransmit_timer``, Linux 6.5 and later): with tcp_syn_retries = 6, 11 SYNs at 0, 1, 2, 3,
  4, 5, 7, 11, 19, 35, 67 s and ETIMEDOUT at 131 s;
* has an RTO floor of 200 ms added to the smoothed RTT (``__tcp_set_rto``; tcp_rto_min_us), where
  RFC 6298 asks for 1 s;
* in SYN-SENT, answers an ACK that does not acknowledge its SYN (a challenge ACK from a peer with an
  old connection) with RST and sends the SYN again after TCP_TIMEOUT_MIN, 2 jiffies, not 1 s
  (net/ipv4/tcp_input.c ``tcp_rcv_synsent_state_process``);
* notes tcp_retries1 (3) passing, the point where it asks the routing layer for a new route
  (``__dst_negative_advice``): nothing changes on the wire.

ACK timing (net/ipv4/tcp_input.c ``__tcp_ack_snd_check``, ``tcp_event_data_recv``, ``tcp_fin``;
net/ipv4/tcp_output.c ``tcp_send_delayed_ack``; net/ipv4/tcp_timer.c ``tcp_delack_timer_handler``):
a connection starts in quick-ack mode, so the first data segments (up to TCP_MAX_QUICKACKS = 16)
are ACKed at once; a FIN puts it in pingpong (interactive) mode, where ACKs wait for the
delayed-ACK timer: ``ato``, TCP_ATO_MIN = 40 ms once data has arrived, 0 before any data (the timer
then fires at the next tick). So the ACK of a FIN goes out alone within a few milliseconds unless
the application closes at once and its FIN carries it (three segments). The pingpong mode that
Linux also enters when an application answers soon after receiving (``tcp_event_data_sent``) and
the ato that grows when a delayed ACK times out are not modelled.
"""
from __future__ import annotations

from typing import NamedTuple

from ._check import check_int_range, check_number

RTO_MAX = 120.0  # TCP_RTO_MAX (include/net/tcp.h); RFC 6298 (2.5) allows any maximum of at least 60 s
RTO_MIN = 0.2  # TCP_RTO_MIN, tcp_rto_min_us = 200000
ATO_MIN = 0.04  # TCP_ATO_MIN: the delayed-ACK timeout once data has arrived
TICK = 0.004  # one jiffy at HZ=250 (the reference kernel): a timer set for "now" fires at the next tick
MAX_QUICKACKS = 16  # TCP_MAX_QUICKACKS
TIMEOUT_MIN = 2 * TICK  # TCP_TIMEOUT_MIN, 2 jiffies: a SYN-SENT socket that got an ACK for something else
# sends its RST and then its SYN again this soon (observed: 10.7 ms, crash-reboot-reconnect)


def model_timeout(boundary: int, rto_base: float, rto_max: float = RTO_MAX) -> float:
    """Seconds that ``boundary`` retransmissions take when the RTO starts at ``rto_base`` and doubles
    up to ``rto_max`` (tcp_model_timeout, in milliseconds as the kernel counts them)."""
    boundary = check_int_range("boundary", boundary, 0)
    base = round(check_number("rto_base", rto_base, low=0.0, low_open=True) * 1000)
    top = round(check_number("rto_max", rto_max, low=rto_base) * 1000)
    thresh = (top // base).bit_length() - 1  # ilog2(TCP_RTO_MAX / rto_base)
    if boundary <= thresh:
        return ((2 << boundary) - 1) * base / 1000
    return (((2 << thresh) - 1) * base + (boundary - thresh) * top) / 1000


class LinuxTimers(NamedTuple):
    """The sysctls and the socket option behind Linux's give-up rules, with the 6.18 defaults.

    ``user_timeout`` is TCP_USER_TIMEOUT in seconds (0: off); ``rto_min`` tcp_rto_min_us in seconds.
    """

    syn_retries: int = 6
    syn_linear_timeouts: int = 4
    retries1: int = 3
    retries2: int = 15
    rto_min: float = RTO_MIN
    user_timeout: float = 0.0

    @classmethod
    def of(cls, value) -> "LinuxTimers | None":
        """None or False (the RFC's counted retries), True (Linux's defaults) or a LinuxTimers, checked."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if not isinstance(value, LinuxTimers):
            raise TypeError(f"linux_timers must be None, True or a LinuxTimers, got {type(value).__name__}")
        if value in _CHECKED:  # a Host makes one per connection: check each set of values once
            return value
        checked = cls(check_int_range("tcp_syn_retries", value.syn_retries, 1, 127),
                   check_int_range("tcp_syn_linear_timeouts", value.syn_linear_timeouts, 0, 255),
                   check_int_range("tcp_retries1", value.retries1, 0, 255),
                   check_int_range("tcp_retries2", value.retries2, 0, 255),
                   check_number("rto_min", value.rto_min, low=0.0, low_open=True, high=RTO_MAX),
                   check_number("user_timeout", value.user_timeout, low=0.0))
        _CHECKED.add(checked)
        return checked

    def budget(self, boundary: int, rto_base: float) -> float:
        """The time a retransmitting connection has, from its first retransmission (retransmits_timed_out)."""
        return self.user_timeout or model_timeout(boundary, rto_base)


_CHECKED: set = set()

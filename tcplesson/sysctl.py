"""The socket layer's settings, named like the Linux sysctls a student can look up with ``sysctl``.

RFC 9293 leaves listen queues, SYN cookies and port choice to the implementation; the Host model
makes the choices Linux makes, and these are Linux's knobs for them. The defaults are the values
read on the course's reference kernel (Linux 6.18, ``sysctl net.core net.ipv4``); older kernels
and many interview guides quote older ones (somaxconn 128 before 5.4, tcp_syn_retries 5).
"""
from __future__ import annotations

from types import MappingProxyType

from ._check import check_int_range

# name -> (Linux 6.18 default, lowest allowed, highest allowed, what it does)
_SETTINGS = {
    "somaxconn": (4096, 0, 2**31 - 1, "net.core.somaxconn: the largest listen() backlog"),
    "tcp_max_syn_backlog": (2048, 1, 2**31 - 1,
                            "half-open connections kept before SYNs from unproven peers are dropped "
                            "(only when tcp_syncookies is 0)"),
    "tcp_syncookies": (1, 0, 2, "1: SYN cookies when the SYN queue is full; 2: always; 0: never"),
    "tcp_abort_on_overflow": (0, 0, 1, "1: answer a handshake's last ACK with RST when the accept queue "
                                       "is full; 0: drop it"),
    "tcp_synack_retries": (5, 0, 255, "SYN,ACK retransmissions before a half-open connection is dropped"),
    "tcp_syn_retries": (6, 1, 127, "SYN retransmissions whose time (from 1 s, doubling) connect() has before "
                                   "it fails with ETIMEDOUT, after the tcp_syn_linear_timeouts ones"),
    "tcp_syn_linear_timeouts": (4, 0, 255, "SYN retransmissions 1 s apart, without backoff, before the "
                                           "tcp_syn_retries ones (Linux 6.5 and later)"),
    "tcp_retries1": (3, 0, 255, "retransmissions (counted as time, like tcp_retries2) after which Linux asks "
                                "for a new route; nothing changes on the wire"),
    "tcp_retries2": (15, 0, 255, "retransmissions of data or FIN whose time (from a 200 ms RTO, doubling to "
                                 "120 s: 924.6 s for 15) a connection has before it is given up"),
    "tcp_rto_min_us": (200000, 1, 120000000, "microseconds: the retransmission timeout's floor above the "
                                             "smoothed RTT (TCP_RTO_MIN)"),
    "tcp_challenge_ack_limit": (2**31 - 1, 0, 2**31 - 1, "challenge ACKs (RFC 5961) a host sends per second; "
                                                       "2147483647: no limit (Linux 6.0 and later)"),
    "tcp_fin_timeout": (60, 0, 2**31 - 1, "seconds a close()d socket waits in FIN-WAIT-2 for the peer's FIN "
                                         "(at least 3.5 RTOs); a shutdown() socket waits as long as it is open"),
    "tcp_orphan_retries": (0, 0, 255, "retransmissions of a close()d socket's FIN or data; 0 means 8"),
    "tcp_timestamps": (1, 0, 2, "1: offer RFC 7323 timestamps, with a random offset per address pair; "
                                "2: without the offset; 0: off"),
    "tcp_tw_reuse": (2, 0, 2, "connect() may take over a TIME-WAIT 4-tuple that used timestamps and is older "
                              "than tcp_tw_reuse_delay: 1 always, 2 on loopback only, 0 never"),
    "tcp_tw_reuse_delay": (1000, 1, 2**31 - 1, "milliseconds a TIME-WAIT must have lasted before tcp_tw_reuse "
                                              "takes it over"),
    "tcp_max_tw_buckets": (131072, 0, 2**31 - 1, "TIME-WAIT (and orphaned FIN-WAIT-2) sockets kept at most; "
                                                 "past it a closing connection keeps none"),
    "tcp_rfc1337": (0, 0, 1, "1: an RST does not end TIME-WAIT (RFC 1337); 0: it does"),
    "tcp_keepalive_time": (7200, 1, 32767, "seconds a SO_KEEPALIVE connection may be idle before the first probe"),
    "tcp_keepalive_intvl": (75, 1, 32767, "seconds between keep-alive probes"),
    "tcp_keepalive_probes": (9, 1, 127, "unanswered keep-alive probes before the connection is reset (timed out)"),
    "ip_local_port_range_low": (32768, 1, 65535, "lowest ephemeral port (net.ipv4.ip_local_port_range)"),
    "ip_local_port_range_high": (60999, 1, 65535, "highest ephemeral port (net.ipv4.ip_local_port_range)"),
}

LINUX_DEFAULTS = MappingProxyType({name: spec[0] for name, spec in _SETTINGS.items()})
DESCRIPTIONS = MappingProxyType({name: spec[3] for name, spec in _SETTINGS.items()})


class Sysctls:
    """A host's settings: Linux's defaults, with any of them overridden by name.

        Sysctls(tcp_syncookies=0, somaxconn=128)

    An unknown name or a value out of range raises an error that names it and what is allowed.
    ``ip_local_port_range`` may be given as a (low, high) pair, as ``sysctl`` shows it.
    """

    __slots__ = tuple(_SETTINGS)

    def __init__(self, **overrides) -> None:
        if "ip_local_port_range" in overrides:
            pair = overrides.pop("ip_local_port_range")
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise TypeError(f"ip_local_port_range must be a (low, high) pair, got {pair!r}")
            overrides["ip_local_port_range_low"], overrides["ip_local_port_range_high"] = pair
        unknown = sorted(set(overrides) - set(_SETTINGS))
        if unknown:
            raise ValueError(f"unknown sysctl {unknown[0]!r}; known: ip_local_port_range, "
                             f"{', '.join(n for n in _SETTINGS if not n.startswith('ip_local'))}")
        for name, (default, low, high, _) in _SETTINGS.items():
            setattr(self, name, check_int_range(name, overrides.get(name, default), low, high))
        if self.ip_local_port_range_low > self.ip_local_port_range_high:
            raise ValueError(f"ip_local_port_range must have low <= high, got "
                             f"{self.ip_local_port_range_low} {self.ip_local_port_range_high}")

    @classmethod
    def of(cls, value) -> "Sysctls":
        """A Sysctls from None (the defaults), a dict of overrides, or a Sysctls."""
        if value is None:
            return cls()
        if isinstance(value, Sysctls):
            return value
        if isinstance(value, dict):
            return cls(**value)
        raise TypeError(f"sysctls must be a dict of sysctl names, got {type(value).__name__}")

    @property
    def ip_local_port_range(self) -> tuple[int, int]:
        return self.ip_local_port_range_low, self.ip_local_port_range_high

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in _SETTINGS}

    def __repr__(self) -> str:
        changed = {n: v for n, v in self.as_dict().items() if v != LINUX_DEFAULTS[n]}
        return f"Sysctls({', '.join(f'{n}={v}' for n, v in changed.items())})"

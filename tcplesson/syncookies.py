"""SYN cookies: a SYN,ACK whose ISN encodes the connection, so a listener can answer without keeping state.

The layout is Linux's (net/ipv4/syncookies.c, ``secure_tcp_syn_cookie`` and
``check_tcp_syn_cookie``)::

    ISN = hash(4-tuple) + client ISN + (minute << 24) + ((hash(4-tuple, minute) + MSS index) mod 2**24)

When the client's ACK comes back, ``ack - 1`` is the cookie and ``seq - 1`` the client's ISN:
peeling the layers off gives the minute (at most MAX_AGE minutes old) and the MSS index (one of
four values). A cookie that does not decode was never sent by this host. Linux hashes with
SipHash and a boot-time secret; here a keyed BLAKE2 hash with a secret drawn from the run's seed
plays that part (the arithmetic around it is the kernel's).
"""
from __future__ import annotations

import hashlib
import struct

from .segment import SEQ_MOD

COOKIE_BITS = 24
COOKIE_MASK = (1 << COOKIE_BITS) - 1
MAX_AGE = 2  # minutes (MAX_SYNCOOKIE_AGE)
MSS_TABLE = (536, 1300, 1440, 1460)  # msstab in syncookies.c: the MSS values a cookie can carry


def _hash(secret: bytes, four_tuple: tuple, count: int, which: int) -> int:
    client_addr, client_port, server_addr, server_port = four_tuple
    data = f"{client_addr} {server_addr}".encode() + struct.pack("!HHII", client_port, server_port,
                                                                  count & 0xFFFFFFFF, which)
    return int.from_bytes(hashlib.blake2b(data, digest_size=4, key=secret).digest(), "big")


def minute(now: float) -> int:
    """tcp_cookie_time(): the cookie's clock counts minutes."""
    return int(now // 60)


def mss_index(mss: int) -> int:
    """The largest table entry not above the client's MSS (cookie_v4_init_sequence)."""
    return max((i for i, value in enumerate(MSS_TABLE) if value <= mss), default=0)


def make(secret: bytes, four_tuple: tuple, client_isn: int, now: float, mss: int) -> int:
    """The ISN of a cookie SYN,ACK for a SYN from ``four_tuple`` (client addr, port, server addr, port)."""
    count = minute(now)
    return (_hash(secret, four_tuple, 0, 0) + client_isn + (count << COOKIE_BITS)
            + ((_hash(secret, four_tuple, count, 1) + mss_index(mss)) & COOKIE_MASK)) % SEQ_MOD


def check(secret: bytes, four_tuple: tuple, ack: int, seq: int, now: float) -> int | None:
    """The MSS a returning ACK's cookie carries, or None when it is not a valid cookie of ours."""
    cookie = (ack - 1 - _hash(secret, four_tuple, 0, 0) - (seq - 1)) % SEQ_MOD
    count = minute(now)
    age = (count - (cookie >> COOKIE_BITS)) & (0xFFFFFFFF >> COOKIE_BITS)
    if age >= MAX_AGE:
        return None
    index = (cookie - _hash(secret, four_tuple, count - age, 1)) & COOKIE_MASK
    return MSS_TABLE[index] if index < len(MSS_TABLE) else None

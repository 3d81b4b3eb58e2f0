"""TCP segments: header flags, sequence-number arithmetic and the immutable Segment.

Sequence numbers live in a 32-bit circle (RFC 9293 section 3.4), so every comparison here is
made modulo 2**32: a connection that starts at 2**32 - 1 works exactly like one that starts at 0.
"""
from __future__ import annotations

from enum import IntFlag
from typing import NamedTuple

from ._check import check_bytes, check_int_range

SEQ_MOD = 2**32
MAX_WINDOW = 2**16 - 1


class Flags(IntFlag):
    """The eight control bits of the TCP header, with their real bit values."""

    FIN = 0x01
    SYN = 0x02
    RST = 0x04
    PSH = 0x08
    ACK = 0x10
    URG = 0x20
    ECE = 0x40
    CWR = 0x80


# The order in which flags are written, as tcpdump and most textbooks list them: "SYN,ACK", "FIN,ACK".
_FLAG_ORDER = (Flags.SYN, Flags.FIN, Flags.RST, Flags.PSH, Flags.ACK, Flags.URG, Flags.ECE, Flags.CWR)


def flag_names(flags: int) -> str:
    """'SYN,ACK' for SYN|ACK; 'none' when no bit is set."""
    names = [f.name for f in _FLAG_ORDER if flags & f]
    return ",".join(names) if names else "none"


def seq_add(a: int, n: int) -> int:
    """a + n on the sequence circle."""
    return (a + n) % SEQ_MOD


def seq_diff(a: int, b: int) -> int:
    """How far a is ahead of b on the circle, as a signed number in [-2**31, 2**31)."""
    return (a - b + 2**31) % SEQ_MOD - 2**31


def seq_lt(a: int, b: int) -> bool:
    return seq_diff(a, b) < 0


def seq_le(a: int, b: int) -> bool:
    return seq_diff(a, b) <= 0


def seq_in(low: int, x: int, high: int) -> bool:
    """low <= x < high on the circle (the window tests of RFC 9293 section 3.10.7.4)."""
    return 0 <= seq_diff(x, low) < seq_diff(high, low) if seq_diff(high, low) > 0 else False


class _SegmentFields(NamedTuple):
    flags: Flags
    seq: int
    ack: int
    window: int
    payload: bytes
    ts: tuple[int, int] | None = None  # the Timestamps option (RFC 7323): (TSval, TSecr), or none


class Segment(_SegmentFields):
    """One TCP segment as the course needs it: control bits, numbers, window and payload.

    Immutable and hashable. ``ack`` is kept even when the ACK bit is off (it is then meaningless,
    as on the wire); ``str()`` shows it only when the ACK bit is set. ``ts`` is the one TCP option
    the model carries, RFC 7323's Timestamps (TSval, TSecr); ``str()`` leaves it out, ``label(ts=True)``
    shows it.
    """

    __slots__ = ()

    def __new__(cls, flags: int, seq: int = 0, ack: int = 0, window: int = MAX_WINDOW,
                payload: bytes = b"", ts: tuple[int, int] | None = None) -> "Segment":
        check_int_range("flags", flags, 0, 0xFF)
        check_int_range("seq", seq, 0, SEQ_MOD - 1)
        check_int_range("ack", ack, 0, SEQ_MOD - 1)
        check_int_range("window", window, 0, MAX_WINDOW)
        payload = check_bytes("payload", payload)
        if ts is not None:
            if not (isinstance(ts, tuple) and len(ts) == 2):
                raise TypeError(f"ts must be a (TSval, TSecr) pair or None, got {ts!r}")
            ts = (check_int_range("TSval", ts[0], 0, SEQ_MOD - 1), check_int_range("TSecr", ts[1], 0, SEQ_MOD - 1))
        return tuple.__new__(cls, (Flags(flags), seq, ack, window, payload, ts))

    @classmethod
    def unchecked(cls, flags: Flags, seq: int, ack: int, window: int, payload: bytes,
                  ts: tuple[int, int] | None = None) -> "Segment":
        """Build without checking the fields: for the model's own hot paths, whose numbers are in range by
        construction (a segment from outside goes through Segment(...), which checks them)."""
        return tuple.__new__(cls, (flags, seq, ack, window, payload, ts))

    @property
    def seq_len(self) -> int:
        """SEG.LEN: payload bytes, plus one for SYN and one for FIN (RFC 9293 section 3.4)."""
        f = int(self.flags)  # plain int arithmetic: IntFlag operators are slow in a hot path
        return len(self.payload) + (f >> 1 & 1) + (f & 1)

    @property
    def end_seq(self) -> int:
        """The sequence number just after this segment: what the receiver will acknowledge."""
        return seq_add(self.seq, self.seq_len)

    def has(self, flag: Flags) -> bool:
        return bool(self.flags & flag)

    def label(self, *, seq_base: int = 0, ack_base: int = 0, ts: bool = False) -> str:
        """'SYN,ACK seq=300 ack=101', optionally with numbers relative to the given bases and, with
        ``ts``, the Timestamps option as tcpdump writes it ('TS val 5000 ecr 4000')."""
        text = f"{flag_names(self.flags)} seq={(self.seq - seq_base) % SEQ_MOD}"
        if self.flags & Flags.ACK:
            text += f" ack={(self.ack - ack_base) % SEQ_MOD}"
        if self.payload:
            text += f" len={len(self.payload)}"
        if ts and self.ts is not None:
            text += f" TS val {self.ts[0]} ecr {self.ts[1]}"
        return text

    def __str__(self) -> str:
        return self.label()

    def __repr__(self) -> str:
        return f"Segment({self.label()})"


class Packet(NamedTuple):
    """A segment with the addresses and ports that carry it (the IP header's and the TCP header's)."""

    src: str
    sport: int
    dst: str
    dport: int
    segment: Segment

    def __str__(self) -> str:
        return f"{self.src}:{self.sport} > {self.dst}:{self.dport} {self.segment}"

"""The eleven connection states of RFC 9293 section 3.3.2."""
from __future__ import annotations

from enum import Enum


class State(Enum):
    """A TCP connection state; the value is the RFC's spelling (``SYN-SENT``)."""

    CLOSED = "CLOSED"
    LISTEN = "LISTEN"
    SYN_SENT = "SYN-SENT"
    SYN_RECEIVED = "SYN-RECEIVED"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_1 = "FIN-WAIT-1"
    FIN_WAIT_2 = "FIN-WAIT-2"
    CLOSE_WAIT = "CLOSE-WAIT"
    CLOSING = "CLOSING"
    LAST_ACK = "LAST-ACK"
    TIME_WAIT = "TIME-WAIT"

    # Members are singletons compared by identity, so identity hashing is exact, and it is done in C
    # (Enum's own __hash__ is Python code, and states are dictionary keys in every step).
    __hash__ = object.__hash__

    def __str__(self) -> str:
        return self.value

    @property
    def synchronized(self) -> bool:
        """ESTABLISHED and every state after it (RFC 9293 section 3.5 calls the rest non-synchronized)."""
        return self not in _NOT_SYNCHRONIZED


# Built once: the property is asked per segment, and each State.X costs an Enum class lookup.
_NOT_SYNCHRONIZED = frozenset((State.CLOSED, State.LISTEN, State.SYN_SENT, State.SYN_RECEIVED))

"""What an Endpoint reports about itself, one small record per happening.

The Endpoint appends these to its ``log``; the simulator turns them into a Trace. They are plain
immutable data so that a notebook can print them and a test can compare them.
"""
from __future__ import annotations

from typing import NamedTuple

from .segment import Segment
from .states import State


class StateChange(NamedTuple):
    time: float
    state: State
    event: str  # the table event that caused it


class Sent(NamedTuple):
    time: float
    segment: Segment
    retransmission: bool


class Dropped(NamedTuple):
    time: float
    segment: Segment
    reason: str


class TimerFired(NamedTuple):
    time: float
    timer: str  # "rto", "give_up", "time_wait_expired", "delayed_ack"


class Outcome(NamedTuple):
    time: float
    outcome: str  # "refused", "reset", "timed out"


class Delivered(NamedTuple):
    time: float
    data: bytes


class QueueLengths(NamedTuple):
    """A listener's two queues after a change: half-open requests and connections waiting for accept()."""

    time: float
    port: int
    syn: int
    accept: int
    listening: bool = True  # False: the listener was closed (its last record)


class HostEvent(NamedTuple):
    """Something the socket layer did that no single connection did: a cookie, an overflow, a reset."""

    time: float
    kind: str  # see host.HOST_EVENTS
    detail: str

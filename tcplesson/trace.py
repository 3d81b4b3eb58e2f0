"""The Trace: everything that happened in one simulated connection, as plain data.

Figures, tables, pcap export and exercise checks all read a Trace; none of them simulates again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from .segment import Segment
from .states import State

SIDES = ("client", "server")


class Transmission(NamedTuple):
    """One segment put on the link. ``index`` is 1-based: the number ``drop`` refers to."""

    index: int
    sender: str
    segment: Segment
    sent_at: float
    arrived_at: float | None  # None when lost
    lost: bool
    retransmission: bool
    stale: bool = False  # an old duplicate from an earlier connection, not sent by this endpoint

    @property
    def receiver(self) -> str:
        return "server" if self.sender == "client" else "client"


class Transition(NamedTuple):
    """A state change of one endpoint, with the table event that caused it."""

    time: float
    old: State
    event: str
    new: State


class Happening(NamedTuple):
    """Anything else worth showing: a timer, a dropped segment, an outcome, delivered data, an error."""

    time: float
    who: str
    kind: str  # "timer", "dropped", "outcome", "delivered", "call error", "call"
    detail: str


@dataclass
class Trace:
    scenario: str
    params: dict
    transmissions: list[Transmission] = field(default_factory=list)
    states: dict[str, list[tuple[float, State]]] = field(default_factory=dict)
    transitions: dict[str, list[Transition]] = field(default_factory=dict)
    outcomes: dict[str, str | None] = field(default_factory=dict)
    happenings: list[Happening] = field(default_factory=list)
    delivered: dict[str, bytes] = field(default_factory=dict)
    end_time: float = 0.0
    truncated: bool = False  # the simulation hit its safety limit (it never should)

    @property
    def final_states(self) -> dict[str, State]:
        return {who: self.states[who][-1][1] for who in SIDES}

    def path(self, who: str) -> list[State]:
        """The states one side went through, in order, starting with the initial one."""
        return [state for _, state in self.states[_side(who)]]

    def state_at(self, who: str, time: float) -> State:
        """The state of one side at a given time (after everything that happened at that time)."""
        current = self.states[_side(who)][0][1]
        for t, state in self.states[who]:
            if t > time:
                break
            current = state
        return current

    def rows(self) -> list[dict]:
        """One dict per transmission, for a table (pandas.DataFrame(trace.rows()) works too)."""
        return [{
            "#": tx.index,
            "sent": round(tx.sent_at, 6),
            "arrived": None if tx.lost else round(tx.arrived_at, 6),
            "from": tx.sender,
            "to": tx.receiver,
            "segment": str(tx.segment),
            "note": _note(tx),
        } for tx in self.transmissions]

    def table(self) -> str:
        """A plain-text table of the segments, then both sides' states: readable anywhere."""
        lines = [f"{'#':>3}  {'sent':>8}  {'arrives':>8}  {'direction':<17} {'segment':<34} note"]
        for tx in self.transmissions:
            arrives = "lost" if tx.lost else f"{tx.arrived_at:8.3f}"
            direction = f"{tx.sender} -> {tx.receiver}"
            lines.append(f"{tx.index:>3}  {tx.sent_at:8.3f}  {arrives:>8}  {direction:<17} "
                         f"{str(tx.segment):<34} {_note(tx)}".rstrip())
        for who in SIDES:
            path = " -> ".join(f"{state} ({t:.3f})" for t, state in self.states[who])
            outcome = self.outcomes[who]
            lines.append(f"{who}: {path}" + (f"  [{outcome}]" if outcome else ""))
        return "\n".join(lines)

    def __repr__(self) -> str:
        final = ", ".join(f"{who} {state}" for who, state in self.final_states.items())
        return f"<Trace {self.scenario}: {len(self.transmissions)} transmissions, ends {final}>"


def _note(tx: Transmission) -> str:
    notes = []
    if tx.retransmission:
        notes.append("retransmission")
    if tx.stale:
        notes.append("old duplicate")
    return ", ".join(notes)


def _side(who: str) -> str:
    if who not in SIDES:
        raise ValueError(f"who must be 'client' or 'server', got {who!r}")
    return who

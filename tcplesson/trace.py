"""The Trace: everything that happened in one simulated connection, as plain data.

Figures, tables, pcap export and exercise checks all read a Trace; none of them simulates again.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import NamedTuple

from . import labels, records
from .segment import Flags, Segment
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
    to: str | None = None  # in a run of many hosts: the receiving host (``sender`` is a host name)
    conn: tuple | None = None  # in a run of many hosts: the connection's 4-tuple

    @property
    def receiver(self) -> str:
        if self.to is not None:
            return self.to
        return "server" if self.sender == "client" else "client"


class Change(NamedTuple):
    """A state change of one endpoint, with the table event that caused it."""

    time: float
    old: State
    event: str
    new: State


class Happening(NamedTuple):
    """Anything else worth showing: a timer, a dropped segment, an outcome, delivered data, an error."""

    time: float
    who: str
    kind: str  # "timer", "dropped", "dropped by host", "outcome", "delivered", "call error", "call"
    detail: str


@dataclass
class Trace:
    scenario: str
    params: dict
    transmissions: list[Transmission] = field(default_factory=list)
    states: dict[str, list[tuple[float, State]]] = field(default_factory=dict)
    transitions: dict[str, list[Change]] = field(default_factory=dict)
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

    def first_time(self, who: str, state: State) -> float | None:
        """When one side first entered a state, or None if it never did."""
        return next((t for t, s in self.states[_side(who)] if s is state), None)

    def time_wait(self, who: str) -> tuple[float, float] | None:
        """(start, end) of one side's last TIME-WAIT, or None; end is when it left TIME-WAIT."""
        spans = _spans(self.states[_side(who)], self.end_time)
        return next(((a, b) for s, a, b in reversed(spans) if s is State.TIME_WAIT), None)

    def isn_bases(self) -> dict[str, int]:
        """Each side's first SYN seq in the run (what Wireshark counts relative numbers from), else its ISN."""
        bases = {who: self.params.get(f"{who}_isn", 0) or 0 for who in SIDES}
        seen = set()
        for tx in self.transmissions:
            if tx.sender not in seen and tx.segment.flags & Flags.SYN:
                bases[tx.sender] = tx.segment.seq
                seen.add(tx.sender)
        return bases

    def typical_delay(self) -> float:
        """The one-way delay a segment of this run typically took (the median of those that arrived), in seconds.

        Figures scale time by it. With nothing to go by (every segment lost, or a capture that sees
        each segment at one place) it is the link's delay, else the smallest gap between two
        sends, so that it is never 0.
        """
        delays = sorted(tx.arrived_at - tx.sent_at for tx in self.transmissions if not tx.lost)
        if delays and delays[len(delays) // 2] > 0:
            return max(delays[len(delays) // 2], 1e-6)
        if float(self.params.get("delay") or 0) > 0:
            return float(self.params["delay"])
        times = sorted({round(tx.sent_at, 9) for tx in self.transmissions})
        gaps = [b - a for a, b in zip(times, times[1:])]
        if gaps:
            return max(min(gaps), 1e-6)
        return max(float(self.params.get("delay") or 0.05), 1e-3)

    def summary(self, lang: str | None = None) -> str:
        """One line saying what happened, e.g. for under a figure (in tl.set_language()'s language)."""
        t = lambda key, **fields: labels.text(key, lang, **fields)  # noqa: E731
        parts = []
        opened = {who: self.first_time(who, State.ESTABLISHED) for who in SIDES}
        reached = [who for who in SIDES if opened[who] is not None]
        if len(reached) == 2:
            parts.append(t("summary.open", time=f"{max(opened.values()):.2f}"))
        elif reached:
            parts.append(t("summary.only", who=t(reached[0])))
        else:
            parts.append(t("summary.none"))
        lost = sum(tx.lost for tx in self.transmissions)
        again = sum(tx.retransmission for tx in self.transmissions)
        parts.append(t("summary.counts", n=len(self.transmissions), lost=lost, again=again))
        for who in SIDES:
            span = self.time_wait(who)
            if span:
                parts.append(t("summary.time_wait", who=t(who), start=f"{span[0]:.2f}", end=f"{span[1]:.2f}"))
        for who in SIDES:
            if self.outcomes[who]:
                parts.append(t("summary.outcome", who=t(who), outcome=t(f"outcome.{self.outcomes[who]}")))
        ends = t("list_sep").join(t("summary.side_state", who=t(who), state=self.final_states[who])
                                  for who in SIDES)
        parts.append(t("summary.ends", states=ends))
        return t("summary.sep").join(parts)

    def segment_notes(self, lang: str | None = None, *, brief: bool = False) -> dict[int, list[str]]:
        """What the table and the ladder say beside a segment, by transmission number: a retransmission,
        an old duplicate, a segment the receiving host discarded at a full listen queue (``brief``:
        without the reason, for a figure with little room)."""
        drops = {}
        for h in self.happenings:
            if h.kind == "dropped by host":  # detail: "SEGMENT: the host event's kind"
                segment, _, why = h.detail.partition(": ")
                drops[(h.who, round(h.time, 9), segment)] = why
        notes = {}
        for tx in self.transmissions:
            said = []
            if tx.retransmission:
                said.append(labels.text("retransmission", lang))
            if tx.stale:
                said.append(labels.text("old duplicate", lang))
            if drops and tx.arrived_at is not None:
                why = drops.get((tx.receiver, round(tx.arrived_at, 9), str(tx.segment)))
                if why is not None:
                    said.append(labels.text("host drop brief", lang) if brief else
                                labels.text("host drop", lang, why=labels.text("queue_full." + why, lang)))
            if said:
                notes[tx.index] = said
        return notes

    def rows(self) -> list[dict]:
        """One dict per transmission, for a table (pandas.DataFrame(trace.rows()) works too).
        Keys and values are data (English), whatever the language."""
        notes = self.segment_notes("en")
        return [{
            "#": tx.index,
            "sent": round(tx.sent_at, 6),
            "arrived": None if tx.lost else round(tx.arrived_at, 6),
            "from": tx.sender,
            "to": tx.receiver,
            "segment": str(tx.segment),
            "note": ", ".join(notes.get(tx.index, [])),
        } for tx in self.transmissions]

    def table(self, lang: str | None = None) -> str:
        """A plain-text table of the segments, then both sides' states: readable anywhere.
        Columns line up in a monospaced font in every language (a CJK character is two columns)."""
        t = lambda key, **fields: labels.text(key, lang, **fields)  # noqa: E731
        lines = [f"{'#':>3}  {pad(t('table.sent'), 8, '>')}  {pad(t('table.arrives'), 8, '>')}  "
                 f"{pad(t('table.direction'), 17)} {pad(t('table.segment'), 34)} {t('table.note')}"]
        notes, sep = self.segment_notes(lang), t("list_sep")
        for tx in self.transmissions:
            arrives = t("lost") if tx.lost else f"{tx.arrived_at:8.3f}"
            direction = t("table.arrow", sender=t(tx.sender), receiver=t(tx.receiver))
            lines.append(f"{tx.index:>3}  {tx.sent_at:8.3f}  {pad(arrives, 8, '>')}  {pad(direction, 17)} "
                         f"{str(tx.segment):<34} {sep.join(notes.get(tx.index, []))}".rstrip())
        for who in SIDES:
            path = " -> ".join(f"{state} ({t_:.3f})" for t_, state in self.states[who])
            outcome = self.outcomes[who]
            lines.append(t("table.path", who=t(who), path=path) + (f"  [{t('outcome.' + outcome)}]" if outcome else ""))
        return "\n".join(lines)

    def record(self, who: str, rec) -> None:
        """Take one record an Endpoint logged (records.py) for side ``who``: the one way into a Trace.

        Whatever drives Endpoints (the simulator, a capture replay) hands their records here; what
        was *sent* is the driver's business (the link decides its fate), so ``records.Sent`` is not
        taken here.
        """
        kind = type(rec)
        if kind is records.StateChange:
            states = self.states[who]
            self.transitions[who].append(Change(rec.time, states[-1][1], rec.event, rec.state))
            states.append((rec.time, rec.state))
        elif kind is records.Outcome:
            self.outcomes[who] = rec.outcome
            self.happenings.append(Happening(rec.time, who, "outcome", rec.outcome))
        elif kind is records.Delivered:
            self.delivered[who] = self.delivered.get(who, b"") + rec.data
            self.happenings.append(Happening(rec.time, who, "delivered", f"{len(rec.data)} bytes"))
        elif kind is records.TimerFired:
            self.happenings.append(Happening(rec.time, who, "timer", rec.timer))
        elif kind is records.Dropped:
            self.happenings.append(Happening(rec.time, who, "dropped", f"{rec.segment}: {rec.reason}"))
        else:
            raise TypeError(f"a Trace records StateChange, Outcome, Delivered, TimerFired or Dropped, "
                            f"not {kind.__name__}")

    def __repr__(self) -> str:
        final = ", ".join(f"{who} {state}" for who, state in self.final_states.items())
        return f"<Trace {self.scenario}: {len(self.transmissions)} transmissions, ends {final}>"


def _spans(states: list[tuple[float, State]], end: float) -> list[tuple[State, float, float]]:
    """(state, start, end) for each stay in a state; the last one ends at ``end``."""
    ends = [t for t, _ in states[1:]] + [max(end, states[-1][0])]
    return [(s, t, e) for (t, s), e in zip(states, ends)]


def columns(text: str) -> int:
    """How many terminal columns ``text`` takes: a wide (CJK) character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int, align: str = "<") -> str:
    """``text`` padded to ``width`` terminal columns (see columns())."""
    fill = " " * max(0, width - columns(text))
    return fill + text if align == ">" else text + fill


def _side(who: str) -> str:
    if who not in SIDES:
        raise ValueError(f"who must be 'client' or 'server', got {who!r}")
    return who

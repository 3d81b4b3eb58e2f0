"""A map of every what-if: a scenario run with each segment of its lossless run lost, and each pair.

    m = tl.what_if_map("lifecycle", client_isn=100, server_isn=300)
    print(m.table()); m.cell(2, 4).verdict; tl.plot_what_if(m)

"What if the 2nd and the 4th are both lost?" means the 2nd and 4th segments of the lossless run.
After a loss the run's own numbering moves (a retransmission is a transmission too), so each cell
loses, in its run, the first copy of those segments: the earlier one keeps its number (nothing
before the first loss changes), the later one is found again by sender and segment in the run
that lost the earlier one. Each run gets one verdict (VERDICTS, in order of precedence) and the
first transition-table row at which it left the lossless run.
"""
from __future__ import annotations

from typing import NamedTuple

from ._check import check_int_range
from .scenarios import resolve
from .simulator import simulate
from .trace import SIDES, Trace

# Worst first: a run gets the first verdict that applies.
VERDICTS = ("data", "reset", "timed_out", "half_open", "ghost", "later", "clean", "not_sent")
SHORT = {"data": "D", "reset": "R", "timed_out": "T", "half_open": "H", "ghost": "G", "later": "+",
         "clean": "=", "not_sent": "–"}  # the letter in a cell: the map reads without colour


class Cell(NamedTuple):
    """One run of the map: which lossless segments it lost, its verdict, where it departed, the run."""

    lost: tuple  # 1-based numbers in the lossless run
    verdict: str
    departs: tuple | None  # (side, state, event) of the first row unlike the lossless run's, or None
    trace: Trace | None  # None when a segment to lose was never sent (verdict "not_sent")


def verdict(run: Trace, base: Trace) -> str:
    """The worst thing that happened in ``run`` that did not happen in the lossless ``base``."""
    if run.delivered != base.delivered:
        return "data"  # lost or delivered twice
    outcomes = set(run.outcomes.values()) - set(base.outcomes.values())
    if "reset" in outcomes:
        return "reset"
    if "timed out" in outcomes:
        return "timed_out"
    ends = {who: run.states[who][-1][1] for who in SIDES}
    if ends != {who: base.states[who][-1][1] for who in SIDES}:
        if any(s.synchronized for s in ends.values()) and any(not s.synchronized for s in ends.values()):
            # one side still thinks the connection is open: half-open if the other had it and lost
            # it, a ghost if the other never had it
            alone = [who for who in SIDES if not ends[who].synchronized][0]
            had = any(s.synchronized for _, s in run.states[alone])
            return "half_open" if had else "ghost"
    if run.end_time > base.end_time + 1e-9:
        return "later"
    return "clean"


def _steps(trace: Trace, who: str) -> list[tuple]:
    """What ``who`` did, in order: (time, state, event) for every transition and every timer that fired."""
    steps = [(c.time, c.old, c.event) for c in trace.transitions[who]]
    steps += [(h.time, trace.state_at(who, h.time), h.detail) for h in trace.happenings
              if h.kind == "timer" and h.who == who]
    return sorted(steps, key=lambda step: step[0])


def departure(run: Trace, base: Trace) -> tuple | None:
    """The first (side, state, event), by time, that ``run`` has and ``base`` has not at that moment:
    the transition-table row at which the run leaves the lossless one (a timer, or a segment that
    arrives when it did not)."""
    first = None
    for who in SIDES:
        ours, theirs = _steps(run, who), _steps(base, who)
        for k, (time, state, event) in enumerate(ours):
            other = theirs[k] if k < len(theirs) else None
            if other is None or (state, event) != other[1:] or abs(time - other[0]) > 1e-9:
                if first is None or time < first[0]:
                    first = (time, who, state, event)
                break
    return None if first is None else first[1:]


def _first_copy(run: Trace, tx, after: int) -> int | None:
    """The number, in ``run``, of the first transmission after number ``after`` of the lossless run's ``tx``."""
    for other in run.transmissions[after:]:
        if other.sender == tx.sender and other.segment == tx.segment:
            return other.index
    return None


class WhatIfMap:
    """Every single loss (the diagonal) and every pair of losses of a scenario, each with its verdict."""

    def __init__(self, name: str, base: Trace, cells: dict) -> None:
        self.name, self.base, self.cells = name, base, cells

    @property
    def size(self) -> int:
        return len(self.base.transmissions)

    def cell(self, i: int, j: int | None = None) -> Cell:
        """Lose the lossless run's segment ``i`` (and ``j``); the order does not matter."""
        key = tuple(sorted({i} if j is None else {i, j}))
        if key not in self.cells:
            raise KeyError(f"no run loses {key}: segments are numbered 1 to {self.size}"
                           + ("" if len(key) == 1 or self.depth == 2 else "; this map has single losses only"))
        return self.cells[key]

    @property
    def depth(self) -> int:
        return max(len(k) for k in self.cells)

    def counts(self) -> dict:
        """How many runs got each verdict."""
        out = dict.fromkeys(VERDICTS, 0)
        for c in self.cells.values():
            out[c.verdict] += 1
        return {k: v for k, v in out.items() if v}

    def table(self, lang: str | None = None) -> str:
        """The matrix as text: row i, column j = lose i and j; the diagonal = lose i alone."""
        from . import labels
        n = self.size
        lines = ["     " + "".join(f"{j:>3}" for j in range(1, n + 1))]
        for i in range(1, n + 1):
            row = "".join(f"{SHORT[self.cells[tuple(sorted({i, j}))].verdict]:>3}"
                          if tuple(sorted({i, j})) in self.cells else "   " for j in range(1, n + 1))
            lines.append(f"{i:>3}  {row}")
        lines.append("")
        lines += [f"  {SHORT[v]}  {labels.text('whatif.' + v, lang)}" for v in VERDICTS]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<WhatIfMap {self.name}: {self.size} segments, {len(self.cells)} runs, {self.counts()}>"


def what_if_map(scenario="lifecycle", *, depth: int = 2, **settings) -> WhatIfMap:
    """Run ``scenario`` losing each segment of its lossless run alone (``depth=1``) and each pair
    too (``depth=2``); ``settings`` go to tl.simulate (not ``loss`` or ``drop``: the map chooses
    what is lost)."""
    depth = check_int_range("depth", depth, 1, 2)
    for name in ("loss", "drop"):
        if name in settings:
            raise ValueError(f"what_if_map chooses the losses itself; leave out {name}=")
    plan = resolve(scenario)
    base = simulate(plan, **settings)
    if len(base.transmissions) > 60:
        raise ValueError(f"{plan.name} sends {len(base.transmissions)} segments; a what-if map takes at most 60 "
                         f"(that is already 1830 runs)")
    txs = base.transmissions
    cells = {}
    singles = {}
    for i, tx in enumerate(txs, 1):
        run = simulate(plan, drop=[tx.index], **settings)
        singles[i] = run
        cells[(i,)] = Cell((i,), verdict(run, base), departure(run, base), run)
    if depth == 2:
        for i in range(1, len(txs) + 1):
            for j in range(i + 1, len(txs) + 1):
                second = _first_copy(singles[i], txs[j - 1], i)
                if second is None:
                    cells[(i, j)] = Cell((i, j), "not_sent", None, None)
                    continue
                run = simulate(plan, drop=[txs[i - 1].index, second], **settings)
                cells[(i, j)] = Cell((i, j), verdict(run, base), departure(run, base), run)
    return WhatIfMap(plan.name, base, cells)



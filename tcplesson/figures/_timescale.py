"""A time axis with the long quiet stretches cut out, shared by the ladder and the timeline.

A connection's life has two time scales: segments cross in tens of milliseconds, TIME-WAIT lasts
240 s. Drawn on one true scale the handshake would be a smear at the top. So time keeps its true
scale inside busy stretches, and a quiet stretch (nothing in flight, no state change, no timer)
is replaced by a short cut of fixed length, marked in the figure with a zig-zag and "... 238 s
later ...". Cuts are made only as needed for the rest to fit at a readable scale, the longest
first; quiet stretches inside a retransmission wait are cut last, because seeing the RTO wait is
the lesson there.

Segments sent at the same instant by one side (a burst) get one label row each: the scale inserts
that much room after the instant, so that the k-th segment of a burst can be drawn k rows lower
and still arrive before anything later happens.

Ticks sit exactly at the times something happens (``event_ticks``), never at round times that
nothing marks: on an axis with cuts and bursts, a round tick between two events says nothing true.

All lengths here are in points (1/72 inch) along the time direction.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

_EPS = 1e-9


@dataclass
class Cut:
    start: float  # first hidden instant
    end: float  # last hidden instant
    pos: float  # where the cut begins, in points
    length: float  # its length in points

    @property
    def hidden(self) -> float:
        return self.end - self.start

    @property
    def middle(self) -> float:
        return self.pos + self.length / 2


@dataclass
class TimeScale:
    """Maps a time in seconds to a position in points (0 at time ``t0``), cuts included."""

    t0: float
    t1: float
    scale: float  # points per second where time is not cut
    cuts: list[Cut] = field(default_factory=list)
    bursts: list[tuple[float, float]] = field(default_factory=list)  # (time, extra points after it)

    def __post_init__(self) -> None:
        self._burst_times = [t for t, _ in self.bursts]
        self._burst_cum = []
        total = 0.0
        for _, extra in self.bursts:
            total += extra
            self._burst_cum.append(total)

    def _extra(self, t: float) -> float:
        """Burst room inserted strictly before t."""
        i = bisect.bisect_left(self._burst_times, t - _EPS)
        return self._burst_cum[i - 1] if i else 0.0

    def __call__(self, t: float) -> float:
        pos = (t - self.t0) * self.scale
        for cut in self.cuts:
            if t <= cut.start:
                break
            if t >= cut.end:
                pos -= cut.hidden * self.scale - cut.length
            else:  # inside a cut: spread evenly over its length
                pos -= (t - cut.start) * self.scale - (t - cut.start) / cut.hidden * cut.length
                break
        return pos + self._extra(t)

    @property
    def length(self) -> float:
        return self(self.t1)

    def pieces(self) -> list[tuple[float, float]]:
        """The stretches of time drawn at true scale, in order."""
        out, start = [], self.t0
        for cut in self.cuts:
            out.append((start, cut.start))
            start = cut.end
        out.append((start, self.t1))
        return out


def event_ticks(times, position, min_gap: float) -> list[tuple[float, float, str]]:
    """Ticks exactly at event ``times``: (time, position, label), at least ``min_gap`` points apart.

    Where two events are closer than that, the earlier keeps its tick. Every label has the same
    number of decimals: the fewest (up to 6) that print every kept time exactly, and otherwise (jitter,
    captures) the fewest from 3 up that still tell neighbouring ticks apart.
    """
    kept, last = [], -math.inf
    for t in sorted({round(float(t), 9) for t in times}):
        y = position(t)
        if y - last >= min_gap - _EPS:
            kept.append((t, y))
            last = y
    labels = tick_labels([t for t, _ in kept])
    return [(t, y, s) for (t, y), s in zip(kept, labels)]


def tick_labels(values) -> list[str]:
    """The values printed with one number of decimals, as few as print them exactly (see event_ticks)."""
    values = list(values)
    if not values:
        return []
    scale_ = max(1.0, max(abs(v) for v in values))
    decimals = next((d for d in range(7) if all(abs(round(v, d) - v) <= 1e-9 * scale_ for v in values)), None)
    if decimals is None:
        decimals = next((d for d in range(3, 7) if len({f"{v:.{d}f}" for v in values}) == len(values)), 6)
    out = []
    for v in values:
        label = f"{v:.{decimals}f}"
        if label.startswith("-") and float(label) == 0:
            label = label[1:]
        out.append(label)
    return out


def merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1] + _EPS:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def build(busy: list[tuple[float, float]], *, t0: float, t1: float, available: float, row: float,
          unit: float, compress="auto", protect: list[tuple[float, float]] = (),
          bursts: dict[float, int] | None = None, min_scale: float = 0.0, fit: bool = False) -> TimeScale:
    """Choose cuts and a scale so the busy stretches fit in ``available`` points.

    ``unit`` is the shortest time that must still be one label ``row`` tall (the one-way delay);
    ``compress`` is "auto", False (never cut), or a number of seconds (cut every quiet stretch
    longer than that). ``protect`` lists waits to cut only as a last resort. ``bursts`` maps a
    time to the largest number of segments one side sent at that instant. ``min_scale`` (points per
    second) raises the readable scale when crossing arrows need room for their labels. ``fit``: the
    space is fixed (an Axes someone else sized), so with "auto" the scale may drop below the readable
    one, to half of it, rather than run past ``available``.
    """
    t1 = max(t1, t0)
    unit = max(unit, (t1 - t0) * 1e-8, 1e-6)
    min_scale = max(row / unit, min_scale)
    cut_len = 2.0 * row
    margin = 0.9 * row / min_scale  # true-scale time kept on each side of a cut
    burst_list = sorted((t, (k - 1) * row) for t, k in (bursts or {}).items() if k > 1)
    burst_room = sum(extra for _, extra in burst_list)

    spans = merge([(max(t0, a), min(t1, b)) for a, b in busy if b >= t0 and a <= t1] or [(t0, t0)])
    gaps = []
    edges = [(t0, t0)] + spans + [(t1, t1)]
    for (_, end), (start, _) in zip(edges, edges[1:]):
        if start - end > 2 * margin:
            hidden = (end + margin, start - margin)
            guarded = any(p0 < hidden[1] and p1 > hidden[0] for p0, p1 in protect)
            gaps.append((hidden, guarded))

    chosen: list[tuple[float, float]] = []
    total_time = t1 - t0

    def needed(scale: float) -> float:
        hidden = sum(b - a for a, b in chosen)
        return (total_time - hidden) * scale + len(chosen) * cut_len + burst_room

    if compress is False or compress is None:
        pass
    elif compress == "auto":
        order = sorted(gaps, key=lambda g: (g[1], -(g[0][1] - g[0][0])))
        for hidden, _ in order:
            if needed(min_scale) <= available:
                break
            if (hidden[1] - hidden[0]) * min_scale > cut_len:
                chosen.append(hidden)
    else:
        limit = float(compress)
        chosen = [h for h, _ in gaps if h[1] - h[0] + 2 * margin > limit]
    chosen.sort()
    hidden_time = sum(b - a for a, b in chosen)
    kept = max(total_time - hidden_time, 1e-9)
    room = available - len(chosen) * cut_len - burst_room
    scale = room / kept if room > 0 else min_scale
    if compress == "auto":
        scale = max(scale, min_scale * (0.5 if fit else 1.0))
    elif scale <= 0:
        scale = min_scale

    ts = TimeScale(t0, t1, scale, [Cut(a, b, 0.0, cut_len) for a, b in chosen], burst_list)
    for c in ts.cuts:  # a cut's position depends only on what comes before it
        c.pos = ts(c.start)
    return ts

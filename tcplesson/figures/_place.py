"""Small geometry for placing labels without overlaps: rotated boxes, a separating-axis test, and a
y-bucketed index so that a figure with a thousand labels still places them quickly.

Everything is in points, x to the right, y downward (the ladder's own layout units).
"""
from __future__ import annotations

import math
from collections import defaultdict

_BUCKET = 40.0


def box(cx: float, cy: float, w: float, h: float, angle: float) -> tuple:
    """The four corners of a w x h box centred at (cx, cy) and turned by ``angle`` radians."""
    c, s = math.cos(angle), math.sin(angle)
    hw, hh = w / 2, h / 2
    return tuple((cx + dx * c - dy * s, cy + dx * s + dy * c)
                 for dx, dy in ((-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)))


def _axes(poly) -> list:
    out = []
    n = len(poly)
    for i in range(n if n > 2 else 1):
        (x0, y0), (x1, y1) = poly[i], poly[(i + 1) % n]
        out.append((y0 - y1, x1 - x0))
    return out


def overlap(a, b) -> bool:
    """Whether two convex polygons (or a polygon and a segment) overlap: separating-axis test."""
    for ax, ay in _axes(a) + _axes(b):
        pa = [x * ax + y * ay for x, y in a]
        pb = [x * ax + y * ay for x, y in b]
        if max(pa) <= min(pb) or max(pb) <= min(pa):
            return False
    return True


def _span(poly) -> tuple[float, float]:
    ys = [y for _, y in poly]
    return min(ys), max(ys)


def _is_rect(poly) -> bool:
    """Whether ``poly`` is a box with its sides along x and y (most labels): then its bounding box is it."""
    return len(poly) == 4 and poly[0][1] == poly[1][1] and poly[1][0] == poly[2][0] \
        and poly[2][1] == poly[3][1] and poly[3][0] == poly[0][0]


def _segment_meets_rect(seg, x0, x1, y0, y1) -> bool:
    """Whether a segment enters the open rectangle (x0, x1) x (y0, y1): Liang-Barsky clipping."""
    (ax_, ay), (bx, by) = seg
    dx, dy = bx - ax_, by - ay
    lo, hi = 0.0, 1.0
    for p, q in ((-dx, ax_ - x0), (dx, x1 - ax_), (-dy, ay - y0), (dy, y1 - ay)):
        if p == 0:
            if q <= 0:
                return False
        else:
            r = q / p
            if p < 0:
                lo = max(lo, r)
            else:
                hi = min(hi, r)
            if lo >= hi:
                return False
    return True


class Obstacles:
    """Placed shapes, found again by their vertical extent."""

    def __init__(self) -> None:
        self._buckets: dict[int, list] = defaultdict(list)

    def add(self, poly, kind: str) -> None:
        xs, ys = [x for x, _ in poly], [y for _, y in poly]
        shape = "rect" if _is_rect(poly) else ("seg" if len(poly) == 2 else "poly")
        item = (poly, kind, min(xs), max(xs), min(ys), max(ys), shape)
        for k in range(int(math.floor(item[4] / _BUCKET)), int(math.floor(item[5] / _BUCKET)) + 1):
            self._buckets[k].append(item)

    def hits(self, poly, once: bool = False) -> dict[str, int]:
        """How many placed shapes of each kind ``poly`` overlaps (``once``: at most one per kind,
        which is quicker when only whether matters)."""
        xs, ys = [x for x, _ in poly], [y for _, y in poly]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        rect = _is_rect(poly)
        seg = len(poly) == 2
        seen, counts = set(), defaultdict(int)
        for k in range(int(math.floor(y0 / _BUCKET)), int(math.floor(y1 / _BUCKET)) + 1):
            for item in self._buckets.get(k, ()):
                if item[2] >= x1 or item[3] <= x0 or item[4] >= y1 or item[5] <= y0 or id(item) in seen:
                    continue  # bounding boxes apart: no need for the exact test
                if once and item[1] in counts:
                    continue
                seen.add(id(item))
                shape = item[6]
                if rect and shape == "rect":
                    met = True  # two upright boxes whose bounding boxes overlap
                elif rect and shape == "seg":
                    met = _segment_meets_rect(item[0], x0, x1, y0, y1)
                elif seg and shape == "rect":
                    met = _segment_meets_rect(poly, item[2], item[3], item[4], item[5])
                else:
                    met = overlap(poly, item[0])
                if met:
                    counts[item[1]] += 1
        return counts


class Column:
    """Labels stacked in one column beside a line: each wants a y, none may overlap the next."""

    def __init__(self, gap: float = 2.0) -> None:
        self.items: list[tuple[float, float, float, object]] = []  # (want, order, height, key)
        self.gap = gap

    def add(self, want: float, height: float, key, order: float | None = None) -> None:
        self.items.append((want, len(self.items) if order is None else order, height, key))

    def solve(self) -> dict:
        out, bottom = {}, -math.inf
        for want, _, height, key in sorted(self.items, key=lambda item: (item[0], item[1])):
            y = max(want, bottom + height / 2 + self.gap)
            out[key] = y
            bottom = y + height / 2
        return out

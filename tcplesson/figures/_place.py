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


class Obstacles:
    """Placed shapes, found again by their vertical extent."""

    def __init__(self) -> None:
        self._buckets: dict[int, list] = defaultdict(list)

    def add(self, poly, kind: str) -> None:
        xs, ys = [x for x, _ in poly], [y for _, y in poly]
        item = (poly, kind, min(xs), max(xs), min(ys), max(ys))
        for k in range(int(math.floor(item[4] / _BUCKET)), int(math.floor(item[5] / _BUCKET)) + 1):
            self._buckets[k].append(item)

    def hits(self, poly) -> dict[str, int]:
        """How many placed shapes of each kind ``poly`` overlaps."""
        xs, ys = [x for x, _ in poly], [y for _, y in poly]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        seen, counts = set(), defaultdict(int)
        for k in range(int(math.floor(y0 / _BUCKET)), int(math.floor(y1 / _BUCKET)) + 1):
            for item in self._buckets.get(k, ()):
                if item[2] >= x1 or item[3] <= x0 or item[4] >= y1 or item[5] <= y0 or id(item) in seen:
                    continue  # bounding boxes apart: no need for the exact test
                seen.add(id(item))
                if overlap(poly, item[0]):
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

"""The channel between the two endpoints: one-way delay, jitter, random loss and chosen drops."""
from __future__ import annotations

import random
from collections.abc import Iterable

from ._check import check_int_range, check_number


def check_drop(drop) -> frozenset[int]:
    """``drop`` as a set of transmission numbers (1 is the first segment sent)."""
    if drop is None:
        return frozenset()
    if isinstance(drop, int) and not isinstance(drop, bool):
        drop = (drop,)
    if isinstance(drop, (str, bytes)) or not isinstance(drop, Iterable):
        raise TypeError(f"drop must be transmission numbers (integers from 1), got {drop!r}")
    return frozenset(check_int_range("drop", n, 1) for n in drop)


class Link:
    """Carries transmissions one by one and says when each arrives, or that it is lost.

    Every transmission draws the same two random numbers (loss, jitter) whether or not it is
    chosen for dropping, so dropping one segment does not change what happens to the others.
    """

    def __init__(self, *, delay: float = 0.05, jitter: float = 0.0, loss: float = 0.0, drop=(),
                 seed: int = 0) -> None:
        self.delay = check_number("delay", delay, low=0.0)
        self.jitter = check_number("jitter", jitter, low=0.0)
        self.loss = check_number("loss", loss, low=0.0, high=1.0)
        self.drop = check_drop(drop)
        self.seed = check_int_range("seed", seed, 0)
        # A link with neither loss nor jitter needs no random numbers (and is faster without them).
        self._rng = random.Random(self.seed) if self.loss or self.jitter else None

    def carry(self, index: int) -> float | None:
        """The one-way delay of transmission ``index``, or None when it is lost."""
        if self._rng is None:
            return None if index in self.drop else self.delay
        roll, spread = self._rng.random(), self._rng.random()
        if index in self.drop or roll < self.loss:
            return None
        return self.delay + spread * self.jitter

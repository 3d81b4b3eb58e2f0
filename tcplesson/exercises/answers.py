"""The three kinds of answer a question takes, and how each judges what a student typed.

A kind knows its expected value (computed by the question from a run) and turns any answer into
a verdict: right, or wrong with a note saying what is wrong with *this* answer. Notes are written
for the student: a known mistake ("that is the client's ISN itself") gets its own explanation, an
answer of the wrong type says which type is wanted. Nothing here simulates.
"""
from __future__ import annotations

import math
import re
import string
import textwrap
from dataclasses import dataclass, field
from numbers import Real
from typing import Callable

from ..labels import describe
from ..states import State

TIME_TOLERANCE = 5e-4  # seconds: the tables print times to the millisecond


@dataclass(frozen=True)
class Number:
    """A whole number (``unit=""``) or a time in seconds (``unit="s"``, compared to the millisecond).

    ``traps`` maps the results of known mistakes to the note that explains each one (the expected
    value is tested first, so a trap that happens to equal it in some variant never misleads).
    """

    expected: float
    unit: str = ""
    traps: dict = field(default_factory=dict)

    @property
    def wanted(self) -> str:
        return "a time in seconds, e.g. 2.35" if self.unit == "s" else "a whole number, e.g. 1234"

    def shown(self) -> str:
        return f"{self.expected:.3f} s" if self.unit == "s" else str(int(self.expected))

    def judge(self, answer) -> tuple[bool, str]:
        if isinstance(answer, bool) or not isinstance(answer, Real):
            return False, f"the answer must be a number ({self.wanted}), not {type(answer).__name__} {answer!r}."
        value = float(answer)
        if not math.isfinite(value):
            return False, f"the answer must be a finite number, not {answer!r}."
        if self.unit != "s" and value != int(value):
            return False, f"sequence and acknowledgement numbers and counts are whole numbers, not {answer!r}."
        if self._same(value, self.expected):
            return True, ""
        for trap, note in self.traps.items():
            if self._same(value, trap):
                return False, f"{_show(answer)} is not right: {note}"
        return False, f"{_show(answer)} is not right."

    def _same(self, a: float, b: float) -> bool:
        return math.isclose(a, b, rel_tol=0, abs_tol=TIME_TOLERANCE) if self.unit == "s" else a == b


@dataclass(frozen=True)
class StateName:
    """One of the eleven states, given as ``tl.State.TIME_WAIT`` or as text ("TIME-WAIT", "time_wait")."""

    expected: State
    traps: dict = field(default_factory=dict)

    wanted = 'a state name, e.g. "FIN-WAIT-1"'

    def shown(self) -> str:
        return self.expected.value

    def judge(self, answer) -> tuple[bool, str]:
        state = answer if isinstance(answer, State) else _state_from_text(answer)
        if state is None:
            names = ", ".join(s.value for s in State)
            return False, f"{answer!r} is not a state name; write one of: {names}."
        if state is self.expected:
            return True, ""
        note = self.traps.get(state) or f'{state.value} means "{describe(state)}".'
        return False, f"{state.value} is not right: {note}"


def _state_from_text(text) -> State | None:
    if not isinstance(text, str):
        return None
    key = re.sub(r"[\s_]+", "-", text.strip().upper())
    return next((s for s in State if s.value == key), None)


@dataclass(frozen=True)
class Option:
    """One claim of a multiple-choice question. ``holds`` runs the simulations that decide it;
    ``rebuttal`` explains, from those runs, why a student who picked it is wrong."""

    text: str
    holds: Callable[[], bool]
    rebuttal: str


class Choice:
    """Multiple choice: the options in this variant's order; the right one is the option whose
    claim the simulations confirm, and exactly one must be confirmed."""

    wanted = 'a letter, e.g. "b"'

    def __init__(self, options: list[Option]) -> None:
        self.options = list(options)
        self.letters = string.ascii_lowercase[:len(self.options)]
        confirmed = [i for i, option in enumerate(self.options) if option.holds()]
        if len(confirmed) != 1:
            raise RuntimeError(f"a multiple-choice question needs exactly one option the runs confirm, "
                               f"got {len(confirmed)}: {[self.options[i].text for i in confirmed]}")
        self.correct = confirmed[0]

    @property
    def expected(self) -> str:
        return self.letters[self.correct]

    def shown(self) -> str:
        return f"({self.expected}) {self.options[self.correct].text}"

    def listing(self, width: int) -> str:
        return "\n".join(textwrap.fill(f"({letter}) {option.text}", width, initial_indent="  ",
                                        subsequent_indent="      ", break_on_hyphens=False)
                         for letter, option in zip(self.letters, self.options))

    def letter(self, phrase: str) -> str:
        """The letter of the one option containing ``phrase`` (for solutions that must survive shuffling)."""
        hits = [letter for letter, option in zip(self.letters, self.options)
                if phrase.lower() in option.text.lower()]
        if len(hits) != 1:
            raise ValueError(f"phrase {phrase!r} matches {len(hits)} options; it must match exactly one")
        return hits[0]

    def judge(self, answer) -> tuple[bool, str]:
        found = re.fullmatch(r"\(?([a-z])\)?\.?", answer.strip().lower()) if isinstance(answer, str) else None
        if not found or found[1] not in self.letters:
            return False, f"answer with one of the letters {', '.join(self.letters)}, not {answer!r}."
        letter = found[1]
        index = self.letters.index(letter)
        if index == self.correct:
            return True, ""
        return False, f"({letter}) is not right: {self.options[index].rebuttal}"


def _show(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)

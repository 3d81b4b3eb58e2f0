"""The three kinds of answer a question takes, and how each judges what a student typed.

A kind knows its expected value (computed by the question from a run) and turns any answer into
a verdict: right, or wrong with a note saying what is wrong with *this* answer, in the sheet's
language (the words are in words_en.py / words_zh.py). Notes are written
for the student: a known mistake ("that is the client's ISN itself") gets its own explanation, an
answer of the wrong type says which type is wanted. Nothing here simulates.
"""
from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass, field
from numbers import Real
from typing import Callable

from .. import labels
from ..labels import describe
from ..states import State
from .words import DEFAULT_LANG, message

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

    def wanted(self, lang: str = DEFAULT_LANG) -> str:
        return message("number.wanted_s" if self.unit == "s" else "number.wanted", lang)

    def shown(self, lang: str = DEFAULT_LANG) -> str:
        return message("number.shown_s", lang, value=self.expected) if self.unit == "s" else str(int(self.expected))

    def judge(self, answer, lang: str = DEFAULT_LANG) -> tuple[bool, str]:
        if isinstance(answer, bool) or not isinstance(answer, Real):
            return False, message("number.type", lang, wanted=self.wanted(lang), type=type(answer).__name__,
                                  answer=repr(answer))
        value = float(answer)
        if not math.isfinite(value):
            return False, message("number.finite", lang, answer=repr(answer))
        if self.unit != "s" and value != int(value):
            return False, message("number.whole", lang, answer=repr(answer))
        if self._same(value, self.expected):
            return True, ""
        for trap, note in self.traps.items():
            if self._same(value, trap):
                return False, message("number.trap", lang, answer=_show(answer), note=note)
        return False, message("number.wrong", lang, answer=_show(answer))

    def _same(self, a: float, b: float) -> bool:
        return math.isclose(a, b, rel_tol=0, abs_tol=TIME_TOLERANCE) if self.unit == "s" else a == b


@dataclass(frozen=True)
class StateName:
    """One of the eleven states, given as ``tl.State.TIME_WAIT`` or as text: the RFC name ("TIME-WAIT",
    "time_wait") or a textbook name the labels know ("时间等待")."""

    expected: State
    traps: dict = field(default_factory=dict)

    def wanted(self, lang: str = DEFAULT_LANG) -> str:
        return message("state.wanted", lang)

    def shown(self, lang: str = DEFAULT_LANG) -> str:
        return self.expected.value

    def judge(self, answer, lang: str = DEFAULT_LANG) -> tuple[bool, str]:
        state = answer if isinstance(answer, State) else state_from_text(answer)
        if state is None:
            names = message("list_sep", lang).join(s.value for s in State)
            return False, message("state.unknown", lang, answer=repr(answer), names=names)
        if state is self.expected:
            return True, ""
        note = self.traps.get(state) or message("state.means", lang, state=state.value, meaning=describe(state, lang))
        return False, message("state.wrong", lang, state=state.value, note=note)


def state_from_text(text) -> State | None:
    """The state an answer names: its RFC name in any spelling, or its textbook name in any language."""
    if not isinstance(text, str):
        return None
    key = re.sub(r"[\s_]+", "-", text.strip().upper())
    found = next((s for s in State if s.value == key), None)
    if found is None and text.strip():
        bare = re.sub(r"\s+", "", text)
        found = next((s for s in State for lang in labels.languages()
                      if labels.text(f"textbook.{s.value}", lang) == bare), None)
    return found


@dataclass(frozen=True)
class Option:
    """One claim of a multiple-choice question. ``holds`` runs the simulations that decide it;
    ``rebuttal`` explains, from those runs, why a student who picked it is wrong. ``text`` is in the
    sheet's language; ``english`` is the same claim in English (solutions written once for both)."""

    text: str
    holds: Callable[[], bool]
    rebuttal: str
    english: str = ""


class Choice:
    """Multiple choice: the options in this variant's order; the right one is the option whose
    claim the simulations confirm, and exactly one must be confirmed."""

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

    def wanted(self, lang: str = DEFAULT_LANG) -> str:
        return message("choice.wanted", lang)

    def shown(self, lang: str = DEFAULT_LANG) -> str:
        return f"({self.expected}) {self.options[self.correct].text}"

    def listing(self, width: int, fill) -> str:
        """The options, one paragraph each, wrapped by ``fill(text, width, initial, indent)``."""
        return "\n".join(fill(f"({letter}) {option.text}", width, "  ", "      ")
                         for letter, option in zip(self.letters, self.options))

    def letter(self, phrase: str) -> str:
        """The letter of the one option containing ``phrase`` (for solutions that must survive shuffling).

        The phrase is looked for in the options as the sheet shows them, and, if no option there has
        it, in their English wording: one solution notebook serves every language."""
        for texts in ([option.text for option in self.options], [option.english for option in self.options]):
            hits = [letter for letter, text in zip(self.letters, texts) if text and phrase.lower() in text.lower()]
            if hits:
                break
        if len(hits) != 1:
            raise ValueError(f"phrase {phrase!r} matches {len(hits)} options; it must match exactly one")
        return hits[0]

    def judge(self, answer, lang: str = DEFAULT_LANG) -> tuple[bool, str]:
        found = re.fullmatch(r"\(?([a-z])\)?\.?", answer.strip().lower()) if isinstance(answer, str) else None
        if not found or found[1] not in self.letters:
            letters = message("list_sep", lang).join(self.letters)
            return False, message("choice.letters", lang, letters=letters, answer=repr(answer))
        letter = found[1]
        index = self.letters.index(letter)
        if index == self.correct:
            return True, ""
        return False, message("choice.wrong", lang, letter=letter, note=self.options[index].rebuttal)


def _show(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)

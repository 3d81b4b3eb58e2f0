"""A student's exercise sheet: the question bank in one variant, with the checks that grade it.

``Sheet(seed)`` is one variant: the seed (a student id) picks every number, so two students get
different ISNs, losses and delays, while each check computes the right answer for its own variant.
``ask`` prints a question; ``check`` judges an answer: it prints a confirmation when right and
raises WrongAnswer (an AssertionError, so nbval and pytest fail the cell) with a message that says
what was expected and gives a hint when wrong.
"""
from __future__ import annotations

import os
import random
import re
import textwrap

from .answers import Choice
from .bank import BANK, LESSONS, Spec

# Set by the grade command: failure messages in the grader's report then also show the right
# answer. Students running their notebook see what is wanted and a hint, not the value.
REVEAL_VARIABLE = "TCPLESSON_REVEAL_ANSWERS"
_SEED_TEXT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
WIDTH = 100


class WrongAnswer(AssertionError):
    """A check found a wrong (or missing) answer; the message teaches."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the student needs the message, not our frames.
        return [f"{type(self).__name__}: {self}"]


def check_seed(seed) -> int | str:
    """A variant seed: an integer >= 0, or an id like "s1234567" (letters, digits, '_', '.', '-')."""
    if isinstance(seed, bool) or not isinstance(seed, (int, str)):
        raise TypeError(f"seed must be an integer or a student id string, got {type(seed).__name__} {seed!r}")
    if isinstance(seed, int) and seed < 0:
        raise ValueError(f"seed must be at least 0, got {seed}")
    if isinstance(seed, str) and not _SEED_TEXT.fullmatch(seed):
        raise ValueError(f"seed must be 1-64 letters, digits, '_', '.' or '-' (starting with a letter or "
                         f"digit), got {seed!r}")
    return seed


class Posed:
    """One question as this variant asks it. The numbers the prompt shows are attributes
    (``q.client_isn``, ``q.sent[4]``), so a solution can be written once for every variant."""

    def __init__(self, number: int, spec: Spec, rng: random.Random) -> None:
        draft = spec.build(rng)
        self.number, self.id, self.lesson, self.title = number, spec.id, spec.lesson, spec.title
        self.setting, self.asks, self.hint = draft.setting, draft.asks, draft.hint
        self._answer = draft.answer  # private: tab completion should not offer the answer
        self.explanation, self.table, self.given = draft.explanation, draft.table, draft.given

    @property
    def label(self) -> str:
        return f"Q{self.number}"

    def __getattr__(self, name: str):
        given = self.__dict__.get("given", {})
        if name in given:
            return given[name]
        raise AttributeError(f"{self.label} ({self.id}) has no {name!r}; it gives: {', '.join(given) or 'nothing'}")

    def letter(self, phrase: str) -> str:
        """The letter of the option that contains ``phrase`` (multiple-choice questions only)."""
        if not isinstance(self._answer, Choice):
            raise TypeError(f"{self.label} ({self.id}) is not a multiple-choice question")
        if not isinstance(phrase, str) or not phrase:
            raise TypeError("phrase must be a non-empty string")
        return self._answer.letter(phrase)

    def text(self) -> str:
        """The question as printed: heading, prompt, the visible part of the run, options, answer format."""
        parts = [f"{self.label}. {self.title} (lesson {LESSONS[self.lesson]})",
                 _fill(f"{self.setting} {self.asks}".strip())]
        if self.table:
            parts.append(self.table)
        if isinstance(self._answer, Choice):
            parts.append(self._answer.listing(WIDTH))
        parts.append(f"Answer with {self._answer.wanted}.")
        return "\n\n".join(parts)

    def __repr__(self) -> str:
        return f"<{self.label} {self.id}>"


def _fill(text: str, indent: str = "") -> str:
    return textwrap.fill(text, WIDTH, subsequent_indent=indent, break_on_hyphens=False)


class Sheet:
    """The exercise sheet for one variant. ``seed`` is the variant: 0 for the course's own solution
    notebook, a student id for a released copy."""

    def __init__(self, seed: int | str = 0) -> None:
        self.seed = check_seed(seed)
        self._posed: dict[str, Posed] = {}

    @property
    def ids(self) -> list[str]:
        return list(BANK)

    def question(self, question_id: str) -> Posed:
        """The question with this id, in this variant (built once, then kept)."""
        if question_id not in BANK:
            raise ValueError(f"question_id {question_id!r} is not on the sheet; known: {', '.join(BANK)}")
        if question_id not in self._posed:
            rng = random.Random(f"tcplesson-exercises/{self.seed!r}/{question_id}")
            self._posed[question_id] = Posed(self.ids.index(question_id) + 1, BANK[question_id], rng)
        return self._posed[question_id]

    def ask(self, question_id: str) -> Posed:
        """Print the question and return it (its given numbers are attributes)."""
        posed = self.question(question_id)
        print(posed.text())
        return posed

    def check(self, question_id: str, answer) -> None:
        """Print a confirmation if ``answer`` is right; raise WrongAnswer saying what was expected if not."""
        __tracebackhide__ = True  # pytest shows the message, not this frame
        posed = self.question(question_id)
        head = f"{posed.label} ({posed.title})"
        if answer is Ellipsis:
            raise WrongAnswer(f"{head} is not answered yet: replace ... in the answer cell with "
                              f"{posed._answer.wanted}.")
        right, note = posed._answer.judge(answer)
        if right:
            print(_fill(f"{posed.label} correct. {posed.explanation}"))
            return
        lines = [f"{head}: {note}", f'Expected: the answer to "{posed.asks}", as {posed._answer.wanted}.',
                 f"Hint: {posed.hint}", f"See lesson {LESSONS[posed.lesson]}."]
        if os.environ.get(REVEAL_VARIABLE):
            lines.append(f"Right answer for this variant: {posed._answer.shown()}.")
        raise WrongAnswer("\n".join(_fill(line, indent="  ") for line in lines))

    def __repr__(self) -> str:
        return f"<Sheet seed={self.seed!r}: {len(BANK)} questions>"

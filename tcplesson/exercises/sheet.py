"""A student's exercise sheet: the question bank in one variant, with the checks that grade it.

``Sheet(seed)`` is one variant: the seed (a student id) picks every number, so two students get
different ISNs, losses and delays, while each check computes the right answer for its own variant.
``Sheet(seed, lang="zh")`` asks the same variant in Chinese (by default, in the language
``tl.set_language()`` chose): the same numbers and answers, every word from words_zh.py.
``ask`` prints a question; ``check`` judges an answer: it prints a confirmation when right and
raises WrongAnswer (an AssertionError, so nbval and pytest fail the cell) with a message that says
what was expected and gives a hint when wrong.
"""
from __future__ import annotations

import os
import random
import re
import textwrap

from ..trace import columns
from .answers import Choice
from .bank import BANK, LESSONS, Spec
from .words import DEFAULT_LANG, Words, check_lang, message

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

    def __init__(self, number: int, spec: Spec, rng: random.Random, lang: str = DEFAULT_LANG) -> None:
        words = Words(spec.id, lang)
        draft = spec.build(rng, words)
        self.number, self.id, self.lesson, self.lang = number, spec.id, spec.lesson, lang
        self.title = words("title")
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
        say = lambda key, **fields: message(key, self.lang, **fields)  # noqa: E731
        parts = [say("heading", label=self.label, title=self.title, lesson=LESSONS[self.lesson],
                     number=LESSONS[self.lesson][:2]),
                 _fill(_join(self.setting, self.asks))]
        if self.table:
            parts.append(self.table)
        if isinstance(self._answer, Choice):
            parts.append(self._answer.listing(WIDTH, fill=_fill))
        parts.append(say("answer_with", wanted=self._answer.wanted(self.lang)))
        return "\n\n".join(parts)

    def __repr__(self) -> str:
        return f"<{self.label} {self.id}>"


def _join(setting: str, asks: str) -> str:
    """The setting and the question as one paragraph (no space after a CJK full stop)."""
    if not setting:
        return asks.strip()
    return setting + ("" if setting.endswith(_CJK_CLOSE) else " ") + asks


# characters a line must not start with, and opening ones it must not end with (Chinese line breaking)
_CJK_CLOSE = tuple("，。、；：？！）》」』”’…")
_CJK_OPEN = "（《「『“‘"


def _fill(text: str, width: int = WIDTH, initial: str = "", indent: str = "") -> str:
    """Wrap a paragraph at ``width`` columns. English wraps at spaces as textwrap does; text with CJK
    characters wraps between any two of them too, counting each as two columns."""
    if columns(text) == len(text):  # no wide (CJK) character
        return textwrap.fill(text, width, initial_indent=initial, subsequent_indent=indent, break_on_hyphens=False)
    tokens = re.findall(r"\s+|[^\s\u2e80-\u9fff\uff00-\uffef\u3000-\u303f\u2018-\u201d\u2026]+|.", text)
    glued: list[str] = []  # closing punctuation sticks to what comes before, opening to what follows
    for token in tokens:
        if glued and (token in _CJK_CLOSE or glued[-1][-1] in _CJK_OPEN) and not token.isspace():
            glued[-1] += token
        else:
            glued.append(token)
    lines, line = [], initial
    for token in glued:
        if token.isspace():
            token = " "
            if line.strip() == "":
                continue
        if columns(line) + columns(token.rstrip()) > width and line.strip():
            lines.append(line.rstrip())
            line = indent
            if token == " ":
                continue
        line += token
    if line.strip():
        lines.append(line.rstrip())
    return "\n".join(lines)


class Sheet:
    """The exercise sheet for one variant. ``seed`` is the variant: 0 for the course's own solution
    notebook, a student id for a released copy."""

    def __init__(self, seed: int | str = 0, lang: str | None = None) -> None:
        self.seed = check_seed(seed)
        self.lang = check_lang(lang)  # None: the language tl.set_language() chose, fixed from here on
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
            self._posed[question_id] = Posed(self.ids.index(question_id) + 1, BANK[question_id], rng, self.lang)
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
        lang, kind = self.lang, posed._answer
        say = lambda key, **fields: message(key, lang, **fields)  # noqa: E731
        head = say("head", label=posed.label, title=posed.title)
        if answer is Ellipsis:
            raise WrongAnswer(say("unanswered", head=head, wanted=kind.wanted(lang)))
        right, note = kind.judge(answer, lang)
        if right:
            print(_fill(say("correct", label=posed.label, explanation=posed.explanation)))
            return
        lines = [say("wrong", head=head, note=note), say("expected", asks=posed.asks, wanted=kind.wanted(lang)),
                 say("hint", hint=posed.hint), say("see", lesson=LESSONS[posed.lesson], number=LESSONS[posed.lesson][:2])]
        if os.environ.get(REVEAL_VARIABLE):
            shown = kind.shown(lang)
            if lang != DEFAULT_LANG and shown.endswith("。"):  # an option sentence has its full stop already
                shown = shown[:-1]
            lines.append(say("reveal", shown=shown))
        raise WrongAnswer("\n".join(_fill(line, indent="  ") for line in lines))

    def __repr__(self) -> str:
        return f"<Sheet seed={self.seed!r} lang={self.lang!r}: {len(BANK)} questions>"

"""The sheet's words in each language: ``message(key, lang)`` and, per question, ``Words``.

The tables are words_en.py and words_zh.py (``MESSAGES`` and ``QUESTIONS``); a language is usable
for sheets when the library's labels know it (``tl.set_language``) and a table is listed here. A
key a language lacks falls back to English, as the labels do.
"""
from __future__ import annotations

from .. import labels
from . import words_en, words_zh

DEFAULT_LANG = "en"
TABLES = {"en": words_en, "zh": words_zh}


def languages() -> list[str]:
    """The languages a sheet can be written in."""
    return sorted(set(TABLES) & set(labels.languages()))


def check_lang(lang: str | None) -> str:
    """``lang`` checked (None: the language tl.set_language() chose)."""
    if lang is not None and (not isinstance(lang, str) or lang not in languages()):
        raise ValueError(f"lang must be one of {', '.join(languages())}, got {lang!r}")
    chosen = labels.resolve(lang)
    return chosen if chosen in TABLES else DEFAULT_LANG


def _template(table: dict, fallback: dict, key: str, where: str) -> str:
    if key in table:
        return table[key]
    if key in fallback:
        return fallback[key]
    raise KeyError(f"no exercise words for {where}{key!r}; add them to tcplesson/exercises/words_en.py")


def message(key: str, lang: str = DEFAULT_LANG, **fields) -> str:
    """A message every question shares, in ``lang``."""
    template = _template(TABLES[lang].MESSAGES, words_en.MESSAGES, key, "")
    return template.format(**fields) if fields else template


class Words:
    """One question's words in one language: ``t("setting", isn=...)``; ``t.en(...)`` the English."""

    def __init__(self, qid: str, lang: str = DEFAULT_LANG) -> None:
        self.qid, self.lang = qid, lang

    def __call__(self, key: str, **fields) -> str:
        return self._in(self.lang, key, fields)

    def en(self, key: str, **fields) -> str:
        return self._in(DEFAULT_LANG, key, fields)

    def has(self, key: str) -> bool:
        return key in words_en.QUESTIONS.get(self.qid, {}) or key in TABLES[self.lang].QUESTIONS.get(self.qid, {})

    def message(self, key: str, **fields) -> str:
        return message(key, self.lang, **fields)

    def _in(self, lang: str, key: str, fields: dict) -> str:
        template = _template(TABLES[lang].QUESTIONS.get(self.qid, {}), words_en.QUESTIONS.get(self.qid, {}),
                             key, f"question {self.qid!r}: ")
        return template.format(**fields) if fields else template


def title(qid: str, lang: str = DEFAULT_LANG) -> str:
    return Words(qid, lang)("title")

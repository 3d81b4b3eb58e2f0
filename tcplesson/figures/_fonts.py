"""The fonts figures draw with, per language, so that Chinese never renders as empty boxes.

English uses matplotlib's default (DejaVu Sans). Chinese uses DejaVu Sans for Latin letters and
digits and, for CJK characters, the subset of Noto Sans CJK SC that ships with the package
(tcplesson/fonts, SIL OFL 1.1; tools/build_cjk_font.py says what it covers and how it is made).
Where the machine has a full CJK font with a regular and a bold face, matplotlib falls back to it
for a character the subset lacks. Only fonts found on the machine are named: matplotlib logs a
warning for every family it cannot find, and the same machine always finds the same fonts, so
figures stay byte for byte the same.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from matplotlib import font_manager

from .. import labels

SHIPPED = tuple(Path(__file__).resolve().parent.parent.joinpath("fonts").glob("tcplessonCJKSC-*.otf"))
# Full CJK fonts a machine may have, for characters beyond the subset (Linux, macOS, Windows).
SYSTEM_CJK = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
              "PingFang SC", "Microsoft YaHei", "SimHei")
_REGULAR, _BOLD = 400, 700


@lru_cache(maxsize=1)
def _installed() -> dict[str, frozenset[int]]:
    """Register the shipped fonts once, then say which families matplotlib can find, with their weights."""
    known = {Path(f.fname).name for f in font_manager.fontManager.ttflist}
    for path in sorted(SHIPPED):
        if path.name not in known:
            font_manager.fontManager.addfont(str(path))
    weights: dict[str, set[int]] = {}
    for f in font_manager.fontManager.ttflist:
        weight = font_manager.weight_dict.get(f.weight, f.weight) if isinstance(f.weight, str) else f.weight
        weights.setdefault(f.name, set()).add(int(weight))
    return {name: frozenset(w) for name, w in weights.items()}


def families(lang: str | None = None) -> tuple[str, ...] | None:
    """The font families, first choice first, for text in ``lang`` (None: matplotlib's default).

    A machine's own CJK font is a fallback only if it has both weights the figures use (regular and
    bold): for a family without one, matplotlib logs a warning on every bold text (seen with
    WenQuanYi Micro Hei, which has only a regular face), and a notebook would print it.
    """
    wanted = labels.FONTS.get(labels.resolve(lang))
    if not wanted:
        return None
    found = _installed()
    fallbacks = tuple(f for f in SYSTEM_CJK if {_REGULAR, _BOLD} <= found.get(f, frozenset()))
    return tuple(f for f in dict.fromkeys((*wanted, *fallbacks)) if f in found)


def font(lang: str | None = None) -> dict:
    """Keyword arguments for matplotlib text in ``lang``: ``ax.text(..., **font(lang))``."""
    chosen = families(lang)
    return {"family": list(chosen)} if chosen else {}

"""The fonts figures draw with, per language, so that Chinese never renders as empty boxes.

English uses matplotlib's default (DejaVu Sans). Chinese uses DejaVu Sans for Latin letters and
digits and, for CJK characters, the subset of Noto Sans CJK SC that ships with the package
(tcplesson/fonts, SIL OFL 1.1; tools/build_cjk_font.py says what it covers and how it is made).
Where the machine has a full CJK font, matplotlib falls back to it for a character the subset
lacks. Only fonts found on the machine are named: matplotlib logs a warning for every family it
cannot find, and the same machine always finds the same fonts, so figures stay byte for byte the
same.
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


@lru_cache(maxsize=1)
def _installed() -> frozenset[str]:
    """Register the shipped fonts once, then say which families matplotlib can find."""
    known = {Path(f.fname).name for f in font_manager.fontManager.ttflist}
    for path in sorted(SHIPPED):
        if path.name not in known:
            font_manager.fontManager.addfont(str(path))
    return frozenset(f.name for f in font_manager.fontManager.ttflist)


def families(lang: str | None = None) -> tuple[str, ...] | None:
    """The font families, first choice first, for text in ``lang`` (None: matplotlib's default)."""
    wanted = labels.FONTS.get(labels.resolve(lang))
    if not wanted:
        return None
    found = _installed()
    return tuple(f for f in dict.fromkeys((*wanted, *SYSTEM_CJK)) if f in found)


def font(lang: str | None = None) -> dict:
    """Keyword arguments for matplotlib text in ``lang``: ``ax.text(..., **font(lang))``."""
    chosen = families(lang)
    return {"family": list(chosen)} if chosen else {}

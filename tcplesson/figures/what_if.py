"""The what-if map as a matrix: row i, column j = lose segments i and j; the diagonal = lose i alone.

Each cell is coloured by its verdict and carries the verdict's letter, and the legend names both,
so the map reads in greyscale and without colour vision (the letters are SHORT in what_if.py).
"""
from __future__ import annotations

from matplotlib.patches import Patch, Rectangle

from .. import labels
from ..segment import flag_names
from ..what_if import SHORT, VERDICTS, WhatIfMap
from ._common import BLUE, GREEN, GREY, ORANGE, PURPLE, SKY, VERMILION, YELLOW, check_ax, check_fontsize, \
    check_lang, record
from ._fonts import font

# Light for the harmless verdicts, dark for the harmful; the letter says it again.
FILLS = {"data": VERMILION, "reset": PURPLE, "timed_out": ORANGE, "half_open": YELLOW, "ghost": BLUE,
         "later": SKY, "clean": GREEN, "not_sent": "#FFFFFF"}
_DARK = {"data", "reset", "ghost"}  # white letters on these fills


def plot_what_if(whatif: WhatIfMap, ax=None, *, fontsize: float = 12, lang: str | None = None):
    """Draw a tl.what_if_map(...) as a matrix with a legend; returns the Axes."""
    if not isinstance(whatif, WhatIfMap):
        raise TypeError(f"whatif must be the map tl.what_if_map() returns, got {type(whatif).__name__}")
    check_ax(ax)
    fs, lang = check_fontsize(fontsize), check_lang(lang)
    n = whatif.size
    if ax is None:
        import matplotlib.pyplot as plt

        side = min(10.0, 2.0 + 0.5 * n)  # inches for the matrix; 2.2 to its left for the row names,
        width, height = side + 6.6, side + 1.6  # 4.4 to its right for the legend
        fig = plt.figure(figsize=(width, height))
        ax = fig.add_axes((2.2 / width, 0.7 / height, side / width, side / height))
    words = font(lang)
    cells = {}
    for i in range(1, n + 1):
        for j in range(1, n + 1):
            key = tuple(sorted({i, j}))
            if key not in whatif.cells:
                continue
            verdict = whatif.cells[key].verdict
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=FILLS[verdict], edgecolor=GREY,
                                   lw=0.6, gid=f"whatif.cell:{i},{j}"))
            cells[(i, j)] = ax.text(j, i, SHORT[verdict], ha="center", va="center", fontsize=fs,
                                    color="white" if verdict in _DARK else "black", **words,
                                    gid=f"whatif.letter:{i},{j}")
    ax.set_xlim(0.5, n + 0.5)
    ax.set_ylim(n + 0.5, 0.5)
    ax.set_aspect("equal")
    ax.set_xticks(range(1, n + 1))
    # each row named by its segment in the lossless run: "4  client FIN,ACK"
    ax.set_yticks(range(1, n + 1), [f"{tx.index}  {labels.text(tx.sender, lang)} {flag_names(tx.segment.flags)}"
                                    for tx in whatif.base.transmissions], **words)
    ax.tick_params(labelsize=fs * 0.85)
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xlabel(labels.text("whatif.axis", lang), fontsize=fs, **words)
    ax.text(0.0, -0.03, labels.text("whatif.caption", lang), transform=ax.transAxes, ha="left", va="top",
            fontsize=fs * 0.85, **words)
    seen = [v for v in VERDICTS if v in whatif.counts()]
    handles = [Patch(facecolor=FILLS[v], edgecolor=GREY, label=f"{SHORT[v]}  {labels.text('whatif.' + v, lang)}")
               for v in seen]
    legend = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.03, 1.0), frameon=False,
                       prop={**words, "size": fs}, title=whatif.name, title_fontproperties={**words, "size": fs})
    record(ax, "what_if", {"cells": cells, "legend": legend, "verdicts": seen})
    return ax

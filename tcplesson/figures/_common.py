"""What every figure shares: argument checks, making an Axes, measuring text, colours, and the
record of what was drawn (so tests and notebooks can ask a figure what it shows).
"""
from __future__ import annotations

import weakref
from functools import lru_cache

from matplotlib.axes import Axes
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import text_to_path

from .. import labels
from ._fonts import families
from ..states import State
from ..trace import SIDES, Trace

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies. Colour never
# carries meaning alone: lost segments are also dashed and crossed, states are also named.
BLUE, VERMILION, GREEN, ORANGE = "#0072B2", "#D55E00", "#009E73", "#E69F00"
SKY, PURPLE, YELLOW, GREY, BLACK = "#56B4E9", "#CC79A7", "#F0E442", "#8C8C8C", "#000000"

SIDE_COLOURS = {"client": BLUE, "server": VERMILION}

# Light fills for the phases of a connection (timeline bars, state labels, diagram boxes).
STATE_FILLS = {
    State.CLOSED: "#E6E6E6",
    State.LISTEN: "#D6EAF8",
    State.SYN_SENT: "#D6EAF8",
    State.SYN_RECEIVED: "#D6EAF8",
    State.ESTABLISHED: "#C9EBDD",
    State.FIN_WAIT_1: "#FBE3C6",
    State.FIN_WAIT_2: "#FBE3C6",
    State.CLOSE_WAIT: "#FBE3C6",
    State.CLOSING: "#FBE3C6",
    State.LAST_ACK: "#FBE3C6",
    State.TIME_WAIT: "#EBD3E3",
}

_INFO: "weakref.WeakKeyDictionary[Axes, dict]" = weakref.WeakKeyDictionary()


def figure_info(ax: Axes) -> dict:
    """What the tcplesson figure functions drew on ``ax``: one dict per figure kind.

    ``figure_info(ax)["ladder"]["arrows"]`` maps each transmission index to its arrow, for example.
    Every drawn element also carries a matplotlib ``gid`` ("ladder.tx:3", "diagram.arc:LISTEN->
    SYN-RECEIVED", "header.flag:SYN"), which ``artists(ax, prefix)`` finds.
    """
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    return _INFO.get(ax, {})


def record(ax: Axes, kind: str, info: dict) -> None:
    _INFO.setdefault(ax, {})[kind] = info


def artists(ax: Axes, prefix: str) -> list:
    """Every artist on ``ax`` whose gid starts with ``prefix``, in drawing order."""
    out = []
    for artist in ax.get_children():
        gid = artist.get_gid()
        if gid is not None and gid.startswith(prefix):
            out.append(artist)
    return out


def check_trace(trace, name: str = "trace") -> Trace:
    if not isinstance(trace, Trace):
        raise TypeError(f"{name} must be a tcplesson Trace (from tl.simulate), got {type(trace).__name__}")
    return trace


def check_who(who) -> str:
    if who not in SIDES:
        raise ValueError(f"who must be 'client' or 'server', got {who!r}")
    return who


def check_ax(ax) -> Axes | None:
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def check_lang(lang) -> str:
    """``lang`` checked, or the language tl.set_language() chose when it is None."""
    return labels.resolve(lang)


def check_fontsize(fontsize) -> float:
    if isinstance(fontsize, bool) or not isinstance(fontsize, (int, float)) or not 6 <= fontsize <= 40:
        raise ValueError(f"fontsize must be a number of points between 6 and 40, got {fontsize!r}")
    return float(fontsize)


# The margins (inches) each figure leaves around its Axes when it makes its own figure; axes_for()
# gives a Figure someone else owns the same layout.
MARGINS = {
    "ladder": {"left": 1.0, "right": 0.15, "top": 0.1, "bottom": 0.1},  # the time axis on the left
    "state_diagram": {"left": 0.1, "right": 0.1, "top": 0.1, "bottom": 0.1},
    "timeline": {"left": 1.0, "right": 0.25, "top": 0.15, "bottom": 0.6},
    "header": {"left": 0.15, "right": 0.15, "top": 0.1, "bottom": 0.1},
}


def axes_for(figure, kind: str = "ladder") -> Axes:
    """A new Axes filling ``figure`` as ``plot_<kind>`` lays out a figure of its own.

    ``fig.add_subplot()`` leaves matplotlib's default margins (a quarter of a 6.5 in figure), so a
    ladder drawn there is smaller than it needs to be. A widget that owns its Figure does::

        figure.clear()
        ax = tl.figures.axes_for(figure, "ladder")
        tl.plot_ladder(trace, ax=ax)

    ``kind`` is "ladder", "state_diagram", "timeline" or "header".
    """
    from matplotlib.figure import Figure, SubFigure

    if not isinstance(figure, (Figure, SubFigure)):
        raise TypeError(f"figure must be a matplotlib Figure, got {type(figure).__name__}")
    if kind not in MARGINS:
        raise ValueError(f"kind must be one of {', '.join(MARGINS)}, got {kind!r}")
    ax = figure.add_axes((0, 0, 1, 1))
    place(ax, MARGINS[kind])
    return ax


def new_axes(figsize: tuple[float, float], margins: dict) -> Axes:
    """A figure with one Axes, through pyplot so that notebooks show it inline."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=figsize)
    ax = fig.add_axes((0, 0, 1, 1))
    place(ax, margins)
    return ax


def place(ax: Axes, margins: dict) -> None:
    """Position ``ax`` in its figure leaving the given margins (inches) free."""
    w, h = ax.figure.get_size_inches()
    left, right = margins.get("left", 0.3) / w, margins.get("right", 0.3) / w
    top, bottom = margins.get("top", 0.3) / h, margins.get("bottom", 0.3) / h
    ax.set_position((left, bottom, max(0.05, 1 - left - right), max(0.05, 1 - top - bottom)))


def axes_points(ax: Axes) -> tuple[float, float]:
    """The Axes' width and height in points."""
    fig_w, fig_h = ax.figure.get_size_inches()
    pos = ax.get_position()
    return pos.width * fig_w * 72.0, pos.height * fig_h * 72.0


@lru_cache(maxsize=4096)
def _measure(text: str, size: float, weight: str, family: tuple | None) -> tuple[float, float]:
    prop = FontProperties(size=size, weight=weight, family=list(family) if family else None)
    lines = text.split("\n")
    width = 0.0
    for line in lines:
        w, _, _ = text_to_path.get_text_width_height_descent(line or " ", prop, ismath=False)
        width = max(width, w)
    return width, size * 1.2 * len(lines)


def measure(text: str, size: float, weight: str = "normal", lang: str | None = None) -> tuple[float, float]:
    """Width and height of a (possibly multi-line) text in points, without drawing it."""
    return _measure(text, float(size), weight, families(lang))


def clear_axes(ax: Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)

"""Figures drawn from a Trace or from the transition table; each draws on a matplotlib Axes it is
given (or a new one), returns that Axes and prints nothing. Every word comes from tcplesson.labels.

``figure_info(ax)`` and the artists' gids ("ladder.tx:3") say what a figure drew, for tests.
``axes_for(figure, kind)`` gives a Figure you own (a widget's) the layout a figure function uses
for a figure of its own; ``font(lang)`` gives your own matplotlib text the fonts the figures use, so
that Chinese labels of a figure you draw yourself render too (``ax.legend(prop=font())``).
"""
from ._common import artists, axes_for, figure_info
from ._fonts import font
from .header import plot_header
from .ladder import plot_ladder
from .state_diagram import plot_state_diagram
from .timeline import plot_timeline

__all__ = ["artists", "axes_for", "figure_info", "font", "plot_header", "plot_ladder", "plot_state_diagram", "plot_timeline"]

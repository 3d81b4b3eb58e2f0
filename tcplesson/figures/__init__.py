"""Figures drawn from a Trace or from the transition table; each draws on a matplotlib Axes it is
given (or a new one), returns that Axes and prints nothing. Every word comes from tcplesson.labels.

``figure_info(ax)`` and the artists' gids ("ladder.tx:3") say what a figure drew, for tests.
"""
from ._common import artists, figure_info
from .header import plot_header
from .ladder import plot_ladder
from .state_diagram import plot_state_diagram
from .timeline import plot_timeline

__all__ = ["artists", "figure_info", "plot_header", "plot_ladder", "plot_state_diagram", "plot_timeline"]

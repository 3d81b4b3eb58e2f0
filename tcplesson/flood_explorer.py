"""The SYN-flood explorer: sliders for the flood's rate, the backlog and SYN cookies; the queue plot redrawn.

Thin like the ladder explorer (explorer.py): a control changes -> build the Network -> simulate ->
draw the queue plot into the same Figure -> PNG into an ``ipywidgets.Image``. No protocol logic here.
"""
from __future__ import annotations

import html
import io

import ipywidgets as widgets
from matplotlib.figure import Figure

from . import labels
from .figures.queues import plot_queues
from .network import syn_flood
from .simulator import simulate

_RANGES = {"rate": (0, 1000, 50), "backlog": (0, 256, 1), "synack_retries": (0, 6, 1)}


class FloodExplorer(widgets.VBox):
    """A server under a SYN flood with 10 legitimate clients; ``controls`` maps names to widgets.

    Setting ``controls[name].value`` from Python re-simulates and redraws at once.
    """

    def __init__(self, *, rate: int = 200, backlog: int = 64, cookies: int = 1, synack_retries: int = 5,
                 duration: float = 10.0, delay: float = 0.01, seed: int = 0, lang: str | None = None) -> None:
        self.lang = labels.resolve(lang)
        t = lambda key: labels.text(key, self.lang)  # noqa: E731
        # wide enough that the longest label (the Chinese one for tcp_synack_retries) leaves room for the track
        style, wide = {"description_width": "initial"}, widgets.Layout(width="410px")
        values = dict(rate=rate, backlog=backlog, synack_retries=synack_retries)
        self.controls = {}
        for name, (low, high, step) in _RANGES.items():
            if not (isinstance(values[name], int) and low <= values[name] <= high):
                raise ValueError(f"{name} must be an integer between {low} and {high}, got {values[name]!r}")
            self.controls[name] = widgets.IntSlider(value=values[name], min=low, max=high, step=step,
                                                    description=t(f"flood.{name}"), style=style, layout=wide,
                                                    continuous_update=False)
        if cookies not in (0, 1, 2):
            raise ValueError(f"cookies must be 0, 1 or 2 (tcp_syncookies), got {cookies!r}")
        self.controls["cookies"] = widgets.ToggleButtons(
            options=[(t(f"flood.cookies{v}"), v) for v in (0, 1, 2)], value=cookies,
            description="tcp_syncookies", style=style)
        self.fixed = dict(duration=duration, delay=delay, seed=seed)
        self.figure = Figure(figsize=(10.0, 5.6), dpi=80)
        self.image = widgets.Image(format="png", layout=widgets.Layout(width="800px"))
        self.summary = widgets.HTML()
        c = self.controls
        super().__init__([widgets.HBox([c["rate"], c["backlog"]]), widgets.HBox([c["synack_retries"], c["cookies"]]),
                          self.image, self.summary])
        for control in c.values():
            control.observe(self._redraw, names="value")
        self.trace = None
        self._redraw()

    def __repr__(self) -> str:
        return labels.text("flood.repr", self.lang)

    def network(self):
        """The Network the controls stand for now."""
        c = self.controls
        return syn_flood(rate=c["rate"].value, duration=self.fixed["duration"], backlog=c["backlog"].value,
                         cookies=c["cookies"].value, synack_retries=c["synack_retries"].value)

    def _redraw(self, change=None) -> None:
        self.trace = simulate(self.network(), delay=self.fixed["delay"], seed=self.fixed["seed"])
        self.figure.clear()
        ax = self.figure.add_axes((0.08, 0.32, 0.9, 0.58))
        plot_queues(self.trace, ax=ax, lang=self.lang)
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", metadata={"Software": None})
        self.image.value = buffer.getvalue()
        self.summary.value = html.escape(self.trace.summary(self.lang))


def explore_flood(**settings) -> FloodExplorer:
    """The SYN-flood explorer (rate, backlog, cookies 0/1/2, synack_retries; duration, delay, seed, lang fixed)."""
    return FloodExplorer(**settings)

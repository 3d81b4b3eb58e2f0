"""Explorers: sliders that re-run a scenario and redraw its ladder diagram.

Thin by design: a control changes -> simulate -> draw the same figure again. No protocol logic
lives here.

Rendering path: the figure is a plain ``matplotlib.figure.Figure`` (not pyplot, so nothing is
displayed behind the explorer's back) rendered by Agg to PNG bytes and shown in an
``ipywidgets.Image``. Setting the image's value is one synchronous message to the page: no output
area is cleared and refilled (so nothing flickers), it needs no extra front-end extension, it works
the same in JupyterLab, Notebook and VS Code, and the PNG is exactly what ``figure`` holds, so a
test can compare them.
"""
from __future__ import annotations

import html
import io

import ipywidgets as widgets
from matplotlib.figure import Figure

from . import labels
from .figures import axes_for, plot_ladder
from .scenarios import resolve
from .simulator import simulate

# The controls an explorer offers, with the simulate() parameter each one sets.
_TIME_WAIT_CHOICES = [("choice.two_msl", None), ("choice.no_time_wait", 0.0)]  # (label key, value)
_HANDSHAKES = ("three-way", "two-way")
_CONTROLLED = ("loss", "drop", "delay", "jitter", "seed", "rto", "msl", "time_wait", "handshake")
_FIXED = ("client_isn", "server_isn", "max_retries", "delayed_ack", "auto_read", "isn_clock",
          "fin_timeout", "orphan_retries")  # no control


def _position(choices: list, value, name: str) -> int:
    """Where ``value`` is among a drop-down's choices: by position, because Dropdown(value=None)
    means "nothing chosen" and shows an empty box even when None is one of the choices."""
    values = [v for _, v in choices]
    if value not in values:
        raise ValueError(f"{name}={value!r} is not one of the explorer's choices {values}")
    return values.index(value)


DROP_MAX = 999  # the highest transmission number the drop box takes


def drops_text(drops) -> str:
    """The drop box's text for a list of transmission numbers: "4, 7"."""
    return ", ".join(str(n) for n in sorted(set(drops)))


def parse_drops(text: str) -> list[int]:
    """The transmission numbers in the drop box's text ("4, 7", "4 7", "4,7"); ValueError names a bad one."""
    if not isinstance(text, str):
        raise TypeError(f"the drop box holds text such as '4, 7', got {type(text).__name__}")
    numbers = []
    for word in text.replace(",", " ").split():
        if not word.isdigit() or not 1 <= int(word) <= DROP_MAX:
            raise ValueError(word)
        numbers.append(int(word))
    return sorted(set(numbers))


def _controls(defaults: dict, lang: str) -> dict[str, widgets.Widget]:
    t = lambda key: labels.text(key, lang)  # noqa: E731
    style = {"description_width": "initial"}
    wide = widgets.Layout(width="260px")
    return {
        "loss": widgets.FloatSlider(value=defaults.get("loss", 0.0), min=0.0, max=1.0, step=0.05,
                                    description=t("control.loss"), style=style, layout=wide,
                                    readout_format=".2f", continuous_update=False),
        # A plain text box, not a tags box: Chromium fires no change event when Enter is pressed in
        # a tags box's <input list=...> inside JupyterLab, and a student types "4, 7" and presses Enter.
        "drop": widgets.Text(value=drops_text(defaults.get("drop", ())), placeholder=t("control.drop_example"),
                             description=t("control.drop"), style=style, continuous_update=False,
                             layout=widgets.Layout(width="260px")),
        "delay": widgets.FloatSlider(value=defaults.get("delay", 0.05), min=0.01, max=1.0, step=0.01,
                                     description=t("control.delay"), style=style, layout=wide,
                                     readout_format=".3f", continuous_update=False),
        "jitter": widgets.FloatSlider(value=defaults.get("jitter", 0.0), min=0.0, max=0.5, step=0.01,
                                      description=t("control.jitter"), style=style, layout=wide,
                                      readout_format=".2f", continuous_update=False),
        "seed": widgets.BoundedIntText(value=defaults.get("seed", 0), min=0, max=99999,
                                       description=t("control.seed"), style=style, layout=widgets.Layout(width="160px")),
        "rto": widgets.FloatSlider(value=defaults.get("rto", 1.0), min=0.2, max=3.0, step=0.1,
                                   description=t("control.rto"), style=style, layout=wide,
                                   continuous_update=False),
        "msl": widgets.FloatSlider(value=defaults.get("msl", 120.0), min=1.0, max=120.0, step=1.0,
                                   description=t("control.msl"), style=style, layout=wide,
                                   continuous_update=False),
        "time_wait": widgets.Dropdown(options=[(t(key), value) for key, value in _TIME_WAIT_CHOICES],
                                      index=_position(_TIME_WAIT_CHOICES, defaults.get("time_wait"), "time_wait"),
                                      description=t("control.time_wait"), style=style,
                                      layout=widgets.Layout(width="200px")),
        "handshake": widgets.ToggleButtons(options=[(t(f"choice.{h}"), h) for h in _HANDSHAKES],
                                           value=defaults.get("handshake", "three-way"),
                                           description=t("control.handshake"), style=style),
    }


class Explorer(widgets.VBox):
    """A scenario with its controls, its ladder diagram, a step control and a summary line.

    ``controls`` maps parameter names to widgets; ``trace`` is the current Trace; ``figure`` the
    matplotlib Figure shown. Setting ``controls[name].value`` from Python re-simulates and redraws
    at once (tests and notebooks can drive it).
    """

    def __init__(self, scenario="lifecycle", *, width: float = 10.0, height: float = 6.5,
                 relative: bool = False, lang: str | None = None, **defaults) -> None:
        self.scenario = resolve(scenario)
        self.lang = labels.resolve(lang)  # fixed when the explorer is made: its widgets keep their words
        unknown = set(defaults) - set(_CONTROLLED) - set(_FIXED)
        if unknown:
            raise TypeError(f"explore() got unknown parameter(s): {', '.join(sorted(unknown))}; "
                            f"it takes {', '.join(_CONTROLLED + _FIXED)}")
        self.fixed = {k: defaults.pop(k) for k in _FIXED if k in defaults}
        self.relative = relative
        self.controls = _controls(defaults, self.lang)
        for name, value in defaults.items():  # a widget would silently clip what it cannot show
            control = self.controls[name]
            if name == "drop":
                if any(isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= DROP_MAX for n in value):
                    raise ValueError(f"drop={list(value)!r}: the drop box takes transmission numbers 1 to {DROP_MAX}")
                continue
            if control.value != value:
                bounds = getattr(control, "min", None), getattr(control, "max", None)
                raise ValueError(f"{name}={value!r} is outside what the {name} control allows "
                                 f"({bounds[0]} to {bounds[1]})")
        self.figure = Figure(figsize=(width, height), dpi=80)
        self.image = widgets.Image(format="png", layout=widgets.Layout(width=f"{width * 80:.0f}px"))
        self.step = widgets.IntSlider(value=0, min=0, max=0, description=labels.text("control.step", self.lang),
                                      layout=widgets.Layout(width="420px"))
        self.play = widgets.Play(value=0, min=0, max=0, interval=700, description=labels.text("control.play", self.lang))
        widgets.jslink((self.play, "value"), (self.step, "value"))
        self.summary = widgets.HTML()
        self.trace = None
        c = self.controls
        rows = [
            widgets.HBox([c["loss"], c["drop"], c["seed"]]),
            widgets.HBox([c["delay"], c["jitter"], c["rto"]]),
            widgets.HBox([c["msl"], c["time_wait"], c["handshake"]]),
            widgets.HBox([self.play, self.step]),
        ]
        super().__init__(rows + [self.image, self.summary])
        for control in c.values():
            control.observe(self._resimulate, names="value")
        self.step.observe(self._redraw, names="value")
        self._resimulate()

    def __repr__(self) -> str:  # what a notebook shows before its widgets are rendered
        return labels.text("explorer.repr", self.lang, scenario=self.scenario.name)

    def params(self) -> dict:
        """The simulate() keyword arguments the controls stand for now."""
        values = {name: control.value for name, control in self.controls.items()}
        values["drop"] = parse_drops(values["drop"])  # ValueError: a word that is not a number
        return {**values, **self.fixed}

    def _resimulate(self, change=None) -> None:
        try:
            params = self.params()
        except ValueError as bad:
            self.summary.value = html.escape(labels.text("explorer.bad_drop", self.lang, word=str(bad), top=DROP_MAX),
                                             quote=False)
            return
        # Stepping through a run and then changing a control keeps the step where it still makes
        # sense: a step at the end stays at the (new) end, an earlier one stays where it was.
        at_end = self.trace is None or self.step.value >= len(self.trace.transmissions)
        self.trace = simulate(self.scenario, **params)
        last = len(self.trace.transmissions)
        wanted = last if at_end else min(self.step.value, last)
        if self.step.value > last:
            self.step.value = wanted  # (lowered before the maximum shrinks: no clipping)
        self.play.max = self.step.max = last
        if self.step.value != wanted:
            self.step.value = wanted  # triggers _redraw
        else:
            self._redraw()

    def _redraw(self, change=None) -> None:
        upto = self.step.value
        self.figure.clear()
        ax = axes_for(self.figure, "ladder")
        plot_ladder(self.trace, ax=ax, relative=self.relative, upto=upto, lang=self.lang)
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", metadata={"Software": None})
        self.image.value = buffer.getvalue()
        parts = [self.trace.summary(self.lang)]
        if upto < len(self.trace.transmissions):
            parts.insert(0, labels.text("explorer.showing", self.lang, upto=upto, n=len(self.trace.transmissions)))
        words = html.escape(labels.text("summary.sep", self.lang).join(parts))
        self.summary.value = f"<b>{html.escape(self.scenario.name)}</b>: {words}"


def explore(scenario="lifecycle", **defaults) -> Explorer:
    """An explorer for a named scenario (see tl.SCENARIOS) or your own Scenario.

    Keyword arguments set the controls' starting values (loss, drop, delay, jitter, seed, rto,
    msl, time_wait, handshake) or fix parameters without a control (client_isn, server_isn,
    max_retries, delayed_ack); ``relative=True`` shows sequence numbers relative to each ISN;
    ``lang`` ("en", "zh"; default: the language tl.set_language() chose) sets its words.
    """
    return Explorer(scenario, **defaults)

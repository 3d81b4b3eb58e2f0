"""The failure explorer of lesson 12: one connection, something that breaks it, and what each side does.

A subclass of the ladder explorer (explorer.py): its own controls choose the failure (a killed
process, a host that loses power, one that loses power and comes back, a pulled cable), whose side it
hits, when, how long a cable stays out, whether the survivor has keep-alive and whether it has data
to send; each change builds the scenario anew and re-runs it. No protocol logic here.
"""
from __future__ import annotations

import ipywidgets as widgets

from . import labels
from .explorer import Explorer
from .scenarios import Scenario

KINDS = ("exit", "crash", "reboot", "link_down")  # a killed process, power lost, power lost and back, cable out
KEEPALIVE = (5.0, 1.0, 3)  # short, so that a run shows it: first probe after 5 idle seconds, 3 probes 1 s apart


def failure_scenario(kind: str, who: str, at: float, back_after: float, sends: bool, reboot_after: float = 3.0) -> Scenario:
    """The connection opens; ``at`` s later ``who``'s side fails in the way ``kind`` says; a pulled
    cable comes back ``back_after`` s later (0: never); a crashed host comes back ``reboot_after``
    s later for "reboot"; with ``sends`` the other side writes 100 bytes 1 s after the failure."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if who not in ("client", "server"):
        raise ValueError(f"who must be 'client' or 'server', got {who!r}")
    other = "server" if who == "client" else "client"
    steps = [("server", "listen", 0), ("client", "connect", 0)]
    if kind == "reboot":
        steps += [(who, "crash", f"ESTABLISHED+{at:g}"), (who, "reboot", f"ESTABLISHED+{at + reboot_after:g}")]
    else:
        steps.append((who, kind, f"ESTABLISHED+{at:g}"))
    if kind == "link_down" and back_after > 0:
        steps.append((who, "link_up", f"ESTABLISHED+{at + back_after:g}"))
    if sends:
        steps.append((other, "send", f"ESTABLISHED+{at + 1:g}", b"d" * 100))
    return Scenario(f"{kind}-{who}", steps, f"the {who}'s side: {kind} {at:g} s after the connection opens")


class FailureExplorer(Explorer):
    """The ladder explorer with a failure: ``failure_controls`` maps kind, who, at, back_after,
    keepalive and sends to their widgets (setting one re-runs at once, like ``controls``)."""

    def __init__(self, *, kind: str = "crash", who: str = "client", at: float = 1.0, back_after: float = 0.0,
                 keepalive: bool = False, sends: bool = True, lang: str | None = None, **defaults) -> None:
        lang = labels.resolve(lang)
        t = lambda key: labels.text(key, lang)  # noqa: E731
        failure_scenario(kind, who, at, back_after, sends)  # checks the values before any widget is made
        style, wide = {"description_width": "initial"}, widgets.Layout(width="300px")
        self.failure_controls = {
            "kind": widgets.Dropdown(options=[(t(f"failure.{k}"), k) for k in KINDS], value=kind,
                                     description=t("control.failure"), style=style, layout=wide),
            "who": widgets.ToggleButtons(options=[(t("client"), "client"), (t("server"), "server")], value=who,
                                         description=t("control.who"), style=style),
            "at": widgets.FloatSlider(value=at, min=0.1, max=10.0, step=0.1, description=t("control.at"),
                                      style=style, layout=wide, continuous_update=False),
            "back_after": widgets.FloatSlider(value=back_after, min=0.0, max=60.0, step=0.5,
                                              description=t("control.back_after"), style=style, layout=wide,
                                              continuous_update=False),
            "keepalive": widgets.Checkbox(value=keepalive, description=t("control.keepalive"), style=style),
            "sends": widgets.Checkbox(value=sends, description=t("control.sends"), style=style),
        }
        for name in ("at", "back_after"):
            control = self.failure_controls[name]
            if control.value != locals()[name]:
                raise ValueError(f"{name}={locals()[name]!r} is outside what the control allows "
                                 f"({control.min} to {control.max})")
        super().__init__(self._scenario(), lang=lang, **defaults)
        f = self.failure_controls
        self.children = (widgets.HBox([f["kind"], f["who"]]), widgets.HBox([f["at"], f["back_after"]]),
                         widgets.HBox([f["keepalive"], f["sends"]])) + self.children
        for control in f.values():
            control.observe(self._resimulate, names="value")

    def _scenario(self) -> Scenario:
        f = self.failure_controls
        return failure_scenario(f["kind"].value, f["who"].value, f["at"].value, f["back_after"].value, f["sends"].value)

    def params(self) -> dict:
        keepalive = self.failure_controls["keepalive"].value
        return {**super().params(), "keepalive": KEEPALIVE if keepalive else None}

    def _resimulate(self, change=None) -> None:
        if hasattr(self, "failure_controls"):
            self.scenario = self._scenario()
        super()._resimulate(change)


def explore_failure(**settings) -> FailureExplorer:
    """The failure explorer: kind ("exit", "crash", "reboot", "link_down"), who, at (s after the
    connection opens), back_after (a cable's time out; 0: for good), keepalive (5 s idle, 3 probes
    1 s apart), sends (the survivor writes 100 bytes); and the ladder explorer's own settings."""
    return FailureExplorer(**settings)

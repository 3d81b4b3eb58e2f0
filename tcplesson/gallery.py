"""Render every figure of the course to PNG, to look at them all at once:
``python -m tcplesson.gallery OUT`` (``--lang zh`` for the Chinese figures).

The same run twice writes the same bytes (Agg, fixed dpi, no software/date metadata), so the
gallery can also be compared across changes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import labels

ISNS = {"client_isn": 100, "server_isn": 300}  # small numbers are easier to read on a slide
DPI = 100


def _items():
    """(file name, function that draws and returns an Axes), in the order a course meets them."""
    from . import figures
    from .figures.queues import plot_queues
    from .network import accept_queue_full, syn_flood
    from .scenarios import SCENARIOS, Scenario
    from .segment import Flags, Segment
    from .simulator import simulate

    items = []
    for name in SCENARIOS:
        items.append((f"ladder_{name}", lambda name=name: figures.plot_ladder(simulate(name, **ISNS))))
    variants = [
        ("ladder_lifecycle_drop1", dict(drop=[1])),
        ("ladder_lifecycle_drop3", dict(drop=[3])),
        ("ladder_lifecycle_drop7", dict(drop=[7])),
        ("ladder_lifecycle_drop7_time_wait0", dict(drop=[7], time_wait=0)),
        ("ladder_lifecycle_lossy_jitter", dict(loss=0.2, jitter=0.03, seed=3, delayed_ack=0.2)),
    ]
    for fname, kw in variants:
        items.append((fname, lambda kw=kw: figures.plot_ladder(simulate("lifecycle", **ISNS, **kw))))
    items += [
        ("ladder_handshake_gives_up", lambda: figures.plot_ladder(simulate("handshake", drop=range(1, 8), **ISNS))),
        ("ladder_old-duplicate-syn_two-way",
         lambda: figures.plot_ladder(simulate("old-duplicate-syn", handshake="two-way", **ISNS))),
        ("ladder_lifecycle_random_isn", lambda: figures.plot_ladder(simulate("lifecycle", seed=7))),
        ("ladder_lifecycle_relative", lambda: figures.plot_ladder(simulate("lifecycle", seed=7), relative=True)),
        ("ladder_lifecycle_step4", lambda: figures.plot_ladder(simulate("lifecycle", **ISNS), upto=4)),
        ("ladder_lifecycle_gives_up_in_last_ack",
         lambda: figures.plot_ladder(simulate("lifecycle", drop=[7, 9, 11, 13], max_retries=3, **ISNS))),
        ("ladder_old-duplicate_while_connecting",  # two sends at one instant (RFC 9293 figure 8)
         lambda: figures.plot_ladder(simulate(Scenario("old-duplicate-while-connecting", [
             ("server", "listen", 0), ("client", "inject", 0, Segment(Flags.SYN, 90)), ("client", "connect", 0)]),
             drop=[2], **ISNS))),
        ("ladder_in_a_widget_figure", _widget_ladder),
        ("diagram_table", lambda: figures.plot_state_diagram()),
        ("diagram_table_errors", lambda: figures.plot_state_diagram(errors=True)),
        ("diagram_lifecycle_client", lambda: figures.plot_state_diagram(simulate("lifecycle"), "client")),
        ("diagram_lifecycle_server", lambda: figures.plot_state_diagram(simulate("lifecycle"), "server")),
        ("diagram_simultaneous-close_client",
         lambda: figures.plot_state_diagram(simulate("simultaneous-close"), "client")),
        ("diagram_refused_client", lambda: figures.plot_state_diagram(simulate("refused"), "client")),
        ("diagram_handshake_server", lambda: figures.plot_state_diagram(simulate("handshake"), "server")),
        ("diagram_lifecycle_client_errors",
         lambda: figures.plot_state_diagram(simulate("lifecycle"), "client", errors=True)),
        ("header_syn_ack", lambda: figures.plot_header(simulate("handshake", **ISNS).transmissions[1])),
        ("header_fin_ack", lambda: figures.plot_header(simulate("lifecycle", **ISNS).transmissions[3])),
        ("timeline_lifecycle", lambda: figures.plot_timeline(simulate("lifecycle", **ISNS))),
        ("timeline_lifecycle_drop7", lambda: figures.plot_timeline(simulate("lifecycle", drop=[7], **ISNS))),
        ("timeline_simultaneous-close", lambda: figures.plot_timeline(simulate("simultaneous-close", **ISNS))),
        ("timeline_handshake", lambda: figures.plot_timeline(simulate("handshake", **ISNS))),
        ("timeline_handshake_gives_up", lambda: figures.plot_timeline(simulate("handshake", drop=range(1, 8), **ISNS))),
        ("queues_syn-flood_cookies0", lambda: plot_queues(simulate(syn_flood(cookies=0), delay=0.01))),
        ("queues_syn-flood_cookies1", lambda: plot_queues(simulate(syn_flood(cookies=1), delay=0.01))),
        ("ladder_accept-queue-full_client4", lambda: figures.plot_ladder(simulate(accept_queue_full()).connection("client4"))),
    ]
    return items


def _widget_ladder():
    """A ladder as the explorer draws it: on a Figure it owns (10 x 6.5 in), laid out by axes_for."""
    from matplotlib.figure import Figure

    from . import figures
    from .simulator import simulate

    fig = Figure(figsize=(10, 6.5), dpi=80)
    ax = figures.axes_for(fig, "ladder")
    return figures.plot_ladder(simulate("lifecycle", drop=[3], **ISNS), ax=ax)


def save(ax, path) -> None:
    """Save an Axes' figure as a reproducible PNG and close it."""
    import matplotlib.pyplot as plt

    ax.figure.savefig(path, dpi=DPI, metadata={"Software": None}, facecolor="white")
    plt.close(ax.figure)


def render(outdir, lang: str | None = None) -> list[Path]:
    """Write every gallery PNG into ``outdir`` (created if needed), with the words of ``lang``
    (default: the language tl.set_language() chose), and return their paths."""
    before = labels.get_language()
    labels.set_language(labels.resolve(lang))
    try:
        return _render(Path(outdir))
    finally:
        labels.set_language(before)


def _render(out: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    plt.switch_backend("Agg")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, draw in _items():
        path = out / f"{name}.png"
        save(draw(), path)
        paths.append(path)
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tcplesson.gallery",
                                     description="Render every figure of the course to PNG.")
    parser.add_argument("outdir")
    parser.add_argument("--lang", default="en", choices=labels.languages())
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    for path in render(args.outdir, args.lang):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Both endpoints' states over time, one bar per state, one row per side.

Read under the ladder: the ladder shows what crossed the wire, this shows how long each side sat
in each state (TIME-WAIT's 240 s is the long bar, cut like the ladder's time axis). A state name
goes inside its bar when it fits, otherwise just above (client) or below (server) with a tick.

Only state changes make a stretch of time busy here (the bars are all this figure draws), so
retransmissions inside one state do not chop its bar into pieces, and a quiet stretch is cut only
when the shortest state would otherwise be too thin to see. Each side's last state has no
end: its bar runs on past the trace's last event to the right edge and ends in an arrowhead. The
time ticks sit exactly at the state changes.
"""
from __future__ import annotations

from matplotlib.lines import Line2D
import math

from matplotlib.patches import Polygon, Rectangle

from .. import labels
from ._fonts import font
from ..trace import SIDES
from . import _timescale
from ._common import (MARGINS, SIDE_COLOURS, STATE_FILLS, axes_points, check_ax, check_fontsize, check_lang,
                      check_trace, measure, new_axes, record)

_ROW_Y = {"client": 1.0, "server": 0.0}
_BAR = 0.42


def plot_timeline(trace, ax=None, *, compress="auto", fontsize: float = 12, lang: str | None = None):
    """Draw each side's states over time as bars and return the Axes (``compress`` as in plot_ladder)."""
    trace = check_trace(trace)
    check_ax(ax)
    if not (compress == "auto" or compress is False or
            (isinstance(compress, (int, float)) and not isinstance(compress, bool) and compress > 0)):
        raise ValueError(f"compress must be 'auto', False or a positive number of seconds, got {compress!r}")
    fs = check_fontsize(fontsize)
    lang = check_lang(lang)
    if ax is None:
        ax = new_axes((10.0, 3.2), MARGINS["timeline"])
    _draw(ax, trace, compress, fs, lang)
    return ax


def _draw(ax, trace, compress, fs, lang) -> None:
    w_pt, h_pt = axes_points(ax)
    words_font = font(lang)
    delay = trace.typical_delay()
    changes = sorted({round(t, 9) for who in SIDES for t, _ in trace.states[who]})
    busy = [(t, t) for t in changes]
    # the shortest state must stay readable, no more: a run with few changes needs no cut at all
    gaps = [b - a for a, b in zip(changes, changes[1:]) if b - a > 1e-9]
    unit = min(gaps) if gaps else delay
    t1 = max([trace.end_time] + changes)
    pad = 0.04 * w_pt
    # room after the last event for the open-ended bars: the widest last state's name and a point
    tail = max(measure(labels.state_label(trace.states[who][-1][1], lang, sep=" "), fs, "bold", lang)[0] for who in SIDES)
    tail = max(tail + 34.0, 0.1 * w_pt)
    scale = _timescale.build(busy, t0=0.0, t1=t1, available=max(w_pt - 2 * pad - tail, 0.3 * w_pt),
                             row=fs * 2.2, unit=unit, compress=compress)
    X = lambda t: pad + scale(t)  # noqa: E731
    right = max(w_pt, X(t1) + tail + pad)
    x_end = right - pad / 2  # where the open-ended bars point
    ax.set_xlim(0, right)
    ax.set_ylim(-1.0, 2.0)
    for spine in ("top", "right", "left"):
        ax.spines[spine].set_visible(False)
    info = {"bars": {w: [] for w in SIDES}, "cuts": [(c.start, c.end) for c in scale.cuts]}
    y_pt = h_pt / 3.0  # points per y unit
    tip = min(14.0, tail / 3)
    for who in SIDES:
        states = trace.states[who]
        y = _ROW_Y[who]
        tiers: list[list[tuple[float, float]]] = [[], [], []]
        for k, (t, state) in enumerate(states):
            last = k + 1 == len(states)
            t_next = states[k + 1][0] if not last else math.inf
            x0, x1 = X(t), (X(t_next) if not last else x_end)
            if last:  # it never ends: a bar to the right edge, pointed like an arrow
                lo, hi = y - _BAR / 2, y + _BAR / 2
                bar = Polygon([(x0, lo), (x1 - tip, lo), (x1, y), (x1 - tip, hi), (x0, hi)], closed=True,
                              facecolor=STATE_FILLS[state], edgecolor="#555555", lw=1.0, zorder=2,
                              gid=f"timeline.bar:{who}:{k}")
            else:
                bar = Rectangle((x0, y - _BAR / 2), max(x1 - x0, 0.0), _BAR, facecolor=STATE_FILLS[state],
                                edgecolor="#555555", lw=1.0, zorder=2, gid=f"timeline.bar:{who}:{k}")
            ax.add_artist(bar)
            name = labels.state_label(state, lang, sep=" ")
            tw, _ = measure(name, fs, "bold", lang)
            # the widest stretch of the bar that no cut interrupts
            pieces, start = [], x0
            for cut in scale.cuts:
                c0, c1 = pad + cut.pos, pad + cut.pos + cut.length
                if c1 <= x0 or c0 >= x1:
                    continue
                pieces.append((start, max(start, c0 + 0.2 * cut.length)))
                start = min(x1, c1 - 0.2 * cut.length)
            pieces.append((start, x1 - (tip if last else 0.0)))
            p0, p1 = max(pieces, key=lambda p: p[1] - p[0])
            if p1 - p0 >= tw + 8:
                ax.text((p0 + p1) / 2, y, name, ha="center", va="center", fontsize=fs, fontweight="bold",
                        zorder=4, gid=f"timeline.name:{who}:{k}", **words_font)
            else:
                # outside the bar: above for the client, below for the server, on the first free tier
                cx = (p0 + p1) / 2
                span = (cx - tw / 2 - 8, cx + tw / 2 + 8)
                tier = next((i for i, used in enumerate(tiers) if all(span[1] <= a or span[0] >= b for a, b in used)),
                            len(tiers) - 1)
                tiers[tier].append(span)
                sign = 1 if who == "client" else -1
                ty = y + sign * (_BAR / 2 + (fs * 0.9 + tier * fs * 1.35) / y_pt)
                ax.add_artist(Line2D([cx, cx], [y + sign * _BAR / 2, ty - sign * fs * 0.55 / y_pt], color="#777777",
                                     lw=0.8, zorder=1, gid=f"timeline.leader:{who}:{k}"))
                ax.text(cx, ty, name, ha="center", va="center", fontsize=fs, fontweight="bold", zorder=4,
                        gid=f"timeline.name:{who}:{k}", **words_font)
            info["bars"][who].append((t, t_next, state))
    for k, cut in enumerate(scale.cuts):
        x0, x1 = pad + cut.pos, pad + cut.pos + cut.length
        ax.add_artist(Rectangle((x0 + 0.2 * cut.length, -0.45), 0.6 * cut.length, 1.9, facecolor="white",
                                edgecolor="none", zorder=3, gid=f"timeline.cut:{k}"))
        for row_y in _ROW_Y.values():
            for xx in (x0 + 0.2 * cut.length, x1 - 0.2 * cut.length):
                zig_y = [row_y - 0.3 + 0.6 * i / 4 for i in range(5)]
                zig_x = [xx + (3 if i % 2 else -3) for i in range(5)]
                ax.add_artist(Line2D(zig_x, zig_y, color="#444444", lw=1.0, zorder=3))
        ax.text((x0 + x1) / 2, 0.5, labels.text("skip", lang, seconds=labels.seconds(cut.hidden, lang)),
                ha="center", va="center", fontsize=max(11, fs - 1), style="italic", color="#333333", zorder=4,
                gid=f"timeline.cut_text:{k}", **words_font)
    ticks = _timescale.event_ticks(changes, X, 45.0)
    ax.set_xticks([x for _, x, _ in ticks], labels=[s for _, _, s in ticks])
    info["ticks"] = [(t, s) for t, _, s in ticks]
    ax.tick_params(axis="x", labelsize=max(11, fs - 1))
    ax.set_xlabel(labels.text("time_axis", lang), fontsize=max(11, fs - 1), **words_font)
    ax.set_yticks([_ROW_Y["client"], _ROW_Y["server"]],
                  labels=[labels.text("client", lang), labels.text("server", lang)], **words_font)
    ax.tick_params(axis="y", labelsize=fs + 1, length=0)
    for tick, who in zip(ax.get_yticklabels(), ("client", "server")):
        tick.set_color(SIDE_COLOURS[who])
        tick.set_fontweight("bold")
    record(ax, "timeline", info)

"""The ladder (sequence) diagram: the figure the whole course is read from.

Time runs down on a true scale (long quiet stretches cut, see _timescale), the client's line on
the left, the server's on the right. Each transmission is an arrow from the sender's line at the
moment it was sent to the receiver's line at the moment it arrived, so its slant is the real
delay. A lost segment stops half way, dashed, with a cross and the word "lost": colour is never the
only sign. States are written beside each line where they change, the TIME-WAIT interval and the
retransmission waits are brackets beside the line of the side that waits.

Layout is done in points before anything is drawn (the Axes' y unit is one point of the Axes as
sized at drawing time), so labels can be kept apart by measuring them, not by hoping.

The time axis has a tick exactly at each time something happens (a segment leaves or arrives, a
state changes, a timer fires), printed with one number of decimals, as few as say the times
exactly. Segments sent at the same instant by one side are drawn a row apart, each with its own tick
of the same time. The last wait before a side gives up gets its bracket ("RTO 8 s, then give up")
like the waits before each retransmission.

On an Axes it makes itself the figure grows to fit the trace. On an Axes it is given, a trace
that does not fit gets smaller text (down to 8 pt), so that every distance stays in proportion;
``tl.figures.axes_for(figure, "ladder")`` gives a Figure one owns the layout of the figures this
module makes (matplotlib's default subplot margins leave a quarter of it empty).
"""
from __future__ import annotations

import math
from collections import defaultdict

from matplotlib.lines import TICKLEFT, Line2D
from matplotlib.patches import FancyArrowPatch, Rectangle
from matplotlib.transforms import ScaledTranslation

from .. import labels
from ._fonts import font
from ..segment import Flags
from ..states import State
from ..trace import SIDES
from . import _place, _timescale
from ._common import (BLACK, GREY, MARGINS, SIDE_COLOURS, STATE_FILLS, axes_points, check_ax, check_fontsize,
                      check_lang, check_trace, clear_axes, measure, new_axes, place, record)

_EPS = 1e-9
_MARGINS = MARGINS["ladder"]  # inches, when we make the figure
_DEFAULT_SIZE = (10.0, 7.5)
_MAX_HEIGHT = 60.0  # inches: a figure never grows past this, however long the trace
_MIN_FIT_FS = 8.0  # points: the smallest text a ladder shrinks to, to fit an Axes it is given


def plot_ladder(trace, ax=None, *, relative: bool = False, upto: int | None = None, compress="auto",
                fontsize: float = 12, lang: str | None = None):
    """Draw ``trace`` as a ladder diagram on ``ax`` (a new figure if None) and return the Axes.

    ``relative``: sequence numbers relative to each side's first SYN, as Wireshark shows them.
    ``upto``: draw only the first ``upto`` transmissions and the states up to the moment the last
    of them arrives (for a step control; the layout stays that of the whole trace, so nothing
    jumps between steps). ``compress``: "auto" cuts long quiet stretches only as needed to fit,
    False never cuts, a number cuts every quiet stretch longer than that many seconds.
    ``fontsize``: on a given ``ax`` too small for the trace at that size, the text is made smaller
    (not under 8 pt) rather than overlap.
    """
    trace = check_trace(trace)
    check_ax(ax)
    if not isinstance(relative, bool):
        raise TypeError(f"relative must be True or False, got {relative!r}")
    n = len(trace.transmissions)
    if upto is not None:
        if isinstance(upto, bool) or not isinstance(upto, int):
            raise TypeError(f"upto must be an integer or None, got {type(upto).__name__}")
        if not 0 <= upto <= n:
            raise ValueError(f"upto must be between 0 and {n} (the number of transmissions), got {upto}")
    if not (compress == "auto" or compress is False or
            (isinstance(compress, (int, float)) and not isinstance(compress, bool) and compress > 0)):
        raise ValueError(f"compress must be 'auto', False or a positive number of seconds, got {compress!r}")
    fontsize = check_fontsize(fontsize)
    lang = check_lang(lang)

    created = ax is None
    if created:
        ax = new_axes(_DEFAULT_SIZE, _MARGINS)
    layout = _Layout(trace, ax, fontsize, lang, compress, grow=created, fit=False)
    over = layout.overflow()
    if not created and over > 1.0:
        # an Axes we were given and cannot grow: smaller text (down to 8 pt) keeps every distance
        # in proportion; only what still does not fit then squeezes time
        smaller = max(min(fontsize, _MIN_FIT_FS), fontsize / over)
        layout = _Layout(trace, ax, smaller, lang, compress, grow=False, fit=True)
    _Drawing(layout, relative, upto).draw()
    return ax


class _Layout:
    """Where everything goes, in points, for the whole trace (independent of ``upto``)."""

    def __init__(self, trace, ax, fontsize, lang, compress, grow, fit) -> None:
        self.trace, self.ax, self.fs, self.lang = trace, ax, fontsize, lang
        self.row = fontsize * 1.5
        self.note_fs = max(min(fontsize, 11.0), fontsize - 1)
        txs = trace.transmissions
        self.delay = trace.typical_delay()
        # a connection out of a run of many hosts starts when it does, not at the run's 0
        self.t0 = min([t for who in SIDES for t, _ in trace.states[who][:1]] + [tx.sent_at for tx in txs[:1]])
        self.notes = trace.segment_notes(lang, brief=True)

        # --- the gutters beside each line: state names, outcomes, bracket labels ---
        self.bracket_gap, self.text_gap = 10.0, 22.0
        self.rto = _rto_waits(trace, lang)
        self.time_wait = _time_wait_brackets(trace, lang)
        widths = {who: [] for who in SIDES}
        for who in SIDES:
            for _, state in trace.states[who]:
                widths[who].append(measure(labels.state_label(state, lang, sep=" "), fontsize, "bold", lang)[0] + 10)
            if trace.outcomes.get(who):
                widths[who].append(measure(_outcome_text(trace.outcomes[who], lang), self.note_fs, "bold", lang)[0])
        for wait in self.rto:
            widths[wait["who"]].append(measure(wait["label"], self.note_fs, "normal", lang)[0])
        for bracket in self.time_wait:
            widths[bracket["who"]].append(measure(bracket["label"], fontsize, "bold", lang)[0])
        self.gutter = {who: self.text_gap + max(widths[who] + [60.0]) + 6 for who in SIDES}

        # --- time: busy stretches, bursts, the scale ---
        self.lost_time = {}
        busy, bursts = [], defaultdict(int)
        self.rank = {}
        groups = defaultdict(list)
        for tx in txs:
            groups[(tx.sender, round(tx.sent_at, 9))].append(tx)
        for (_, t), members in groups.items():
            bursts[t] = max(bursts[t], len(members))
            for k, tx in enumerate(members):
                self.rank[tx.index] = k
        for tx in txs:
            end = tx.arrived_at if not tx.lost else tx.sent_at + self.delay / 2
            self.lost_time[tx.index] = end
            busy.append((tx.sent_at, end))
            k = self.rank[tx.index]
            if k:  # the k-th of a burst also ends k rows lower: room after its end too, before any cut
                bursts[round(end, 9)] = max(bursts[round(end, 9)], k + 1)
        for who in SIDES:
            busy += [(t, t) for t, _ in trace.states[who]]
        busy += [(h.time, h.time) for h in trace.happenings if h.kind in ("timer", "outcome")]
        self.t1 = max([trace.end_time] + [b for _, b in busy])
        protect = [(w["start"], w["end"]) for w in self.rto]

        self.width, self.height = axes_points(ax)
        self.header = 2.6 * self.row
        self.footer = 1.4 * self.row + (1.2 * self.row if any(trace.outcomes.values()) else 0.0)
        self.lane = max(80.0, self.width - self.gutter["client"] - self.gutter["server"])
        self.fit = fit  # squeeze time (down to half the readable scale) rather than overflow the Axes
        self.scale = self._scale(busy, bursts, protect, compress)
        if grow and self.scale.length > self._available() + 1:
            fig = ax.figure
            w_in, h_in = fig.get_size_inches()
            extra = (self.scale.length - self._available()) / 72.0
            fig.set_size_inches(w_in, min(_MAX_HEIGHT, h_in + extra + 0.05))
            place(ax, _MARGINS)
            self.width, self.height = axes_points(ax)
            self.scale = self._scale(busy, bursts, protect, compress)

        for wait in self.rto:  # a wait that starts at the k-th send of a burst starts k rows lower
            wait["offset"] = self.rank[wait["from"]] * self.row
        self.x = {"client": 0.0, "server": self.lane}  # points
        self.bottom = self.scale.length + self.footer

        # --- each transmission's start and end, in points ---
        self.geom = {}
        for tx in txs:
            j = self.rank[tx.index] * self.row
            x0, x1 = self.x[tx.sender], self.x[tx.receiver]
            y0 = self.scale(tx.sent_at) + j
            if tx.lost:
                xe, ye = (x0 + x1) / 2, self.scale(self.lost_time[tx.index]) + j
            else:
                xe, ye = x1, self.scale(tx.arrived_at) + j
            self.geom[tx.index] = (x0, y0, xe, ye)

    def overflow(self) -> float:
        """How many times the Axes' height the figure needs (1 or less: it fits)."""
        return (self.scale.length + self.header + self.footer) / max(self.height, 1.0)

    def _available(self) -> float:
        return max(self.height - self.header - self.footer, 4 * self.row)

    def _scale(self, busy, bursts, protect, compress):
        return _timescale.build(busy, t0=self.t0, t1=self.t1, available=self._available(), row=self.row * 1.15,
                                unit=self.delay, compress=compress, protect=protect, bursts=dict(bursts),
                                fit=self.fit)


class _Drawing:
    def __init__(self, layout: _Layout, relative: bool, upto: int | None) -> None:
        self.L, self.relative = layout, relative
        trace = layout.trace
        n = len(trace.transmissions)
        self.upto = n if upto is None else upto
        if self.upto >= n:
            self.until = math.inf
        elif self.upto == 0:
            self.until = -math.inf
        else:
            self.until = max(layout.lost_time[tx.index] for tx in trace.transmissions[:self.upto])
        self.ax = layout.ax
        self.obstacles = _place.Obstacles()
        self.info = {"arrows": {}, "lost": {}, "labels": {}, "notes": {}, "states": {w: [] for w in SIDES},
                     "state_texts": {w: [] for w in SIDES}, "brackets": [], "cuts": [], "upto": self.upto,
                     "relative": relative}

    # coordinates: x in lane units (client 0, server 1), y in points downward
    def X(self, x_pt: float) -> float:
        return x_pt / self.L.lane

    def draw(self) -> None:
        L, ax = self.L, self.ax
        clear_axes(ax)
        ax.set_xlim(-L.gutter["client"] / L.lane, 1 + L.gutter["server"] / L.lane)
        ax.set_ylim(L.bottom, -L.header)
        self._lines_and_cuts()
        self._header()
        self._time_ticks()
        shown = L.trace.transmissions[:self.upto]
        for tx in shown:  # every arrow is an obstacle before any label is placed
            x0, y0, x1, y1 = L.geom[tx.index]
            self.obstacles.add(((x0, y0), (x1, y1)), "arrow")
        for tx in shown:
            self._transmission(tx)
        self._gutters()
        record(ax, "ladder", self.info)

    # --- the two lines, cut marks, the header ---
    def _lines_and_cuts(self) -> None:
        L, ax = self.L, self.ax
        top, end = -0.45 * L.row, L.scale.length + 0.8 * L.row
        zig = 5.0
        for who in SIDES:
            xs, ys = [], []
            x = self.X(L.x[who])
            xs.append(x)
            ys.append(top)
            for cut in L.scale.cuts:
                a, b = cut.pos + 0.2 * cut.length, cut.pos + 0.8 * cut.length
                steps = 6
                xs.append(x)
                ys.append(a)
                for k in range(1, steps):
                    xs.append(self.X(L.x[who] + (zig if k % 2 else -zig)))
                    ys.append(a + (b - a) * k / steps)
                xs.append(x)
                ys.append(b)
            xs.append(x)
            ys.append(end)
            ax.add_artist(Line2D(xs, ys, color=BLACK, lw=1.6, zorder=1, gid=f"ladder.line:{who}"))
        x0, x1 = ax.get_xlim()
        for k, cut in enumerate(L.scale.cuts):
            band = Rectangle((x0, cut.pos), x1 - x0, cut.length, facecolor="#F2F2F2", edgecolor="none",
                             zorder=0, gid=f"ladder.cut:{k}")
            ax.add_artist(band)
            words = labels.text("later", L.lang, seconds=labels.seconds(cut.hidden, L.lang))
            ax.text(0.5, cut.middle, words, ha="center", va="center", fontsize=L.note_fs, style="italic",
                    color="#444444", zorder=2, gid=f"ladder.cut_text:{k}", **font(L.lang))
            w, h = measure(words, L.note_fs, "normal", L.lang)
            self.obstacles.add(_place.box(L.lane / 2, cut.middle, w + 4, h, 0.0), "label")
            self.info["cuts"].append((cut.start, cut.end))

    def _header(self) -> None:
        L, ax = self.L, self.ax
        for who in SIDES:
            ax.text(self.X(L.x[who]), -2.0 * L.row, labels.text(who, L.lang), ha="center", va="center",
                    fontsize=L.fs + 2, fontweight="bold", color=SIDE_COLOURS[who], gid=f"ladder.name:{who}",
                    **font(L.lang))
            w, h = measure(labels.state_label(L.trace.states[who][0][1], L.lang, sep=" "), L.fs, "bold", L.lang)
            self.obstacles.add(_place.box(L.x[who], -0.95 * L.row, w + 14, L.fs * 1.2 + 8, 0.0), "label")
        if self.relative:
            ax.text(0.5, -2.0 * L.row, labels.text("relative_note", L.lang), ha="center", va="center",
                    fontsize=L.note_fs, style="italic", color="#444444", gid="ladder.relative_note",
                    **font(L.lang))

    def _time_ticks(self) -> None:
        """Ticks exactly at the times something happens (a segment leaves or arrives, a state changes,
        a timer fires), as far as the figure shows them. Segments sent at one instant (a burst) are
        drawn a row apart: each row gets a tick mark, a comb joins the marks of the one instant,
        and its time is printed at the first and the last of them."""
        L, ax = self.L, self.ax
        trace = L.trace
        times = []
        for tx in trace.transmissions[:self.upto]:
            times.append(tx.sent_at)
            if not tx.lost:
                times.append(tx.arrived_at)
        for who in SIDES:
            times += [t for t, _ in trace.states[who] if t <= self.until + _EPS]
        times += [h.time for h in trace.happenings
                  if h.kind in ("timer", "outcome") and h.time <= self.until + _EPS]
        squeeze = max(1.0, (L.bottom + L.header) / max(L.height, 1.0))  # a figure at its height limit
        gap = 1.3 * L.note_fs * squeeze
        ticks = _timescale.event_ticks(times, L.scale, gap)
        said = {t: (y, s) for t, y, s in ticks}
        marks = {t: {y} for t, y, _ in ticks}  # every row at which each kept time is drawn
        for tx in trace.transmissions[:self.upto]:
            if L.rank[tx.index]:
                _, y0, _, y1 = L.geom[tx.index]
                for t, y in ((tx.sent_at, y0), (None if tx.lost else tx.arrived_at, y1)):
                    if t is not None and round(t, 9) in said:
                        marks[round(t, 9)].add(y)
        rows, ys, combs = [], [], []
        for t, (_, text) in said.items():
            at = sorted(marks[t])
            ys += at
            rows.append((at[0], text))
            if len(at) > 1:
                rows.append((at[-1], text))
                combs.append((at[0], at[-1]))
        rows.sort()
        # drawn as plain artists, not matplotlib ticks: a Tick is five artists and costs a slider
        # update about a millisecond each; these look the same (left of the Axes, outside it)
        trans = ax.get_yaxis_transform()  # x: a fraction of the Axes' width, y: data
        dpi = ax.figure.dpi_scale_trans
        ax.add_artist(Line2D([0.0] * len(ys), ys, transform=trans, marker=TICKLEFT, markersize=4,
                             markeredgewidth=0.8, color=BLACK, linestyle="none", clip_on=False, gid="ladder.ticks"))
        for k, (y_first, y_last) in enumerate(combs):
            ax.add_artist(Line2D([0.0, 0.0], [y_first, y_last], transform=trans + ScaledTranslation(-4 / 72, 0, dpi),
                                 lw=0.8, color=BLACK, clip_on=False, gid=f"ladder.tick_comb:{k}"))
        at = trans + ScaledTranslation(-7.5 / 72, 0, dpi)
        for k, (y, text) in enumerate(rows):
            ax.text(0.0, y, text, transform=at, ha="right", va="center", fontsize=L.note_fs, color=BLACK,
                    gid=f"ladder.tick:{k}", **font(L.lang))
        widest = max([measure(text, L.note_fs, "normal", L.lang)[0] for _, text in rows] or [0.0])
        ax.text(0.0, 0.5, labels.text("time_axis", L.lang), transform=ax.transAxes
                + ScaledTranslation(-(7.5 + widest + 6) / 72, 0, dpi), rotation=90, ha="right", va="center",
                fontsize=L.note_fs, color=BLACK, gid="ladder.time_axis", **font(L.lang))
        self.info["ticks"] = [(t, s) for t, _, s in ticks]
        self.info["tick_rows"] = rows
        self.info["tick_marks"] = sorted(ys)

    # --- one transmission ---
    def _transmission(self, tx) -> None:
        L, ax = self.L, self.ax
        x0, y0, x1, y1 = L.geom[tx.index]
        colour = GREY if tx.stale else SIDE_COLOURS[tx.sender]
        if tx.lost:
            arrow = FancyArrowPatch((self.X(x0), y0), (self.X(x1), y1), arrowstyle="-", linestyle=(0, (5, 3)),
                                    lw=2.0, color=colour, zorder=3, gid=f"ladder.tx:{tx.index}")
        else:
            arrow = FancyArrowPatch((self.X(x0), y0), (self.X(x1), y1), arrowstyle="-|>", mutation_scale=16,
                                    lw=2.0, color=colour, shrinkA=0, shrinkB=0, zorder=3,
                                    linestyle="-" if not tx.stale else (0, (1.5, 1.5)),
                                    gid=f"ladder.tx:{tx.index}")
        ax.add_artist(arrow)
        self.info["arrows"][tx.index] = arrow
        angle = math.atan2(y1 - y0, x1 - x0)
        if tx.lost:
            cross = Line2D([self.X(x1)], [y1], marker="X", markersize=15, markerfacecolor=BLACK,
                           markeredgecolor="white", markeredgewidth=1.0, linestyle="none", zorder=6,
                           gid=f"ladder.lost:{tx.index}")
            ax.add_artist(cross)
            self.info["lost"][tx.index] = cross
            self.obstacles.add(_place.box(x1, y1, 16, 16, 0.0), "label")
            word = labels.text("lost", L.lang)
            w, h = measure(word, L.note_fs, "bold", L.lang)
            dx = 1 if x1 > x0 else -1
            cx, cy = x1 + dx * (12 + w / 2), y1 + 6
            ax.text(self.X(cx), cy, word, ha="center", va="center", fontsize=L.note_fs, fontweight="bold",
                    color=BLACK, zorder=6, gid=f"ladder.lost_text:{tx.index}", **font(L.lang))
            self.obstacles.add(_place.box(cx, cy, w + 2, h, 0.0), "label")
        self._label(tx, (x0, y0, x1, y1), angle, colour)

    def _label(self, tx, geom, angle, colour) -> None:
        L, ax = self.L, self.ax
        x0, y0, x1, y1 = geom
        text = labels.segment_label(tx.segment, *self._bases(tx), lang=L.lang)
        notes = L.notes.get(tx.index)
        note = "(" + labels.text("list_sep", L.lang).join(notes) + ")" if notes else ""
        nw, nh = (measure(note, L.note_fs, "normal", L.lang)[0] + 4, L.note_fs * 1.25) if note else (0, 0)
        # keep text upright: read it left to right whichever way the arrow goes
        ux, uy = math.cos(angle), math.sin(angle)
        if ux < 0:
            ux, uy = -ux, -uy
        upright = math.atan2(uy, ux)
        nx, ny = uy, -ux  # the normal pointing up the page (earlier in time)
        run = abs(x1 - x0)
        # one line, or (where crossing arrows leave no room) two lines: "FLAGS seq=N" / "ack=M len=L"
        dense = len(L.trace.transmissions) > 150  # a long trace: a quicker, plainer search
        variants = [text]
        if " ack=" in text and not dense:
            variants.append(text.replace(" ack=", "\nack=", 1))
        best = None
        order = 0
        for v, variant in enumerate(variants):
            w = measure(variant, L.fs, "normal", L.lang)[0] + 4
            h = L.fs * 1.25 * (variant.count("\n") + 1)
            fracs = [0.5, 0.4, 0.6, 0.3, 0.7, 0.25, 0.75] if not dense else [0.5, 0.3, 0.7]
            if run > 0 and not dense:  # also try the label pushed against either end of the lane
                edge = (w / 2 * abs(math.cos(upright)) + 6) / run
                if edge < 0.5:
                    fracs += [edge, 1 - edge] if not tx.lost else [edge]
            for side in (1, -1):
                for f in fracs:
                    order += 1
                    px, py = x0 + (x1 - x0) * f, y0 + (y1 - y0) * f
                    off = h / 2 + 1.5
                    polys = [_place.box(px + side * nx * off, py + side * ny * off, w, h, upright)]
                    if note:
                        noff = nh / 2 + 1.5
                        polys.append(_place.box(px - side * nx * noff, py - side * ny * noff, nw, nh, upright))
                    score = order * 0.2 + (0 if side == 1 else 3) + 5 * v
                    for poly in polys:
                        hits = self.obstacles.hits(_grow(poly, 5.0))
                        score += 1000 * hits.get("label", 0) + 12 * hits.get("arrow", 0)
                        xs = [p[0] for p in poly]
                        if min(xs) < 4 or max(xs) > L.lane - 4:
                            score += 400
                    if best is None or score < best[0]:
                        best = (score, polys, variant)
                    if score < 1:
                        break
                if best[0] < 1:
                    break
            if best[0] < 10:
                break
        text = best[2]
        polys = best[1]
        # the angle in data units (x: lane widths, y: points); transform_rotates_text turns it into
        # the on-screen angle at drawing time
        deg = math.degrees(math.atan2(math.sin(upright), math.cos(upright) / L.lane))
        for k, poly in enumerate(polys):
            cx = sum(p[0] for p in poly) / 4
            cy = sum(p[1] for p in poly) / 4
            self.obstacles.add(poly, "label")
            if k == 0:
                artist = ax.text(self.X(cx), cy, text, ha="center", va="center", rotation=deg,
                                 rotation_mode="anchor", transform_rotates_text=True, fontsize=L.fs,
                                 color=colour, zorder=5, gid=f"ladder.label:{tx.index}",
                                 bbox=dict(boxstyle="square,pad=0.08", facecolor="white", edgecolor="none",
                                           alpha=0.85), **font(L.lang))
                self.info["labels"][tx.index] = artist
            else:
                artist = ax.text(self.X(cx), cy, note, ha="center", va="center", rotation=deg,
                                 rotation_mode="anchor", transform_rotates_text=True, fontsize=L.note_fs,
                                 style="italic", color=colour, zorder=5, gid=f"ladder.note:{tx.index}",
                                 bbox=dict(boxstyle="square,pad=0.08", facecolor="white", edgecolor="none",
                                           alpha=0.85), **font(L.lang))
                self.info["notes"][tx.index] = artist

    def _bases(self, tx) -> tuple[int, int]:
        if not self.relative:
            return 0, 0
        bases = self.L.trace.isn_bases()
        return bases[tx.sender], bases[tx.receiver]

    # --- states, outcomes and brackets beside each line ---
    def _gutters(self) -> None:
        L, ax = self.L, self.ax
        trace = L.trace
        for who in SIDES:
            sign = -1 if who == "client" else 1
            xline = L.x[who]
            xtext = xline + sign * L.text_gap
            xbr = xline + sign * L.bracket_gap
            ha = "right" if who == "client" else "left"
            column = _place.Column(gap=3.0)
            items = {}
            states = [(t, s) for t, s in trace.states[who] if t <= self.until + _EPS]
            sh = L.fs * 1.2 + 7
            for k, (t, state) in enumerate(states):
                if k == 0:
                    continue  # the initial state is written under the side's name
                y = L.scale(t)
                column.add(y, sh, ("state", k), order=2 * k)
                items[("state", k)] = (t, state, y)
            outcome = trace.outcomes.get(who)
            outcome_time = next((h.time for h in trace.happenings if h.who == who and h.kind == "outcome"), None)
            if outcome and outcome_time is not None and outcome_time <= self.until + _EPS:
                column.add(L.scale(outcome_time) + 0.1, L.note_fs * 1.3, ("outcome", 0), order=10_000)
            brackets = []
            for wait in L.rto:
                if wait["who"] != who:
                    continue
                if (wait["index"] <= self.upto if wait["kind"] == "rto" else wait["end"] <= self.until + _EPS):
                    brackets.append(wait)
            for tw in L.time_wait:
                if tw["who"] == who and tw["end"] <= self.until + _EPS:
                    brackets.append(tw)
            for b, bracket in enumerate(brackets):
                ya, yb = L.scale(bracket["start"]) + bracket.get("offset", 0.0), L.scale(bracket["end"])
                order = bracket.get("order", 0) * 2 + 1 if bracket["kind"] == "time_wait" else 5_000 + b
                bfs = L.fs if bracket["kind"] == "time_wait" else L.note_fs
                column.add((ya + yb) / 2, bfs * 1.3 * (bracket["label"].count("\n") + 1),
                           ("bracket", b), order=order)
                tick = sign * -5
                ax.add_artist(Line2D([self.X(xbr + tick), self.X(xbr), self.X(xbr), self.X(xbr + tick)],
                                     [ya, ya, yb, yb], color="#333333", lw=1.4, zorder=2,
                                     gid=f"ladder.bracket:{bracket['kind']}:{who}:{b}"))
                self.info["brackets"].append({k: v for k, v in bracket.items() if k != "offset"})
            placed = column.solve()
            if placed:  # a stack pushed below the last event: let the Axes reach it
                low = max(placed.values()) + L.row
                if low > ax.get_ylim()[0]:
                    ax.set_ylim(low, -L.header)
            # the initial state, under the name
            t0, s0 = trace.states[who][0]
            first = self._state_text(self.X(xline), -0.95 * L.row, s0, "center", who, 0)
            self.info["states"][who].append((t0, s0))
            self.info["state_texts"][who].append(first)
            for key, y in placed.items():
                kind, k = key
                if kind == "state":
                    t, state, ya = items[key]
                    ax.add_artist(Line2D([self.X(xline)], [ya], marker="o", markersize=5, color=BLACK,
                                         linestyle="none", zorder=4, gid=f"ladder.state_mark:{who}:{k}"))
                    ax.add_artist(Line2D([self.X(xline), self.X(xtext - sign * 2)], [ya, y], color=GREY,
                                         lw=0.9, zorder=1, gid=f"ladder.state_leader:{who}:{k}"))
                    artist = self._state_text(self.X(xtext), y, state, ha, who, k)
                    self.info["states"][who].append((t, state))
                    self.info["state_texts"][who].append(artist)
                elif kind == "outcome":
                    ax.text(self.X(xtext), y, _outcome_text(outcome, L.lang), ha=ha, va="center",
                            fontsize=L.note_fs, style="italic", fontweight="bold", color=BLACK, zorder=5,
                            gid=f"ladder.outcome:{who}", **font(L.lang))
                else:
                    bracket = brackets[k]
                    tw = bracket["kind"] == "time_wait"
                    ax.text(self.X(xtext), y, bracket["label"], ha=ha, va="center",
                            fontsize=L.fs if tw else L.note_fs, fontweight="bold" if tw else "normal",
                            color="#333333", zorder=5, linespacing=1.1,
                            gid=f"ladder.bracket_text:{bracket['kind']}:{who}:{k}", **font(L.lang))

    def _state_text(self, x, y, state, ha, who, k):
        L = self.L
        return self.ax.text(x, y, labels.state_label(state, L.lang, sep=" "), ha=ha, va="center", fontsize=L.fs,
                            fontweight="bold", color=BLACK, zorder=5, gid=f"ladder.state:{who}:{k}",
                            bbox=dict(boxstyle="round,pad=0.25", facecolor=STATE_FILLS[state],
                                      edgecolor="#555555", lw=0.8), **font(L.lang))


def _grow(poly, pad: float):
    """The box ``poly`` made ``pad`` points longer at each end (labels keep a little air between them)."""
    (ax_, ay), (bx, by), (cx, cy), (dx, dy) = poly
    ux, uy = bx - ax_, by - ay
    n = math.hypot(ux, uy) or 1.0
    ux, uy = ux / n * pad, uy / n * pad
    return ((ax_ - ux, ay - uy), (bx + ux, by + uy), (cx + ux, cy + uy), (dx - ux, dy - uy))


# --- facts read from the trace (never decided here) ---
def _rto_waits(trace, lang: str) -> list[dict]:
    """Retransmissions the trace says an RTO timer caused, with the wait since the previous copy; and
    each give-up, with the last wait (from the last copy sent to the moment the side gave up)."""
    rto_times = {(h.who, round(h.time, 9)) for h in trace.happenings if h.kind == "timer" and h.detail == "rto"}
    out = []
    for i, tx in enumerate(trace.transmissions):
        if not tx.retransmission or (tx.sender, round(tx.sent_at, 9)) not in rto_times:
            continue
        for prev in reversed(trace.transmissions[:i]):
            s, p = prev.segment, tx.segment
            if prev.sender == tx.sender and not prev.stale and s.seq == p.seq and s.flags == p.flags \
                    and len(s.payload) == len(p.payload):
                wait = tx.sent_at - prev.sent_at
                out.append({"kind": "rto", "who": tx.sender, "index": tx.index, "from": prev.index,
                            "start": prev.sent_at, "end": tx.sent_at,
                            "label": labels.text("rto_wait", lang, seconds=labels.seconds(wait, lang))})
                break
    for h in trace.happenings:
        if h.kind != "timer" or h.detail != "give_up":
            continue
        # the wait that ran out: from the last copy of what the timer guarded (a SYN, a FIN, data)
        guarded = [tx for tx in trace.transmissions
                   if tx.sender == h.who and not tx.stale and tx.sent_at <= h.time + _EPS
                   and (tx.segment.flags & (Flags.SYN | Flags.FIN) or tx.segment.payload)]
        if guarded:
            last = guarded[-1]
            wait = labels.seconds(h.time - last.sent_at, lang)
            out.append({"kind": "give_up", "who": h.who, "index": last.index, "from": last.index,
                        "start": last.sent_at, "end": h.time, "label": labels.text("rto_give_up", lang, seconds=wait)})
    return out


def _time_wait_brackets(trace, lang: str) -> list[dict]:
    """Each completed TIME-WAIT: from its (last) start of the 2MSL timer to CLOSED."""
    out = []
    tw = trace.params.get("time_wait")
    msl = trace.params.get("msl")
    for who in SIDES:
        states = trace.states[who]
        for k, (t, state) in enumerate(states):
            if state is not State.TIME_WAIT or k + 1 >= len(states):
                continue
            end = states[k + 1][0]
            start, restarted = t, False
            if states[k + 1][1] is State.CLOSED and tw is not None and end - tw > t + 1e-6:
                start, restarted = end - tw, True  # the timer was restarted by a retransmitted FIN
            length = end - start
            if msl is not None and abs(length - 2 * msl) < 1e-6:
                label = labels.text("time_wait_2msl", lang, seconds=labels.seconds(length, lang))
            else:
                label = labels.text("time_wait_n", lang, seconds=labels.seconds(length, lang))
            if restarted:
                label += "\n" + labels.text("restarted", lang)
            out.append({"kind": "time_wait", "who": who, "start": start, "end": end, "label": label,
                        "restarted": restarted, "order": k})
    return out


def _outcome_text(outcome: str, lang: str) -> str:
    try:
        return labels.text(f"outcome.{outcome}", lang)
    except KeyError:
        return outcome

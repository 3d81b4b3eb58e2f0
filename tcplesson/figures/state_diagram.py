"""The RFC 9293 state diagram (section 3.3.2, figure 5), drawn from the transition table.

Only the boxes' positions are placed by hand, like the RFC's figure (CLOSED on top, the opening
states, ESTABLISHED in the middle, the closing states below). Every arc comes from the rows of
``tl.TABLE`` that change state; rows between the same two states become one arrow with stacked
"event / action" labels. Like the RFC, the figure draws CLOSED twice (top, and bottom right where
the closing states end); an arc into CLOSED goes to the nearer copy.

Aborts, resets and give-ups lead to CLOSED from almost every state; drawing them all buries the
figure, so by default they are drawn only when the highlighted trace took one (``errors=True``
draws every one, thin and dashed). With a trace, the path one endpoint took is drawn thick in its
colour, each arc numbered in the order it was taken.

Arc shapes are chosen by a small search: each arc tries a few curvatures and label positions and
keeps the one that crosses the fewest boxes and labels.
"""
from __future__ import annotations

import math

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .. import labels
from ..states import State
from ..table import TABLE, TWO_WAY
from . import _place
from ._common import (GREY, SIDE_COLOURS, STATE_FILLS, axes_points, check_ax, check_fontsize, check_lang,
                      check_trace, check_who, clear_axes, measure, new_axes, record)

S = State

# Where each box sits (x, y): the shape of RFC 9293 figure 5. CLOSED has a second copy at the
# bottom right, as in the RFC, for the arcs that end a connection.
POSITIONS = {
    S.CLOSED: (5.5, 10.0),
    S.LISTEN: (5.5, 8.3),
    S.SYN_RECEIVED: (1.4, 6.6),
    S.SYN_SENT: (9.6, 6.6),
    S.ESTABLISHED: (5.5, 4.9),
    S.FIN_WAIT_1: (1.4, 3.2),
    S.CLOSE_WAIT: (9.6, 3.2),
    S.FIN_WAIT_2: (1.4, 1.2),
    S.CLOSING: (5.5, 1.2),
    S.LAST_ACK: (9.6, 1.2),
    S.TIME_WAIT: (5.5, -0.6),
}
CLOSED_AGAIN = (9.6, -0.6)
_BOX_W, _BOX_H = 2.5, 0.8
_XLIM, _YLIM = (-0.5, 11.5), (-2.25, 10.75)

# Events that end a connection abnormally: drawn only with errors=True or when a trace took them.
EXCEPTIONAL_EVENTS = frozenset({"abort", "close_unread", "rcv_rst", "rcv_rst_active", "give_up", "give_up_passive"})

_RADS = (0.0, 0.18, -0.18, 0.32, -0.32, 0.5, -0.5, 0.7, -0.7)
_FRACS = (0.5, 0.42, 0.58, 0.34, 0.66, 0.27, 0.73)


def plot_state_diagram(trace=None, who: str = "client", ax=None, *, errors: bool = False,
                       loops=("rcv_fin",), fontsize: float = 11, lang: str = "en"):
    """Draw the state diagram (with ``who``'s path through ``trace`` highlighted) and return the Axes.

    ``errors``: also draw every abort / reset / give-up arc. ``loops``: events whose
    same-state rows are drawn as self-loops (by default the TIME-WAIT "rcv FIN / snd ACK, restart
    2MSL" loop).
    """
    if trace is not None:
        check_trace(trace)
    check_who(who)
    check_ax(ax)
    if not isinstance(errors, bool):
        raise TypeError(f"errors must be True or False, got {errors!r}")
    if isinstance(loops, str) or not all(isinstance(e, str) for e in loops):
        raise TypeError("loops must be a collection of event names, e.g. ('rcv_fin',)")
    fontsize = check_fontsize(fontsize)
    lang = check_lang(lang)
    if ax is None:
        ax = new_axes((11.0, 10.5), {"left": 0.1, "right": 0.1, "top": 0.1, "bottom": 0.1})
    _Diagram(ax, trace, who, errors, tuple(loops), fontsize, lang).draw()
    return ax


class _Diagram:
    def __init__(self, ax, trace, who, errors, loops, fs, lang) -> None:
        self.ax, self.trace, self.who, self.errors, self.loops = ax, trace, who, errors, loops
        self.fs, self.lang = fs, lang
        self.colour = SIDE_COLOURS[who]
        self.obstacles = _place.Obstacles()
        self.rads: dict[tuple, float] = {}

    # data units -> points: square units, fitted into the Axes
    def _frame(self) -> None:
        w_pt, h_pt = axes_points(self.ax)
        span_x, span_y = _XLIM[1] - _XLIM[0], _YLIM[1] - _YLIM[0]
        self.k = min(w_pt / span_x, h_pt / span_y)  # points per unit
        cx, cy = sum(_XLIM) / 2, sum(_YLIM) / 2
        half_x, half_y = w_pt / self.k / 2, h_pt / self.k / 2
        self.ax.set_xlim(cx - half_x, cx + half_x)
        self.ax.set_ylim(cy - half_y, cy + half_y)

    def P(self, x: float, y: float) -> tuple[float, float]:
        """A data point in points, y downward (the convention of _place)."""
        return x * self.k, -y * self.k

    def draw(self) -> None:
        ax = self.ax
        clear_axes(ax)
        self._frame()
        path, order = self._path()
        arcs = self._arcs(path)
        info = {"states": {}, "arcs": {}, "path": path, "who": self.who if self.trace is not None else None,
                "loops": {}}
        visited = {s for pair in path for s in pair}
        if self.trace is not None:
            visited.add(self.trace.states[self.who][0][1])
        self.boxes = {}
        for state, (x, y) in list(POSITIONS.items()) + [("CLOSED-2", CLOSED_AGAIN)]:
            real = S.CLOSED if state == "CLOSED-2" else state
            gid = "diagram.state:CLOSED:2" if state == "CLOSED-2" else f"diagram.state:{real.value}"
            lit = real in visited
            box = FancyBboxPatch((x - _BOX_W / 2, y - _BOX_H / 2), _BOX_W, _BOX_H,
                                 boxstyle="round,pad=0,rounding_size=0.12", facecolor=STATE_FILLS[real],
                                 edgecolor=self.colour if lit else "#444444", lw=3.2 if lit else 1.2, zorder=3,
                                 gid=gid)
            ax.add_patch(box)
            ax.text(x, y, labels.state_name(real, self.lang), ha="center", va="center", fontsize=self.fs + 2,
                    fontweight="bold", zorder=4, gid=gid + ":name", **labels.font(self.lang))
            self.boxes[state] = box
            info["states"].setdefault(real.value, []).append({"patch": box, "highlighted": lit})
            px, py = self.P(x, y)
            self.obstacles.add(_place.box(px, py, _BOX_W * self.k + 6, _BOX_H * self.k + 6, 0.0), "box")
        for row in TABLE:  # self-loops first: they sit in fixed places
            if row.next is row.state and row.event in self.loops:
                info["loops"][(row.state, row.event)] = self._loop(row)
        # highlighted arcs first, so that they get the best routes
        for arc in sorted(arcs, key=lambda a: (not a["highlighted"], a["exceptional"], -len(a["lines"]))):
            self._arc(arc, order)
            info["arcs"][(arc["state"], arc["next"])] = {
                "artist": arc["artist"], "events": arc["events"], "highlighted": arc["highlighted"],
                "order": order.get((arc["state"], arc["next"]), []), "exceptional": arc["exceptional"],
                "in_table": arc["in_table"], "label": arc["text"]}
        if self.trace is not None:
            title = labels.text("diagram_title", self.lang, who=labels.text(self.who, self.lang),
                                scenario=self.trace.scenario)
            ax.text(_XLIM[0] + 0.1, _YLIM[1] - 0.15, title, ha="left", va="top", fontsize=self.fs + 1,
                    color=self.colour, fontweight="bold", gid="diagram.title", **labels.font(self.lang))
        record(ax, "diagram", info)

    def _path(self):
        """The arcs ``who`` took, in order, and the step numbers of each arc."""
        if self.trace is None:
            return [], {}
        path, order = [], {}
        for n, tr in enumerate(self.trace.transitions[self.who], start=1):
            pair = (tr.old, tr.new)
            path.append(pair)
            order.setdefault(pair, []).append(n)
        return path, order

    def _arcs(self, path):
        """One arc per (state, next) pair, from the table (and from the trace, for rows of another table)."""
        taken = {}
        if self.trace is not None:
            for tr in self.trace.transitions[self.who]:
                taken.setdefault((tr.old, tr.new), set()).add(tr.event)
        groups: dict[tuple, list] = {}
        for row in TABLE:
            if row.next is not row.state:
                groups.setdefault((row.state, row.next), []).append(row)
        arcs = []
        for (state, nxt), rows in groups.items():
            pair = (state, nxt)
            normal = [r for r in rows if r.event not in EXCEPTIONAL_EVENTS]
            shown = rows if self.errors else normal + [r for r in rows if r.event in taken.get(pair, ())
                                                       and r not in normal]
            if not shown:
                continue
            arcs.append(self._arc_entry(state, nxt, shown, pair in taken, exceptional=not normal, in_table=True))
        known = set(groups)
        for pair, events in taken.items():  # a counterfactual table's arc (two-way handshake)
            if pair in known:
                continue
            rows = [r for r in TWO_WAY if (r.state, r.next) == pair and r.event in events]
            arcs.append(self._arc_entry(pair[0], pair[1], rows, True, exceptional=False, in_table=False))
        return arcs

    def _arc_entry(self, state, nxt, rows, highlighted, exceptional, in_table):
        lines = []
        for r in rows:
            words = labels.arc_label(r.event, r.actions, self.lang)
            if words not in lines:
                lines.append(words)
        if not in_table:
            lines = [line + " " + labels.text("two_way_mark", self.lang) for line in lines]
        return {"state": state, "next": nxt, "lines": lines, "text": "\n".join(lines),
                "events": [r.event for r in rows], "highlighted": highlighted, "exceptional": exceptional,
                "in_table": in_table}

    def _end(self, state, other):
        """The box an arc uses for ``state``: for CLOSED, the copy nearer the other end."""
        if state is not S.CLOSED:
            return state, POSITIONS[state]
        ox, oy = POSITIONS[other] if other is not S.CLOSED else POSITIONS[S.CLOSED]
        top, bottom = POSITIONS[S.CLOSED], CLOSED_AGAIN
        if math.dist((ox, oy), bottom) < math.dist((ox, oy), top):
            return "CLOSED-2", bottom
        return S.CLOSED, top

    def _arc(self, arc, order) -> None:
        ax, k = self.ax, self.k
        a_key, (x0, y0) = self._end(arc["state"], arc["next"])
        b_key, (x1, y1) = self._end(arc["next"], arc["state"])
        p0, p1 = self.P(x0, y0), self.P(x1, y1)
        text = arc["text"]
        tw, th = measure(text, self.fs, "bold" if arc["highlighted"] else "normal", self.lang)
        tw, th = tw + 8, th + 3
        reverse = any((a2["state"], a2["next"]) == (arc["next"], arc["state"]) for a2 in self._all_pairs())
        best = None
        for r_i, rad in enumerate(_RADS):
            if reverse and abs(rad) < 0.3:
                continue  # two arcs between the same boxes: bend both well apart
            placed = self.rads.get((arc["next"], arc["state"]))
            if placed is not None and rad * placed < 0 and abs(abs(rad) - abs(placed)) < 0.3:
                continue  # same side as the reverse arc: only as a clearly wider (or narrower) bend
            pts = _bezier(p0, p1, rad)
            inner = [p for p in pts if not _inside(p, p0, k) and not _inside(p, p1, k)]
            crossings = sum(self.obstacles.hits(seg).get("box", 0) for seg in zip(inner, inner[1:]))
            crossings += sum(1 for p in inner if not self._in_frame(p, 4.0))
            label_hits = sum(self.obstacles.hits(seg).get("label", 0) for seg in zip(inner, inner[1:]))
            for f_i, f in enumerate(_FRACS):
                on = _bezier_point(p0, p1, rad, f)
                # on the arc, or beside it (where two boxes are too close for a label between them)
                a, b = _bezier_point(p0, p1, rad, max(0.0, f - 0.02)), _bezier_point(p0, p1, rad, min(1.0, f + 0.02))
                nx, ny = b[1] - a[1], a[0] - b[0]
                norm = math.hypot(nx, ny) or 1.0
                nx, ny = nx / norm, ny / norm
                reach = abs(nx) * (tw / 2 + 5) + abs(ny) * (th / 2 + 5)
                for side, shift in ((0, 0.0), (1, reach), (-1, -reach)):
                    c = (on[0] + nx * shift, on[1] + ny * shift)
                    poly = _place.box(c[0], c[1], tw, th, 0.0)
                    hits = self.obstacles.hits(_place.box(c[0], c[1], tw + 6, th + 6, 0.0))
                    outside = sum(1 for p in poly if not self._in_frame(p, 2.0))
                    on_arc = 8 if (side == 0 and arc["highlighted"]) else 4 * abs(side)
                    score = (200 * crossings + 300 * hits.get("box", 0) + 100 * hits.get("label", 0)
                             + 100 * outside + 15 * hits.get("arc", 0) + 10 * label_hits + 3 * r_i + f_i + on_arc)
                    if best is None or score < best[0]:
                        best = (score, rad, c, poly, inner)
        _, rad, c, poly, inner = best
        self.rads[(arc["state"], arc["next"])] = rad
        hl = arc["highlighted"]
        colour = self.colour if hl else (GREY if arc["exceptional"] else "#333333")
        gid = f"diagram.arc:{arc['state'].value}->{arc['next'].value}"
        artist = FancyArrowPatch(posA=(x0, y0), posB=(x1, y1), patchA=self.boxes[a_key], patchB=self.boxes[b_key],
                                 arrowstyle="-|>", mutation_scale=18 if hl else 14,
                                 connectionstyle=f"arc3,rad={rad}", lw=3.4 if hl else 1.3, color=colour,
                                 linestyle="-" if (hl or not arc["exceptional"]) else (0, (4, 2.5)),
                                 shrinkA=1, shrinkB=1, zorder=5 if hl else 2, gid=gid)
        ax.add_patch(artist)
        arc["artist"] = artist
        for seg in zip(inner, inner[1:]):
            self.obstacles.add(seg, "arc")
        self.obstacles.add(poly, "label")
        ax.text(c[0] / k, -c[1] / k, text, ha="center", va="center", fontsize=self.fs, linespacing=1.15,
                color=colour if hl else ("#555555" if arc["exceptional"] else "#222222"),
                fontweight="bold" if hl else "normal", zorder=6, gid=gid + ":label",
                bbox=dict(boxstyle="round,pad=0.12", facecolor="white", edgecolor="none"),
                **labels.font(self.lang))
        steps = order.get((arc["state"], arc["next"]), [])
        if hl and steps:
            # the step numbers, on the arc near its start so they never sit on the label
            lo, hi = _visible(p0, p1, rad, self.k)
            badge = ", ".join(str(n) for n in steps)
            bw, bh = measure(badge, self.fs + 1, "bold", self.lang)
            spot = None
            for g in (0.3, 0.7, 0.2, 0.8, 0.45, 0.55, 0.12, 0.88):
                b = _bezier_point(p0, p1, rad, lo + g * (hi - lo))
                if not self.obstacles.hits(_place.box(b[0], b[1], bw + 12, bh + 8, 0.0)).get("label"):
                    spot = b
                    break
            b = spot or _bezier_point(p0, p1, rad, lo + 0.3 * (hi - lo))
            ax.text(b[0] / k, -b[1] / k, badge, ha="center", va="center", fontsize=self.fs + 1, color="white",
                    fontweight="bold", zorder=8, gid=gid + ":order",
                    bbox=dict(boxstyle="circle,pad=0.25" if len(steps) == 1 else "round,pad=0.3",
                              facecolor=self.colour, edgecolor="white", lw=1.5))
            self.obstacles.add(_place.box(b[0], b[1], bw + 12, bh + 8, 0.0), "label")

    def _in_frame(self, p, pad: float) -> bool:
        x0, x1 = self.ax.get_xlim()
        y0, y1 = self.ax.get_ylim()
        return x0 * self.k + pad <= p[0] <= x1 * self.k - pad and -y1 * self.k + pad <= p[1] <= -y0 * self.k - pad

    def _all_pairs(self):
        if not hasattr(self, "_pairs_cache"):
            self._pairs_cache = [{"state": r.state, "next": r.next} for r in TABLE if r.next is not r.state]
        return self._pairs_cache

    def _loop(self, row):
        """A self-loop under (or beside) the box: an event that keeps the state but matters."""
        ax = self.ax
        x, y = POSITIONS[row.state]
        a = (x - _BOX_W / 4, y - _BOX_H / 2)
        b = (x + _BOX_W / 4, y - _BOX_H / 2)
        gid = f"diagram.loop:{row.state.value}:{row.event}"
        artist = FancyArrowPatch(posA=a, posB=b, arrowstyle="-|>", mutation_scale=14,
                                 connectionstyle="arc3,rad=1.1", lw=1.3, color="#333333", zorder=2, gid=gid)
        ax.add_patch(artist)
        words = labels.arc_label(row.event, row.actions, self.lang)
        k = self.k
        lw, lh = measure(words, self.fs, "normal", self.lang)
        self.obstacles.add(_place.box(x * k, -(y - _BOX_H / 2 - 0.4) * k, _BOX_W / 2 * k + 10, 0.8 * k, 0.0), "box")
        self.obstacles.add(_place.box(x * k, -(y - _BOX_H / 2 - 0.82) * k + lh / 2, lw + 8, lh + 4, 0.0), "label")
        ax.text(x, y - _BOX_H / 2 - 0.82, words, ha="center", va="top", fontsize=self.fs, color="#222222",
                zorder=6, gid=gid + ":label", bbox=dict(boxstyle="round,pad=0.12", facecolor="white",
                                                         edgecolor="none", alpha=0.9), **labels.font(self.lang))
        return {"artist": artist, "label": words}


def _control(p0, p1, rad):
    """The control point matplotlib's arc3 uses for this curvature."""
    (x0, y0), (x1, y1) = p0, p1
    # matplotlib works with y up; our points have y down, so the bend flips sign
    dx, dy = x1 - x0, y1 - y0
    return ((x0 + x1) / 2 - rad * dy, (y0 + y1) / 2 + rad * dx)


def _bezier_point(p0, p1, rad, t):
    c = _control(p0, p1, rad)
    u = 1 - t
    return (u * u * p0[0] + 2 * u * t * c[0] + t * t * p1[0], u * u * p0[1] + 2 * u * t * c[1] + t * t * p1[1])


def _bezier(p0, p1, rad, n=28):
    return [_bezier_point(p0, p1, rad, i / n) for i in range(n + 1)]


def _frac_of(point, p0, p1, rad):
    pts = _bezier(p0, p1, rad, 20)
    best = min(range(len(pts)), key=lambda i: math.dist(pts[i], point))
    return best / 20


def _visible(p0, p1, rad, k) -> tuple[float, float]:
    """The part of the curve (as fractions) outside both boxes."""
    ts = [i / 40 for i in range(41)]
    out = [t for t in ts if not _inside(_bezier_point(p0, p1, rad, t), p0, k)
           and not _inside(_bezier_point(p0, p1, rad, t), p1, k)]
    return (out[0], out[-1]) if out else (0.3, 0.7)


def _inside(p, centre, k) -> bool:
    return abs(p[0] - centre[0]) <= (_BOX_W / 2) * k + 4 and abs(p[1] - centre[1]) <= (_BOX_H / 2) * k + 4

"""The RFC 9293 state diagram (section 3.3.2, figure 5), drawn from the transition table.

Only the boxes' positions are placed by hand, like the RFC's figure (CLOSED on top, the opening
states, ESTABLISHED in the middle, the closing states below). Every arc comes from the rows of
``tl.TABLE`` that change state; rows between the same two states become one arrow with stacked
"event / action" labels. Like the RFC, the figure draws CLOSED twice (top, and bottom right where
the closing states end); an arc into CLOSED goes to the nearer copy.

Aborts, resets and give-ups lead to CLOSED from almost every state; drawing them all buries the
figure, so by default they are drawn only when the highlighted trace took one (``errors=True``
draws every one, thin and dashed). With a trace, the path one endpoint took is drawn thick in its
colour, each arc numbered in the order it was taken, and of an arc's stacked labels only the
event that the run took is bold.

Layout is a small search in three passes, all in points (y downward, as in ``_place``):

1. routes: each arc tries a few curvatures (with a provisional label) and keeps the one that
   crosses the fewest boxes and labels;
2. labels, now that every curve is known: each label sits on its own arc (the arc runs into and
   out of its white box), or along it (turned with a straight stretch), or, only where neither
   fits, just beside it, and then only where no other arc runs closer than its own. A label never
   leaves the Axes, never covers a box and never covers another label when any place is free;
3. the step numbers of the highlighted path, on their arcs, clear of every label.

A smaller Axes than the default gets proportionally smaller text (never under 6 pt), so that the
figure keeps its layout; the title has its own band above the boxes.
"""
from __future__ import annotations

import math

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .. import labels
from ._fonts import font
from ..states import State
from ..table import TABLE, TWO_WAY
from . import _place
from ._common import (GREY, MARGINS, SIDE_COLOURS, STATE_FILLS, axes_points, check_ax, check_fontsize, check_lang,
                      check_trace, check_who, clear_axes, measure, new_axes, record)

_S = State

# Where each box sits (x, y): the shape of RFC 9293 figure 5. CLOSED has a second copy at the
# bottom right, as in the RFC, for the arcs that end a connection.
POSITIONS = {
    _S.CLOSED: (5.5, 10.0),
    _S.LISTEN: (5.5, 8.3),
    _S.SYN_RECEIVED: (1.4, 6.6),
    _S.SYN_SENT: (9.6, 6.6),
    _S.ESTABLISHED: (5.5, 4.9),
    _S.FIN_WAIT_1: (1.4, 3.2),
    _S.CLOSE_WAIT: (9.6, 3.2),
    _S.FIN_WAIT_2: (1.4, 0.9),
    _S.CLOSING: (5.5, 0.9),
    _S.LAST_ACK: (9.6, 0.9),
    _S.TIME_WAIT: (5.5, -1.2),
}
CLOSED_AGAIN = (9.6, -1.2)
_BOX_W, _BOX_H = 2.5, 0.8
_XLIM, _YLIM = (-0.5, 11.5), (-2.85, 10.75)
_MARGINS = MARGINS["state_diagram"]
_DEFAULT_SIZE = (11.0, 11.0)
_K_REF = 57.0  # points per unit on the default figure: text is drawn at ``fontsize`` there
_MIN_FS = 6.0
_ERRORS_GROW = 1.2  # errors=True draws about twice the labels: the default figure is this much larger

# Events that end a connection abnormally: drawn only with errors=True or when a trace took them.
EXCEPTIONAL_EVENTS = frozenset({"abort", "close_unread", "rcv_rst", "rcv_rst_active", "give_up", "give_up_passive",
                                "rcv_cookie_ack"})

# Rows of the socket layer around RFC 9293's CLOSE (close() after a shutdown(), an orphan's
# FIN-WAIT-2 timeout, data after close()), a crash and a keep-alive that gives up: drawn only when
# the highlighted trace took them, even with errors=True; all of them end in CLOSED and would crowd
# its corner of the RFC's diagram.
_AFTER_OUR_FIN = frozenset({State.FIN_WAIT_1, State.FIN_WAIT_2, State.CLOSING, State.LAST_ACK})


def drawn_only_when_taken(row) -> bool:
    return row.event in ("rcv_data_after_close", "fin_timeout", "tw_overflow", "listener_closed", "crash",
                         "keepalive_timeout", "rcv_syn_embryonic", "rcv_syn_passive") or (
        row.event == "close_unread" and row.state in _AFTER_OUR_FIN)


_RADS = (0.0, 0.18, -0.18, 0.32, -0.32, 0.5, -0.5, 0.7, -0.7)
_FRACS = (0.5, 0.42, 0.58, 0.34, 0.66, 0.27, 0.73)
_LABEL_SPOTS = (0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78, 0.14, 0.86)  # along the visible part of an arc

# what a label pays for where it sits (pass 2): the first two are as good as forbidden
_OUTSIDE, _ON_BOX, _ON_LABEL = 100_000.0, 5_000.0, 2_000.0
_CROSSED, _AMBIGUOUS, _FOREIGN, _NEARBY = 150.0, 400.0, 80.0, 20.0
_KIND_COST = {"on": 0.0, "along": 12.0, "beside": 25.0}


def plot_state_diagram(trace=None, who: str = "client", ax=None, *, errors: bool = False,
                       loops=("rcv_fin",), fontsize: float = 11, lang: str | None = None):
    """Draw the state diagram (with ``who``'s path through ``trace`` highlighted) and return the Axes.

    ``errors``: also draw every abort / reset / give-up arc. ``loops``: events whose
    same-state rows are drawn as self-loops (by default the TIME-WAIT "rcv FIN / snd ACK, restart
    2MSL" loop). ``fontsize`` is the size on the default figure (11 x 11 in, with ``errors`` 13.2 x
    13.2 in); a smaller Axes gets proportionally smaller text (never under 6 pt), so that the layout
    stays the same.
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
        grow = _ERRORS_GROW if errors else 1.0  # every error arc too: more room for the same text
        w, h = _DEFAULT_SIZE[0] * grow, _DEFAULT_SIZE[1] * grow
        if trace is not None:  # room for the title's band, so the boxes keep their size
            h += _title_height(fontsize) / 72.0
        ax = new_axes((w, h), _MARGINS)
    _Diagram(ax, trace, who, errors, tuple(loops), fontsize, lang).draw()
    return ax


def _title_height(fs: float) -> float:
    return (fs + 1) * 1.2 + 8.0


class _Diagram:
    def __init__(self, ax, trace, who, errors, loops, fs, lang) -> None:
        self.ax, self.trace, self.who, self.errors, self.loops = ax, trace, who, errors, loops
        self.fs0 = self.fs = fs
        self.lang = lang
        self.colour = SIDE_COLOURS[who]
        self.fixed: list[tuple] = []  # (polygon, kind) that every pass starts from
        self.rads: dict[tuple, float] = {}

    # data units -> points: square units, fitted into the Axes below the title's band
    def _frame(self) -> None:
        w_pt, h_pt = axes_points(self.ax)
        span_x, span_y = _XLIM[1] - _XLIM[0], _YLIM[1] - _YLIM[0]
        titled = self.trace is not None

        def fit(fs):
            band = _title_height(fs) if titled else 0.0
            return min(w_pt / span_x, max(h_pt - band, 1.0) / span_y), band

        k, band = fit(self.fs0)
        k_ref = _K_REF * (_ERRORS_GROW if self.errors else 1.0)
        self.fs = min(self.fs0, max(_MIN_FS, self.fs0 * k / k_ref))
        self.k, self.band = fit(self.fs)
        k = self.k
        cx = sum(_XLIM) / 2
        x0, x1 = cx - w_pt / k / 2, cx + w_pt / k / 2
        y0 = _YLIM[0] - (h_pt - span_y * k - self.band) / 2 / k  # the block (boxes + title) centred
        y1 = y0 + h_pt / k
        self.ax.set_xlim(x0, x1)
        self.ax.set_ylim(y0, y1)
        self.frame = (x0 * k, x1 * k, -y1 * k, -y0 * k)  # in points, y downward

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
                "loops": {}, "fontsize": self.fs}
        lit = self._lit_boxes(path)
        self.boxes = {}
        # the state names: two points larger than the labels, but always inside their boxes
        # (in Chinese two lines: the RFC name over the textbook's name)
        names = {s: labels.state_label(s, self.lang) for s in _S}
        widest, tallest = (max(measure(n, self.fs + 2, "bold", self.lang)[i] for n in names.values()) for i in (0, 1))
        name_fs = max(_MIN_FS, min(self.fs + 2, (self.fs + 2) * (_BOX_W * self.k - 8) / widest,
                                   (self.fs + 2) * (_BOX_H * self.k - 4) / tallest))
        for state, (x, y) in list(POSITIONS.items()) + [("CLOSED-2", CLOSED_AGAIN)]:
            real = _S.CLOSED if state == "CLOSED-2" else state
            gid = _box_gid(state)
            on = state in lit
            box = FancyBboxPatch((x - _BOX_W / 2, y - _BOX_H / 2), _BOX_W, _BOX_H,
                                 boxstyle="round,pad=0,rounding_size=0.12", facecolor=STATE_FILLS[real],
                                 edgecolor=self.colour if on else "#444444", lw=3.2 if on else 1.2, zorder=3,
                                 gid=gid)
            ax.add_artist(box)
            ax.text(x, y, names[real], ha="center", va="center", fontsize=name_fs, linespacing=1.1,
                    fontweight="bold", zorder=4, gid=gid + ":name", **font(self.lang))
            self.boxes[state] = box
            info["states"].setdefault(real.value, []).append({"patch": box, "highlighted": on})
            px, py = self.P(x, y)
            self.fixed.append((_place.box(px, py, _BOX_W * self.k + 6, _BOX_H * self.k + 6, 0.0), "box"))
            # a label this close to a box reads as that box's: fine for the arc's own ends only
            self.fixed.append((_place.box(px, py, _BOX_W * self.k + 24, _BOX_H * self.k + 20, 0.0), f"near:{gid}"))
        if self.trace is not None:
            self._title()
        for row in TABLE:  # self-loops first: they sit in fixed places
            if row.next is row.state and row.event in self.loops:
                info["loops"][(row.state, row.event)] = self._loop(row)
        # routes for the arcs with the largest labels first (they need the most room), errors last
        arcs.sort(key=lambda a: (a["exceptional"], -max(len(line) for line in a["lines"]), -len(a["lines"])))
        self._route(arcs)
        obs = self._curves(arcs)
        self._place_badges(arcs, order, obs)
        self._place_labels(arcs, obs)
        for arc in arcs:
            self._draw_arc(arc, order)
            info["arcs"][(arc["state"], arc["next"])] = {
                "artist": arc["artist"], "events": arc["events"], "highlighted": arc["highlighted"],
                "order": order.get((arc["state"], arc["next"]), []), "exceptional": arc["exceptional"],
                "in_table": arc["in_table"], "label": arc["text"], "label_artists": arc["label_artists"],
                "emphasised": [line for line, taken in zip(arc["lines"], arc["taken"]) if taken and arc["highlighted"]],
                "placement": arc["place"]["kind"]}
        record(ax, "diagram", info)

    def _title(self) -> None:
        title = labels.text("diagram_title", self.lang, who=labels.text(self.who, self.lang),
                            scenario=self.trace.scenario)
        fs = self.fs + 1
        x, y_top = _XLIM[0] + 0.1, _YLIM[1] + self.band / self.k
        self.ax.text(x, y_top - 3 / self.k, title, ha="left", va="top", fontsize=fs, color=self.colour,
                     fontweight="bold", gid="diagram.title", **font(self.lang))
        w, h = measure(title, fs, "bold", self.lang)
        px, py = self.P(x, y_top)
        self.fixed.append((_place.box(px + w / 2, py + 3 + h / 2, w + 4, h + 2, 0.0), "label"))

    def _lit_boxes(self, path) -> set:
        """The boxes the path touches: for CLOSED, only the copy its arcs use (or start from)."""
        if self.trace is None:
            return set()
        lit = {self._end(self.trace.states[self.who][0][1], None)[0]}
        for a, b in path:
            lit.add(self._end(a, b)[0])
            lit.add(self._end(b, a)[0])
        return lit

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
            rows = [r for r in rows if not drawn_only_when_taken(r) or r.event in taken.get(pair, ())]
            if not rows:
                continue
            normal = [r for r in rows if r.event not in EXCEPTIONAL_EVENTS]
            shown = rows if self.errors else normal + [r for r in rows if r.event in taken.get(pair, ())
                                                       and r not in normal]
            if not shown:
                continue
            arcs.append(self._arc_entry(state, nxt, shown, taken.get(pair), exceptional=not normal, in_table=True))
        known = set(groups)
        for pair, events in taken.items():  # a counterfactual table's arc (two-way handshake)
            if pair in known:
                continue
            rows = [r for r in TWO_WAY if (r.state, r.next) == pair and r.event in events]
            arcs.append(self._arc_entry(pair[0], pair[1], rows, events, exceptional=False, in_table=False))
        return arcs

    def _arc_entry(self, state, nxt, rows, taken_events, exceptional, in_table):
        lines, taken = [], []
        for r in rows:
            words = labels.arc_label(r.event, r.actions, self.lang)
            hit = bool(taken_events) and r.event in taken_events
            if words not in lines:
                lines.append(words)
                taken.append(hit)
            elif hit:
                taken[lines.index(words)] = True
        if not in_table:
            lines = [line + " " + labels.text("two_way_mark", self.lang) for line in lines]
        return {"state": state, "next": nxt, "lines": lines, "taken": taken, "text": "\n".join(lines),
                "events": [r.event for r in rows], "highlighted": taken_events is not None,
                "exceptional": exceptional, "in_table": in_table,
                "gid": f"diagram.arc:{state.value}->{nxt.value}"}

    def _end(self, state, other):
        """The box an arc uses for ``state``: for CLOSED, the copy nearer the other end."""
        if state is not _S.CLOSED:
            return state, POSITIONS[state]
        top, bottom = POSITIONS[_S.CLOSED], CLOSED_AGAIN
        if other is None or other is _S.CLOSED:
            return _S.CLOSED, top
        ox, oy = POSITIONS[other]
        if math.dist((ox, oy), bottom) < math.dist((ox, oy), top):
            return "CLOSED-2", bottom
        return _S.CLOSED, top

    def _ends(self, arc):
        a_key, a = self._end(arc["state"], arc["next"])
        b_key, b = self._end(arc["next"], arc["state"])
        return a_key, a, b_key, b

    def _obstacles(self) -> _place.Obstacles:
        obs = _place.Obstacles()
        for poly, kind in self.fixed:
            obs.add(poly, kind)
        return obs

    # --- pass 1: the curves ---
    def _route(self, arcs) -> None:
        k = self.k
        obs = self._obstacles()
        pairs = {(a["state"], a["next"]) for a in arcs}
        for arc in arcs:
            _, (x0, y0), _, (x1, y1) = self._ends(arc)
            p0, p1 = self.P(x0, y0), self.P(x1, y1)
            tw, th = measure(arc["text"], self.fs, "bold" if arc["highlighted"] else "normal", self.lang)
            tw, th = tw + 8, th + 3
            reverse = (arc["next"], arc["state"]) in pairs
            best = None
            for r_i, rad in enumerate(_RADS):
                if reverse and abs(rad) < 0.3:
                    continue  # two arcs between the same boxes: bend both well apart
                placed = self.rads.get((arc["next"], arc["state"]))
                if placed is not None and rad * placed < 0 and abs(abs(rad) - abs(placed)) < 0.3:
                    continue  # same side as the reverse arc: only as a clearly wider (or narrower) bend
                pts = _bezier(p0, p1, rad)
                inner = [p for p in pts if not _inside(p, p0, k) and not _inside(p, p1, k)]
                crossings = sum(obs.hits(seg).get("box", 0) for seg in zip(inner, inner[1:]))
                crossings += sum(1 for p in inner if not self._in_frame(p, 4.0))
                label_hits = sum(obs.hits(seg).get("label", 0) for seg in zip(inner, inner[1:]))
                base = 200 * crossings + 10 * label_hits + 3 * r_i
                if best is not None and base >= best[0]:
                    continue
                for f_i, f in enumerate(_FRACS):
                    on = _bezier_point(p0, p1, rad, f)
                    # on the arc, or beside it (where two boxes are too close for a label between them)
                    nx, ny = _normal(p0, p1, rad, f)
                    reach = abs(nx) * (tw / 2 + 5) + abs(ny) * (th / 2 + 5)
                    for side, shift in ((0, 0.0), (1, reach), (-1, -reach)):
                        c = (on[0] + nx * shift, on[1] + ny * shift)
                        poly = _place.box(c[0], c[1], tw, th, 0.0)
                        hits = obs.hits(_place.box(c[0], c[1], tw + 6, th + 6, 0.0))
                        outside = sum(1 for p in poly if not self._in_frame(p, 2.0))
                        score = (base + 3000 * hits.get("box", 0) + 500 * hits.get("label", 0)
                                 + 10_000 * outside + 15 * hits.get("arc", 0) + f_i + 6 * abs(side))
                        if best is None or score < best[0]:
                            best = (score, rad, poly, inner)
            _, rad, poly, inner = best
            self.rads[(arc["state"], arc["next"])] = rad
            arc["geom"] = (p0, p1, rad, inner)
            for seg in zip(inner, inner[1:]):
                obs.add(seg, "arc")
            obs.add(poly, "label")

    # --- pass 2: the step numbers, then the labels, every curve known ---
    def _curves(self, arcs) -> _place.Obstacles:
        obs = self._obstacles()
        for n, arc in enumerate(arcs):
            arc["kind"] = f"arc{n}"
            a_key, _, b_key, _ = self._ends(arc)
            arc["own"] = {f"near:{_box_gid(a_key)}", f"near:{_box_gid(b_key)}"}
            for seg in zip(arc["geom"][3], arc["geom"][3][1:]):
                obs.add(seg, arc["kind"])
        return obs

    def _place_labels(self, arcs, obs) -> None:
        # every candidate of every label, scored against the boxes and curves only
        options = {}
        for arc in arcs:
            cands = []
            weight = "bold" if arc["highlighted"] and any(arc["taken"]) else "normal"
            for v_i, lines in enumerate(self._variants(arc)):
                tw, th = measure("\n".join(lines), self.fs, weight, self.lang)
                for cand in self._label_spots(arc, tw + 8, th + 3, len(lines)):
                    cands.append((v_i, lines, tw + 8, th + 3, cand))
            arc["cands"] = cands
            options[id(arc)] = sum(1 for v_i, _, tw, th, cand in cands
                                   if self._label_score(arc, obs, cand, tw, th) + 25 * v_i < 60)
        # the most constrained first (fewest good places), then the path's, then the larger
        for arc in sorted(arcs, key=lambda a: (min(options[id(a)], 12), not a["highlighted"], a["exceptional"],
                                               -len(a["lines"]), -max(len(line) for line in a["lines"]))):
            best = None
            for v_i, lines, tw, th, cand in arc.pop("cands"):
                score = self._label_score(arc, obs, cand, tw, th) + 25 * v_i
                if best is None or score < best[0]:
                    best = (score, cand, lines, tw, th)
            _, (kind, c, angle, _, _), lines, tw, th = best
            arc["place"] = {"kind": kind, "centre": c, "angle": angle, "lines": lines}
            obs.add(_place.box(c[0], c[1], tw, th, angle), "label")

    def _variants(self, arc):
        """The label as stacked, and (for one long line) broken after its slash."""
        out = [arc["lines"]]
        if len(arc["lines"]) == 1 and " / " in arc["lines"][0]:
            event, actions = arc["lines"][0].split(" / ", 1)
            out.append([event + " /", actions])
        return out

    def _label_spots(self, arc, tw, th, nlines):
        """(kind, centre, angle, rank) candidates along the visible part of the arc."""
        p0, p1, rad, _ = arc["geom"]
        lo, hi = _visible(p0, p1, rad, self.k)
        for g_i, g in enumerate(_LABEL_SPOTS):
            f = lo + g * (hi - lo)
            on = _bezier_point(p0, p1, rad, f)
            nx, ny = _normal(p0, p1, rad, f)
            yield ("on", on, 0.0, g_i, 0.0)
            across = abs(nx) * tw / 2 + abs(ny) * th / 2  # from the centre to the box's edge, across the arc
            for f_s in (0.45, -0.45):
                yield ("on", (on[0] + nx * across * f_s, on[1] + ny * across * f_s), 0.0, g_i + 1, 0.0)
            if nlines == 1:
                tx, ty = -ny, nx  # the tangent
                if tx < 0:
                    tx, ty = -tx, -ty
                angle = math.atan2(ty, tx)
                if math.radians(8) < abs(angle) <= math.radians(60) and _straight(p0, p1, rad, on, angle, tw, th):
                    yield ("along", on, angle, g_i, 0.0)
            reach = abs(nx) * (tw / 2 + 5) + abs(ny) * (th / 2 + 5)
            for gap, rank in ((5.0, g_i), (19.0, g_i + 4), (35.0, g_i + 10)):
                d = reach + gap - 5.0
                yield ("beside", (on[0] + nx * d, on[1] + ny * d), 0.0, rank, gap)
                yield ("beside", (on[0] - nx * d, on[1] - ny * d), 0.0, rank, gap)

    def _label_score(self, arc, obs, cand, tw, th) -> float:
        kind, c, angle, g_i, gap = cand
        poly = _place.box(c[0], c[1], tw, th, angle)
        score = _KIND_COST[kind] + 1.5 * g_i
        score += _OUTSIDE * sum(1 for p in poly if not self._in_frame(p, 2.0))
        if score >= _OUTSIDE:
            return score
        hits = obs.hits(_place.box(c[0], c[1], tw + 6, th + 6, angle), once=True)
        score += _ON_BOX * hits.get("box", 0) + _ON_LABEL * hits.get("label", 0)
        others = sum(1 for key in hits if key.startswith("arc") and key != arc["kind"])
        score += _CROSSED * others
        score += _FOREIGN * sum(1 for key in hits if key.startswith("near:") and key not in arc["own"])
        # beside its arc, a label must be nearer its own arc than any other; on it, another arc
        # just by it still blurs which is which
        reach = 2 * (gap + 8.0) if kind == "beside" else 26.0
        near = obs.hits(_place.box(c[0], c[1], tw + reach, th + reach, angle), once=True)
        close = sum(1 for key in near if key.startswith("arc") and key != arc["kind"])
        score += (_AMBIGUOUS if kind == "beside" else _NEARBY) * min(close, 1)
        return score

    def _place_badges(self, arcs, order, obs) -> None:
        """Each step number on its arc, near the arc's start (the label then keeps clear of it)."""
        for arc in arcs:
            steps = order.get((arc["state"], arc["next"]), [])
            arc["badge"] = None
            if not (arc["highlighted"] and steps):
                continue
            p0, p1, rad, _ = arc["geom"]
            lo, hi = _visible(p0, p1, rad, self.k)
            text = ", ".join(str(n) for n in steps)
            bw, bh = measure(text, self.fs + 1, "bold", self.lang)
            spot, best = None, None
            for g in (0.22, 0.3, 0.15, 0.4, 0.78, 0.7, 0.85):
                b = _bezier_point(p0, p1, rad, lo + g * (hi - lo))
                hits = obs.hits(_place.box(b[0], b[1], bw + 14, bh + 10, 0.0))
                bad = 10 * hits.get("label", 0) + 10 * hits.get("box", 0)
                if best is None or bad < best:
                    spot, best = b, bad
                if bad == 0:
                    break
            arc["badge"] = (spot, text)
            obs.add(_place.box(spot[0], spot[1], bw + 10, bh + 6, 0.0), "label")

    # --- drawing ---
    def _draw_arc(self, arc, order) -> None:
        ax, k = self.ax, self.k
        a_key, (x0, y0), b_key, (x1, y1) = self._ends(arc)
        rad = arc["geom"][2]
        hl = arc["highlighted"]
        colour = self.colour if hl else (GREY if arc["exceptional"] else "#333333")
        gid = arc["gid"]
        artist = FancyArrowPatch(posA=(x0, y0), posB=(x1, y1), patchA=self.boxes[a_key], patchB=self.boxes[b_key],
                                 arrowstyle="-|>", mutation_scale=18 if hl else 14,
                                 connectionstyle=f"arc3,rad={rad}", lw=3.4 if hl else 1.3, color=colour,
                                 linestyle="-" if (hl or not arc["exceptional"]) else (0, (4, 2.5)),
                                 shrinkA=1, shrinkB=1, zorder=5 if hl else 2, gid=gid)
        ax.add_artist(artist)
        arc["artist"] = artist
        arc["label_artists"] = self._draw_label(arc)
        if arc["badge"] is not None:
            (bx, by), text = arc["badge"]
            steps = order.get((arc["state"], arc["next"]), [])
            ax.text(bx / k, -by / k, text, ha="center", va="center", fontsize=self.fs + 1, color="white",
                    fontweight="bold", zorder=8, gid=gid + ":order",
                    bbox=dict(boxstyle="circle,pad=0.25" if len(steps) == 1 else "round,pad=0.3",
                              facecolor=self.colour, edgecolor="white", lw=1.5))

    def _draw_label(self, arc) -> list:
        """The label's text: the event the run took bold in the side's colour, the others plain."""
        ax, k = self.ax, self.k
        place = arc["place"]
        lines = place["lines"]
        taken = arc["taken"] if len(lines) == len(arc["lines"]) else [any(arc["taken"])] * len(lines)
        hl = arc["highlighted"]
        bold = [hl and t for t in taken]
        plain_colour = "#555555" if arc["exceptional"] else "#222222"
        cx, cy = place["centre"][0] / k, -place["centre"][1] / k
        rotation = -math.degrees(place["angle"])
        common = dict(ha="center", va="center", fontsize=self.fs, linespacing=1.15, zorder=6,
                      rotation=rotation, rotation_mode="anchor", **font(self.lang))
        box = dict(boxstyle="round,pad=0.12", facecolor="white", edgecolor="none")
        gid = arc["gid"] + ":label"
        if all(bold) or not any(bold):
            weight = "bold" if bold[0] else "normal"
            return [ax.text(cx, cy, "\n".join(lines), color=self.colour if bold[0] else plain_colour,
                            fontweight=weight, gid=gid, bbox=box, **common)]
        # mixed: one white box behind two texts with the same line layout (blank lines keep the rows)
        w, h = measure("\n".join(lines), self.fs, "bold", self.lang)
        pad = 0.12 * self.fs
        back = FancyBboxPatch((cx - w / 2 / k, cy - h / 2 / k), w / k, h / k,
                              boxstyle=f"round,pad={pad / k}", facecolor="white", edgecolor="none", zorder=6,
                              gid=gid + ":box")
        ax.add_artist(back)
        plain = ax.text(cx, cy, "\n".join("" if b else line for line, b in zip(lines, bold)), color=plain_colour,
                        fontweight="normal", gid=gid, **common)
        strong = ax.text(cx, cy, "\n".join(line if b else "" for line, b in zip(lines, bold)), color=self.colour,
                         fontweight="bold", gid=gid + ":taken", **common)
        return [plain, strong]

    def _in_frame(self, p, pad: float) -> bool:
        x0, x1, y0, y1 = self.frame
        return x0 + pad <= p[0] <= x1 - pad and y0 + pad <= p[1] <= y1 - pad

    def _loop(self, row):
        """A self-loop under (or beside) the box: an event that keeps the state but matters."""
        ax = self.ax
        x, y = POSITIONS[row.state]
        a = (x - _BOX_W / 4, y - _BOX_H / 2)
        b = (x + _BOX_W / 4, y - _BOX_H / 2)
        gid = f"diagram.loop:{row.state.value}:{row.event}"
        artist = FancyArrowPatch(posA=a, posB=b, arrowstyle="-|>", mutation_scale=14,
                                 connectionstyle="arc3,rad=1.1", lw=1.3, color="#333333", zorder=2, gid=gid)
        ax.add_artist(artist)
        words = labels.arc_label(row.event, row.actions, self.lang)
        k = self.k
        lw, lh = measure(words, self.fs, "normal", self.lang)
        self.fixed.append((_place.box(x * k, -(y - _BOX_H / 2 - 0.4) * k, _BOX_W / 2 * k + 10, 0.8 * k, 0.0), "box"))
        self.fixed.append((_place.box(x * k, -(y - _BOX_H / 2 - 0.82) * k + lh / 2, lw + 8, lh + 4, 0.0), "label"))
        ax.text(x, y - _BOX_H / 2 - 0.82, words, ha="center", va="top", fontsize=self.fs, color="#222222",
                zorder=6, gid=gid + ":label", bbox=dict(boxstyle="round,pad=0.12", facecolor="white",
                                                         edgecolor="none", alpha=0.9), **font(self.lang))
        return {"artist": artist, "label": words}


def _box_gid(key) -> str:
    return "diagram.state:CLOSED:2" if key == "CLOSED-2" else f"diagram.state:{key.value}"


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


def _normal(p0, p1, rad, f):
    """The unit normal of the curve at fraction ``f``."""
    a, b = _bezier_point(p0, p1, rad, max(0.0, f - 0.02)), _bezier_point(p0, p1, rad, min(1.0, f + 0.02))
    nx, ny = b[1] - a[1], a[0] - b[0]
    norm = math.hypot(nx, ny) or 1.0
    return nx / norm, ny / norm


def _straight(p0, p1, rad, centre, angle, tw, th) -> bool:
    """Whether the curve stays inside a label turned by ``angle`` at ``centre`` along its length."""
    ux, uy = math.cos(angle), math.sin(angle)
    for p in _bezier(p0, p1, rad, 40):
        dx, dy = p[0] - centre[0], p[1] - centre[1]
        if abs(dx * ux + dy * uy) <= tw / 2 and abs(-dx * uy + dy * ux) > th * 0.3:
            return False
    return True


def _visible(p0, p1, rad, k) -> tuple[float, float]:
    """The part of the curve (as fractions) outside both boxes."""
    ts = [i / 40 for i in range(41)]
    out = [t for t in ts if not _inside(_bezier_point(p0, p1, rad, t), p0, k)
           and not _inside(_bezier_point(p0, p1, rad, t), p1, k)]
    return (out[0], out[-1]) if out else (0.3, 0.7)


def _inside(p, centre, k) -> bool:
    return abs(p[0] - centre[0]) <= (_BOX_W / 2) * k + 4 and abs(p[1] - centre[1]) <= (_BOX_H / 2) * k + 4

"""The figures show what the Trace and the table say: one arrow per transmission, lost ones crossed
and dashed, states where they change, every table arc in the diagram, the path a trace took, the
flags a segment sets. Checked through the artists' gids and ``figure_info``, not by pixels.
"""
import io
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

import tcplesson as tl  # noqa: E402
from tcplesson import labels  # noqa: E402
from tcplesson.figures import artists, figure_info  # noqa: E402
from tcplesson.figures.state_diagram import EXCEPTIONAL_EVENTS, drawn_only_when_taken  # noqa: E402

ISNS = dict(client_isn=100, server_isn=300)
RUNS = [
    ("lifecycle", {}),
    ("lifecycle", {"drop": [1]}),
    ("lifecycle", {"drop": [3]}),
    ("lifecycle", {"drop": [7]}),
    ("lifecycle", {"drop": [7], "time_wait": 0}),
    ("half-close", {}),
    ("simultaneous-close", {}),
    ("simultaneous-open", {}),
    ("refused", {}),
    ("old-duplicate-syn", {}),
    ("old-duplicate-syn", {"handshake": "two-way"}),
    ("abort", {}),
    ("handshake", {"drop": [1, 2, 3, 4, 5, 6, 7]}),
]
IDS = [f"{name}-{kw}" for name, kw in RUNS]


@pytest.fixture(autouse=True)
def _strict_and_tidy():
    """Every figure test runs with warnings as errors and closes what it opened."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
    plt.close("all")


def _figure(size, dpi=100):
    fig = Figure(figsize=size, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _ax(size=(10, 7.5)):
    fig = Figure(figsize=size)
    return fig.add_axes((0.1, 0.02, 0.88, 0.96))


def _png(ax) -> bytes:
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=60, metadata={"Software": None})
    return buf.getvalue()


# --- the ladder ---
@pytest.mark.parametrize("name,kw", RUNS, ids=IDS)
def test_ladder_one_arrow_per_transmission_lost_ones_crossed_and_dashed(name, kw):
    trace = tl.simulate(name, **ISNS, **kw)
    ax = tl.plot_ladder(trace)
    arrows = artists(ax, "ladder.tx:")
    assert len(arrows) == len(trace.transmissions)
    assert all(isinstance(a, FancyArrowPatch) for a in arrows)
    crosses = {int(a.get_gid().split(":")[1]) for a in artists(ax, "ladder.lost:")}
    assert crosses == {tx.index for tx in trace.transmissions if tx.lost}
    for tx in trace.transmissions:
        arrow = figure_info(ax)["ladder"]["arrows"][tx.index]
        dashed = arrow.get_linestyle() not in ("-", "solid")
        if tx.lost:
            assert dashed, f"lost transmission {tx.index} must be dashed"
            cross = figure_info(ax)["ladder"]["lost"][tx.index]
            assert cross.get_marker() == "X"
        elif not tx.stale:
            assert not dashed
    texts = {int(a.get_gid().split(":")[1]): a.get_text() for a in artists(ax, "ladder.label:")}
    for tx in trace.transmissions:
        assert texts[tx.index].replace("\n", " ") == tx.segment.label()
    notes = {int(a.get_gid().split(":")[1]): a.get_text() for a in artists(ax, "ladder.note:")}
    assert {i for i, t in notes.items() if "retransmission" in t} == {
        tx.index for tx in trace.transmissions if tx.retransmission}


@pytest.mark.parametrize("name,kw", RUNS, ids=IDS)
def test_ladder_state_labels_match_the_trace(name, kw):
    trace = tl.simulate(name, **ISNS, **kw)
    ax = tl.plot_ladder(trace)
    info = figure_info(ax)["ladder"]
    for who in ("client", "server"):
        assert info["states"][who] == trace.states[who]
        shown = [t.get_text() for t in info["state_texts"][who]]
        assert shown == [labels.state_name(s) for _, s in trace.states[who]]


def test_ladder_time_wait_bracket_and_cut():
    trace = tl.simulate("lifecycle", **ISNS)
    ax = tl.plot_ladder(trace)
    info = figure_info(ax)["ladder"]
    tw = [b for b in info["brackets"] if b["kind"] == "time_wait"]
    assert len(tw) == 1 and tw[0]["who"] == "client" and tw[0]["end"] - tw[0]["start"] == pytest.approx(240)
    assert "2MSL = 240 s" in tw[0]["label"]
    assert any(b - a > 200 for a, b in info["cuts"]), "the 240 s quiet stretch must be cut"
    assert any("later" in t.get_text() for t in artists(ax, "ladder.cut_text:"))


def test_ladder_rto_bracket_and_restarted_time_wait():
    trace = tl.simulate("lifecycle", drop=[7], **ISNS)
    info = figure_info(tl.plot_ladder(trace))["ladder"]
    rto = [b for b in info["brackets"] if b["kind"] == "rto"]
    assert [(b["who"], b["index"], b["label"]) for b in rto] == [("server", 8, "RTO 1 s")]
    tw = [b for b in info["brackets"] if b["kind"] == "time_wait"]
    assert tw[0]["restarted"] and tw[0]["start"] == pytest.approx(4.2)


def test_ladder_no_cut_when_asked():
    info = figure_info(tl.plot_ladder(tl.simulate("handshake"), compress=False))["ladder"]
    assert info["cuts"] == []


def test_ladder_relative_numbers():
    trace = tl.simulate("lifecycle", seed=5)
    ax = tl.plot_ladder(trace, relative=True)
    texts = [a.get_text().replace("\n", " ") for a in artists(ax, "ladder.label:")]
    assert texts[:3] == ["SYN seq=0", "SYN,ACK seq=0 ack=1", "ACK seq=1 ack=1"]


def test_ladder_upto_draws_a_prefix_and_keeps_the_layout():
    trace = tl.simulate("lifecycle", **ISNS)
    full = tl.plot_ladder(trace, ax=_ax())
    for k in (0, 1, 4, len(trace.transmissions)):
        ax = tl.plot_ladder(trace, ax=_ax(), upto=k)
        assert len(artists(ax, "ladder.tx:")) == k
        assert ax.get_ylim() == full.get_ylim()
        shown = figure_info(ax)["ladder"]["states"]["server"]
        last = trace.transmissions[k - 1].arrived_at if k else None
        expected = [(t, s) for t, s in trace.states["server"] if k == len(trace.transmissions)
                    or (last is not None and t <= last + 1e-9)] or trace.states["server"][:1]
        assert shown == expected


def test_ladder_on_a_given_axes_makes_no_new_figure():
    ax = _ax()
    before = plt.get_fignums()
    assert tl.plot_ladder(tl.simulate("handshake"), ax=ax) is ax
    assert plt.get_fignums() == before


def _tick_y(info, label):
    return [y for y, s in info["tick_rows"] if s == label]


@pytest.mark.parametrize("name,kw,present,absent", [
    ("simultaneous-close", {}, ["0.00", "2.05", "2.10", "242.10"], ["242.06", "242.08"]),
    ("abort", {}, ["2.10", "2.15"], ["2.12", "2.18"]),
    ("handshake", {"drop": [1, 2, 3, 4, 5, 6, 7]}, ["0", "63", "127"], ["126.97", "127.03"]),
    ("lifecycle", {"drop": [7, 9, 11, 13], "max_retries": 3}, ["10.15", "18.15"], ["17.62", "17.68", "18.12"]),
])
def test_ladder_ticks_sit_at_event_times_and_say_them_exactly(name, kw, present, absent):
    trace = tl.simulate(name, **ISNS, **kw)
    ax = tl.plot_ladder(trace)
    info = figure_info(ax)["ladder"]
    shown = [s for _, s in info["ticks"]]
    for label in present:
        assert label in shown
    for label in absent:
        assert label not in shown
    assert len({len(s.split(".")[-1]) if "." in s else 0 for s in shown}) == 1, "one number of decimals"
    events = {round(t, 9) for who in ("client", "server") for t, _ in trace.states[who]}
    events |= {round(tx.sent_at, 9) for tx in trace.transmissions}
    events |= {round(tx.arrived_at, 9) for tx in trace.transmissions if not tx.lost}
    assert {t for t, _ in info["ticks"]} <= events, "every tick is the time of something that happened"
    for tx in trace.transmissions:  # a tick at an arrow's start sits exactly where the arrow starts
        (_, y0), _ = info["arrows"][tx.index]._posA_posB
        at = [t for t, _ in info["ticks"] if abs(t - tx.sent_at) < 1e-9]
        if at and figure_info(ax)["ladder"]["tick_rows"]:
            assert any(abs(y - y0) < 1e-6 for y, _ in info["tick_rows"]), tx


def test_tick_labels_use_as_few_decimals_as_the_times_need():
    from tcplesson.figures._timescale import tick_labels

    assert tick_labels([0, 0.025, 2.125]) == ["0.000", "0.025", "2.125"]
    assert tick_labels([127.0, 127.05]) == ["127.00", "127.05"]
    assert tick_labels([0, 1, 127]) == ["0", "1", "127"]
    assert tick_labels([0.0312345, 1.2]) == ["0.031", "1.200"]  # jitter: milliseconds are enough
    assert tick_labels([0.000012, 0.000047]) == ["0.000012", "0.000047"]  # loopback captures


def test_ladder_same_instant_sends_get_a_tick_each_with_the_same_time():
    both = tl.Scenario("old-duplicate-while-connecting", [
        ("server", "listen", 0), ("client", "inject", 0, tl.Segment(tl.Flags.SYN, 90)), ("client", "connect", 0)])
    trace = tl.simulate(both, drop=[2], **ISNS)
    info = figure_info(tl.plot_ladder(trace))["ladder"]
    starts = sorted(info["arrows"][tx.index]._posA_posB[0][1] for tx in trace.transmissions[:2])
    assert starts[1] > starts[0], "the second send of the instant is drawn a row lower"
    zero = _tick_y(info, "0.00")
    assert len(zero) == 2 and all(any(abs(y - s) < 1e-6 for y in zero) for s in starts)
    rto = [b for b in info["brackets"] if b["kind"] == "rto"]
    assert rto and rto[0]["start"] == 0.0


def test_ladder_a_burst_of_three_gets_a_mark_per_row_and_its_time_at_both_ends():
    trace = tl.simulate("half-close", **ISNS)
    info = figure_info(tl.plot_ladder(trace))["ladder"]
    data = [tx for tx in trace.transmissions if tx.segment.payload]
    assert len(data) == 3 and len({tx.sent_at for tx in data}) == 1, "the server sends its 3000 bytes at once"
    starts = [info["arrows"][tx.index]._posA_posB[0][1] for tx in data]
    assert all(any(abs(y - m) < 1e-6 for m in info["tick_marks"]) for y in starts)
    said = [y for y, s in info["tick_rows"] if s == "2.45"]
    assert said == pytest.approx([min(starts), max(starts)])


@pytest.mark.parametrize("kw,who,start,end,label", [
    ({"drop": [7, 9, 11, 13], "max_retries": 3}, "server", 10.15, 18.15, "RTO 8 s,\nthen give up"),
    ({"drop": [1, 2, 3, 4, 5, 6, 7]}, "client", 63.0, 127.0, "RTO 64 s,\nthen give up"),
])
def test_ladder_the_last_wait_before_giving_up_has_its_bracket(kw, who, start, end, label):
    scenario = "handshake" if kw["drop"][0] == 1 else "lifecycle"
    info = figure_info(tl.plot_ladder(tl.simulate(scenario, **ISNS, **kw)))["ladder"]
    give_up = [b for b in info["brackets"] if b["kind"] == "give_up"]
    assert [(b["who"], b["label"]) for b in give_up] == [(who, label)]
    assert give_up[0]["start"] == pytest.approx(start) and give_up[0]["end"] == pytest.approx(end)
    waits = [b for b in info["brackets"] if b["kind"] == "rto"]
    assert waits and waits[-1]["end"] == pytest.approx(start), "the give-up wait follows the last RTO wait"


def test_ladder_fits_a_small_axes_without_squeezing_its_text():
    fig = _figure((10, 6.5), dpi=80)
    ax = fig.add_subplot()  # matplotlib's default margins: too little room for this run at 12 pt
    tl.plot_ladder(tl.simulate("lifecycle", drop=[3], **ISNS), ax=ax)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for who in ("client", "server"):
        name = artists(ax, f"ladder.name:{who}")[0].get_window_extent(renderer)
        first = artists(ax, f"ladder.state:{who}:0")[0].get_bbox_patch().get_window_extent(renderer)
        assert not name.overlaps(first), f"{who}: the name runs into its first state"
    lo, hi = sorted(ax.get_ylim())
    height = ax.get_window_extent(renderer).height * 72 / fig.dpi
    assert hi - lo == pytest.approx(height, rel=0.02), "one y unit is one point: nothing squeezed"


def test_axes_for_gives_a_figure_the_layout_of_the_figure_functions():
    fig = Figure(figsize=(10, 6.5))
    ax = tl.figures.axes_for(fig, "ladder")
    x0, y0, w, h = ax.get_position().bounds
    assert x0 == pytest.approx(1.0 / 10) and w == pytest.approx(1 - 1.15 / 10) and h == pytest.approx(1 - 0.2 / 6.5)
    with pytest.raises(ValueError, match="kind"):
        tl.figures.axes_for(fig, "pie")


# --- the state diagram ---
def _drawn_rows():
    """The rows the diagram draws with errors=True: all but the socket layer's (taken ones only)."""
    return [r for r in tl.TABLE if not drawn_only_when_taken(r)]


def _table_pairs(include_exceptional=True):
    return {(r.state, r.next) for r in _drawn_rows() if r.next is not r.state
            and (include_exceptional or r.event not in EXCEPTIONAL_EVENTS)}


def test_the_socket_layer_rows_are_drawn_when_a_trace_takes_one():
    trace = tl.simulate([("server", "listen", 0), ("client", "connect", 0), ("server", "close", "ESTABLISHED+1"),
                         ("client", "send", "CLOSE-WAIT+0.5", b"x")])
    info = figure_info(tl.plot_state_diagram(trace, "server"))["diagram"]
    assert "rcv_data_after_close" in info["arcs"][(tl.State.FIN_WAIT_2, tl.State.CLOSED)]["events"]
    assert (tl.State.FIN_WAIT_2, tl.State.CLOSED) not in figure_info(tl.plot_state_diagram())["diagram"]["arcs"]


def test_state_diagram_has_every_state_and_every_arc_of_the_table():
    ax = tl.plot_state_diagram(errors=True)
    info = figure_info(ax)["diagram"]
    assert set(info["states"]) == {s.value for s in tl.State}
    assert set(info["arcs"]) == _table_pairs()
    gids = {a.get_gid() for a in artists(ax, "diagram.arc:") if isinstance(a, FancyArrowPatch)}
    assert gids == {f"diagram.arc:{a.value}->{b.value}" for a, b in _table_pairs()}
    assert not any(arc["highlighted"] for arc in info["arcs"].values())


def test_state_diagram_labels_come_from_the_table_rows():
    info = figure_info(tl.plot_state_diagram(errors=True))["diagram"]
    for (a, b), arc in info["arcs"].items():
        rows = [r for r in _drawn_rows() if (r.state, r.next) == (a, b)]
        assert sorted(arc["events"]) == sorted(r.event for r in rows)
        for r in rows:
            assert labels.arc_label(r.event, r.actions) in arc["label"].split("\n")


def test_state_diagram_default_hides_only_exceptional_arcs():
    info = figure_info(tl.plot_state_diagram())["diagram"]
    assert _table_pairs(include_exceptional=False) <= set(info["arcs"]) <= _table_pairs()


@pytest.mark.parametrize("name,who,kw", [
    ("lifecycle", "client", {}), ("lifecycle", "server", {}), ("simultaneous-close", "client", {}),
    ("refused", "client", {}), ("abort", "server", {}), ("old-duplicate-syn", "server", {"handshake": "two-way"}),
    ("lifecycle", "server", {"drop": [7], "time_wait": 0}),
])
def test_state_diagram_highlights_the_path_the_trace_took(name, who, kw):
    trace = tl.simulate(name, **kw)
    info = figure_info(tl.plot_state_diagram(trace, who))["diagram"]
    path = [(tr.old, tr.new) for tr in trace.transitions[who]]
    assert info["path"] == path
    assert {pair for pair, arc in info["arcs"].items() if arc["highlighted"]} == set(path)
    numbers = sorted(n for arc in info["arcs"].values() for n in arc["order"])
    assert numbers == list(range(1, len(path) + 1))
    for n, pair in enumerate(path, start=1):
        assert n in info["arcs"][pair]["order"]
        assert info["arcs"][pair]["artist"].get_linewidth() > 2


def _diagram_polygons(ax):
    """Display-space outlines of the diagram's labels (turned ones too), boxes and title."""
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()

    def outline(artist):
        patch = artist.get_bbox_patch() if hasattr(artist, "get_bbox_patch") else artist
        if patch is None:
            bb = artist.get_window_extent(renderer)
            return [(bb.x0, bb.y0), (bb.x1, bb.y0), (bb.x1, bb.y1), (bb.x0, bb.y1)]
        points = []
        for x, y in patch.get_transform().transform(patch.get_path().vertices[:-1]):
            if not points or abs(points[-1][0] - x) + abs(points[-1][1] - y) > 0.05:
                points.append((float(x), float(y)))
        while len(points) > 3 and abs(points[0][0] - points[-1][0]) + abs(points[0][1] - points[-1][1]) <= 0.05:
            points.pop()
        return points

    texts = {t.get_gid(): outline(t) for t in ax.texts if t.get_gid() and t.get_text().strip()
             and not t.get_gid().endswith(":name") and not t.get_gid().endswith(":taken")}
    boxes = {p.get_gid(): outline(p) for p in ax.patches
             if p.get_gid() and p.get_gid().startswith("diagram.state:")}
    return texts, boxes, ax.get_window_extent(renderer)


def _shrunk(poly, f=0.97):
    cx, cy = sum(x for x, _ in poly) / len(poly), sum(y for _, y in poly) / len(poly)
    return [(cx + (x - cx) * f, cy + (y - cy) * f) for x, y in poly]


DIAGRAMS = {
    "table": lambda: tl.plot_state_diagram(),
    "errors": lambda: tl.plot_state_diagram(errors=True),
    "lifecycle-client-errors": lambda: tl.plot_state_diagram(tl.simulate("lifecycle"), "client", errors=True),
    "lifecycle-server": lambda: tl.plot_state_diagram(tl.simulate("lifecycle"), "server"),
    "refused-errors": lambda: tl.plot_state_diagram(tl.simulate("refused"), "client", errors=True),
    "subplots": lambda: tl.plot_state_diagram(tl.simulate("lifecycle"), "client", errors=True,
                                              ax=plt.subplots(1, 2, figsize=(20, 9.5))[1][0]),
    "add_subplot": lambda: tl.plot_state_diagram(tl.simulate("refused"), "client",
                                                 ax=_figure((11, 10.5), dpi=70).add_subplot()),
}


@pytest.mark.parametrize("draw", DIAGRAMS.values(), ids=DIAGRAMS.keys())
def test_state_diagram_labels_stay_inside_and_apart(draw):
    from tcplesson.figures._place import overlap

    ax = draw()
    texts, boxes, frame = _diagram_polygons(ax)
    for gid, poly in texts.items():
        xs, ys = [x for x, _ in poly], [y for _, y in poly]
        assert frame.x0 - 0.5 <= min(xs) and max(xs) <= frame.x1 + 0.5, f"{gid} is cut at the side"
        assert frame.y0 - 0.5 <= min(ys) and max(ys) <= frame.y1 + 0.5, f"{gid} is cut at the top or bottom"
        if not gid.endswith(":order"):
            for box, outline in boxes.items():
                assert not overlap(_shrunk(poly), _shrunk(outline)), f"{gid} covers {box}"
    gids = sorted(texts)
    for i, a in enumerate(gids):
        for b in gids[i + 1:]:
            if a.split(":label")[0] == b.split(":label")[0] and not (a.endswith(":order") or b.endswith(":order")):
                continue  # the parts of one label
            assert not overlap(_shrunk(texts[a]), _shrunk(texts[b])), f"{a} and {b} overlap"


@pytest.mark.parametrize("draw", [DIAGRAMS["table"], DIAGRAMS["lifecycle-server"],
                                  lambda: tl.plot_state_diagram(tl.simulate("lifecycle"), "client")],
                         ids=["table", "lifecycle-server", "lifecycle-client"])
def test_state_diagram_fin_wait_1_to_time_wait_label_sits_on_its_own_arc(draw):
    ax = draw()
    info = figure_info(ax)["diagram"]
    arc = info["arcs"][(tl.State.FIN_WAIT_1, tl.State.TIME_WAIT)]
    assert arc["placement"] in ("on", "along"), "on the arc: the arc runs through the label"
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    label = arc["label_artists"][0].get_bbox_patch().get_window_extent(renderer)
    points = ax.transData.transform(arc["artist"].get_path().interpolated(40).vertices)  # the arc, on screen
    assert any(label.contains(x, y) for x, y in points)
    other = figure_info(ax)["diagram"]["arcs"][(tl.State.FIN_WAIT_2, tl.State.TIME_WAIT)]["artist"]
    assert not any(label.contains(x, y) for x, y in ax.transData.transform(other.get_path().interpolated(40).vertices))
    fw2 = info["states"]["FIN-WAIT-2"][0]["patch"].get_window_extent(renderer)
    assert label.y0 > fw2.y1 + 8 or label.y1 < fw2.y0 - 8 or label.x0 > fw2.x1 + 8, "not by FIN-WAIT-2"


@pytest.mark.parametrize("name,who,pair,taken", [
    ("refused", "client", (tl.State.SYN_SENT, tl.State.CLOSED), ["rcv RST"]),
    ("lifecycle", "server", (tl.State.SYN_RECEIVED, tl.State.ESTABLISHED), ["rcv ACK of SYN"]),
    ("simultaneous-open", "client", (tl.State.SYN_RECEIVED, tl.State.ESTABLISHED), ["rcv SYN,ACK"]),
])
def test_state_diagram_emphasises_only_the_event_the_run_took(name, who, pair, taken):
    ax = tl.plot_state_diagram(tl.simulate(name), who)
    arc = figure_info(ax)["diagram"]["arcs"][pair]
    assert arc["emphasised"] == taken
    assert len(arc["label"].split("\n")) > 1, "an arc with stacked labels"
    bold = [t for t in arc["label_artists"] if t.get_fontweight() in ("bold", 700)]
    plain = [t for t in arc["label_artists"] if t not in bold]
    assert [line for t in bold for line in t.get_text().split("\n") if line] == taken
    assert {line for t in plain for line in t.get_text().split("\n") if line} == \
        set(arc["label"].split("\n")) - set(taken)


@pytest.mark.parametrize("name,who,top,bottom", [
    ("handshake", "server", True, False),
    ("handshake", "client", True, False),
    ("refused", "client", True, False),
    ("lifecycle", "server", True, True),
    ("lifecycle", "client", True, True),
])
def test_state_diagram_lights_the_closed_box_the_path_uses(name, who, top, bottom):
    info = figure_info(tl.plot_state_diagram(tl.simulate(name), who))["diagram"]
    first, second = info["states"]["CLOSED"]
    assert (first["highlighted"], second["highlighted"]) == (top, bottom)
    assert first["patch"].get_gid() == "diagram.state:CLOSED" and second["patch"].get_gid() == "diagram.state:CLOSED:2"


def test_state_diagram_title_has_its_own_band():
    for ax in (tl.plot_state_diagram(tl.simulate("lifecycle"), "client", errors=True),
               tl.plot_state_diagram(tl.simulate("refused"), "client", ax=plt.subplots(1, 2, figsize=(20, 9.5))[1][0])):
        texts, boxes, _ = _diagram_polygons(ax)
        title = texts.pop("diagram.title")
        low = min(y for _, y in title)
        for gid, poly in list(texts.items()) + list(boxes.items()):
            assert max(y for _, y in poly) < low, f"{gid} reaches into the title's band"


# --- the header ---
@pytest.mark.parametrize("flags", [tl.Flags.SYN, tl.Flags.SYN | tl.Flags.ACK, tl.Flags.FIN | tl.Flags.ACK,
                                   tl.Flags.RST, tl.Flags.PSH | tl.Flags.ACK, tl.Flags(0)])
def test_header_lights_exactly_the_segment_flags(flags):
    segment = tl.Segment(flags, 1000, 2000, payload=b"x" * 10 if flags & tl.Flags.PSH else b"")
    ax = tl.plot_header(segment, ax=_ax((11, 5.6)))
    info = figure_info(ax)["header"]
    assert info["lit"] == {f.name for f in tl.Flags if flags & f}
    assert set(info["flags"]) == {"CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN"}
    bits = {a.get_gid().split(":")[1]: a.get_text() for a in artists(ax, "header.flag_bit:")}
    assert bits == {name: "1" if name in info["lit"] else "0" for name in info["flags"]}
    assert info["fields"]["Sequence Number"] == "1000"


def test_header_of_a_transmission_uses_its_direction_for_ports():
    trace = tl.simulate("handshake", **ISNS)
    info = figure_info(tl.plot_header(trace.transmissions[1]))["header"]
    assert info["fields"]["Source Port"] == "80" and info["fields"]["Destination Port"] == "50000"


# --- the timeline ---
def test_timeline_has_one_bar_per_state():
    trace = tl.simulate("lifecycle", **ISNS)
    ax = tl.plot_timeline(trace)
    info = figure_info(ax)["timeline"]
    for who in ("client", "server"):
        assert [(t, s) for t, _, s in info["bars"][who]] == trace.states[who]
        assert len(artists(ax, f"timeline.bar:{who}:")) == len(trace.states[who])
    assert info["cuts"]


@pytest.mark.parametrize("name,kw", [("handshake", {}), ("lifecycle", {}), ("handshake", {"drop": range(1, 8)})])
def test_timeline_last_state_runs_on_to_the_right_edge(name, kw):
    trace = tl.simulate(name, **ISNS, **kw)
    ax = tl.plot_timeline(trace)
    info = figure_info(ax)["timeline"]
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    for who in ("client", "server"):
        k = len(trace.states[who]) - 1
        assert info["bars"][who][-1][1] == float("inf"), "the last state never ends"
        bar = artists(ax, f"timeline.bar:{who}:{k}")[0].get_window_extent(renderer)
        assert bar.x1 > frame.x1 - 0.05 * frame.width and bar.x1 <= frame.x1 + 0.5
        name = artists(ax, f"timeline.name:{who}:{k}")[0].get_window_extent(renderer)
        assert bar.x0 <= name.x0 and name.x1 <= bar.x1, "the last state's name sits inside its bar"
    assert {t for t, _ in info["ticks"]} <= {round(t, 9) for who in ("client", "server") for t, _ in trace.states[who]}


def test_timeline_cuts_only_what_short_states_need():
    quiet = figure_info(tl.plot_timeline(tl.simulate("handshake", drop=range(1, 8), **ISNS)))["timeline"]
    assert quiet["cuts"] == [] and [s for _, s in quiet["ticks"]] == ["0", "127"]
    busy = figure_info(tl.plot_timeline(tl.simulate("lifecycle", drop=[7], **ISNS)))["timeline"]
    assert 1 <= len(busy["cuts"]) <= 4


# --- all figures: determinism, no printing, bad inputs ---
DRAWERS = [
    lambda: tl.plot_ladder(tl.simulate("lifecycle", drop=[7], **ISNS), ax=_ax()),
    lambda: tl.plot_state_diagram(tl.simulate("lifecycle"), "server", ax=_ax((11, 10.5))),
    lambda: tl.plot_header(tl.Segment(tl.Flags.SYN | tl.Flags.ACK, 300, 101), ax=_ax((11, 5.6))),
    lambda: tl.plot_timeline(tl.simulate("lifecycle", **ISNS), ax=_ax((10, 3.2))),
]


@pytest.mark.parametrize("draw", DRAWERS, ids=["ladder", "diagram", "header", "timeline"])
def test_rendering_twice_gives_the_same_png_and_prints_nothing(draw, capsys):
    first, second = _png(draw()), _png(draw())
    assert first == second
    assert capsys.readouterr().out == ""


def test_gallery_is_reproducible(tmp_path):
    from tcplesson import gallery

    a = gallery.render(tmp_path / "a")
    b = gallery.render(tmp_path / "b")
    assert len(a) >= 25
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes(), pa.name


@pytest.mark.parametrize("call,exc,word", [
    (lambda: tl.plot_ladder("lifecycle"), TypeError, "trace"),
    (lambda: tl.plot_ladder(tl.simulate("handshake"), upto=-1), ValueError, "upto"),
    (lambda: tl.plot_ladder(tl.simulate("handshake"), upto=4), ValueError, "upto"),
    (lambda: tl.plot_ladder(tl.simulate("handshake"), upto=1.5), TypeError, "upto"),
    (lambda: tl.plot_ladder(tl.simulate("handshake"), compress="yes"), ValueError, "compress"),
    (lambda: tl.plot_ladder(tl.simulate("handshake"), ax="top"), TypeError, "ax"),
    (lambda: tl.plot_ladder(tl.simulate("handshake"), lang="xx"), ValueError, "lang"),
    (lambda: tl.plot_state_diagram(tl.simulate("handshake"), who="nobody"), ValueError, "who"),
    (lambda: tl.plot_state_diagram(trace=42), TypeError, "trace"),
    (lambda: tl.plot_header("SYN"), TypeError, "segment"),
    (lambda: tl.plot_header(tl.Segment(tl.Flags.SYN, 1), src_port=70000), ValueError, "src_port"),
    (lambda: tl.plot_timeline(None), TypeError, "trace"),
])
def test_bad_inputs_name_the_parameter(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


# --- labels ---
def test_every_table_event_and_action_has_words():
    for row in tl.TABLE + tl.TWO_WAY:
        assert labels.event_label(row.event)
        for action in row.actions:
            labels.action_label(action)  # "" is allowed: not shown on arcs
    for state in tl.State:
        assert labels.describe(state) and labels.state_name(state) == state.value


def test_a_second_language_falls_back_to_english(monkeypatch):
    monkeypatch.setitem(labels.TEXTS, "zh", {"lost": "丢失"})
    assert labels.text("lost", "zh") == "丢失"
    assert labels.text("retransmission", "zh") == "retransmission"
    with pytest.raises(KeyError):
        labels.text("no such key")


def test_fin_wait_1_is_described_as_the_rfc_does():
    # RFC 9293 3.3.2: "waiting for a connection termination request from the remote TCP, or an
    # acknowledgment of the connection termination request previously sent"
    words = labels.describe(tl.State.FIN_WAIT_1)
    assert "ACK" in words and "peer's FIN" in words


def test_a_connection_out_of_many_starts_at_its_connect_and_marks_what_the_server_dropped():
    """listen(backlog=2) and no accept(): the fourth client's SYNs meet a full accept queue and are
    dropped without an answer (tcp_conn_request, sk_acceptq_is_full); its ladder starts at its own
    connect() and says of every SYN that the server dropped it."""
    run = tl.simulate(tl.accept_queue_full(backlog=2, n_clients=4, every=0.2))
    conn = run.connection("client4")
    syns = [tx for tx in conn.transmissions if tx.segment.flags == tl.Flags.SYN]
    # tcp_syn_retries 6 + tcp_syn_linear_timeouts 4 (net/ipv4/tcp_timer.c tcp_write_timeout): 11 SYNs
    assert len(syns) == 11 and all(tx.sender == "client" for tx in conn.transmissions)
    for lang in ("en", "zh"):
        ax = tl.plot_ladder(conn, lang=lang)
        info = figure_info(ax)["ladder"]
        brief = labels.text("host drop brief", lang)
        assert {i: info["notes"][i].get_text() for i in info["notes"]} == {
            tx.index: "(" + labels.text("list_sep", lang).join(
                ([labels.text("retransmission", lang)] if tx.retransmission else []) + [brief]) + ")"
            for tx in syns}
        assert min(t for t, _ in info["ticks"]) == pytest.approx(0.6)  # client4 connects at 3 x 0.2 s
        assert not info["cuts"] or info["cuts"][0][0] >= 0.6
        plt.close(ax.figure)
    table = conn.table()
    assert table.count("dropped: accept queue full") == 11

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
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

import tcplesson as tl  # noqa: E402
from tcplesson import labels  # noqa: E402
from tcplesson.figures import artists, figure_info  # noqa: E402
from tcplesson.figures.state_diagram import EXCEPTIONAL_EVENTS  # noqa: E402

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


# --- the state diagram ---
def _table_pairs(include_exceptional=True):
    return {(r.state, r.next) for r in tl.TABLE if r.next is not r.state
            and (include_exceptional or r.event not in EXCEPTIONAL_EVENTS)}


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
        rows = [r for r in tl.TABLE if (r.state, r.next) == (a, b)]
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

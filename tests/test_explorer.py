"""The explorer: each control re-simulates with the right parameter; the figure follows."""
import pytest

import tcplesson as tl

widgets = pytest.importorskip("ipywidgets")


@pytest.fixture
def explorer():
    return tl.explore("lifecycle", client_isn=100, server_isn=300)


def test_starts_with_the_lossless_run(explorer):
    assert [str(tx.segment) for tx in explorer.trace.transmissions][:3] == [
        "SYN seq=100", "SYN,ACK seq=300 ack=101", "ACK seq=101 ack=301"]
    assert bytes(explorer.image.value).startswith(b"\x89PNG")
    assert "connection open" in explorer.summary.value


def test_dropping_the_syn_retransmits_it_after_one_rto(explorer):
    explorer.controls["rto"].value = 1.0
    explorer.controls["drop"].value = "1"
    first, second = explorer.trace.transmissions[:2]
    assert first.lost and first.segment.flags == tl.Flags.SYN
    assert second.retransmission and second.segment == first.segment
    assert second.sent_at == pytest.approx(first.sent_at + 1.0)
    assert "1 lost, 1 retransmitted" in explorer.summary.value


def test_each_control_reaches_the_simulation(explorer):
    explorer.controls["delay"].value = 0.2
    assert explorer.trace.transmissions[0].arrived_at == pytest.approx(0.2)
    explorer.controls["msl"].value = 30.0
    start, end = explorer.trace.time_wait("client")
    assert end - start == pytest.approx(60.0)
    explorer.controls["time_wait"].value = 0.0
    start, end = explorer.trace.time_wait("client")
    assert end == start
    explorer.controls["loss"].value = 1.0
    assert explorer.trace.outcomes["client"] == "timed out"
    explorer.controls["loss"].value = 0.0
    explorer.controls["rto"].value = 2.0
    explorer.controls["drop"].value = "1"
    assert explorer.trace.transmissions[1].sent_at == pytest.approx(2.0)


def test_jitter_and_seed_change_the_delays():
    ex = tl.explore("handshake", jitter=0.3)
    before = [tx.arrived_at for tx in ex.trace.transmissions]
    ex.controls["seed"].value = 7
    assert [tx.arrived_at for tx in ex.trace.transmissions] != before


def test_two_way_handshake_leaves_a_ghost():
    ex = tl.explore("old-duplicate-syn")
    assert ex.trace.final_states["server"] is tl.State.LISTEN
    ex.controls["handshake"].value = "two-way"
    assert ex.trace.final_states["server"] is tl.State.ESTABLISHED


def test_step_shows_only_what_has_happened(explorer):
    full = bytes(explorer.image.value)
    explorer.step.value = 2
    assert bytes(explorer.image.value) != full
    assert "showing 2 of 7 segments" in explorer.summary.value
    explorer.step.value = 7
    assert bytes(explorer.image.value) == full


def test_png_is_what_the_figure_holds(explorer):
    import io
    buffer = io.BytesIO()
    explorer.figure.savefig(buffer, format="png", metadata={"Software": None})
    assert buffer.getvalue() == bytes(explorer.image.value)


def test_widget_bounds_refuse_invalid_values(explorer):
    explorer.controls["loss"].value = 1.5  # a slider clips to its bounds
    assert explorer.controls["loss"].value == 1.0
    before = explorer.trace
    explorer.controls["drop"].value = "4, x"  # a word that is no number: said, and the run stays
    assert "'x' is not a transmission number (1 to 999)" in explorer.summary.value
    assert explorer.trace is before
    explorer.controls["drop"].value = "0"
    assert "'0' is not a transmission number" in explorer.summary.value
    with pytest.raises(ValueError, match="drop"):
        tl.explore("lifecycle", drop=[0])
    with pytest.raises(ValueError, match="loss"):
        tl.explore("lifecycle", loss=1.5)
    with pytest.raises(ValueError, match="unknown scenario"):
        tl.explore("no-such-scenario")
    with pytest.raises(TypeError, match="colour"):
        tl.explore("lifecycle", colour="red")


def test_the_explorer_passes_an_orphans_settings_to_every_run():
    """fin_timeout and orphan_retries are fixed settings: an orphan's FIN-WAIT-2 then ends after 5 s."""
    steps = [("server", "listen", 0), ("client", "connect", 0), ("client", "close", "ESTABLISHED+1")]
    e = tl.explore(steps, fin_timeout=5.0, orphan_retries=0)
    client = e.trace.states["client"]
    fw2 = next(t for t, s in client if s is tl.State.FIN_WAIT_2)
    assert client[-1] == (pytest.approx(fw2 + 5.0), tl.State.CLOSED)


# ---------------------------------------------------------------- the failure explorer (lesson 12)
def test_each_failure_kind_ends_the_survivors_connection_as_the_rfc_says():
    """exit: FIN, then the survivor's data gets RST (an orphan, 3.6); crash: nothing answers, the
    data is retransmitted until "timed out" (3.10.8); reboot: the data gets RST (3.10.7.1); a cable
    that stays out: timed out, the unplugged side still ESTABLISHED (it sent nothing)."""
    e = tl.explore_failure(client_isn=100, server_isn=300)
    outcomes = {}
    for kind in ("exit", "crash", "reboot", "link_down"):
        e.failure_controls["kind"].value = kind
        outcomes[kind] = (e.trace.outcomes["server"], e.trace.final_states["client"])
    assert outcomes == {"exit": ("reset", tl.State.CLOSED), "crash": ("timed out", tl.State.CLOSED),
                        "reboot": ("reset", tl.State.CLOSED), "link_down": ("timed out", tl.State.ESTABLISHED)}


def test_a_cable_back_in_time_and_keepalive_reach_the_run():
    e = tl.explore_failure(kind="link_down", back_after=3.0, client_isn=100, server_isn=300)
    assert e.trace.outcomes == {"client": None, "server": None} and e.trace.delivered["client"] == b"d" * 100
    e.failure_controls["kind"].value = "crash"
    e.failure_controls["sends"].value = False
    assert e.trace.outcomes["server"] is None  # idle, no keep-alive: the server never learns
    e.failure_controls["keepalive"].value = True
    probes = [tx for tx in e.trace.transmissions if tx.sender == "server" and tx.sent_at > 1]
    assert [str(tx.segment) for tx in probes] == ["ACK seq=300 ack=101"] * 3 + ["RST seq=301"]
    assert e.trace.outcomes["server"] == "timed out"


def test_the_failure_explorer_refuses_what_it_cannot_show():
    with pytest.raises(ValueError, match="kind"):
        tl.explore_failure(kind="meteor")
    with pytest.raises(ValueError, match="who"):
        tl.explore_failure(who="router")
    with pytest.raises(ValueError, match="at"):
        tl.explore_failure(at=99.0)


def test_the_drop_box_takes_numbers_as_a_student_types_them(explorer):
    for text in ("4, 7", "7 4", "4,7", " 4 ,  7 ,4 "):
        explorer.controls["drop"].value = text
        assert explorer.params()["drop"] == [4, 7]
        assert [tx.index for tx in explorer.trace.transmissions if tx.lost][:2] == [4, 7]
    assert tl.explore("lifecycle", drop=[7, 4]).controls["drop"].value == "4, 7"


def test_the_step_stays_where_it_still_makes_sense(explorer):
    explorer.step.value = 2
    explorer.controls["delay"].value = 0.1  # the same seven segments, later
    assert explorer.step.value == 2 and "showing 2 of 7 segments" in explorer.summary.value
    explorer.step.value = 7
    explorer.controls["drop"].value = "4"  # a longer run: a step at the end follows the end
    assert explorer.step.value == len(explorer.trace.transmissions) > 7
    explorer.step.value = 9
    explorer.controls["drop"].value = ""  # back to seven: the step cannot stay at 9
    assert explorer.step.value == 7

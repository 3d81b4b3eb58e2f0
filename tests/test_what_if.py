"""tl.what_if_map: every single loss and every pair of losses of a scenario, each with its verdict and
the table row where it leaves the lossless run; and its figure, readable without colour."""
import matplotlib
import pytest

import tcplesson as tl
from tcplesson import labels
from tcplesson.figures import figure_info
from tcplesson.what_if import SHORT, VERDICTS

matplotlib.use("Agg")
S = tl.State
ISNS = dict(client_isn=100, server_isn=300)


@pytest.fixture(scope="module")
def lifecycle():
    return tl.what_if_map("lifecycle", **ISNS)


def test_every_single_loss_of_the_lifecycle_is_repaired(lifecycle):
    """RFC 9293 3.8.1 / RFC 6298: each lost segment that occupies sequence space is retransmitted by its
    sender's timer, in the state it was in; a lost ACK is made good by the next segment."""
    departs = {k[0]: (c.verdict, c.departs) for k, c in lifecycle.cells.items() if len(k) == 1}
    assert departs == {
        1: ("later", ("client", S.SYN_SENT, "rto")),  # the SYN again
        2: ("later", ("client", S.SYN_SENT, "rto")),  # both timers; the client's fires first
        3: ("clean", ("server", S.SYN_RECEIVED, "rto")),  # the client's FIN,ACK completes the handshake
        4: ("later", ("client", S.FIN_WAIT_1, "rto")),  # the FIN again
        5: ("clean", ("client", S.FIN_WAIT_1, "rto")),  # the server's FIN acknowledges the client's FIN
        6: ("later", ("server", S.LAST_ACK, "rto")),
        7: ("later", ("server", S.LAST_ACK, "rto")),  # the FIN again; TIME-WAIT ACKs it again (3.6)
    }


def test_the_map_has_every_pair_once_and_either_order_finds_it(lifecycle):
    assert lifecycle.size == 7 and len(lifecycle.cells) == 7 + 21
    assert lifecycle.cell(4, 2) is lifecycle.cell(2, 4)
    assert set(lifecycle.counts()) <= {"later", "clean"}  # with 6 retries two losses are repaired too
    with pytest.raises(KeyError, match="numbered 1 to 7"):
        lifecycle.cell(0)


def test_with_one_retry_two_losses_can_end_a_connection():
    """max_retries=1: losing the server's FIN and the ACK of its copy leaves LAST-ACK no retry: timed out;
    losing the SYN,ACK and then the handshake's ACK leaves the server's request given up (it goes back to
    LISTEN), so the client's FIN meets no connection: RST."""
    m = tl.what_if_map("lifecycle", max_retries=1, **ISNS)
    assert m.cell(6, 7).verdict == "timed_out" and m.cell(6, 7).trace.outcomes["server"] == "timed out"
    assert m.cell(2, 3).verdict == "reset"
    assert m.cell(1, 7).verdict == "later"


def test_a_pair_whose_second_segment_is_never_sent_says_so():
    m = tl.what_if_map("half-close")
    cell = m.cell(6, 9)  # after the first data segment is lost, the client never sends that ACK
    assert cell.verdict == "not_sent" and cell.trace is None


def test_same_settings_same_map():
    a, b = tl.what_if_map("handshake", seed=3), tl.what_if_map("handshake", seed=3)
    assert {k: (c.verdict, c.departs) for k, c in a.cells.items()} == {k: (c.verdict, c.departs) for k, c in b.cells.items()}


@pytest.mark.parametrize("kwargs, words", [
    (dict(depth=3), "depth must be an integer between 1 and 2"),
    (dict(loss=0.2), "leave out loss="),
    (dict(drop=[1]), "leave out drop="),
])
def test_bad_arguments_are_named(kwargs, words):
    with pytest.raises(ValueError, match=words):
        tl.what_if_map("lifecycle", **kwargs)
    with pytest.raises(ValueError, match="unknown scenario"):
        tl.what_if_map("no-such-scenario")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_figure_names_each_cell_by_a_letter_and_the_legend_by_letter_and_words(lifecycle, lang):
    ax = tl.plot_what_if(tl.what_if_map("lifecycle", max_retries=1, **ISNS), lang=lang)
    info = figure_info(ax)["what_if"]
    assert len(info["cells"]) == 49
    m = tl.what_if_map("lifecycle", max_retries=1, **ISNS)
    for (i, j), text in info["cells"].items():
        assert text.get_text() == SHORT[m.cell(i, j).verdict]
    legend = [t.get_text() for t in info["legend"].get_texts()]
    assert legend == [f"{SHORT[v]}  {labels.text('whatif.' + v, lang)}" for v in VERDICTS if v in m.counts()]
    assert len(set(SHORT.values())) == len(VERDICTS)  # the letters alone tell every verdict apart
    with pytest.raises(TypeError, match="what_if_map"):
        tl.plot_what_if(m.base)
    matplotlib.pyplot.close("all")


def test_the_text_table_reads_like_the_figure(lifecycle):
    table = lifecycle.table()
    assert table.splitlines()[1].split() == ["1"] + ["+"] * 7
    assert "=  ends as without loss" in table and "ends as without loss" not in lifecycle.table("zh")

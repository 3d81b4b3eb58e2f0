"""Each single-loss capture in notebooks/data/losses against the model's run of the same calls with
Linux's timers and ACK timing (tcplesson.loss_compare). The segments must be the same, each side
must lose the same one, and every timing difference must be within TOLERANCE and have its cause;
the one segment difference left (lose-synack) is asserted row by row with its explanation.
"""
import pytest

from tcplesson import loss_compare

SAME_SEGMENTS = [n for n in loss_compare.SINGLE_LOSSES if n not in loss_compare.KNOWN]


@pytest.mark.parametrize("name", SAME_SEGMENTS)
def test_the_model_sends_what_linux_sent_when_the_same_segment_is_lost(name):
    cmp = loss_compare.compare(name)
    assert cmp.segments.same, cmp.table()
    assert cmp.same, cmp.differences()


@pytest.mark.parametrize("name, kinds", [
    ("lose-syn", {"client SYN": "loss.cause.jiffies"}),
    ("lose-ack", {"server SYN,ACK": "loss.cause.jiffies"}),
    ("lose-fin1", {"client FIN,ACK": "loss.cause.tlp", "server ACK": "loss.cause.tick"}),
    ("lose-ack1", {"server ACK": "loss.cause.tick"}),
    ("lose-fin2", {"server FIN,ACK": "loss.cause.tlp", "server ACK": "loss.cause.tick"}),
    ("lose-ack2", {"server ACK": "loss.cause.tick"}),
])
def test_every_timing_difference_has_its_cause(name, kinds):
    """A lost SYN, SYN,ACK or third ACK: the 1 s timer on both (Linux's a jiffy or more late). A lost FIN:
    Linux's tail loss probe about 209 ms later, the model's RTO 200 ms later (its 200 ms floor, not 1 s).
    The ACK of the first FIN: the delayed-ACK timer's next tick, 0-4 ms."""
    cmp = loss_compare.compare(name)
    assert {d.segment: d.cause for d in cmp.delays} == kinds
    for d in cmp.delays:
        assert abs(d.linux - d.model) <= loss_compare.TOLERANCE
        if d.cause == "loss.cause.tlp":
            assert 0.2 < d.linux < 0.22 and d.model == pytest.approx(0.2, abs=1e-3)
        if d.cause == "loss.cause.jiffies":
            assert 1.0 <= d.linux < 1.03 and d.model == pytest.approx(1.0)
        if d.cause == "loss.cause.tick":
            assert 0 < d.linux <= 0.0045 and d.model == pytest.approx(0.004)


def test_lose_synack_differs_by_the_tie_of_two_timers_and_nothing_else():
    cmp = loss_compare.compare("lose-synack")
    only_linux = [row.real_text for row in cmp.segments.rows if row.mark == "<"]
    assert only_linux == ["server SYN,ACK seq=0 ack=1", "client ACK seq=1 ack=1"]
    assert all(row.mark in "=<" for row in cmp.segments.rows)
    assert cmp.same and cmp.known == "loss.known.synack_tie"
    assert any("both 1 s timers are due together" in d for d in cmp.differences("en"))


def test_the_comparison_speaks_both_languages_and_refuses_unknown_experiments(tmp_path):
    cmp = loss_compare.compare("lose-fin2")
    assert "tail loss probe" in " ".join(cmp.differences("en"))
    assert "尾部丢失探测" in " ".join(cmp.differences("zh"))
    assert "（丢失）" in cmp.table("zh") and "(lost)" in cmp.table("en")
    with pytest.raises(ValueError, match="unknown single-loss experiment 'lose-everything'"):
        loss_compare.compare("lose-everything")
    with pytest.raises(FileNotFoundError, match="lose-syn.json"):
        loss_compare.compare("lose-syn", where=tmp_path)

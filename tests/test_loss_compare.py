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


# --- the other losses of the list, each against the model with the experiment's settings -----------------
import json  # noqa: E402
from pathlib import Path  # noqa: E402

import tcplesson as tl  # noqa: E402
from tcplesson import netns_lab  # noqa: E402
from tcplesson.segment import flag_names  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "notebooks" / "data" / "losses"
OPEN = [(0.0, "server", "listen", 5000),
        (0.0, "client", "connect", "server", 5000, {"local_port": 40001, "name": "c"}),
        (0.0, "server", "accept", 5000)]


def captured(name):
    """(record, [(t, sender, flags, payload length)]) with t from the first segment."""
    record = json.loads((DATA / f"{name}.json").read_text())
    segs = netns_lab.tcp_segments((DATA / f"{name}.pcap").read_bytes())
    t0 = segs[0][0]
    return record, [(t - t0, "client" if tcp.sport == 40001 else "server", flag_names(tcp.flags & 0x17), len(tcp.data))
                    for t, tcp in segs]


def event(record, what, sock=None):
    return next(e for e in record["events"] if e["what"] == what and (sock is None or e.get("sock") == sock))


def gaps(times):
    return [b - a for a, b in zip(times, times[1:])]


def timer_close(linux, model):
    """A kernel timer fires on a 4 ms jiffy, and one longer than 2 s may fire up to 256 ms late
    (kernel/time/timer.c's coarser wheel levels; the captures' README)."""
    return model <= linux <= model + (0.26 if model > 2 else 0.03)


@pytest.mark.parametrize("name, linear", [("every-syn-lost", 4), ("every-syn-lost-exponential", 0)])
def test_every_syn_lost_the_model_sends_the_syns_linux_sent_and_times_out_with_it(name, linear):
    record, segs = captured(name)
    assert record["sysctl"]["net.ipv4.tcp_syn_linear_timeouts"] == linear
    linux = [t for t, who, flags, _ in segs if (who, flags) == ("client", "SYN")]
    run = tl.run_sockets(OPEN[:2], delay=1e-5, drop=range(1, 40),
                         sysctls={"client": {"tcp_syn_retries": 2, "tcp_syn_linear_timeouts": linear}})
    trace = run.connection("c")
    model = [tx.sent_at for tx in trace.transmissions]
    assert len(linux) == len(model)
    assert all(timer_close(a, b) for a, b in zip(gaps(linux), gaps(model))), (gaps(linux), gaps(model))
    assert event(record, "connect")["returned"] == "ETIMEDOUT" and trace.outcomes["client"] == "timed out"
    assert timer_close(event(record, "connect")["at"], trace.states["client"][-1][0])


def test_every_synack_lost_the_request_backs_off_and_vanishes_as_in_the_model():
    record, segs = captured("every-synack-lost")
    linux = [t for t, who, flags, _ in segs if (who, flags) == ("server", "SYN,ACK")]
    run = tl.run_sockets([OPEN[0], OPEN[1], (0.0, "client", "crash")], delay=1e-5,
                         sysctls={"server": {"tcp_synack_retries": 2}})
    trace = run.connection("c")
    model = [tx.sent_at for tx in trace.transmissions if tx.sender == "server"]
    assert len(linux) == len(model) == 3
    assert all(timer_close(a, b) for a, b in zip(gaps(linux), gaps(model)))
    gone = [s for s in record["snapshots"] if s["label"].startswith("7.5")][0]
    assert not any(row["state"] == "SYN-RECV" for row in gone["sockets"])
    assert "SYN-RECV" not in run.ss("server", at=7.5) and all(tx.sender == "server" for tx in trace.transmissions[1:])


def test_keepalive_to_a_dead_peer_probes_and_gives_up_on_the_models_schedule():
    """TCP_KEEPIDLE 1, TCP_KEEPINTVL 1, TCP_KEEPCNT 3: probes 1, 2, 3 s after the last segment received,
    the RST and ETIMEDOUT 1 s after the third."""
    record, segs = captured("keepalive-dead-peer")
    heard = max(t for t, who, flags, _ in segs if who == "server")
    probes = [t - heard for t, who, flags, n in segs if who == "client" and flags == "ACK" and t > heard]
    rst = [t - heard for t, who, flags, _ in segs if who == "client" and "RST" in flags]
    sysctls = {"client": {"tcp_keepalive_time": 1, "tcp_keepalive_intvl": 1, "tcp_keepalive_probes": 3}}
    run = tl.run_sockets([OPEN[0], (0.0, "client", "connect", "server", 5000,
                                    {"local_port": 40001, "name": "c", "keepalive": True}), OPEN[2],
                          (0.05, "client", "send", "c", b"hello"), (0.1, "server", "crash")],
                         delay=1e-5, sysctls=sysctls)
    trace = run.connection("c")
    model_heard = max(tx.sent_at for tx in trace.transmissions if tx.sender == "server")
    model_probes = [tx.sent_at - model_heard for tx in trace.transmissions
                    if tx.sender == "client" and tx.sent_at > model_heard and not tx.segment.has(tl.Flags.RST)]
    model_rst = [tx.sent_at - model_heard for tx in trace.transmissions if tx.segment.has(tl.Flags.RST)]
    assert len(probes) == len(model_probes) == 3 and len(rst) == len(model_rst) == 1
    assert all(0 <= a - b <= 0.2 for a, b in zip(probes + rst, model_probes + model_rst)), (probes, model_probes)
    assert trace.outcomes["client"] == "timed out" and event(record, "recv_wait", "client")["returned"] == "ETIMEDOUT"


def transfer(record, user_timeout=0.0, up=None):
    """The experiments' transfer in the model: 1000 bytes every 100 ms from 'transfer starts', the link
    (both directions) down at the first 'drop on', back at 'drop off' if any."""
    start = event(record, "transfer starts")["at"]
    end = max(e["at"] for e in record["events"])
    down = event(record, "drop on")["at"]
    options = {"local_port": 40001, "name": "c", **({"user_timeout": user_timeout} if user_timeout else {})}
    calls = [OPEN[0], (0.0, "client", "connect", "server", 5000, options), OPEN[2], (down, "client", "link_down")]
    calls += [(round(start + 0.1 * k, 3), "client", "send", "c", b"d" * 1000) for k in range(int((end - start) / 0.1))]
    if up is not None:
        calls.append((up, "client", "link_up"))
    sysctls = {"client": {"tcp_retries2": int(record["sysctl"]["net.ipv4.tcp_retries2"])}}
    return tl.run_sockets(calls, delay=1e-5, mss=65495, sysctls=sysctls).connection("c")


def retransmitted(segs_or_trace):
    return [t for t, who, flags, n in segs_or_trace if who == "client" and n]


@pytest.mark.parametrize("name, budget", [("link-down-for-good", 3.0), ("link-down-user-timeout", 1.0)])
def test_a_link_down_for_good_ends_after_the_budget_from_the_first_retransmission(name, budget):
    """Linux: a tail loss probe (new data) first, then RTO retransmissions of the first unacknowledged
    byte, doubling from about 200 ms, and ETIMEDOUT at the first expiry past the budget (tcp_retries2=3:
    3.0 s; TCP_USER_TIMEOUT 1000 ms: exactly 1.0 s). The model has no loss probe: its first
    retransmission is the RTO's, 200 ms after the first lost segment. Both send no RST."""
    record, segs = captured(name)
    user_timeout = next((e["value"] / 1000 for e in record["events"] if e.get("option") == "TCP_USER_TIMEOUT"), 0.0)
    trace = transfer(record, user_timeout)
    down = event(record, "drop on")["at"]
    lost_linux = [t for t, who, flags, n in segs if who == "client" and n and t >= down]
    first_rto = lost_linux[2]  # [0] new data lost, [1] the loss probe (new data), [2] the first RTO
    failed = next(e["at"] for e in record["events"] if e["what"] == "recv" and e["returned"] == "ETIMEDOUT")
    model_rtx = [tx.sent_at for tx in trace.transmissions if tx.retransmission and tx.segment.payload]
    model_end = trace.states["client"][-1][0]
    assert trace.outcomes["client"] == "timed out"
    assert failed - first_rto >= budget and model_end - model_rtx[0] >= budget - 1e-9
    if user_timeout:  # the last timer is cut to end exactly at the budget, on both
        assert failed - first_rto == pytest.approx(budget, abs=0.04) and model_end - model_rtx[0] == pytest.approx(budget)
    else:
        assert len(lost_linux) - 2 == len(model_rtx)  # the same number of RTO retransmissions
    assert not any("RST" in flags for _, _, flags, _ in segs)
    assert not any(tx.segment.has(tl.Flags.RST) for tx in trace.transmissions)


def test_a_link_down_and_up_again_loses_nothing_on_linux_or_in_the_model():
    record, segs = captured("link-down-up")
    up = event(record, "drop off")["at"]
    trace = transfer(record, up=up)
    sent = event(record, "transfer ends")
    assert sent["sent"] == sent["received"] == 45000
    assert len(trace.delivered["server"]) == sum(len(tx.segment.payload) for tx in trace.transmissions
                                                 if tx.sender == "client" and not tx.retransmission)
    assert trace.outcomes == {"client": None, "server": None}
    back = [tx for tx in trace.transmissions if tx.sender == "client" and tx.segment.payload and tx.sent_at >= up]
    assert not back[0].lost  # the first retransmission after the cable is back gets through, as on Linux

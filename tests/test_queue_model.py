"""The Host model against Linux's listen queues as observed (notebooks/data/queues).

Each observed experiment is run again in the model (tcplesson.queue_compare) and must agree with
what Linux 6.18 did: the server's sockets in every ss snapshot (listener Recv-Q = accept queue,
Send-Q = min(backlog, somaxconn); SYN-RECV and ESTAB counts), each client's fate, the SYN,ACK times
(tcp_synack_retries, reqsk_timer_handler), the nftables rule's count of held ACKs and the nstat
counters, with no difference left.
One test observes an experiment afresh on this machine (root, ip netns, nft, tcpdump needed).
"""
import pytest

from tcplesson import queue_capture, queue_compare

# No difference is allowed: the clients' SYN retries that once differed (RFC 6298 doubling in the
# model, 1 s apart on Linux 6.x) follow Linux now (tcplesson/linux_timers.py, tcp_syn_linear_timeouts).


@pytest.mark.parametrize("name", list(queue_capture.EXPERIMENTS))
def test_model_agrees_with_linux(name):
    cmp = queue_compare.compare(name)
    assert cmp.differences() == [], cmp.table()
    assert cmp.same


@pytest.mark.parametrize("name", list(queue_capture.EXPERIMENTS))
def test_what_the_model_cannot_do_is_named_not_guessed(name):
    record, _ = queue_compare.load(name)
    plan = queue_compare.plan(record)
    assert bool(plan.not_compared) == (name in queue_compare.NOT_MODELLED)
    cmp = queue_compare.compare(name)
    assert cmp.not_compared[:len(plan.not_compared)] == plan.not_compared
    assert all(f"  not compared: {n}" in cmp.table() for n in cmp.not_compared)


def aspect(cmp, start):
    found = [a for a in cmp.aspects if a.what.startswith(start)]
    assert found, f"{cmp.experiment} compares nothing called {start!r}:\n{cmp.table()}"
    return found


def test_the_rules_each_experiment_shows_are_compared():
    """Guard against a vacuous match: the facts the README names are among those compared."""
    half = queue_compare.compare("half-open-held")
    # tcp_synack_retries=2: SYN,ACK at +0, +1, +3 s (RTO doubling from 1 s), then the request goes
    assert {tuple(a.linux) for a in aspect(half, "SYN,ACKs to client")} == {(0.0, 1.0, 3.0)}
    assert [a.linux for a in aspect(half, "ACKs the drop rule took")] == [9]  # 3 handshake ACKs + 3 x 2
    assert aspect(half, "ss at 7.60 s")[1].linux == {}
    cookies = queue_compare.compare("syn-queue-full-cookies")
    assert [a.linux for a in aspect(cookies, "ss at 0.70 s")] == [(0, 4), {"SYN-RECV": 5}]  # backlog + 1
    assert [a.linux for a in aspect(cookies, "TcpExtSyncookiesSent")] == [2]
    assert [tuple(a.linux) for a in aspect(cookies, "SYN,ACKs to client 6")] == [(0.0,)]  # never retransmitted
    quarter = queue_compare.compare("syn-backlog-quarter")
    assert aspect(quarter, "ss at 1.50 s")[1].linux == {"SYN-RECV": 7}  # 8 - 7 < 8 >> 2
    assert [a.linux for a in aspect(quarter, "TcpExtListenDrops")] == [6]
    abort = queue_compare.compare("ack-dropped-on-overflow-abort")
    assert [a.linux for a in aspect(abort, "client 3 at")] == ["ECONNRESET"]
    assert [a.linux for a in aspect(abort, "TcpExtListenOverflows")] == [1]
    full = queue_compare.compare("accept-queue-full")
    assert [a.linux for a in aspect(full, "ss at 4.60 s")] == [(3, 2), {"ESTAB": 3}]
    assert [a.linux for a in aspect(full, "TcpExtListenOverflows")] == [9]  # 3 clients x 3 SYNs


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="unknown experiment"):
        queue_compare.compare("no-such-experiment")
    with pytest.raises(TypeError, match="directory"):
        queue_compare.compare("accept-queue-full", where=3)
    with pytest.raises(FileNotFoundError, match="accept-queue-full.json"):
        queue_compare.compare("accept-queue-full", where="/nonexistent")
    with pytest.raises(TypeError, match="JSON record"):
        queue_compare.plan({"experiment": "accept-queue-full"})
    with pytest.raises(TypeError, match="Plan"):
        queue_compare.run("accept-queue-full")


def test_model_agrees_with_a_fresh_observation(tmp_path):
    """ack-dropped-on-overflow-abort observed now, on this machine (2 s), against the model."""
    reason = queue_capture.missing()
    if reason:
        pytest.skip(f"cannot observe Linux here: {reason}")
    name = "ack-dropped-on-overflow-abort"
    queue_capture.capture(name, tmp_path)
    cmp = queue_compare.compare(name, where=tmp_path)
    assert cmp.differences() == [], cmp.table()
    assert [a.linux for a in aspect(cmp, "client 3 at")] == ["ECONNRESET"]

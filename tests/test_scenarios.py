"""Whole runs of the named scenarios: exact segments, both sides' state paths, outcomes.

Expected numbers are worked out here from docs/protocol-facts.md (x = client ISN, y = server ISN):
SYN seq=x; SYN,ACK seq=y ack=x+1; ACK seq=x+1 ack=y+1; then, with u/v the next sequence
numbers of the side that closes first / second: FIN,ACK seq=u ack=v; ACK seq=v ack=u+1;
FIN,ACK seq=w ack=u+1; ACK seq=u+1 ack=w+1.
"""
import pytest

import tcplesson as tl
from tcplesson.segment import SEQ_MOD, flag_names

DELAY = 0.05
ISNS = [(100, 300), (2**32 - 1, 2**32 - 2), (3_000_000_000, 17)]
ISN_IDS = ["isn-100-300", "isn-wrap", "isn-big-small"]

CLOSED, LISTEN, SYN_SENT, SYN_RCVD, ESTAB = "CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"
FW1, FW2, CW, CLOSING, LAST_ACK, TW = "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"


def m(n):
    return n % SEQ_MOD


def c(flags, seq, ack=None, length=0):
    """A segment the client sends."""
    return ("client", flags, m(seq), None if ack is None else m(ack), length)


def s(flags, seq, ack=None, length=0):
    """A segment the server sends."""
    return ("server", flags, m(seq), None if ack is None else m(ack), length)


def ladder(trace):
    """The transmissions as (sender, flags, seq, ack or None, payload length), in time order.

    Segments sent at the same instant by both sides (crossing SYNs or FINs) are put client first,
    so that the order does not depend on which side the simulator happened to run first.
    """
    txs = sorted(trace.transmissions, key=lambda tx: (round(tx.sent_at, 9), tx.sender != "client"))
    return [(tx.sender, flag_names(tx.segment.flags), tx.segment.seq,
             tx.segment.ack if tx.segment.flags & tl.Flags.ACK else None, len(tx.segment.payload))
            for tx in txs]


def paths(trace):
    return {who: [state.value for state in trace.path(who)] for who in ("client", "server")}


def handshake(x, y):
    return [c("SYN", x), s("SYN,ACK", y, x + 1), c("ACK", x + 1, y + 1)]


def release(first, second, u, v):
    """Four-segment release: ``first`` closes, with next sequence number u; ``second``'s is v."""
    return [first("FIN,ACK", u, v), second("ACK", v, u + 1), second("FIN,ACK", v, u + 1), first("ACK", u + 1, v + 1)]


OPEN_C = [CLOSED, SYN_SENT, ESTAB]
OPEN_S = [CLOSED, LISTEN, SYN_RCVD, ESTAB]


def expected(name, x, y):
    """(segments, client path, server path, outcomes) for a named scenario, from docs/protocol-facts.md."""
    if name == "handshake":
        return handshake(x, y), OPEN_C, OPEN_S, {}
    if name in ("lifecycle", "server-closes-on-eof"):
        return (handshake(x, y) + release(c, s, x + 1, y + 1),
                OPEN_C + [FW1, FW2, TW, CLOSED], OPEN_S + [CW, LAST_ACK, CLOSED], {})
    if name == "server-closes-first":
        return (handshake(x, y) + release(s, c, y + 1, x + 1),
                OPEN_C + [CW, LAST_ACK, CLOSED], OPEN_S + [FW1, FW2, TW, CLOSED], {})
    if name == "half-close":
        u, v = x + 1, y + 1
        data = [s("PSH,ACK", v, u + 1, 1460), s("PSH,ACK", v + 1460, u + 1, 1460), s("PSH,ACK", v + 2920, u + 1, 80)]
        acks = [c("ACK", u + 1, v + 1460), c("ACK", u + 1, v + 2920), c("ACK", u + 1, v + 3000)]
        w = v + 3000
        return (handshake(x, y) + [c("FIN,ACK", u, v), s("ACK", v, u + 1)] + data + acks
                + [s("FIN,ACK", w, u + 1), c("ACK", u + 1, w + 1)],
                OPEN_C + [FW1, FW2, TW, CLOSED], OPEN_S + [CW, LAST_ACK, CLOSED], {})
    if name == "simultaneous-open":
        # RFC 9293 figure 7: SYNs cross, each side answers SYN,ACK seq=ISS ack=their seq+1
        return ([c("SYN", x), s("SYN", y), c("SYN,ACK", x, y + 1), s("SYN,ACK", y, x + 1)]
                + release(c, s, x + 1, y + 1),
                [CLOSED, SYN_SENT, SYN_RCVD, ESTAB, FW1, FW2, TW, CLOSED],
                [CLOSED, SYN_SENT, SYN_RCVD, ESTAB, CW, LAST_ACK, CLOSED], {})
    if name == "simultaneous-close":
        # FINs cross (neither acks the other's FIN), each side ACKs the other's: CLOSING, then TIME-WAIT
        return (handshake(x, y) + [c("FIN,ACK", x + 1, y + 1), s("FIN,ACK", y + 1, x + 1),
                                   c("ACK", x + 2, y + 2), s("ACK", y + 2, x + 2)],
                OPEN_C + [FW1, CLOSING, TW, CLOSED], OPEN_S + [FW1, CLOSING, TW, CLOSED], {})
    if name == "refused":
        # nobody listens: a CLOSED port answers a SYN (ACK off) with <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
        return [c("SYN", x), s("RST,ACK", 0, x + 1)], [CLOSED, SYN_SENT, CLOSED], [CLOSED], {"client": "refused"}
    if name == "old-duplicate-syn":
        old = tl.SCENARIOS[name].steps[1].segment.seq
        # the client (CLOSED, it asked for nothing) answers the SYN,ACK with <SEQ=SEG.ACK><CTL=RST>
        return ([c("SYN", old), s("SYN,ACK", y, old + 1), c("RST", old + 1)],
                [CLOSED], [CLOSED, LISTEN, SYN_RCVD, LISTEN], {})
    if name == "abort":
        return (handshake(x, y) + [c("RST", x + 1)], OPEN_C + [CLOSED], OPEN_S + [CLOSED], {"server": "reset"})
    raise AssertionError(f"no expectation written for scenario {name}")


NAMES = ["handshake", "lifecycle", "server-closes-first", "server-closes-on-eof", "half-close",
         "simultaneous-open", "simultaneous-close", "refused", "old-duplicate-syn", "abort"]


def test_every_named_scenario_has_an_expectation_here():
    assert set(tl.SCENARIOS) == set(NAMES)


@pytest.mark.parametrize("isns", ISNS, ids=ISN_IDS)
@pytest.mark.parametrize("name", NAMES)
def test_named_scenario_segments_paths_and_outcomes(name, isns):
    x, y = isns
    trace = tl.simulate(name, client_isn=x, server_isn=y, delay=DELAY)
    segments, client_path, server_path, outcomes = expected(name, x, y)
    assert ladder(trace) == segments
    assert paths(trace) == {"client": client_path, "server": server_path}
    assert trace.outcomes == {"client": outcomes.get("client"), "server": outcomes.get("server")}
    assert not any(tx.lost or tx.retransmission for tx in trace.transmissions)
    assert [tx.stale for tx in trace.transmissions] == [name == "old-duplicate-syn"] + [False] * (len(segments) - 1)
    assert not trace.truncated


@pytest.mark.parametrize("name, who", [("lifecycle", "client"), ("server-closes-first", "server"),
                                       ("half-close", "client"), ("simultaneous-close", "client"),
                                       ("simultaneous-close", "server")])
def test_time_wait_lasts_2msl_on_the_side_that_closed_first(name, who):
    msl = 7.5
    trace = tl.simulate(name, client_isn=100, server_isn=300, msl=msl)
    states = trace.states[who]
    i = [state for _, state in states].index(tl.State.TIME_WAIT)
    (entered, _), (left, after) = states[i], states[i + 1]
    assert after is tl.State.CLOSED
    assert left - entered == pytest.approx(2 * msl)
    other = "server" if who == "client" else "client"
    if name != "simultaneous-close":
        assert tl.State.TIME_WAIT not in trace.path(other)  # TIME-WAIT is on whichever side closed first


def test_half_close_delivers_the_servers_data_to_the_client():
    trace = tl.simulate("half-close", client_isn=100, server_isn=300)
    assert trace.delivered == {"client": b"x" * 3000, "server": b""}


def test_documented_done_when_output():
    table = tl.simulate("lifecycle", client_isn=100, server_isn=300).table()
    for text in ["SYN seq=100", "SYN,ACK seq=300 ack=101", "ACK seq=101 ack=301", "FIN,ACK seq=101 ack=301",
                 "ACK seq=301 ack=102", "FIN,ACK seq=301 ack=102", "ACK seq=102 ack=302"]:
        assert text in table, text


# ====================================================================== lifecycle with one segment lost
X, Y = 100, 300
U, V = X + 1, Y + 1  # release numbers: the client's next seq u, the server's v (= w, nothing sent between)
RTO, MSL = 1.0, 120.0


def lossy(drop, **kw):
    kw = dict(client_isn=X, server_isn=Y, delay=DELAY, rto=RTO, msl=MSL, drop=[drop]) | kw
    return tl.simulate("lifecycle", **kw)


def marks(trace):
    return ([tx.index for tx in trace.transmissions if tx.lost],
            [tx.index for tx in trace.transmissions if tx.retransmission])


def sent_at(trace, index):
    return trace.transmissions[index - 1].sent_at


def time_entered(trace, who, state):
    return next(t for t, st in trace.states[who] if st is state)


def test_lost_syn_is_retransmitted_after_one_rto():
    trace = lossy(1)
    assert ladder(trace) == [c("SYN", X)] + handshake(X, Y) + release(c, s, U, V)
    assert marks(trace) == ([1], [2])
    assert sent_at(trace, 2) == pytest.approx(0 + RTO)
    assert paths(trace) == {"client": OPEN_C + [FW1, FW2, TW, CLOSED], "server": OPEN_S + [CW, LAST_ACK, CLOSED]}


def test_lost_syn_ack_the_client_repeats_its_syn_and_the_server_its_syn_ack():
    trace = lossy(2)
    assert ladder(trace) == handshake(X, Y)[:2] + handshake(X, Y) + release(c, s, U, V)
    assert marks(trace) == ([2], [3, 4])
    assert sent_at(trace, 3) == pytest.approx(RTO)  # the client's SYN retransmission timer
    assert sent_at(trace, 4) <= sent_at(trace, 2) + RTO + 1e-9  # no later than the server's own timer
    assert paths(trace)["server"] == OPEN_S + [CW, LAST_ACK, CLOSED]  # one SYN-RECEIVED, not two


def test_lost_handshake_ack_the_server_retransmits_its_syn_ack():
    trace = lossy(3)
    assert ladder(trace) == handshake(X, Y) + [s("SYN,ACK", Y, X + 1), c("ACK", X + 1, Y + 1)] + release(c, s, U, V)
    assert marks(trace) == ([3], [4])
    assert sent_at(trace, 4) == pytest.approx(DELAY + RTO)
    # the client was ESTABLISHED all along; the server only after the repeated ACK
    assert time_entered(trace, "client", tl.State.ESTABLISHED) == pytest.approx(2 * DELAY)
    assert time_entered(trace, "server", tl.State.ESTABLISHED) == pytest.approx(DELAY + RTO + 2 * DELAY)


def test_lost_client_fin_is_retransmitted():
    trace = lossy(4)
    assert ladder(trace) == handshake(X, Y) + [c("FIN,ACK", U, V)] + release(c, s, U, V)
    assert marks(trace) == ([4], [5])
    assert sent_at(trace, 5) == pytest.approx(sent_at(trace, 4) + RTO)
    assert paths(trace)["client"] == OPEN_C + [FW1, FW2, TW, CLOSED]


def test_lost_server_ack_of_fin_the_client_retransmits_its_fin_and_it_is_acked_again():
    trace = lossy(5)
    lad = ladder(trace)
    assert lad[:5] == handshake(X, Y) + [c("FIN,ACK", U, V), s("ACK", V, U + 1)]
    assert marks(trace) == ([5], [6])
    assert lad[5] == c("FIN,ACK", U, V) and sent_at(trace, 6) == pytest.approx(sent_at(trace, 4) + RTO)
    # the server re-ACKs the repeated FIN and sends its own FIN (these two may come in either order)
    assert sorted(lad[6:8], key=str) == sorted([s("ACK", V, U + 1), s("FIN,ACK", V, U + 1)], key=str)
    assert lad[8:] == [c("ACK", U + 1, V + 1)]
    assert paths(trace)["client"][-2:] == [TW, CLOSED]
    assert paths(trace)["server"] == OPEN_S + [CW, LAST_ACK, CLOSED]


def test_lost_server_fin_is_retransmitted():
    trace = lossy(6)
    assert ladder(trace) == handshake(X, Y) + release(c, s, U, V)[:3] + release(c, s, U, V)[2:]
    assert marks(trace) == ([6], [7])
    assert sent_at(trace, 7) == pytest.approx(sent_at(trace, 6) + RTO)
    # the client waits in FIN-WAIT-2 until the repeated FIN arrives
    assert time_entered(trace, "client", tl.State.TIME_WAIT) == pytest.approx(sent_at(trace, 7) + DELAY)


def test_lost_last_ack_fin_is_retransmitted_reacked_and_time_wait_restarts():
    trace = lossy(7)
    assert ladder(trace) == handshake(X, Y) + release(c, s, U, V) + [s("FIN,ACK", V, U + 1), c("ACK", U + 1, V + 1)]
    assert marks(trace) == ([7], [8])
    assert sent_at(trace, 8) == pytest.approx(sent_at(trace, 6) + RTO)
    reack = sent_at(trace, 9)
    assert reack == pytest.approx(sent_at(trace, 8) + DELAY)
    assert paths(trace)["client"] == OPEN_C + [FW1, FW2, TW, CLOSED]  # one TIME-WAIT, never left early
    time_wait_end = trace.states["client"][-1][0]
    assert time_wait_end == pytest.approx(reack + 2 * MSL)  # not first-entry + 2MSL
    assert trace.outcomes == {"client": None, "server": None}
    assert paths(trace)["server"] == OPEN_S + [CW, LAST_ACK, CLOSED]


def test_no_time_wait_and_a_lost_last_ack_the_peer_gets_rst():
    trace = lossy(7, time_wait=0)
    # the client is gone (CLOSED), so the repeated FIN (ACK on) is answered <SEQ=SEG.ACK><CTL=RST>
    assert ladder(trace) == handshake(X, Y) + release(c, s, U, V) + [s("FIN,ACK", V, U + 1), c("RST", U + 1)]
    assert paths(trace)["client"][-2:] == [TW, CLOSED]
    tw_in, tw_out = trace.states["client"][-2][0], trace.states["client"][-1][0]
    assert tw_out == pytest.approx(tw_in)
    assert paths(trace)["server"] == OPEN_S + [CW, LAST_ACK, CLOSED]
    assert trace.outcomes == {"client": None, "server": "reset"}


# ====================================================================== why three segments, not two
def test_old_duplicate_syn_two_way_leaves_a_ghost_connection():
    trace = tl.simulate("old-duplicate-syn", client_isn=X, server_isn=Y, handshake="two-way")
    old = tl.SCENARIOS["old-duplicate-syn"].steps[1].segment.seq
    assert ladder(trace) == [c("SYN", old), s("SYN,ACK", Y, old + 1)]  # nobody says no
    assert trace.final_states == {"client": tl.State.CLOSED, "server": tl.State.ESTABLISHED}
    assert paths(trace)["server"] == [CLOSED, LISTEN, ESTAB]


def test_old_duplicate_syn_three_way_client_answers_rst_and_server_listens_again():
    trace = tl.simulate("old-duplicate-syn", client_isn=X, server_isn=Y, handshake="three-way")
    old = tl.SCENARIOS["old-duplicate-syn"].steps[1].segment.seq
    assert ladder(trace)[-1] == c("RST", old + 1)
    assert trace.final_states == {"client": tl.State.CLOSED, "server": tl.State.LISTEN}
    assert tl.State.ESTABLISHED not in trace.path("server")


def test_two_way_lifecycle_opens_with_two_segments():
    trace = tl.simulate("lifecycle", client_isn=X, server_isn=Y, handshake="two-way")
    assert ladder(trace)[:2] == handshake(X, Y)[:2]
    assert ladder(trace)[2:] == release(c, s, U, V)
    assert paths(trace)["server"] == [CLOSED, LISTEN, ESTAB, CW, LAST_ACK, CLOSED]


# ====================================================================== sequence numbers wrap
def test_sequence_numbers_wrap_past_2_32():
    top = 2**32 - 1
    trace = tl.simulate("lifecycle", client_isn=top, server_isn=top - 1)
    assert [str(tx.segment) for tx in trace.transmissions] == [
        "SYN seq=4294967295", "SYN,ACK seq=4294967294 ack=0", "ACK seq=0 ack=4294967295",
        "FIN,ACK seq=0 ack=4294967295", "ACK seq=4294967295 ack=1", "FIN,ACK seq=4294967295 ack=1",
        "ACK seq=1 ack=0"]
    assert trace.final_states == {"client": tl.State.CLOSED, "server": tl.State.CLOSED}


def test_data_wraps_past_2_32():
    top = 2**32 - 1
    trace = tl.simulate("half-close", client_isn=5, server_isn=top - 1000)
    assert trace.delivered["client"] == b"x" * 3000
    fin = [tx.segment for tx in trace.transmissions if tx.sender == "server" and tx.segment.flags & tl.Flags.FIN][0]
    assert fin.seq == m(top - 1000 + 1 + 3000)


# ====================================================================== giving up
@pytest.mark.parametrize("rto, retries", [(1.0, 6), (0.5, 3), (2.0, 2)])
def test_connect_gives_up_after_max_retries_with_exponential_backoff(rto, retries):
    trace = tl.simulate("lifecycle", loss=1.0, rto=rto, max_retries=retries, client_isn=X, server_isn=Y)
    times = [rto * (2**k - 1) for k in range(retries + 1)]  # 0, rto, 3rto, 7rto ...
    assert [tx.sent_at for tx in trace.transmissions] == pytest.approx(times)
    assert all(str(tx.segment) == f"SYN seq={X}" and tx.lost for tx in trace.transmissions)
    assert [tx.retransmission for tx in trace.transmissions] == [False] + [True] * retries
    give_up = rto * (2 ** (retries + 1) - 1)
    assert trace.states["client"][-1] == (pytest.approx(give_up), tl.State.CLOSED)
    assert paths(trace) == {"client": [CLOSED, SYN_SENT, CLOSED], "server": [CLOSED, LISTEN]}
    assert trace.outcomes == {"client": "timed out", "server": None}


def test_linux_default_syn_retries_time_out_at_127_seconds():
    trace = tl.simulate("lifecycle", loss=1.0, rto=1, max_retries=6, client_isn=X, server_isn=Y)
    assert [tx.sent_at for tx in trace.transmissions] == [0, 1, 3, 7, 15, 31, 63]
    assert trace.states["client"][-1] == (127, tl.State.CLOSED)
    assert trace.outcomes["client"] == "timed out"


def test_rto_backoff_is_capped_at_120_seconds():
    trace = tl.simulate("handshake", loss=1.0, rto=1, max_retries=8, client_isn=X, server_isn=Y)
    # 1, 2, 4 ... 64, 128 -> capped at 120 (Linux TCP_RTO_MAX; RFC 6298 2.5 allows a cap of >= 60 s)
    assert [tx.sent_at for tx in trace.transmissions] == [0, 1, 3, 7, 15, 31, 63, 127, 247]
    assert trace.states["client"][-1] == (247 + 120, tl.State.CLOSED)


def test_server_gives_up_on_a_half_open_connection_and_keeps_listening():
    # every SYN,ACK lost: the server retransmits it and then drops the half-open connection
    drops = [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]
    trace = tl.simulate("handshake", client_isn=X, server_isn=Y, drop=drops, max_retries=2)
    assert trace.final_states["server"] is tl.State.LISTEN
    assert trace.final_states["client"] is tl.State.CLOSED
    assert trace.outcomes["client"] == "timed out"


# ====================================================================== delayed ACK: three-segment release
def test_delayed_ack_server_closes_on_eof_three_segment_release():
    trace = tl.simulate("server-closes-on-eof", client_isn=X, server_isn=Y, delayed_ack=0.2)
    # the server's ACK of the client's FIN rides on the server's FIN: FIN,ACK seq=v ack=u+1
    assert ladder(trace) == handshake(X, Y) + [c("FIN,ACK", U, V), s("FIN,ACK", V, U + 1), c("ACK", U + 1, V + 1)]
    assert paths(trace) == {"client": OPEN_C + [FW1, TW, CLOSED], "server": OPEN_S + [CW, LAST_ACK, CLOSED]}


def test_delayed_ack_with_a_pause_before_close_is_four_segments():
    trace = tl.simulate("lifecycle", client_isn=X, server_isn=Y, delayed_ack=0.2)  # server closes 1 s later
    assert ladder(trace) == handshake(X, Y) + release(c, s, U, V)
    ack = trace.transmissions[4]
    assert ack.sent_at == pytest.approx(trace.transmissions[3].arrived_at + 0.2)  # the ACK waited 200 ms


# ====================================================================== instructors' own scenarios
def test_custom_scenario_as_a_list_of_steps():
    steps = [
        ("server", "listen", 0),
        ("client", "connect", 0),
        ("client", "send", "ESTABLISHED+0.5", b"hello"),
        ("server", "send", "ESTABLISHED+1", b"hi!"),
        ("client", "close", "ESTABLISHED+2"),
        ("server", "close", "CLOSE-WAIT+0.5"),
    ]
    trace = tl.simulate(steps, client_isn=X, server_isn=Y)
    assert trace.scenario == "custom"
    assert ladder(trace) == handshake(X, Y) + [
        c("PSH,ACK", X + 1, Y + 1, 5), s("ACK", Y + 1, X + 6),
        s("PSH,ACK", Y + 1, X + 6, 3), c("ACK", X + 6, Y + 4),
    ] + release(c, s, X + 6, Y + 4)
    assert trace.delivered == {"client": b"hi!", "server": b"hello"}
    assert trace.final_states == {"client": tl.State.CLOSED, "server": tl.State.CLOSED}


def test_custom_scenario_object_with_steps_and_inject():
    sc = tl.Scenario("my-old-dup", [
        tl.Step("server", "listen", at=0.0),
        ("client", "inject", 0.5, tl.Segment(tl.Flags.SYN, 4000)),
    ], "an old SYN reaches a listener")
    trace = tl.simulate(sc, client_isn=X, server_isn=Y)
    assert trace.scenario == "my-old-dup"
    assert ladder(trace) == [c("SYN", 4000), s("SYN,ACK", Y, 4001), c("RST", 4001)]
    assert trace.transmissions[0].sent_at == 0.5 and trace.transmissions[0].stale


def test_a_call_in_the_wrong_state_is_recorded_and_the_run_goes_on():
    steps = [("server", "listen", 0), ("client", "connect", 0), ("client", "send", 0.01, b"too early"),
             ("client", "close", "ESTABLISHED+1"), ("server", "close", "CLOSE-WAIT+1")]
    trace = tl.simulate(steps, client_isn=X, server_isn=Y)
    errors = [h for h in trace.happenings if h.kind == "call error"]
    assert len(errors) == 1 and errors[0].who == "client"
    assert "send()" in errors[0].detail and "SYN-SENT" in errors[0].detail
    assert trace.final_states == {"client": tl.State.CLOSED, "server": tl.State.CLOSED}


# ====================================================================== data overtaking the handshake ACK
def test_lost_handshake_ack_and_first_data_segment_data_still_arrives():
    # The third ACK and the first data segment are lost; the second data segment (out of order)
    # acknowledges the server's SYN, so the server is ESTABLISHED (RFC 9293 3.10.7.4: the ACK is
    # processed before the text) and queues the data until the retransmission fills the gap.
    data = bytes(range(256)) * 12  # 3072 bytes: 1460 + 1460 + 152
    steps = [("server", "listen", 0), ("client", "connect", 0), ("client", "send", "ESTABLISHED+0.5", data),
             ("client", "close", "ESTABLISHED+3"), ("server", "close", "CLOSE-WAIT+1")]
    trace = tl.simulate(steps, client_isn=X, server_isn=Y, drop=[3, 4])
    assert ladder(trace)[:8] == handshake(X, Y) + [
        c("PSH,ACK", X + 1, Y + 1, 1460), c("PSH,ACK", X + 1461, Y + 1, 1460), c("PSH,ACK", X + 2921, Y + 1, 152),
        s("ACK", Y + 1, X + 1), s("ACK", Y + 1, X + 1)]  # duplicate ACKs: the gap at X+1
    assert not any(tx.segment.flags & tl.Flags.RST for tx in trace.transmissions)
    assert trace.delivered["server"] == data
    assert time_entered(trace, "server", tl.State.ESTABLISHED) == pytest.approx(0.6 + DELAY)
    assert paths(trace) == {"client": OPEN_C + [FW1, FW2, TW, CLOSED], "server": OPEN_S + [CW, LAST_ACK, CLOSED]}
    assert trace.outcomes == {"client": None, "server": None}


def test_half_close_lost_ack_of_fin_and_first_data_segment_client_reaches_fin_wait_2():
    # #5 (the server's ACK of the client's FIN) and #6 (its first data segment) are lost; #7 acks the
    # client's FIN, so the client is in FIN-WAIT-2 from #7's arrival on (the ACK is processed first).
    trace = tl.simulate("half-close", client_isn=X, server_isn=Y, drop=[5, 6])
    arrival_7 = trace.transmissions[6].arrived_at
    assert time_entered(trace, "client", tl.State.FIN_WAIT_2) == pytest.approx(arrival_7)
    assert trace.delivered["client"] == b"x" * 3000
    assert paths(trace)["client"] == OPEN_C + [FW1, FW2, TW, CLOSED]

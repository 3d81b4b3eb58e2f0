"""Properties that hold over many random runs (Hypothesis).

Channel settings, drops, seeds and scenarios are drawn at random; each test states what must be
true of every run, whatever was lost or delayed.
"""
import hashlib
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tcplesson as tl
from tcplesson.segment import MAX_WINDOW, SEQ_MOD
from tcplesson.table import lookup_table

from _drive import PATHS, drive

S = tl.State
# The default run is derandomized (the same examples every time, as graders and CI want);
# TCPLESSON_EXAMPLES=5000 pytest tests/test_properties.py searches deeper, with fresh randomness.
DEEP = "TCPLESSON_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("TCPLESSON_EXAMPLES", "200"))


def _settings(examples: int):
    return settings(max_examples=max(1, examples), deadline=None, derandomize=not DEEP,
                    suppress_health_check=[HealthCheck.too_slow])


SETTINGS = _settings(EXAMPLES)

ALL_SCENARIOS = sorted(tl.SCENARIOS)
# Scenarios in which both sides close (or never open): with enough retries they must end closed.
# Not "handshake" (nobody closes) and not "abort" (an RST is never retransmitted: if it is lost the
# server stays ESTABLISHED, a half-open connection, RFC 9293 3.5.1).
CLOSING_SCENARIOS = [n for n in ALL_SCENARIOS if n not in ("handshake", "abort")]


def _data(n: int, tag: bytes) -> bytes:
    """n bytes in which no two 16-byte blocks are alike, so any reordering or repetition shows."""
    out, i = bytearray(), 0
    while len(out) < n:
        out += hashlib.sha256(tag + i.to_bytes(4, "big")).digest()[:16]
        i += 1
    return bytes(out[:n])


CLIENT_DATA, SERVER_DATA = _data(5000, b"client"), _data(4000, b"server")
BOTH_WAYS = tl.Scenario("both-ways", [
    ("server", "listen", 0),
    ("client", "connect", 0),
    ("client", "send", "ESTABLISHED+0.2", CLIENT_DATA),
    ("server", "send", "ESTABLISHED+0.1", SERVER_DATA),
    ("client", "close", "ESTABLISHED+3"),
    ("server", "close", "CLOSE-WAIT+1"),
])

drops = st.lists(st.integers(1, 40), max_size=8, unique=True)
seeds = st.integers(0, 2**32 - 1)
isns = st.integers(0, SEQ_MOD - 1)


def _listened(scenario, who):
    steps = tl.SCENARIOS[scenario].steps if isinstance(scenario, str) else scenario.steps
    return any(step.who == who and step.call == "listen" for step in steps)


def _check_transitions_follow_the_table(trace, handshake):
    table = lookup_table(handshake)
    for who in ("client", "server"):
        for tr in trace.transitions[who]:
            row = table.get((tr.old, tr.event))
            assert row is not None and row.next is tr.new, (who, tr)


# ====================================================================== termination
@SETTINGS
@given(scenario=st.sampled_from(ALL_SCENARIOS), drop=drops, loss=st.floats(0, 1), delay=st.floats(0, 2),
       jitter=st.floats(0, 1), seed=seeds, handshake=st.sampled_from(["three-way", "two-way"]),
       delayed_ack=st.sampled_from([0.0, 0.2]), max_retries=st.integers(0, 8), time_wait=st.sampled_from([None, 0.0]))
def test_every_run_terminates_and_follows_the_table(scenario, drop, loss, delay, jitter, seed, handshake,
                                                     delayed_ack, max_retries, time_wait):
    trace = tl.simulate(scenario, drop=drop, loss=loss, delay=delay, jitter=jitter, seed=seed, handshake=handshake,
                        delayed_ack=delayed_ack, max_retries=max_retries, msl=5.0, time_wait=time_wait)
    assert not trace.truncated
    assert [tx.index for tx in trace.transmissions] == list(range(1, len(trace.transmissions) + 1))
    for tx in trace.transmissions:
        assert tx.lost == (tx.arrived_at is None)
        assert tx.lost or delay - 1e-9 <= tx.arrived_at - tx.sent_at <= delay + jitter + 1e-9
        assert (tx.index in drop) <= tx.lost
    _check_transitions_follow_the_table(trace, handshake)
    for who in ("client", "server"):
        times = [t for t, _ in trace.states[who]]
        assert times == sorted(times)


# ====================================================================== everybody closes
@SETTINGS
@given(scenario=st.sampled_from(CLOSING_SCENARIOS), drop=drops, loss=st.floats(0, 0.3), delay=st.floats(0.001, 0.5),
       jitter=st.floats(0, 0.3), seed=seeds, delayed_ack=st.sampled_from([0.0, 0.2]),
       time_wait=st.sampled_from([None, 0.0]))
def test_with_enough_retries_both_sides_end_closed(scenario, drop, loss, delay, jitter, seed, delayed_ack, time_wait):
    trace = tl.simulate(scenario, drop=drop, loss=loss, delay=delay, jitter=jitter, seed=seed, max_retries=15,
                        msl=5.0, delayed_ack=delayed_ack, time_wait=time_wait)
    assert not trace.truncated
    for who in ("client", "server"):
        allowed = {S.CLOSED, S.LISTEN} if _listened(scenario, who) else {S.CLOSED}
        assert trace.final_states[who] in allowed, (who, trace.table())


# ====================================================================== data: exactly once, in order
def _sent(trace, who, data):
    """What the application on ``who`` handed to send(): ``data`` if its send() call was accepted."""
    called = any(h.who == who and h.kind == "call" and h.detail == "send()" for h in trace.happenings)
    failed = any(h.who == who and h.kind == "call error" and "send()" in h.detail for h in trace.happenings)
    return data if called and not failed else b""


def _got_fin(trace, who):
    """``who`` took in the peer's FIN (it comes after all the peer's data in sequence space)."""
    return any(state in (S.CLOSE_WAIT, S.CLOSING, S.TIME_WAIT) for state in trace.path(who))


@SETTINGS
@given(which=st.sampled_from(["half-close", "both-ways"]), drop=drops, loss=st.floats(0, 0.3),
       delay=st.floats(0.001, 0.5), jitter=st.floats(0, 0.3), seed=seeds, delayed_ack=st.sampled_from([0.0, 0.2]),
       mss=st.sampled_from([536, 1000, 1460]), client_isn=isns, server_isn=isns)
def test_data_is_delivered_exactly_once_and_in_order(which, drop, loss, delay, jitter, seed, delayed_ack, mss,
                                                     client_isn, server_isn):
    scenario = "half-close" if which == "half-close" else BOTH_WAYS
    trace = tl.simulate(scenario, drop=drop, loss=loss, delay=delay, jitter=jitter, seed=seed, max_retries=15,
                        delayed_ack=delayed_ack, mss=mss, client_isn=client_isn, server_isn=server_isn)
    if which == "half-close":
        sent = {"client": b"", "server": _sent(trace, "server", b"x" * 3000)}
    else:
        sent = {"client": _sent(trace, "client", CLIENT_DATA), "server": _sent(trace, "server", SERVER_DATA)}
    for sender, receiver in (("client", "server"), ("server", "client")):
        got = trace.delivered[receiver]
        assert sent[sender].startswith(got), (sender, len(got))  # never a byte twice, never out of order
        if _got_fin(trace, receiver):
            assert got == sent[sender]  # the FIN follows the last byte: everything arrived


# ====================================================================== ESTABLISHED pairs up
def _quiescent_instants(trace):
    """Instants between events at which no transmission is in the air."""
    times = {0.0, trace.end_time}
    for tx in trace.transmissions:
        times.add(tx.sent_at)
        if tx.arrived_at is not None:
            times.add(tx.arrived_at)
    for who in ("client", "server"):
        times.update(t for t, _ in trace.states[who])
    times = sorted(times)
    probes = [(a + b) / 2 for a, b in zip(times, times[1:]) if b - a > 1e-9] + [times[-1] + 1.0]
    for t in probes:
        if not any(tx.arrived_at is not None and tx.sent_at <= t < tx.arrived_at for tx in trace.transmissions):
            yield t


@SETTINGS
@given(scenario=st.sampled_from(ALL_SCENARIOS), delay=st.floats(0.001, 1.5), jitter=st.floats(0, 0.5), seed=seeds,
       delayed_ack=st.sampled_from([0.0, 0.2]))
def test_three_way_when_nothing_is_in_flight_established_pairs_up(scenario, delay, jitter, seed, delayed_ack):
    # Without loss: a lost segment is not "in the air", yet the connection is not settled until the
    # retransmission timer repairs it (a lost third ACK leaves the client ESTABLISHED and the server
    # in SYN-RECEIVED for one RTO, see test_lost_handshake_ack_...). The two-way counterfactual
    # breaks this property on purpose (test_two_way_ghost_breaks_the_pairing).
    trace = tl.simulate(scenario, delay=delay, jitter=jitter, seed=seed, delayed_ack=delayed_ack)
    checked = 0
    for t in _quiescent_instants(trace):
        client, server = trace.state_at("client", t), trace.state_at("server", t)
        assert (client is S.ESTABLISHED) == (server is S.ESTABLISHED), (t, client, server, trace.table())
        checked += 1
    assert checked >= 1  # at least the instant after the end


def test_two_way_ghost_breaks_the_pairing():
    trace = tl.simulate("old-duplicate-syn", handshake="two-way")
    t = list(_quiescent_instants(trace))[-1]
    assert trace.state_at("server", t) is S.ESTABLISHED and trace.state_at("client", t) is S.CLOSED


def test_a_lost_third_ack_leaves_one_side_established_until_the_retransmission():
    trace = tl.simulate("handshake", drop=[3], delay=0.05)
    quiet = [t for t in _quiescent_instants(trace) if 0.1 < t < 1.05]
    assert quiet  # nothing in the air between the lost ACK and the SYN,ACK retransmission
    assert all(trace.state_at("client", t) is S.ESTABLISHED and trace.state_at("server", t) is S.SYN_RECEIVED
               for t in quiet)
    assert trace.final_states == {"client": S.ESTABLISHED, "server": S.ESTABLISHED}


# ====================================================================== determinism
@_settings(EXAMPLES // 2)
@given(scenario=st.sampled_from(ALL_SCENARIOS), drop=drops, loss=st.floats(0, 1), delay=st.floats(0, 1),
       jitter=st.floats(0, 1), seed=seeds, handshake=st.sampled_from(["three-way", "two-way"]))
def test_same_seed_gives_an_identical_trace(scenario, drop, loss, delay, jitter, seed, handshake):
    kw = dict(drop=drop, loss=loss, delay=delay, jitter=jitter, seed=seed, handshake=handshake)
    a, b = tl.simulate(scenario, **kw), tl.simulate(scenario, **kw)
    assert a.transmissions == b.transmissions
    assert a.states == b.states and a.transitions == b.transitions
    assert a.outcomes == b.outcomes and a.delivered == b.delivered
    assert a.happenings == b.happenings and a.end_time == b.end_time
    assert a.params == b.params
    assert a.table() == b.table()


def test_seed_chooses_the_isns_when_not_given():
    a, b = tl.simulate("handshake", seed=1), tl.simulate("handshake", seed=2)
    assert a.transmissions[0].segment.seq != b.transmissions[0].segment.seq
    assert tl.simulate("handshake", seed=1).transmissions == a.transmissions


# ====================================================================== the endpoint under random input
# Mostly segments a peer could send (numbers near RCV.NXT and SND.NXT), so that every state is
# explored in depth; now and then anything at all.
FLAG_COMBOS = [0x02, 0x12, 0x10, 0x10, 0x11, 0x11, 0x04, 0x14, 0x18, 0x18, 0x19, 0x01, 0x03, 0x06, 0x16]
flags_st = st.one_of(st.sampled_from(FLAG_COMBOS), st.integers(0, 0xFF))
seq_st = st.tuples(st.sampled_from(["rcv_nxt"] * 6 + ["irs", "zero", "any"]),
                   st.sampled_from([0, 0, 0, 0, -1, 1, -5, 5, 60_000, 70_000]), st.integers(0, SEQ_MOD - 1))
ack_st = st.tuples(st.sampled_from(["snd_nxt"] * 4 + ["snd_una"] * 2 + ["iss", "zero", "any"]),
                   st.sampled_from([0, 0, 0, 0, -1, 1, 2]), st.integers(0, SEQ_MOD - 1))
segment_op = st.tuples(st.just("segment"), flags_st, seq_st, ack_st, st.sampled_from([0, 0, 0, 1, 3]),
                       st.sampled_from([MAX_WINDOW] * 6 + [1, 0]))
# What a live peer sends: (flags, (seq base, offset), (ack base, offset), payload length)
PEER = [
    (0x10, ("rcv_nxt", 0), ("snd_nxt", 0), 0), (0x10, ("rcv_nxt", 0), ("snd_una", 0), 0),
    (0x11, ("rcv_nxt", 0), ("snd_nxt", 0), 0), (0x11, ("rcv_nxt", 0), ("snd_una", 0), 0),
    (0x18, ("rcv_nxt", 0), ("snd_nxt", 0), 3), (0x18, ("rcv_nxt", 5), ("snd_nxt", 0), 3),
    (0x19, ("rcv_nxt", 5), ("snd_nxt", 0), 3), (0x11, ("rcv_nxt", -1), ("snd_nxt", 0), 0),
    (0x04, ("rcv_nxt", 0), ("zero", 0), 0), (0x04, ("rcv_nxt", 3), ("zero", 0), 0),
    (0x14, ("zero", 0), ("snd_nxt", 0), 0), (0x14, ("zero", 0), ("iss", 1), 0),
    (0x02, ("irs", 0), ("zero", 0), 0), (0x02, ("rcv_nxt", 7), ("zero", 0), 0),
    (0x12, ("irs", 0), ("snd_nxt", 0), 0), (0x12, ("irs", 0), ("snd_nxt", 1), 0),
    (0x12, ("any", 0), ("iss", 1), 0), (0x10, ("rcv_nxt", 0), ("snd_nxt", 5), 0),
    (0x18, ("rcv_nxt", 0), ("zero", 0), 3), (0x08, ("rcv_nxt", 0), ("zero", 0), 3),
    (0x18, ("rcv_nxt", 5), ("snd_una", 0), 3),
]
PEER_OPS = [("segment", f, (*sq, 0), (*ak, 0), n, MAX_WINDOW) for f, sq, ak, n in PEER]
CALLS = ["listen", "connect", "send", "close", "abort", "read"]
call_op = st.tuples(st.just("call"), st.sampled_from(CALLS))
timer_op = st.tuples(st.just("timer"))
wait_op = st.tuples(st.just("wait"), st.floats(0, 300))
ops_st = st.lists(st.one_of(st.sampled_from(PEER_OPS), st.sampled_from(PEER_OPS), segment_op, call_op, timer_op,
                            wait_op), min_size=1, max_size=12)

# States that wait for an ACK of something they sent (or for 2MSL): a timer must be running.
WAITING = {S.SYN_SENT, S.SYN_RECEIVED, S.FIN_WAIT_1, S.CLOSING, S.LAST_ACK, S.TIME_WAIT}
# Start states for the two-way counterfactual (the driver opens connections the three-way way).
START = [(path, "three-way") for path in PATHS] + [(p, "two-way") for p in ("CLOSED", "LISTEN", "SYN-SENT")]
START_IDS = [f"{path}-{hs}" for path, hs in START]


def _number(ep, spec):
    ref, offset, anything = spec
    if ref == "any":
        return anything
    base = 0 if ref == "zero" else getattr(ep, ref)
    return ((base or 0) + offset) % SEQ_MOD


class _Checked:
    """Applies one operation to a driven endpoint and checks everything that must always hold."""

    def __init__(self, c, handshake):
        self.c, self.ep, self.table = c, c.ep, lookup_table(handshake)
        self.narrow = False  # the peer advertised a small window (zero-window probing is not modelled)
        self.ep.log.clear()

    def apply(self, op):
        c, ep = self.c, self.ep
        before = ep.state
        if op[0] == "segment":
            _, flags, seq, ack, length, window = op
            segment = tl.Segment(flags, _number(ep, seq), _number(ep, ack), window, b"z" * length)
            self.narrow = self.narrow or window < MAX_WINDOW
            out = ep.receive(c.tick(), segment)  # never raises
        elif op[0] == "call":
            name = op[1]
            if name == "read":
                ep.read()
                return
            args = (b"data",) if name == "send" else ()
            try:
                out = getattr(ep, name)(c.tick(), *args)
            except tl.ProtocolError as error:  # the only error a user call may raise, and it changes nothing
                assert ep.state is before and f"{name}()" in str(error) and str(before) in str(error)
                assert not ep.log
                return
        elif op[0] == "timer":
            deadline = ep.next_deadline()
            if deadline is None:
                return
            c.t = max(c.t, deadline)
            out = ep.on_timer(c.t)  # never raises
            later = ep.next_deadline()
            assert later is None or later > c.t  # every timer that was due has run
        else:
            c.tick(op[1])
            return
        # every state change is a row of the table
        state = before
        for rec in ep.log:
            if type(rec).__name__ == "StateChange":
                row = self.table.get((state, rec.event))
                assert row is not None and row.next is rec.state, (state, rec)
                state = rec.state
        assert state is ep.state
        ep.log.clear()
        # what goes on the wire is a valid segment
        for seg in out:
            assert isinstance(seg, tl.Segment)
            assert 0 <= seg.seq < SEQ_MOD and 0 <= seg.ack < SEQ_MOD and 0 <= seg.window <= MAX_WINDOW
            if before.synchronized and ep.state.synchronized and not seg.flags & tl.Flags.RST:
                assert seg.flags & tl.Flags.ACK, seg  # once synchronized, every segment carries ACK (3.1)
        deadline = ep.next_deadline()
        if ep.state in (S.CLOSED, S.LISTEN):
            assert deadline is None  # no connection, no timers
        if ep.state in WAITING and not self.narrow:
            assert deadline is not None, ep.state  # something unacknowledged, or 2MSL: never stuck


ONE_STEP = PEER_OPS + [("call", name) for name in CALLS] + [("timer",)]


@pytest.mark.parametrize("path, handshake", START, ids=START_IDS)
def test_endpoint_every_single_step_from_every_state(path, handshake):
    """Each peer segment, user call and timer, applied once in each state (a systematic sweep)."""
    for op in ONE_STEP:
        for max_retries in (0, 2):
            checked = _Checked(drive(path, handshake=handshake, max_retries=max_retries), handshake)
            checked.apply(op)
            checked.apply(("timer",))


@pytest.mark.parametrize("path, handshake", START, ids=START_IDS)
@_settings(EXAMPLES // 4)
@given(ops=ops_st, delayed_ack=st.sampled_from([0.0, 0.2]), auto_read=st.booleans(), max_retries=st.integers(0, 3))
def test_endpoint_under_random_segments_calls_and_timers(path, handshake, ops, delayed_ack, auto_read, max_retries):
    c = drive(path, handshake=handshake, delayed_ack=delayed_ack, auto_read=auto_read, max_retries=max_retries)
    checked = _Checked(c, handshake)
    for op in ops:
        checked.apply(op)

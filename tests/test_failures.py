"""When things break: a host that crashes or reboots, a cable pulled and plugged back, keep-alive,
and RFC 5961's challenge ACK for an RST inside the window. One test per rule, with the exact
segments, states, outcomes and times it implies.

Two endpoints follow RFC 9293 (tl.simulate); Hosts follow Linux (tl.run_sockets). The observations in
notebooks/data/losses (tests/test_loss_observations.py) show the same rules on a real kernel:
keepalive-dead-peer, crash-then-server-sends, crash-reboot-reconnect, rst-in-window, rst-exact.
"""
import pytest
from hypothesis import given, settings, strategies as st

import tcplesson as tl
from tcplesson.segment import SEQ_MOD, Flags, Segment, flag_names

S = tl.State
OPEN = [("server", "listen", 0), ("client", "connect", 0)]
ISNS = dict(client_isn=100, server_isn=300)


def sent(trace, who=None, after=-1.0):
    return [(round(tx.sent_at, 2), tx.sender, str(tx.segment), tx.lost) for tx in trace.transmissions
            if tx.sent_at > after and (who is None or tx.sender == who)]


# --- a crash (power loss) and a reboot, two endpoints (RFC 9293 3.5.1, 3.10.7.1) --------------------------
def test_an_idle_peer_notices_nothing_of_a_crash():
    """3.5.1: the crashed side sends nothing; the other has a half-open connection for ever."""
    trace = tl.simulate(OPEN + [("client", "crash", "ESTABLISHED+1")], **ISNS)
    assert len(trace.transmissions) == 3
    assert trace.final_states == {"client": S.CLOSED, "server": S.ESTABLISHED}
    assert trace.states["client"][-1] == (pytest.approx(1.1), S.CLOSED)
    assert trace.outcomes == {"client": None, "server": None}


def test_data_to_a_crashed_host_is_retransmitted_until_the_sender_gives_up():
    """3.10.8 / RFC 6298: the RTO doubles from 1 s; after max_retries=6 retransmissions, "timed out"."""
    trace = tl.simulate(OPEN + [("client", "crash", "ESTABLISHED+1"), ("server", "send", "ESTABLISHED+2", b"x")],
                        **ISNS)
    data = [tx for tx in trace.transmissions if tx.segment.payload]
    assert [round(tx.sent_at - data[0].sent_at, 6) for tx in data] == [0, 1, 3, 7, 15, 31, 63]
    assert all(tx.lost for tx in data)  # nobody is there to take them
    assert trace.outcomes["server"] == "timed out"
    assert trace.states["server"][-1] == (pytest.approx(data[0].sent_at + 127), S.CLOSED)


def test_a_rebooted_host_answers_the_old_connection_with_rst():
    """3.10.7.1: the rebooted host has no connection: a segment with ACK gets <SEQ=SEG.ACK><CTL=RST>."""
    trace = tl.simulate(OPEN + [("client", "reboot", "ESTABLISHED+1"), ("server", "send", "ESTABLISHED+2", b"x")],
                        **ISNS)
    assert sent(trace, after=1.0) == [(2.15, "server", "PSH,ACK seq=301 ack=101 len=1", False),
                                      (2.2, "client", "RST seq=101", False)]
    assert trace.outcomes["server"] == "reset" and trace.final_states["server"] is S.CLOSED


def test_calls_on_a_crashed_host_fail_until_it_reboots():
    trace = tl.simulate(OPEN + [("client", "crash", "ESTABLISHED+1"), ("client", "send", "ESTABLISHED+2", b"x"),
                                ("client", "reboot", "ESTABLISHED+3"), ("client", "connect", "ESTABLISHED+4")],
                        **ISNS)
    errors = [h.detail for h in trace.happenings if h.kind == "call error"]
    assert len(errors) == 1 and "host is down" in errors[0] and "reboot" in errors[0]
    assert S.SYN_SENT in trace.path("client")[3:]  # after the reboot it connects again


# --- a pulled cable ---------------------------------------------------------------------------------------
def test_a_cable_plugged_back_in_time_loses_nothing_for_good():
    """Nothing crosses while it is out; the retransmission after the cable is back gets through, once."""
    trace = tl.simulate(OPEN + [("client", "link_down", "ESTABLISHED+1"), ("client", "send", "ESTABLISHED+1.5", b"hi"),
                                ("client", "link_up", "ESTABLISHED+4")], **ISNS)
    data = [(round(tx.sent_at, 2), tx.lost) for tx in trace.transmissions if tx.segment.payload]
    assert data == [(1.6, True), (2.6, True), (4.6, False)]  # RTO 1 s, then 2 s (RFC 6298 5.5)
    assert trace.delivered["server"] == b"hi"
    assert trace.final_states == {"client": S.ESTABLISHED, "server": S.ESTABLISHED}


def test_a_cable_that_stays_out_ends_in_timed_out():
    trace = tl.simulate(OPEN + [("client", "link_down", "ESTABLISHED+1"), ("client", "send", "ESTABLISHED+1.5", b"hi")],
                        **ISNS)
    assert trace.outcomes["client"] == "timed out" and trace.final_states["server"] is S.ESTABLISHED


# --- keep-alive (RFC 9293 3.8.4; Linux tcp_keepalive_timer) ----------------------------------------------------
def test_keepalive_finds_a_crashed_peer_after_7875_seconds():
    """Linux defaults: the first probe 7200 s after the peer was last heard, then every 75 s; after
    the 9th unanswered probe, at the next expiry, RST and "timed out": 7200 + 9 x 75 = 7875 s. A
    probe is an ACK with seq = SND.UNA - 1 (tcp_xmit_probe_skb; observed: keepalive-dead-peer)."""
    trace = tl.simulate(OPEN + [("client", "crash", "ESTABLISHED+1")], keepalive=True, **ISNS)
    heard = trace.transmissions[2].arrived_at  # the handshake's ACK: the last the server heard
    after = [tx for tx in trace.transmissions if tx.sender == "server" and tx.sent_at > 1]
    assert [round(tx.sent_at - heard, 6) for tx in after] == [7200 + 75 * k for k in range(10)]
    assert [str(tx.segment) for tx in after] == ["ACK seq=300 ack=101"] * 9 + ["RST seq=301"]
    assert trace.outcomes["server"] == "timed out"


def test_a_live_peer_answers_each_probe_and_the_run_stops_once_that_is_all_that_is_left():
    trace = tl.simulate(OPEN, keepalive=(10, 5, 3), **ISNS)
    assert sent(trace, after=1) == [(10.1, "client", "ACK seq=100 ack=301", False),
                                    (10.15, "server", "ACK seq=301 ack=101", False)]
    assert trace.final_states == {"client": S.ESTABLISHED, "server": S.ESTABLISHED}
    assert any(h.kind == "stopped" and "keep-alive" in h.detail for h in trace.happenings)


def test_no_probe_while_data_is_unacknowledged():
    """"It is alive without keepalive 8)": with data in flight the retransmission timer decides."""
    trace = tl.simulate(OPEN + [("client", "crash", "ESTABLISHED+1"), ("server", "send", "ESTABLISHED+2", b"x")],
                        keepalive=(5, 1, 1), **ISNS)
    assert all(tx.segment.payload for tx in trace.transmissions if tx.sender == "server" and tx.sent_at > 1)
    assert trace.outcomes["server"] == "timed out"


@pytest.mark.parametrize("keepalive, words", [((0, 75, 9), "idle"), ((7200, -1, 9), "interval"),
                                              ((7200, 75, 0), "probes"), ("on", "keepalive")])
def test_bad_keepalive_settings_name_themselves(keepalive, words):
    with pytest.raises((ValueError, TypeError), match=words):
        tl.simulate(OPEN, keepalive=keepalive)


def test_bad_failure_steps_are_refused():
    with pytest.raises(ValueError, match="takes no data"):
        tl.simulate(OPEN + [("client", "crash", 1.0, b"x")])
    with pytest.raises(ValueError, match="host"):
        tl.run_sockets([(0.0, "nobody", "crash")])
    with pytest.raises(ValueError, match="takes 0 arguments"):
        tl.run_sockets([(0.0, "client", "reboot", 5)])


# --- Hosts: half-open discovery (RFC 9293 3.5.1 figures 9-11, RFC 5961 4) ---------------------------------------
HOST_OPEN = [(0.0, "server", "listen", 80),
             (0.0, "client", "connect", "server", 80, {"local_port": 40001, "name": "old"}),
             (0.2, "server", "accept", 80)]


def test_a_rebooted_client_that_reconnects_from_the_same_port_clears_the_half_open_connection():
    """The surviving server answers the new SYN with an ACK of its old connection (a challenge ACK),
    the client answers that with RST (seq = its ack), the server aborts, and the client's next SYN
    opens a new connection (observed: crash-reboot-reconnect)."""
    run = tl.run_sockets(HOST_OPEN + [(1.0, "client", "crash"), (30.0, "client", "reboot"),
                                      (31.0, "client", "connect", "server", 80, {"local_port": 40001, "name": "new"})])
    trace = run.connection("old")
    before = [tx.segment for tx in trace.transmissions if tx.sent_at < 1]
    after = [(tx.sender, tx.segment) for tx in trace.transmissions if tx.sent_at > 30]
    old_ack = before[2]  # the client's last segment: SND.NXT and RCV.NXT of both sides
    syn, challenge, rst, again, synack, ack = after
    assert flag_names(int(syn[1].flags)) == "SYN" and syn[1].seq != old_ack.seq - 1
    assert challenge == ("server", Segment(Flags.ACK, old_ack.ack, old_ack.seq, ts=challenge[1].ts))
    assert rst[0] == "client" and flag_names(int(rst[1].flags)) == "RST" and rst[1].seq == challenge[1].ack
    assert again[1].seq == syn[1].seq and flag_names(int(synack[1].flags)) == "SYN,ACK"
    assert trace.outcomes["server"] == "reset" and trace.final_states == {"client": S.ESTABLISHED,
                                                                          "server": S.ESTABLISHED}


def test_a_crashed_host_drops_its_listeners_too():
    run = tl.run_sockets([(0.0, "server", "listen", 80), (1.0, "server", "reboot"),
                          (2.0, "client", "connect", "server", 80, {"name": "c"})])
    trace = run.connection("c")
    assert [flag_names(int(tx.segment.flags)) for tx in trace.transmissions] == ["SYN", "RST,ACK"]
    assert trace.outcomes["client"] == "refused"


def test_keepalive_on_a_listener_is_inherited_and_finds_a_dead_client():
    sysctls = {"server": {"tcp_keepalive_time": 10, "tcp_keepalive_intvl": 2, "tcp_keepalive_probes": 3}}
    run = tl.run_sockets([(0.0, "server", "listen", 80, {"keepalive": True}), *HOST_OPEN[1:],
                          (1.0, "client", "crash")], sysctls=sysctls)
    trace = run.connection("old")
    server = [(round(tx.sent_at, 2), flag_names(int(tx.segment.flags))) for tx in trace.transmissions
              if tx.sender == "server" and tx.sent_at > 1]
    assert server == [(10.15, "ACK"), (12.15, "ACK"), (14.15, "ACK"), (16.15, "RST")]
    assert trace.outcomes["server"] == "timed out"


@pytest.mark.parametrize("offset, resets", [(100, False), (0, True)])
def test_an_rst_inside_the_window_gets_a_challenge_ack_and_only_one_at_rcv_nxt_resets(offset, resets):
    """RFC 5961 3.2 (Linux tcp_validate_incoming; observed: rst-in-window, rst-exact)."""
    base = tl.run_sockets(HOST_OPEN).connection("old")
    last = base.transmissions[2].segment  # the client's ACK: the server's RCV.NXT is its seq
    run = tl.run_sockets(HOST_OPEN + [(1.0, "client", "inject", "old", Segment(Flags.RST, (last.seq + offset) % SEQ_MOD))])
    trace = run.connection("old")
    answers = [flag_names(int(tx.segment.flags)) for tx in trace.transmissions if tx.sender == "server" and tx.sent_at > 1]
    assert answers == ([] if resets else ["ACK"])
    assert (trace.outcomes["server"] == "reset") is resets


def test_the_rfc_first_endpoint_still_resets_on_any_rst_in_the_window():
    trace = tl.simulate(OPEN + [("client", "inject", "ESTABLISHED+1", Segment(Flags.RST, 101 + 100))], **ISNS)
    assert trace.outcomes["server"] == "reset"


# --- random failures ---------------------------------------------------------------------------------------------
FAILURE = st.tuples(st.sampled_from(["client", "server"]), st.sampled_from(["crash", "reboot", "link_down", "link_up"]),
                    st.floats(0.0, 20.0))


@settings(max_examples=60, deadline=None)
@given(st.lists(FAILURE, max_size=4), st.sampled_from(["lifecycle", "half-close", "server-closes-first"]),
       st.floats(0.0, 0.3), st.integers(0, 1000), st.booleans())
def test_any_failures_over_any_scenario_end_and_deliver_nothing_twice(failures, name, loss, seed, keepalive):
    steps = list(tl.SCENARIOS[name].steps) + [tl.scenarios.make_step(who, call, at) for who, call, at in failures]
    kwargs = dict(loss=loss, seed=seed, keepalive=(30, 5, 3) if keepalive else None)
    trace = tl.simulate(tl.Scenario("broken", steps), **kwargs)
    sent_data = {who: b"".join(tx.segment.payload for tx in trace.transmissions if tx.sender == who and not tx.retransmission)
                 for who in ("client", "server")}
    for who, peer in (("client", "server"), ("server", "client")):
        assert sent_data[peer].startswith(trace.delivered[who])  # in order, never twice
    if keepalive and not any(call == "link_down" for _, call, _ in failures):
        # with keep-alive a connection outlives its peer's connection only while probes are answered
        final = trace.final_states
        assert not (final["client"].synchronized ^ final["server"].synchronized) or any(
            h.kind == "stopped" for h in trace.happenings) or trace.end_time < 30
    again = tl.simulate(tl.Scenario("broken", steps), **kwargs)
    assert [(tx.sent_at, str(tx.segment)) for tx in again.transmissions] == \
           [(tx.sent_at, str(tx.segment)) for tx in trace.transmissions]


# --- a new SYN for a half-open connection (RFC 9293 3.10.7.4, fourth check) -------------------------------------
def _half_open_then_syn(linux):
    """The handshake's last ACK is lost, then a SYN 1000 above the first (inside the server's
    window) reaches the server; returns the run and that SYN's seq."""
    if linux:
        base = HOST_OPEN[:2]
        isn = tl.run_sockets(base).connection("old").transmissions[0].segment.seq
        syn = Segment(Flags.SYN, (isn + 1000) % SEQ_MOD)
        return tl.run_sockets(base + [(0.5, "client", "inject", "old", syn)], drop=[3]).connection("old"), syn.seq
    syn = Segment(Flags.SYN, 100 + 1000)
    return tl.simulate(OPEN + [("client", "inject", 0.5, syn)], drop=[3], **ISNS), syn.seq


def test_a_new_syn_returns_a_passive_half_open_connection_to_listen():
    """RFC 9293: "If the connection was initiated with a passive OPEN, then return this connection to
    the LISTEN state and return" (nothing is sent)."""
    trace, _ = _half_open_then_syn(linux=False)
    assert trace.state_at("server", 0.56) is S.LISTEN
    assert not [tx for tx in trace.transmissions if tx.sender == "server" and 0.5 < tx.sent_at < 0.6]


def test_linux_resets_a_half_open_connection_that_gets_a_new_syn():
    """tcp_check_req: a SYN inside the window of a request socket -> embryonic_reset: RST,ACK with
    seq 0 and ack = the SYN's seq + 1 (a SYN carries no ACK: 3.10.7.1's second form); observed:
    syn-in-syn-recv (RST,ACK seq 0, the half-open connection gone)."""
    trace, seq = _half_open_then_syn(linux=True)
    rst = [tx.segment for tx in trace.transmissions if tx.sender == "server" and 0.5 < tx.sent_at < 0.6]
    assert [(flag_names(int(x.flags)), x.seq, x.ack) for x in rst] == [("RST,ACK", 0, (seq + 1) % SEQ_MOD)]
    assert trace.state_at("server", 0.6) is S.CLOSED

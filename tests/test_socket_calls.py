"""close() against shutdown(), orphans, SO_LINGER 0 and a process that exits: one test per rule.

Each rule is RFC 9293's where it has one (3.6: half-duplex close, SHLD-3 / MAY-1) and Linux's where
the RFC leaves it open; every Linux rule names the kernel function it follows and the observation
in notebooks/data/sockets that shows it (tests/test_socket_observations.py checks those captures).
Numbers are worked out from the RFC arithmetic as in tests/_drive.py: our ISS x, the peer's y.
"""
import pytest
from hypothesis import given, settings, strategies as st

import tcplesson as tl
from tcplesson.segment import flag_names
from tcplesson.host import Host

from _drive import ACK, FIN, PSH, RTO, SYN, drive, exp, seg, wire
from _wire import Wire, events

S = tl.State
X, Y = 1000, 5000


def closed_by_close(path, **kw):
    return drive(path, X, Y, by="close", **kw)


def state_path(c):
    return [r.state.value for r in c.ep.log if isinstance(r, tl.records.StateChange)]


# --- data after our FIN ---------------------------------------------------------------------
def test_data_after_shutdown_wr_is_acked_and_delivered():
    """shutdown(SHUT_WR) is RFC 9293's CLOSE alone: the peer may still send (observed:
    data-after-shutdown, the byte is ACKed with ack = seq + 1 and read)."""
    c = drive("FIN-WAIT-2", X, Y, auto_read=False)
    assert c.recv(seg(PSH | ACK, Y + 1, X + 2, b"x")) == [exp("ACK", X + 2, Y + 2)]
    assert c.state == "FIN-WAIT-2" and c.ep.read() == b"x"


def test_data_after_close_in_fin_wait_2_is_answered_with_rst_and_the_connection_ends():
    """RFC 9293 3.6 SHLD-3; Linux tcp_rcv_state_process (case TCP_FIN_WAIT2 with RCV_SHUTDOWN) and,
    for the FIN-WAIT-2 timewait socket, tcp_timewait_state_process: RST with seq = the segment's ACK
    (observed: data-after-close; packetdrill user_timeout.pkt)."""
    c = closed_by_close("FIN-WAIT-2")
    assert c.recv(seg(PSH | ACK, Y + 1, X + 2, b"x")) == [exp("RST", X + 2)]
    assert c.state == "CLOSED" and c.ep.next_deadline() is None


def test_data_after_close_in_fin_wait_1_is_answered_with_rst():
    c = closed_by_close("FIN-WAIT-1")
    assert c.recv(seg(PSH | ACK, Y + 1, X + 1, b"late")) == [exp("RST", X + 1)]
    assert c.state == "CLOSED"


def test_data_with_the_ack_of_our_fin_first_moves_to_fin_wait_2_then_rst():
    """tcp_rcv_state_process takes the ACK (FIN-WAIT-1 -> FIN-WAIT-2) before it looks at the text."""
    c = closed_by_close("FIN-WAIT-1")
    assert c.recv(seg(PSH | ACK, Y + 1, X + 2, b"late")) == [exp("RST", X + 2)]
    assert state_path(c)[-3:] == ["FIN-WAIT-1", "FIN-WAIT-2", "CLOSED"]


def test_an_old_duplicate_of_data_already_received_is_not_new_data():
    """Linux resets only for data beyond RCV.NXT (``after(end_seq - fin, rcv_nxt)``): a repeat of
    bytes it has is acknowledged as usual."""
    c = drive("ESTABLISHED", X, Y)
    assert c.recv(seg(PSH | ACK, Y + 1, X + 1, b"abc")) == [exp("ACK", X + 1, Y + 4)]
    assert c.call("close") == [exp("FIN,ACK", X + 1, Y + 4)]
    # wholly old, so unacceptable (RFC 9293 3.10.7.4): answered with an ACK, its ACK field unread
    assert c.recv(seg(PSH | ACK, Y + 1, X + 2, b"abc")) == [exp("ACK", X + 2, Y + 4)]
    assert c.state == "FIN-WAIT-1"


def test_the_peer_fin_after_close_still_leads_to_time_wait():
    c = closed_by_close("FIN-WAIT-2")
    assert c.recv(seg(FIN | ACK, Y + 1, X + 2)) == [exp("ACK", X + 2, Y + 2)]
    assert c.state == "TIME-WAIT"


def test_shutdown_rd_alone_sends_nothing_and_data_still_arrives():
    """Linux tcp_shutdown acts only on SEND_SHUTDOWN; data in ESTABLISHED is still ACKed."""
    c = drive("ESTABLISHED", X, Y, auto_read=False)
    assert c.call("shutdown", "SHUT_RD") == []
    assert c.recv(seg(PSH | ACK, Y + 1, X + 1, b"hi")) == [exp("ACK", X + 1, Y + 3)]
    assert c.state == "ESTABLISHED"


def test_shutdown_rdwr_then_data_is_answered_with_rst():
    c = drive("ESTABLISHED", X, Y)
    assert c.call("shutdown", "SHUT_RDWR") == [exp("FIN,ACK", X + 1, Y + 1)]
    assert c.recv(seg(PSH | ACK, Y + 1, X + 2, b"x")) == [exp("RST", X + 2)]


# --- the orphan's FIN-WAIT-2 ------------------------------------------------------------------
def test_an_orphan_in_fin_wait_2_vanishes_after_fin_timeout_without_a_segment():
    """Linux __tcp_close / tcp_time_wait(sk, TCP_FIN_WAIT2, tmo) (observed: orphan-fin-wait-2, with
    tcp_fin_timeout=3 the socket was gone at 3.6 s and nothing was sent)."""
    c = closed_by_close("FIN-WAIT-1", fin_timeout=5.0)
    c.recv(seg(ACK, Y + 1, X + 2))  # our FIN is acknowledged: FIN-WAIT-2 from now on
    entered = c.t
    assert c.ep.next_deadline() == pytest.approx(entered + 5.0)
    assert wire(c.ep.on_timer(entered + 5.0)) == []
    assert c.state == "CLOSED"
    # the peer's late data then meets no connection: RST from the closed port (RFC 9293 3.10.7.1)
    assert c.recv(seg(PSH | ACK, Y + 1, X + 2, b"x"), dt=6.0) == [exp("RST", X + 2)]


def test_fin_timeout_is_at_least_three_and_a_half_rtos():
    """include/net/tcp.h tcp_fin_time: ``if (fin_timeout < (rto << 2) - (rto >> 1))``."""
    c = closed_by_close("FIN-WAIT-2", fin_timeout=1.0)
    assert c.ep.next_deadline() == pytest.approx(c.t + 3.5 * RTO)


def test_close_after_shutdown_in_fin_wait_2_starts_the_timeout_then():
    """__tcp_close: a socket already in FIN-WAIT-2 gets its fin timeout when it is closed."""
    c = drive("FIN-WAIT-2", X, Y, fin_timeout=60.0)
    assert c.ep.next_deadline() is None  # shut down, not closed: it waits as long as it is held
    assert c.call("close", dt=100.0) == []
    assert c.ep.next_deadline() == pytest.approx(c.t + 60.0)


def test_a_shutdown_socket_stays_in_fin_wait_2_however_long():
    """observed: shutdown-fin-wait-2, still FIN-WAIT-2 at 3 x tcp_fin_timeout."""
    c = drive("FIN-WAIT-2", X, Y, fin_timeout=3.0)
    assert c.ep.next_deadline() is None and c.state == "FIN-WAIT-2"


# --- close() that resets ----------------------------------------------------------------------
def test_close_with_unread_data_sends_rst_not_fin():
    """RFC 9293 3.6 SHLD-3; __tcp_close: data_was_unread -> tcp_send_active_reset (observed:
    killed-process-unread, RST and no FIN)."""
    c = drive("ESTABLISHED", X, Y, auto_read=False)
    c.recv(seg(PSH | ACK, Y + 1, X + 1, b"hello"))
    assert c.call("close") == [exp("RST", X + 1)]
    assert c.state == "CLOSED"


def test_close_after_shutdown_with_unread_data_resets_too():
    c = drive("FIN-WAIT-2", X, Y, auto_read=False)
    c.recv(seg(PSH | ACK, Y + 1, X + 2, b"unread"))
    assert c.call("close") == [exp("RST", X + 2)]
    assert c.state == "CLOSED"


@pytest.mark.parametrize("path, rst_seq", [("ESTABLISHED", X + 1), ("CLOSE-WAIT", X + 1), ("FIN-WAIT-1", X + 2)])
def test_linger_zero_turns_close_into_an_abort(path, rst_seq):
    """SO_LINGER {1, 0}: __tcp_close calls tcp_disconnect, which resets in ESTABLISHED, CLOSE-WAIT,
    FIN-WAIT-1/2 and SYN-RECEIVED (tcp_need_reset) with seq = SND.NXT (observed: linger-zero)."""
    c = drive(path, X, Y)
    assert c.call("close", 0) == [exp("RST", rst_seq)]
    assert c.state == "CLOSED" and c.ep.next_deadline() is None


def test_linger_zero_in_time_wait_keeps_time_wait():
    """Linux keeps TIME-WAIT apart from the socket: closing the socket does not end it."""
    c = drive("TIME-WAIT", X, Y)
    deadline = c.ep.next_deadline()
    assert c.call("close", 0) == []
    assert c.state == "TIME-WAIT" and c.ep.next_deadline() == deadline


def test_exit_closes_as_close_would():
    """do_exit closes every file: the kernel sends the FIN (observed: killed-process, FIN within 1 ms)."""
    c = drive("ESTABLISHED", X, Y)
    assert c.call("exit") == [exp("FIN,ACK", X + 1, Y + 1)]
    assert c.ep.released
    assert c.call("exit") == []  # the socket is gone already: nothing more


# --- illegal and odd calls ----------------------------------------------------------------------
def test_close_twice_fails_with_ebadf():
    c = drive("ESTABLISHED", X, Y)
    c.call("close")
    with pytest.raises(tl.ProtocolError, match=r"close\(\) was called already \(EBADF\)"):
        c.call("close")


@pytest.mark.parametrize("path", ["CLOSED", "TIME-WAIT"])
def test_shutdown_without_a_connection_fails_with_enotconn(path):
    with pytest.raises(tl.ProtocolError, match=rf"shutdown\(\) in state {path}.*ENOTCONN"):
        drive(path, X, Y).call("shutdown", "SHUT_WR")


def test_a_second_shutdown_wr_sends_nothing():
    c = drive("FIN-WAIT-1", X, Y)
    assert c.call("shutdown", "SHUT_WR") == [] and c.state == "FIN-WAIT-1"


def test_shutdown_in_syn_sent_ends_the_attempt_silently():
    """inet_shutdown: case TCP_SYN_SENT -> disconnect, no segment."""
    c = drive("SYN-SENT", X, Y)
    assert c.call("shutdown", 1) == [] and c.state == "CLOSED"  # 1 is socket.SHUT_WR


@pytest.mark.parametrize("how, state", [("SHUT_WR", "LISTEN"), ("SHUT_RD", "CLOSED"), ("SHUT_RDWR", "CLOSED")])
def test_shutdown_of_a_listener_stops_it_only_for_reading(how, state):
    """inet_shutdown: case TCP_LISTEN: ``if (!(how & RCV_SHUTDOWN)) break;`` then disconnect."""
    c = drive("LISTEN", X, Y)
    assert c.call("shutdown", how) == [] and c.state == state


@pytest.mark.parametrize("how, error", [("SHUT_WRITE", ValueError), (3, TypeError), (None, TypeError)])
def test_unknown_how_is_refused(how, error):
    with pytest.raises(error, match="how"):
        drive("ESTABLISHED", X, Y).call("shutdown", how)


@pytest.mark.parametrize("kw, error", [({"fin_timeout": -1}, ValueError), ({"orphan_retries": 256}, ValueError),
                                       ({"orphan_retries": 1.5}, TypeError)])
def test_bad_endpoint_settings_name_themselves(kw, error):
    with pytest.raises(error, match=next(iter(kw))):
        tl.Endpoint("e", **kw)


def test_negative_linger_is_refused():
    with pytest.raises(ValueError, match="linger"):
        drive("ESTABLISHED", X, Y).call("close", -1)


# --- retransmissions of an orphan --------------------------------------------------------------
def _fin_transmissions(orphan_retries, by="close", rto=0.2):
    c = drive("FIN-WAIT-1", X, Y, by=by, orphan_retries=orphan_retries, rto=rto)
    sent = []
    while c.ep.next_deadline() is not None and c.state != "CLOSED":
        sent += wire(c.ep.on_timer(c.ep.next_deadline()))
    return len(sent), c.ep.outcome


@pytest.mark.parametrize("orphan_retries, expected", [(0, 8), (2, 2), (None, 6)])
def test_an_orphans_fin_is_retried_tcp_orphan_retries_times(orphan_retries, expected):
    """net/ipv4/tcp_timer.c tcp_orphan_retries: ``if (retries == 0 && alive) retries = 8``, from
    TCP_RTO_MIN 200 ms (None: the endpoint's max_retries, 6)."""
    assert _fin_transmissions(orphan_retries) == (expected, "timed out")


def test_tcp_orphan_retries_0_gives_up_once_the_rto_reaches_its_cap():
    """tcp_write_timeout: ``alive = icsk->icsk_rto < TCP_RTO_MAX``; from a 1 s RTO the seventh
    doubling reaches 120 s, and an orphan that is no longer alive gets 0 retries."""
    assert _fin_transmissions(0, rto=1.0) == (7, "timed out")


def test_a_shutdown_sockets_fin_keeps_max_retries():
    assert _fin_transmissions(2, by="shutdown") == (6, "timed out")


# --- in a scenario --------------------------------------------------------------------------------
def test_writing_to_a_peer_that_has_closed_gets_rst_and_connection_reset():
    """The packetdrill case in a run: the server close()s, the client (CLOSE-WAIT) writes 1 byte."""
    trace = tl.simulate([("server", "listen", 0), ("client", "connect", 0),
                         ("server", "close", "ESTABLISHED+1"), ("client", "send", "CLOSE-WAIT+0.5", b"x")],
                        client_isn=X, server_isn=Y)
    last = trace.transmissions[-1]
    data = trace.transmissions[-2]
    assert (last.sender, flag_names(last.segment.flags), last.segment.seq) == ("server", "RST", data.segment.ack)
    assert trace.outcomes["client"] == "reset"
    assert trace.states["server"][-1][1] is S.CLOSED and trace.states["client"][-1][1] is S.CLOSED


def test_half_close_scenario_uses_shutdown_and_the_trace_says_so():
    trace = tl.simulate("half-close")
    calls = [h.detail for h in trace.happenings if h.kind == "call" and h.who == "client"]
    assert calls == ["connect()", "shutdown(SHUT_WR)"]
    assert len(trace.delivered["client"]) == 3000


def test_linger_zero_step():
    trace = tl.simulate([("server", "listen", 0), ("client", "connect", 0),
                         ("client", "close", "ESTABLISHED+1", {"linger": 0})], client_isn=X, server_isn=Y)
    assert [flag_names(tx.segment.flags) for tx in trace.transmissions][-1] == "RST"
    assert trace.outcomes["server"] == "reset"
    assert any(h.detail == "close() with SO_LINGER 0" for h in trace.happenings)


# --- hosts ----------------------------------------------------------------------------------------
def _pair(**server_sysctls):
    server, client = Host("server", "10.0.0.1", sysctls=server_sysctls, seed=1), Host("client", "10.0.1.1", seed=1)
    return server, client, Wire(server, client)


def test_a_hosts_orphan_uses_tcp_fin_timeout():
    """Linux default tcp_fin_timeout 60 (observed: data-after-close, ``timer:(timewait,59sec,0)``)."""
    server, client, w = _pair()
    server.listen(0.0, 80)
    conn = w.call(0.0, client.connect, "10.0.0.1", 80)
    w.call(1.0, client.close, conn)
    w.run(until=1.2)
    assert client.state(conn) is S.FIN_WAIT_2
    w.run(until=60.9)
    assert client.state(conn) is S.FIN_WAIT_2
    w.run(until=61.2)
    assert client.state(conn) is S.CLOSED


def test_exit_closes_connections_and_listeners():
    """A killed server: its accepted connection gets a FIN (do_exit -> close), the connection still
    in its accept queue an RST (inet_csk_listen_stop -> tcp_disconnect), and the port then refuses."""
    server, client, w = _pair()
    server.listen(0.0, 80)
    first = w.call(0.0, client.connect, "10.0.0.1", 80)
    w.run(until=0.5)
    accepted = w.call(0.5, server.accept, 80)
    second = w.call(0.6, client.connect, "10.0.0.1", 80)
    w.run(until=1.0)
    w.call(1.0, server.exit)
    sent = [(p.dport, flag_names(p.segment.flags)) for t, p in w.carried if t == 1.0]
    assert sorted(sent) == sorted([(accepted[1], "FIN,ACK"), (second[1], "RST")])
    assert server.listeners == {} and events(server, "listener closed")
    w.run(until=2.0)
    assert client.state(first) is S.CLOSE_WAIT and client.state(second) is S.CLOSED
    third = w.call(2.0, client.connect, "10.0.0.1", 80)
    w.run(until=2.5)
    assert client.state(third) is S.CLOSED  # refused: RST from a port nobody listens on


def test_unknown_sysctl_and_bad_values_are_refused():
    with pytest.raises(ValueError, match="tcp_fin_timeout"):
        tl.Sysctls(tcp_fin_timeout=-1)
    with pytest.raises(ValueError, match="unknown sysctl 'tcp_fin_timout'"):
        tl.Sysctls(tcp_fin_timout=30)


# --- random sequences of socket calls --------------------------------------------------------------
CALLS = st.sampled_from([("close",), ("close", 0), ("shutdown", "SHUT_WR"), ("shutdown", "SHUT_RD"),
                         ("shutdown", "SHUT_RDWR"), ("exit",), ("send", b"data"), ("abort",)])


@settings(max_examples=150, deadline=None)
@given(client_calls=st.lists(st.tuples(st.floats(0.2, 3.0), CALLS), max_size=4),
       server_calls=st.lists(st.tuples(st.floats(0.2, 3.0), CALLS), max_size=4),
       loss=st.sampled_from([0.0, 0.2]), seed=st.integers(0, 50))
def test_any_sequence_of_socket_calls_ends_cleanly(client_calls, server_calls, loss, seed):
    """Whatever the applications call, in any order: no exception but ProtocolError (recorded as a
    call error), the run ends, and every segment after a RST-ending close is answered by RST or nothing."""
    steps = [("server", "listen", 0), ("client", "connect", 0)]
    for who, calls in (("client", client_calls), ("server", server_calls)):
        for when, (call, *extra) in calls:
            if call == "close" and extra:
                steps.append((who, "close", when, {"linger": extra[0]}))
            else:
                steps.append((who, call, when, *extra))
    trace = tl.simulate(steps, loss=loss, seed=seed, fin_timeout=60.0)
    assert not trace.truncated
    for who in ("client", "server"):
        released = [h.time for h in trace.happenings
                    if h.who == who and h.kind == "call" and h.detail.startswith(("close", "exit"))]
        # every timer has run out: only states that wait for nobody's timer are left, and
        # FIN-WAIT-2 only for a socket that was never closed (an orphan's ends after fin_timeout)
        final = trace.states[who][-1][1]
        assert final in (S.CLOSED, S.LISTEN, S.ESTABLISHED, S.CLOSE_WAIT, S.FIN_WAIT_2), final
        if final is S.FIN_WAIT_2:
            assert not released
        # a side that called close() never delivers data that arrived after it
        if released:
            assert not [h for h in trace.happenings if h.who == who and h.kind == "delivered" and h.time > released[0]]

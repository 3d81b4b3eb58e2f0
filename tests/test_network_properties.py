"""Properties of runs with many hosts (Hypothesis): random mixes of clients, floods and queue sizes.

Two levels: Hosts on the test wire, with the queues checked after every arrival, timer and call
(no connection in two queues, no queue beyond its limit plus Linux's one, every queued connection
in the state its queue means); and whole Networks through ``tl.simulate`` (every run ends, with
cookies every legitimate client gets in, the same seed gives the same run).
"""
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tcplesson as tl
from tcplesson.host import Host
from tcplesson.segment import Flags, Packet, Segment

from _wire import Wire

S = tl.State
SERVER, PORT = "10.0.0.1", 80
DEEP = "TCPLESSON_EXAMPLES" in os.environ
# A network run costs tens of times a two-endpoint run: a quarter of the examples by default.
EXAMPLES = max(1, int(os.environ.get("TCPLESSON_EXAMPLES", "200")) // 4)
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=not DEEP,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

sysctl_mixes = st.fixed_dictionaries({
    "tcp_syncookies": st.integers(0, 2),
    "tcp_abort_on_overflow": st.integers(0, 1),
    "tcp_synack_retries": st.integers(0, 5),
    "tcp_max_syn_backlog": st.integers(1, 64),
    "somaxconn": st.integers(0, 16),
})


def check_queues(server: Host) -> None:
    """What must hold of a listener at every moment."""
    for listener in server.listeners.values():
        syn, accept = set(listener.syn_queue), set(listener.accept_queue)
        assert not syn & accept, f"in both queues: {syn & accept}"
        # the ">" of inet_csk_reqsk_queue_is_full and sk_acceptq_is_full: one more than the limit fits
        assert len(accept) <= listener.limit + 1
        assert len(syn) <= listener.limit + 1
        for conn in syn:
            assert server.tcbs[conn].state is S.SYN_RECEIVED
        for conn in accept:
            assert server.tcbs[conn].state.synchronized


@SETTINGS
@given(sysctls=sysctl_mixes, backlog=st.integers(0, 8),
       connects=st.lists(st.tuples(st.integers(0, 4), st.floats(0.0, 3.0)), max_size=12),
       spoofed=st.lists(st.floats(0.0, 3.0), max_size=40),
       accepts=st.lists(st.floats(0.0, 6.0), max_size=10),
       drop_every=st.integers(0, 7), seed=st.integers(0, 2**16))
def test_the_queues_hold_their_rules_at_every_moment(sysctls, backlog, connects, spoofed, accepts, drop_every, seed):
    server = Host("server", SERVER, sysctls=sysctls, seed=seed)
    clients = [Host(f"client{i + 1}", f"10.0.1.{i + 1}", seed=seed) for i in range(5)]
    carried = [0]

    def drop(packet):  # every drop_every-th packet is lost (0: none)
        carried[0] += 1
        return bool(drop_every) and carried[0] % drop_every == 0

    wire = Wire(server, *clients, drop=drop, after=lambda: check_queues(server))
    server.listen(0.0, PORT, backlog)
    calls = [(t, "connect", i) for i, t in connects] + [(t, "spoof", i) for i, t in enumerate(spoofed)] \
        + [(t, "accept", 0) for t in accepts]
    for t, what, i in sorted(calls):
        if what == "connect":
            wire.call(t, clients[i].connect, SERVER, PORT)
        elif what == "spoof":  # a forged source that will never answer
            wire.call(t, server.receive, Packet(f"198.18.0.{i + 1}", 1024 + i, SERVER, PORT,
                                               Segment(Flags.SYN, seq=i * 7919)))
        else:
            wire.call(t, server.accept, PORT)
    wire.run(until=400.0)  # long past every retry limit
    # every half-open connection has ended: retries are limited, nothing is left in the SYN queue
    assert server.listeners[PORT].syn_queue == {}
    assert all(h.deadline(c) is None for h in [server, *clients] for c in h.tcbs
               if h.tcbs[c].state is not S.ESTABLISHED)


networks = st.builds(
    lambda backlog, n, every, rate, start, duration, accept_every, sysctls: tl.Network(
        "random", tl.Server(backlog=backlog, accept_every=accept_every, sysctls=sysctls),
        tl.clients(n, start=0.2, every=every),
        tl.Flood(rate, start, duration) if rate else None),
    backlog=st.integers(0, 16), n=st.integers(1, 5), every=st.floats(0.05, 1.5),
    rate=st.sampled_from([0, 20, 100, 300]), start=st.floats(0.0, 2.0), duration=st.floats(0.0, 3.0),
    accept_every=st.sampled_from([None, 0.0, 0.3]), sysctls=sysctl_mixes)


@SETTINGS
@given(net=networks, loss=st.sampled_from([0.0, 0.1, 0.3]), seed=st.integers(0, 2**16))
def test_every_network_run_ends_within_its_limits_and_repeats_exactly(net, loss, seed):
    trace = tl.simulate(net, loss=loss, seed=seed)
    assert trace.end_time < 1000.0
    for (host, port), series in trace.queues.items():
        limit = trace.limits[(host, port)]
        assert all(syn <= limit + 1 and accept <= limit + 1 for _, syn, accept in series)
    # every legitimate client has its connection(s), each with a state path that starts in CLOSED
    assert set(trace.clients) == {c.name for c in net.clients}
    again = tl.simulate(net, loss=loss, seed=seed)
    assert again.transmissions == trace.transmissions
    assert again.happenings == trace.happenings


@SETTINGS
@given(net=networks, cookies=st.sampled_from([1, 2]), seed=st.integers(0, 2**16))
def test_with_cookies_every_legitimate_client_gets_in(net, cookies, seed):
    """SYN cookies need no state, so a flood cannot fill anything a legitimate SYN needs: with no loss
    and an application that accepts at once, every client connects and is accepted, and no SYN is
    ever dropped for a full SYN queue. (A SYN can still meet a full accept queue: with backlog 0 one
    connection fills it until accept() runs, and a SYN arriving in that same instant is dropped,
    cookies or not, as tcp_conn_request checks sk_acceptq_is_full after choosing a cookie.)"""
    server = net.server._replace(accept_every=0.0, sysctls={**net.server.sysctls, "tcp_syncookies": cookies})
    net = tl.Network(net.name, server, net.clients, net.flood)
    trace = tl.simulate(net, loss=0.0, seed=seed)
    rows = trace.connect_times()
    assert len(rows) == len(net.clients)
    assert all(r["connected"] is not None and r["server_accepted"] for r in rows), rows
    assert trace.count("SYN dropped (SYN queue full)") == trace.count("SYN dropped (tcp_max_syn_backlog)") == 0
    # a handshake that is slower than one round trip waited for a SYN that met a full accept queue
    slow = [r for r in rows if abs(r["connected"] - 2 * trace.params["delay"]) > 1e-9]
    assert len(slow) <= trace.count("SYN dropped (accept queue full)"), rows


def test_a_syn_in_the_instant_the_accept_queue_holds_its_one_connection_waits_for_its_retransmission():
    """backlog 0 holds one connection (sk_acceptq_is_full: ">"). Client 1's last ACK and client 3's SYN
    arrive together at 0.35 s; the ACK fills the queue and the SYN is dropped, cookies or not
    (tcp_conn_request tests sk_acceptq_is_full after choosing a cookie); accept() runs right after,
    and client 3's SYN retransmission, 1 s later (RFC 6298 2.1), gets in."""
    net = tl.Network("instant", tl.Server(backlog=0, accept_every=0.0, sysctls={"tcp_syncookies": 1}),
                     tl.clients(3, start=0.2, every=0.05))
    trace = tl.simulate(net)
    [(when, _)] = [(h.time, h.detail) for h in trace.events("SYN dropped (accept queue full)")]
    assert when == pytest.approx(0.35)
    connected = {r["client"]: r["connected"] for r in trace.connect_times()}
    assert connected == pytest.approx({"client1": 0.1, "client2": 0.1, "client3": 1.1})

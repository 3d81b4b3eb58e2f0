"""TIME-WAIT in practice: bind() and SO_REUSEADDR, port exhaustion, tcp_tw_reuse, tcp_max_tw_buckets,
timestamps and PAWS, a SYN that meets TIME-WAIT. One test per rule, on Hosts driven by tests/_wire.py.

Each rule names the kernel function it follows (Linux 6.18) and the observation in
notebooks/data/sockets that shows it on a real kernel; tests/test_socket_observations.py holds the
captures to the same rules, and the tests marked "agrees with Linux" here set the model's segments
beside the captured ones.
"""
import errno
import json
from pathlib import Path

import dpkt
import pytest

import tcplesson as tl
from tcplesson import netns_lab
from tcplesson.host import Host
from tcplesson.segment import SEQ_MOD, Flags, Packet, Segment, flag_names

from _drive import ACK, FIN, PSH, SYN, drive, exp, seg
from _wire import Wire, events

S = tl.State
SERVER, CLIENT, PORT = "10.0.0.1", "10.0.1.1", 5000
DATA = Path(__file__).resolve().parent.parent / "notebooks" / "data" / "sockets"
GAP = 65535 + 2  # tcp_minisocks.c: ``u32 isn = tcptw->tw_snd_nxt + 65535 + 2``


def bench(server_sysctls=None, client_sysctls=None, *, server=SERVER, client=CLIENT):
    s, c = Host("server", server, sysctls=server_sysctls, seed=3), Host("client", client, sysctls=client_sysctls, seed=3)
    return s, c, Wire(s, c, delay=0.01)


def sent(w, src, flags=None, after=-1.0):
    return [p.segment for t, p in w.carried if p.src == src and t > after
            and (flags is None or flag_names(int(p.segment.flags)) == flags)]


def server_closes_first(w, s, c, at=0.0, **connect):
    """listen on 5000, connect, the server closes first and the client on end-of-file: TIME-WAIT on the server."""
    if PORT not in s.listeners:
        w.call(at, s.listen, PORT, 128)
    conn = w.call(at, c.connect, SERVER, PORT, **connect)
    w.run(until=at + 0.1)
    w.call(at + 0.1, s.accept, PORT)
    w.call(at + 0.2, s.close, conn)
    w.run(until=at + 0.3)
    w.call(at + 0.3, c.close, conn)
    w.run(until=at + 0.4)
    assert s.state(conn) is S.TIME_WAIT and c.state(conn) is S.CLOSED
    return conn


def accept_all(w, s, at):
    while w.call(at, s.accept, PORT) is not None:
        pass


def client_closes_first(w, s, c, at, **connect):
    conn = w.call(at, c.connect, SERVER, PORT, **connect)
    w.run(until=at + 0.05)
    accept_all(w, s, at + 0.05)
    w.call(at + 0.05, c.close, conn)
    w.run(until=at + 0.1)
    w.call(at + 0.1, s.close, conn)
    w.run(until=at + 0.2)
    return conn


# --- a SYN that meets TIME-WAIT (RFC 9293 3.6.1 MAY-2, RFC 6191) ------------------------------------
def test_a_syn_above_rcv_nxt_reopens_time_wait_with_isn_old_snd_nxt_plus_65537():
    """tcp_timewait_state_process: ``after(TCP_SKB_CB(skb)->seq, tcptw->tw_rcv_nxt)`` -> TCP_TW_SYN;
    tcp_v4_rcv hands the SYN to the listener with that ISN (observed: syn-to-time-wait-accepted)."""
    s, c, w = bench()
    conn = server_closes_first(w, s, c, local_port=40001)
    old_fin = sent(w, SERVER, "FIN,ACK")[0]
    again = w.call(1.0, c.connect, SERVER, PORT, local_port=40001)
    assert again == conn
    w.run(until=1.1)
    synack = sent(w, SERVER, "SYN,ACK", after=0.9)
    assert [x.seq for x in synack] == [(old_fin.seq + 1 + GAP) % SEQ_MOD]
    assert s.state(conn) is S.ESTABLISHED and c.state(conn) is S.ESTABLISHED
    assert not sent(w, SERVER, "RST") and events(s, "SYN accepted in TIME-WAIT")


def _raw_syn(w, s, conn, seq, at, ts=None):
    """A SYN from the client's port that no socket of the client owns (a raw socket in the capture)."""
    w.call(at, s.receive, Packet(CLIENT, conn[1], SERVER, PORT, Segment(SYN, seq % SEQ_MOD, ts=ts)))
    w.run(until=at + 0.1)


@pytest.mark.parametrize("rfc1337, stays", [(0, False), (1, True)])
def test_an_old_syn_gets_the_old_ack_and_the_rst_it_draws_ends_time_wait_unless_rfc1337(rfc1337, stays):
    """Below RCV.NXT, no timestamps: TCP_TW_ACK, an ACK with the old numbers; the client's kernel
    answers it with RST (seq = that ACK's ack), which kills the TIME-WAIT unless tcp_rfc1337=1
    (observed: syn-to-time-wait-rejected, -rejected-rfc1337)."""
    s, c, w = bench({"tcp_timestamps": 0, "tcp_rfc1337": rfc1337})
    conn = server_closes_first(w, s, c, local_port=40001)
    old_fin = sent(w, SERVER, "FIN,ACK")[0]
    rcv_nxt = sent(w, CLIENT, "FIN,ACK")[0].seq + 1
    _raw_syn(w, s, conn, rcv_nxt - 100000, at=1.0)
    answer = sent(w, SERVER, after=0.95)
    assert [(flag_names(int(x.flags)), x.seq, x.ack) for x in answer] == [("ACK", old_fin.seq + 1, rcv_nxt % SEQ_MOD)]
    rst = sent(w, CLIENT, after=0.95)
    assert [(flag_names(int(x.flags)), x.seq) for x in rst] == [("RST", rcv_nxt % SEQ_MOD)]
    assert (s.state(conn) is S.TIME_WAIT) is stays


def test_a_syn_below_rcv_nxt_with_a_newer_timestamp_is_accepted():
    """``tmp_opt.saw_tstamp && (s32)(tcptw->tw_ts_recent - tmp_opt.rcv_tsval) < 0`` also makes
    TCP_TW_SYN; the SYN,ACK echoes the SYN's TSval (observed: syn-to-time-wait-newer-timestamp)."""
    s, c, w = bench()
    conn = server_closes_first(w, s, c, local_port=40001)
    old_fin = sent(w, SERVER, "FIN,ACK")[0]
    last = sent(w, CLIENT)[-1]
    tsval = (last.ts[0] + 1000) % SEQ_MOD
    _raw_syn(w, s, conn, last.seq - 100000, at=1.0, ts=(tsval, 0))
    synack = sent(w, SERVER, "SYN,ACK", after=0.95)
    assert [(x.seq, x.ts[1]) for x in synack] == [((old_fin.seq + 1 + GAP) % SEQ_MOD, tsval)]
    assert [flag_names(int(x.flags)) for x in sent(w, CLIENT, after=0.95)] == ["RST"]  # nobody owns 40001


def test_a_syn_with_an_older_timestamp_is_not_new_even_above_rcv_nxt():
    """tcp_paws_reject comes first: an older TSval makes the SYN an old duplicate (RFC 6191 case)."""
    s, c, w = bench()
    conn = server_closes_first(w, s, c, local_port=40001)
    last = sent(w, CLIENT)[-1]
    _raw_syn(w, s, conn, last.seq + 500000, at=1.0, ts=((last.ts[0] - 50) % SEQ_MOD, 0))
    assert [flag_names(int(x.flags)) for x in sent(w, SERVER, after=0.95)] == ["ACK"]


def test_without_a_listener_a_new_syn_in_time_wait_is_answered_with_an_ack():
    """tcp_v4_rcv, case TCP_TW_SYN: no listener on the port -> ``fallthrough`` to TCP_TW_ACK."""
    s, c, w = bench()
    conn = server_closes_first(w, s, c, local_port=40001)
    w.call(0.5, s.close, PORT)
    w.call(1.0, c.connect, SERVER, PORT, local_port=40001)
    w.run(until=1.1)
    assert [flag_names(int(x.flags)) for x in sent(w, SERVER, after=0.95)][:1] == ["ACK"]


def test_the_two_endpoint_model_keeps_the_rfc_challenge_ack_for_a_syn_in_time_wait():
    """An Endpoint alone has no listener behind it: RFC 9293 3.10.7.4 (a SYN in a synchronized state)."""
    c = drive("TIME-WAIT", 1000, 5000)
    assert c.recv(seg(SYN, 9000)) == [exp("ACK", 1002, 5002)]
    assert c.ep.takes_new_syn(seg(SYN, 9000)) and not c.ep.takes_new_syn(seg(SYN, 4000))


# --- bind() and SO_REUSEADDR ----------------------------------------------------------------------------
@pytest.mark.parametrize("first_reuse", [True, False])
def test_a_restarted_server_needs_so_reuseaddr_beside_its_time_wait(first_reuse):
    """inet_bind_conflict: ``sk->sk_reuse && sk2->sk_reuse && sk2->sk_state != TCP_LISTEN``; the
    TIME-WAIT socket keeps the old socket's sk_reuse (observed: bind-in-use, and
    bind-in-use-listener-without-reuseaddr where both binds fail)."""
    s, c, w = bench()
    w.call(0.0, s.listen, PORT, 128, reuseaddr=first_reuse)
    conn = server_closes_first(w, s, c)
    w.call(0.5, s.close, PORT)
    with pytest.raises(OSError) as without:
        s.listen(0.6, PORT)
    assert without.value.errno == errno.EADDRINUSE and "Address already in use" in str(without.value)
    if first_reuse:
        s.listen(0.7, PORT, reuseaddr=True)
        assert PORT in s.listeners and s.state(conn) is S.TIME_WAIT
    else:
        with pytest.raises(OSError, match="EADDRINUSE"):
            s.listen(0.7, PORT, reuseaddr=True)


def test_bind_is_free_once_time_wait_ends():
    s, c, w = bench()
    w.call(0.0, s.listen, PORT, 128)
    server_closes_first(w, s, c)
    w.call(0.5, s.close, PORT)
    w.run(until=300.0)  # 2 MSL later
    s.listen(300.0, PORT)
    assert PORT in s.listeners


def test_bad_ports_are_refused():
    s, c, w = bench()
    with pytest.raises(ValueError, match="local_port"):
        c.connect(0.0, SERVER, PORT, local_port=70000)
    with pytest.raises(ValueError, match="port"):
        s.listen(0.0, 0)


# --- ephemeral ports and TIME-WAIT ----------------------------------------------------------------------
def test_time_wait_on_the_client_exhausts_a_small_port_range():
    """__inet_hash_connect: even ports first, then odd; a 4-tuple in TIME-WAIT is not free;
    EADDRNOTAVAIL when none is (observed: port-exhaustion, 40000 40002 then 40001 40003)."""
    s, c, w = bench(client_sysctls={"ip_local_port_range": (40000, 40003), "tcp_tw_reuse": 0})
    w.call(0.0, s.listen, PORT, 128)
    conns = [client_closes_first(w, s, c, at=0.3 * k) for k in range(4)]
    ports = [conn[1] for conn in conns]
    assert sorted(ports[:2]) == [40000, 40002] and sorted(ports[2:]) == [40001, 40003]
    assert all(c.state(conn) is S.TIME_WAIT for conn in conns)
    with pytest.raises(OSError) as info:
        c.connect(1.5, SERVER, PORT)
    assert info.value.errno == errno.EADDRNOTAVAIL


def test_another_destination_port_has_all_ports_again():
    """The 4-tuple must be unique, not the port: TIME-WAIT to :5000 leaves 40000 free towards :5001."""
    s, c, w = bench(client_sysctls={"ip_local_port_range": (40000, 40001), "tcp_tw_reuse": 0})
    w.call(0.0, s.listen, PORT, 128)
    w.call(0.0, s.listen, PORT + 1, 128)
    for k in range(2):
        client_closes_first(w, s, c, at=0.3 * k)
    assert c.connect(1.0, SERVER, PORT + 1)[1] in (40000, 40001)


@pytest.mark.parametrize("timestamps, reused", [(1, True), (0, False)])
def test_tw_reuse_takes_over_a_time_wait_older_than_the_delay_only_with_timestamps(timestamps, reused):
    """tcp_twsk_unique: ``if (ts_recent_stamp && (!twp || (reuse && time_after32(tcp_clock_ms(),
    reuse_thresh))))``, the new SYN's seq = tw_snd_nxt + 65535 + 2 (observed: port-exhaustion-tw-reuse,
    -no-timestamps)."""
    client = {"ip_local_port_range": (40000, 40003), "tcp_tw_reuse": 1, "tcp_timestamps": timestamps}
    s, c, w = bench(client_sysctls=client)
    w.call(0.0, s.listen, PORT, 128)
    conns = [client_closes_first(w, s, c, at=0.1 * k) for k in range(4)]
    with pytest.raises(OSError, match="EADDRNOTAVAIL"):  # the youngest TIME-WAIT is not 1 s old yet
        c.connect(0.9, SERVER, PORT)
    if not reused:
        with pytest.raises(OSError, match="EADDRNOTAVAIL"):
            c.connect(2.0, SERVER, PORT)
        return
    conn = w.call(2.0, c.connect, SERVER, PORT)
    assert conn in conns
    fins = {tuple(p.segment for t, p in w.carried if p.src == CLIENT and p.sport == x[1]
                  and p.segment.flags & FIN)[0].seq for x in [conn]}
    syn = [p.segment for t, p in w.carried if t >= 2.0 and p.src == CLIENT and p.segment.flags & SYN][0]
    assert syn.seq == (fins.pop() + 1 + GAP) % SEQ_MOD
    assert events(c, "TIME-WAIT taken over by connect()")
    w.run(until=2.1)
    assert c.state(conn) is S.ESTABLISHED


@pytest.mark.parametrize("client, reused", [("127.0.0.2", True), (CLIENT, False)])
def test_tw_reuse_2_the_default_is_for_loopback_only(client, reused):
    s, c, w = bench(client_sysctls={"ip_local_port_range": (40000, 40000)},
                    server="127.0.0.1" if reused else SERVER, client=client)
    w.call(0.0, s.listen, PORT, 128)
    conn = w.call(0.0, c.connect, s.address, PORT)
    w.run(until=0.05)
    accept_all(w, s, 0.05)
    w.call(0.05, c.close, conn)
    w.run(until=0.1)
    w.call(0.1, s.close, conn)
    w.run(until=0.2)
    if reused:
        assert w.call(2.0, c.connect, s.address, PORT) == conn
    else:
        with pytest.raises(OSError, match="EADDRNOTAVAIL"):
            c.connect(2.0, s.address, PORT)


def test_a_bound_port_takes_over_its_time_wait_at_once_when_timestamps_were_used():
    """tcp_twsk_unique with ``twp == NULL`` (the port was bound): no tcp_tw_reuse, no delay needed."""
    s, c, w = bench(client_sysctls={"tcp_tw_reuse": 0})
    w.call(0.0, s.listen, PORT, 128)
    conn = client_closes_first(w, s, c, at=0.0, local_port=40001, reuseaddr=True)
    assert c.state(conn) is S.TIME_WAIT
    assert w.call(0.3, c.connect, SERVER, PORT, local_port=40001, reuseaddr=True) == conn


def four_closed_by_the_client(**client_sysctls):
    """Four connections from ports 40001-40004; the client closes all, then the server does (as max-tw-buckets)."""
    s, c, w = bench(client_sysctls=client_sysctls)
    w.call(0.0, s.listen, PORT, 128)
    conns = [w.call(0.01 * k, c.connect, SERVER, PORT, local_port=40001 + k) for k in range(4)]
    w.run(until=0.1)
    accept_all(w, s, 0.1)
    for conn in conns:
        w.call(0.1, c.close, conn)
    w.run(until=0.2)
    for conn in conns:
        w.call(0.2, s.close, conn)
    w.run(until=0.3)
    return s, c, w, conns


# --- tcp_max_tw_buckets ------------------------------------------------------------------------------------
def test_past_tcp_max_tw_buckets_a_closing_connection_keeps_no_time_wait():
    """tcp_time_wait: inet_twsk_alloc fails -> TCPTimeWaitOverflow, tcp_done; an orphan's FIN-WAIT-2
    needs a timewait socket too, so connections 3 and 4 are gone already there and the server's FIN
    gets RST (observed: max-tw-buckets)."""
    s, c, w, conns = four_closed_by_the_client(tcp_max_tw_buckets=2)
    assert [c.state(x) for x in conns] == [S.TIME_WAIT, S.TIME_WAIT, S.CLOSED, S.CLOSED]
    assert [conn for _, conn in events(c, "no TIME-WAIT (tcp_max_tw_buckets)")] == conns[2:]
    rsts = [p.sport for t, p in w.carried if p.src == CLIENT and p.segment.flags & Flags.RST]
    assert sorted(rsts) == [40003, 40004]


# --- timestamps and PAWS (RFC 7323) ------------------------------------------------------------------------
def test_both_syns_carry_timestamps_and_then_every_segment_does():
    """RFC 7323 3.2: TSecr of the SYN is 0; the SYN,ACK echoes the SYN's TSval; TSval counts ms."""
    s, c, w = bench()
    w.call(0.0, s.listen, PORT, 128)
    conn = w.call(0.0, c.connect, SERVER, PORT)
    w.run(until=0.1)
    w.call(0.5, c.send, conn, b"hello")
    w.run(until=0.6)
    syn, synack = sent(w, CLIENT, "SYN")[0], sent(w, SERVER, "SYN,ACK")[0]
    assert syn.ts[1] == 0 and synack.ts[1] == syn.ts[0]
    data = sent(w, CLIENT, "PSH,ACK")[0]
    assert (data.ts[0] - syn.ts[0]) % SEQ_MOD == 500  # 0.5 s later, in milliseconds
    assert all(p.segment.ts is not None for _, p in w.carried)


def test_no_timestamps_unless_both_sides_offer_them():
    s, c, w = bench(server_sysctls={"tcp_timestamps": 0})
    w.call(0.0, s.listen, PORT, 128)
    w.call(0.0, c.connect, SERVER, PORT)
    w.run(until=0.1)
    assert sent(w, CLIENT, "SYN")[0].ts is not None
    assert [p.segment.ts for t, p in w.carried if t > 0][1:] == [None] * (len(w.carried) - 2)


def test_paws_drops_a_segment_with_an_older_tsval_and_answers_with_an_ack():
    """RFC 7323 5.3 R1: SEG.TSval < TS.Recent -> not acceptable: ACK and drop (Linux tcp_paws_discard)."""
    ep = tl.Endpoint("e", isn=1000, timestamps=True)
    ep.listen(0.0)
    ep.receive(0.01, Segment(SYN, 5000, ts=(700, 0)))
    ep.receive(0.02, Segment(ACK, 5001, 1001, ts=(710, ep.tsval(0.01))))
    out = ep.receive(0.03, Segment(PSH | ACK, 5001, 1001, payload=b"old", ts=(600, 0)))
    assert [(flag_names(int(x.flags)), x.seq, x.ack) for x in out] == [("ACK", 1001, 5001)]
    assert ep.rcv_nxt == 5001  # not delivered
    out = ep.receive(0.04, Segment(PSH | ACK, 5001, 1001, payload=b"new", ts=(720, 0)))
    assert [(x.ack, x.ts[1]) for x in out] == [(5004, 720)]  # taken, and TS.Recent moved on


# --- the model beside the captures ---------------------------------------------------------------------------
def _captured(name):
    record = json.loads((DATA / f"{name}.json").read_text())
    segs = netns_lab.tcp_segments((DATA / f"{name}.pcap").read_bytes())
    return record, [(tcp.sport, flag_names(tcp.flags & ~dpkt.tcp.TH_PUSH), tcp.seq, tcp.ack, len(tcp.data))
                    for _, tcp in segs]


def test_syn_to_time_wait_accepted_agrees_with_linux():
    """The same calls in the model and on Linux: the same segments after the handshake, and the same
    ISN rule for the new incarnation."""
    record, linux = _captured("syn-to-time-wait-accepted")
    assert [e["what"] for e in record["events"]] == ["listen", "connect", "accept", "send", "recv", "close", "close",
                                                    "connect", "accept"]
    s, c, w = bench()
    w.call(0.0, s.listen, PORT, 8, reuseaddr=True)
    conn = w.call(0.0, c.connect, SERVER, PORT, local_port=40001, reuseaddr=True)
    w.call(0.04, s.accept, PORT)  # the handshake is done at 0.03
    w.call(0.05, c.send, conn, b"hello")
    w.call(0.07, s.close, conn)  # after the data has arrived (and been read)
    w.call(0.1, c.close, conn)
    w.call(0.156, c.connect, SERVER, PORT, local_port=40001, reuseaddr=True)
    w.run(until=0.3)
    model = [(p.sport, flag_names(int(p.segment.flags) & ~int(Flags.PSH)), p.segment.seq, p.segment.ack)
             for _, p in w.carried]

    def shape(segs, server_port):
        flags = [("server" if x[0] == server_port else "client", x[1]) for x in segs]
        fin = next(x for x in segs if x[0] == server_port and "FIN" in x[1])
        synack = [x for x in segs if x[0] == server_port and x[1] == "SYN,ACK"][-1]
        return flags, (synack[2] - fin[2]) % SEQ_MOD

    assert shape(model, PORT) == shape(linux, 5000)
    assert shape(linux, 5000)[1] == 1 + GAP


def test_max_tw_buckets_agrees_with_linux():
    """The same four connections: the same two ports send RST, and the same flags from each port."""
    record, linux = _captured("max-tw-buckets")
    assert record["sysctl"]["net.ipv4.tcp_max_tw_buckets"] == 2
    s, c, w, conns = four_closed_by_the_client(tcp_max_tw_buckets=2)

    def per_port(segs):
        out = {}
        for port, flags in segs:
            out.setdefault(port, []).append(flags)
        return out

    model = per_port((p.sport, flag_names(int(p.segment.flags) & ~int(Flags.PSH))) for _, p in w.carried
                     if p.src == CLIENT)
    captured = per_port((x[0], x[1]) for x in linux if x[0] != 5000)
    assert model == captured


def test_consecutive_connects_take_different_ports_and_an_odd_range_loses_one():
    """__inet_hash_connect moves table_perturb on by at least two ports after each success, so a
    port just freed is not the next one chosen; ``remaining &= ~1`` leaves one port of an odd-sized
    range unused (ip-sysctl.rst: the two ends should differ in parity)."""
    s, c, w = bench(client_sysctls={"ip_local_port_range": (40000, 40099)})
    w.call(0.0, s.listen, PORT, 128)
    ports = []
    for k in range(5):  # each connection is aborted before the next: its port is free again at once
        conn = w.call(0.1 * k, c.connect, SERVER, PORT)
        ports.append(conn[1])
        w.call(0.1 * k, c.abort, conn)
    assert len(set(ports)) == 5
    s, c, w = bench(client_sysctls={"ip_local_port_range": (40000, 40002), "tcp_tw_reuse": 0})
    w.call(0.0, s.listen, PORT, 128)
    conns = [client_closes_first(w, s, c, at=0.3 * k) for k in range(2)]
    assert len({conn[1] for conn in conns}) == 2
    with pytest.raises(OSError, match="EADDRNOTAVAIL"):  # three ports in the range, two usable
        c.connect(1.0, SERVER, PORT)

"""The socket layer's rules, one test each, with the numbers they imply and the kernel line they follow.

Each test drives Hosts on a test wire (tests/_wire.py): the calls, the packets, the timers. The
kernel rules are quoted from Linux 6.18 (the kernel these lessons were observed on); the same
rules are checked against the real kernel by tests/test_queue_model.py and the observations in
notebooks/data/queues/.
"""
import pytest

import tcplesson as tl
from tcplesson.host import Host, Listener
from tcplesson.segment import Flags, Packet, Segment

from _wire import Wire, events

S = tl.State
SERVER, PORT = "10.0.0.1", 80


def bench(n_clients: int, *, sysctls=None, drop=None, delay=0.05):
    server = Host("server", SERVER, sysctls=sysctls, seed=1)
    clients = [Host(f"client{i + 1}", f"10.0.1.{i + 1}", seed=1) for i in range(n_clients)]
    return server, clients, Wire(server, *clients, delay=delay, drop=drop)


def one_by_one(wire, clients, every=0.2):
    """Each client connects in turn, after the previous handshake had time to finish."""
    return [wire.call(i * every, c.connect, SERVER, PORT) for i, c in enumerate(clients)]


# --- the limit ------------------------------------------------------------------------------
@pytest.mark.parametrize("backlog,somaxconn,limit", [(4, 4096, 4), (4096, 4096, 4096), (1000, 128, 128), (0, 4096, 0)])
def test_the_limit_is_backlog_capped_at_somaxconn(backlog, somaxconn, limit):
    """net/socket.c __sys_listen: ``if ((unsigned int)backlog > somaxconn) backlog = somaxconn``."""
    server = Host("server", SERVER, sysctls={"somaxconn": somaxconn})
    server.listen(0.0, PORT, backlog)
    assert server.listeners[PORT].limit == limit


# --- the accept queue -----------------------------------------------------------------------
def test_a_listener_that_never_accepts_holds_backlog_plus_one():
    """include/net/sock.h sk_acceptq_is_full: ``sk_ack_backlog > sk_max_ack_backlog`` (">", so
    backlog 4 holds 5); net/ipv4/tcp_input.c tcp_conn_request: a SYN that meets a full accept
    queue is dropped (``if (sk_acceptq_is_full(sk)) { NET_INC_STATS(..., LINUX_MIB_LISTENOVERFLOWS); goto drop; }``)."""
    server, clients, wire = bench(7)
    server.listen(0.0, PORT, 4)
    conns = one_by_one(wire, clients)
    wire.run(until=1.5)
    listener = server.listeners[PORT]
    assert list(listener.accept_queue) == conns[:5]
    assert [c.state(x) for c, x in zip(clients, conns)] == [S.ESTABLISHED] * 5 + [S.SYN_SENT] * 2
    # the sixth and seventh clients' SYNs were dropped, not refused: no RST, no SYN,ACK for them
    dropped = events(server, "SYN dropped (accept queue full)")
    assert [conn for _, conn in dropped][:2] == conns[5:7]
    to_late = [p for _, p in wire.carried if p.dst in ("10.0.1.6", "10.0.1.7")]
    assert to_late == []
    # what ss -ltn shows: Recv-Q 5 (the accept queue), Send-Q 4 (the limit)
    assert (len(listener.accept_queue), listener.limit) == (5, 4)


def test_accept_takes_the_oldest_and_makes_room():
    """accept() takes connections in the order their handshakes finished (inet_csk_accept takes the
    head of icsk_accept_queue); a retransmitted SYN then finds room (RFC 6298 backoff: 1 s after the first)."""
    server, clients, wire = bench(6)
    server.listen(0.0, PORT, 4)
    conns = one_by_one(wire, clients)
    assert wire.call(1.05, server.accept, PORT) == conns[0]
    assert wire.call(1.06, server.accept, PORT) == conns[1]
    wire.run(until=1.5)  # client6 sent its SYN at 1.0 s, retransmitted at 2.0 s
    assert clients[5].state(conns[5]) is S.SYN_SENT
    wire.run(until=2.5)
    assert clients[5].state(conns[5]) is S.ESTABLISHED
    assert conns[5] in server.listeners[PORT].accept_queue


def _fill_then_race(abort_on_overflow: int):
    """backlog 1 (holds 2): client1 finishes; then client2 and client3 send their SYNs together.
    Both find room in the SYN queue; client2's ACK fills the accept queue; client3's ACK meets it full."""
    server, clients, wire = bench(3, sysctls={"tcp_abort_on_overflow": abort_on_overflow})
    server.listen(0.0, PORT, 1)
    first = wire.call(0.0, clients[0].connect, SERVER, PORT)
    wire.run(until=0.5)
    second = wire.call(0.5, clients[1].connect, SERVER, PORT)
    third = wire.call(0.5005, clients[2].connect, SERVER, PORT)
    return server, clients, wire, (first, second, third)


def test_the_last_ack_at_a_full_accept_queue_is_dropped_and_the_client_believes_it_is_established():
    """net/ipv4/tcp_minisocks.c tcp_check_req: the child cannot be made (the accept queue is full),
    ``listen_overflow: if (!READ_ONCE(sock_net(sk)->ipv4.sysctl_tcp_abort_on_overflow)) { inet_rsk(req)->acked = 1; return NULL; }``:
    the ACK is dropped, the request stays, its SYN,ACK is retransmitted on its timer."""
    server, clients, wire, (first, second, third) = _fill_then_race(0)
    wire.run(until=0.7)
    listener = server.listeners[PORT]
    assert list(listener.accept_queue) == [first, second]
    assert clients[2].state(third) is S.ESTABLISHED  # the client has what it needs
    assert server.state(third) is S.SYN_RECEIVED and third in listener.syn_queue
    assert [conn for _, conn in events(server, "ACK dropped (accept queue full)")] == [third]
    # 1 s after its SYN,ACK (the initial RTO, RFC 6298 2.1) the server sends it again; the client
    # answers with an ACK, which is dropped again while nobody accepts
    wire.run(until=1.7)
    synacks = [t for t, p in wire.carried if p.dst == "10.0.1.3" and p.segment.flags == Flags.SYN | Flags.ACK]
    assert len(synacks) == 2 and synacks[1] - synacks[0] == pytest.approx(1.0)
    assert len(events(server, "ACK dropped (accept queue full)")) == 2
    # once the application accepts, the next retransmission's ACK completes the handshake
    wire.call(2.0, server.accept, PORT)
    wire.run(until=3.7)
    assert third in listener.accept_queue and server.state(third) is S.ESTABLISHED


def test_with_tcp_abort_on_overflow_the_last_ack_is_answered_with_rst():
    """tcp_check_req with tcp_abort_on_overflow=1: ``embryonic_reset: ... req->rsk_ops->send_reset(sk, skb)``;
    the reset takes its sequence number from the ACK's acknowledgment (RFC 9293 3.10.7.4 for an RST
    answering an ACK), and the client's connection is reset."""
    server, clients, wire, (first, second, third) = _fill_then_race(1)
    wire.run(until=0.8)
    rsts = [p for _, p in wire.carried if p.dst == "10.0.1.3" and p.segment.flags & Flags.RST]
    assert len(rsts) == 1
    last_ack = [p for _, p in wire.carried if p.src == "10.0.1.3" and p.segment.flags == Flags.ACK][0]
    assert rsts[0].segment.seq == last_ack.segment.ack
    assert server.state(third) is S.CLOSED and clients[2].state(third) is S.CLOSED
    assert [conn for _, conn in events(server, "RST (accept queue full)")] == [third]


# --- the SYN queue ----------------------------------------------------------------------------
def _syns_at_once(n: int, backlog: int, sysctls: dict):
    server, clients, wire = bench(n, sysctls=sysctls)
    server.listen(0.0, PORT, backlog)
    conns = [wire.call(0.0, c.connect, SERVER, PORT) for c in clients]
    wire.run(until=0.06)  # every SYN has arrived, no ACK yet
    return server, clients, wire, conns


def test_without_cookies_the_syn_queue_holds_backlog_plus_one_and_drops_the_rest():
    """include/net/inet_connection_sock.h inet_csk_reqsk_queue_is_full: ``reqsk_queue_len > sk_max_ack_backlog``
    (">" since Linux 6.10, so backlog 2 holds 3); tcp_conn_request with tcp_syncookies=0:
    ``if ((syncookies == 2 || inet_csk_reqsk_queue_is_full(sk)) && !isn) { want_cookie = tcp_syn_flood_action(...); if (!want_cookie) goto drop; }``."""
    server, clients, wire, conns = _syns_at_once(5, 2, {"tcp_syncookies": 0})
    listener = server.listeners[PORT]
    assert list(listener.syn_queue) == conns[:3]
    assert [conn for _, conn in events(server, "SYN dropped (SYN queue full)")] == conns[3:]
    assert all(server.state(c) is S.SYN_RECEIVED for c in conns[:3])
    assert all(c not in server.tcbs for c in conns[3:])


def test_with_cookies_a_full_syn_queue_answers_statelessly_and_the_ack_creates_the_connection():
    """tcp_syncookies=1: the SYN that finds the SYN queue full gets a SYN,ACK whose ISN is a cookie
    (net/ipv4/syncookies.c __cookie_v4_init_sequence) and no state; the returning ACK is checked
    (cookie_v4_check) and only then is the connection created, straight into the accept queue."""
    server, clients, wire = bench(5, sysctls={"tcp_syncookies": 1})
    server.listen(0.0, PORT, 2)
    conns = [wire.call(0.0, c.connect, SERVER, PORT) for c in clients[:3]]
    conns += [wire.call(0.01, c.connect, SERVER, PORT) for c in clients[3:]]
    wire.run(until=0.07)
    listener = server.listeners[PORT]
    assert list(listener.syn_queue) == conns[:3]
    assert [conn for _, conn in events(server, "cookie sent")] == conns[3:]
    assert all(c not in server.tcbs for c in conns[3:])
    wire.run(until=0.155)  # the first three are established; the application accepts them
    assert [wire.call(0.155, server.accept, PORT) for _ in range(3)] == conns[:3]
    wire.run(until=0.2)  # the cookie ACKs arrive at 0.16
    assert [conn for _, conn in events(server, "cookie accepted")] == conns[3:]
    assert list(listener.accept_queue) == conns[3:]
    assert all(server.state(c) is S.ESTABLISHED for c in conns)


def test_a_cookie_ack_that_meets_a_full_accept_queue_is_dropped():
    """net/ipv4/tcp_ipv4.c tcp_v4_syn_recv_sock, called by cookie_v4_check: ``if (sk_acceptq_is_full(sk))
    goto exit_overflow;``: no child, the ACK is dropped (a cookie has no request to retransmit from)."""
    server, clients, wire, conns = _syns_at_once(5, 2, {"tcp_syncookies": 1})
    wire.run(until=0.2)
    assert list(server.listeners[PORT].accept_queue) == conns[:3]
    assert [conn for _, conn in events(server, "ACK dropped (accept queue full)")] == conns[3:]
    assert events(server, "cookie accepted") == []
    assert all(c not in server.tcbs for c in conns[3:])
    assert all(clients[i].state(conns[i]) is S.ESTABLISHED for i in (3, 4))  # they believe they are in


def test_an_ack_with_a_wrong_cookie_is_rejected_with_rst():
    """net/ipv4/syncookies.c cookie_v4_check: an ACK whose acknowledgment does not decode as a cookie
    this listener made creates nothing; tcp_v4_rcv then answers it as a segment for no socket (RST,
    RFC 9293 3.10.7.2: <SEQ=SEG.ACK><CTL=RST>)."""
    server, clients, wire, conns = _syns_at_once(4, 2, {"tcp_syncookies": 1})
    synack = next(p for _, p in wire.carried if p.dst == "10.0.1.4" and p.segment.flags == Flags.SYN | Flags.ACK)
    forged = Packet("10.0.1.4", conns[3][1], SERVER, PORT,
                    Segment(Flags.ACK, seq=synack.segment.ack, ack=(synack.segment.seq + 2) % 2**32))
    before = len(wire.carried)
    server.receive(0.07, forged)
    wire.run(until=0.07)
    assert [conn for _, conn in events(server, "cookie rejected")] == [conns[3]]
    reply = [p.segment for _, p in wire.carried[before:] if p.dst == "10.0.1.4"]
    assert [s.flags for s in reply] == [Flags.RST] and reply[0].seq == forged.segment.ack
    assert conns[3] not in server.tcbs


def test_a_cookie_syn_ack_is_never_retransmitted():
    """A cookie SYN,ACK has no request socket behind it, so no timer (tcp_conn_request:
    ``if (want_cookie) { ... reqsk_free(req); return 0; }`` after sending it): lose the client's
    ACK and nothing more comes from the server, though the client is ESTABLISHED."""
    def lose_the_cookie_ack(p):
        return p.src == "10.0.1.4" and p.segment.flags == Flags.ACK
    server, clients, wire = bench(4, sysctls={"tcp_syncookies": 1}, drop=lose_the_cookie_ack)
    server.listen(0.0, PORT, 2)
    conns = [wire.call(0.0, c.connect, SERVER, PORT) for c in clients]
    wire.run(until=30.0)
    to_fourth = [p for _, p in wire.carried if p.dst == "10.0.1.4"]
    assert [p.segment.flags for p in to_fourth] == [Flags.SYN | Flags.ACK]
    assert clients[3].state(conns[3]) is S.ESTABLISHED and conns[3] not in server.tcbs


def test_tcp_syncookies_2_sends_cookies_even_to_an_empty_queue():
    """tcp_syncookies=2: ``syncookies == 2`` in tcp_conn_request's first test: a cookie for every SYN."""
    server, clients, wire, conns = _syns_at_once(2, 128, {"tcp_syncookies": 2})
    assert server.listeners[PORT].syn_queue == {}
    assert [conn for _, conn in events(server, "cookie sent")] == conns
    wire.run(until=0.2)
    assert list(server.listeners[PORT].accept_queue) == conns


def test_without_cookies_the_last_quarter_of_tcp_max_syn_backlog_is_kept_for_proven_peers():
    """tcp_conn_request, cookies off: ``if (!syncookies && (max_syn_backlog - inet_csk_reqsk_queue_len(sk) <
    (max_syn_backlog >> 2)) && !tcp_peer_is_proven(req, dst)) goto drop_and_release;``:
    with tcp_max_syn_backlog 8 an unproven peer's SYN is dropped once 7 wait (8 - 7 < 2)."""
    server, clients, wire, conns = _syns_at_once(9, 100, {"tcp_syncookies": 0, "tcp_max_syn_backlog": 8})
    assert list(server.listeners[PORT].syn_queue) == conns[:7]
    assert [conn for _, conn in events(server, "SYN dropped (tcp_max_syn_backlog)")] == conns[7:]


def test_a_peer_that_finished_a_handshake_is_proven_and_passes_the_quarter_rule():
    server, clients, wire = bench(8, sysctls={"tcp_syncookies": 0, "tcp_max_syn_backlog": 8})
    server.listen(0.0, PORT, 100)
    earlier = wire.call(0.0, clients[7].connect, SERVER, PORT)
    wire.run(until=0.5)
    assert server.state(earlier) is S.ESTABLISHED
    others = [wire.call(0.5, c.connect, SERVER, PORT) for c in clients[:7]]
    again = wire.call(0.5, clients[7].connect, SERVER, PORT)  # 7 wait: only a proven peer gets in
    wire.run(until=0.56)
    assert list(server.listeners[PORT].syn_queue) == others + [again]


def test_old_half_open_requests_get_fewer_syn_ack_retries_when_the_queue_is_half_full():
    """net/ipv4/inet_connection_sock.c reqsk_timer_handler: ``if ((qlen << 1) > max(8U, sk_max_ack_backlog))
    { int young = reqsk_queue_len_young(queue) << 1; while (max_syn_ack_retries > 2) { if (qlen < young) break;
    max_syn_ack_retries--; young <<= 1; } }``: a queue of old requests keeps retrying only twice."""
    listener = Listener(PORT, 64, 4096)
    listener.syn_queue = {("x", i): None for i in range(40)}
    listener.young = 0
    assert listener.synack_retries(5) == 2
    listener.young = 40
    assert listener.synack_retries(5) == 5
    listener.young = 12  # 24 < 40 -> 4; 48 > 40 stops
    assert listener.synack_retries(5) == 4
    listener.syn_queue = {("x", i): None for i in range(32)}  # not more than half of 64
    listener.young = 0
    assert listener.synack_retries(5) == 5


# --- demultiplexing, RST, ports ---------------------------------------------------------------
def test_a_syn_to_a_port_nobody_listens_on_gets_rst_ack_and_an_rst_gets_nothing():
    """RFC 9293 3.10.7.1 (CLOSED): a segment with ACK off is answered <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>;
    an incoming RST is discarded."""
    server = Host("server", SERVER)
    server.receive(0.0, Packet("10.0.1.1", 40000, SERVER, 81, Segment(Flags.SYN, seq=1000)))
    sent = [e.rec.segment for e in server.log if isinstance(e.rec, tl.records.Sent)]
    assert len(sent) == 1 and sent[0].flags == Flags.RST | Flags.ACK
    assert (sent[0].seq, sent[0].ack) == (0, 1001)
    server.receive(0.1, Packet("10.0.1.1", 40000, SERVER, 81, Segment(Flags.RST, seq=5)))
    assert len([e for e in server.log if isinstance(e.rec, tl.records.Sent)]) == 1


def test_segments_go_to_their_connection_by_4_tuple():
    """RFC 9293 3.4.1: two connections from one client host to one server port differ in the client's
    port; data on one never reaches the other."""
    server, (client,), wire = bench(1)
    server.listen(0.0, PORT, 8)
    a = wire.call(0.0, client.connect, SERVER, PORT)
    b = wire.call(0.0, client.connect, SERVER, PORT)
    assert a[1] != b[1] and a[0::2] == b[0::2]
    wire.run(until=0.5)
    wire.call(0.5, client.send, a, b"only on a")
    wire.run(until=1.0)
    delivered = {c: b"".join(e.rec.data for e in server.log if e.conn == c and isinstance(e.rec, tl.records.Delivered))
                 for c in (a, b)}
    assert delivered == {a: b"only on a", b: b""}


def test_connect_takes_an_even_port_from_ip_local_port_range_first():
    """net/ipv4/inet_hashtables.c __inet_hash_connect: from an offset hashed from the destination,
    ``offset &= ~1`` and a step of 2: connect() tries the ports of one parity (even, with the default
    low end 32768) before the others."""
    client = Host("client", "10.0.1.1")
    ports = [client.connect(0.0, SERVER, PORT)[1] for _ in range(20)]
    assert len(set(ports)) == 20
    assert all(32768 <= p <= 60999 and p % 2 == 0 for p in ports)


def test_when_every_port_is_taken_connect_fails_with_eaddrnotavail():
    client = Host("client", "10.0.1.1", sysctls={"ip_local_port_range": (40000, 40003)})
    ports = sorted(client.connect(0.0, SERVER, PORT)[1] for _ in range(4))
    assert ports == [40000, 40001, 40002, 40003]
    with pytest.raises(OSError, match="EADDRNOTAVAIL"):
        client.connect(0.0, SERVER, PORT)
    # another destination port is another 4-tuple: the same local ports are free for it
    assert 40000 <= client.connect(0.0, SERVER, 443)[1] <= 40003


# --- ss --------------------------------------------------------------------------------------
def test_ss_shows_a_full_listener_as_linux_does():
    """ss -tan of a listener: Recv-Q is the accept queue's length, Send-Q its limit (net/ipv4/tcp_diag.c
    tcp_diag_get_info: for LISTEN ``r->idiag_rqueue = READ_ONCE(sk->sk_ack_backlog); r->idiag_wqueue = READ_ONCE(sk->sk_max_ack_backlog);``)."""
    trace = tl.simulate(tl.accept_queue_full(backlog=4, n_clients=7), seed=1)
    table = trace.ss("server", at=5.0)
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["State", "Recv-Q", "Send-Q"]
    listen = [line.split() for line in lines if line.startswith("LISTEN")]
    assert listen == [["LISTEN", "5", "4", "0.0.0.0:80", "0.0.0.0:*"]]
    assert sum(line.startswith("ESTAB") for line in lines) == 5
    # the clients' side: five ESTAB, the two others still SYN-SENT
    states = [trace.connection(f"client{i}").state_at("client", 5.0) for i in range(1, 8)]
    assert states == [S.ESTABLISHED] * 5 + [S.SYN_SENT] * 2


# --- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("call,message", [
    (lambda h: h.listen(0.0, PORT, -1), "backlog"),
    (lambda h: h.listen(0.0, 0, 4), "port"),
    (lambda h: h.listen(0.0, 70000, 4), "port"),
    (lambda h: h.connect(0.0, "10.0.0.300", PORT), "address"),
    (lambda h: h.connect(0.0, SERVER, 0), "port"),
    (lambda h: h.accept(0.0, PORT), "not listening"),
    (lambda h: h.send(0.0, ("10.0.0.1", 1, "10.0.0.2", 2), b"x"), "no such connection"),
])
def test_bad_calls_name_what_is_wrong(call, message):
    host = Host("server", SERVER)
    with pytest.raises((ValueError, TypeError, tl.ProtocolError), match=message):
        call(host)


def test_listening_twice_on_a_port_is_refused():
    host = Host("server", SERVER)
    host.listen(0.0, PORT, 4)
    with pytest.raises(tl.ProtocolError, match="listening already"):
        host.listen(0.1, PORT, 4)


@pytest.mark.parametrize("sysctls,message", [
    ({"tcp_syncookie": 1}, "unknown sysctl 'tcp_syncookie'"),
    ({"tcp_syncookies": 3}, "tcp_syncookies"),
    ({"ip_local_port_range": (61000, 32768)}, "low <= high"),
    ("somaxconn=4", "dict"),
])
def test_bad_sysctls_name_what_is_wrong(sysctls, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Host("server", SERVER, sysctls=sysctls)

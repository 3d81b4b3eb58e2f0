"""What Linux's listen queues did on a real kernel, held to the kernel source.

The captures in notebooks/data/queues were made by ``python -m tcplesson.queue_capture`` (see its
README). Each test below states one rule, with the kernel function it comes from (quoted in
docs/linux-listen-queues.md), and checks it against the segments in NAME.pcap and the ``ss``
snapshots, client results and ``nstat`` counters in NAME.json. Timings are checked only within
wide bounds (loopback, a 250 Hz kernel timer). One test re-runs an experiment on this machine
(root, ip netns, nft and tcpdump needed; skipped with the reason otherwise).
"""
import io
import json
from pathlib import Path

import dpkt
import pytest

from tcplesson import queue_capture as qc

DATA = Path(__file__).resolve().parent.parent / "notebooks" / "data" / "queues"
SERVER = qc.PORT


def client_port(k):
    return qc.CLIENT_PORT + k


def load(name, where=DATA):
    record = json.loads((where / f"{name}.json").read_text())
    segs = []
    for ts, buf in dpkt.pcap.Reader(io.BytesIO((where / f"{name}.pcap").read_bytes())):
        tcp = dpkt.ethernet.Ethernet(buf).data.data
        segs.append(dict(t=ts, src=tcp.sport, dst=tcp.dport, flags=tcp.flags, seq=tcp.seq, ack=tcp.ack,
                         len=len(tcp.data)))
    t0 = segs[0]["t"]
    for s in segs:
        s["t"] = round(s["t"] - t0, 6)
    return record, segs


def is_(seg, *names):
    """The segment's flags are exactly these (PSH is ignored)."""
    bits = {"SYN": dpkt.tcp.TH_SYN, "ACK": dpkt.tcp.TH_ACK, "RST": dpkt.tcp.TH_RST, "FIN": dpkt.tcp.TH_FIN}
    want = sum(bits[n] for n in names)
    return seg["flags"] & ~dpkt.tcp.TH_PUSH == want


def syns(segs, k, before=None):
    return [s for s in segs if s["src"] == client_port(k) and is_(s, "SYN") and (before is None or s["t"] < before)]


def synacks(segs, k, before=None):
    return [s for s in segs if s["dst"] == client_port(k) and is_(s, "SYN", "ACK")
            and (before is None or s["t"] < before)]


def to_client(segs, k):
    return [s for s in segs if s["dst"] == client_port(k)]


def event(record, what, **match):
    return [e for e in record["events"] if e["what"] == what and all(e.get(k) == v for k, v in match.items())]


def snapshot(record, label_start):
    return next(s for s in record["snapshots"] if s["label"].startswith(label_start))


def listener(snap, port=SERVER):
    return next(r for r in snap["listeners"] if r["local"].endswith(f":{port}"))


def server_states(snap):
    """{client port: state} of the server's side of each connection (request socks included)."""
    return {int(r["peer"].rsplit(":", 1)[1]): r["state"] for r in snap["sockets"]
            if r["local"].endswith(f":{SERVER}") and r["state"] != "LISTEN"}


def client_states(snap):
    return {int(r["local"].rsplit(":", 1)[1]): r["state"] for r in snap["sockets"]
            if r["peer"].endswith(f":{SERVER}")}


def gaps(segs):
    return [round(b["t"] - a["t"], 3) for a, b in zip(segs, segs[1:])]


def test_every_experiment_is_shipped_with_its_settings():
    for name, exp in qc.EXPERIMENTS.items():
        record, segs = load(name)
        assert record["experiment"] == name and record["kernel"]
        assert segs[0]["t"] == 0 and all(a["t"] <= b["t"] for a, b in zip(segs, segs[1:]))
        for key, value in exp.sysctls.items():  # the namespace really had the values asked for
            assert record["sysctl"][key] == value, (name, key)


# --- accept queue (include/net/sock.h sk_acceptq_is_full, net/ipv4/tcp_input.c tcp_conn_request) ---

def check_accept_queue_full(record, segs):
    """listen(2), no accept(): 3 connections fit (">" in sk_acceptq_is_full), the 4th..6th SYNs are
    dropped without an answer (LISTENOVERFLOWS), the clients retry and time out."""
    limits = {listener(s)["send_q"] for s in record["snapshots"]}
    assert limits == {2}  # Send-Q of a listener = min(backlog, somaxconn)
    assert max(listener(s)["recv_q"] for s in record["snapshots"]) == 3  # backlog + 1
    assert listener(snapshot(record, "after client 3"))["recv_q"] == 3
    for k in (1, 2, 3):
        assert len(synacks(segs, k)) == 1
    for k in (4, 5, 6):
        assert to_client(segs, k) == []  # not even a RST: the SYN is dropped
        assert len(syns(segs, k)) >= 3
        assert all(0.8 < g < 1.3 for g in gaps(syns(segs, k)))  # linear 1 s SYN retries (tcp_syn_linear_timeouts)
    assert all(state != "SYN-RECV" for s in record["snapshots"] for state in server_states(s).values())
    assert record["clients"] == {"1": "connected", "2": "connected", "3": "connected",
                                 "4": "ETIMEDOUT", "5": "ETIMEDOUT", "6": "ETIMEDOUT"}
    dropped = sum(len(syns(segs, k)) for k in (4, 5, 6))
    delta = record["counters"]["delta"]
    assert delta["TcpExtListenOverflows"] == delta["TcpExtListenDrops"] == dropped
    assert delta["TcpExtSyncookiesSent"] == delta["TcpExtTCPReqQFullDrop"] == 0


def test_accept_queue_holds_backlog_plus_one_and_drops_further_syns():
    check_accept_queue_full(*load("accept-queue-full"))


def test_listen_backlog_is_capped_at_somaxconn_and_zero_still_admits_one():
    """net/socket.c __sys_listen: ``if ((unsigned int)backlog > somaxconn) backlog = somaxconn``."""
    record, segs = load("backlog-values")
    assert record["sysctl"]["net.core.somaxconn"] == 5
    first = record["snapshots"][0]
    assert {p: listener(first, p)["send_q"] for p in (5000, 5001, 5002, 5003)} == {5000: 0, 5001: 3, 5002: 5, 5003: 5}
    assert event(record, "listen", port=5003)[0]["backlog"] == -1  # negative: as unsigned, above somaxconn
    assert listener(snapshot(record, "after client 1"), 5000)["recv_q"] == 1  # listen(0) holds one
    assert len(synacks(segs, 1)) == 1 and to_client(segs, 2) == []
    assert record["clients"] == {"1": "connected", "2": "ETIMEDOUT"}


# --- the last ACK at a full accept queue (net/ipv4/tcp_minisocks.c tcp_check_req listen_overflow) ---

def test_ack_at_full_accept_queue_is_dropped_and_synack_retransmitted():
    record, segs = load("ack-dropped-on-overflow")
    held = snapshot(record, "client 4 connected")
    assert listener(held)["recv_q"] == 3  # full: 3 > 2
    assert server_states(held)[client_port(3)] == "SYN-RECV"
    assert client_states(held)[client_port(3)] == "ESTAB"  # the client believes it is connected
    sa = synacks(segs, 3)
    assert len(sa) == 3 and len({s["seq"] for s in sa}) == 1  # the same SYN,ACK, retransmitted
    g = gaps(sa)
    assert 0.8 < g[0] < 1.3 and 1.7 < g[1] < 2.4  # 1 s, then doubled (reqsk_timer_handler)
    for s in sa[1:]:  # the client answers each retransmission with an ACK
        assert any(x["src"] == client_port(3) and is_(x, "ACK") and 0 <= x["t"] - s["t"] < 0.1 for x in segs)
    assert not any(is_(s, "RST") for s in segs)
    accept = event(record, "accept")[0]["at"]
    assert sa[1]["t"] < accept < sa[2]["t"]
    # the ACK after the first retransmission met a full queue (dropped); the one after the second
    # retransmission, after accept() made room, created the connection
    assert server_states(snapshot(record, "after the first"))[client_port(3)] == "SYN-RECV"
    assert server_states(snapshot(record, "after the second"))[client_port(3)] == "ESTAB"
    delta = record["counters"]["delta"]
    assert delta["TcpExtListenOverflows"] == delta["TcpExtListenDrops"] == 1


def test_ack_at_full_accept_queue_gets_rst_with_abort_on_overflow():
    record, segs = load("ack-dropped-on-overflow-abort")
    assert record["sysctl"]["net.ipv4.tcp_abort_on_overflow"] == 1
    sa = synacks(segs, 3)
    assert len(sa) == 2
    rst = [s for s in to_client(segs, 3) if is_(s, "RST")]
    assert len(rst) == 1 and rst[0]["seq"] == (sa[0]["seq"] + 1) % 2**32
    ack = [s for s in segs if s["src"] == client_port(3) and is_(s, "ACK") and s["t"] > sa[1]["t"]]
    assert ack and ack[0]["t"] <= rst[0]["t"] < ack[0]["t"] + 0.01  # the RST answers that ACK
    after = snapshot(record, "after the SYN,ACK")
    assert client_port(3) not in server_states(after) and after["clients"]["3"] == "ECONNRESET"
    assert record["counters"]["delta"]["TcpExtListenOverflows"] == 1


# --- half-open connections (net/ipv4/inet_connection_sock.c reqsk_timer_handler, syn_ack_recalc) ---

def test_half_open_requests_retransmit_synack_then_vanish_silently():
    record, segs = load("half-open-held")
    retries = record["sysctl"]["net.ipv4.tcp_synack_retries"]
    for k in (1, 2, 3):
        sa = synacks(segs, k)
        assert len(sa) == 1 + retries
        g = gaps(sa)
        assert 0.8 < g[0] < 1.3 and 1.7 < g[1] < 2.4
    for label in ("at 0.5", "at 2.0", "at 5.0", "at 6.9"):
        states = server_states(snapshot(record, label))
        assert sorted(states.values()) == ["SYN-RECV"] * 3
        assert listener(snapshot(record, label))["recv_q"] == 0  # requests are not in the accept queue
    # expiry 1 + 2 + 4 = 7 s after the SYN, with no segment sent
    assert server_states(snapshot(record, "at 7.6")) == {}
    assert set(client_states(snapshot(record, "at 7.6")).values()) == {"ESTAB"}
    assert not any(is_(s, "RST") for s in segs if s["t"] < 7.6)
    # a segment of the forgotten connection reaches the listener: RST (seq = the segment's ack)
    data = next(s for s in segs if s["src"] == client_port(1) and s["len"] > 0)
    rst = next(s for s in to_client(segs, 1) if is_(s, "RST"))
    assert rst["seq"] == data["ack"] and record["clients"]["1"] == "ECONNRESET"
    counters = event(record, "drop rule off")[0]["counters"]
    assert "packets 9 " in counters[0]  # 3 clients x (ACK + 2 answers to retransmissions)


# --- the SYN queue (include/net/inet_connection_sock.h inet_csk_reqsk_queue_is_full, tcp_syn_flood_action) ---

def test_syn_queue_full_gives_cookies_that_are_never_retransmitted():
    record, segs = load("syn-queue-full-cookies")
    held = snapshot(record, "all clients connected")
    assert listener(held)["send_q"] == 4
    assert sorted(server_states(held).items()) == [(client_port(k), "SYN-RECV") for k in range(1, 6)]  # 4 + 1
    release = event(record, "drop rule off")[0]["at"]
    for k in range(1, 6):
        assert len(synacks(segs, k, before=release)) == 2  # kept: retransmitted after 1 s
    for k in (6, 7):
        assert len(synacks(segs, k)) == 1  # cookie: stateless, never retransmitted
    delta = record["counters"]["delta"]
    assert delta["TcpExtSyncookiesSent"] == delta["TcpExtTCPReqQFullDoCookies"] == 2
    assert delta["TcpExtSyncookiesRecv"] == 2 and delta["TcpExtSyncookiesFailed"] == 0  # the data's ACK
    assert delta["TcpExtTCPReqQFullDrop"] == delta["TcpExtListenDrops"] == 0
    assert sorted(e["peer_port"] for e in event(record, "accept")) == [client_port(k) for k in range(1, 8)]


def test_syn_queue_full_without_cookies_drops_the_syn():
    record, segs = load("syn-queue-full-no-cookies")
    held = snapshot(record, "all clients connected")
    assert sorted(server_states(held).items()) == [(client_port(k), "SYN-RECV") for k in range(1, 6)]
    release = event(record, "drop rule off")[0]["at"]
    dropped = 0
    for k in (6, 7):
        assert synacks(segs, k, before=release) == []
        dropped += len(syns(segs, k, before=release))
        assert held["clients"][str(k)] == "connecting"
    delta = record["counters"]["delta"]
    assert dropped == 4 and delta["TcpExtTCPReqQFullDrop"] == delta["TcpExtListenDrops"] == dropped
    assert delta["TcpExtSyncookiesSent"] == 0
    # once handshakes complete the queue has room again and the next retransmitted SYN is answered
    for k in (6, 7):
        assert len(synacks(segs, k)) == 1 and synacks(segs, k)[0]["t"] > release


def test_tcp_max_syn_backlog_keeps_a_quarter_for_proven_peers_without_cookies():
    """tcp_conn_request: drop when ``max_syn_backlog - queue_len < max_syn_backlog >> 2`` (8 - 7 < 2)."""
    record, segs = load("syn-backlog-quarter")
    assert listener(record["snapshots"][0])["send_q"] == 64
    states = server_states(snapshot(record, "ten clients"))
    assert sorted(states) == [client_port(k) for k in range(1, 8)] and set(states.values()) == {"SYN-RECV"}
    for k in (8, 9, 10):
        assert to_client(segs, k) == []
    delta = record["counters"]["delta"]
    assert delta["TcpExtListenDrops"] == sum(len(syns(segs, k)) for k in (8, 9, 10))
    assert delta["TcpExtTCPReqQFullDrop"] == delta["TcpExtListenOverflows"] == 0  # a different drop


def test_syncookies_2_always_sends_cookies():
    record, segs = load("syn-cookies-always")
    for snap in record["snapshots"]:
        assert "SYN-RECV" not in server_states(snap).values()
    assert listener(snapshot(record, "after client 1"))["recv_q"] == 1
    assert [len(synacks(segs, k)) for k in (1, 2)] == [1, 1]
    delta = record["counters"]["delta"]
    assert delta["TcpExtSyncookiesSent"] == delta["TcpExtSyncookiesRecv"] == delta["TcpExtTCPReqQFullDoCookies"] == 2


# --- a fresh run on this machine ---

def test_live_accept_queue_full(tmp_path):
    reason = qc.missing()
    if reason:
        pytest.skip(reason)
    qc.capture("accept-queue-full", tmp_path)
    check_accept_queue_full(*load("accept-queue-full", tmp_path))

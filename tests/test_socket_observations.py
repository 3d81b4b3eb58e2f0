"""What Linux did when sockets were closed, orphaned, reset and left in TIME-WAIT, held to the kernel source.

The captures in notebooks/data/sockets were made by ``python -m tcplesson.socket_capture`` (see its
README). Each test below states one rule, names the kernel function it comes from, and checks it
against the segments in NAME.pcap and the ``ss`` snapshots, socket-call results and ``nstat``
counters in NAME.json. Timings are checked only within wide bounds. One test re-runs two
experiments on this machine (root, ip netns and tcpdump needed; skipped with the reason otherwise).
"""
import json
import struct
from pathlib import Path

import dpkt
import pytest

from tcplesson import netns_lab, queue_capture
from tcplesson import socket_capture as sc

DATA = Path(__file__).resolve().parent.parent / "notebooks" / "data" / "sockets"
SERVER = sc.PORT
CLIENT = sc.client_port(1)
MOD = 2**32


def load(name, where=DATA):
    """The JSON record and the pcap's segments, with times from the first one and the TCP timestamps."""
    record = json.loads((where / f"{name}.json").read_text())
    captured = netns_lab.tcp_segments((where / f"{name}.pcap").read_bytes())
    t0 = captured[0][0]
    segs = []
    for ts, tcp in captured:
        tsopt = [d for k, d in dpkt.tcp.parse_opts(tcp.opts) if k == dpkt.tcp.TCP_OPT_TIMESTAMP]
        segs.append(dict(t=round(ts - t0, 6), src=tcp.sport, dst=tcp.dport, flags=tcp.flags, seq=tcp.seq,
                         ack=tcp.ack, len=len(tcp.data), ts=struct.unpack("!II", tsopt[0]) if tsopt else None))
    return record, segs


def is_(seg, *names):
    """The segment's flags are exactly these (PSH is ignored)."""
    bits = {"SYN": dpkt.tcp.TH_SYN, "ACK": dpkt.tcp.TH_ACK, "RST": dpkt.tcp.TH_RST, "FIN": dpkt.tcp.TH_FIN}
    return seg["flags"] & ~dpkt.tcp.TH_PUSH == sum(bits[n] for n in names)


def has(seg, name):
    return bool(seg["flags"] & {"SYN": dpkt.tcp.TH_SYN, "RST": dpkt.tcp.TH_RST, "FIN": dpkt.tcp.TH_FIN}[name])


def from_(segs, port, after=-1.0):
    return [s for s in segs if s["src"] == port and s["t"] > after]


def after_seq(a, b):
    """a is after b in sequence space (the kernel's after())."""
    return 0 < (a - b) % MOD < 2**31


def calls(record, what, sock=None):
    return [e for e in record["events"] if e["what"] == what and (sock is None or e.get("sock") == sock)]


def results(record, sock):
    """What each call on ``sock`` returned, in order: (call, result, data if any)."""
    return [(e["what"], e["returned"], e.get("data")) for e in record["events"] if e.get("sock") == sock
            and "returned" in e]


def snapshot(record, label_start):
    return next(s for s in record["snapshots"] if s["label"].startswith(label_start))


def row(snap, local_port, peer_port=None):
    """The ss row of the socket bound to ``local_port`` (talking to ``peer_port``), or None."""
    for r in snap["sockets"]:
        if r["local"].endswith(f":{local_port}") and (peer_port is None or r["peer"].endswith(f":{peer_port}")):
            return r
    return None


def state(snap, local_port, peer_port):
    r = row(snap, local_port, peer_port)
    return r["state"] if r else None


def delta(record, counter):
    return record["counters"]["delta"][f"TcpExt{counter}" if f"TcpExt{counter}" in record["counters"]["delta"]
                                       else counter]


def fin_from(segs, port, nth=0):
    return [s for s in segs if s["src"] == port and has(s, "FIN")][nth]


def test_every_experiment_is_shipped_with_its_settings():
    for name, exp in sc.EXPERIMENTS.items():
        record, segs = load(name)
        assert record["experiment"] == name and record["kernel"]
        assert segs[0]["t"] == 0 and all(a["t"] <= b["t"] for a, b in zip(segs, segs[1:]))
        for key, value in exp.sysctls.items():  # the namespace really had the values asked for
            assert record["sysctl"][key] == value, (name, key)


# --- data after close(): RST (net/ipv4/tcp_minisocks.c tcp_timewait_state_process, FIN_WAIT2 substate;
#     net/ipv4/tcp_input.c tcp_rcv_state_process, "RFC 1122 says we MUST send a reset") ---

def check_data_after_close(record, segs, long_fin_timeout=False):
    """The server close()s; the client's byte is answered with RST (seq = the byte's ACK number).

    With tcp_fin_timeout <= 60 s the orphan becomes a FIN-WAIT-2 timewait socket (tcp_close calls
    tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)), which answers new data with TCP_TW_RST and counts nothing;
    with a longer one it stays a full socket in FIN-WAIT-2 (keepalive timer) and
    tcp_rcv_state_process resets it, counting TCPAbortOnData."""
    fin = fin_from(segs, SERVER)
    closed = snapshot(record, "server closed")
    assert state(closed, SERVER, CLIENT) == "FIN-WAIT-2" and state(closed, CLIENT, SERVER) == "CLOSE-WAIT"
    timer = row(closed, SERVER, CLIENT)["timer"]
    assert timer.startswith("timer:(keepalive," if long_fin_timeout else "timer:(timewait,")
    assert row(closed, CLIENT, SERVER)["recv_q"] == 1  # ss counts the unread FIN
    byte = next(s for s in from_(segs, CLIENT) if s["len"] == 1)
    assert byte["ack"] == (fin["seq"] + 1) % MOD
    rst = [s for s in from_(segs, SERVER) if has(s, "RST")]
    assert len(rst) == 1 and is_(rst[0], "RST") and rst[0]["seq"] == byte["ack"]  # tcp_v4_send_reset: seq = ack
    assert 0 <= rst[0]["t"] - byte["t"] < 0.05
    gone = snapshot(record, "client sent a byte")
    assert state(gone, SERVER, CLIENT) is None and state(gone, CLIENT, SERVER) is None
    # tcp_reset: in CLOSE-WAIT the error is EPIPE, not ECONNRESET; the FIN came first, so recv() is EOF
    assert results(record, "client")[-3:] == [("so_error", "ok", None), ("recv", "ok", ""), ("send", "EPIPE", None)]
    assert calls(record, "so_error", "client")[0]["error"] == "EPIPE"
    assert delta(record, "TCPAbortOnData") == (1 if long_fin_timeout else 0)
    assert delta(record, "TW") == (0 if long_fin_timeout else 1)  # a timewait socket with a 60 s timer
    assert delta(record, "TcpEstabResets") == 1  # the client's CLOSE-WAIT socket, reset


def test_data_after_close_is_answered_with_rst_by_the_fin_wait_2_timewait_socket():
    check_data_after_close(*load("data-after-close"))


def test_data_after_close_with_long_fin_timeout_counts_abort_on_data():
    record, segs = load("data-after-close-long-fin-timeout")
    assert record["sysctl"]["net.ipv4.tcp_fin_timeout"] == 120
    check_data_after_close(record, segs, long_fin_timeout=True)


def test_data_after_shutdown_is_acked_and_read():
    """shutdown(SHUT_WR) leaves RCV_SHUTDOWN clear: tcp_rcv_state_process queues the data (tcp_data_queue)."""
    record, segs = load("data-after-shutdown")
    half = snapshot(record, "server shut down")
    assert state(half, SERVER, CLIENT) == "FIN-WAIT-2" and row(half, SERVER, CLIENT)["timer"] is None
    byte = next(s for s in from_(segs, CLIENT) if s["len"] == 1)
    ack = next(s for s in from_(segs, SERVER, byte["t"] - 1e-9) if s["t"] >= byte["t"])
    assert is_(ack, "ACK") and ack["ack"] == (byte["seq"] + 1) % MOD
    assert not any(has(s, "RST") for s in segs)
    assert row(snapshot(record, "client sent a byte"), SERVER, CLIENT)["recv_q"] == 1
    assert results(record, "server")[1:4] == [("recv", "ok", "x"), ("recv", "EAGAIN", None), ("recv", "ok", "")]
    assert state(snapshot(record, "both closed"), SERVER, CLIENT) == "TIME-WAIT"  # it closed first
    assert delta(record, "TCPAbortOnData") == 0


# --- orphans in FIN-WAIT-2 (net/ipv4/tcp.c tcp_close -> tcp_time_wait(sk, TCP_FIN_WAIT2, tcp_fin_time(sk));
#     net/ipv4/inet_timewait_sock.c __inet_twsk_schedule) ---

def test_orphan_fin_wait_2_lives_tcp_fin_timeout_then_vanishes_silently():
    record, segs = load("orphan-fin-wait-2")
    assert record["sysctl"]["net.ipv4.tcp_fin_timeout"] == 3
    close = calls(record, "close", "client")[0]["at"]
    for label in ("0.3", "1.5", "2.7"):
        snap = snapshot(record, label)
        assert state(snap, CLIENT, SERVER) == "FIN-WAIT-2" and state(snap, SERVER, CLIENT) == "CLOSE-WAIT"
        assert row(snap, CLIENT, SERVER)["timer"].startswith("timer:(timewait,")  # a timewait socket
    for label in ("3.6", "4.2"):
        snap = snapshot(record, label)
        assert state(snap, CLIENT, SERVER) is None and state(snap, SERVER, CLIENT) == "CLOSE-WAIT"
        assert snap["at"] - close < 3 + 1.5
    ack_of_fin = next(s for s in from_(segs, SERVER) if s["ack"] == (fin_from(segs, CLIENT)["seq"] + 1) % MOD)
    byte = next(s for s in from_(segs, SERVER) if s["len"] == 1)
    assert [s for s in segs if ack_of_fin["t"] < s["t"] < byte["t"]] == []  # nothing sent at expiry
    rst = [s for s in from_(segs, CLIENT) if has(s, "RST")]
    assert len(rst) == 1 and rst[0]["seq"] == byte["ack"] and rst[0]["t"] - byte["t"] < 0.05  # no socket: RST
    assert results(record, "server")[-2:] == [("recv", "ok", ""), ("send", "EPIPE", None)]
    assert delta(record, "TWKilled") == 1 and delta(record, "TW") == 0  # scheduled for <= 4 s: "killed"


def test_shutdown_fin_wait_2_is_not_an_orphan_and_has_no_timer():
    """The FIN-WAIT-2 timer only exists for orphans: tcp_keepalive_timer's ``sock_flag(sk, SOCK_DEAD)``."""
    record, segs = load("shutdown-fin-wait-2")
    fin_timeout = record["sysctl"]["net.ipv4.tcp_fin_timeout"]
    shut = calls(record, "shutdown", "client")[0]["at"]
    late = snapshot(record, "9.3")
    assert late["at"] - shut > 3 * fin_timeout
    for snap in record["snapshots"]:
        assert state(snap, CLIENT, SERVER) == "FIN-WAIT-2" and row(snap, CLIENT, SERVER)["timer"] is None
    assert not any(has(s, "RST") for s in segs)
    assert results(record, "client")[-1] == ("recv", "ok", "x")  # half-close: it still reads


# --- bind() and TIME-WAIT (net/ipv4/inet_connection_sock.c inet_csk_bind_conflict -> inet_bind_conflict:
#     no conflict only if ``sk->sk_reuse && sk2->sk_reuse && sk2->sk_state != TCP_LISTEN``) ---

def check_bind_in_use(record, listener_reuse):
    tw = snapshot(record, "listener closed")
    assert state(tw, SERVER, CLIENT) == "TIME-WAIT" and not any(r["state"] == "LISTEN" for r in tw["sockets"])
    assert calls(record, "bind", "plain")[0]["returned"] == "EADDRINUSE"
    reuse = calls(record, "bind", "reuse")[0]
    assert reuse["reuseaddr"] is True
    if listener_reuse:  # the TIME-WAIT socket inherited SO_REUSEADDR from the listener
        assert reuse["returned"] == "ok" and calls(record, "listen", "reuse")[0]["returned"] == "ok"
        assert any(r["state"] == "LISTEN" and r["local"] == f"127.0.0.1:{SERVER}"
                   for r in snapshot(record, "after the binds")["sockets"])
    else:  # its sk_reuse is 0: SO_REUSEADDR on the new socket alone is not enough
        assert reuse["returned"] == "EADDRINUSE"


def test_bind_to_a_time_wait_port_needs_so_reuseaddr():
    check_bind_in_use(*load("bind-in-use")[:1], listener_reuse=True)


def test_so_reuseaddr_does_not_help_if_the_time_wait_socket_lacks_it():
    record, _ = load("bind-in-use-listener-without-reuseaddr")
    assert calls(record, "listen", "listener")[0]["reuseaddr"] is False
    check_bind_in_use(record, listener_reuse=False)


# --- a SYN meets TIME-WAIT (net/ipv4/tcp_minisocks.c tcp_timewait_state_process) ---

def tw_isn(segs, port=SERVER):
    """The ISN a TIME-WAIT socket gives a new incarnation: ``tcptw->tw_snd_nxt + 65535 + 2``, where
    tw_snd_nxt is the old connection's SND.NXT (its FIN's sequence number + 1)."""
    return (fin_from(segs, port)["seq"] + 1 + 65535 + 2) % MOD


def check_syn_to_time_wait_accepted(record, segs):
    assert state(snapshot(record, "server in TIME-WAIT"), SERVER, CLIENT) == "TIME-WAIT"
    old_rcv_nxt = (fin_from(segs, CLIENT)["seq"] + 1) % MOD
    syn = [s for s in from_(segs, CLIENT) if is_(s, "SYN")]
    synack = [s for s in from_(segs, SERVER) if is_(s, "SYN", "ACK")]
    assert len(syn) == 2 and len(synack) == 2
    new_syn, new_synack = syn[1], synack[1]
    assert after_seq(new_syn["seq"], old_rcv_nxt)  # "after(TCP_SKB_CB(skb)->seq, tcptw->tw_rcv_nxt)"
    assert new_syn["ts"][0] - segs_ts(segs, CLIENT, new_syn["t"]) > 0  # and a newer TSval
    assert new_synack["seq"] == tw_isn(segs) and new_synack["ack"] == (new_syn["seq"] + 1) % MOD
    assert not any(has(s, "RST") for s in segs)
    assert calls(record, "connect", "client2")[0]["returned"] == "ok"
    again = snapshot(record, "client reconnected")
    assert state(again, SERVER, CLIENT) == "ESTAB" and state(again, CLIENT, SERVER) == "ESTAB"


def segs_ts(segs, port, before):
    """The last TSval ``port`` sent before ``before``."""
    return [s["ts"][0] for s in segs if s["src"] == port and s["t"] < before and s["ts"]][-1]


def test_syn_to_time_wait_with_higher_seq_is_accepted_with_isn_snd_nxt_plus_65537():
    check_syn_to_time_wait_accepted(*load("syn-to-time-wait-accepted"))


def check_syn_below_rcv_nxt_rejected(record, segs):
    """No timestamps, seq below RCV.NXT: not a new SYN; tcp_timewait_check_oow_rate_limit returns
    TCP_TW_ACK: an ACK with the old numbers (seq = tw_snd_nxt, ack = tw_rcv_nxt)."""
    assert record["sysctl"]["net.ipv4.tcp_timestamps"] == 0
    old_snd_nxt = (fin_from(segs, SERVER)["seq"] + 1) % MOD
    old_rcv_nxt = (fin_from(segs, CLIENT)["seq"] + 1) % MOD
    raw = calls(record, "raw syn")[0]
    assert raw["seq"] == (old_rcv_nxt - 100000) % MOD
    syn = next(s for s in from_(segs, CLIENT) if is_(s, "SYN") and s["seq"] == raw["seq"])
    answer = from_(segs, SERVER, syn["t"] - 1e-9)
    assert [is_(s, "ACK") for s in answer] == [True]  # one ACK, no SYN,ACK
    assert answer[0]["seq"] == old_snd_nxt and answer[0]["ack"] == old_rcv_nxt
    # nobody owns port 40001 (the SYN came from a raw socket): the kernel answers the ACK with RST
    rst = [s for s in from_(segs, CLIENT, syn["t"]) if has(s, "RST")]
    assert len(rst) == 1 and rst[0]["seq"] == old_rcv_nxt
    return state(snapshot(record, "after the SYN"), SERVER, CLIENT)


def test_syn_below_rcv_nxt_gets_old_ack_and_the_rst_kills_time_wait():
    """That RST has seq == tw_rcv_nxt: with tcp_rfc1337=0 it is "TIME_WAIT assassination" (kill:)."""
    record, segs = load("syn-to-time-wait-rejected")
    assert record["sysctl"]["net.ipv4.tcp_rfc1337"] == 0
    assert check_syn_below_rcv_nxt_rejected(record, segs) is None


def test_with_rfc1337_the_rst_does_not_end_time_wait():
    record, segs = load("syn-to-time-wait-rejected-rfc1337")
    assert record["sysctl"]["net.ipv4.tcp_rfc1337"] == 1
    assert check_syn_below_rcv_nxt_rejected(record, segs) == "TIME-WAIT"


def test_syn_below_rcv_nxt_with_newer_timestamp_is_accepted():
    """``tmp_opt.saw_tstamp && (s32)(tcptw->tw_ts_recent - tmp_opt.rcv_tsval) < 0`` also makes TCP_TW_SYN."""
    record, segs = load("syn-to-time-wait-newer-timestamp")
    old_rcv_nxt = (fin_from(segs, CLIENT)["seq"] + 1) % MOD
    raw = calls(record, "raw syn")[0]
    assert not after_seq(raw["seq"], old_rcv_nxt)
    last_tsval = segs_ts(segs, CLIENT, next(s["t"] for s in segs if s["seq"] == raw["seq"]))
    assert raw["tsval"] == last_tsval + 1000
    synack = [s for s in from_(segs, SERVER) if is_(s, "SYN", "ACK")][-1]
    assert synack["seq"] == tw_isn(segs) and synack["ack"] == (raw["seq"] + 1) % MOD
    assert synack["ts"][1] == raw["tsval"]  # it echoes the SYN's TSval
    rst = [s for s in from_(segs, CLIENT, synack["t"] - 1e-9) if has(s, "RST")]
    assert len(rst) == 1 and rst[0]["seq"] == synack["ack"]  # no socket on 40001 answers the SYN,ACK
    assert state(snapshot(record, "after the SYN"), SERVER, CLIENT) is None  # the TIME-WAIT socket is gone
    assert delta(record, "TcpAttemptFails") == 1  # the request socket, reset


# --- abortive close (net/ipv4/tcp.c __tcp_close: data_was_unread -> RST, TCPAbortOnClose;
#     SOCK_LINGER with sk_lingertime 0 -> disconnect, TCPAbortOnData; else FIN) ---

def test_linger_zero_close_sends_rst_not_fin():
    record, segs = load("linger-zero")
    client = from_(segs, CLIENT)
    assert not any(has(s, "FIN") for s in segs)
    rst = [s for s in client if has(s, "RST")]
    assert len(rst) == 1 and is_(rst[0], "RST", "ACK")
    assert rst[0]["seq"] == [s for s in segs if s["src"] == SERVER][-1]["ack"]  # at SND.NXT
    assert results(record, "server")[-2:] == [("recv", "ECONNRESET", None), ("send", "EPIPE", None)]
    assert not any(r["state"] == "TIME-WAIT" for snap in record["snapshots"] for r in snap["sockets"])
    assert delta(record, "TCPAbortOnData") == 1 and delta(record, "TCPAbortOnLinger") == 0


def test_killed_process_closes_with_fin():
    """The kernel closes the dead process's descriptors: an ordinary close(), so a FIN."""
    record, segs = load("killed-process")
    kill = calls(record, "kill", "child")[0]
    assert kill["killed"] is True
    fin = fin_from(segs, CLIENT)
    assert is_(fin, "FIN", "ACK") and kill["at"] - 0.05 < fin["t"] < kill["at"] + 0.05
    assert state(snapshot(record, "child killed"), CLIENT, SERVER) == "FIN-WAIT-2"
    assert results(record, "server")[0] == ("recv", "ok", "")  # end of file
    byte = next(s for s in from_(segs, SERVER) if s["len"] == 1)
    assert [s["seq"] for s in from_(segs, CLIENT) if has(s, "RST")] == [byte["ack"]]  # the orphan resets data
    assert delta(record, "TCPAbortOnClose") == 0


def test_killed_process_with_unread_data_closes_with_rst():
    record, segs = load("killed-process-unread")
    assert row(snapshot(record, "child connected"), CLIENT, SERVER)["recv_q"] == 6
    assert not any(has(s, "FIN") for s in from_(segs, CLIENT))
    rst = [s for s in from_(segs, CLIENT) if has(s, "RST")]
    assert len(rst) == 1 and is_(rst[0], "RST", "ACK")
    assert results(record, "server")[1] == ("recv", "ECONNRESET", None)
    assert delta(record, "TCPAbortOnClose") == 1


# --- ephemeral ports and TIME-WAIT (net/ipv4/inet_hashtables.c __inet_hash_connect, __inet_check_established;
#     net/ipv4/tcp_ipv4.c tcp_twsk_unique) ---

def connects(record):
    return [(e["sock"], e["port"], e["returned"]) for e in calls(record, "connect")]


def test_four_ports_four_time_waits_then_eaddrnotavail():
    record, segs = load("port-exhaustion")
    assert record["sysctl"]["net.ipv4.ip_local_port_range"] == "40000 40003"
    assert record["sysctl"]["net.ipv4.tcp_tw_reuse"] == 0
    made = connects(record)
    ports = [p for _, p, r in made if r == "ok"]
    assert sorted(ports) == [40000, 40001, 40002, 40003]
    # each connect() scans ports of the low end's parity first, then the others
    assert all(p % 2 == 0 for p in ports[:2]) and all(p % 2 == 1 for p in ports[2:])
    assert made[4][2] == "EADDRNOTAVAIL"
    tw = snapshot(record, "ports used up")
    assert sorted(int(r["local"].rsplit(":", 1)[1]) for r in tw["sockets"] if r["state"] == "TIME-WAIT") == sorted(ports)


def reused_tw(record, segs):
    made = connects(record)
    first_close = calls(record, "close", "client1")[0]["at"]
    assert [r for _, _, r in made[:4]] == ["ok"] * 4
    fifth = calls(record, "connect", "client5")[0]
    assert made[4][2] == "EADDRNOTAVAIL" and fifth["at"] - first_close < 1.0  # younger than tcp_tw_reuse_delay
    sixth = calls(record, "connect", "client6")[0]
    assert sixth["at"] - first_close > record["sysctl"]["net.ipv4.tcp_tw_reuse_delay"] / 1000
    return sixth


def test_tw_reuse_reuses_a_port_after_the_delay_with_isn_snd_nxt_plus_65537():
    """tcp_twsk_unique: ``reuse && time_after32(tcp_clock_ms(), reuse_thresh)`` with timestamps seen,
    then ``tp->write_seq = tcptw->tw_snd_nxt + 65535 + 2``."""
    record, segs = load("port-exhaustion-tw-reuse")
    sixth = reused_tw(record, segs)
    assert sixth["returned"] == "ok" and 40000 <= sixth["port"] <= 40003
    syn = [s for s in from_(segs, sixth["port"]) if is_(s, "SYN")]
    assert len(syn) == 2 and syn[1]["seq"] == tw_isn(segs, sixth["port"])
    assert record["counters"]["delta"]["TcpExtTWRecycled"] == 1


def test_tw_reuse_needs_timestamps():
    """``if (ts_recent_stamp && ...)``: without timestamps the TIME-WAIT socket never saw one."""
    record, segs = load("port-exhaustion-tw-reuse-no-timestamps")
    assert record["sysctl"]["net.ipv4.tcp_timestamps"] == 0
    assert reused_tw(record, segs)["returned"] == "EADDRNOTAVAIL"
    assert record["counters"]["delta"]["TcpExtTWRecycled"] == 0


def test_tcp_max_tw_buckets_caps_time_wait_and_overflow_closes_at_once():
    """inet_twsk_alloc returns NULL beyond sysctl_max_tw_buckets; tcp_time_wait then counts
    TCPTimeWaitOverflow and just tcp_done()s the socket. The orphan needs its timewait socket already
    in FIN-WAIT-2, so connections 3 and 4 vanish there and the server's FIN meets no socket: RST."""
    record, segs = load("max-tw-buckets")
    assert record["sysctl"]["net.ipv4.tcp_max_tw_buckets"] == 2
    for snap in record["snapshots"]:
        tws = [r for r in snap["sockets"] if r["state"] == "TIME-WAIT"]
        assert len(tws) <= 2
    last = record["snapshots"][-1]
    assert sorted(r["local"] for r in last["sockets"] if r["state"] == "TIME-WAIT") == \
        [f"127.0.0.1:{sc.client_port(k)}" for k in (1, 2)]
    for k in (3, 4):
        fin = fin_from(segs, SERVER, k - 1)
        rst = [s for s in from_(segs, sc.client_port(k)) if has(s, "RST")]
        assert len(rst) == 1 and rst[0]["seq"] == fin["ack"] and rst[0]["t"] - fin["t"] < 0.05
    for k in (1, 2):
        assert not any(has(s, "RST") for s in from_(segs, sc.client_port(k)))
    assert record["counters"]["delta"]["TcpExtTCPTimeWaitOverflow"] == 2


# --- a fresh run on this machine ---

def test_live_data_after_close_and_syn_to_time_wait(tmp_path):
    reason = sc.missing()
    if reason:
        pytest.skip(reason)
    for name in ("data-after-close", "syn-to-time-wait-accepted"):
        sc.capture(name, tmp_path)
    check_data_after_close(*load("data-after-close", tmp_path))
    check_syn_to_time_wait_accepted(*load("syn-to-time-wait-accepted", tmp_path))


@pytest.mark.parametrize("tool, known", [(sc, "data-after-close"), (queue_capture, "accept-queue-full")],
                         ids=["socket_capture", "queue_capture"])
def test_unknown_experiment_is_refused(tool, known):
    with pytest.raises(ValueError, match="unknown experiment"):
        tool.experiment("no-such")
    with pytest.raises(TypeError):
        tool.capture(known, 3)

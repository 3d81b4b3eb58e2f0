"""What Linux did when segments were lost and peers failed, held to the RFCs and the kernel source.

The captures in notebooks/data/losses were made by ``python -m tcplesson.loss_capture`` (see its
README). Segments were dropped in nftables' input hook, so a lost segment is in NAME.pcap (it was
sent) and NAME.json's ``dropped`` names it (its frame in the pcap), as the rule's counter and log
confirm. Each test below states one rule, names the RFC section or kernel function it comes from,
and checks it against the segments, the ``ss`` snapshots, the socket-call results and the ``nstat``
counters. Times are checked within stated tolerances: the kernel's timers tick in jiffies (4 ms at
HZ=250 here) and a snapshot or a socket call takes a few ms. One test re-runs three quick experiments
on this machine (root, ip netns, nft and tcpdump needed; skipped with the reason otherwise).
"""
import json
import struct
from pathlib import Path

import dpkt
import pytest

from tcplesson import loss_capture as lc
from tcplesson import netns_lab

DATA = Path(__file__).resolve().parent.parent / "notebooks" / "data" / "losses"
SERVER = lc.PORT
CLIENT = lc.CLIENT
MOD = 2**32
RTO_MIN = 0.2  # TCP_RTO_MIN (net.ipv4.tcp_rto_min_us 200000)
TIMEOUT_INIT = 1.0  # TCP_TIMEOUT_INIT: the first RTO of a SYN or SYN,ACK (RFC 6298 2.1)
TICK = 0.03  # slack for one timer: jiffies, the capture, the scheduler
SLOW_TIMER = 0.3  # a timer over 512 jiffies (2 s) may fire up to 64 jiffies (256 ms) late: the timer
# wheel's third level (kernel/time/timer.c), as the 4 s SYN timer of every-syn-lost-exponential did


def load(name, where=DATA):
    """The JSON record and the pcap's segments (dicts), with times from the first one, each with its
    sequence and acknowledgment numbers relative to its connection's ISNs (``rseq``, ``rack``)."""
    record = json.loads((where / f"{name}.json").read_text())
    captured = netns_lab.tcp_segments((where / f"{name}.pcap").read_bytes())
    t0 = captured[0][0]
    segs = []
    for i, (ts, tcp) in enumerate(captured):
        tsopt = [d for k, d in dpkt.tcp.parse_opts(tcp.opts) if k == dpkt.tcp.TCP_OPT_TIMESTAMP]
        mine, theirs = lc.isn_before(captured, i, tcp.sport), lc.isn_before(captured, i, tcp.dport)
        segs.append(dict(frame=i, t=round(ts - t0, 6), src=tcp.sport, dst=tcp.dport, flags=tcp.flags, seq=tcp.seq,
                         ack=tcp.ack, len=len(tcp.data), data=bytes(tcp.data),
                         ts=struct.unpack("!II", tsopt[0]) if tsopt else None,
                         rseq=None if mine is None else (tcp.seq - mine) % MOD,
                         rack=None if theirs is None else (tcp.ack - theirs) % MOD))
    return record, segs


BITS = {"SYN": dpkt.tcp.TH_SYN, "ACK": dpkt.tcp.TH_ACK, "RST": dpkt.tcp.TH_RST, "FIN": dpkt.tcp.TH_FIN}


def is_(seg, *names):
    """The segment's flags are exactly these (PSH is ignored)."""
    return seg["flags"] & ~dpkt.tcp.TH_PUSH == sum(BITS[n] for n in names)


def has(seg, name):
    return bool(seg["flags"] & BITS[name])


def from_(segs, port, after=-1.0):
    return [s for s in segs if s["src"] == port and s["t"] > after]


def lost(record, segs):
    """The captured segments the drop rules took, in order."""
    frames = [d["frame"] for d in record["dropped"]]
    return [segs[i] for i in frames]


def passed(record, segs):
    """The captured segments that reached their socket."""
    frames = {d["frame"] for d in record["dropped"]}
    return [s for s in segs if s["frame"] not in frames]


def calls(record, what, sock=None):
    return [e for e in record["events"] if e["what"] == what and (sock is None or e.get("sock") == sock)]


def results(record, sock):
    """What each call on ``sock`` returned, in order: (call, result, data if any)."""
    return [(e["what"], e["returned"], e.get("data")) for e in record["events"]
            if e.get("sock") == sock and "returned" in e]


def snapshot(record, label_start):
    return next(s for s in record["snapshots"] if s["label"].startswith(label_start))


def row(snap, local_port, peer_port):
    for r in snap["sockets"]:
        if r["local"].endswith(f":{local_port}") and r["peer"].endswith(f":{peer_port}"):
            return r
    return None


def state(snap, local_port, peer_port):
    r = row(snap, local_port, peer_port)
    return r["state"] if r else None


def timer(snap, local_port, peer_port):
    """ss's timer of that socket: (name, retransmissions or probes so far), or None."""
    r = row(snap, local_port, peer_port)
    if not r or not r["timer"]:
        return None
    name, _, count = r["timer"][len("timer:("):-1].split(",")
    return name, int(count)


def delta(record, counter):
    return record["counters"]["delta"][counter]


def near(value, expected, tolerance=TICK):
    return abs(value - expected) <= tolerance


def handshake_ok(segs, port=CLIENT):
    """The first three segments are SYN, SYN,ACK, ACK between ``port`` and the server."""
    syn, synack, ack = segs[:3]
    return (is_(syn, "SYN") and syn["src"] == port and is_(synack, "SYN", "ACK") and synack["rack"] == 1
            and is_(ack, "ACK") and ack["rseq"] == 1 and ack["rack"] == 1)


def test_every_experiment_is_shipped_with_its_settings_and_its_drops_accounted_for():
    """The namespace had the sysctls asked for; every dropped segment is a frame of the pcap that its
    rule matches, as many as the rule's nftables counter says, with the (port, seq, ack) it logged."""
    for name, exp in lc.EXPERIMENTS.items():
        record, segs = load(name)
        assert record["experiment"] == name and record["kernel"] and record["drop_hook"] == "input"
        assert segs[0]["t"] == 0 and all(a["t"] <= b["t"] for a, b in zip(segs, segs[1:]))
        for key, value in exp.sysctls.items():
            assert record["sysctl"][key] == value, (name, key)
        for rule in record["drop_rules"]:
            mine = [d for d in record["dropped"] if d["rule"] == rule["name"]]
            assert len(mine) == rule["packets"] == len(rule["frames"]), (name, rule["name"])
            assert {(d["src"], d["seq"], d["ack"]) for d in mine} == {tuple(e) for e in rule["logged"]}
            for d in mine:
                seg = segs[d["frame"]]
                assert (seg["src"], seg["seq"], seg["ack"], seg["len"]) == (d["src"], d["seq"], d["ack"], d["len"])
                assert rule["on"] <= d["t"] <= rule["off"] and near(seg["t"], d["t"], 1e-6)
            if rule["once"]:
                assert rule["packets"] <= 1


# --- the handshake (RFC 9293 3.5; net/ipv4/tcp_timer.c tcp_retransmit_timer, reqsk_timer_handler in
#     net/ipv4/inet_connection_sock.c; TCP_TIMEOUT_INIT = 1 s, RFC 6298 2.1) ---

def check_lose_syn(record, segs):
    """The lost SYN is sent again, same ISN, after the initial RTO of 1 s; connect() then succeeds."""
    (first,) = lost(record, segs)
    assert is_(first, "SYN") and first["src"] == CLIENT and first["t"] == 0
    again = [s for s in from_(segs, CLIENT) if is_(s, "SYN")]
    assert len(again) == 2 and again[1]["seq"] == first["seq"]
    assert near(again[1]["t"] - first["t"], TIMEOUT_INIT, 0.05)
    snap = snapshot(record, "SYN lost")
    assert state(snap, CLIENT, SERVER) == "SYN-SENT" and timer(snap, CLIENT, SERVER) == ("on", 0)
    connect = calls(record, "connect", "client")[0]
    assert connect["returned"] == "ok" and near(connect["at"], again[1]["t"], 0.01)
    assert [is_(s, "SYN", "ACK") for s in from_(segs, SERVER)] == [True]
    assert delta(record, "TcpExtTCPSynRetrans") == 1 and delta(record, "TcpExtTCPLossProbes") == 0


def test_lost_syn_is_retransmitted_after_one_second():
    check_lose_syn(*load("lose-syn"))


def test_lost_synack_is_repaired_by_both_timers_after_one_second():
    """Both ends wait 1 s: the client's SYN timer (tcp_retransmit_timer) and the request's SYN,ACK timer
    (reqsk_timer_handler -> inet_rtx_syn_ack) fire together; the server also answers the retransmitted
    SYN with its SYN,ACK (tcp_check_req: a retransmitted SYN, seq == rcv_isn), which reaches a client
    already ESTABLISHED: an old SYN there gets a challenge ACK (tcp_validate_incoming, RFC 5961 4.2)."""
    record, segs = load("lose-synack")
    (first,) = lost(record, segs)
    assert is_(first, "SYN", "ACK") and first["src"] == SERVER
    snap = snapshot(record, "SYN,ACK lost")
    assert state(snap, SERVER, CLIENT) == "SYN-RECV" and state(snap, CLIENT, SERVER) == "SYN-SENT"
    later = [s for s in segs if s["t"] > first["t"]]
    assert all(near(s["t"], TIMEOUT_INIT, 0.06) for s in later)
    synacks = [s for s in later if is_(s, "SYN", "ACK")]
    assert synacks and all(s["seq"] == first["seq"] for s in synacks)
    assert all(s["seq"] == segs[0]["seq"] for s in later if is_(s, "SYN"))
    acks = [s for s in from_(segs, CLIENT, first["t"]) if is_(s, "ACK")]
    assert acks and all(s["rseq"] == 1 and s["rack"] == 1 for s in acks)
    assert calls(record, "connect", "client")[0]["returned"] == "ok"
    done = snapshot(record, "connected")
    assert state(done, SERVER, CLIENT) == state(done, CLIENT, SERVER) == "ESTAB"
    assert delta(record, "TcpExtTCPSynRetrans") == len(synacks) + len([s for s in later if is_(s, "SYN")])


def test_lost_third_ack_leaves_the_server_in_syn_recv_until_its_synack_is_repeated():
    """The client is ESTABLISHED at once; the server's request stays SYN-RECV until its SYN,ACK timer
    (1 s) sends the SYN,ACK again. To the client that is an old SYN (seq = RCV.NXT - 1): it answers
    with a challenge ACK (tcp_validate_incoming -> syn_challenge, TCPSYNChallenge), which is just the
    ACK the server needed; accept() returns then."""
    record, segs = load("lose-ack")
    assert handshake_ok(segs)
    (third,) = lost(record, segs)
    assert third["frame"] == 2
    snap = snapshot(record, "third ACK lost")
    assert state(snap, CLIENT, SERVER) == "ESTAB" and state(snap, SERVER, CLIENT) == "SYN-RECV"
    assert calls(record, "connect", "client")[0]["at"] < 0.01
    synack, ack = segs[3:5]
    assert is_(synack, "SYN", "ACK") and synack["seq"] == segs[1]["seq"] and near(synack["t"], TIMEOUT_INIT, 0.05)
    assert is_(ack, "ACK") and ack["src"] == CLIENT and ack["rack"] == 1 and ack["t"] - synack["t"] < 0.005
    assert len(segs) == 5
    assert near(calls(record, "accept", "server")[0]["at"], ack["t"], 0.01)
    assert delta(record, "TcpExtTCPSYNChallenge") == 1 and delta(record, "TcpExtTCPChallengeACK") == 1
    assert delta(record, "TcpExtTCPSynRetrans") == 1


def test_data_after_a_lost_third_ack_completes_the_handshake():
    """The data segment carries the same ACK (ack = the server's ISN + 1): tcp_check_req accepts it,
    creates the child and queues the data; nothing is retransmitted."""
    record, segs = load("lose-ack-then-data")
    (third,) = lost(record, segs)
    assert third["frame"] == 2
    data = next(s for s in from_(segs, CLIENT) if s["len"])
    assert data["rseq"] == 1 and data["rack"] == 1 and data["data"] == b"hello"
    reply = next(s for s in from_(segs, SERVER, data["t"] - 1e-9) if s["t"] >= data["t"])
    assert is_(reply, "ACK") and reply["rack"] == 6 and reply["t"] - data["t"] < 0.005
    assert len(segs) == 5 and delta(record, "TcpRetransSegs") == 0
    assert results(record, "server")[-1] == ("recv", "ok", "hello")


# --- the release (RFC 9293 3.6; net/ipv4/tcp_input.c tcp_rcv_state_process, tcp_fin;
#     net/ipv4/tcp_minisocks.c tcp_timewait_state_process) ---

def release(segs):
    """The segments after the handshake, as (who, flags) with who = "c" or "s"."""
    return [("c" if s["src"] == CLIENT else "s", s["flags"] & ~dpkt.tcp.TH_PUSH) for s in segs[3:]]


FA = dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK
A = dpkt.tcp.TH_ACK


def check_no_loss(record, segs):
    """Four segments: the client's FIN, the server's ACK of it alone, the server's FIN ~100 ms after the
    end of file, the client's ACK. The ACK goes out a few ms after the FIN, from the delayed-ACK timer
    (tcp_send_delayed_ack; TcpExtDelayedACKs 1): on a connection that never carried data
    icsk_ack.ato is still 0, so the timer fires at the next tick instead of TCP_ATO_MIN (40 ms)."""
    assert handshake_ok(segs) and len(segs) == 7
    assert release(segs) == [("c", FA), ("s", A), ("s", FA), ("c", A)]
    fin1, ack1, fin2, ack2 = segs[3:]
    assert ack1["rack"] == fin1["rseq"] + 1 and 0 < ack1["t"] - fin1["t"] < 0.03
    eof = calls(record, "recv_wait", "server")[0]
    assert eof["data"] == "" and near(fin2["t"] - eof["at"], 0.1)
    assert ack2["rack"] == fin2["rseq"] + 1 and ack2["t"] - fin2["t"] < 0.005
    assert state(snapshot(record, "client closed"), CLIENT, SERVER) == "FIN-WAIT-2"
    assert state(snapshot(record, "end"), CLIENT, SERVER) == "TIME-WAIT"
    assert delta(record, "TcpExtDelayedACKs") == 1 and delta(record, "TcpRetransSegs") == 0


def test_release_without_loss_is_four_segments():
    check_no_loss(*load("no-loss"))


def check_tail_loss_probe(record, first, again):
    """The lost FIN is the only segment in flight: it is sent again ~200 ms later, and nstat counts it
    as a tail loss probe, not an RTO (RFC 8985 7). tcp_schedule_loss_probe arms the probe timer in place
    of the RTO timer, for min(2 x SRTT + TCP_RTO_MIN (one packet out), the RTO) - the RTO's time on
    lo - and when it fires tcp_send_loss_probe retransmits the last segment, the FIN."""
    assert again["seq"] == first["seq"] and again["flags"] == first["flags"]
    assert RTO_MIN <= again["t"] - first["t"] <= RTO_MIN + 0.05
    assert delta(record, "TcpExtTCPLossProbes") == 1 and delta(record, "TcpExtTCPTimeouts") == 0
    assert delta(record, "TcpRetransSegs") == 1


def check_lose_fin1(record, segs):
    (fin,) = lost(record, segs)
    assert is_(fin, "FIN", "ACK") and fin["src"] == CLIENT and fin["rseq"] == 1
    snap = snapshot(record, "client closed")
    assert state(snap, CLIENT, SERVER) == "FIN-WAIT-1" and timer(snap, CLIENT, SERVER) == ("on", 0)
    assert state(snap, SERVER, CLIENT) == "ESTAB"  # it has not heard of the FIN
    assert release(segs) == [("c", FA), ("c", FA), ("s", A), ("s", FA), ("c", A)]
    again = segs[4]
    check_tail_loss_probe(record, fin, again)
    eof = calls(record, "recv_wait", "server")[0]
    assert eof["data"] == "" and eof["at"] >= again["t"]  # the end of file came with the second FIN
    assert state(snapshot(record, "end"), CLIENT, SERVER) == "TIME-WAIT"


def test_lost_first_fin_is_sent_again_as_a_tail_loss_probe():
    check_lose_fin1(*load("lose-fin1"))


def test_lost_ack_of_the_first_fin_is_made_good_by_the_servers_fin():
    """The server's FIN, 100 ms later, acknowledges the client's FIN too (ack = its seq + 1) before the
    client's timer fires: FIN-WAIT-1 goes straight to TIME-WAIT (tcp_rcv_state_process acknowledges
    the FIN, tcp_fin sees the peer's), and nothing is retransmitted."""
    record, segs = load("lose-ack1")
    (ack,) = lost(record, segs)
    assert is_(ack, "ACK") and ack["src"] == SERVER and ack["rack"] == 2
    assert release(segs) == [("c", FA), ("s", A), ("s", FA), ("c", A)]
    fin2 = segs[5]
    assert fin2["rack"] == 2 and fin2["t"] - segs[3]["t"] < RTO_MIN
    assert state(snapshot(record, "client closed"), CLIENT, SERVER) == "FIN-WAIT-1"
    assert state(snapshot(record, "server closed"), CLIENT, SERVER) == "TIME-WAIT"
    assert delta(record, "TcpRetransSegs") == 0


def test_lost_second_fin_is_sent_again_from_last_ack():
    record, segs = load("lose-fin2")
    (fin,) = lost(record, segs)
    assert is_(fin, "FIN", "ACK") and fin["src"] == SERVER
    assert release(segs) == [("c", FA), ("s", A), ("s", FA), ("s", FA), ("c", A)]
    snap = snapshot(record, "server closed")
    assert state(snap, SERVER, CLIENT) == "LAST-ACK" and timer(snap, SERVER, CLIENT) == ("on", 0)
    assert state(snap, CLIENT, SERVER) == "FIN-WAIT-2"
    check_tail_loss_probe(record, fin, segs[6])
    assert segs[7]["rack"] == fin["rseq"] + 1
    assert state(snapshot(record, "end"), CLIENT, SERVER) == "TIME-WAIT"


def check_lose_ack2(record, segs):
    """The last ACK is lost: the server in LAST-ACK sends its FIN again; the client, in TIME-WAIT
    already, ACKs it again (tcp_timewait_state_process: a retransmitted FIN -> TCP_TW_ACK, and the
    TIME-WAIT timer starts over, inet_twsk_reschedule)."""
    (ack,) = lost(record, segs)
    assert is_(ack, "ACK") and ack["src"] == CLIENT and ack["rseq"] == 2 and ack["rack"] == 2
    assert release(segs) == [("c", FA), ("s", A), ("s", FA), ("c", A), ("s", FA), ("c", A)]
    fin, again, reack = segs[5], segs[7], segs[8]
    check_tail_loss_probe(record, fin, again)
    assert (reack["rseq"], reack["rack"]) == (2, 2) and reack["t"] - again["t"] < 0.005
    snap = snapshot(record, "server closed")
    assert state(snap, CLIENT, SERVER) == "TIME-WAIT" and state(snap, SERVER, CLIENT) == "LAST-ACK"
    end = snapshot(record, "end")
    assert state(end, CLIENT, SERVER) == "TIME-WAIT" and state(end, SERVER, CLIENT) is None


def test_lost_last_ack_is_answered_again_from_time_wait():
    check_lose_ack2(*load("lose-ack2"))


# --- giving up on a handshake (net/ipv4/tcp_timer.c tcp_write_timeout, retransmits_timed_out,
#     tcp_model_timeout; tcp_retransmit_timer's linear SYN backoff; reqsk_timer_handler) ---

def check_every_syn_lost(record, segs, gaps):
    syns = lost(record, segs)
    assert syns == segs and all(is_(s, "SYN") and s["seq"] == syns[0]["seq"] for s in syns)
    assert len(syns) == len(gaps) + 1
    for (a, b), gap in zip(zip(syns, syns[1:]), gaps):
        assert near(b["t"] - a["t"], gap, 0.05), (a["t"], b["t"], gap)
    connect = calls(record, "connect", "client")[0]
    assert connect["returned"] == "ETIMEDOUT"
    # the time budget: tcp_model_timeout(sk, tcp_syn_retries=2, TCP_TIMEOUT_INIT) = (2^3 - 1) x 1 s from
    # the first SYN (tcp_connect sets retrans_stamp), checked when the RTO timer fires
    assert 7.0 <= connect["at"] <= 7.0 + SLOW_TIMER
    assert timer(snapshot(record, "SYN-SENT"), CLIENT, SERVER) == ("on", 0)
    assert state(snapshot(record, "connect() failed"), CLIENT, SERVER) is None
    assert delta(record, "TcpExtTCPAbortOnTimeout") == 1 and delta(record, "TcpAttemptFails") == 1
    assert delta(record, "TcpExtTCPSynRetrans") == len(gaps)


def test_every_syn_lost_linear_timeouts_send_six_syns_and_time_out_after_seven_seconds():
    """tcp_syn_linear_timeouts=4 (the default): the first RTOs stay 1 s (tcp_retransmit_timer doubles
    icsk_rto only once total_rto > tcp_syn_linear_timeouts), so SYNs go at 0, 1, 2, 3, 4, 5 s, the
    sixth RTO is 2 s. tcp_write_timeout would allow tcp_syn_retries + tcp_syn_linear_timeouts = 6
    retransmissions, but the time budget modelled on exponential backoff, 7 s, runs out first: the
    timer at 7 s ends connect() with ETIMEDOUT after 5 retransmissions, not tcp_syn_retries = 2."""
    record, segs = load("every-syn-lost")
    assert record["sysctl"]["net.ipv4.tcp_syn_retries"] == 2
    assert record["sysctl"]["net.ipv4.tcp_syn_linear_timeouts"] == 4
    check_every_syn_lost(record, segs, [1, 1, 1, 1, 1])


def test_every_syn_lost_exponential_sends_three_syns():
    """tcp_syn_linear_timeouts=0: RFC 6298 5.5 backoff, SYNs at 0, 1, 3 s, ETIMEDOUT at 7 s."""
    record, segs = load("every-syn-lost-exponential")
    assert record["sysctl"]["net.ipv4.tcp_syn_linear_timeouts"] == 0
    check_every_syn_lost(record, segs, [1, 2])


def test_every_synack_lost_backs_off_and_the_request_vanishes_silently():
    """reqsk_timer_handler: the SYN,ACK again after TCP_TIMEOUT_INIT << num_timeout (1 s, 2 s; no
    linear phase on the passive side), tcp_synack_retries=2 times; at the next expiry (4 s later) the
    request is dropped without a RST."""
    record, segs = load("every-synack-lost")
    assert record["sysctl"]["net.ipv4.tcp_synack_retries"] == 2
    syn = segs[0]
    assert is_(syn, "SYN") and syn["seq"] == calls(record, "raw syn")[0]["seq"]
    synacks = lost(record, segs)
    assert synacks == segs[1:] and len(synacks) == 3 and all(s["rack"] == 1 for s in synacks)
    assert [round(b["t"] - a["t"]) for a, b in zip(synacks, synacks[1:])] == [1, 2]
    assert all(near(b["t"] - a["t"], g, 0.05) for (a, b), g in zip(zip(synacks, synacks[1:]), (1, 2)))
    assert state(snapshot(record, "0.5 s"), SERVER, CLIENT) == "SYN-RECV"
    assert timer(snapshot(record, "6.5 s"), SERVER, CLIENT) == ("on", 2)
    assert state(snapshot(record, "7.5 s"), SERVER, CLIENT) is None
    assert not any(has(s, "RST") for s in segs)
    assert delta(record, "TcpExtTCPSynRetrans") == 2


# --- a link that goes down (net/ipv4/tcp_timer.c tcp_retransmit_timer: icsk_backoff++, RTO doubled,
#     RFC 6298 5.5; tcp_output.c tcp_send_loss_probe, RFC 8985 7) ---

def outage(record, segs):
    """The client's segments dropped while the link was down: the first (new data), the loss probe,
    then the RTO retransmissions of the first unacknowledged byte."""
    drops = lost(record, segs)
    assert all(s["src"] == CLIENT and s["len"] > 0 for s in drops)
    first = drops[0]
    assert first["t"] >= snapshot(record, "link down")["at"] - 0.01
    probe = drops[1]
    assert near(probe["t"] - first["t"], RTO_MIN, 0.03) and probe["rseq"] > first["rseq"]  # new data
    rtos = drops[2:]
    assert all(s["rseq"] == first["rseq"] for s in rtos)
    return first, probe, rtos


def doubled(a, b):
    """b is twice a, within 10 %: the RTO doubles at each expiry (RFC 6298 5.5)."""
    return near(b / a, 2, 0.2)


def check_backoff(times, start):
    """Each RTO twice the one before, the first ~200 ms after ``start``."""
    gaps = [b - a for a, b in zip([start] + times, times)]
    assert near(gaps[0], RTO_MIN, 0.04)
    for a, b in zip(gaps, gaps[1:]):
        assert doubled(a, b), gaps


def test_link_down_then_up_recovers_with_exponential_backoff():
    record, segs = load("link-down-up")
    first, probe, rtos = outage(record, segs)
    assert len(rtos) == 2
    check_backoff([s["t"] for s in rtos], probe["t"])
    up = next(e for e in record["events"] if e["what"] == "drop off" and e["rule"] == "link down")["at"]
    back = next(s for s in from_(segs, CLIENT) if s["t"] > up)  # the next RTO gets through
    assert back["rseq"] == first["rseq"] and doubled(rtos[-1]["t"] - rtos[-2]["t"], back["t"] - rtos[-1]["t"])
    answer = next(s for s in from_(segs, SERVER) if s["t"] >= back["t"])
    assert is_(answer, "ACK") and answer["rack"] == back["rseq"] + back["len"]
    ends = calls(record, "transfer ends")[0]
    assert ends["sent"] == ends["received"] > 0
    assert not any(has(s, "RST") for s in segs)
    assert delta(record, "TcpExtTCPLossProbes") == 1 and delta(record, "TcpExtTCPTimeouts") == 3
    assert state(snapshot(record, "end"), CLIENT, SERVER) == "ESTAB"


def test_link_down_for_good_ends_with_etimedout_after_tcp_retries2():
    """tcp_retries2=3: retransmits_timed_out(sk, 3, 0) allows tcp_model_timeout = (2^4 - 1) x
    TCP_RTO_MIN = 3.0 s from retrans_stamp, which tcp_retransmit_skb sets at the first RTO
    retransmission; the check is made when the timer fires, so the first expiry 3 s after it gives
    up: tcp_write_err, ETIMEDOUT to the application, no RST (unlike keepalive)."""
    record, segs = load("link-down-for-good")
    assert record["sysctl"]["net.ipv4.tcp_retries2"] == 3
    _, probe, rtos = outage(record, segs)
    check_backoff([s["t"] for s in rtos], probe["t"])
    error = calls(record, "recv", "client")[0]
    assert error["returned"] == "ETIMEDOUT"
    budget = 15 * RTO_MIN
    assert rtos[-1]["t"] - rtos[0]["t"] < budget <= error["at"] - rtos[0]["t"]
    assert doubled(rtos[-1]["t"] - rtos[-2]["t"], error["at"] - rtos[-1]["t"])  # at the next expiry
    assert not any(has(s, "RST") for s in segs)
    assert [r["state"] for r in snapshot(record, "end")["sockets"] if r["local"].endswith(f":{CLIENT}")] == []
    assert state(snapshot(record, "end"), SERVER, CLIENT) == "ESTAB"  # the server never knew
    assert delta(record, "TcpExtTCPAbortOnTimeout") == 1


def test_tcp_user_timeout_gives_up_that_long_after_the_first_retransmission():
    """TCP_USER_TIMEOUT=1000 ms replaces tcp_retries2's budget (retransmits_timed_out(sk, retry_until,
    icsk_user_timeout)), counted like it from retrans_stamp, the first RTO retransmission, not from
    when the lost data was first sent; tcp_clamp_rto_to_user_timeout shortens the last RTO so that the
    timer fires at that moment: ETIMEDOUT 1 s after the first retransmission, 1.4 s after the loss."""
    record, segs = load("link-down-user-timeout")
    assert [(e["option"], e["value"]) for e in calls(record, "setsockopt", "client")] == [("TCP_USER_TIMEOUT", 1000)]
    assert record["sysctl"]["net.ipv4.tcp_retries2"] == 15
    first, probe, rtos = outage(record, segs)
    check_backoff([s["t"] for s in rtos], probe["t"])
    error = calls(record, "recv", "client")[0]
    assert error["returned"] == "ETIMEDOUT"
    assert near(error["at"] - rtos[0]["t"], 1.0, 0.04) and error["at"] - first["t"] > 1.2
    assert error["at"] - rtos[-1]["t"] < 2 * (rtos[-1]["t"] - rtos[-2]["t"])  # the last RTO, clamped
    assert not any(has(s, "RST") for s in segs)
    assert delta(record, "TcpExtTCPAbortOnTimeout") == 1


# --- keepalive (RFC 9293 3.8.4, RFC 1122 4.2.3.6; net/ipv4/tcp_timer.c tcp_keepalive_timer;
#     tcp_output.c tcp_write_wakeup -> tcp_xmit_probe_skb: seq = SND.UNA - 1, no data) ---

def keepalive_probes(record, segs):
    """The client's segments after it turned keepalive on: each a bare ACK with seq = SND.UNA - 1 (a
    byte the peer already has, so that it must answer) and no data."""
    on = calls(record, "setsockopt", "client")[0]["at"]
    probes = [s for s in segs if s["src"] == CLIENT and s["t"] > on and not has(s, "RST")]
    snd_una = 1 + calls(record, "send", "client")[0]["sent"]  # all acknowledged before keepalive began
    assert all(is_(s, "ACK") and s["len"] == 0 and s["rseq"] == snd_una - 1 for s in probes)
    return probes


def check_keepalive_gaps(record, segs, probes):
    last_in = [s for s in from_(segs, SERVER) if s["t"] < probes[0]["t"]][-1]
    assert near(probes[0]["t"] - last_in["t"], 1.0, 0.05)  # TCP_KEEPIDLE=1 after the last segment received
    for a, b in zip(probes, probes[1:]):
        assert near(b["t"] - a["t"], 1.0, 0.05)  # TCP_KEEPINTVL=1


def test_keepalive_to_a_dead_peer_probes_three_times_then_resets_and_times_out():
    record, segs = load("keepalive-dead-peer")
    assert [(e["option"], e["value"]) for e in calls(record, "setsockopt", "client")] == [
        ("SO_KEEPALIVE", 1), ("TCP_KEEPIDLE", 1), ("TCP_KEEPINTVL", 1), ("TCP_KEEPCNT", 3)]
    probes = keepalive_probes(record, segs)
    assert len(probes) == 3 and all(p in lost(record, segs) for p in probes)
    check_keepalive_gaps(record, segs, probes)
    rst = lost(record, segs)[-1]  # icsk_probes_out >= TCP_KEEPCNT: tcp_send_active_reset, tcp_write_err
    assert is_(rst, "RST", "ACK") and rst["rseq"] == probes[0]["rseq"] + 1 and near(rst["t"] - probes[-1]["t"], 1.0,
                                                                                     0.05)
    assert not from_(segs, SERVER, probes[0]["t"] - 1e-9)
    error = calls(record, "recv_wait", "client")[0]
    assert error["returned"] == "ETIMEDOUT" and near(error["at"], rst["t"], 0.01)
    assert timer(snapshot(record, "after two probes"), CLIENT, SERVER) == ("keepalive", 2)
    assert state(snapshot(record, "gave up"), CLIENT, SERVER) is None
    assert delta(record, "TcpExtTCPKeepAlive") == 3 and delta(record, "TcpExtTCPAbortOnTimeout") == 1


def test_keepalive_to_a_live_peer_gets_an_ack_for_each_probe():
    """The probe is below RCV.NXT, so the peer answers with a duplicate ACK (tcp_validate_incoming ->
    tcp_send_dupack) and that resets icsk_probes_out; nothing else is sent."""
    record, segs = load("keepalive-live-peer")
    probes = keepalive_probes(record, segs)
    assert len(probes) == 3 and not record["dropped"]
    check_keepalive_gaps(record, segs, probes)
    data_ack = next(s for s in from_(segs, SERVER) if s["rack"] == 6)
    for p in probes:
        answer = [s for s in from_(segs, SERVER, p["t"] - 1e-9) if s["t"] - p["t"] < 0.005]
        assert len(answer) == 1 and is_(answer[0], "ACK") and answer[0]["rack"] == 6
        assert answer[0]["rseq"] == data_ack["rseq"]
    assert len(segs) == 3 + 2 + 2 * len(probes)
    for label in ("after two probes", "after three probes"):
        assert timer(snapshot(record, label), CLIENT, SERVER) == ("keepalive", 0)
    assert results(record, "client")[-1] == ("recv", "EAGAIN", None)


# --- a crash and a reboot (RFC 9293 3.5.1 half-open connections; RFC 5961 4; net/ipv4/tcp_ipv4.c
#     tcp_v4_send_reset; tcp_input.c tcp_rcv_synsent_state_process, tcp_validate_incoming, tcp_reset;
#     net/ipv4/tcp.c tcp_abort for ss -K) ---

def check_crash(record, segs):
    """The killed process's socket sends a FIN (dropped), ss -K's tcp_abort a RST (dropped): the
    server hears nothing and stays ESTABLISHED."""
    fin, rst = lost(record, segs)
    kill = calls(record, "kill", "client")[0]
    assert is_(fin, "FIN", "ACK") and fin["src"] == CLIENT and abs(fin["t"] - kill["at"]) < 0.05
    assert is_(rst, "RST", "ACK") and rst["rseq"] == fin["rseq"] + 1
    assert state(snapshot(record, "client killed"), CLIENT, SERVER) == "FIN-WAIT-1"
    gone = snapshot(record, "client socket destroyed")
    assert state(gone, CLIENT, SERVER) is None and state(gone, SERVER, CLIENT) == "ESTAB"
    assert calls(record, "ss -K")[0]["at"] >= rst["t"]
    return fin


def test_crash_then_server_sends_gets_rst():
    record, segs = load("crash-then-server-sends")
    fin = check_crash(record, segs)
    data = next(s for s in from_(segs, SERVER) if s["len"])
    rst = next(s for s in from_(segs, CLIENT) if s["t"] >= data["t"])
    # no socket owns the port: tcp_v4_send_reset, seq = the segment's ACK number, no ACK flag
    assert is_(rst, "RST") and rst["seq"] == data["ack"] == fin["seq"] and rst["t"] - data["t"] < 0.005
    assert results(record, "server")[-3:] == [("send", "ok", None), ("recv", "ECONNRESET", None),
                                              ("send", "EPIPE", None)]
    assert state(snapshot(record, "server sent"), SERVER, CLIENT) is None
    assert delta(record, "TcpEstabResets") == 1


def check_crash_reboot_reconnect(record, segs):
    """The new SYN (a new ISN, far outside the old window) meets the old ESTABLISHED socket: it answers
    with a challenge ACK carrying the old numbers (RFC 5961 4.2). The client in SYN-SENT finds that ACK
    unacceptable and sends RST with seq = its ack (RFC 9293 3.10.7.3); that RST is exactly at the
    server's RCV.NXT, so the old connection is reset (tcp_reset: ECONNRESET). The client does not wait
    1 s to send the SYN again: tcp_rcv_synsent_state_process re-arms the SYN timer to TCP_TIMEOUT_MIN
    (2 jiffies) for "Previous FIN/ACK or RST/ACK might be ignored"."""
    fin = check_crash(record, segs)
    reboot = calls(record, "reboot")[0]["at"]
    syns = [s for s in from_(segs, CLIENT, reboot) if is_(s, "SYN")]
    assert len(syns) == 2 and syns[0]["seq"] == syns[1]["seq"]
    old_rcv_nxt = fin["seq"]  # the lost FIN never arrived
    challenge = segs[syns[0]["frame"] + 1]
    assert is_(challenge, "ACK") and challenge["src"] == SERVER and challenge["ack"] == old_rcv_nxt
    assert challenge["seq"] == fin["ack"]  # the server's SND.NXT
    rst = segs[syns[0]["frame"] + 2]
    assert is_(rst, "RST") and rst["src"] == CLIENT and rst["seq"] == challenge["ack"]
    assert 0.003 <= syns[1]["t"] - syns[0]["t"] <= 0.05  # TCP_TIMEOUT_MIN, not TCP_TIMEOUT_INIT
    synack, ack = segs[syns[1]["frame"] + 1: syns[1]["frame"] + 3]
    assert is_(synack, "SYN", "ACK") and synack["ack"] == (syns[1]["seq"] + 1) % MOD
    assert is_(ack, "ACK") and ack["ack"] == (synack["seq"] + 1) % MOD
    assert calls(record, "connect", "client2")[0]["returned"] == "ok"
    assert calls(record, "accept", "server2")[0]["peer_port"] == CLIENT
    assert ("recv", "ECONNRESET", None) in results(record, "server")
    assert delta(record, "TcpExtTCPSYNChallenge") == 1 and delta(record, "TcpEstabResets") == 1
    assert delta(record, "TcpExtTCPSynRetrans") == 1


def test_crash_reboot_reconnect_challenge_ack_then_rst_then_new_connection():
    check_crash_reboot_reconnect(*load("crash-reboot-reconnect"))


# --- segments built by hand on an established connection (RFC 5961 3.2, 4.2, 5.2; RFC 9293 3.10.7.4;
#     net/ipv4/tcp_input.c tcp_validate_incoming, tcp_send_challenge_ack, tcp_ack) ---

def probe_and_answer(record, segs, what):
    raw = calls(record, what)[0]
    n = raw["numbers"]
    seg = next(s for s in from_(segs, CLIENT) if s["seq"] == raw["seq"] and s["ack"] == raw["ack"]
               and s["t"] >= raw["at"] - 0.01)
    answer = [s for s in from_(segs, SERVER, seg["t"] - 1e-9) if s["t"] - seg["t"] < 0.05]
    return raw, n, seg, answer


def check_challenge_ack(record, segs, what):
    """One ACK with the server's own numbers, seq = SND.NXT, ack = RCV.NXT, within a ms; the
    segment itself is dropped and the connection goes on (the client's next data is read)."""
    _, n, seg, answer = probe_and_answer(record, segs, what)
    assert len(answer) == 1 and is_(answer[0], "ACK")
    assert (answer[0]["seq"], answer[0]["ack"]) == (n["snd_nxt"], n["rcv_nxt"])
    assert answer[0]["t"] - seg["t"] < 0.002
    assert delta(record, "TcpExtTCPChallengeACK") == 1
    after = snapshot(record, "after the segment")
    assert state(after, SERVER, CLIENT) == state(after, CLIENT, SERVER) == "ESTAB"
    assert results(record, "server")[-2:] == [("recv", "EAGAIN", None), ("recv", "ok", "still here")]
    return seg


def check_rst_in_window(record, segs):
    seg = check_challenge_ack(record, segs, "raw rst")
    assert is_(seg, "RST") and seg["seq"] == (calls(record, "raw rst")[0]["numbers"]["rcv_nxt"] + 100) % MOD
    assert delta(record, "TcpEstabResets") == 0


def test_rst_in_window_but_not_exact_gets_a_challenge_ack():
    check_rst_in_window(*load("rst-in-window"))


def test_rst_at_rcv_nxt_resets_the_connection():
    """RFC 5961 3.2: a RST whose seq is exactly RCV.NXT is accepted (tcp_validate_incoming ->
    tcp_reset): nothing is sent back, the server's recv() fails with ECONNRESET; the client, still
    ESTABLISHED, sends data to a port with no socket and gets RST (seq = the data's ACK number)."""
    record, segs = load("rst-exact")
    _, n, seg, answer = probe_and_answer(record, segs, "raw rst")
    assert is_(seg, "RST") and seg["seq"] == n["rcv_nxt"] and answer == []
    assert state(snapshot(record, "after the segment"), SERVER, CLIENT) is None
    assert state(snapshot(record, "after the segment"), CLIENT, SERVER) == "ESTAB"
    assert results(record, "server")[-2:] == [("recv", "ECONNRESET", None), ("recv", "ok", "")]
    data = next(s for s in from_(segs, CLIENT, seg["t"]) if s["len"])
    rst = next(s for s in from_(segs, SERVER, data["t"] - 1e-9))
    assert is_(rst, "RST") and rst["seq"] == data["ack"]
    assert results(record, "client")[-1] == ("recv", "ECONNRESET", None)
    assert delta(record, "TcpEstabResets") == 2 and delta(record, "TcpExtTCPChallengeACK") == 0


def test_syn_on_an_established_connection_gets_a_challenge_ack():
    record, segs = load("syn-in-established")
    seg = check_challenge_ack(record, segs, "raw syn")
    assert is_(seg, "SYN")
    assert delta(record, "TcpExtTCPSYNChallenge") == 1


def check_ack_above_snd_nxt(record, segs):
    """SEG.ACK > SND.NXT: RFC 9293 3.10.7.4 "send an ACK, drop the segment, and return". Linux 6.18
    does send one (tcp_ack: ``if (after(ack, tp->snd_nxt))`` -> tcp_send_challenge_ack, added in 2025;
    older kernels dropped it silently, as packetdrill's tcp_ts_recent_invalid_ack.pkt then expected).
    The byte it carried is not taken: the ACK's ack is RCV.NXT, not RCV.NXT + 1, and recv() sees
    only the client's real data afterwards."""
    seg = check_challenge_ack(record, segs, "raw ack")
    raw = calls(record, "raw ack")[0]
    assert seg["len"] == 1 and seg["data"] == b"Z" and seg["ack"] == (raw["numbers"]["snd_nxt"] + 100000) % MOD


def test_ack_for_data_never_sent_is_answered_and_dropped():
    check_ack_above_snd_nxt(*load("ack-above-snd-nxt"))


def test_syn_in_syn_recv_resets_the_embryonic_connection():
    """tcp_check_req: a SYN inside the window that is not the original (seq != rcv_isn) ->
    TcpAttemptFails, embryonic_reset: RST,ACK (seq 0, ack = the SYN's seq + 1, tcp_v4_send_reset)
    and the request is gone. The client is ESTABLISHED (its third ACK was lost) and ignores that RST,
    its seq being outside its window; its next data reaches only the listener, which resets it."""
    record, segs = load("syn-in-syn-recv")
    (third,) = lost(record, segs)
    assert third["frame"] == 2
    before = snapshot(record, "SYN-RECV")
    assert state(before, SERVER, CLIENT) == "SYN-RECV" and state(before, CLIENT, SERVER) == "ESTAB"
    _, n, seg, answer = probe_and_answer(record, segs, "raw syn")
    assert is_(seg, "SYN") and seg["seq"] == (n["rcv_nxt"] + 1000) % MOD
    assert len(answer) == 1 and is_(answer[0], "RST", "ACK")
    assert answer[0]["seq"] == 0 and answer[0]["ack"] == (seg["seq"] + 1) % MOD
    after = snapshot(record, "after the SYN")
    assert state(after, SERVER, CLIENT) is None and state(after, CLIENT, SERVER) == "ESTAB"
    data = next(s for s in from_(segs, CLIENT) if s["len"])
    rst = next(s for s in from_(segs, SERVER, data["t"] - 1e-9))
    assert is_(rst, "RST") and rst["seq"] == data["ack"]
    assert results(record, "client")[-1] == ("recv", "ECONNRESET", None)
    assert delta(record, "TcpAttemptFails") == 1


# --- the ACK of a FIN (net/ipv4/tcp_input.c tcp_fin -> inet_csk_enter_pingpong_mode, tcp_ack_snd_check;
#     tcp_output.c tcp_send_delayed_ack, tcp_send_fin; packetdrill close/close-remote-fin-then-close.pkt) ---

def test_fin_is_acked_by_the_fin_if_close_comes_at_once_else_by_the_delayed_ack_timer():
    """close() at once: the client's FIN,ACK acknowledges the server's FIN within a few ms (no bare ACK;
    packetdrill expects it within 4 ms). close() 100 ms later: a bare ACK first, from the delayed-ACK
    timer: after a few ms if the connection never received data (icsk_ack.ato still 0), after
    TCP_ATO_MIN = 40 ms if it did; then the FIN at 100 ms."""
    record, segs = load("fin-ack-timing")
    for k, (data, delay) in enumerate(((False, 0), (False, 0.1), (True, 0), (True, 0.1)), start=1):
        port = CLIENT - 1 + k
        fin = next(s for s in segs if s["src"] == SERVER and s["dst"] == port and has(s, "FIN"))
        replies = [s for s in from_(segs, port, fin["t"] - 1e-9)]
        if not delay:
            assert is_(replies[0], "FIN", "ACK") and replies[0]["ack"] == (fin["seq"] + 1) % MOD, k
            assert replies[0]["t"] - fin["t"] < 0.004, k
            continue
        ack, myfin = replies[:2]
        assert is_(ack, "ACK") and ack["ack"] == (fin["seq"] + 1) % MOD and is_(myfin, "FIN", "ACK"), k
        gap = ack["t"] - fin["t"]
        assert (near(gap, 0.04, 0.012) if data else 0 < gap < 0.015), (k, gap)
        assert near(myfin["t"] - fin["t"], delay, 0.02), k
    assert delta(record, "TcpExtDelayedACKs") == 2
    assert all(r["state"] == "TIME-WAIT" for r in snapshot(record, "end")["sockets"] if r["state"] != "LISTEN")


# --- a fresh run on this machine ---

def test_live_lost_fin_crash_reconnect_and_invalid_ack(tmp_path):
    reason = lc.missing()
    if reason:
        pytest.skip(reason)
    for name in ("lose-fin1", "crash-reboot-reconnect", "ack-above-snd-nxt"):
        lc.capture(name, tmp_path)
    check_lose_fin1(*load("lose-fin1", tmp_path))
    check_crash_reboot_reconnect(*load("crash-reboot-reconnect", tmp_path))
    check_ack_above_snd_nxt(*load("ack-above-snd-nxt", tmp_path))


def test_unknown_experiment_is_refused():
    with pytest.raises(ValueError, match="unknown experiment"):
        lc.experiment("no-such")
    with pytest.raises(TypeError):
        lc.capture("lose-syn", 3)


def test_match_gives_the_same_rule_to_nftables_and_to_a_captured_segment():
    m = lc.Match(sport=CLIENT, mask=lc.ALL, value=lc.ACK)
    assert m.nft() == ["meta", "l4proto", "tcp", "tcp", "sport", str(CLIENT), "tcp", "flags", "&",
                       "(fin|syn|rst|psh|ack)", "==", "ack"]
    pure = dpkt.tcp.TCP(sport=CLIENT, dport=SERVER, flags=dpkt.tcp.TH_ACK)
    data = dpkt.tcp.TCP(sport=CLIENT, dport=SERVER, flags=dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH)
    assert m(pure) and not m(data) and not m(dpkt.tcp.TCP(sport=SERVER, flags=dpkt.tcp.TH_ACK))

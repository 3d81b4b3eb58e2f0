"""Linux's timers that end connections and time ACKs (tcplesson/linux_timers.py), rule by rule.

Each expected number comes from net/ipv4/tcp_timer.c (tcp_model_timeout, retransmits_timed_out,
tcp_write_timeout, tcp_retransmit_timer, tcp_clamp_rto_to_user_timeout), net/ipv4/tcp_input.c
(__tcp_ack_snd_check, tcp_fin, tcp_send_challenge_ack) or from the observations in
notebooks/data/losses, named at each test. The RFC-first profile keeps RFC 6298's counted retries.
"""
import pytest

import tcplesson as tl
from tcplesson.linux_timers import LinuxTimers, model_timeout
from tcplesson.segment import SEQ_MOD, Flags, Segment, flag_names

S = tl.State
OPEN = [("server", "listen", 0), ("client", "connect", 0)]
LOOPBACK = dict(delay=1e-5, client_isn=100, server_isn=300)
HOST_OPEN = [(0.0, "server", "listen", 80),
             (0.0, "client", "connect", "server", 80, {"local_port": 40001, "name": "c"}),
             (0.2, "server", "accept", 80)]


def times(trace, who="client", since=0.0):
    return [round(tx.sent_at - since, 3) for tx in trace.transmissions if tx.sender == who]


def gave_up_at(trace, who="client"):
    assert trace.outcomes[who] == "timed out"
    return trace.states[who][-1][0]


# --- the time budget: tcp_model_timeout -----------------------------------------------------------------------
@pytest.mark.parametrize("boundary, base, seconds", [
    (15, 0.2, 924.6),  # tcp_retries2's default: (2^10 - 1) x 0.2 + 6 x 120
    (3, 0.2, 3.0),  # link-down-for-good: tcp_retries2=3
    (6, 1.0, 127.0),  # tcp_syn_retries' default
    (2, 1.0, 7.0),  # every-syn-lost: tcp_syn_retries=2
    (8, 0.2, 102.2),  # an orphan's tcp_orphan_retries=0, read as 8
])
def test_the_time_budget_is_what_doubling_retransmissions_would_take(boundary, base, seconds):
    assert model_timeout(boundary, base) == pytest.approx(seconds)


# --- SYN: linear then exponential, a count and a time ---------------------------------------------------------
def test_eleven_syns_by_default_and_etimedout_at_131_s():
    """tcp_syn_retries 6 + tcp_syn_linear_timeouts 4 retransmissions (FACTS: SYNs seen here at 0, 1, 2, 3,
    4, 5, 7, 11, 19, 35, 68 s; the kernel's coarse timer wheel makes the last ones late)."""
    trace = tl.simulate(OPEN, drop=range(1, 40), linux_timers=True, **LOOPBACK)
    assert times(trace) == [0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67]
    assert gave_up_at(trace) == pytest.approx(131)


@pytest.mark.parametrize("linear, syns, end", [(4, [0, 1, 2, 3, 4, 5], 7), (0, [0, 1, 3], 7)])
def test_a_short_syn_budget_runs_out_in_time_before_the_count(linear, syns, end):
    """every-syn-lost (six SYNs, ETIMEDOUT at 7.1 s) and every-syn-lost-exponential (three, 7.3 s)."""
    trace = tl.simulate(OPEN, drop=range(1, 40), linux_timers=LinuxTimers(syn_retries=2, syn_linear_timeouts=linear),
                        **LOOPBACK)
    assert times(trace) == syns
    assert gave_up_at(trace) == pytest.approx(end)


def test_the_rfc_profile_still_counts_doubling_retries():
    trace = tl.simulate(OPEN, drop=range(1, 40), **LOOPBACK)
    assert times(trace) == [0, 1, 3, 7, 15, 31, 63]
    assert gave_up_at(trace) == pytest.approx(127)


def test_a_passive_synack_is_counted_not_timed():
    """every-synack-lost: tcp_synack_retries=2, SYN,ACKs at 0, 1, 3 s, the request gone by 7 s, no RST
    (reqsk_timer_handler counts; a request sock is not in tcp_write_timeout)."""
    run = tl.run_sockets([(0.0, "server", "listen", 80),
                          (0.0, "client", "connect", "server", 80, {"local_port": 40001, "name": "c"}),
                          (0.0, "client", "crash")],  # one SYN, and nobody to answer the SYN,ACKs
                         sysctls={"server": {"tcp_synack_retries": 2}}, delay=1e-5)
    trace = run.connection("c")
    synacks = [tx for tx in trace.transmissions if tx.sender == "server"]
    assert [round(tx.sent_at, 3) for tx in synacks] == [0.0, 1.0, 3.0]
    assert all(flag_names(int(tx.segment.flags)) == "SYN,ACK" for tx in synacks)
    assert trace.states["server"][-1][0] == pytest.approx(7.0, abs=1e-3)  # the request is gone
    assert run.ss("server", at=7.5).count("SYN-RECV") == 0 and len(synacks) == 3


# --- data and FIN: tcp_retries2 as time, from the first retransmission ------------------------------------------
SEND = OPEN + [("client", "send", "ESTABLISHED+0.5", b"x" * 100)]


def test_the_rto_floor_is_200_ms_above_the_rtt():
    """__tcp_set_rto: SRTT + max(4 RTTVAR, tcp_rto_min); on loopback a lost segment comes again after
    about 200 ms (lose-fin1: 209 ms), where RFC 6298's floor is 1 s."""
    linux = tl.simulate(SEND, drop=[4], linux_timers=True, **LOOPBACK)
    rfc = tl.simulate(SEND, drop=[4], **LOOPBACK)
    assert times(linux)[2:4] == [0.5, 0.7]
    assert times(rfc)[2:4] == [0.5, 1.5]


def test_tcp_retries2_3_gives_up_at_the_first_expiry_3_s_after_the_first_retransmission():
    """link-down-for-good: RTOs 1.004, 1.420, 2.252, 3.916 s, ETIMEDOUT 7.372 s, no RST."""
    trace = tl.simulate(SEND, drop=range(4, 60), linux_timers=LinuxTimers(retries2=3), **LOOPBACK)
    sent = times(trace)[2:]
    assert sent == [0.5, 0.7, 1.1, 1.9, 3.5]
    assert gave_up_at(trace) == pytest.approx(6.7, abs=1e-3)  # 3.5 + 3.2: the first expiry past 0.7 + 3.0
    assert all(not tx.segment.has(Flags.RST) for tx in trace.transmissions)


def test_tcp_retries2_15_lasts_924_6_s_from_the_first_retransmission():
    trace = tl.simulate(SEND, drop=range(4, 60), linux_timers=True, **LOOPBACK)
    first_rtx = times(trace)[3]
    end = gave_up_at(trace)
    assert first_rtx + 924.6 <= end < first_rtx + 924.6 + 120  # the timer that fires past the budget
    assert max(b - a for a, b in zip(times(trace)[3:], times(trace)[4:])) == pytest.approx(120)  # TCP_RTO_MAX


def test_tcp_user_timeout_ends_exactly_that_long_after_the_first_retransmission():
    """link-down-user-timeout: TCP_USER_TIMEOUT=1000 ms; RTOs 0.997, 1.417 s, ETIMEDOUT 2.025 s (the last
    timer shortened: tcp_clamp_rto_to_user_timeout)."""
    trace = tl.simulate(SEND, drop=range(4, 60), linux_timers=LinuxTimers(user_timeout=1.0), **LOOPBACK)
    assert times(trace)[2:] == [0.5, 0.7, 1.1]
    assert gave_up_at(trace) == pytest.approx(1.7, abs=1e-3)


def test_user_timeout_on_a_host_socket_and_its_clear_errors():
    run = tl.run_sockets([(0.0, "server", "listen", 80),
                          (0.0, "client", "connect", "server", 80, {"name": "c", "user_timeout": 1.0}),
                          (0.5, "server", "crash"), (1.0, "client", "send", "c", b"x")], delay=1e-5)
    trace = run.connection("c")
    data = [tx.sent_at for tx in trace.transmissions if tx.segment.payload]
    assert trace.outcomes["client"] == "timed out"
    assert trace.states["client"][-1][0] == pytest.approx(data[1] + 1.0, abs=1e-3)
    with pytest.raises(ValueError, match="user_timeout must be"):
        tl.run_sockets([(0.0, "client", "connect", "server", 80, {"user_timeout": -1})])
    with pytest.raises(ValueError, match="linux_timers=False"):
        tl.Host("h", "10.0.0.9", linux_timers=False).connect(0.0, "10.0.0.1", 80, user_timeout=1.0)


def test_tcp_retries1_is_noted_once_and_changes_nothing_on_the_wire():
    """tcp_write_timeout: past retransmits_timed_out(sk, tcp_retries1 = 3) = 3 s from the first
    retransmission, Linux asks for a new route (__dst_negative_advice) and sends the same segments."""
    trace = tl.simulate(SEND, drop=range(4, 60), linux_timers=True, **LOOPBACK)
    notes = [h.time for h in trace.happenings if h.kind == "timer" and h.detail == "retries1"]
    assert len(notes) == 1 and notes[0] >= times(trace)[3] + 3.0
    assert times(trace) == times(tl.simulate(SEND, drop=range(4, 60), linux_timers=LinuxTimers(retries1=15),
                                             **LOOPBACK))


@pytest.mark.parametrize("bad, words", [
    (LinuxTimers(syn_retries=0), "tcp_syn_retries must be an integer between 1 and 127"),
    (LinuxTimers(user_timeout=-1), "user_timeout must be at least 0"),
    (LinuxTimers(rto_min=0), "rto_min must be"),
    ("yes", "linux_timers must be None, True or a LinuxTimers"),
])
def test_bad_timer_settings_name_themselves(bad, words):
    with pytest.raises((ValueError, TypeError), match=words):
        tl.simulate("handshake", linux_timers=bad)


# --- ACK timing: quick-ack and pingpong -------------------------------------------------------------------------
def lone_acks(trace, who):
    return [tx for tx in trace.transmissions if tx.sender == who and flag_names(int(tx.segment.flags)) == "ACK"]


def test_the_ack_of_a_fin_before_any_data_waits_one_tick():
    """no-loss: the server's lone ACK 3 ms after the FIN (DelayedACKs 1; icsk_ack.ato still 0, so the
    timer fires at the next tick); packetdrill close-remote-fin-then-close.pkt: within 4 ms."""
    trace = tl.simulate("lifecycle", delayed_ack="linux", **LOOPBACK)
    fin = next(tx for tx in trace.transmissions if tx.sender == "client" and tx.segment.has(Flags.FIN))
    ack = next(tx for tx in lone_acks(trace, "server") if tx.sent_at > fin.sent_at)
    assert 0 < ack.sent_at - fin.arrived_at <= 0.004 + 1e-9


def test_data_is_acked_at_once_and_a_fin_after_data_waits_40_ms():
    """fin-ack-timing: a bare ACK 41.5 ms after the FIN when 5 bytes came before (TCP_ATO_MIN); quick-ack
    mode ACKs the first data at once (tcp_event_data_recv, TCP_MAX_QUICKACKS)."""
    steps = OPEN + [("server", "send", "ESTABLISHED+0.1", b"hello"), ("server", "close", "ESTABLISHED+0.2"),
                    ("client", "close", "CLOSE-WAIT+0.1")]
    trace = tl.simulate(steps, delayed_ack="linux", **LOOPBACK)
    data = next(tx for tx in trace.transmissions if tx.segment.payload)
    fin = next(tx for tx in trace.transmissions if tx.sender == "server" and tx.segment.has(Flags.FIN))
    acks = [tx.sent_at for tx in lone_acks(trace, "client") if tx.sent_at > data.sent_at]
    assert acks[0] == pytest.approx(data.arrived_at)
    assert acks[1] == pytest.approx(fin.arrived_at + 0.04)


def test_a_close_at_once_carries_the_ack_on_the_fin_a_close_10_ms_later_does_not():
    """fin-ack-timing: a close() at once puts the ACK on the FIN (three segments, as the shipped
    server-closes-on-eof capture); 100 ms later a bare ACK has gone first (four)."""
    from tcplesson import linux
    at_once = linux.simulate_linux("server-closes-on-eof")
    later = tl.simulate("server-closes-on-eof", delayed_ack="linux", **LOOPBACK)  # closes 10 ms after the FIN
    release = [[flag_names(int(tx.segment.flags)) for tx in t.transmissions][3:] for t in (at_once, later)]
    assert release == [["FIN,ACK", "FIN,ACK", "ACK"], ["FIN,ACK", "ACK", "FIN,ACK", "ACK"]]


def test_the_linux_profile_uses_linux_timers_and_acks():
    from tcplesson import linux
    trace = linux.simulate_linux("client-closes-first")
    assert trace.params["delayed_ack"] == "linux" and trace.params["linux_timers"]["retries2"] == 15


# --- the host's challenge-ACK budget: tcp_challenge_ack_limit --------------------------------------------------
def rst_in_window(limit, gap):
    base = tl.run_sockets(HOST_OPEN).connection("c")
    rcv_nxt = base.transmissions[2].segment.seq
    calls = HOST_OPEN + [(0.0, "client", "connect", "server", 80, {"local_port": 40002, "name": "d"})]
    rst = Segment(Flags.RST, (rcv_nxt + 100) % SEQ_MOD)
    calls += [(1.0, "client", "inject", "c", rst), (1.0 + gap, "client", "inject", "c", rst)]
    run = tl.run_sockets(calls, sysctls={"server": {"tcp_challenge_ack_limit": limit}})
    return [round(tx.sent_at, 2) for tx in run.connection("c").transmissions if tx.sender == "server" and tx.sent_at > 1]


def test_the_challenge_ack_limit_is_off_by_default_and_counts_per_second_when_set():
    """tcp_send_challenge_ack: after the per-socket 0.5 s limit, a host-wide count per second, drawn between
    limit/2 and 1.5 limit (for 1: exactly 1); 2^31 - 1 (Linux 6.0 and later) means no limit."""
    assert rst_in_window(2**31 - 1, 0.6) == [1.05, 1.65]
    assert rst_in_window(1, 0.6) == [1.05]  # the same second: spent
    assert rst_in_window(1, 1.2) == [1.05, 2.25]  # the next second: a new budget
    assert rst_in_window(0, 0.6) == []


def test_after_a_challenge_ack_in_syn_sent_the_syn_goes_again_within_milliseconds():
    """crash-reboot-reconnect: the rebooted client's SYN gets a challenge ACK with the old numbers; it
    answers RST and sends the SYN again 10.7 ms later (tcp_rcv_synsent_state_process: TCP_TIMEOUT_MIN,
    2 jiffies), then SYN,ACK, ACK. The RFC profile waits for its 1 s RTO."""
    calls = HOST_OPEN + [(1.0, "client", "crash"), (5.0, "client", "reboot"),
                         (6.0, "client", "connect", "server", 80, {"local_port": 40001, "name": "new"})]
    run = tl.run_sockets(calls, delay=1e-5)
    after = [(round(tx.sent_at - 6.0, 4), tx.sender, flag_names(int(tx.segment.flags)))
             for tx in run.connection("new").transmissions if tx.sent_at >= 6.0]
    assert [who_flags for _, *who_flags in after][:6] == [
        ["client", "SYN"], ["server", "ACK"], ["client", "RST"], ["client", "SYN"], ["server", "SYN,ACK"],
        ["client", "ACK"]]
    assert after[3][0] == pytest.approx(0.008, abs=1e-4)
    rfc = tl.run_sockets(calls, delay=1e-5, linux_timers=False)
    again = [tx.sent_at - 6.0 for tx in rfc.connection("new").transmissions
             if tx.sent_at >= 6.0 and flag_names(int(tx.segment.flags)) == "SYN"]
    assert again[1] == pytest.approx(1.0)


def test_an_orphans_fin_gives_up_on_tcp_orphan_retries_time():
    """tcp_write_timeout for a SOCK_DEAD socket: retry_until = tcp_orphan_retries, 0 read as 8 while the RTO
    is below TCP_RTO_MAX (tcp_orphan_retries), then retransmits_timed_out: (2^9 - 1) x 0.2 s = 102.2 s
    from the first retransmission of the FIN."""
    run = tl.run_sockets([*HOST_OPEN, (1.0, "server", "crash"), (2.0, "client", "close", "c")], delay=1e-5)
    trace = run.connection("c")
    fins = [tx.sent_at for tx in trace.transmissions if tx.sender == "client" and tx.segment.has(Flags.FIN)]
    end = trace.states["client"][-1][0]
    assert trace.outcomes["client"] == "timed out"
    assert fins[1] + model_timeout(8, 0.2) <= end < fins[1] + model_timeout(8, 0.2) + 120
    assert max(gaps := [b - a for a, b in zip(fins, fins[1:])]) < 120 and gaps[0] == pytest.approx(0.2, abs=1e-3)

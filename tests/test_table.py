"""The state machine, one test per row of the table in docs/protocol-facts.md ("The state machine").

Each test drives a real sans-IO Endpoint into the row's start state with the RFC's own segments,
applies the row's event and checks what is sent (flags, seq, ack worked out from RFC 9293
arithmetic) and the next state. Every test runs twice: with small ISNs and with ISNs next to 2**32
so that every number wraps. Row numbers (rowNN) are the table's row numbers:

    01 CLOSED open (passive/active)          14 FIN-WAIT-1 ACK of our FIN
    02 CLOSED any segment but RST -> RST     15 FIN-WAIT-1 FIN, ours not acked (CLOSING)
    03 LISTEN SYN                            16 FIN-WAIT-1 FIN that acks ours (TIME-WAIT)
    04 LISTEN segment with ACK -> RST        17 FIN-WAIT-2 FIN
    05 LISTEN RST ignored                    18 CLOSE-WAIT user CLOSE
    06 SYN-SENT SYN,ACK acking our SYN       19 CLOSING ACK of our FIN
    07 SYN-SENT SYN (simultaneous open)      20 LAST-ACK ACK of our FIN
    08 SYN-SENT ACK outside (ISS, SND.NXT]   21 TIME-WAIT retransmitted FIN (restart 2MSL)
    09 SYN-SENT RST with acceptable ACK      22 TIME-WAIT 2MSL expires
    10 SYN-RECEIVED acceptable ACK           23 ESTABLISHED..CLOSE-WAIT valid RST
    11 SYN-RECEIVED RST                      24 synchronized: unacceptable segment -> ACK
    12 SYN-RECEIVED/ESTABLISHED user CLOSE   25 user ABORT
    13 ESTABLISHED FIN
"""
import pytest

import tcplesson as tl
from tcplesson.table import ACTIONS, USER_CALLS, lookup_table

from _drive import ACK, FIN, MSL, PATHS, PSH, RST, RTO, SYN, Conn, drive, exp, seg, wire

S = tl.State


@pytest.fixture(params=[(1000, 5000), (2**32 - 1, 2**32 - 2)], ids=["isn-small", "isn-wrap"])
def isns(request):
    return request.param


def start(path, isns, **kw):
    return drive(path, *isns, **kw)


# ====================================================================== row 01
def test_row01_closed_passive_open_goes_to_listen_sending_nothing(isns):
    c = start("CLOSED", isns)
    assert c.call("listen") == []
    assert c.state == "LISTEN"
    assert c.ep.next_deadline() is None


def test_row01_closed_active_open_sends_syn_seq_iss(isns):
    c = start("CLOSED", isns)
    assert c.call("connect") == [exp("SYN", c.x)]
    assert c.state == "SYN-SENT"
    assert c.ep.next_deadline() == pytest.approx(c.t + RTO)  # the SYN will be retransmitted (RFC 6298: 1 s)


# ====================================================================== row 02
@pytest.mark.parametrize("flags, seq, ack, payload, reply", [
    # ACK on: <SEQ=SEG.ACK><CTL=RST>
    (ACK, 7, 99, b"", ("RST", 99, None)),
    (SYN | ACK, 300, 91, b"", ("RST", 91, None)),
    (FIN | ACK, 7, 2**32 - 1, b"", ("RST", 2**32 - 1, None)),
    (PSH | ACK, 7, 50, b"hello", ("RST", 50, None)),
    # ACK off: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
    (SYN, 7, 0, b"", ("RST,ACK", 0, 8)),
    (FIN, 7, 0, b"", ("RST,ACK", 0, 8)),
    (PSH, 7, 0, b"hello", ("RST,ACK", 0, 12)),
    (SYN | FIN, 7, 0, b"abc", ("RST,ACK", 0, 12)),
    (SYN, 2**32 - 1, 0, b"", ("RST,ACK", 0, 0)),
    (0, 7, 0, b"", ("RST,ACK", 0, 7)),
], ids=["ACK", "SYN,ACK", "FIN,ACK", "data+ACK", "SYN", "FIN", "data", "SYN,FIN+data", "SYN-wrap", "no-flags"])
def test_row02_closed_answers_any_segment_but_rst_with_rst(isns, flags, seq, ack, payload, reply):
    c = start("CLOSED", isns)
    assert c.recv(seg(flags, seq, ack, payload)) == [exp(*reply)]
    assert c.state == "CLOSED"


@pytest.mark.parametrize("flags", [RST, RST | ACK], ids=["RST", "RST,ACK"])
def test_row02_closed_ignores_rst(isns, flags):
    c = start("CLOSED", isns)
    assert c.recv(seg(flags, 7, 99)) == []
    assert c.state == "CLOSED"


# ====================================================================== row 03
def test_row03_listen_syn_sends_syn_ack_and_goes_to_syn_received(isns):
    c = start("LISTEN", isns)
    x, y = c.x, c.y
    assert c.recv(seg(SYN, y)) == [exp("SYN,ACK", x, y + 1)]
    assert c.state == "SYN-RECEIVED"
    assert c.ep.next_deadline() == pytest.approx(c.t + RTO)  # the SYN,ACK is retransmitted if unanswered


def test_row03_listen_syn_with_data_is_not_delivered_before_established(isns):
    c = start("LISTEN", isns, auto_read=False)
    x, y = c.x, c.y
    assert c.recv(seg(SYN, y, payload=b"early")) == [exp("SYN,ACK", x, y + 1)]  # data is not acked
    assert c.ep.read() == b""


# ====================================================================== row 04
@pytest.mark.parametrize("flags, payload", [(ACK, b""), (SYN | ACK, b""), (FIN | ACK, b""), (PSH | ACK, b"data")],
                         ids=["ACK", "SYN,ACK", "FIN,ACK", "data+ACK"])
def test_row04_listen_answers_segment_with_ack_by_rst_seq_seg_ack(isns, flags, payload):
    c = start("LISTEN", isns)
    assert c.recv(seg(flags, 4242, 777, payload)) == [exp("RST", 777)]
    assert c.state == "LISTEN"
    # and the listener still accepts a real SYN afterwards
    assert c.recv(seg(SYN, c.y)) == [exp("SYN,ACK", c.x, c.y + 1)]


# ====================================================================== row 05
@pytest.mark.parametrize("flags", [RST, RST | ACK], ids=["RST", "RST,ACK"])
def test_row05_listen_ignores_rst(isns, flags):
    c = start("LISTEN", isns)
    assert c.recv(seg(flags, 4242, 777)) == []
    assert c.state == "LISTEN"


# ====================================================================== row 06
def test_row06_syn_sent_syn_ack_acking_our_syn_sends_ack_and_establishes(isns):
    c = start("SYN-SENT", isns)
    x, y = c.x, c.y
    assert c.recv(seg(SYN | ACK, y, x + 1)) == [exp("ACK", x + 1, y + 1)]
    assert c.state == "ESTABLISHED"
    assert c.ep.next_deadline() is None  # nothing left to retransmit


# ====================================================================== row 07
def test_row07_syn_sent_syn_without_ack_is_simultaneous_open(isns):
    c = start("SYN-SENT", isns)
    x, y = c.x, c.y
    assert c.recv(seg(SYN, y)) == [exp("SYN,ACK", x, y + 1)]
    assert c.state == "SYN-RECEIVED"
    # RFC 9293 figure 7: the peer's SYN,ACK then completes the open, nothing more is sent
    assert c.recv(seg(SYN | ACK, y, x + 1)) == []
    assert c.state == "ESTABLISHED"
    assert c.ep.next_deadline() is None


# ====================================================================== row 08
@pytest.mark.parametrize("flags", [ACK, SYN | ACK], ids=["ACK", "SYN,ACK"])
@pytest.mark.parametrize("offset", [0, 2, 1000, -1000], ids=["ack=ISS", "ack=ISS+2", "ack=ISS+1000", "ack=ISS-1000"])
def test_row08_syn_sent_ack_outside_iss_snd_nxt_gets_rst_seq_seg_ack(isns, flags, offset):
    c = start("SYN-SENT", isns)
    x, y = c.x, c.y
    assert c.recv(seg(flags, y, x + offset)) == [exp("RST", x + offset)]
    assert c.state == "SYN-SENT"
    # the attempt goes on: the right SYN,ACK still completes it
    assert c.recv(seg(SYN | ACK, y, x + 1)) == [exp("ACK", x + 1, y + 1)]
    assert c.state == "ESTABLISHED"


def test_row08_syn_sent_rst_with_bad_ack_is_dropped_silently(isns):
    c = start("SYN-SENT", isns)
    assert c.recv(seg(RST | ACK, 0, c.x + 5)) == []
    assert c.state == "SYN-SENT"


# ====================================================================== row 09
def test_row09_syn_sent_rst_with_acceptable_ack_is_connection_refused(isns):
    c = start("SYN-SENT", isns)
    assert c.recv(seg(RST | ACK, 0, c.x + 1)) == []
    assert c.state == "CLOSED"
    assert c.ep.outcome == "refused"
    assert c.ep.next_deadline() is None  # no more SYN retransmissions


def test_row09_syn_sent_rst_without_ack_is_dropped(isns):
    c = start("SYN-SENT", isns)
    assert c.recv(seg(RST, c.x + 1)) == []
    assert c.state == "SYN-SENT"
    assert c.ep.outcome is None


# ====================================================================== row 10
@pytest.mark.parametrize("path", ["SYN-RECEIVED (passive)", "SYN-RECEIVED (active)"])
def test_row10_syn_received_acceptable_ack_establishes(isns, path):
    c = start(path, isns)
    assert c.recv(seg(ACK, c.y + 1, c.x + 1)) == []
    assert c.state == "ESTABLISHED"
    assert c.ep.next_deadline() is None  # the SYN,ACK is acknowledged


@pytest.mark.parametrize("offset", [0, 2], ids=["ack=ISS", "ack=ISS+2"])
def test_row10_syn_received_unacceptable_ack_gets_rst_seq_seg_ack(isns, offset):
    c = start("SYN-RECEIVED (passive)", isns)
    assert c.recv(seg(ACK, c.y + 1, c.x + offset)) == [exp("RST", c.x + offset)]
    assert c.state == "SYN-RECEIVED"


def test_row10_syn_received_acceptable_ack_on_out_of_order_data_establishes(isns):
    # the handshake ACK and the first data segment were lost; the second acks our SYN. RFC 9293
    # 3.10.7.4 checks the ACK (fifth) before the text (seventh): ESTABLISHED, then queue the text.
    c = start("SYN-RECEIVED (passive)", isns, auto_read=False)
    x, y = c.x, c.y
    assert c.recv(seg(PSH | ACK, y + 1 + 100, x + 1, b"b" * 50)) == [exp("ACK", x + 1, y + 1)]
    assert c.state == "ESTABLISHED"
    assert c.ep.next_deadline() is None  # the SYN,ACK is acknowledged
    assert c.ep.read() == b""  # nothing delivered out of order
    assert c.recv(seg(PSH | ACK, y + 1, x + 1, b"a" * 100)) == [exp("ACK", x + 1, y + 1 + 150)]
    assert c.ep.read() == b"a" * 100 + b"b" * 50


# ====================================================================== row 11
def test_row11_syn_received_passive_rst_returns_to_listen(isns):
    c = start("SYN-RECEIVED (passive)", isns)
    assert c.recv(seg(RST, c.y + 1)) == []
    assert c.state == "LISTEN"
    assert c.ep.outcome is None
    assert c.ep.next_deadline() is None  # the half-open connection is forgotten
    # the listener takes the next SYN as a new connection, with a new ISN
    new = c.recv(seg(SYN, 77))
    assert len(new) == 1 and new[0][0] == "SYN,ACK" and new[0][2] == 78
    assert new[0][1] != c.x


def test_row11_syn_received_active_rst_is_connection_refused(isns):
    c = start("SYN-RECEIVED (active)", isns)
    assert c.recv(seg(RST, c.y + 1)) == []
    assert c.state == "CLOSED"
    assert c.ep.outcome == "refused"


def test_row11_syn_received_rst_outside_window_is_dropped(isns):
    c = start("SYN-RECEIVED (passive)", isns)
    assert c.recv(seg(RST, c.y + 1 + 100_000)) == []
    assert c.state == "SYN-RECEIVED"


# ====================================================================== row 12
@pytest.mark.parametrize("path", ["SYN-RECEIVED (passive)", "ESTABLISHED", "ESTABLISHED (passive)"])
def test_row12_close_in_syn_received_or_established_sends_fin(isns, path):
    c = start(path, isns)
    x, y = c.x, c.y
    t = c.t
    assert c.call("close") == [exp("FIN,ACK", x + 1, y + 1)]  # FIN,ACK seq=u ack=v
    assert c.state == "FIN-WAIT-1"
    assert c.ep.next_deadline() is not None and c.ep.next_deadline() > t  # the FIN is retransmitted if lost
    if path.startswith("SYN-RECEIVED"):
        # an ACK of our SYN only is not an ACK of our FIN
        assert c.recv(seg(ACK, y + 1, x + 1)) == []
        assert c.state == "FIN-WAIT-1"
    assert c.recv(seg(ACK, y + 1, x + 2)) == []
    assert c.state == "FIN-WAIT-2"


def test_row12_fin_waits_for_queued_data(isns):
    c = start("ESTABLISHED", isns)
    x, y = c.x, c.y
    assert c.call("send", b"abc") == [exp("PSH,ACK", x + 1, y + 1, 3)]
    assert c.call("close") == [exp("FIN,ACK", x + 4, y + 1)]  # the FIN takes the number after the data


# ====================================================================== row 13
def test_row13_established_fin_sends_ack_and_goes_to_close_wait(isns):
    c = start("ESTABLISHED", isns)
    x, y = c.x, c.y
    assert c.recv(seg(FIN | ACK, y + 1, x + 1)) == [exp("ACK", x + 1, y + 2)]
    assert c.state == "CLOSE-WAIT"


def test_row13_established_fin_carrying_data_delivers_it_and_acks_both(isns):
    c = start("ESTABLISHED", isns, auto_read=False)
    x, y = c.x, c.y
    data = bytes(range(100))
    assert c.recv(seg(FIN | PSH | ACK, y + 1, x + 1, data)) == [exp("ACK", x + 1, y + 1 + 100 + 1)]
    assert c.state == "CLOSE-WAIT"
    assert c.ep.read() == data


# ====================================================================== row 14
def test_row14_fin_wait_1_ack_of_our_fin_goes_to_fin_wait_2(isns):
    c = start("FIN-WAIT-1", isns)
    assert c.recv(seg(ACK, c.y + 1, c.x + 2)) == []
    assert c.state == "FIN-WAIT-2"
    assert c.ep.next_deadline() is None  # the FIN no longer needs retransmitting


def test_row14_fin_wait_1_out_of_order_data_acking_our_fin_goes_to_fin_wait_2(isns):
    # half-close: the peer's ACK of our FIN and its first data segment were lost
    c = start("FIN-WAIT-1", isns, auto_read=False)
    x, y = c.x, c.y
    assert c.recv(seg(PSH | ACK, y + 1 + 100, x + 2, b"b" * 50)) == [exp("ACK", x + 2, y + 1)]
    assert c.state == "FIN-WAIT-2"
    assert c.ep.next_deadline() is None
    assert c.recv(seg(PSH | ACK, y + 1, x + 2, b"a" * 100)) == [exp("ACK", x + 2, y + 1 + 150)]
    assert c.ep.read() == b"a" * 100 + b"b" * 50


# ====================================================================== row 15
def test_row15_fin_wait_1_fin_not_acking_ours_is_simultaneous_close(isns):
    c = start("FIN-WAIT-1", isns)
    x, y = c.x, c.y
    deadline = c.ep.next_deadline()
    assert c.recv(seg(FIN | ACK, y + 1, x + 1)) == [exp("ACK", x + 2, y + 2)]
    assert c.state == "CLOSING"
    assert c.ep.next_deadline() == deadline  # still the FIN's retransmission timer, no 2MSL yet


# ====================================================================== row 16
def test_row16_fin_wait_1_fin_that_acks_our_fin_goes_to_time_wait(isns):
    c = start("FIN-WAIT-1", isns)
    x, y = c.x, c.y
    assert c.recv(seg(FIN | ACK, y + 1, x + 2)) == [exp("ACK", x + 2, y + 2)]
    assert c.state == "TIME-WAIT"
    assert c.ep.next_deadline() == pytest.approx(c.t + 2 * MSL)


# ====================================================================== row 17
def test_row17_fin_wait_2_fin_sends_ack_and_starts_2msl(isns):
    c = start("FIN-WAIT-2", isns)
    x, y = c.x, c.y
    assert c.recv(seg(FIN | ACK, y + 1, x + 2)) == [exp("ACK", x + 2, y + 2)]  # ACK seq=u+1 ack=w+1
    assert c.state == "TIME-WAIT"
    assert c.ep.next_deadline() == pytest.approx(c.t + 2 * MSL)


def test_row17_the_ack_to_the_last_fin_is_not_delayed(isns):
    c = start("FIN-WAIT-2", isns, delayed_ack=0.2)
    assert c.recv(seg(FIN | ACK, c.y + 1, c.x + 2)) == [exp("ACK", c.x + 2, c.y + 2)]


# ====================================================================== row 18
def test_row18_close_wait_close_sends_fin_and_goes_to_last_ack(isns):
    c = start("CLOSE-WAIT", isns)
    x, y = c.x, c.y
    assert c.call("close") == [exp("FIN,ACK", x + 1, y + 2)]  # FIN,ACK seq=w ack=u+1 (w = x+1 here)
    assert c.state == "LAST-ACK"


# ====================================================================== row 19
def test_row19_closing_ack_of_our_fin_goes_to_time_wait(isns):
    c = start("CLOSING", isns)
    assert c.recv(seg(ACK, c.y + 2, c.x + 2)) == []
    assert c.state == "TIME-WAIT"
    assert c.ep.next_deadline() == pytest.approx(c.t + 2 * MSL)


@pytest.mark.parametrize("offset", [0, 10], ids=["in-order", "out-of-order"])
def test_row19_closing_ack_of_our_fin_with_stray_text_still_goes_to_time_wait(isns, offset):
    # after the peer's FIN any text is ignored (3.10.7.4 seventh check); the ACK still counts (fifth)
    c = start("CLOSING", isns, auto_read=False)
    c.recv(seg(PSH | ACK, c.rcv + offset, c.x + 2, b"junk"))
    assert c.state == "TIME-WAIT"
    assert c.ep.next_deadline() == pytest.approx(c.t + 2 * MSL)
    assert c.ep.read() == b""


# ====================================================================== row 20
def test_row20_last_ack_ack_of_our_fin_closes(isns):
    c = start("LAST-ACK", isns)
    assert c.recv(seg(ACK, c.y + 2, c.x + 2)) == []
    assert c.state == "CLOSED"
    assert c.ep.outcome is None
    assert c.ep.next_deadline() is None


@pytest.mark.parametrize("offset", [0, 10], ids=["in-order", "out-of-order"])
def test_row20_last_ack_ack_of_our_fin_with_stray_text_still_closes(isns, offset):
    c = start("LAST-ACK", isns, auto_read=False)
    c.recv(seg(PSH | ACK, c.rcv + offset, c.x + 2, b"junk"))
    assert c.state == "CLOSED"
    assert c.ep.next_deadline() is None


def test_row20_last_ack_ack_of_earlier_data_only_stays(isns):
    c = start("LAST-ACK", isns)
    assert c.recv(seg(ACK, c.y + 2, c.x + 1)) == []
    assert c.state == "LAST-ACK"


# ====================================================================== row 21
def test_row21_time_wait_reacks_a_retransmitted_fin_and_restarts_2msl(isns):
    c = start("TIME-WAIT", isns)
    x, y = c.x, c.y
    first = c.ep.next_deadline()
    assert first == pytest.approx(c.t + 2 * MSL)
    c.tick(5.0)  # the peer's retransmission timer fires: the same FIN again, 5 s later
    assert c.recv(seg(FIN | ACK, y + 1, x + 2)) == [exp("ACK", x + 2, y + 2)]
    assert c.state == "TIME-WAIT"
    assert c.ep.next_deadline() == pytest.approx(c.t + 2 * MSL)
    assert c.ep.next_deadline() > first
    # the first deadline has no effect any more
    assert c.ep.on_timer(first) == []
    assert c.state == "TIME-WAIT"


# ====================================================================== row 22
def test_row22_time_wait_2msl_timer_expiry_closes(isns):
    c = start("TIME-WAIT", isns)
    deadline = c.ep.next_deadline()
    assert deadline == pytest.approx(c.t + 2 * MSL)
    assert c.ep.on_timer(deadline - 0.5) == []
    assert c.state == "TIME-WAIT"
    assert c.ep.on_timer(deadline) == []
    assert c.state == "CLOSED"
    assert c.ep.next_deadline() is None
    assert c.ep.outcome is None


# ====================================================================== row 23
@pytest.mark.parametrize("path", ["ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT"])
def test_row23_valid_rst_resets_the_connection(isns, path):
    c = start(path, isns)
    assert c.recv(seg(RST, c.rcv)) == []
    assert c.state == "CLOSED"
    assert c.ep.outcome == "reset"
    assert c.ep.next_deadline() is None


@pytest.mark.parametrize("path", ["ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING",
                                  "LAST-ACK", "TIME-WAIT"])
def test_row23_rst_outside_the_window_is_dropped(isns, path):
    c = start(path, isns)
    assert c.recv(seg(RST, c.rcv + 100_000)) == []
    assert c.recv(seg(RST, c.rcv - 1)) == []
    assert c.state == path
    assert c.ep.outcome is None


@pytest.mark.parametrize("path", ["CLOSING", "LAST-ACK", "TIME-WAIT"])
def test_row23_rst_in_closing_last_ack_time_wait_closes(isns, path):
    # RFC 9293 3.10.7.4 second check: in these states an acceptable RST just ends the connection
    # (in TIME-WAIT this is the "TIME-WAIT assassination" of RFC 1337; Linux can ignore it)
    c = start(path, isns)
    assert c.recv(seg(RST, c.rcv)) == []
    assert c.state == "CLOSED"
    assert c.ep.next_deadline() is None
    if path == "LAST-ACK":
        assert c.ep.outcome == "reset"  # the peer answered our FIN with RST


# ====================================================================== row 24
UNACCEPTABLE = {
    "old-data": lambda c: seg(PSH | ACK, c.rcv - 10, c.snd, b"12345"),  # wholly before RCV.NXT
    "beyond-window": lambda c: seg(ACK, c.rcv + 70_000, c.snd),  # RCV.WND is 65535
    "old-fin": lambda c: seg(FIN | ACK, c.rcv - 5, c.snd),
}


@pytest.mark.parametrize("kind", list(UNACCEPTABLE))
@pytest.mark.parametrize("path", ["SYN-RECEIVED (passive)", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2",
                                  "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"])
def test_row24_unacceptable_segment_gets_ack_snd_nxt_rcv_nxt(isns, path, kind):
    c = start(path, isns, auto_read=False)
    deadline = c.ep.next_deadline()
    assert c.recv(UNACCEPTABLE[kind](c)) == [exp("ACK", c.snd, c.rcv)]
    assert c.state == path.split(" ")[0]
    assert c.ep.read() == b""
    if path == "TIME-WAIT":
        assert c.ep.next_deadline() == deadline  # only a retransmitted FIN restarts 2MSL


def test_row24_segment_overlapping_rcv_nxt_is_acceptable_and_trimmed(isns):
    # table 6: a segment with data is acceptable if its first OR its last byte is in the window
    c = start("ESTABLISHED", isns, auto_read=False)
    x, y = c.x, c.y
    assert c.recv(seg(PSH | ACK, y + 1, x + 1, b"abc")) == [exp("ACK", x + 1, y + 4)]
    # "abc" again with two new bytes: the first byte is old, the last is new
    assert c.recv(seg(PSH | ACK, y + 1, x + 1, b"abcde")) == [exp("ACK", x + 1, y + 6)]
    assert c.ep.read() == b"abcde"  # each byte once


def test_row24_zero_length_segment_window_edges(isns):
    # table 6, zero-length segment: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND (RCV.WND = 65535 here)
    c = start("ESTABLISHED", isns)
    assert c.recv(seg(ACK, c.rcv + 65534, c.snd)) == []  # last place in the window: acceptable
    assert c.recv(seg(ACK, c.rcv + 65535, c.snd)) == [exp("ACK", c.snd, c.rcv)]  # just outside
    # (answers to unacceptable segments are at most one per 0.5 s, so let time pass)
    assert c.recv(seg(ACK, c.rcv - 1, c.snd), dt=0.5) == [exp("ACK", c.snd, c.rcv)]  # just before
    assert c.state == "ESTABLISHED"


def test_row24_answers_to_unacceptable_segments_are_rate_limited(isns):
    # Two endpoints that disagree about the numbers would answer each other's ACKs forever;
    # like Linux (tcp_invalid_ratelimit, 500 ms) the model answers at most one such segment per 0.5 s.
    c = start("ESTABLISHED", isns)
    stale = seg(ACK, c.rcv - 1, c.snd)
    assert c.recv(stale) == [exp("ACK", c.snd, c.rcv)]
    assert c.recv(stale, dt=0.1) == []
    assert c.recv(stale, dt=0.39) == []
    assert c.recv(stale, dt=0.01) == [exp("ACK", c.snd, c.rcv)]  # 0.5 s after the first answer


def test_an_old_duplicate_cannot_start_an_endless_ack_exchange():
    # No TIME-WAIT and a reused ISN: an old segment is delivered to the new connection and acknowledges
    # data the client never sent; each side then finds the other's ACK unacceptable (RFC 9293 3.10.7.4).
    old = tl.Segment(tl.Flags.PSH | tl.Flags.ACK, 101, 301, payload=b"PAY 100")
    steps = [("server", "listen", 0), ("client", "connect", 0), ("client", "send", "ESTABLISHED+0.5", b"PAY 100"),
             ("client", "close", "ESTABLISHED+2"), ("server", "close", "CLOSE-WAIT+1"),
             ("server", "listen", "CLOSED"), ("client", "connect", "CLOSED+0.1"), ("client", "inject", 3.31, old)]
    for delay in (0.05, 0.3):
        trace = tl.simulate(steps, client_isn=100, server_isn=300, time_wait=0, isn_clock=False, delay=delay)
        assert not trace.truncated
        assert len(trace.transmissions) < 30


@pytest.mark.parametrize("path", ["ESTABLISHED", "CLOSE-WAIT", "FIN-WAIT-1"])
def test_row24_ack_of_something_never_sent_gets_ack(isns, path):
    c = start(path, isns)
    assert c.recv(seg(ACK, c.rcv, c.snd + 10)) == [exp("ACK", c.snd, c.rcv)]
    assert c.state == path


@pytest.mark.parametrize("path", ["ESTABLISHED", "FIN-WAIT-2", "CLOSE-WAIT"])
def test_row24_segment_without_ack_bit_is_dropped_when_synchronized(isns, path):
    c = start(path, isns, auto_read=False)
    assert c.recv(seg(PSH, c.rcv, 0, b"data")) == []
    assert c.recv(seg(FIN, c.rcv)) == []
    assert c.state == path
    assert c.ep.read() == b""


# ====================================================================== row 25
@pytest.mark.parametrize("path, sends_rst", [
    ("SYN-RECEIVED (passive)", True), ("ESTABLISHED", True), ("FIN-WAIT-1", True), ("FIN-WAIT-2", True),
    ("CLOSE-WAIT", True),
    # RFC 9293 3.10.5: no RST where there is no synchronized peer to tell or the peer has closed
    ("LISTEN", False), ("SYN-SENT", False), ("CLOSING", False), ("LAST-ACK", False), ("TIME-WAIT", False),
])
def test_row25_abort_sends_rst_seq_snd_nxt_and_closes(isns, path, sends_rst):
    c = start(path, isns)
    expected = [exp("RST", c.snd)] if sends_rst else []
    assert c.call("abort") == expected
    assert c.state == "CLOSED"
    assert c.ep.next_deadline() is None


# ====================================================================== close() with unread data
@pytest.mark.parametrize("path", ["ESTABLISHED", "CLOSE-WAIT"])
def test_close_with_unread_data_sends_rst_not_fin(isns, path):
    # RFC 9293 3.6 (SHLD-3), and Linux: data the application never read is lost, so say so with RST
    c = start(path, isns, auto_read=False)
    x, y = c.x, c.y
    if path == "ESTABLISHED":
        assert c.recv(seg(PSH | ACK, y + 1, x + 1, b"unread")) == [exp("ACK", x + 1, y + 7)]
    else:  # in CLOSE-WAIT the peer can send no more, so the data came with the FIN
        c = start("ESTABLISHED", isns, auto_read=False)
        assert c.recv(seg(FIN | PSH | ACK, y + 1, x + 1, b"unread")) == [exp("ACK", x + 1, y + 8)]
        assert c.state == "CLOSE-WAIT"
    assert c.call("close") == [exp("RST", x + 1)]
    assert c.state == "CLOSED"


def test_close_after_reading_everything_sends_fin(isns):
    c = start("ESTABLISHED", isns, auto_read=False)
    x, y = c.x, c.y
    c.recv(seg(PSH | ACK, y + 1, x + 1, b"read me"))
    assert c.ep.read() == b"read me"
    assert c.call("close") == [exp("FIN,ACK", x + 1, y + 8)]
    assert c.state == "FIN-WAIT-1"


# ====================================================================== the table itself
def test_every_state_event_key_is_unique():
    keys = [(row.state, row.event) for row in tl.TABLE]
    assert len(keys) == len(set(keys))
    two_way = [(row.state, row.event) for row in tl.TWO_WAY]
    assert len(two_way) == len(set(two_way))


def test_every_state_appears_in_the_table():
    assert len(S) == 11
    assert {row.state for row in tl.TABLE} == set(S)
    assert {row.next for row in tl.TABLE} == set(S)  # and every state is entered by some row


def test_every_action_is_known_and_every_row_cites_a_source():
    for row in tl.TABLE + tl.TWO_WAY:
        assert set(row.actions) <= set(ACTIONS), row
        assert row.rfc, row


def test_the_two_way_counterfactual_only_changes_its_own_rows():
    three, two = lookup_table("three-way"), lookup_table("two-way")
    changed = {key for key in two if two[key] != three.get(key)}
    assert changed == {(row.state, row.event) for row in tl.TWO_WAY}
    assert all(row.rfc == "two-way" for row in tl.TWO_WAY)


def test_user_calls_in_the_table_are_the_documented_ones():
    calls = {row.event for row in tl.TABLE if not row.event.startswith(("rcv_", "rto", "give_up", "time_wait"))}
    assert set(USER_CALLS) <= calls


# ====================================================================== illegal user calls
def _protocol_error(c: Conn, call: str, *args, state: str):
    before = (c.ep.state, c.ep.next_deadline())
    with pytest.raises(tl.ProtocolError) as info:
        c.call(call, *args)
    message = str(info.value)
    assert f"{call}()" in message and state in message, message
    assert (c.ep.state, c.ep.next_deadline()) == before  # nothing changed
    return message


def test_close_twice_in_listen_second_fails(isns):
    c = start("LISTEN", isns)
    assert c.call("close") == []
    assert c.state == "CLOSED"
    message = _protocol_error(c, "close", state="CLOSED")
    assert "can't close() in state CLOSED" in message


def test_send_in_closed_fails(isns):
    c = start("CLOSED", isns)
    message = _protocol_error(c, "send", b"x", state="CLOSED")
    assert "ESTABLISHED" in message  # says where send() is allowed


def test_abort_in_closed_fails(isns):
    _protocol_error(start("CLOSED", isns), "abort", state="CLOSED")


@pytest.mark.parametrize("path, call, args", [
    ("ESTABLISHED", "connect", ()),
    ("ESTABLISHED", "listen", ()),
    ("SYN-SENT", "listen", ()),
    ("LISTEN", "listen", ()),
    ("LISTEN", "send", (b"x",)),
    ("FIN-WAIT-1", "send", (b"x",)),  # RFC 9293 3.10.2: "error: connection closing"
    ("TIME-WAIT", "shutdown", ("SHUT_WR",)),  # Linux: the socket is apart from its TIME-WAIT (ENOTCONN)
    ("CLOSING", "send", (b"x",)),
])
def test_illegal_call_names_the_call_and_the_state(isns, path, call, args):
    c = start(path, isns)
    _protocol_error(c, call, *args, state=path)
    # the endpoint is still usable after the error
    assert c.ep.abort(c.tick()) is not None
    assert c.state == "CLOSED"


# ====================================================================== a second connection
def test_a_closed_endpoint_can_connect_again_with_a_new_isn(isns):
    c = start("TIME-WAIT", isns)
    c.t = c.ep.next_deadline()
    c.ep.on_timer(c.t)
    assert c.state == "CLOSED"
    out = c.call("connect")
    assert len(out) == 1 and out[0][0] == "SYN"
    assert out[0][1] != c.x  # RFC 9293 3.4.1: a new ISN for a new connection
    assert c.state == "SYN-SENT"


def test_all_paths_are_reachable_by_the_driver():
    for path in PATHS:
        drive(path)


# ====================================================================== the retransmission timer (RFC 6298)
def test_rto_follows_rfc_6298_from_rtt_samples(isns):
    c = Conn(*isns, rto=0.1)  # initial RTO 0.1 s, also its floor
    x, y = c.x, c.y
    assert wire(c.ep.connect(0.0)) == [exp("SYN", x)]
    assert c.ep.next_deadline() == pytest.approx(0.1)
    # first sample R = 0.05: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4*RTTVAR (2.2)
    assert wire(c.ep.receive(0.05, seg(SYN | ACK, y, x + 1))) == [exp("ACK", x + 1, y + 1)]
    srtt, rttvar = 0.05, 0.025
    wire(c.ep.send(1.0, b"a"))
    assert c.ep.next_deadline() == pytest.approx(1.0 + srtt + 4 * rttvar)
    # second sample R = 0.2: RTTVAR first, from the old SRTT (2.3)
    assert wire(c.ep.receive(1.2, seg(ACK, y + 1, x + 2))) == []
    rttvar = 0.75 * rttvar + 0.25 * abs(srtt - 0.2)
    srtt = 0.875 * srtt + 0.125 * 0.2
    rto = srtt + 4 * rttvar
    wire(c.ep.send(2.0, b"b"))
    assert c.ep.next_deadline() == pytest.approx(2.0 + rto)
    # expiry: retransmit the same segment and double the RTO (5.4, 5.5)
    assert wire(c.ep.on_timer(2.0 + rto)) == [exp("PSH,ACK", x + 2, y + 1, 1)]
    assert c.ep.next_deadline() == pytest.approx(2.0 + rto + 2 * rto)


def test_rto_never_falls_below_its_floor(isns):
    c = Conn(*isns, rto=1.0)
    c.ep.connect(0.0)
    c.ep.receive(0.01, seg(SYN | ACK, c.y, c.x + 1))  # RTT 10 ms would give RTO 30 ms
    c.ep.send(1.0, b"a")
    assert c.ep.next_deadline() == pytest.approx(2.0)  # RFC 6298 2.4: rounded up to the 1 s minimum

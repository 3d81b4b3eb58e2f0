"""The segment: header flag bits, SEG.LEN, sequence arithmetic modulo 2**32 (RFC 9293 3.1, 3.4)."""
import pytest

import tcplesson as tl
from tcplesson.segment import SEQ_MOD, flag_names, seq_add, seq_diff, seq_in, seq_le, seq_lt

F = tl.Flags


# ---------------------------------------------------------------- flags (RFC 9293 3.1, figure 1)
@pytest.mark.parametrize("name, bit", [
    ("FIN", 0x01), ("SYN", 0x02), ("RST", 0x04), ("PSH", 0x08),
    ("ACK", 0x10), ("URG", 0x20), ("ECE", 0x40), ("CWR", 0x80),
])
def test_flag_bit_values(name, bit):
    assert int(F[name]) == bit


def test_there_are_exactly_eight_flags_and_they_fill_one_byte():
    assert len(list(F)) == 8
    combined = 0
    for flag in F:
        combined |= int(flag)
    assert combined == 0xFF


@pytest.mark.parametrize("flags, text", [
    (F.SYN, "SYN"),
    (F.SYN | F.ACK, "SYN,ACK"),
    (F.FIN | F.ACK, "FIN,ACK"),
    (F.RST | F.ACK, "RST,ACK"),
    (F.PSH | F.ACK, "PSH,ACK"),
    (F(0), "none"),
])
def test_flag_names_are_written_like_tcpdump_and_textbooks(flags, text):
    assert flag_names(flags) == text


# ---------------------------------------------------------------- immutability
def test_segment_is_immutable():
    seg = tl.Segment(F.SYN, 100)
    with pytest.raises(AttributeError):
        seg.seq = 5
    with pytest.raises(AttributeError):
        seg.flags = F.ACK
    with pytest.raises(TypeError):
        seg[1] = 5  # type: ignore[index]
    with pytest.raises((AttributeError, TypeError)):
        seg.extra = 1  # no __dict__ to grow
    assert seg.seq == 100 and seg.flags == F.SYN


def test_segment_is_hashable_and_compares_by_value():
    a = tl.Segment(F.SYN | F.ACK, 300, 101)
    b = tl.Segment(F.SYN | F.ACK, 300, 101)
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a != tl.Segment(F.SYN | F.ACK, 300, 102)


def test_constructor_stores_given_values_and_flags_as_flags():
    seg = tl.Segment(0x12, 7, 9, 1000, b"hi")
    assert (seg.flags, seg.seq, seg.ack, seg.window, seg.payload) == (F.SYN | F.ACK, 7, 9, 1000, b"hi")
    assert isinstance(seg.flags, F)


def test_payload_given_as_bytearray_is_copied_to_bytes():
    buf = bytearray(b"abc")
    seg = tl.Segment(F.ACK | F.PSH, 1, 1, payload=buf)
    buf[0] = ord("z")
    assert seg.payload == b"abc" and type(seg.payload) is bytes


# ---------------------------------------------------------------- SEG.LEN (RFC 9293 3.4)
@pytest.mark.parametrize("flags, payload, length", [
    (F.SYN, b"", 1),
    (F.FIN, b"", 1),
    (F.FIN | F.ACK, b"", 1),
    (F.SYN | F.ACK, b"", 1),
    (F.ACK, b"", 0),
    (F.RST, b"", 0),
    (F.RST | F.ACK, b"", 0),
    (F.PSH | F.ACK, b"x" * 100, 100),
    (F.FIN | F.PSH | F.ACK, b"x" * 100, 101),  # a FIN can carry data (seen on Linux)
    (F.SYN | F.FIN, b"abc", 5),  # SYN and FIN count one each, on top of the bytes
    (F.URG | F.ECE | F.CWR | F.PSH, b"", 0),
])
def test_seq_len_counts_syn_and_fin_once_each_and_every_payload_byte(flags, payload, length):
    seg = tl.Segment(flags, 1000, payload=payload)
    assert seg.seq_len == length
    assert seg.end_seq == 1000 + length


def test_end_seq_wraps_around_the_circle():
    assert tl.Segment(F.SYN, SEQ_MOD - 1).end_seq == 0
    assert tl.Segment(F.PSH | F.ACK, SEQ_MOD - 2, payload=b"abcd").end_seq == 2


# ---------------------------------------------------------------- modulo-2**32 arithmetic
def test_seq_add_wraps():
    assert seq_add(SEQ_MOD - 1, 1) == 0
    assert seq_add(SEQ_MOD - 1, 2) == 1
    assert seq_add(5, SEQ_MOD) == 5
    assert seq_add(10, -20) == SEQ_MOD - 10
    assert seq_add(100, 1) == 101


def test_seq_lt_and_le_compare_on_the_circle():
    top = SEQ_MOD - 1
    # 2**32-1 comes just before 0, 1, 2 ... on the circle
    assert seq_lt(top, 0) and seq_lt(top, 1) and seq_le(top, 0)
    assert not seq_lt(0, top) and not seq_le(0, top)
    # plain numbers far from the wrap point behave as usual
    assert seq_lt(100, 101) and not seq_lt(101, 100)
    assert seq_le(100, 100) and not seq_lt(100, 100)
    # half the circle ahead is still "after"
    assert seq_lt(0, 2**31 - 1)
    assert seq_lt(SEQ_MOD - 10, 2**31 - 11)


def test_seq_diff_is_signed_distance():
    assert seq_diff(0, SEQ_MOD - 1) == 1
    assert seq_diff(SEQ_MOD - 1, 0) == -1
    assert seq_diff(5, 5) == 0
    assert seq_diff(3, 10) == -7


def test_seq_in_window_test_wraps():
    top = SEQ_MOD - 1
    assert seq_in(top, top, 5)  # low <= x
    assert seq_in(top, 0, 5) and seq_in(top, 4, 5)
    assert not seq_in(top, 5, 5)  # x < high
    assert not seq_in(top, top - 1, 5)


# ---------------------------------------------------------------- str()
@pytest.mark.parametrize("seg, text", [
    (tl.Segment(F.SYN, 100), "SYN seq=100"),
    (tl.Segment(F.SYN | F.ACK, 300, 101), "SYN,ACK seq=300 ack=101"),
    (tl.Segment(F.ACK, 101, 301), "ACK seq=101 ack=301"),
    (tl.Segment(F.FIN | F.ACK, 101, 301), "FIN,ACK seq=101 ack=301"),
    (tl.Segment(F.RST, 91, 1234), "RST seq=91"),  # ack is not shown when the ACK bit is off
    (tl.Segment(F.RST | F.ACK, 0, 101), "RST,ACK seq=0 ack=101"),
    (tl.Segment(F.PSH | F.ACK, 301, 102, payload=b"x" * 1460), "PSH,ACK seq=301 ack=102 len=1460"),
])
def test_str_shows_flags_and_numbers(seg, text):
    assert str(seg) == text


def test_label_relative_numbers_wrap():
    seg = tl.Segment(F.ACK, 5, 7)
    assert seg.label(seq_base=SEQ_MOD - 5, ack_base=7) == "ACK seq=10 ack=0"


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("kwargs, exc, name", [
    (dict(flags=0x100), ValueError, "flags"),
    (dict(flags=-1), ValueError, "flags"),
    (dict(flags=F.SYN, seq=-1), ValueError, "seq"),
    (dict(flags=F.SYN, seq=SEQ_MOD), ValueError, "seq"),
    (dict(flags=F.SYN, seq="1"), TypeError, "seq"),
    (dict(flags=F.SYN, seq=1.0), TypeError, "seq"),
    (dict(flags=F.ACK, ack=SEQ_MOD), ValueError, "ack"),
    (dict(flags=F.ACK, ack=-5), ValueError, "ack"),
    (dict(flags=F.ACK, window=2**16), ValueError, "window"),
    (dict(flags=F.ACK, window=-1), ValueError, "window"),
    (dict(flags=F.ACK, payload="text"), TypeError, "payload"),
    (dict(flags=F.ACK, payload=[1, 2]), TypeError, "payload"),
    (dict(flags="SYN"), TypeError, "flags"),
    (dict(flags=True), TypeError, "flags"),
])
def test_constructor_errors_name_the_parameter(kwargs, exc, name):
    with pytest.raises(exc) as info:
        tl.Segment(**kwargs)
    assert name in str(info.value)


def test_range_errors_say_what_is_allowed():
    with pytest.raises(ValueError, match=r"seq must be an integer between 0 and 4294967295, got 4294967296"):
        tl.Segment(F.SYN, SEQ_MOD)
    with pytest.raises(ValueError, match=r"window .*between 0 and 65535"):
        tl.Segment(F.ACK, window=70000)


def test_boundary_values_are_accepted():
    seg = tl.Segment(0xFF, SEQ_MOD - 1, SEQ_MOD - 1, 0, b"")
    assert seg.seq == SEQ_MOD - 1 and seg.ack == SEQ_MOD - 1 and seg.window == 0
    assert seg.seq_len == 2  # SYN and FIN both set

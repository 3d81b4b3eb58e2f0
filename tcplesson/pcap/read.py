"""Reading a capture file: its packets decoded to TCP segments and split into connections.

dpkt parses the containers (pcap, pcapng), link layers, IP and TCP; this module only decides what
a packet means for a connection, and hands each connection to ``replay`` for its states.
"""
from __future__ import annotations

import io
import socket
import struct
import warnings
from collections import Counter
from typing import NamedTuple

import dpkt

from .._check import check_number
from ..segment import Flags, Segment
from ._common import check_path
from .replay import CapturedTrace, Replay
from .write import LINKTYPE_RAW

LINUX_TIME_WAIT = 60.0  # TCP_TIMEWAIT_LEN: Linux keeps TIME-WAIT for 60 s, whatever the MSL

_PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"}
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
# Errors dpkt raises on bytes it cannot make sense of; each is turned into PcapError or a skipped packet.
_DPKT_ERRORS = (dpkt.Error, ValueError, struct.error, IndexError, KeyError, TypeError, OverflowError,
                ArithmeticError, UnicodeDecodeError)


class PcapError(ValueError):
    """A file that cannot be read as a capture: not pcap/pcapng, a broken header, an unknown link type."""


class PcapWarning(UserWarning):
    """Packets that were skipped while reading a capture, with the reasons (one warning per file)."""


class Frame(NamedTuple):
    """One TCP packet of the file: where and when it was seen, between which ends, what it carried."""

    frame: int  # 1-based position in the file (as Wireshark numbers them)
    time: float
    src: tuple  # (address, port)
    dst: tuple
    segment: Segment
    options: dict  # the TCP options the course talks about (see _options)


def read_pcap(path, *, time_wait: float = LINUX_TIME_WAIT) -> list[CapturedTrace]:
    """Read a pcap or pcapng file and return one CapturedTrace per TCP connection, in order of their first SYN.

    ``time_wait`` is how long the inferred TIME-WAIT lasts (Linux: 60 s). Link types: Ethernet,
    Linux "any" (SLL, SLL2), BSD loopback and raw IP; IPv4 and IPv6. Packets that are not TCP,
    fragments, truncated headers, and segments of connections whose SYN is not in the file are
    skipped, and a PcapWarning says how many and why. A file that is not a capture, or whose
    header is broken, raises PcapError; a missing file raises the usual OSError. Checksums are not
    checked: on loopback Linux leaves them to (absent) hardware, so captures show them wrong.

    A capture is taken at one place, so each segment is taken to reach its receiver when the
    capture saw it, which is right on loopback or at either end of a connection. SYNs or FINs that
    crossed are put back in the order their ACK fields show, and a hole in the sequence numbers
    counts as segments lost before the capture point. What one place cannot see stays ambiguous:
    segments reordered after the capture point, a call whose every segment was lost, or an old
    duplicate SYN (on the wire it is a connect()).
    """
    time_wait = check_number("time_wait", time_wait, low=0.0)
    path = check_path(path)
    data = path.read_bytes()
    skipped: Counter = Counter()
    packets = _packets(data, path.name, skipped)
    connections = _connections(packets, skipped)
    replays = [Replay(path.name, conn, time_wait) for conn in connections]
    traces = [replay.run() for replay in replays]
    notes = []
    if skipped:
        reasons = "; ".join(f"{n} {reason}" for reason, n in skipped.most_common())
        notes.append(f"skipped {sum(skipped.values())} packet(s): {reasons}")
    backwards = sum(replay.backwards for replay in replays)
    if backwards:
        notes.append(f"{backwards} timestamp(s) went back in time and were read as the one before")
    if notes:
        warnings.warn(f"{path.name}: " + "; ".join(notes), PcapWarning, stacklevel=2)
    return traces


def _records(data: bytes, name: str):
    """(frame number, time, link type, bytes) for each packet record, via dpkt's readers."""
    magic = data[:4]
    try:
        if magic in _PCAP_MAGICS:
            reader = dpkt.pcap.Reader(io.BytesIO(data))
        elif magic == _PCAPNG_MAGIC:
            reader = dpkt.pcapng.Reader(io.BytesIO(data))
        else:
            raise PcapError(f"{name} is not a pcap or pcapng capture file (it starts with {magic.hex() or 'nothing'})")
        linktype = reader.datalink()
    except PcapError:
        raise
    except _DPKT_ERRORS as error:
        raise PcapError(f"{name}: broken capture file header ({_describe(error)})") from None
    if linktype not in _LINK_DECODERS:
        raise PcapError(f"{name}: link type {linktype} is not supported; read_pcap understands Ethernet, "
                        "Linux cooked (SLL, SLL2), BSD loopback and raw IP captures")
    frame = 0
    records_iter = iter(reader)
    while True:
        try:
            item = next(records_iter)
        except StopIteration:
            return
        except _DPKT_ERRORS as error:
            raise PcapError(f"{name}: the file is cut short or broken after packet {frame} "
                            f"({_describe(error)})") from None
        frame += 1
        yield frame, item[0], linktype, item[1]


def _packets(data: bytes, name: str, skipped: Counter) -> list[Frame]:
    out = []
    for frame, ts, linktype, buf in _records(data, name):
        try:
            time = float(ts)
            decoded = _decode(_LINK_DECODERS[linktype](buf))
        except _DPKT_ERRORS as error:
            skipped[f"malformed ({_describe(error)})"] += 1
            continue
        if isinstance(decoded, str):
            skipped[decoded] += 1
            continue
        src, dst, segment, options = decoded
        out.append(Frame(frame, time, src, dst, segment, options))
    return out


def _describe(error: Exception) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _ethernet(buf: bytes):
    return dpkt.ethernet.Ethernet(buf).data


def _sll(buf: bytes):
    return dpkt.sll.SLL(buf).data


def _sll2(buf: bytes):
    return dpkt.sll2.SLL2(buf).data


def _loopback(buf: bytes):
    return dpkt.loopback.Loopback(buf).data


def _raw(buf: bytes):
    version = buf[0] >> 4 if buf else 0
    if version == 4:
        return dpkt.ip.IP(buf)
    if version == 6:
        return dpkt.ip6.IP6(buf)
    return buf


_LINK_DECODERS = {
    dpkt.pcap.DLT_EN10MB: _ethernet,
    dpkt.pcap.DLT_LINUX_SLL: _sll,
    dpkt.pcap.DLT_LINUX_SLL2: _sll2,
    dpkt.pcap.DLT_NULL: _loopback,
    dpkt.pcap.DLT_LOOP: _loopback,
    LINKTYPE_RAW: _raw,
    12: _raw, 14: _raw,  # DLT_RAW as some systems write it
    dpkt.pcap.DLT_IPV4: _raw,
    dpkt.pcap.DLT_IPV6: _raw,
}


def _decode(net):
    """(src, dst, Segment, options) for a TCP packet, or the reason it is skipped (a str)."""
    if isinstance(net, dpkt.ip.IP):
        if net.mf or net.offset:
            return "IP fragments"
        if net.p != dpkt.ip.IP_PROTO_TCP:
            return f"not TCP ({_proto_name(net.p)})"
        family, header = socket.AF_INET, net.hl * 4
        wire = net.len - header if net.len else None  # len 0: a segmentation-offload super-packet
    elif isinstance(net, dpkt.ip6.IP6):
        if net.nxt != dpkt.ip.IP_PROTO_TCP:
            return f"not TCP ({_proto_name(net.nxt)}, or IPv6 extension headers)"
        family, wire = socket.AF_INET6, net.plen or None
    else:
        return "not IPv4 or IPv6"
    tcp = net.data
    if not isinstance(tcp, dpkt.tcp.TCP):
        return "TCP header cut short or malformed"
    header = tcp.off * 4
    if header < 20:
        return "TCP header length below 20 bytes"
    if len(tcp.opts) < header - 20:
        return "TCP header cut short or malformed"
    payload = bytes(tcp.data)
    if wire is not None:
        length = wire - header
        if length < 0:
            return "TCP header longer than its IP packet"
        # A snap length cut the payload short: its length still counts in the sequence space.
        payload = payload[:length] + bytes(max(0, length - len(payload)))
    src = (socket.inet_ntop(family, net.src), tcp.sport)
    dst = (socket.inet_ntop(family, net.dst), tcp.dport)
    segment = Segment(tcp.flags & 0xFF, tcp.seq, tcp.ack, tcp.win, payload)
    return src, dst, segment, _options(tcp.opts)


def _proto_name(number: int) -> str:
    return {1: "ICMP", 17: "UDP", 58: "ICMPv6"}.get(number, f"IP protocol {number}")


def _options(raw: bytes) -> dict:
    """The options the course talks about, from a TCP header's option bytes."""
    out = {}
    for item in dpkt.tcp.parse_opts(raw):
        if item is None:
            break
        kind, value = item
        if kind == dpkt.tcp.TCP_OPT_MSS and len(value) == 2:
            out["mss"] = struct.unpack(">H", value)[0]
        elif kind == dpkt.tcp.TCP_OPT_WSCALE and len(value) == 1:
            out["window_scale"] = value[0]
        elif kind == dpkt.tcp.TCP_OPT_SACKOK:
            out["sack_permitted"] = True
        elif kind == dpkt.tcp.TCP_OPT_TIMESTAMP:
            out["timestamps"] = True
    return out


# ------------------------------------------------------------------ packets -> connections
class Connection:
    """The packets of one TCP connection, in file order; the client is whoever sent the first SYN."""

    def __init__(self, first: Frame) -> None:
        self.client, self.server = first.src, first.dst
        self.packets = [first]

    def side(self, packet: Frame) -> str:
        return "client" if packet.src == self.client else "server"


def _connections(packets: list[Frame], skipped: Counter) -> list[Connection]:
    """Split packets into connections: a new one starts with a SYN that is not part of the current one."""
    current: dict[frozenset, Connection] = {}
    done: list[Connection] = []
    for packet in packets:
        key = frozenset((packet.src, packet.dst))
        conn = current.get(key)
        seg = packet.segment
        opening = seg.has(Flags.SYN) and not seg.has(Flags.ACK)
        if opening and (conn is None or _starts_anew(conn, packet)):
            conn = current[key] = Connection(packet)
            done.append(conn)
        elif conn is None:
            skipped["segments of a connection whose SYN is not in the capture"] += 1
        else:
            conn.packets.append(packet)
    return done


def _starts_anew(conn: Connection, packet: Frame) -> bool:
    """A SYN opens a new connection unless it repeats the client's SYN or crosses it (simultaneous open)."""
    first = conn.packets[0].segment
    if conn.side(packet) == "client":
        return packet.segment.seq != first.seq
    return any(p.segment.has(Flags.ACK) or conn.side(p) == "server" for p in conn.packets)


"""Capture files in and out: a Trace written as a pcap that Wireshark opens, a capture read back as Traces.

Writing turns each transmission of a Trace into an IPv4 (or IPv6) packet with a TCP header whose
checksums are right, stamped with the simulated time, so that Wireshark's Flow Graph of a model run
can be put next to one of a real run. Reading goes the other way: every TCP connection in a
capture becomes a Trace, and the states of both sides are inferred by feeding the captured
segments through two model Endpoints. The Endpoint is the same one the simulator runs, so a real
capture gets the same state annotations as a simulation; where the model would not have accepted
or sent a captured segment, that is listed in ``trace.mismatches`` rather than smoothed over.

Packets are encoded and parsed with dpkt (link layers, IP, TCP, options, pcap and pcapng
containers); this module only decides what a packet means for a connection.
"""
from __future__ import annotations

import io
import ipaddress
import os
import socket
import struct
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import dpkt

from . import labels, records
from ._check import check_choice, check_number
from .endpoint import Endpoint, ProtocolError
from .segment import MAX_WINDOW, Flags, Segment, seq_diff, seq_le
from .states import State
from .trace import SIDES, Happening, Trace, Transition, Transmission

LINUX_TIME_WAIT = 60.0  # TCP_TIMEWAIT_LEN: Linux keeps TIME-WAIT for 60 s, whatever the MSL
DEFAULT_CLIENT = ("192.0.2.1", 49152)  # RFC 5737 documentation addresses, an ephemeral port
DEFAULT_SERVER = ("192.0.2.2", 5001)
LOST_CHOICES = ("omit", "mark")
SNAPLEN = 262144  # what tcpdump uses
LINKTYPE_RAW = 101  # IP packets with no link layer (dpkt's DLT_RAW is the in-memory number, 12 or 14)

_PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"}
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
# Errors dpkt raises on bytes it cannot make sense of; each is turned into PcapError or a skipped packet.
_DPKT_ERRORS = (dpkt.Error, ValueError, struct.error, IndexError, KeyError, TypeError, OverflowError,
                ArithmeticError, UnicodeDecodeError)
_NOT_MODELLED = int(Flags.PSH | Flags.URG | Flags.ECE | Flags.CWR)


class PcapError(ValueError):
    """A file that cannot be read as a capture: not pcap/pcapng, a broken header, an unknown link type."""


class PcapWarning(UserWarning):
    """Packets that were skipped while reading a capture, with the reasons (one warning per file)."""


class Mismatch(NamedTuple):
    """A captured segment the model disagrees with: ``who``'s model would drop it or would not send it."""

    index: int  # the transmission number in the Trace (1-based)
    who: str
    segment: Segment
    reason: str

    def __str__(self) -> str:
        return f"#{self.index} {self.segment} ({self.who}): {self.reason}"


@dataclass(repr=False)
class CapturedTrace(Trace):
    """A Trace read from a capture file: one TCP connection, with what the capture adds.

    ``client_addr`` / ``server_addr`` are (address, port); the client is the side that sent the
    first SYN (both are the same for a socket connected to itself). ``options`` holds the TCP
    options each side sent on its SYN: ``mss``, ``window_scale``, ``sack_permitted`` and
    ``timestamps``. ``mismatches`` lists the segments the model would have dropped or would not
    have sent. ``frames`` gives, for each transmission, its packet number in the file (as Wireshark
    numbers them), and ``start`` the capture time of the first segment, which is time 0 here.
    """

    source: str = ""
    client_addr: tuple = ("", 0)
    server_addr: tuple = ("", 0)
    options: dict = field(default_factory=dict)
    mismatches: list = field(default_factory=list)
    frames: list = field(default_factory=list)
    start: float = 0.0

    @property
    def self_connect(self) -> bool:
        """True for a socket that connected to its own port (one socket plays both sides)."""
        return self.client_addr == self.server_addr

    def summary(self, lang: str | None = None) -> str:
        """One line: what the capture shows and what the model made of it (in tl.set_language()'s language)."""
        t = lambda key, **fields: labels.text(key, lang, **fields)  # noqa: E731
        opened = [self.first_time(who, State.ESTABLISHED) for who in SIDES]
        parts = [t("capture.between", client=_endpoint_text(self.client_addr), server=_endpoint_text(self.server_addr)),
                 t("capture.open", time=f"{max(opened):.6f}") if None not in opened else t("capture.never_open"),
                 t("capture.counts", n=len(self.transmissions),
                   again=sum(tx.retransmission for tx in self.transmissions))]
        for who in SIDES[:1] if self.self_connect else SIDES:
            entered = self.first_time(who, State.TIME_WAIT)
            if entered is not None and self.final_states[who] is State.TIME_WAIT:
                parts.append(t("capture.time_wait", who=t(who), start=f"{entered:.6f}"))
            if self.outcomes[who]:
                parts.append(t("summary.outcome", who=t(who), outcome=t(f"outcome.{self.outcomes[who]}")))
        ends = t("list_sep").join(t("summary.side_state", who=t(who), state=self.final_states[who]) for who in SIDES)
        parts.append(t("summary.ends", states=ends))
        if self.mismatches:
            parts.append(t("capture.mismatches", n=len(self.mismatches)))
        return t("summary.sep").join(parts)

    def __repr__(self) -> str:
        final = ", ".join(f"{who} {state}" for who, state in self.final_states.items())
        return (f"<CapturedTrace {_endpoint_text(self.client_addr)} -> {_endpoint_text(self.server_addr)}: "
                f"{len(self.transmissions)} segments, ends {final}>")


# ---------------------------------------------------------------------------------------- writing
def write_pcap(trace: Trace, path, *, lost: str = "omit", client=None, server=None) -> Path:
    """Write ``trace`` to ``path`` as a capture and return the path.

    Each transmission becomes one packet stamped with the time it was sent (simulated seconds
    after 1970-01-01, so Wireshark's "seconds since beginning of capture" are the Trace's times).
    ``lost="omit"`` writes a classic pcap without the segments the link lost (what a capture at
    the receiver would show). ``lost="mark"`` writes pcapng instead, the format that can carry a
    comment per packet: lost segments are kept at the time they were sent, with the comment
    "lost", and retransmissions and old duplicates are commented too. ``client`` and ``server``
    are (address, port) pairs; by default a captured trace keeps its own, a simulated one gets
    documentation addresses.
    """
    if not isinstance(trace, Trace):
        raise TypeError(f"trace must be a tcplesson Trace, got {type(trace).__name__}")
    check_choice("lost", lost, LOST_CHOICES)
    ends = {"client": client, "server": server}
    for who in SIDES:
        if ends[who] is None:
            ends[who] = getattr(trace, f"{who}_addr", None) or (DEFAULT_CLIENT if who == "client" else DEFAULT_SERVER)
        ends[who] = _check_endpoint(who, ends[who])
    if ipaddress.ip_address(ends["client"][0]).version != ipaddress.ip_address(ends["server"][0]).version:
        raise ValueError("client and server must both be IPv4 or both IPv6 addresses")
    path = _check_path(path)
    start = getattr(trace, "start", 0.0)

    buffer = io.BytesIO()
    if lost == "omit":
        writer = dpkt.pcap.Writer(buffer, snaplen=SNAPLEN, linktype=LINKTYPE_RAW)
    else:
        writer = dpkt.pcapng.Writer(buffer, snaplen=SNAPLEN, linktype=LINKTYPE_RAW)
    ip_ids = {who: 0 for who in SIDES}
    for tx in trace.transmissions:
        if tx.lost and lost == "omit":
            continue
        src, dst = ends[tx.sender], ends[tx.receiver]
        ip_ids[tx.sender] = (ip_ids[tx.sender] + 1) & 0xFFFF
        packet = _packet(src, dst, tx.segment, ip_ids[tx.sender])
        when = start + tx.sent_at
        if lost == "omit":
            writer.writepkt(packet, ts=when)
        else:
            writer.writepkt(_commented_block(writer, packet, _comment(tx)), ts=when)
    path.write_bytes(buffer.getvalue())
    return path


def _packet(src, dst, seg: Segment, ip_id: int) -> bytes:
    """One IP packet carrying ``seg``; dpkt fills in the lengths and both checksums."""
    tcp = dpkt.tcp.TCP(sport=src[1], dport=dst[1], seq=seg.seq, ack=seg.ack, flags=int(seg.flags),
                       win=seg.window, sum=0, data=seg.payload)
    tcp.off = 5
    if ipaddress.ip_address(src[0]).version == 4:
        ip = dpkt.ip.IP(src=socket.inet_pton(socket.AF_INET, src[0]), dst=socket.inet_pton(socket.AF_INET, dst[0]),
                        p=dpkt.ip.IP_PROTO_TCP, ttl=64, id=ip_id, df=1, data=tcp)
        return bytes(ip)
    ip6 = dpkt.ip6.IP6(src=socket.inet_pton(socket.AF_INET6, src[0]), dst=socket.inet_pton(socket.AF_INET6, dst[0]),
                       nxt=dpkt.ip.IP_PROTO_TCP, hlim=64, plen=len(tcp), data=tcp)
    tcp.sum = _ipv6_tcp_checksum(ip6.src, ip6.dst, bytes(tcp))
    return bytes(ip6)


def _ipv6_tcp_checksum(src: bytes, dst: bytes, segment: bytes) -> int:
    # dpkt fills in IPv4 checksums itself; for IPv6 the pseudo-header is added here (RFC 8200 8.1).
    pseudo = src + dst + struct.pack(">IxxxB", len(segment), dpkt.ip.IP_PROTO_TCP)
    return dpkt.in_cksum(pseudo + segment)


def _comment(tx: Transmission) -> str:
    notes = []
    if tx.lost:
        notes.append("lost: this segment never arrived")
    if tx.retransmission:
        notes.append("retransmission")
    if tx.stale:
        notes.append("old duplicate from an earlier connection")
    return "; ".join(notes)


def _commented_block(writer, packet: bytes, comment: str):
    little = writer._kls is dpkt.pcapng.EnhancedPacketBlockLE
    block = writer._kls(caplen=len(packet), pkt_len=len(packet), pkt_data=packet)
    if comment:
        option = dpkt.pcapng.PcapngOptionLE if little else dpkt.pcapng.PcapngOption
        block.opts = [option(code=dpkt.pcapng.PCAPNG_OPT_COMMENT, text=comment),
                      option(code=dpkt.pcapng.PCAPNG_OPT_ENDOFOPT)]
    return block


# ---------------------------------------------------------------------------------------- reading
class _Packet(NamedTuple):
    frame: int  # 1-based position in the file
    time: float
    src: tuple
    dst: tuple
    segment: Segment
    options: dict


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
    path = _check_path(path)
    data = path.read_bytes()
    skipped: Counter = Counter()
    packets = _packets(data, path.name, skipped)
    connections = _connections(packets, skipped)
    replays = [_Replay(path.name, conn, time_wait) for conn in connections]
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


def _check_path(path) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name (str or Path), got {type(path).__name__}")
    return Path(path)


def _check_endpoint(who: str, value) -> tuple[str, int]:
    name = f"{who} (address, port)"
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a pair like ('192.0.2.1', 49152), got {value!r}")
    address, port = value
    try:
        address = str(ipaddress.ip_address(address))
    except ValueError:
        raise ValueError(f"{name}: {address!r} is not an IPv4 or IPv6 address") from None
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 0xFFFF:
        raise ValueError(f"{name}: port must be an integer from 0 to 65535, got {port!r}")
    return address, port


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


def _packets(data: bytes, name: str, skipped: Counter) -> list[_Packet]:
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
        out.append(_Packet(frame, time, src, dst, segment, options))
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


def _endpoint_text(end) -> str:
    address, port = end
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


# ------------------------------------------------------------------ packets -> connections
class _Connection:
    def __init__(self, first: _Packet) -> None:
        self.client, self.server = first.src, first.dst
        self.packets = [first]

    def side(self, packet: _Packet) -> str:
        return "client" if packet.src == self.client else "server"


def _connections(packets: list[_Packet], skipped: Counter) -> list[_Connection]:
    """Split packets into connections: a new one starts with a SYN that is not part of the current one."""
    current: dict[frozenset, _Connection] = {}
    done: list[_Connection] = []
    for packet in packets:
        key = frozenset((packet.src, packet.dst))
        conn = current.get(key)
        seg = packet.segment
        opening = seg.has(Flags.SYN) and not seg.has(Flags.ACK)
        if opening and (conn is None or _starts_anew(conn, packet)):
            conn = current[key] = _Connection(packet)
            done.append(conn)
        elif conn is None:
            skipped["segments of a connection whose SYN is not in the capture"] += 1
        else:
            conn.packets.append(packet)
    return done


def _starts_anew(conn: _Connection, packet: _Packet) -> bool:
    """A SYN opens a new connection unless it repeats the client's SYN or crosses it (simultaneous open)."""
    first = conn.packets[0].segment
    if conn.side(packet) == "client":
        return packet.segment.seq != first.seq
    return any(p.segment.has(Flags.ACK) or conn.side(p) == "server" for p in conn.packets)


# ------------------------------------------------------------------ inferring the states
class _Replay:
    """Feed one connection's segments through model Endpoints and record what they make of them.

    Each captured segment is delivered to the receiver's Endpoint, which changes state as the RFC
    says. The sender's Endpoint must have produced the segment itself: either it is among what
    the model already sent in reply to earlier segments, or a user call explains it (a SYN is a
    connect(), data a send(), a FIN a close(), an RST an abort()). Anything else is a mismatch.
    """

    def __init__(self, source: str, conn: _Connection, time_wait: float) -> None:
        self.conn = conn
        self.backwards = 0
        self.received = {who: bytearray() for who in SIDES}
        packets = conn.packets
        self.t0 = packets[0].time
        first_syn = {side: next((p.segment for p in packets if conn.side(p) == side and p.segment.has(Flags.SYN)), None)
                     for side in SIDES}
        isns = {side: first_syn[side].seq if first_syn[side] is not None else 0 for side in SIDES}
        client = Endpoint("client", isn=isns["client"], max_retries=100, time_wait=time_wait, mss=MAX_WINDOW)
        server = client if conn.client == conn.server else Endpoint(
            "server", isn=isns["server"], max_retries=100, time_wait=time_wait, mss=MAX_WINDOW)
        self.ep = {"client": client, "server": server}
        # What each Endpoint has sent in the model and the capture has not shown yet (records.Sent).
        self.pending: dict[int, list[records.Sent]] = {id(client): [], id(server): []}
        self.options = {side: {} for side in SIDES}
        for p in packets:
            if p.segment.has(Flags.SYN) and not self.options[conn.side(p)]:
                self.options[conn.side(p)] = dict(p.options)
        for p in packets:
            if p.options.get("timestamps"):
                self.options[conn.side(p)]["timestamps"] = True
        if conn.client == conn.server:
            self.options["server"] = self.options["client"]  # one socket: the same options both ways
        scaled = all("window_scale" in self.options[s] for s in SIDES)
        self.shift = {s: self.options[s].get("window_scale", 0) if scaled else 0 for s in SIDES}
        self.trace = CapturedTrace(
            scenario=f"capture {source}", source=source, client_addr=conn.client, server_addr=conn.server,
            options=self.options, start=self.t0,
            params=dict(source=source, client_isn=isns["client"], server_isn=isns["server"],
                        time_wait=float(time_wait), msl=None, delay=0.0),
            states={who: [(0.0, State.CLOSED)] for who in SIDES},
            transitions={who: [] for who in SIDES}, outcomes={who: None for who in SIDES},
            delivered={who: b"" for who in SIDES})
        # A server that answers a SYN with SYN,ACK was listening before it arrived.
        server_syn = first_syn["server"]
        if server is not client and server_syn is not None and server_syn.has(Flags.ACK):
            server.listen(0.0)
            self._collect()

    def run(self) -> CapturedTrace:
        packets = self.conn.packets
        # For each packet, the next one each side sends (looked at for crossing segments).
        self.next_from: list[dict] = [{}] * len(packets)
        following: dict[str, _Packet] = {}
        for i in range(len(packets) - 1, -1, -1):
            self.next_from[i] = dict(following)
            following[self.conn.side(packets[i])] = packets[i]
        now = 0.0
        for i, packet in enumerate(packets):
            if packet.time - self.t0 < now:
                self.backwards += 1  # a timestamp that goes back: taken as the one before
            now = max(now, packet.time - self.t0)
            self._timers(now)
            self._segment(now, i)
            self.trace.end_time = now
        self.trace.delivered = {who: bytes(self.received[who]) for who in SIDES}
        return self.trace

    def _timers(self, now: float) -> None:
        for endpoint in self._endpoints():
            while (deadline := endpoint.next_deadline()) is not None and deadline <= now:
                endpoint.on_timer(deadline)
                self._collect()

    def _endpoints(self):
        client, server = self.ep["client"], self.ep["server"]
        return (client,) if client is server else (client, server)

    def _segment(self, now: float, position: int) -> None:
        packet = self.conn.packets[position]
        sender = self.conn.side(packet)
        receiver = "server" if sender == "client" else "client"  # the same Endpoint for a self-connect
        seg = packet.segment
        index = len(self.trace.transmissions) + 1
        self._fill_gap(now, sender, seg, position)
        retransmission = self._explain(now, sender, seg, index)
        self.trace.transmissions.append(Transmission(index, sender, seg, now, now, False, retransmission))
        self.trace.frames.append(packet.frame)
        target = self.ep[receiver]
        if target is not self.ep[sender]:
            self._crossing(now, receiver, seg, self.next_from[position].get(receiver))
        before = len(target.log)
        target.receive(now, self._as_received(seg, sender))
        for rec in target.log[before:]:
            if type(rec) is records.Dropped:
                self._mismatch(index, receiver, seg, f"the model in {target.state} drops it: {rec.reason}")
        self._collect()

    def _as_received(self, seg: Segment, sender: str) -> Segment:
        """The segment as the model should see it: the window field scaled (RFC 7323), capped at 65535."""
        if seg.has(Flags.SYN) or not self.shift[sender]:
            return seg
        return seg._replace(window=min(MAX_WINDOW, seg.window << self.shift[sender]))

    def _explain(self, now: float, who: str, seg: Segment, index: int) -> bool:
        """Account for a segment ``who`` sent; returns whether it is a retransmission."""
        endpoint = self.ep[who]
        taken = self._take_pending(endpoint, seg)
        if taken is not None:
            return taken
        if _pure_ack(seg) and endpoint.state.synchronized and seg.seq == endpoint.snd_nxt \
                and seg.ack == endpoint.rcv_nxt:
            return False  # an ACK the model may send at any time (a window update, a later delayed ACK)
        if seg.seq_len and endpoint.iss is not None and seq_le(endpoint.iss, seg.seq) \
                and seq_le(seg.end_seq, endpoint.snd_nxt):
            return True  # sent before: a retransmission
        calls = self._calls_for(endpoint, seg)
        self._call(now, who, calls)
        taken = self._take_pending(endpoint, seg) if calls else None
        if taken is not None:
            return taken
        self._mismatch(index, who, seg, f"the model in {endpoint.state} would not send it")
        return False

    def _fill_gap(self, now: float, who: str, seg: Segment, position: int) -> None:
        """Segments ``who`` sent that are not in the capture (lost before the capture point): send them in the model.

        A segment starting beyond the sender's SND.NXT means bytes, or a FIN, went by unseen. If a
        FIN ending exactly there shows up later (its retransmission), the last of them was that FIN.
        """
        endpoint = self.ep[who]
        if endpoint.state not in (State.ESTABLISHED, State.CLOSE_WAIT):
            return
        gap = seq_diff(seg.seq, endpoint.snd_nxt)
        if gap <= 0:
            return
        fin = any(self.conn.side(p) == who and p.segment.has(Flags.FIN) and p.segment.end_seq == seg.seq
                  for p in self.conn.packets[position + 1:])
        calls = [("send", (bytes(gap - fin),))] if gap - fin else []
        self._call(now, who, calls + ([("close", ())] if fin else []))

    def _crossing(self, now: float, receiver: str, seg: Segment, following: _Packet | None) -> None:
        """Make the receiver's next SYN or FIN first if its ACK field shows it was sent before ``seg`` arrived.

        A capture taken at one place orders segments by when it saw them, not by when each end
        did: SYNs or FINs that crossed in flight (a simultaneous open or close) reach the capture
        one after the other. The ACK field of the second says whether its sender had the first.
        """
        if not seg.seq_len:
            return
        nxt = following.segment if following is not None else None
        if nxt is None or not (nxt.has(Flags.FIN) or (nxt.has(Flags.SYN) and not nxt.has(Flags.ACK))):
            return
        if nxt.has(Flags.ACK) and seq_le(seg.end_seq, nxt.ack):
            return  # it had seen ``seg``: no crossing
        endpoint = self.ep[receiver]
        if any(_key(p.segment) == _key(nxt) for p in self.pending[id(endpoint)]):
            return
        self._call(now, receiver, self._calls_for(endpoint, nxt))

    def _call(self, now: float, who: str, calls: list) -> None:
        endpoint = self.ep[who]
        for call, args in calls:
            try:
                getattr(endpoint, call)(now, *args)
            except ProtocolError as error:
                self.trace.happenings.append(Happening(now, who, "call error", str(error)))
                break
            self.trace.happenings.append(Happening(now, who, "call", f"{call}()"))
        self._collect()

    @staticmethod
    def _calls_for(endpoint: Endpoint, seg: Segment) -> list:
        """The user calls that make the model send ``seg``."""
        state = endpoint.state
        if seg.has(Flags.RST):
            return [("abort", ())] if state not in (State.CLOSED, State.LISTEN) else []
        if seg.has(Flags.SYN):
            return [("connect", ())] if state is State.CLOSED and not seg.has(Flags.ACK) else []
        calls = []
        if seg.payload and state in (State.ESTABLISHED, State.CLOSE_WAIT):
            calls.append(("send", (seg.payload,)))
        if seg.has(Flags.FIN) and state in (State.SYN_RECEIVED, State.ESTABLISHED, State.CLOSE_WAIT):
            calls.append(("close", ()))
        return calls

    def _take_pending(self, endpoint: Endpoint, seg: Segment) -> bool | None:
        """Consume the model's own segments that together make ``seg`` (data and FIN may share one).

        Returns whether the model sent them as a retransmission, or None if it sent no such thing.
        """
        pending = self.pending[id(endpoint)]
        for start in range(len(pending)):
            merged = pending[start].segment
            for end in range(start, min(start + 3, len(pending))):
                if end > start:
                    nxt = pending[end].segment
                    if nxt.seq != merged.end_seq or merged.has(Flags.FIN) or _key(merged)[0] & int(Flags.RST):
                        break
                    merged = Segment._trusted(merged.flags | nxt.flags, merged.seq, nxt.ack, nxt.window,
                                              merged.payload + nxt.payload)
                if _key(merged) == _key(seg):
                    again = pending[start].retransmission
                    del pending[:end + 1]  # what the model sent before this, Linux did not send
                    return again
        return None

    def _mismatch(self, index: int, who: str, seg: Segment, reason: str) -> None:
        self.trace.mismatches.append(Mismatch(index, who, seg, reason))

    def _collect(self) -> None:
        """Move what the Endpoints logged into the Trace; what they sent becomes pending predictions."""
        trace = self.trace
        for endpoint in self._endpoints():
            sides = [s for s in SIDES if self.ep[s] is endpoint]
            for rec in endpoint.log:
                kind = type(rec)
                if kind is records.Sent:
                    self.pending[id(endpoint)].append(rec)
                elif kind is records.StateChange:
                    for who in sides:
                        old = trace.states[who][-1][1]
                        trace.states[who].append((rec.time, rec.state))
                        trace.transitions[who].append(Transition(rec.time, old, rec.event, rec.state))
                elif kind is records.Outcome:
                    for who in sides:
                        trace.outcomes[who] = rec.outcome
                        trace.happenings.append(Happening(rec.time, who, "outcome", rec.outcome))
                elif kind is records.Delivered:
                    for who in sides:
                        self.received[who] += rec.data
                        trace.happenings.append(Happening(rec.time, who, "delivered", f"{len(rec.data)} bytes"))
                elif kind is records.TimerFired:
                    trace.happenings.append(Happening(rec.time, sides[0], "timer", rec.timer))
                else:
                    trace.happenings.append(Happening(rec.time, sides[0], "dropped", f"{rec.segment}: {rec.reason}"))
            endpoint.log.clear()


def _pure_ack(seg: Segment) -> bool:
    return (int(seg.flags) & ~_NOT_MODELLED) == int(Flags.ACK) and not seg.payload


def _key(seg: Segment) -> tuple:
    """What must agree for a captured segment to be the model's: flags the model knows, numbers, length.

    PSH, URG and the ECN bits are not modelled. On an RST the ACK bit is ignored too: Linux sets
    it on the RST of an abort, RFC 9293 (3.10.5) does not, and the RST means the same either way.
    """
    flags = int(seg.flags) & ~_NOT_MODELLED
    if flags & int(Flags.RST):
        return flags & ~int(Flags.ACK), seg.seq, None, seg.seq_len
    return flags, seg.seq, seg.ack if flags & int(Flags.ACK) else None, seg.seq_len

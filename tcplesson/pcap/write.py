"""Writing a Trace as a capture file that Wireshark opens, stamped with the simulated times.

Each transmission becomes an IPv4 (or IPv6) packet with a TCP header whose checksums are right,
so that Wireshark's Flow Graph of a model run can be put next to one of a real run. dpkt encodes
the packets and the pcap/pcapng containers.
"""
from __future__ import annotations

import io
import ipaddress
import socket
import struct
import sys
from pathlib import Path

import dpkt

from .._check import check_choice
from ..nettrace import NetworkTrace
from ..segment import Segment
from ..trace import SIDES, Trace, Transmission
from ._common import check_path

DEFAULT_CLIENT = ("192.0.2.1", 49152)  # RFC 5737 documentation addresses, an ephemeral port
DEFAULT_SERVER = ("192.0.2.2", 5001)
LOST_CHOICES = ("omit", "mark")
SNAPLEN = 262144  # what tcpdump uses
LINKTYPE_RAW = 101  # IP packets with no link layer (dpkt's DLT_RAW is the in-memory number, 12 or 14)
# dpkt's pcapng Writer takes blocks in the machine's own byte order only.
_BLOCK = dpkt.pcapng.EnhancedPacketBlockLE if sys.byteorder == "little" else dpkt.pcapng.EnhancedPacketBlock
_OPTION = dpkt.pcapng.PcapngOptionLE if sys.byteorder == "little" else dpkt.pcapng.PcapngOption


def write_pcap(trace: Trace, path, *, lost: str = "omit", client=None, server=None) -> Path:
    """Write ``trace`` to ``path`` as a capture and return the path.

    Each transmission becomes one packet stamped with the time it was sent (simulated seconds
    after 1970-01-01, so Wireshark's "seconds since beginning of capture" are the Trace's times).
    ``lost="omit"`` writes a classic pcap without the segments the link lost (what a capture at
    the receiver would show). ``lost="mark"`` writes pcapng instead, the format that can carry a
    comment per packet: lost segments are kept at the time they were sent, with the comment
    "lost", and retransmissions and old duplicates are commented too. ``client`` and ``server``
    are (address, port) pairs; by default a captured trace keeps its own, a simulated one gets
    documentation addresses. A run of many hosts (a NetworkTrace) is written whole, every packet
    with its connection's own addresses and ports, forged sources included.
    """
    if not isinstance(trace, Trace):
        raise TypeError(f"trace must be a tcplesson Trace, got {type(trace).__name__}")
    check_choice("lost", lost, LOST_CHOICES)
    if isinstance(trace, NetworkTrace):
        if client is not None or server is not None:
            raise ValueError("a run of many hosts carries each connection's own addresses and ports; "
                             "client= and server= are for a run of two endpoints")
        ends = _network_ends(trace)
    else:
        ends = _two_ends(trace, client, server)
    path = check_path(path)
    start = getattr(trace, "start", 0.0)

    buffer = io.BytesIO()
    if lost == "omit":
        writer = dpkt.pcap.Writer(buffer, snaplen=SNAPLEN, linktype=LINKTYPE_RAW)
    else:
        writer = dpkt.pcapng.Writer(buffer, snaplen=SNAPLEN, linktype=LINKTYPE_RAW)
    ip_ids: dict[str, int] = {}  # the IP identification counter of each sending address
    for tx in trace.transmissions:
        if tx.lost and lost == "omit":
            continue
        src, dst = ends(tx)
        ip_ids[src[0]] = (ip_ids.get(src[0], 0) + 1) & 0xFFFF
        packet = _packet(src, dst, tx.segment, ip_ids[src[0]])
        when = start + tx.sent_at
        if lost == "omit":
            writer.writepkt(packet, ts=when)
        else:
            writer.writepkt(_commented_block(packet, _comment(tx)), ts=when)
    path.write_bytes(buffer.getvalue())
    return path


def _two_ends(trace: Trace, client, server):
    """(source, destination) of each transmission of a two-sided Trace."""
    ends = {"client": client, "server": server}
    for who in SIDES:
        if ends[who] is None:
            ends[who] = getattr(trace, f"{who}_addr", None) or (DEFAULT_CLIENT if who == "client" else DEFAULT_SERVER)
        ends[who] = _check_endpoint(who, ends[who])
    if ipaddress.ip_address(ends["client"][0]).version != ipaddress.ip_address(ends["server"][0]).version:
        raise ValueError("client and server must both be IPv4 or both IPv6 addresses")
    return lambda tx: (ends[tx.sender], ends[tx.receiver])


def _network_ends(trace: NetworkTrace):
    """(source, destination) of each transmission of a run of many hosts, from its connection's 4-tuple
    (named from the client's side); a sender that is not the connection's server is its client side,
    the flood's forged sources included."""
    def ends(tx):
        conn = tx.conn
        client, server = (conn[0], conn[1]), (conn[2], conn[3])
        return (server, client) if trace.hosts.get(tx.sender) == conn[2] else (client, server)
    return ends


def _packet(src, dst, seg: Segment, ip_id: int) -> bytes:
    """One IP packet carrying ``seg``; dpkt fills in the lengths and both checksums."""
    tcp = dpkt.tcp.TCP(sport=src[1], dport=dst[1], seq=seg.seq, ack=seg.ack, flags=int(seg.flags),
                       win=seg.window, sum=0, data=seg.payload)
    tcp.off = 5
    if seg.ts is not None:  # NOP, NOP, Timestamps (RFC 7323 2.2: kind 8, length 10), as Linux lays it out
        tcp.opts = b"\x01\x01\x08\x0a" + struct.pack("!II", *seg.ts)
        tcp.off = 8
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


def _commented_block(packet: bytes, comment: str):
    block = _BLOCK(caplen=len(packet), pkt_len=len(packet), pkt_data=packet)
    if comment:
        block.opts = [_OPTION(code=dpkt.pcapng.PCAPNG_OPT_COMMENT, text=comment),
                      _OPTION(code=dpkt.pcapng.PCAPNG_OPT_ENDOFOPT)]
    return block


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

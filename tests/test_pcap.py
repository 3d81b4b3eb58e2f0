"""Capture files: write_pcap writes what Wireshark/tshark dissect as the same segments, and
read_pcap reads captures back as Traces with the states the model infers.

What a written file must hold is checked with tshark (an independent dissector) where it is
installed; reading is checked against the Linux captures shipped in notebooks/data (what the
kernel really sent) and against simulations, whose state paths read_pcap must recover from the
segments alone. Malformed files may only ever raise PcapError (fuzzed with Hypothesis).
"""
import io
import ipaddress
import os
import shutil
import struct
import subprocess
import tempfile
import warnings
from pathlib import Path

import dpkt
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import tcplesson as tl
from tcplesson.pcap import Mismatch

DATA = Path(__file__).resolve().parent.parent / "notebooks" / "data"
SHIPPED = sorted(DATA.glob("*.pcap"))
ISNS = dict(client_isn=100, server_isn=300)
DEEP = "TCPLESSON_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("TCPLESSON_EXAMPLES", "200"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=not DEEP,
                    suppress_health_check=[HealthCheck.too_slow])
TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="needs tshark (Debian package tshark) to dissect the "
                                  "written files independently")


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _tshark(path, *fields):
    """One tuple of field values per frame, as tshark dissects the file."""
    cmd = [TSHARK, "-r", str(path), "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
           "-o", "tcp.relative_sequence_numbers:FALSE", "-T", "fields", "-E", "separator=|"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout
    return [tuple(line.split("|")) for line in out.splitlines()]


def _records(path):
    """(time, packet bytes) of each record of a capture file."""
    return list(dpkt.pcap.Reader(io.BytesIO(Path(path).read_bytes())))


def _shape(trace):
    return [(tx.sender, int(tx.segment.flags), tx.segment.seq, tx.segment.ack, tx.segment.payload)
            for tx in trace.transmissions]


# ----------------------------------------------------------------------------- writing
WRITTEN = [("lifecycle", {}), ("lifecycle", {"drop": [7]}), ("half-close", {}), ("refused", {}),
           ("abort", {}), ("simultaneous-close", {}), ("old-duplicate-syn", {})]


@needs_tshark
@pytest.mark.parametrize("name,kw", WRITTEN, ids=[f"{n}-{k}" for n, k in WRITTEN])
def test_tshark_dissects_the_same_segments_with_good_checksums(tmp_path, name, kw):
    trace = tl.simulate(name, **ISNS, **kw)
    path = tl.write_pcap(trace, tmp_path / "run.pcap")
    rows = _tshark(path, "frame.time_relative", "ip.src", "tcp.srcport", "tcp.flags", "tcp.seq_raw",
                   "tcp.ack_raw", "tcp.len", "tcp.checksum.status", "ip.checksum.status")
    kept = [tx for tx in trace.transmissions if not tx.lost]
    assert len(rows) == len(kept)
    for row, tx in zip(rows, kept):
        t, src, port, flags, seq, ack, length, tcp_ok, ip_ok = row
        assert float(t) == pytest.approx(tx.sent_at, abs=1e-6)
        assert (src, int(port)) == (("192.0.2.1", 49152) if tx.sender == "client" else ("192.0.2.2", 5001))
        assert int(flags, 16) == int(tx.segment.flags)
        assert int(seq) == tx.segment.seq
        assert int(ack) == tx.segment.ack
        assert int(length) == len(tx.segment.payload)
        assert (tcp_ok, ip_ok) == ("1", "1")  # Wireshark's "Good"


@needs_tshark
def test_marked_pcapng_keeps_lost_segments_with_a_comment(tmp_path):
    trace = tl.simulate("lifecycle", drop=[7], **ISNS)  # the last ACK is lost, the FIN comes again
    path = tl.write_pcap(trace, tmp_path / "run.pcapng", lost="mark")
    rows = _tshark(path, "tcp.flags", "tcp.seq_raw", "frame.comment")
    assert len(rows) == len(trace.transmissions) == 9
    assert rows[6] == ("0x0010", "102", "lost: this segment never arrived")
    assert rows[7] == ("0x0011", "301", "retransmission")
    assert [r[2] for r in rows[:6]] == [""] * 6


@needs_tshark
def test_shipped_captures_are_what_tshark_reads(tmp_path):
    for path in SHIPPED:
        trace = tl.read_pcap(path)[0]
        rows = _tshark(path, "tcp.flags", "tcp.seq_raw", "tcp.ack_raw", "tcp.len", "tcp.options.mss_val")
        assert [(int(f, 16), int(s), int(a), int(n)) for f, s, a, n, _ in rows] == \
               [(int(tx.segment.flags), tx.segment.seq, tx.segment.ack, len(tx.segment.payload))
                for tx in trace.transmissions]
        assert rows[0][4] == str(trace.options["client"]["mss"])


def test_a_run_of_many_hosts_is_written_with_each_connections_own_ports(tmp_path):
    """Every packet carries its 4-tuple (RFC 9293 3.1): read back, the file holds one connection per
    4-tuple of the run, with the same addresses, ports and segments."""
    run = tl.simulate(tl.accept_queue_full(backlog=1, n_clients=4), seed=3)
    back = tl.read_pcap(tl.write_pcap(run, tmp_path / "net.pcap"))
    assert sorted(t.client_addr + t.server_addr for t in back) == sorted(run.connections)
    for got in back:
        conn = got.client_addr + got.server_addr
        sent = [(tx.segment.seq, tx.segment.ack, int(tx.segment.flags)) for tx in run.connections[conn].transmissions
                if not tx.lost]
        assert [(tx.segment.seq, tx.segment.ack, int(tx.segment.flags)) for tx in got.transmissions] == sent
    with pytest.raises(ValueError, match="own addresses and ports"):
        tl.write_pcap(run, tmp_path / "x.pcap", client=("10.0.0.9", 1234))


@needs_tshark
def test_tshark_sees_the_flood_with_its_forged_sources(tmp_path):
    run = tl.simulate(tl.Network("small-flood", tl.Server(backlog=4), [], tl.Flood(20, 0.0, 1.0)))
    rows = _tshark(tl.write_pcap(run, tmp_path / "flood.pcap"), "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport",
                   "tcp.flags")
    syns = [r for r in rows if int(r[4], 16) == int(tl.Flags.SYN)]
    assert len(syns) == 20 and all(r[2:4] == ("10.0.0.1", "80") for r in syns)
    assert all(ipaddress.ip_address(r[0]) in ipaddress.ip_network("198.18.0.0/15") for r in syns)
    answers = {(r[2], r[3]) for r in rows if r[0] == "10.0.0.1"}  # SYN,ACKs go back to the forged 4-tuples
    assert answers == {(r[0], r[1]) for r in syns}


def test_written_ipv4_packets_carry_correct_checksums(tmp_path):
    """Without tshark: recompute both checksums of every written packet (RFC 791, RFC 9293 3.1)."""
    trace = tl.simulate("half-close", **ISNS)
    data = tl.write_pcap(trace, tmp_path / "run.pcap").read_bytes()
    reader = dpkt.pcap.Reader(io.BytesIO(data))
    assert reader.datalink() == 101  # LINKTYPE_RAW: IP packets, no invented link layer
    for (_, buf), tx in zip(reader, trace.transmissions):
        assert dpkt.in_cksum(buf[:20]) == 0
        pseudo = buf[12:20] + struct.pack(">xBH", 6, len(buf) - 20)
        assert dpkt.in_cksum(pseudo + buf[20:]) == 0
        assert buf[20 + 13] == int(tx.segment.flags)


def test_ipv6_addresses_write_ipv6_packets_that_read_back(tmp_path):
    trace = tl.simulate("lifecycle", **ISNS)
    path = tl.write_pcap(trace, tmp_path / "v6.pcap", client=("2001:db8::1", 40000), server=("2001:db8::2", 80))
    back = tl.read_pcap(path, time_wait=trace.params["time_wait"])[0]
    assert (back.client_addr, back.server_addr) == (("2001:db8::1", 40000), ("2001:db8::2", 80))
    assert _shape(back) == _shape(trace)
    for _, buf in _records(path):
        ip6 = dpkt.ip6.IP6(buf)
        pseudo = ip6.src + ip6.dst + struct.pack(">IxxxB", ip6.plen, 6)
        assert dpkt.in_cksum(pseudo + bytes(ip6.data)) == 0


def test_a_captured_trace_is_written_back_with_its_own_addresses(tmp_path):
    trace = tl.read_pcap(DATA / "half-close.pcap")[0]
    back = tl.read_pcap(tl.write_pcap(trace, tmp_path / "again.pcap"))[0]
    assert (back.client_addr, back.server_addr) == (trace.client_addr, trace.server_addr)
    assert _shape(back) == _shape(trace)
    assert back.start == pytest.approx(trace.start)


# ----------------------------------------------------------------------------- round trips
# Runs whose history one capture point can show unambiguously: no reordering (jitter 0), and no
# segment lost while crossing another (a lost half of a simultaneous open or close reads as a
# different, equally valid history). "old-duplicate-syn" is left out for the same reason: on the
# wire a stale SYN looks exactly like a connect().
# Under loss "abort" is left out too: when every copy of its RST is lost, nothing in the capture
# shows that the client aborted.
ROUND_TRIP = ["lifecycle", "server-closes-first", "server-closes-on-eof", "half-close", "refused", "handshake"]


def _paths_until_last_arrival(trace):
    last = max(tx.arrived_at for tx in trace.transmissions if not tx.lost)
    return {w: [s for t, s in trace.states[w] if t <= last + 1e-9] for w in ("client", "server")}


_SENDS = int(tl.Flags.SYN | tl.Flags.FIN | tl.Flags.RST)


def _captured_paths(sim):
    """The states of each side that a capture of ``sim`` (the segments that arrived, as write_pcap writes it) can show.

    A capture shows a state change only when its cause is in the file, at or before its last packet:
    - a segment the side received (every segment that arrived is in the capture);
    - a call that sent a SYN, FIN or RST, when some copy of that segment arrived (connect(), close(),
      abort()); listen() sends nothing and is seen through an arriving SYN,ACK that answers a SYN;
    - a timer that the segments imply: TIME-WAIT running out (RFC 9293 3.10.8).
    It cannot show a state entered on sending a segment of which every copy was lost, a call that
    sends nothing (close() in SYN-SENT), or giving up (it sends nothing). Past the first change it
    cannot show, the replay reads that side's later segments from the state it can show, so that
    side's path is compared up to there.
    """
    last = max(tx.arrived_at for tx in sim.transmissions if not tx.lost)
    arrived = {(tx.sender, int(tx.segment.flags) & _SENDS, tx.segment.seq) for tx in sim.transmissions if not tx.lost}
    paths = {}
    for who in ("client", "server"):
        path = [sim.states[who][0][1]]
        for change in sim.transitions[who]:
            if change.time > last + 1e-9 or not _shown(sim, who, change, arrived):
                break
            path.append(change.new)
        paths[who] = path
    return paths


def _shown(sim, who, change, arrived) -> bool:
    if change.event.startswith("rcv_") or change.event == "time_wait_expired":
        return True
    if change.event == "listen":
        syn_ack = tl.Flags.SYN | tl.Flags.ACK
        return any(tx.sender == who and not tx.lost and tx.segment.flags & syn_ack == syn_ack for tx in sim.transmissions)
    if change.event in ("connect", "close", "close_unread", "abort"):
        sent = next((tx for tx in sim.transmissions if tx.sender == who and tx.sent_at >= change.time - 1e-9
                     and int(tx.segment.flags) & _SENDS), None)
        return sent is not None and (who, int(sent.segment.flags) & _SENDS, sent.segment.seq) in arrived
    return False  # give_up, give_up_passive: nothing is sent


@SETTINGS
@given(name=st.sampled_from(ROUND_TRIP), loss=st.sampled_from([0.0, 0.1, 0.3]), seed=st.integers(0, 10_000),
       delayed_ack=st.sampled_from([0.0, 0.2]))
def test_reading_a_written_run_recovers_both_state_paths(name, loss, seed, delayed_ack):
    sim = tl.simulate(name, loss=loss, seed=seed, delayed_ack=delayed_ack)
    if all(tx.lost for tx in sim.transmissions):
        return
    # A segment that reaches a side in the same microsecond (the capture's resolution) as its
    # TIME-WAIT runs out: whether it met TIME-WAIT or CLOSED is not in the capture's times.
    ends = [(h.who, h.time) for h in sim.happenings if h.kind == "timer" and h.detail == "time_wait_expired"]
    assume(not any(tx.receiver == who and abs(tx.arrived_at - t) < 1e-6
                   for tx in sim.transmissions if not tx.lost for who, t in ends))
    with tempfile.TemporaryDirectory() as tmp:
        traces = tl.read_pcap(tl.write_pcap(sim, Path(tmp) / "run.pcap"), time_wait=sim.params["time_wait"])
    assert len(traces) == 1
    got = traces[0]
    assert got.mismatches == []
    assert _shape(got) == [s for s, tx in zip(_shape(sim), sim.transmissions) if not tx.lost]
    # Every segment read as a retransmission is one; and one whose earlier copy is in the capture
    # is always recognised (when the copy was lost, a hole in the sequence numbers may tell).
    seen = set()
    for tx, back in zip((tx for tx in sim.transmissions if not tx.lost), got.transmissions):
        key = (tx.sender, tx.segment.flags, tx.segment.seq, len(tx.segment.payload))
        assert back.retransmission <= tx.retransmission
        assert back.retransmission >= (tx.retransmission and key in seen)
        seen.add(key)
    assert {w: [s for _, s in got.states[w]] for w in ("client", "server")} == _captured_paths(sim)
    assert got.outcomes == {w: (o if o != "timed out" else None) for w, o in sim.outcomes.items()}


@pytest.mark.parametrize("name", sorted(set(tl.SCENARIOS) - {"old-duplicate-syn"}))
def test_every_lossless_run_reads_back_with_its_state_paths(tmp_path, name):
    """Crossing SYNs or FINs (simultaneous open, close) reach one capture point one after the
    other; their ACK fields tell in which order each end saw them."""
    sim = tl.simulate(name, **ISNS)
    got = tl.read_pcap(tl.write_pcap(sim, tmp_path / "run.pcap"), time_wait=sim.params["time_wait"])[0]
    assert got.mismatches == []
    assert {w: [s for _, s in got.states[w]] for w in ("client", "server")} == _paths_until_last_arrival(sim)


def test_two_connections_in_one_file_come_back_in_order(tmp_path):
    first = tl.simulate("lifecycle", **ISNS)
    second = tl.simulate("refused", client_isn=5000)
    buf = tmp_path / "both.pcap"
    with open(buf, "wb") as f:
        writer = dpkt.pcap.Writer(f, linktype=101)
        for trace, offset, port in ((first, 0.0, 40000), (second, 10.0, 40001)):
            one = tl.write_pcap(trace, tmp_path / "one.pcap", client=("10.0.0.1", port), server=("10.0.0.2", 80))
            for ts, pkt in _records(one):
                writer.writepkt(pkt, ts=ts + offset)
    traces = tl.read_pcap(buf)
    assert [t.client_addr for t in traces] == [("10.0.0.1", 40000), ("10.0.0.1", 40001)]
    assert [t.outcomes["client"] for t in traces] == [None, "refused"]
    assert traces[1].start == pytest.approx(10.0)


# ----------------------------------------------------------------------------- the shipped captures
def test_shipped_captures_read_as_one_connection_each_with_linux_syn_options():
    assert len(SHIPPED) == 7
    for path in SHIPPED:
        traces = tl.read_pcap(path)
        assert len(traces) == 1, path.name
        trace = traces[0]
        assert trace.client_addr[0] == trace.server_addr[0] == "127.0.0.1"
        # Linux on loopback (docs/protocol-facts.md): SYN options mss 65495, sackOK, TS, wscale
        assert trace.options["client"]["mss"] == 65495
        assert trace.options["client"]["sack_permitted"] and trace.options["client"]["timestamps"]
        assert "window_scale" in trace.options["client"]
        assert trace.frames == list(range(1, len(trace.transmissions) + 1))


def test_a_refused_connect_has_no_server_options_and_ends_refused():
    trace = tl.read_pcap(DATA / "refused.pcap")[0]
    assert trace.options["server"] == {}
    syn, rst = trace.transmissions
    assert rst.segment.flags == tl.Flags.RST | tl.Flags.ACK
    assert (rst.segment.seq, rst.segment.ack) == (0, (syn.segment.seq + 1) % 2**32)
    assert trace.outcomes == {"client": "refused", "server": None}
    assert [s.value for s in trace.path("client")] == ["CLOSED", "SYN-SENT", "CLOSED"]


# ----------------------------------------------------------------------------- bad input
def _write(tmp_path, data: bytes, name="f.pcap"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_not_a_capture_is_a_pcap_error(tmp_path):
    for data in (b"", b"hello world, not a capture", b"\xd4\xc3\xb2\xa1\x02"):
        with pytest.raises(tl.PcapError):
            tl.read_pcap(_write(tmp_path, data))


def test_an_unknown_link_type_is_named(tmp_path):
    out = tmp_path / "ppp.pcap"
    with open(out, "wb") as f:
        dpkt.pcap.Writer(f, linktype=dpkt.pcap.DLT_PPP).writepkt(b"\x00" * 40, ts=0)
    with pytest.raises(tl.PcapError, match="link type 9"):
        tl.read_pcap(out)


def test_a_file_cut_inside_a_record_header_is_a_pcap_error(tmp_path):
    data = (DATA / "client-closes-first.pcap").read_bytes()
    with pytest.raises(tl.PcapError, match="cut short"):
        tl.read_pcap(_write(tmp_path, data[:24 + 10]))


def test_non_tcp_packets_are_skipped_with_a_warning(tmp_path):
    udp = dpkt.ip.IP(src=b"\x7f\0\0\1", dst=b"\x7f\0\0\1", p=17, data=dpkt.udp.UDP(sport=1, dport=2, data=b"x"))
    out = tmp_path / "mixed.pcap"
    with open(out, "wb") as f:
        writer = dpkt.pcap.Writer(f, linktype=101)
        writer.writepkt(bytes(udp), ts=0)
        for ts, pkt in _records(tl.write_pcap(tl.simulate("lifecycle"), tmp_path / "l.pcap")):
            writer.writepkt(pkt, ts=ts)
    with pytest.warns(tl.PcapWarning, match=r"skipped 1 packet\(s\): 1 not TCP \(UDP\)"):
        traces = tl.read_pcap(out)
    assert len(traces) == 1 and len(traces[0].transmissions) == 7


def test_segments_without_their_syn_are_skipped_with_a_warning(tmp_path):
    reader = _records(DATA / "client-closes-first.pcap")
    out = tmp_path / "late.pcap"
    with open(out, "wb") as f:
        writer = dpkt.pcap.Writer(f, linktype=1)
        for ts, pkt in reader[3:]:  # the capture started after the handshake
            writer.writepkt(pkt, ts=ts)
    with pytest.warns(tl.PcapWarning, match="4 segments of a connection whose SYN is not in the capture"):
        assert tl.read_pcap(out) == []


def test_a_payload_cut_by_the_snap_length_still_counts_in_sequence_space(tmp_path):
    out = tmp_path / "snap.pcap"
    with open(out, "wb") as f:
        writer = dpkt.pcap.Writer(f, linktype=1, snaplen=96)
        for ts, pkt in _records(DATA / "half-close.pcap"):
            writer.writepkt(pkt[:96], ts=ts)
    full, cut = tl.read_pcap(DATA / "half-close.pcap")[0], tl.read_pcap(out)[0]
    assert [len(tx.segment.payload) for tx in cut.transmissions] == [len(tx.segment.payload) for tx in full.transmissions]
    assert cut.mismatches == [] and cut.path("client") == full.path("client")


def test_a_segment_the_model_would_not_send_is_reported(tmp_path):
    """A keepalive probe (seq = SND.NXT - 1) is not something the model ever sends: it is listed."""
    trace = tl.simulate("handshake", **ISNS)
    probe = tl.Transmission(4, "client", tl.Segment(tl.Flags.ACK, 100, 301), 1.0, 1.05, False, False)
    trace.transmissions.append(probe)
    got = tl.read_pcap(tl.write_pcap(trace, tmp_path / "ka.pcap"), time_wait=240)[0]
    assert got.mismatches == [Mismatch(4, "client", probe.segment, "the model in ESTABLISHED would not send it")]
    assert "disagrees with 1 segment" in got.summary()


def test_a_segment_the_model_drops_is_reported(tmp_path):
    """A synchronized segment without ACK: RFC 9293 3.10.7.4 (fifth check) drops it."""
    trace = tl.simulate("handshake", **ISNS)
    bare = tl.Transmission(4, "server", tl.Segment(tl.Flags.PSH, 301, 0, payload=b"hi"), 1.0, 1.05, False, False)
    trace.transmissions.append(bare)
    got = tl.read_pcap(tl.write_pcap(trace, tmp_path / "bare.pcap"), time_wait=240)[0]
    assert Mismatch(4, "client", bare.segment, "the model in ESTABLISHED drops it: no ACK bit in a synchronized state") \
        in got.mismatches


def test_arguments_are_checked(tmp_path):
    trace = tl.simulate("handshake")
    with pytest.raises(TypeError, match="path"):
        tl.read_pcap(42)
    with pytest.raises(ValueError, match="time_wait"):
        tl.read_pcap(DATA / "refused.pcap", time_wait=-1)
    with pytest.raises(TypeError, match="trace"):
        tl.write_pcap("not a trace", tmp_path / "x.pcap")
    with pytest.raises(ValueError, match="lost"):
        tl.write_pcap(trace, tmp_path / "x.pcap", lost="drop")
    with pytest.raises(ValueError, match="client .*not an IPv4 or IPv6 address"):
        tl.write_pcap(trace, tmp_path / "x.pcap", client=("example.com", 80))
    with pytest.raises(ValueError, match="server .*port"):
        tl.write_pcap(trace, tmp_path / "x.pcap", server=("192.0.2.2", 70000))
    with pytest.raises(ValueError, match="both be IPv4 or both IPv6"):
        tl.write_pcap(trace, tmp_path / "x.pcap", client=("::1", 1))
    with pytest.raises(FileNotFoundError):
        tl.read_pcap(tmp_path / "missing.pcap")


# ----------------------------------------------------------------------------- fuzzing
def _sources():
    out = [p.read_bytes() for p in SHIPPED]
    with tempfile.TemporaryDirectory() as tmp:
        marked = tl.write_pcap(tl.simulate("half-close", drop=[7], **ISNS), Path(tmp) / "m.pcapng", lost="mark")
        out.append(marked.read_bytes())
    return out


SOURCES = _sources()


@SETTINGS
@given(data=st.data(), source=st.integers(0, len(SOURCES) - 1), flips=st.integers(0, 8), cut=st.booleans())
def test_broken_captures_raise_only_pcap_error(data, source, flips, cut):
    blob = bytearray(SOURCES[source])
    if cut:
        blob = blob[:data.draw(st.integers(0, len(blob)), label="cut at")]
    for _ in range(flips if blob else 0):
        where = data.draw(st.integers(0, len(blob) - 1), label="flip at")
        blob[where] = data.draw(st.integers(0, 255), label="new byte")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "broken.pcap"
        path.write_bytes(bytes(blob))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                traces = tl.read_pcap(path)
            except tl.PcapError:
                return
    assert all(issubclass(w.category, tl.PcapWarning) for w in caught), [str(w.message) for w in caught]
    assert all(isinstance(t, tl.CapturedTrace) for t in traces)

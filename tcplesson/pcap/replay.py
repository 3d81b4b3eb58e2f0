"""Inferring the states of a captured connection: its segments fed through two model Endpoints.

The Endpoint is the same one the simulator runs, so a real capture gets the same state
annotations as a simulation; where the model would not have accepted or sent a captured segment,
that is listed in ``trace.mismatches`` rather than smoothed over.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from .. import labels, records
from ..endpoint import Endpoint, ProtocolError
from ..segment import MAX_WINDOW, Flags, Segment, seq_diff, seq_le
from ..states import State
from ..trace import SIDES, Happening, Trace, Transmission

_NOT_MODELLED = int(Flags.PSH | Flags.URG | Flags.ECE | Flags.CWR)
# What one socket connected to itself records for both sides; a timer or a drop happens once.
_BOTH_SIDES = (records.StateChange, records.Outcome, records.Delivered)
# A FIN on the wire is RFC 9293's CLOSE. Whether the program called shutdown(SHUT_WR) or close()
# the capture cannot tell; shutdown() makes the FIN and lets the model keep reading, so data the
# peer still sends (a half-close) is taken as the capture shows it was.
_FIN_CALL = ("shutdown", ("SHUT_WR",))



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


def _endpoint_text(end) -> str:
    address, port = end
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


class Replay:
    """Feed one connection's segments through model Endpoints and record what they make of them.

    Each captured segment is delivered to the receiver's Endpoint, which changes state as the RFC
    says. The sender's Endpoint must have produced the segment itself: either it is among what
    the model already sent in reply to earlier segments, or a user call explains it (a SYN is a
    connect(), data a send(), a FIN a shutdown(SHUT_WR), an RST an abort()). Anything else is a mismatch.

    ``conn`` is a read.Connection: ``client`` and ``server`` (address, port), ``packets`` (read.Frame,
    in file order) and ``side(packet)``.
    """

    def __init__(self, source: str, conn, time_wait: float) -> None:
        self.conn = conn
        self.backwards = 0
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
        following: dict = {}
        for i in range(len(packets) - 1, -1, -1):
            self.next_from[i] = dict(following)
            following[self.conn.side(packets[i])] = packets[i]
        now = 0.0
        for i, packet in enumerate(packets):
            if packet.time - self.t0 < now:
                self.backwards += 1  # a timestamp that goes back: taken as the one before
            now = max(now, packet.time - self.t0)
            self._timers(now, self.ep[self.conn.side(packet)])
            self._segment(now, i)
            self.trace.end_time = now
        self._timers(now, None)
        return self.trace

    def _timers(self, now: float, sender: Endpoint | None) -> None:
        """Fire the timers due by ``now``, earliest first, before the segment ``sender`` sent at ``now``.

        The sender's timers due at ``now`` fire first (what one sends then may be this segment);
        the receiver's fire after the segment arrives, as the simulator orders an arrival and a
        timer at the same instant. With no sender (the end of the capture), every timer due fires.
        """
        while True:
            due = [(deadline, k, endpoint) for k, endpoint in enumerate(self._endpoints())
                   if (deadline := endpoint.next_deadline()) is not None
                   and (deadline <= now if sender is None or endpoint is sender else deadline < now)]
            if not due:
                return
            deadline, _, endpoint = min(due)
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
        self._call(now, who, calls + ([_FIN_CALL] if fin else []))

    def _crossing(self, now: float, receiver: str, seg: Segment, following) -> None:
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
            text = f"shutdown({args[0]})" if call == "shutdown" else f"{call}()"
            self.trace.happenings.append(Happening(now, who, "call", text))
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
            calls.append(_FIN_CALL)
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
                    merged = Segment(merged.flags | nxt.flags, merged.seq, nxt.ack, nxt.window,
                                     merged.payload + nxt.payload)
                if _key(merged) == _key(seg):
                    again = pending[start].retransmission
                    del pending[:end + 1]  # what the model sent before this, Linux did not send
                    return again
        return None

    def _mismatch(self, index: int, who: str, seg: Segment, reason: str) -> None:
        self.trace.mismatches.append(Mismatch(index, who, seg, reason))

    def _collect(self) -> None:
        """Hand what the Endpoints logged to the Trace; what they sent becomes pending predictions."""
        for endpoint in self._endpoints():
            sides = [s for s in SIDES if self.ep[s] is endpoint]
            for rec in endpoint.log:
                kind = type(rec)
                if kind is records.Sent:
                    self.pending[id(endpoint)].append(rec)
                    continue
                for who in sides if kind in _BOTH_SIDES else sides[:1]:
                    self.trace.record(who, rec)
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

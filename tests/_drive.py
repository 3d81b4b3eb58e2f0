"""Drive one sans-IO Endpoint by hand into any RFC 9293 state, checking every segment on the way.

The numbers the tests expect are worked out here from the RFC arithmetic (docs/protocol-facts.md), never read
back from the endpoint: our ISS is x, the peer's is y; SYN seq=x; SYN,ACK seq=y ack=x+1;
ACK seq=x+1 ack=y+1; FIN,ACK seq=u ack=v; and so on.
"""
from __future__ import annotations

import tcplesson as tl
from tcplesson.segment import SEQ_MOD, flag_names

F = tl.Flags
SYN, ACK, FIN, RST, PSH = F.SYN, F.ACK, F.FIN, F.RST, F.PSH
MSL = 10.0
RTO = 1.0

# Every start state a test can ask for; "(passive)" / "(active)" say how the connection was opened.
PATHS = (
    "CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED (passive)", "SYN-RECEIVED (active)",
    "ESTABLISHED", "ESTABLISHED (passive)", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING",
    "LAST-ACK", "TIME-WAIT",
)


def m(n: int) -> int:
    """A sequence number on the 32-bit circle."""
    return n % SEQ_MOD


def wire(segments) -> list[tuple]:
    """What went on the wire, in the form the tests compare: (flags, seq, ack or None, payload length)."""
    return [(flag_names(s.flags), s.seq, s.ack if s.flags & ACK else None, len(s.payload)) for s in segments]


def exp(flags: str, seq: int, ack: int | None = None, length: int = 0) -> tuple:
    """An expected segment, numbers taken modulo 2**32."""
    return (flags, m(seq), None if ack is None else m(ack), length)


def seg(flags, seq: int, ack: int = 0, payload: bytes = b"") -> tl.Segment:
    """A crafted segment from the peer."""
    return tl.Segment(flags, m(seq), m(ack), payload=payload)


class Conn:
    """The endpoint under test and the numbers the test expects it to use.

    ``x`` our ISS, ``y`` the peer's; ``snd`` our SND.NXT and ``rcv`` our RCV.NXT as the RFC says
    they must be after the segments exchanged so far (kept by the test, not read from the endpoint).
    """

    def __init__(self, x: int, y: int, **kw) -> None:
        kw.setdefault("msl", MSL)
        kw.setdefault("rto", RTO)
        self.ep = tl.Endpoint("ep", isn=x, **kw)
        self.x, self.y = x, y
        self.snd: int | None = None
        self.rcv: int | None = None
        self.t = 0.0

    def tick(self, dt: float = 0.01) -> float:
        self.t += dt
        return self.t

    def recv(self, segment: tl.Segment, dt: float = 0.01) -> list[tuple]:
        return wire(self.ep.receive(self.tick(dt), segment))

    def call(self, name: str, *args, dt: float = 0.01) -> list[tuple]:
        return wire(getattr(self.ep, name)(self.tick(dt), *args))

    @property
    def state(self) -> str:
        return self.ep.state.value


def drive(path: str, x: int = 1000, y: int = 5000, *, by: str = "shutdown", **kw) -> Conn:
    """A Conn brought into ``path`` (one of PATHS) by the RFC's own segments.

    Our FIN is RFC 9293's CLOSE: ``by="shutdown"`` makes it with shutdown(SHUT_WR) (the socket is
    still ours and reads on), ``by="close"`` with close() (the connection is an orphan).
    """
    assert path in PATHS, path
    assert by in ("shutdown", "close"), by
    fin_call = ("shutdown", "SHUT_WR") if by == "shutdown" else ("close",)
    c = Conn(x, y, **kw)
    if path == "CLOSED":
        return _done(c, path)
    if path == "LISTEN" or path.endswith("(passive)"):
        assert c.call("listen") == []
        if path == "LISTEN":
            return _done(c, path)
        assert c.recv(seg(SYN, y)) == [exp("SYN,ACK", x, y + 1)]
        c.snd, c.rcv = m(x + 1), m(y + 1)
        if path == "SYN-RECEIVED (passive)":
            return _done(c, path)
        assert c.recv(seg(ACK, y + 1, x + 1)) == []
        return _done(c, path)
    assert c.call("connect") == [exp("SYN", x)]
    c.snd = m(x + 1)
    if path == "SYN-SENT":
        return _done(c, path)
    if path == "SYN-RECEIVED (active)":  # simultaneous open: the peer's SYN crosses ours
        assert c.recv(seg(SYN, y)) == [exp("SYN,ACK", x, y + 1)]
        c.rcv = m(y + 1)
        return _done(c, path)
    assert c.recv(seg(SYN | ACK, y, x + 1)) == [exp("ACK", x + 1, y + 1)]
    c.rcv = m(y + 1)
    if path == "ESTABLISHED":
        return _done(c, path)
    if path in ("CLOSE-WAIT", "LAST-ACK"):  # the peer closes first: FIN seq=v ack=u
        # with a delayed ACK the ACK of the FIN waits (for our FIN to ride on, or for the timer)
        delayed = kw.get("delayed_ack", 0) > 0
        assert c.recv(seg(FIN | ACK, y + 1, x + 1)) == ([] if delayed else [exp("ACK", x + 1, y + 2)])
        c.rcv = m(y + 2)
        if path == "CLOSE-WAIT":
            return _done(c, path)
        assert c.call(*fin_call) == [exp("FIN,ACK", x + 1, y + 2)]
        c.snd = m(x + 2)
        return _done(c, path)
    # we close first: FIN,ACK seq=u ack=v with u = x+1, v = y+1
    assert c.call(*fin_call) == [exp("FIN,ACK", x + 1, y + 1)]
    c.snd = m(x + 2)
    if path == "FIN-WAIT-1":
        return _done(c, path)
    if path == "CLOSING":  # the peer's FIN crosses ours and does not ack it
        assert c.recv(seg(FIN | ACK, y + 1, x + 1)) == [exp("ACK", x + 2, y + 2)]
        c.rcv = m(y + 2)
        return _done(c, path)
    assert c.recv(seg(ACK, y + 1, x + 2)) == []  # ACK seq=v ack=u+1
    if path == "FIN-WAIT-2":
        return _done(c, path)
    assert c.recv(seg(FIN | ACK, y + 1, x + 2)) == [exp("ACK", x + 2, y + 2)]  # FIN seq=w ack=u+1
    c.rcv = m(y + 2)
    return _done(c, path)


def _done(c: Conn, path: str) -> Conn:
    assert c.state == path.split(" ")[0], (c.state, path)
    return c
